package models

import (
	"cmp"
	"slices"
	"sync"
	"time"
	_ "time/tzdata" // so a static image knows Asia/Shanghai
)

// Holiday is one row of the holiday calendar (table "holidays"): a date that
// is off although it would be a working day, or a make-up workday (调休上班)
// on a weekend. The calendar is data because the State Council publishes it a
// year at a time; an administrator adds next year's rows when it appears.
// Off rows may cover a whole holiday period, weekend days included, so the
// name can be shown on every day of it.
type Holiday struct {
	ID   uint64 `gorm:"primaryKey"`
	Day  string `gorm:"size:10;not null;uniqueIndex"` // "2006-01-02", a civil date in Asia/Shanghai
	Kind string `gorm:"size:16;not null"`             // HolidayOff or HolidayWorkday
	Name string `gorm:"size:64;not null"`             // zh-CN, e.g. "春节", "国庆节调休上班"
	// Provisional: computed from the statutory holidays (provisional.go),
	// not yet the State Council's arrangement.
	Provisional bool `gorm:"not null;default:false"`
}

// Holiday kinds.
const (
	HolidayOff     = "off"
	HolidayWorkday = "workday"
)

// calDayLayout is the layout of Holiday.Day.
const calDayLayout = "2006-01-02"

var shanghaiLocation = sync.OnceValue(func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic("load Asia/Shanghai: " + err.Error()) // cannot happen: tzdata is embedded
	}
	return loc
})

// Shanghai returns the Asia/Shanghai location. Times are stored in UTC;
// working-day arithmetic and display use this zone, because a "day" for the
// county is a day on the Beijing clock.
func Shanghai() *time.Location { return shanghaiLocation() }

// DefaultHolidays returns the 2025 and 2026 calendars published by the State
// Council (国务院办公厅关于部分节假日安排的通知), shipped so that a fresh install
// counts deadlines correctly without an administrator entering them first.
func DefaultHolidays() []Holiday {
	type period struct{ from, to, name string }
	off := []period{
		{"2025-01-01", "2025-01-01", "元旦"},
		{"2025-01-28", "2025-02-04", "春节"},
		{"2025-04-04", "2025-04-06", "清明节"},
		{"2025-05-01", "2025-05-05", "劳动节"},
		{"2025-05-31", "2025-06-02", "端午节"},
		{"2025-10-01", "2025-10-08", "国庆节、中秋节"},
		{"2026-01-01", "2026-01-03", "元旦"},
		{"2026-02-15", "2026-02-23", "春节"},
		{"2026-04-04", "2026-04-06", "清明节"},
		{"2026-05-01", "2026-05-05", "劳动节"},
		{"2026-06-19", "2026-06-21", "端午节"},
		{"2026-09-25", "2026-09-27", "中秋节"},
		{"2026-10-01", "2026-10-07", "国庆节"},
	}
	workdays := []Holiday{
		{Day: "2025-01-26", Name: "春节调休上班"},
		{Day: "2025-02-08", Name: "春节调休上班"},
		{Day: "2025-04-27", Name: "劳动节调休上班"},
		{Day: "2025-09-28", Name: "国庆节、中秋节调休上班"},
		{Day: "2025-10-11", Name: "国庆节、中秋节调休上班"},
		{Day: "2026-01-04", Name: "元旦调休上班"},
		{Day: "2026-02-14", Name: "春节调休上班"},
		{Day: "2026-02-28", Name: "春节调休上班"},
		{Day: "2026-05-09", Name: "劳动节调休上班"},
		{Day: "2026-09-20", Name: "中秋节调休上班"},
		{Day: "2026-10-10", Name: "国庆节调休上班"},
	}
	var days []Holiday
	for _, p := range off {
		from, _ := time.Parse(calDayLayout, p.from)
		to, _ := time.Parse(calDayLayout, p.to)
		for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
			days = append(days, Holiday{Day: d.Format(calDayLayout), Kind: HolidayOff, Name: p.name})
		}
	}
	for _, w := range workdays {
		w.Kind = HolidayWorkday
		days = append(days, w)
	}
	slices.SortFunc(days, func(a, b Holiday) int { return cmp.Compare(a.Day, b.Day) })
	return days
}

// Calendar answers working-day questions in Asia/Shanghai. It is immutable
// after NewCalendar, so one value can be shared by every request and worker;
// to change the calendar, build a new one.
//
// A year with no Holiday rows is counted as plain Monday-to-Friday weeks:
// deadlines keep working, a little off around holidays, until an
// administrator enters that year. Years lets the caller warn about it.
type Calendar struct {
	kinds map[string]string // Holiday.Day -> Holiday.Kind
	years []int
}

// NewCalendar builds a calendar from holiday rows. Rows whose Day is not a
// "2006-01-02" date or whose Kind is unknown are ignored: the store checks
// rows when they are written, and a bad row must not stop deadlines.
func NewCalendar(days []Holiday) *Calendar {
	c := &Calendar{kinds: make(map[string]string, len(days))}
	for _, h := range days {
		t, err := time.Parse(calDayLayout, h.Day)
		if err != nil || (h.Kind != HolidayOff && h.Kind != HolidayWorkday) {
			continue
		}
		c.kinds[t.Format(calDayLayout)] = h.Kind
		if !slices.Contains(c.years, t.Year()) {
			c.years = append(c.years, t.Year())
		}
	}
	slices.Sort(c.years)
	return c
}

// IsWorkday reports whether the Asia/Shanghai date of t is a working day:
// Monday to Friday unless it is HolidayOff, Saturday and Sunday only if it is
// HolidayWorkday.
func (c *Calendar) IsWorkday(t time.Time) bool {
	t = t.In(Shanghai())
	switch c.kinds[t.Format(calDayLayout)] {
	case HolidayOff:
		return false
	case HolidayWorkday:
		return true
	}
	wd := t.Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// AddWorkdays returns the end of a period of n working days starting at from.
//
// The rule is modelled on the Civil Code's rule for periods (《民法典》第二百零一条、
// 第二百零三条): the day the period starts is not counted; counting starts the
// next day; only working days count (weekends and holidays are skipped,
// make-up workdays 调休上班 are counted); the period ends at 24:00 of the Nth
// working day, represented as 23:59:59 Asia/Shanghai of that day and returned
// in UTC. So a tip at 23:59 on a Friday, or one that arrives on a holiday,
// gets its first counted day on the next working day, and a tip at 00:00:30
// does not get the rest of its first day for free.
//
// n <= 0 returns from unchanged.
func (c *Calendar) AddWorkdays(from time.Time, n int) time.Time {
	if n <= 0 {
		return from
	}
	d := shanghaiStartOfDay(from)
	for n > 0 {
		d = d.AddDate(0, 0, 1)
		if c.IsWorkday(d) {
			n--
		}
	}
	return shanghaiEndOfDay(d)
}

// WorkdaysBetween counts the working days d with date(from) < d <= date(to),
// dates taken in Asia/Shanghai; 0 if to <= from. It is the inverse of
// AddWorkdays: WorkdaysBetween(from, AddWorkdays(from, n)) == n.
func (c *Calendar) WorkdaysBetween(from, to time.Time) int {
	if !to.After(from) {
		return 0
	}
	n := 0
	last := shanghaiStartOfDay(to)
	for d := shanghaiStartOfDay(from).AddDate(0, 0, 1); !d.After(last); d = d.AddDate(0, 0, 1) {
		if c.IsWorkday(d) {
			n++
		}
	}
	return n
}

// Years returns the years that have at least one Holiday row, sorted. Years
// outside it are counted as plain Monday-to-Friday weeks.
func (c *Calendar) Years() []int { return slices.Clone(c.years) }

// shanghaiStartOfDay returns 00:00 Asia/Shanghai of t's date there.
func shanghaiStartOfDay(t time.Time) time.Time {
	t = t.In(Shanghai())
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, Shanghai())
}

// shanghaiEndOfDay returns 23:59:59 Asia/Shanghai of t's date there, in UTC: the
// stored form of "24:00 of that day".
func shanghaiEndOfDay(t time.Time) time.Time {
	t = t.In(Shanghai())
	return time.Date(t.Year(), t.Month(), t.Day(), 23, 59, 59, 0, Shanghai()).UTC()
}
