package api_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"jianfu/apptest"
	"jianfu/models"
	"jianfu/testenv"
)

// Staff credentials and audit (DESIGN §10.2), through the HTTP API.

// staffRoutes lists every /api/v1 route that needs a login (it answers an
// anonymous client 401), with its parameters filled in.
func staffRoutes(t *testing.T, w *wfCounty) [][2]string {
	t.Helper()
	eng, ok := w.a.Server.Config.Handler.(*gin.Engine)
	if !ok {
		t.Fatalf("the API handler is a %T, want *gin.Engine", w.a.Server.Config.Handler)
	}
	fill := strings.NewReplacer(":id", "1", ":code", "D2", ":username", "leader1", ":year", "2026")
	var out [][2]string
	for _, r := range eng.Routes() {
		if !strings.HasPrefix(r.Path, "/api/v1/") {
			continue
		}
		path := fill.Replace(r.Path)
		if w.c["anonymous"].JSON(t, r.Method, path, nil).Status == http.StatusUnauthorized {
			out = append(out, [2]string{r.Method, path})
		}
	}
	if len(out) < 40 {
		t.Fatalf("only %d staff routes found", len(out))
	}
	return out
}

// TestStaffRouteGates: a user who must change their password may call
// nothing but /auth/me and /auth/password; an auditor nothing but the
// audit log and their own account; the administrator not the audit log.
// Every staff route of the router is tried.
func TestStaffRouteGates(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			w := newCounty(t, b, wfDeadlines)
			ctx := w.ctx
			if err := w.a.Store.ResetPassword(ctx, "office1", "One-time-pass-1"); err != nil {
				t.Fatal(err)
			}
			if res := w.c["office"].JSON(t, "GET", "/api/v1/cases", nil); res.Status != http.StatusUnauthorized {
				t.Fatalf("session after an admin reset: %d, want 401", res.Status)
			}
			mustChange := w.a.Login(t, "office1", "One-time-pass-1")
			for _, r := range staffRoutes(t, w) {
				method, path := r[0], r[1]
				res := mustChange.JSON(t, method, path, nil)
				switch path {
				case "/api/v1/auth/me", "/api/v1/auth/password":
					if res.Status == http.StatusForbidden {
						t.Errorf("%s %s with must_change_password: %d %s", method, path, res.Status, res.Raw)
					}
				default:
					if res.Status != http.StatusForbidden || !strings.Contains(string(res.Raw), "password_change_required") {
						t.Errorf("%s %s with must_change_password: %d %s, want 403 password_change_required", method, path, res.Status, res.Raw)
					}
				}
				res = w.c["auditor"].JSON(t, method, path, nil)
				allowed := strings.HasPrefix(path, "/api/v1/auth/") || strings.HasPrefix(path, "/api/v1/audit")
				if allowed == (res.Status == http.StatusForbidden) {
					t.Errorf("%s %s as auditor: %d %s (allowed=%v)", method, path, res.Status, res.Raw, allowed)
				}
			}
			res := mustChange.JSON(t, "POST", "/api/v1/auth/password", map[string]string{"old_password": "One-time-pass-1", "new_password": "short"})
			if res.Status != http.StatusBadRequest || !strings.Contains(string(res.Raw), "weak_password") {
				t.Fatalf("weak new password: %d %s, want 400 weak_password", res.Status, res.Raw)
			}
			res = mustChange.JSON(t, "POST", "/api/v1/auth/password", map[string]string{"old_password": "One-time-pass-1", "new_password": "Office-new-pass-2"})
			if res.Status != http.StatusNoContent {
				t.Fatalf("change password: %d %s", res.Status, res.Raw)
			}
			if res := mustChange.JSON(t, "GET", "/api/v1/cases", nil); res.Status != http.StatusOK {
				t.Fatalf("after the change: %d %s", res.Status, res.Raw)
			}
			// The audit log: the auditor's alone.
			w.c["office"] = mustChange // the reset ended the old session
			for _, who := range []string{"admin", "office", "leader", "liaison-d1"} {
				for _, path := range []string{"/api/v1/audit", "/api/v1/audit/export.csv"} {
					if res := w.c[who].JSON(t, "GET", path, nil); res.Status != http.StatusForbidden {
						t.Errorf("GET %s as %s: %d, want 403", path, who, res.Status)
					}
				}
			}
			if res := w.c["auditor"].JSON(t, "GET", "/api/v1/audit", nil); res.Status != http.StatusOK {
				t.Errorf("GET /api/v1/audit as auditor: %d %s", res.Status, res.Raw)
			}
		})
	}
}

// TestCredentialLifecycle: tokens expire and can be revoked; a password
// change keeps only the session that made it; an admin reset and
// disabling end every session and token.
func TestCredentialLifecycle(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			w := newCounty(t, b, wfDeadlines)
			a, admin := w.a, w.c["admin"]
			a.CreateUser(t, models.UserParams{Username: "clerk", Password: "Desk-pass-01", Role: models.RoleOffice})
			get := func(c *apptest.Client) int { return c.JSON(t, "GET", "/api/v1/cases", nil).Status }
			bearer := func(tok string) *apptest.Client {
				c := a.Client()
				c.Header.Set("Authorization", "Bearer "+tok)
				return c
			}
			// A token made by its user, listed by the admin, revoked.
			s1 := a.Login(t, "clerk", "Desk-pass-01")
			res := s1.JSON(t, "POST", "/api/v1/auth/tokens", map[string]any{"name": "接口对接", "ttl_days": 30})
			if res.Status != http.StatusCreated {
				t.Fatalf("create token: %d %s", res.Status, res.Raw)
			}
			tok, tokID := res.Body["token"].(string), uint64(res.Body["id"].(float64))
			if res := s1.JSON(t, "POST", "/api/v1/auth/tokens", map[string]any{"ttl_days": 91}); res.Status != http.StatusBadRequest {
				t.Fatalf("token over JIANFU_TOKEN_TTL: %d %s, want 400", res.Status, res.Raw)
			}
			if get(bearer(tok)) != http.StatusOK {
				t.Fatal("new token refused")
			}
			res = admin.JSON(t, "GET", "/api/v1/admin/tokens?username=clerk", nil)
			items, _ := res.Body["items"].([]any)
			if res.Status != http.StatusOK || len(items) != 1 || items[0].(map[string]any)["last_used_at"] == nil ||
				strings.Contains(string(res.Raw), tok) {
				t.Fatalf("token list: %d %s", res.Status, res.Raw)
			}
			if res := admin.JSON(t, "DELETE", fmt.Sprintf("/api/v1/admin/tokens/%d", tokID), nil); res.Status != http.StatusNoContent {
				t.Fatalf("revoke: %d %s", res.Status, res.Raw)
			}
			if st := get(bearer(tok)); st != http.StatusUnauthorized {
				t.Fatalf("revoked token: %d, want 401", st)
			}
			// Expiry, by the store's clock.
			short, _, err := a.Store.CreateToken(w.ctx, models.TokenParams{Username: "clerk", Name: "short", TTL: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			a.Store.SetClock(func() time.Time { return time.Now().Add(61 * time.Minute) })
			st := get(bearer(short))
			a.Store.SetClock(time.Now)
			if st != http.StatusUnauthorized {
				t.Fatalf("expired token: %d, want 401", st)
			}

			// A password change keeps only the session that made it.
			s2 := a.Login(t, "clerk", "Desk-pass-01")
			t2, _ := a.Store.CreateAPIToken(w.ctx, "clerk", "t2")
			if res := s1.JSON(t, "POST", "/api/v1/auth/password", map[string]string{"old_password": "Desk-pass-01", "new_password": "Desk-pass-02"}); res.Status != http.StatusNoContent {
				t.Fatalf("change password: %d %s", res.Status, res.Raw)
			}
			if get(s1) != http.StatusOK || get(s2) != http.StatusUnauthorized || get(bearer(t2)) != http.StatusUnauthorized {
				t.Fatalf("after a password change: this session %d, other session %d, token %d; want 200, 401, 401",
					get(s1), get(s2), get(bearer(t2)))
			}
			// An admin reset ends them all.
			t3, _ := a.Store.CreateAPIToken(w.ctx, "clerk", "t3")
			res = admin.JSON(t, "POST", "/api/v1/admin/users/clerk/password-reset", map[string]string{"password": "Reset-pass-03"})
			if res.Status != http.StatusNoContent {
				t.Fatalf("reset: %d %s", res.Status, res.Raw)
			}
			if get(s1) != http.StatusUnauthorized || get(bearer(t3)) != http.StatusUnauthorized {
				t.Fatal("a session or token survived the admin reset")
			}
			// Disabling too, and the account no longer logs in.
			s4 := a.Login(t, "clerk", "Reset-pass-03")
			t4, _ := a.Store.CreateAPIToken(w.ctx, "clerk", "t4")
			res = admin.JSON(t, "PUT", "/api/v1/admin/users/clerk", map[string]any{"disabled": true})
			if res.Status != http.StatusOK || res.Body["disabled"] != true {
				t.Fatalf("disable: %d %s", res.Status, res.Raw)
			}
			if s4.JSON(t, "GET", "/api/v1/auth/me", nil).Status != http.StatusUnauthorized || get(bearer(t4)) != http.StatusUnauthorized {
				t.Fatal("a session or token survived disabling")
			}
			login := a.Client().JSON(t, "POST", "/api/v1/auth/login", map[string]string{"username": "clerk", "password": "Reset-pass-03"})
			if login.Status != http.StatusUnauthorized || !strings.Contains(string(login.Raw), "bad_credentials") {
				t.Fatalf("disabled login: %d %s", login.Status, login.Raw)
			}
			admin.JSON(t, "PUT", "/api/v1/admin/users/clerk", map[string]any{"disabled": false})
			if get(a.Login(t, "clerk", "Reset-pass-03")) != http.StatusForbidden { // must change the reset password
				t.Fatal("re-enabled user with a reset password was not held to changing it")
			}
			if res := admin.JSON(t, "PUT", "/api/v1/admin/users/clerk", map[string]any{"role": "root"}); res.Status != http.StatusBadRequest {
				t.Fatalf("bad role: %d %s", res.Status, res.Raw)
			}
			if res := admin.JSON(t, "PUT", "/api/v1/admin/users/nobody", map[string]any{"disabled": true}); res.Status != http.StatusNotFound {
				t.Fatalf("unknown user: %d %s", res.Status, res.Raw)
			}
			// 三员分立: the administrator can neither make an auditor nor
			// take over one (reset, 2FA reset, change, disable).
			for _, r := range []struct {
				method, path string
				body         any
			}{
				{"POST", "/api/v1/admin/users", map[string]string{"username": "spy", "password": "Spy-pass-0001", "role": "auditor"}},
				{"PUT", "/api/v1/admin/users/clerk", map[string]any{"role": "auditor"}},
				{"PUT", "/api/v1/admin/users/auditor1", map[string]any{"disabled": true}},
				{"POST", "/api/v1/admin/users/auditor1/password-reset", map[string]string{"password": "Taken-over-01"}},
				{"POST", "/api/v1/admin/users/auditor1/2fa-reset", nil},
			} {
				if res := admin.JSON(t, r.method, r.path, r.body); res.Status != http.StatusForbidden {
					t.Errorf("%s %s as admin: %d %s, want 403", r.method, r.path, res.Status, res.Raw)
				}
			}
			if w.c["auditor"].JSON(t, "GET", "/api/v1/audit", nil).Status != http.StatusOK {
				t.Error("the auditor's session did not survive the refused changes")
			}
		})
	}
}

// rawLogin posts a login as client (its X-Forwarded-For address) from
// any goroutine; it answers the status and the body.
func rawLogin(url, client, username, password string) (int, string, error) {
	body := fmt.Sprintf(`{"username":%q,"password":%q}`, username, password)
	req, err := http.NewRequest(http.MethodPost, url+"/api/v1/auth/login", strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", client)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, string(b), err
}

// TestLoginThrottleConcurrent (acceptance 2): 50 wrong logins at once for
// one account from one client: the client is refused with 429 after its
// allowance, the owner still logs in from another client, and a username
// that does not exist gets exactly the same answers.
func TestLoginThrottleConcurrent(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			a := apptest.Start(t, apptest.Options{Backend: b, NoWorker: true,
				Env: map[string]string{"JIANFU_TRUSTED_PROXIES": "127.0.0.1/32,::1/128"}})
			a.CreateUser(t, models.UserParams{Username: "office1", Password: "Right-pass-1", Role: models.RoleOffice})
			burst := func(client, username string) map[string]int {
				var mu sync.Mutex
				var wg sync.WaitGroup
				answers := map[string]int{}
				for range 50 {
					wg.Go(func() {
						st, body, err := rawLogin(a.URL, client, username, "wrong-Pass-9")
						if err != nil {
							body = err.Error()
						}
						mu.Lock()
						answers[strconv.Itoa(st)+" "+body]++
						mu.Unlock()
					})
				}
				wg.Wait()
				return answers
			}
			real := burst("203.0.113.9", "office1")
			n401, n429 := 0, 0
			for k, n := range real {
				switch {
				case strings.HasPrefix(k, "401 ") && strings.Contains(k, "bad_credentials"):
					n401 += n
				case strings.HasPrefix(k, "429 "):
					n429 += n
				default:
					t.Errorf("unexpected answer ×%d: %s", n, k)
				}
			}
			if n429 < 25 || n401+n429 != 50 {
				t.Fatalf("50 wrong logins from one client: %d×401, %d×429; want the client refused", n401, n429)
			}
			st, body, err := rawLogin(a.URL, "198.51.100.7", "office1", "Right-pass-1")
			if err != nil || st != http.StatusOK {
				t.Fatalf("the owner from another client: %d %s %v", st, body, err)
			}
			if st, _, _ := rawLogin(a.URL, "203.0.113.9", "office1", "Right-pass-1"); st != http.StatusTooManyRequests {
				t.Fatalf("the refused client, right password: %d, want 429", st)
			}
			ghost := burst("203.0.113.10", "no-such-user")
			if fmt.Sprint(ghost) != fmt.Sprint(real) {
				t.Fatalf("a real and a fake username are told apart:\n real %v\nghost %v", real, ghost)
			}
		})
	}
}

// TestLoginRefusals: a login is JSON only and same-origin only, and the
// body says nothing of why beyond "bad credentials".
func TestLoginRefusals(t *testing.T) {
	b := testenv.Backends(t)[0]
	a := apptest.Start(t, apptest.Options{Backend: b, NoWorker: true, Env: map[string]string{"JIANFU_BASE_URL": "https://jianfu.example.gov.cn"}})
	a.CreateUser(t, models.UserParams{Username: "office1", Password: "Right-pass-1", Role: models.RoleOffice})
	c := a.Client()
	form := `{"username":"office1","password":"Right-pass-1"}`
	req, _ := http.NewRequest(http.MethodPost, a.URL+"/api/v1/auth/login", strings.NewReader(form))
	req.Header.Set("Content-Type", "text/plain")
	if res := c.Do(t, req); res.Status != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain login: %d %s, want 415", res.Status, res.Raw)
	}
	res := c.JSON(t, "POST", "/api/v1/auth/login", form, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example")
	if res.Status != http.StatusForbidden {
		t.Errorf("cross-site login: %d %s, want 403", res.Status, res.Raw)
	}
	res = c.JSON(t, "POST", "/api/v1/auth/login", `{"username":"office1","password":"`+strings.Repeat("密", 30)+`Aa1"}`)
	if res.Status != http.StatusUnauthorized {
		t.Errorf("long wrong password: %d %s, want 401", res.Status, res.Raw)
	}
	res = c.JSON(t, "POST", "/api/v1/auth/login", form)
	if res.Status != http.StatusOK {
		t.Fatalf("login: %d %s", res.Status, res.Raw)
	}
	if h := res.Header.Get("Strict-Transport-Security"); !strings.Contains(h, "max-age=") {
		t.Errorf("no HSTS behind an https base URL: %q", h)
	}
	c.Header.Set("X-CSRF-Token", res.Body["csrf_token"].(string))
	for _, path := range []string{"/api/v1/cases/9223372036854775808", "/api/v1/cases/18446744073709551616", "/api/v1/cases/-1",
		"/api/v1/attachments/9223372036854775808"} {
		if res := c.JSON(t, "GET", path, nil); res.Status != http.StatusNotFound {
			t.Errorf("GET %s: %d %s, want 404", path, res.Status, res.Raw)
		}
	}
	if res := c.JSON(t, "POST", "/api/v1/cases/9223372036854775808/accept", nil); res.Status != http.StatusNotFound {
		t.Errorf("POST accept on id 2^63: %d, want 404", res.Status)
	}
	// /metrics: loopback only; a forwarded address is no loopback.
	if res := a.Client().JSON(t, "GET", "/metrics", nil); res.Status != http.StatusOK {
		t.Errorf("/metrics from loopback: %d", res.Status)
	}
}

// TestMetricsNotPublic: with JIANFU_METRICS_ADDR set the main listener
// does not serve /metrics at all.
func TestMetricsNotPublic(t *testing.T) {
	a := apptest.Start(t, apptest.Options{Backend: testenv.Backends(t)[0], NoWorker: true,
		Env: map[string]string{"JIANFU_METRICS_ADDR": "127.0.0.1:0"}})
	if res := a.Client().JSON(t, "GET", "/metrics", nil); res.Status != http.StatusNotFound {
		t.Errorf("/metrics on the main listener with JIANFU_METRICS_ADDR: %d, want 404", res.Status)
	}
}

// TestLiaisonUnitFilterNoOracle: a liaison filtering by another unit's
// code sees nothing, whether or not that unit shares a case with theirs.
func TestLiaisonUnitFilterNoOracle(t *testing.T) {
	w := newCounty(t, testenv.Backends(t)[0], wfDeadlines)
	w.bring(pVerify) // T1 and D1 share this case
	count := func(q string) int {
		res := w.c["liaison-d1"].JSON(t, "GET", "/api/v1/cases"+q, nil)
		items, _ := res.Body["items"].([]any)
		return len(items)
	}
	if count("") != 1 {
		t.Fatalf("the liaison's own list: %d cases, want 1", count(""))
	}
	if shared, other, unknown := count("?unit=T1"), count("?unit=D2"), count("?unit=X9"); shared != 0 || other != 0 || unknown != 0 {
		t.Fatalf("unit filter as a liaison: sharing unit %d, other unit %d, unknown %d; want 0, 0, 0", shared, other, unknown)
	}
}

// csvRows reads the auditor's export.
func csvRows(t *testing.T, raw []byte) [][]string {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(raw), "\ufeff"))).ReadAll()
	if err != nil {
		t.Fatalf("audit CSV: %v", err)
	}
	return rows
}

// TestAuditTrail (acceptance 4): each audited action of §10.2 adds exactly
// one row, the auditor's CSV lists it, and no row holds a password, token,
// receipt or tipster contact.
func TestAuditTrail(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			w := newCounty(t, b, wfDeadlines)
			a, admin, office, auditor := w.a, w.c["admin"], w.c["office"], w.c["auditor"]
			total := func() int {
				var n int64
				if err := w.a.Store.DB(context.Background()).Raw("SELECT COUNT(*) FROM audit_log").Scan(&n).Error; err != nil {
					t.Fatal(err)
				}
				return int(n)
			}
			secrets := []string{wfPassword}
			step := func(action, target string, do func()) {
				t.Helper()
				before := total()
				do()
				res := auditor.JSON(t, "GET", "/api/v1/audit?action="+action+"&limit=500", nil)
				items, _ := res.Body["items"].([]any)
				n := 0
				for _, it := range items {
					if strings.HasPrefix(it.(map[string]any)["target"].(string), target) {
						n++
					}
				}
				if after := total(); after != before+1 || n == 0 {
					t.Errorf("%s %s: %d new rows (%d with the target), want exactly 1", action, target, after-before, n)
				}
			}
			step("login", "user:leader1", func() {
				w.c["anonymous"].JSON(t, "POST", "/api/v1/auth/login", map[string]string{"username": "leader1", "password": "Wrong-pass-77"})
			})
			secrets = append(secrets, "Wrong-pass-77")
			var clerk *apptest.Client
			step("user_create", "user:clerk", func() {
				admin.JSON(t, "POST", "/api/v1/admin/users", map[string]string{"username": "clerk", "password": "Desk-pass-01", "role": "office"})
			})
			step("login", "user:clerk", func() { clerk = a.Login(t, "clerk", "Desk-pass-01") })
			step("password_change", "user:clerk", func() {
				clerk.JSON(t, "POST", "/api/v1/auth/password", map[string]string{"old_password": "Desk-pass-01", "new_password": "Desk-pass-02"})
			})
			var tok string
			var tokID float64
			step("token_create", "token:", func() {
				res := clerk.JSON(t, "POST", "/api/v1/auth/tokens", map[string]any{"name": "对接"})
				tok, tokID = res.Body["token"].(string), res.Body["id"].(float64)
			})
			step("token_revoke", "token:", func() { admin.JSON(t, "DELETE", fmt.Sprintf("/api/v1/admin/tokens/%d", int(tokID)), nil) })
			step("logout", "user:clerk", func() { clerk.JSON(t, "POST", "/api/v1/auth/logout", nil) })
			step("password_reset", "user:clerk", func() {
				admin.JSON(t, "POST", "/api/v1/admin/users/clerk/password-reset", map[string]string{"password": "Reset-pass-03"})
			})
			step("user_update", "user:clerk", func() { admin.JSON(t, "PUT", "/api/v1/admin/users/clerk", map[string]any{"disabled": true}) })
			step("otp_enrol", "user:leader1", func() {
				res := w.c["leader"].JSON(t, "POST", "/api/v1/auth/2fa/setup", nil)
				code, err := a.Store.OTPCode(res.Body["secret"].(string))
				if err != nil {
					t.Fatal(err)
				}
				secrets = append(secrets, res.Body["secret"].(string))
				res = w.c["leader"].JSON(t, "POST", "/api/v1/auth/2fa/confirm", map[string]string{"otp": code})
				for _, c := range res.Body["recovery_codes"].([]any) {
					secrets = append(secrets, c.(string))
				}
			})
			step("otp_reset", "user:leader1", func() { admin.JSON(t, "POST", "/api/v1/admin/users/leader1/2fa-reset", nil) })
			step("unit_change", "unit:T9", func() {
				admin.JSON(t, "POST", "/api/v1/admin/units", map[string]string{"code": "T9", "name": "新镇", "kind": "township"})
			})
			step("category_change", "category:c9", func() {
				admin.JSON(t, "POST", "/api/v1/admin/categories", map[string]string{"code": "c9", "name": "新类别"})
			})
			step("rule_change", "rule:", func() {
				admin.JSON(t, "POST", "/api/v1/admin/routing-rules", map[string]any{"keyword": "台账", "unit": "D1", "role": "county"})
			})
			step("holiday_change", "holidays:2027", func() {
				admin.JSON(t, "PUT", "/api/v1/admin/holidays/2027", map[string]any{"days": []map[string]string{{"day": "2027-01-01", "kind": "off", "name": "元旦"}}})
			})
			id, receipt := w.submit("打卡太多")
			secrets = append(secrets, receipt, "13800000000", "张三", tok)
			step("contact_reveal", "case:"+strconv.FormatUint(id, 10), func() {
				office.JSON(t, "POST", fmt.Sprintf("/api/v1/cases/%d/contact-reveal", id), map[string]string{"reason": "核实"})
			})
			step("export", "stats.xlsx", func() { office.JSON(t, "GET", "/api/v1/stats/export.xlsx?year=2026", nil) })
			_, aid := w.bring(pRectify)
			w.report("liaison-d1", aid, "已整改。")
			attID := firstAttachment(t, w, aid)
			step("attachment_download", "attachment:", func() { office.JSON(t, "GET", fmt.Sprintf("/api/v1/attachments/%d", attID), nil) })
			// A refused change leaves no row.
			before := total()
			admin.JSON(t, "POST", "/api/v1/admin/units", map[string]string{"code": "", "name": "", "kind": "x"})
			if total() != before {
				t.Error("a refused change left an audit row")
			}
			// The auditor's CSV lists every action done above, and itself.
			res := auditor.JSON(t, "GET", "/api/v1/audit/export.csv", nil)
			if res.Status != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
				t.Fatalf("CSV export: %d %s", res.Status, res.Header.Get("Content-Type"))
			}
			rows := csvRows(t, res.Raw)
			seen := map[string]bool{}
			for _, r := range rows[1:] {
				seen[r[5]] = true
			}
			for _, action := range []string{"login", "logout", "password_change", "password_reset", "otp_enrol", "otp_reset",
				"user_create", "user_update", "token_create", "token_revoke", "unit_change", "category_change", "rule_change",
				"holiday_change", "contact_reveal", "export", "attachment_download", "audit_export"} {
				if !seen[action] {
					t.Errorf("the CSV has no %s row", action)
				}
			}
			for _, s := range secrets {
				if s != "" && strings.Contains(string(res.Raw), s) {
					t.Errorf("the audit log holds a secret: %q", s)
				}
			}
			if len(rows) != total()+1 {
				t.Errorf("CSV has %d rows, the log %d", len(rows)-1, total())
			}
		})
	}
}

// firstAttachment finds the id of an evidence file of the assignment's
// case, as the office's case detail lists it.
func firstAttachment(t *testing.T, w *wfCounty, aid uint64) uint64 {
	t.Helper()
	var caseID uint64
	if err := w.a.Store.DB(context.Background()).Raw("SELECT case_id FROM assignments WHERE id = ?", aid).Scan(&caseID).Error; err != nil {
		t.Fatal(err)
	}
	res := w.c["office"].JSON(t, "GET", fmt.Sprintf("/api/v1/cases/%d", caseID), nil)
	as, _ := res.Body["assignments"].([]any)
	for _, a := range as {
		if ev, _ := a.(map[string]any)["evidence"].([]any); len(ev) > 0 {
			return uint64(ev[0].(map[string]any)["id"].(float64))
		}
	}
	t.Fatalf("case %d lists no evidence: %s", caseID, res.Raw)
	return 0
}

// TestConsoleAuditPage: the auditor's console is the audit log (filters,
// the CSV link); the auditor opens no case page, and the administrator
// cannot open the audit page.
func TestConsoleAuditPage(t *testing.T) {
	app := startConsoleApp(t, testenv.Backends(t)[0], apptest.Options{NoWorker: true})
	app.CreateUser(t, models.UserParams{Username: "auditor1", Password: consolePassword, Role: models.RoleAuditor})
	aud := newConsoleClient(app)
	aud.login(t, "auditor1")
	res := aud.get(t, "/console")
	if res.Status != http.StatusSeeOther || res.Header.Get("Location") != "/console/audit" {
		t.Fatalf("auditor's home: %d → %q, want /console/audit", res.Status, res.Header.Get("Location"))
	}
	res = aud.get(t, "/console/audit?action=login")
	if res.Status != http.StatusOK || !strings.Contains(string(res.Raw), "auditor1") || !strings.Contains(string(res.Raw), `id="audit-export"`) {
		t.Fatalf("audit page: %d\n%.600s", res.Status, res.Raw)
	}
	for _, path := range []string{"/console/cases", "/console/dashboard", "/console/admin/users"} {
		if res := aud.get(t, path); res.Status != http.StatusForbidden {
			t.Errorf("auditor GET %s: %d, want 403", path, res.Status)
		}
	}
	if res := aud.get(t, "/console/audit?from=yesterday"); res.Status != http.StatusBadRequest {
		t.Errorf("bad date filter: %d, want 400", res.Status)
	}
	adm := newConsoleClient(app)
	adm.login(t, "admin1")
	if res := adm.get(t, "/console/audit"); res.Status != http.StatusForbidden {
		t.Errorf("admin GET /console/audit: %d, want 403", res.Status)
	}
	if res := adm.get(t, "/console/cases/9223372036854775808"); res.Status != http.StatusNotFound {
		t.Errorf("console case 2^63: %d, want 404", res.Status)
	}
}
