package api_test

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"jianfu/apptest"
	"jianfu/models"
	"jianfu/testenv"
)

// TestUnconfirmedCalendarBanner: from 1 November, while next year's
// holiday arrangement is only the computed one, admin and office see the
// banner on every console page; a liaison does not; once the admin has
// loaded the year, it is gone.
func TestUnconfirmedCalendarBanner(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			app := startConsoleApp(t, b, apptest.Options{NoWorker: true})
			var now atomic.Int64 // the store's clock, moved by the test
			set := func(t time.Time) { now.Store(t.UnixNano()) }
			set(time.Date(2026, 12, 2, 2, 0, 0, 0, time.UTC))
			app.Store.SetClock(func() time.Time { return time.Unix(0, now.Load()) })
			banner := `id="calendar-banner"`
			for user, want := range map[string]bool{"office1": true, "admin1": true, "liaison_t02": false} {
				c := newConsoleClient(app)
				c.login(t, user)
				res := c.get(t, "/console/cases")
				if got := strings.Contains(string(res.Raw), banner); got != want {
					t.Errorf("%s: banner shown %v, want %v", user, got, want)
				}
				if want && !strings.Contains(string(res.Raw), "2027年节假日安排尚未确认") {
					t.Errorf("%s: the banner does not name 2027", user)
				}
			}
			set(time.Date(2026, 10, 31, 2, 0, 0, 0, time.UTC))
			c := newConsoleClient(app)
			c.login(t, "office1")
			if strings.Contains(string(c.get(t, "/console/cases").Raw), banner) {
				t.Error("banner shown in October")
			}
			set(time.Date(2026, 12, 2, 2, 0, 0, 0, time.UTC))
			arrangement := []models.Holiday{{Day: "2027-01-01", Kind: models.HolidayOff, Name: "元旦"}}
			if _, err := app.Store.ReplaceHolidays(t.Context(), 2027, arrangement); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(c.get(t, "/console/cases").Raw), banner) {
				t.Error("banner still shown after the admin loaded 2027")
			}
		})
	}
}
