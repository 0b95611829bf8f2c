package api_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"jianfu/apptest"
	"jianfu/models"
	"jianfu/testenv"
	"jianfu/worker"
)

// TestCheckinGroupWarnsEverywhereOnce: a township registers a work group
// that demands daily check-ins; the warning appears on the leaders'
// dashboard, in that township's next weekly digest and in the month's
// warning mail (每月一警示), each exactly once, even when the digest and
// the mail are sent twice and concurrently.
func TestCheckinGroupWarnsEverywhereOnce(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := t.Context()
			app := apptest.Start(t, apptest.Options{Backend: b, Mailpit: true, NoWorker: true})
			app.CreateUnit(t, "T01", "城关镇", models.UnitTownship)
			app.CreateUnit(t, "T02", "东坝镇", models.UnitTownship)
			for _, u := range []models.UserParams{
				{Username: "liaison_t01", Role: models.RoleLiaison, UnitCode: "T01", Email: "liaison@t01.gov.cn"},
				{Username: "liaison_t02", Role: models.RoleLiaison, UnitCode: "T02", Email: "liaison@t02.gov.cn"},
				{Username: "leader1", Role: models.RoleLeader, Email: "leader@county.gov.cn"},
			} {
				u.Password = consolePassword
				app.CreateUser(t, u)
			}
			liaison := app.Login(t, "liaison_t01", consolePassword)
			res := liaison.JSON(t, "POST", "/api/v1/registry/groups", map[string]any{
				"name": "城关镇每日打卡群", "owner": "城关镇党政办", "demands": []string{"checkin"}})
			if res.Status != http.StatusCreated {
				t.Fatalf("register: %d %s", res.Status, res.Raw)
			}
			id := fmt.Sprintf("forbidden_demand:%v", res.Body["id"])

			// The dashboard shows it once.
			leader := app.Login(t, "leader1", consolePassword)
			page := leader.Do(t, mustRequest(t, app.URL+"/console/dashboard"))
			if page.Status != http.StatusOK || strings.Count(string(page.Raw), `data-warning="`+id+`"`) != 1 ||
				!strings.Contains(string(page.Raw), "城关镇每日打卡群") {
				t.Fatalf("dashboard: %d, warning %s shown %d times", page.Status, id, strings.Count(string(page.Raw), `data-warning="`+id+`"`))
			}

			// The weekly digest and the monthly mail, each sent twice at
			// once and once more afterwards.
			params := worker.DigesterParams{Store: app.Store, Mailer: app.Mailer, BaseURL: app.URL}
			digester, mailer := worker.NewDigester(params), worker.NewWarningMailer(params)
			week := app.Store.CurrentWeek()
			month := app.Store.Now().In(models.Shanghai()).Format("2006-01")
			var wg sync.WaitGroup
			for range 2 {
				wg.Go(func() {
					if _, err := digester.SendWeek(ctx, week); err != nil {
						t.Errorf("digest: %v", err)
					}
				})
				wg.Go(func() {
					if _, err := mailer.SendMonth(ctx, month); err != nil {
						t.Errorf("warning mail: %v", err)
					}
				})
			}
			wg.Wait()
			if _, err := digester.SendWeek(ctx, week); err != nil {
				t.Fatal(err)
			}
			dl, err := mailer.SendMonth(ctx, month)
			if err != nil || dl.Outcome != worker.OutcomeDone {
				t.Fatalf("third warning mail: %+v, %v; want done", dl, err)
			}

			var to = func(ms []testenv.MailpitMessage, addr string) []testenv.MailpitMessage {
				var out []testenv.MailpitMessage
				for _, m := range ms {
					if slices.Contains(m.To, addr) {
						out = append(out, m)
					}
				}
				return out
			}
			var ms []testenv.MailpitMessage
			apptest.Eventually(t, 10*time.Second, "the digest and the warning mail", func() bool {
				ms = app.Mailpit.Messages(t)
				return len(to(ms, "liaison@t01.gov.cn")) > 0 && len(to(ms, "leader@county.gov.cn")) > 0
			})
			digests := to(ms, "liaison@t01.gov.cn")
			if len(digests) != 1 || strings.Count(digests[0].Text, "城关镇每日打卡群") != 1 ||
				!strings.Contains(digests[0].Subject, "预警1条") || !strings.Contains(digests[0].HTML, "打卡签到") {
				t.Errorf("T01's digests: %d; first %+v", len(digests), digests)
			}
			if n := len(to(ms, "liaison@t02.gov.cn")); n != 0 {
				t.Errorf("T02, with nothing to report, got %d digests", n)
			}
			var monthly []testenv.MailpitMessage
			for _, m := range to(ms, "leader@county.gov.cn") {
				if strings.Contains(m.Subject, "每月一警示") {
					monthly = append(monthly, m)
				}
			}
			if len(monthly) != 1 || strings.Count(monthly[0].Text, "城关镇每日打卡群") != 1 ||
				!strings.Contains(monthly[0].Subject, "预警1条，其中警示1条") {
				t.Errorf("monthly warning mails: %d; %+v", len(monthly), monthly)
			}
		})
	}
}

func mustRequest(t *testing.T, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// TestDashboardListsFirstWarnings: with more warnings than the dashboard
// lists, it shows the first ten, says how many there are, and the
// warnings page has them all.
func TestDashboardListsFirstWarnings(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			app := apptest.Start(t, apptest.Options{Backend: b, NoWorker: true})
			app.CreateUnit(t, "T01", "城关镇", models.UnitTownship)
			for _, u := range []models.UserParams{
				{Username: "liaison_t01", Role: models.RoleLiaison, UnitCode: "T01"},
				{Username: "leader1", Role: models.RoleLeader},
			} {
				u.Password = consolePassword
				app.CreateUser(t, u)
			}
			liaison := app.Login(t, "liaison_t01", consolePassword)
			for i := range 12 {
				res := liaison.JSON(t, "POST", "/api/v1/registry/groups", map[string]any{
					"name": fmt.Sprintf("城关镇打卡群%d", i+1), "owner": "城关镇党政办", "demands": []string{"checkin"}})
				if res.Status != http.StatusCreated {
					t.Fatalf("register: %d %s", res.Status, res.Raw)
				}
			}
			leader := app.Login(t, "leader1", consolePassword)
			page := leader.Do(t, mustRequest(t, app.URL+"/console/dashboard"))
			body := string(page.Raw)
			if page.Status != http.StatusOK || strings.Count(body, `data-warning="`) != 10 || !strings.Contains(body, "12条，此处列出前10条") {
				t.Errorf("dashboard: %d, %d warnings listed", page.Status, strings.Count(body, `data-warning="`))
			}
			all := leader.Do(t, mustRequest(t, app.URL+"/console/warnings"))
			if n := strings.Count(string(all.Raw), `data-warning="`); all.Status != http.StatusOK || n != 12 {
				t.Errorf("warnings page: %d, %d warnings listed", all.Status, n)
			}
		})
	}
}
