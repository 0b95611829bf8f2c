package models

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DefaultDeadlines is the JIANFU_DEADLINES default: the county's time limits
// for each stage (DESIGN §2), the tipster's 10-day rating window and the
// 3-working-day grace before leaders are alerted.
const DefaultDeadlines = "collect=2wd,assign=3wd,verify=15wd,rectify=30wd,feedback=15wd,evaluation=10d,escalation=3wd"

// maxClockDays bounds Nwd and Nd so that a typo such as "150000wd" is an error
// at start rather than a very long loop on every deadline.
const maxClockDays = 3650

// errClockForm is the message every bad clock carries, so an operator sees
// what to write instead.
var errClockForm = errors.New("want Nwd (working days), Nd (calendar days) or a Go duration such as 90s")

// Clock is one stage's time limit: N working days, N calendar days, or a
// plain duration, which lets operators and tests run short clocks. Exactly one
// field is set; the zero Clock is "no time at all" and Due returns from.
type Clock struct {
	Workdays int           // "15wd"
	Days     int           // "10d"
	Duration time.Duration // "90s", "48h", "1h30m" (any time.ParseDuration value > 0)
}

// ParseClock reads one clock: "15wd", "10d", or a positive Go duration. Any
// other text, zero or negative values, and inner spaces are errors that say
// the accepted forms.
func ParseClock(s string) (Clock, error) {
	if n, ok := strings.CutSuffix(s, "wd"); ok {
		days, err := parseClockDays(s, n)
		return Clock{Workdays: days}, err
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := parseClockDays(s, n)
		return Clock{Days: days}, err
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return Clock{}, fmt.Errorf("%q: %w", s, errClockForm)
	}
	return Clock{Duration: d}, nil
}

// parseClockDays reads the N of "Nwd" or "Nd"; s is the whole clock, for the
// error message.
func parseClockDays(s, n string) (int, error) {
	if n == "" || strings.Trim(n, "0123456789") != "" {
		return 0, fmt.Errorf("%q: %w", s, errClockForm)
	}
	days, err := strconv.Atoi(n)
	if err != nil || days <= 0 {
		return 0, fmt.Errorf("%q: %w", s, errClockForm)
	}
	if days > maxClockDays {
		return 0, fmt.Errorf("%q: at most %d days", s, maxClockDays)
	}
	return days, nil
}

// String returns the clock in the form ParseClock reads.
func (c Clock) String() string {
	switch {
	case c.Workdays > 0:
		return strconv.Itoa(c.Workdays) + "wd"
	case c.Days > 0:
		return strconv.Itoa(c.Days) + "d"
	case c.Duration > 0:
		return c.Duration.String()
	}
	return ""
}

// Due returns when a period of this clock starting at from ends.
//
// Working days follow Calendar.AddWorkdays. Calendar days follow the same
// Civil Code rule: the start day is not counted, the period ends at 23:59:59
// Asia/Shanghai of the Nth day, and if that day is not a working day the end
// moves to the end of the next working day (《民法典》第二百零三条), so no one
// is overdue because a period ran out over a holiday. A duration is added
// exactly, because short test clocks must not be rounded to a day.
func (c Clock) Due(cal *Calendar, from time.Time) time.Time {
	switch {
	case c.Workdays > 0:
		return cal.AddWorkdays(from, c.Workdays)
	case c.Days > 0:
		d := shanghaiStartOfDay(from).AddDate(0, 0, c.Days)
		for !cal.IsWorkday(d) {
			d = d.AddDate(0, 0, 1)
		}
		return shanghaiEndOfDay(d)
	}
	return from.Add(c.Duration)
}

// RemindAt returns when to remind whoever must act before due.
//
// For day clocks it is 09:00 Asia/Shanghai on the due date, the morning of the
// last day, when staff are at their desks and still have the day to act. A
// reminder is never set before from or at or after due; then it falls halfway
// between. For duration clocks it is three quarters of the way to due, which
// keeps the reminder meaningful for a 90-second test clock.
func (c Clock) RemindAt(cal *Calendar, from, due time.Time) time.Time {
	if c.Workdays <= 0 && c.Days <= 0 {
		return from.Add(due.Sub(from) - due.Sub(from)/4)
	}
	d := due.In(Shanghai())
	morning := time.Date(d.Year(), d.Month(), d.Day(), 9, 0, 0, 0, Shanghai()).UTC()
	if morning.Before(from) || !morning.Before(due) {
		return from.Add(due.Sub(from) / 2)
	}
	return morning
}

// Deadlines holds the clock of each stage and the escalation grace.
type Deadlines struct {
	Collect, Assign, Verify, Rectify, Feedback Clock
	Evaluation                                 Clock // the tipster's rating window
	Escalation                                 Clock // grace after a due time before leaders are alerted (督办)
}

// deadlineKeys lists the JIANFU_DEADLINES keys in the order String writes them.
var deadlineKeys = []string{"collect", "assign", "verify", "rectify", "feedback", "evaluation", "escalation"}

// clock returns the field for a JIANFU_DEADLINES key, or nil for an unknown key.
func (d *Deadlines) clock(key string) *Clock {
	switch key {
	case "collect":
		return &d.Collect
	case "assign":
		return &d.Assign
	case "verify":
		return &d.Verify
	case "rectify":
		return &d.Rectify
	case "feedback":
		return &d.Feedback
	case "evaluation":
		return &d.Evaluation
	case "escalation":
		return &d.Escalation
	}
	return nil
}

// ParseDeadlines reads the JIANFU_DEADLINES format: comma-separated
// stage=clock. Names left out keep their DefaultDeadlines value, so an
// operator can shorten one stage without restating the others. Unknown names,
// repeated names and bad clocks are errors naming the part at fault, because
// the server refuses to start on them and the operator must see which part.
func ParseDeadlines(s string) (Deadlines, error) {
	var d Deadlines
	if err := d.set(DefaultDeadlines); err != nil {
		panic("DefaultDeadlines: " + err.Error()) // cannot happen: covered by tests
	}
	if err := d.set(s); err != nil {
		return Deadlines{}, err
	}
	return d, nil
}

// set overwrites the clocks named in s.
func (d *Deadlines) set(s string) error {
	seen := map[string]bool{}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		key, value, ok := strings.Cut(part, "=")
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if !ok {
			return fmt.Errorf("%q: want stage=clock, e.g. verify=15wd", part)
		}
		field := d.clock(key)
		if field == nil {
			return fmt.Errorf("%q: unknown name; want one of %s", key, strings.Join(deadlineKeys, ", "))
		}
		if seen[key] {
			return fmt.Errorf("%s: given twice", key)
		}
		seen[key] = true
		c, err := ParseClock(value)
		if err != nil {
			return fmt.Errorf("%s=%w", key, err)
		}
		*field = c
	}
	return nil
}

// String returns all seven clocks in the JIANFU_DEADLINES format, for logging
// the effective configuration at start.
func (d Deadlines) String() string {
	parts := make([]string, len(deadlineKeys))
	for i, key := range deadlineKeys {
		parts[i] = key + "=" + d.clock(key).String()
	}
	return strings.Join(parts, ",")
}

// ForStage returns the clock for a stage id ("collect", "assign", "verify",
// "rectify", "feedback"); false for others such as "closed", which has no
// due time.
func (d Deadlines) ForStage(stage string) (Clock, bool) {
	switch stage {
	case "collect", "assign", "verify", "rectify", "feedback":
		return *d.clock(stage), true
	}
	return Clock{}, false
}
