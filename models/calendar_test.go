package models

import (
	"slices"
	"testing"
	"time"
)

// calAt parses "2006-01-02 15:04" or "2006-01-02 15:04:05" as Asia/Shanghai
// wall time, the way staff read a timestamp.
func calAt(t *testing.T, s string) time.Time {
	t.Helper()
	layout := "2006-01-02 15:04"
	if len(s) == len("2006-01-02 15:04:05") {
		layout = "2006-01-02 15:04:05"
	}
	v, err := time.ParseInLocation(layout, s, Shanghai())
	if err != nil {
		t.Fatalf("bad test time %q: %v", s, err)
	}
	return v
}

// calEnd is 24:00 (stored as 23:59:59) Asia/Shanghai of day, in UTC.
func calEnd(t *testing.T, day string) time.Time {
	t.Helper()
	return calAt(t, day+" 23:59:59").UTC()
}

// calShow formats a time as staff see it, for failure messages.
func calShow(v time.Time) string {
	return v.In(Shanghai()).Format("2006-01-02 Mon 15:04:05 MST")
}

func TestDefaultHolidaysMatchStateCouncilNotices(t *testing.T) {
	days := DefaultHolidays()

	type count struct{ off, workday int }
	got := map[int]count{}
	seen := map[string]bool{}
	for _, h := range days {
		d, err := time.Parse("2006-01-02", h.Day)
		if err != nil {
			t.Fatalf("row %+v: bad Day: %v", h, err)
		}
		if seen[h.Day] {
			t.Errorf("%s listed twice; the holidays table has a unique index on day", h.Day)
		}
		seen[h.Day] = true
		if h.Name == "" {
			t.Errorf("%s has no name", h.Day)
		}
		c := got[d.Year()]
		switch h.Kind {
		case HolidayOff:
			c.off++
		case HolidayWorkday:
			c.workday++
			if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday {
				t.Errorf("make-up workday %s is a %s, not a weekend", h.Day, wd)
			}
		default:
			t.Errorf("%s has kind %q", h.Day, h.Kind)
		}
		got[d.Year()] = c
	}
	// 2025: 1+8+3+5+3+8 days off; 2026: 3+9+3+5+3+3+7.
	want := map[int]count{2025: {off: 28, workday: 5}, 2026: {off: 33, workday: 6}}
	for year, w := range want {
		if got[year] != w {
			t.Errorf("%d: got %+v, want %+v", year, got[year], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("years %v, want only 2025 and 2026", got)
	}

	byDay := map[string]Holiday{}
	for _, h := range days {
		byDay[h.Day] = h
	}
	for _, tc := range []struct{ day, kind, name string }{
		{"2025-01-01", HolidayOff, "元旦"},
		{"2025-01-28", HolidayOff, "春节"},
		{"2025-02-04", HolidayOff, "春节"},
		{"2025-06-02", HolidayOff, "端午节"},
		{"2025-10-08", HolidayOff, "国庆节、中秋节"},
		{"2026-01-03", HolidayOff, "元旦"},
		{"2026-02-23", HolidayOff, "春节"},
		{"2026-06-19", HolidayOff, "端午节"},
		{"2026-09-25", HolidayOff, "中秋节"},
		{"2026-10-07", HolidayOff, "国庆节"},
		{"2025-01-26", HolidayWorkday, "春节调休上班"},
		{"2025-02-08", HolidayWorkday, "春节调休上班"},
		{"2025-04-27", HolidayWorkday, "劳动节调休上班"},
		{"2025-09-28", HolidayWorkday, "国庆节、中秋节调休上班"},
		{"2025-10-11", HolidayWorkday, "国庆节、中秋节调休上班"},
		{"2026-01-04", HolidayWorkday, "元旦调休上班"},
		{"2026-02-14", HolidayWorkday, "春节调休上班"},
		{"2026-02-28", HolidayWorkday, "春节调休上班"},
		{"2026-05-09", HolidayWorkday, "劳动节调休上班"},
		{"2026-09-20", HolidayWorkday, "中秋节调休上班"},
		{"2026-10-10", HolidayWorkday, "国庆节调休上班"},
	} {
		h, ok := byDay[tc.day]
		if !ok || h.Kind != tc.kind || h.Name != tc.name {
			t.Errorf("%s: got %+v (present %v), want kind %q name %q", tc.day, h, ok, tc.kind, tc.name)
		}
	}
	// Ordinary days just outside the holidays are not rows.
	for _, day := range []string{"2025-01-27", "2025-02-05", "2025-10-09", "2026-02-24", "2026-10-08"} {
		if h, ok := byDay[day]; ok {
			t.Errorf("%s should be an ordinary day, got %+v", day, h)
		}
	}
}

func TestIsWorkday(t *testing.T) {
	cal := NewCalendar(DefaultHolidays())
	tests := []struct {
		name string
		at   time.Time
		want bool
	}{
		{"make-up Sunday before Spring Festival 2025", calAt(t, "2025-01-26 10:00"), true},
		{"make-up Saturday after Spring Festival 2025", calAt(t, "2025-02-08 10:00"), true},
		{"make-up Sunday before National Day 2025", calAt(t, "2025-09-28 10:00"), true},
		{"make-up Sunday after New Year 2026", calAt(t, "2026-01-04 10:00"), true},
		{"make-up Sunday before Mid-Autumn 2026", calAt(t, "2026-09-20 10:00"), true},
		{"Tuesday in Spring Festival 2025", calAt(t, "2025-01-28 10:00"), false},
		{"Wednesday, last day of National Day 2025", calAt(t, "2025-10-08 10:00"), false},
		{"Monday, last day of Spring Festival 2026", calAt(t, "2026-02-23 10:00"), false},
		{"Friday, Dragon Boat Festival 2026", calAt(t, "2026-06-19 10:00"), false},
		{"ordinary Saturday", calAt(t, "2025-01-25 10:00"), false},
		{"ordinary Monday", calAt(t, "2025-01-27 10:00"), true},
		// 17:00 UTC on Monday 01-27 is already 01:00 on the holiday in Shanghai.
		{"UTC Monday evening is a Shanghai holiday", time.Date(2025, 1, 27, 17, 0, 0, 0, time.UTC), false},
		{"year outside the calendar: plain Friday", calAt(t, "2027-01-01 10:00"), true},
		{"year outside the calendar: plain Sunday", calAt(t, "2027-01-03 10:00"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := cal.IsWorkday(tc.at); got != tc.want {
				t.Errorf("IsWorkday(%s) = %v, want %v", calShow(tc.at), got, tc.want)
			}
		})
	}
}

func TestAddWorkdays(t *testing.T) {
	cal := NewCalendar(DefaultHolidays())
	tests := []struct {
		name string
		from string // Asia/Shanghai wall time
		n    int
		want string // the last counted day; the deadline is its 23:59:59
	}{
		// 2025 Spring Festival: 01-28..02-04 off, 01-26 Sun and 02-08 Sat workdays.
		{"Friday before Spring Festival 2025", "2025-01-24 10:00", 2, "2025-01-27"},  // 01-25 Sat off, 01-26 Sun(1), 01-27 Mon(2)
		{"make-up Sunday into Spring Festival", "2025-01-26 10:00", 2, "2025-02-05"}, // 01-27 Mon(1), 01-28..02-04 off, 02-05 Wed(2)
		{"Monday before Spring Festival, 3", "2025-01-27 10:00", 3, "2025-02-07"},    // 02-05 Wed(1), 02-06(2), 02-07 Fri(3)
		{"reaches make-up Saturday", "2025-01-27 10:00", 4, "2025-02-08"},            // ... 02-07 Fri(3), 02-08 Sat(4)
		// 01-26(1), 01-27(2), 02-05(3), 02-06(4), 02-07(5), 02-08 Sat(6), 02-10..14(7-11), 02-17..20(12-15)
		{"15 across Spring Festival 2025", "2025-01-24 10:00", 15, "2025-02-20"},
		{"starts on a holiday", "2025-01-30 15:00", 1, "2025-02-05"}, // 01-31..02-04 off, 02-05 Wed(1)

		// 2025 National Day: 10-01..10-08 off, 09-28 Sun and 10-11 Sat workdays.
		{"Friday before National Day 2025", "2025-09-26 18:00", 3, "2025-09-30"}, // 09-27 Sat off, 09-28 Sun(1), 09-29(2), 09-30(3)
		{"eve of National Day 2025", "2025-09-30 09:00", 2, "2025-10-10"},        // 10-01..10-08 off, 10-09 Thu(1), 10-10 Fri(2)
		{"reaches make-up Saturday 10-11", "2025-09-30 09:00", 3, "2025-10-11"},  // ... 10-10 Fri(2), 10-11 Sat(3)
		{"starts 00:00:30 local", "2025-10-10 00:00:30", 1, "2025-10-11"},        // 10-10 not counted, 10-11 Sat(1)
		// 09-28(1), 09-29(2), 09-30(3), 10-09(4), 10-10(5), 10-11(6), 10-13..17(7-11), 10-20..24(12-16),
		// 10-27..31(17-21), 11-03..07(22-26), 11-10(27), 11-11(28), 11-12(29), 11-13 Thu(30)
		{"30 across National Day 2025", "2025-09-26 18:00", 30, "2025-11-13"},

		// 2026 Spring Festival: 02-15..02-23 off, 02-14 Sat and 02-28 Sat workdays.
		{"23:59 Friday", "2026-02-13 23:59", 1, "2026-02-14"},                      // 02-13 not counted, 02-14 Sat(1)
		{"23:59 Friday into Spring Festival", "2026-02-13 23:59", 2, "2026-02-24"}, // 02-14 Sat(1), 02-15..02-23 off, 02-24 Tue(2)
		{"starts on a make-up Saturday", "2026-02-14 10:00", 1, "2026-02-24"},      // 02-15..02-23 off, 02-24 Tue(1)
		{"starts on a Saturday", "2026-02-07 10:00", 3, "2026-02-11"},              // 02-08 Sun off, 02-09 Mon(1), 02-10(2), 02-11 Wed(3)
		{"Saturday to make-up Saturday", "2026-02-07 10:00", 6, "2026-02-14"},      // ... 02-12(4), 02-13(5), 02-14 Sat(6)
		// 02-13(1), 02-14 Sat(2), 02-24..27(3-6), 02-28 Sat(7), 03-02..06(8-12), 03-09(13), 03-10(14), 03-11 Wed(15)
		{"15 across Spring Festival 2026", "2026-02-12 10:00", 15, "2026-03-11"},
		{"starts 00:00:30 local on Monday", "2026-03-02 00:00:30", 1, "2026-03-03"}, // 03-02 not counted, 03-03 Tue(1)

		// 2026 Mid-Autumn 09-25..09-27 off; National Day 10-01..10-07 off, 10-10 Sat workday.
		{"Thursday before Mid-Autumn 2026", "2026-09-24 10:00", 3, "2026-09-30"}, // 09-25..27 off, 09-28 Mon(1), 09-29(2), 09-30(3)
		{"eve of National Day 2026", "2026-09-30 10:00", 2, "2026-10-09"},        // 10-01..10-07 off, 10-08 Thu(1), 10-09 Fri(2)
		{"reaches make-up Saturday 10-10", "2026-09-30 10:00", 3, "2026-10-10"},  // ... 10-09(2), 10-10 Sat(3)
		// 10-08(1), 10-09(2), 10-10 Sat(3), 10-12..16(4-8), 10-19..23(9-13), 10-26(14), 10-27 Tue(15)
		{"15 across National Day 2026", "2026-09-30 10:00", 15, "2026-10-27"},

		{"year outside the calendar", "2027-10-01 10:00", 1, "2027-10-04"}, // plain weeks: 10-02 Sat, 10-03 Sun off, 10-04 Mon(1)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			from := calAt(t, tc.from)
			got := cal.AddWorkdays(from, tc.n)
			if want := calEnd(t, tc.want); !got.Equal(want) {
				t.Fatalf("AddWorkdays(%s, %d) = %s, want %s", tc.from, tc.n, calShow(got), calShow(want))
			}
			if got.Location() != time.UTC {
				t.Errorf("due time in %s, want UTC for storage", got.Location())
			}
			if back := cal.WorkdaysBetween(from, got); back != tc.n {
				t.Errorf("WorkdaysBetween(from, due) = %d, want %d", back, tc.n)
			}
		})
	}

	from := calAt(t, "2025-01-28 10:00")
	for _, n := range []int{0, -1} {
		if got := cal.AddWorkdays(from, n); got != from {
			t.Errorf("AddWorkdays(from, %d) = %s, want from unchanged", n, calShow(got))
		}
	}
}

func TestWorkdaysBetween(t *testing.T) {
	cal := NewCalendar(DefaultHolidays())
	tests := []struct {
		name     string
		from, to string
		want     int
	}{
		{"across Spring Festival 2025", "2025-01-27 10:00", "2025-02-07 10:00", 3}, // 01-28..02-04 off, 02-05, 02-06, 02-07
		{"across National Day 2025", "2025-09-26 10:00", "2025-10-12 10:00", 6},    // 09-28, 09-29, 09-30, 10-09, 10-10, 10-11
		{"across Spring Festival 2026", "2026-02-13 10:00", "2026-02-28 08:00", 6}, // 02-14, 02-24..02-27, 02-28
		{"whole holiday", "2026-10-01 10:00", "2026-10-07 10:00", 0},               // 10-01..10-07 off
		{"same day, later", "2025-03-03 09:00", "2025-03-03 18:00", 0},             // the start day is not counted
		{"to before from", "2025-03-10 09:00", "2025-03-03 09:00", 0},              // nothing is negative
		{"ordinary fortnight", "2025-03-03 09:00", "2025-03-17 09:00", 10},         // 03-04..07 (4), 03-10..14 (5), 03-17 (1)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := cal.WorkdaysBetween(calAt(t, tc.from), calAt(t, tc.to)); got != tc.want {
				t.Errorf("WorkdaysBetween(%s, %s) = %d, want %d", tc.from, tc.to, got, tc.want)
			}
		})
	}
}

func TestCalendarYears(t *testing.T) {
	tests := []struct {
		name string
		days []Holiday
		want []int
	}{
		{"shipped calendar", DefaultHolidays(), []int{2025, 2026}},
		{"empty", nil, nil},
		{"bad rows are ignored", []Holiday{
			{Day: "2027-13-01", Kind: HolidayOff},
			{Day: "2028-01-01", Kind: "holiday"},
			{Day: "2029-01-01", Kind: HolidayOff, Name: "元旦"},
		}, []int{2029}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := NewCalendar(tc.days).Years(); !slices.Equal(got, tc.want) {
				t.Errorf("Years() = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestNewCalendarUsesOnlyItsOwnRows(t *testing.T) {
	// An administrator-added row changes the new calendar, not the shipped one.
	days := append(DefaultHolidays(), Holiday{Day: "2027-01-01", Kind: HolidayOff, Name: "元旦"})
	friday := calAt(t, "2027-01-01 10:00")
	if NewCalendar(days).IsWorkday(friday) {
		t.Error("2027-01-01 added as off, still a workday")
	}
	if !NewCalendar(DefaultHolidays()).IsWorkday(friday) {
		t.Error("2027-01-01 is off in a calendar that never listed it")
	}
}
