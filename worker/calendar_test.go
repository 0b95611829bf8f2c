package worker_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"jianfu/apptest"
	"jianfu/models"
	"jianfu/testenv"
	"jianfu/worker"
)

// TestCalendarNoticeOncePerYear: on 31 October nothing is sent and the
// metric is 0; from 1 November, while 2027 is only provisional, every
// active admin with an email gets one zh-CN mail even when two workers
// check at once, the metric names 2027, a second check sends nothing;
// once an admin has loaded 2027 the metric is 0 again.
func TestCalendarNoticeOncePerYear(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			app := apptest.Start(t, apptest.Options{Backend: b, NoWorker: true, Mailpit: true})
			ctx := context.Background()
			var now atomic.Int64
			set := func(t time.Time) { now.Store(t.UnixNano()) }
			app.Store.SetClock(func() time.Time { return time.Unix(0, now.Load()) })
			const pw = "Calendar-Notice-2026"
			app.CreateUser(t, models.UserParams{Username: "cal_admin1", Password: pw, Role: models.RoleAdmin, Email: "admin1@example.org"})
			app.CreateUser(t, models.UserParams{Username: "cal_admin2", Password: pw, Role: models.RoleAdmin, Email: "admin2@example.org"})
			app.CreateUser(t, models.UserParams{Username: "cal_admin3", Password: pw, Role: models.RoleAdmin}) // no email
			app.CreateUser(t, models.UserParams{Username: "cal_gone", Password: pw, Role: models.RoleAdmin, Email: "gone@example.org"})
			app.CreateUser(t, models.UserParams{Username: "cal_office", Password: pw, Role: models.RoleOffice, Email: "office@example.org"})
			if err := app.DB(t).Model(&models.User{}).Where("username = ?", "cal_gone").Update("disabled", true).Error; err != nil {
				t.Fatal(err)
			}
			reg := prometheus.NewRegistry()
			reg.MustRegister(worker.NewQueueCollector(app.Redis, app.Store))
			// Two workers (or schedulers' tasks) check at the same moment.
			notices := []*worker.CalendarNotice{
				worker.NewCalendarNotice(worker.DigesterParams{Store: app.Store, Mailer: app.Mailer, BaseURL: "https://jianfu.example.org"}),
				worker.NewCalendarNotice(worker.DigesterParams{Store: app.Store, Mailer: app.Mailer, BaseURL: "https://jianfu.example.org"}),
			}
			checkBoth := func() []worker.Outcome {
				var mu sync.Mutex
				var out []worker.Outcome
				var wg sync.WaitGroup
				for _, n := range notices {
					wg.Go(func() {
						dl, err := n.Check(ctx)
						if err != nil {
							t.Errorf("check: %v", err)
						}
						mu.Lock()
						out = append(out, dl.Outcome)
						mu.Unlock()
					})
				}
				wg.Wait()
				return out
			}

			set(time.Date(2026, 10, 31, 15, 59, 0, 0, time.UTC)) // 23:59 on 31 October in Beijing
			if out := checkBoth(); slices.ContainsFunc(out, func(o worker.Outcome) bool { return o != "" }) {
				t.Fatalf("31 October: outcomes %v, want nothing done", out)
			}
			if got := calendarMetric(t, reg); got != 0 {
				t.Fatalf("31 October: jianfu_calendar_unconfirmed_year = %v, want 0", got)
			}
			if n := len(app.Mailpit.Messages(t)); n != 0 {
				t.Fatalf("31 October: %d mails, want none", n)
			}

			set(time.Date(2026, 10, 31, 16, 0, 0, 0, time.UTC)) // 1 November, 00:00 in Beijing
			if got := calendarMetric(t, reg); got != 2027 {
				t.Fatalf("1 November: jianfu_calendar_unconfirmed_year = %v, want 2027", got)
			}
			out := checkBoth()
			if slices.Index(out, worker.OutcomeSent) < 0 {
				t.Fatalf("1 November: outcomes %v, want one sent", out)
			}
			var msgs []testenv.MailpitMessage
			apptest.Eventually(t, 10*time.Second, "the notice in mailpit", func() bool {
				msgs = app.Mailpit.Messages(t)
				return len(msgs) > 0
			})
			if len(msgs) != 1 {
				t.Fatalf("1 November: %d mails, want 1", len(msgs))
			}
			m := msgs[0]
			to := slices.Sorted(slices.Values(m.To))
			if !slices.Equal(to, []string{"admin1@example.org", "admin2@example.org"}) {
				t.Errorf("mail to %v, want the two active admins with an email", to)
			}
			if !strings.Contains(m.Subject, "2027年节假日安排尚未确认") {
				t.Errorf("subject %q does not name 2027", m.Subject)
			}
			if !strings.Contains(m.Text, "https://jianfu.example.org/console/admin/holidays") || !strings.Contains(m.Text, "调休") {
				t.Errorf("text does not tell where to load the arrangement:\n%s", m.Text)
			}

			set(time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC)) // the next days' checks
			if out := checkBoth(); slices.Contains(out, worker.OutcomeSent) {
				t.Fatalf("second run: outcomes %v, want no second mail", out)
			}
			if n := len(app.Mailpit.Messages(t)); n != 1 {
				t.Fatalf("second run: %d mails, want still 1", n)
			}

			arrangement := []models.Holiday{{Day: "2027-01-01", Kind: models.HolidayOff, Name: "元旦"}}
			if _, err := app.Store.ReplaceHolidays(ctx, 2027, arrangement); err != nil {
				t.Fatal(err)
			}
			if got := calendarMetric(t, reg); got != 0 {
				t.Fatalf("after loading 2027: jianfu_calendar_unconfirmed_year = %v, want 0", got)
			}
			if out := checkBoth(); slices.ContainsFunc(out, func(o worker.Outcome) bool { return o != "" }) {
				t.Fatalf("after loading 2027: outcomes %v, want nothing done", out)
			}
		})
	}
}

// calendarMetric reads jianfu_calendar_unconfirmed_year from reg.
func calendarMetric(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "jianfu_calendar_unconfirmed_year" {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatal("no jianfu_calendar_unconfirmed_year metric")
	return 0
}
