package worker_test

import (
	"testing"
	"time"

	"jianfu/models"
	"jianfu/worker"
)

// TestFirstWorkdayOfMonth: the monthly warning mail waits for the month's
// first working day by the State Council calendar (DESIGN §6).
func TestFirstWorkdayOfMonth(t *testing.T) {
	cal := models.NewCalendar(models.DefaultHolidays())
	day := func(s string) time.Time {
		d, err := time.ParseInLocation("2006-01-02 15:04", s, models.Shanghai())
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	for _, c := range []struct {
		at   string
		want bool
	}{
		{"2026-05-05 09:00", false}, // 05-01..05-05 off
		{"2026-05-06 09:00", true},  // the first working day of May 2026
		{"2026-05-20 09:00", true},  // later in the month: a missed run still sends
		{"2026-10-07 09:00", false}, // 10-01..10-07 off
		{"2026-10-08 00:30", true},
		{"2026-02-01 09:00", false}, // a Sunday
		{"2026-02-02 09:00", true},
		{"2026-12-01 09:00", true}, // a Tuesday
	} {
		if got := worker.OnOrAfterFirstWorkday(cal, day(c.at)); got != c.want {
			t.Errorf("%s: %v, want %v", c.at, got, c.want)
		}
	}
}
