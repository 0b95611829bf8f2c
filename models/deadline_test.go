package models

import (
	"strings"
	"testing"
	"time"
)

func TestParseClock(t *testing.T) {
	good := []struct {
		in   string
		want Clock
	}{
		{"15wd", Clock{Workdays: 15}},
		{"1wd", Clock{Workdays: 1}},
		{"10d", Clock{Days: 10}},
		{"90s", Clock{Duration: 90 * time.Second}},
		{"48h", Clock{Duration: 48 * time.Hour}},
		{"1h30m", Clock{Duration: 90 * time.Minute}},
	}
	for _, tc := range good {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseClock(tc.in)
			if err != nil || got != tc.want {
				t.Fatalf("ParseClock(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			}
			back, err := ParseClock(got.String())
			if err != nil || back != got {
				t.Errorf("String() = %q reads back as %+v, %v", got.String(), back, err)
			}
		})
	}

	bad := []struct {
		in, wantErr string
	}{
		{"0wd", "want Nwd (working days), Nd (calendar days) or a Go duration such as 90s"},
		{"-1d", "want Nwd"},
		{"", "want Nwd"},
		{"abc", "want Nwd"},
		{"15 wd", "want Nwd"},
		{"15x", "want Nwd"},
		{"wd", "want Nwd"},
		{"+3wd", "want Nwd"},
		{"1.5wd", "want Nwd"},
		{"0s", "want Nwd"},
		{"-5m", "want Nwd"},
		{"99999wd", "at most 3650 days"},
	}
	for _, tc := range bad {
		t.Run("bad "+tc.in, func(t *testing.T) {
			got, err := ParseClock(tc.in)
			if err == nil {
				t.Fatalf("ParseClock(%q) = %+v, want an error", tc.in, got)
			}
			if !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), `"`+tc.in+`"`) {
				t.Errorf("ParseClock(%q) error %q should quote the input and say %q", tc.in, err, tc.wantErr)
			}
		})
	}
}

func TestClockDue(t *testing.T) {
	cal := NewCalendar(DefaultHolidays())
	tests := []struct {
		name  string
		clock Clock
		from  time.Time
		want  time.Time
	}{
		// 01-26(1), 01-27(2), 02-05..08(3-6), 02-10..14(7-11), 02-17..20(12-15)
		{"working days", Clock{Workdays: 15}, calAt(t, "2025-01-24 10:00"), calEnd(t, "2025-02-20")},
		{"calendar days on a weekday", Clock{Days: 10}, calAt(t, "2025-03-03 10:00"), calEnd(t, "2025-03-13")},            // 03-04(1) .. 03-13 Thu(10)
		{"calendar days end on a Saturday", Clock{Days: 10}, calAt(t, "2025-03-05 10:00"), calEnd(t, "2025-03-17")},       // 03-15 Sat(10) -> Mon 03-17
		{"calendar days end in a holiday", Clock{Days: 10}, calAt(t, "2025-09-28 10:00"), calEnd(t, "2025-10-09")},        // 10-08 off(10) -> Thu 10-09
		{"calendar days end on make-up Saturday", Clock{Days: 10}, calAt(t, "2026-02-18 10:00"), calEnd(t, "2026-02-28")}, // 02-28 Sat is a workday
		{"start day not counted", Clock{Days: 1}, calAt(t, "2025-03-03 23:59"), calEnd(t, "2025-03-04")},
		{"duration is exact", Clock{Duration: 90 * time.Second}, calAt(t, "2025-01-28 23:59:30"), calAt(t, "2025-01-29 00:01:00")},
		{"zero clock", Clock{}, calAt(t, "2025-03-03 10:00"), calAt(t, "2025-03-03 10:00")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.clock.Due(cal, tc.from); !got.Equal(tc.want) {
				t.Errorf("%s.Due(%s) = %s, want %s", tc.clock, calShow(tc.from), calShow(got), calShow(tc.want))
			}
		})
	}
}

func TestClockRemindAt(t *testing.T) {
	cal := NewCalendar(DefaultHolidays())
	tests := []struct {
		name      string
		clock     Clock
		from, due time.Time
		want      time.Time
	}{
		{"working days: morning of the last day", Clock{Workdays: 15},
			calAt(t, "2025-01-24 10:00"), calEnd(t, "2025-02-20"), calAt(t, "2025-02-20 09:00")},
		{"one working day after 23:59 Friday", Clock{Workdays: 1},
			calAt(t, "2026-02-13 23:59"), calEnd(t, "2026-02-14"), calAt(t, "2026-02-14 09:00")},
		{"calendar days: morning of the moved last day", Clock{Days: 10},
			calAt(t, "2025-09-28 10:00"), calEnd(t, "2025-10-09"), calAt(t, "2025-10-09 09:00")},
		// The morning has passed already: halfway from 10:00 to 23:59:59 is 16:59:59.5.
		{"morning before from", Clock{Workdays: 1},
			calAt(t, "2025-03-04 10:00"), calEnd(t, "2025-03-04"), calAt(t, "2025-03-04 16:59:59").Add(time.Second / 2)},
		{"duration: three quarters", Clock{Duration: 100 * time.Second},
			calAt(t, "2025-03-04 10:00"), calAt(t, "2025-03-04 10:01:40"), calAt(t, "2025-03-04 10:01:15")},
		{"duration: 48h", Clock{Duration: 48 * time.Hour},
			calAt(t, "2025-03-04 10:00"), calAt(t, "2025-03-06 10:00"), calAt(t, "2025-03-05 22:00")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.clock.RemindAt(cal, tc.from, tc.due)
			if !got.Equal(tc.want) {
				t.Errorf("RemindAt = %s, want %s", calShow(got), calShow(tc.want))
			}
			if got.Before(tc.from) || got.After(tc.due) {
				t.Errorf("reminder %s outside [%s, %s]", calShow(got), calShow(tc.from), calShow(tc.due))
			}
		})
	}

	// For every kind, a reminder computed from Due lands between from and due.
	from := calAt(t, "2026-09-30 17:30")
	for _, c := range []Clock{{Workdays: 1}, {Workdays: 15}, {Days: 1}, {Days: 10}, {Duration: 90 * time.Second}} {
		due := c.Due(cal, from)
		if r := c.RemindAt(cal, from, due); r.Before(from) || !r.Before(due) {
			t.Errorf("%s: reminder %s not in [%s, %s)", c, calShow(r), calShow(from), calShow(due))
		}
	}
}

func TestParseDeadlines(t *testing.T) {
	defaults := Deadlines{
		Collect:    Clock{Workdays: 2},
		Assign:     Clock{Workdays: 3},
		Verify:     Clock{Workdays: 15},
		Rectify:    Clock{Workdays: 30},
		Feedback:   Clock{Workdays: 15},
		Evaluation: Clock{Days: 10},
		Escalation: Clock{Workdays: 3},
	}
	short := defaults
	short.Verify = Clock{Duration: 90 * time.Second}
	short.Rectify = Clock{Duration: 2 * time.Minute}

	good := []struct {
		name, in string
		want     Deadlines
	}{
		{"empty keeps defaults", "", defaults},
		{"defaults", DefaultDeadlines, defaults},
		{"short test clocks for two stages", "verify=90s,rectify=2m", short},
		{"spaces and trailing comma", " verify = 90s , rectify=2m0s, ", short},
	}
	for _, tc := range good {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseDeadlines(tc.in)
			if err != nil || got != tc.want {
				t.Fatalf("ParseDeadlines(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
			back, err := ParseDeadlines(got.String())
			if err != nil || back != got {
				t.Errorf("String() = %q reads back as %v, %v", got.String(), back, err)
			}
		})
	}
	if got := defaults.String(); got != DefaultDeadlines {
		t.Errorf("defaults print as %q, want %q", got, DefaultDeadlines)
	}

	bad := []struct {
		in, wantErr string
	}{
		{"verify=15x", `verify="15x": want Nwd (working days), Nd (calendar days) or a Go duration such as 90s`},
		{"verify=", `verify="": want Nwd`},
		{"collect=2wd,closed=1wd", `"closed": unknown name`},
		{"verify15wd", `"verify15wd": want stage=clock`},
		{"verify=1wd,verify=2wd", "verify: given twice"},
		{"escalation=0wd", `escalation="0wd"`},
	}
	for _, tc := range bad {
		t.Run("bad "+tc.in, func(t *testing.T) {
			got, err := ParseDeadlines(tc.in)
			if err == nil {
				t.Fatalf("ParseDeadlines(%q) = %v, want an error", tc.in, got)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseDeadlines(%q) error %q, want it to say %q", tc.in, err, tc.wantErr)
			}
		})
	}
}

func TestDeadlinesForStage(t *testing.T) {
	d, err := ParseDeadlines("verify=90s")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		stage string
		want  Clock
		ok    bool
	}{
		{"collect", Clock{Workdays: 2}, true},
		{"assign", Clock{Workdays: 3}, true},
		{"verify", Clock{Duration: 90 * time.Second}, true},
		{"rectify", Clock{Workdays: 30}, true},
		{"feedback", Clock{Workdays: 15}, true},
		{"closed", Clock{}, false},
		{"evaluation", Clock{}, false}, // a window, not a stage
		{"", Clock{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.stage, func(t *testing.T) {
			got, ok := d.ForStage(tc.stage)
			if got != tc.want || ok != tc.ok {
				t.Errorf("ForStage(%q) = %v, %v; want %v, %v", tc.stage, got, ok, tc.want, tc.ok)
			}
		})
	}
}
