package api_test

import (
	"bytes"
	"fmt"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"jianfu/apptest"
	"jianfu/models"
	"jianfu/testenv"
)

// Console tests over plain HTTP (the browser tests are in
// console_browser_test.go): sessions and redirects, pages for errors,
// CSRF on every form, permissions on downloads, and the security headers.

const consolePassword = "console-pass-1"

// consoleUsers are the accounts of a console test, one per role, plus a
// liaison of each of three units.
var consoleUsers = []models.UserParams{
	{Username: "office1", Role: models.RoleOffice},
	{Username: "leader1", Role: models.RoleLeader},
	{Username: "admin1", Role: models.RoleAdmin},
	{Username: "liaison_t02", Role: models.RoleLiaison, UnitCode: "T02"},
	{Username: "liaison_d05", Role: models.RoleLiaison, UnitCode: "D05"},
	{Username: "liaison_t03", Role: models.RoleLiaison, UnitCode: "T03"},
}

// startConsoleApp starts an app with the demo county and consoleUsers.
func startConsoleApp(t *testing.T, b testenv.Backend, o apptest.Options) *apptest.App {
	t.Helper()
	o.Backend = b
	app := apptest.Start(t, o)
	if _, err := app.Store.LoadDemo(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, u := range consoleUsers {
		u.Password = consolePassword
		app.CreateUser(t, u)
	}
	return app
}

// principalOf loads a console user as the store sees them.
func principalOf(t *testing.T, app *apptest.App, username string) models.Principal {
	t.Helper()
	_, tok, err := app.Store.Login(t.Context(), username, consolePassword)
	if err != nil {
		t.Fatalf("login %s: %v", username, err)
	}
	p, _, err := app.Store.SessionPrincipal(t.Context(), tok.Token)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// dualCase creates a tip (with a photo) and takes it to rectify with a dual
// assignment to T02 and D05; it returns the case and assignment ids.
func dualCase(t *testing.T, app *apptest.App, content string) (caseID uint64, assignments map[string]uint64) {
	t.Helper()
	ctx := t.Context()
	office := principalOf(t, app, "office1")
	rec, err := app.Store.CreateTip(ctx, models.TipInput{Category: "digital", Content: content, Township: "T02",
		Channel: models.ChannelWeb, Anonymous: false, Contact: models.Contact{Name: "王建国", Phone: "13912345678"},
		Files: []models.FileInput{{Name: "现场照片.png", ContentType: "image/png", Data: tinyPNG, SHA256: "x"}}})
	if err != nil {
		t.Fatal(err)
	}
	id := rec.CaseID
	steps := []error{
		app.Store.AcceptCase(ctx, office, models.AcceptParams{CaseID: id}),
		app.Store.AssignCase(ctx, office, models.AssignParams{CaseID: id, Assignments: []models.AssignmentInput{
			{Unit: "T02", Role: models.AssignGrassroots}, {Unit: "D05", Role: models.AssignCounty}},
			VerifyTeam: []string{"T02", "D05"}}),
		app.Store.RecordVerification(ctx, office, models.VerificationParams{CaseID: id, Finding: models.FindingSubstantiated,
			Report: "经联合核查，反映的问题属实。"}),
	}
	for _, err := range steps {
		if err != nil {
			t.Fatal(err)
		}
	}
	d, err := app.Store.CaseDetail(ctx, office, id)
	if err != nil {
		t.Fatal(err)
	}
	assignments = map[string]uint64{}
	for _, a := range d.Assignments {
		assignments[a.Unit] = a.ID
	}
	return id, assignments
}

// tinyPNG is a 1×1 PNG.
var tinyPNG = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89" +
	"\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82")

// consoleClient is a browser-like client: its own cookies, redirects not
// followed, the page's CSRF token kept.
type consoleClient struct {
	http *http.Client
	app  *apptest.App
	csrf string
}

func newConsoleClient(app *apptest.App) *consoleClient {
	jar, _ := cookiejar.New(nil)
	return &consoleClient{app: app, http: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Do sends req and reads the answer.
func (c *consoleClient) Do(t *testing.T, req *http.Request) apptest.Response {
	t.Helper()
	res, err := c.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return apptest.Response{Status: res.StatusCode, Header: res.Header, Raw: raw}
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func (c *consoleClient) get(t *testing.T, path string) apptest.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.app.URL+path, nil)
	res := c.Do(t, req)
	if m := csrfField.FindSubmatch(res.Raw); m != nil {
		c.csrf = string(m[1])
	}
	return res
}

func (c *consoleClient) post(t *testing.T, path string, form url.Values) apptest.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.app.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.Do(t, req)
}

// login signs in through the console's form.
func (c *consoleClient) login(t *testing.T, username string) {
	t.Helper()
	c.get(t, "/console/login")
	res := c.post(t, "/console/login", url.Values{"csrf_token": {c.csrf}, "username": {username}, "password": {consolePassword}})
	if res.Status != http.StatusSeeOther {
		t.Fatalf("login %s: %d %s", username, res.Status, res.Raw)
	}
	c.get(t, "/console/password") // any page: picks up the session's CSRF token
}

// multipart posts fields (csrf_token first, as the page's form has it) and
// one file.
func (c *consoleClient) multipart(t *testing.T, path string, fields [][2]string, file string, data []byte) apptest.Response {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for _, f := range fields {
		w.WriteField(f[0], f[1])
	}
	if file != "" {
		fw, _ := w.CreateFormFile("files", file)
		fw.Write(data)
	}
	w.Close()
	req, _ := http.NewRequest(http.MethodPost, c.app.URL+path, &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	return c.Do(t, req)
}

func mustStatus(t *testing.T, what string, res apptest.Response, want int) {
	t.Helper()
	if res.Status != want {
		t.Fatalf("%s: status %d, want %d; body: %.600s", what, res.Status, want, res.Raw)
	}
}

func mustContain(t *testing.T, what string, res apptest.Response, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !bytes.Contains(res.Raw, []byte(p)) {
			t.Errorf("%s: the page lacks %q", what, p)
		}
	}
}

func mustNotContain(t *testing.T, what string, res apptest.Response, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if bytes.Contains(res.Raw, []byte(p)) {
			t.Errorf("%s: the page shows %q", what, p)
		}
	}
}

// TestConsoleSessions: the console shares the API's session; without one a
// page sends you to the login form and comes back after it; wrong
// passwords and the lock-out have clear messages; unknown console
// addresses get a page, unknown API addresses keep their JSON.
func TestConsoleSessions(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			app := startConsoleApp(t, b, apptest.Options{NoWorker: true})
			c := newConsoleClient(app)

			res := c.get(t, "/console/cases?stage=verify")
			mustStatus(t, "queue without a session", res, http.StatusSeeOther)
			if loc := res.Header.Get("Location"); loc != "/console/login?next=%2Fconsole%2Fcases%3Fstage%3Dverify" {
				t.Errorf("redirected to %q", loc)
			}
			res = c.get(t, "/console/no-such-page")
			mustStatus(t, "unknown console page", res, http.StatusNotFound)
			mustContain(t, "unknown console page", res, `lang="zh-CN"`, "页面不存在")
			res = c.get(t, "/api/v1/no-such-thing")
			if res.Status != http.StatusNotFound || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
				t.Errorf("unknown API address: %d %s", res.Status, res.Header.Get("Content-Type"))
			}

			// Wrong passwords answer alike, and a few of them lock nobody
			// out (DESIGN §10.2): the owner still gets in.
			c.get(t, "/console/login")
			for range 5 {
				res = c.post(t, "/console/login", url.Values{"csrf_token": {c.csrf}, "username": {"office1"}, "password": {"wrong-password"}})
				mustStatus(t, "wrong password", res, http.StatusUnauthorized)
				mustContain(t, "wrong password", res, "用户名或密码错误", `value="office1"`)
			}
			res = c.post(t, "/console/login", url.Values{"csrf_token": {c.csrf}, "username": {"office1"}, "password": {consolePassword}})
			mustStatus(t, "right password after five wrong ones", res, http.StatusSeeOther)
			c.get(t, "/console/login")

			// A login form without its token is refused.
			res = c.post(t, "/console/login", url.Values{"username": {"leader1"}, "password": {consolePassword}})
			mustStatus(t, "login without token", res, http.StatusForbidden)

			// The login goes back to the page asked for.
			c.get(t, "/console/login?next=%2Fconsole%2Fcases%3Fstage%3Dverify")
			res = c.post(t, "/console/login", url.Values{"csrf_token": {c.csrf}, "username": {"leader1"},
				"password": {consolePassword}, "next": {"/console/cases?stage=verify"}})
			mustStatus(t, "login", res, http.StatusSeeOther)
			if loc := res.Header.Get("Location"); loc != "/console/cases?stage=verify" {
				t.Errorf("after login: %q", loc)
			}
			// Never to another site.
			c2 := newConsoleClient(app)
			c2.get(t, "/console/login")
			res = c2.post(t, "/console/login", url.Values{"csrf_token": {c2.csrf}, "username": {"leader1"},
				"password": {consolePassword}, "next": {"//evil.example/console/"}})
			if loc := res.Header.Get("Location"); loc != "/console/dashboard" {
				t.Errorf("next=//evil.example: redirected to %q", loc)
			}

			res = c.get(t, "/console/cases")
			mustStatus(t, "queue", res, http.StatusOK)
			h := res.Header
			if !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") ||
				!strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self'") ||
				h.Get("Referrer-Policy") != "no-referrer" || h.Get("Cache-Control") != "no-store" ||
				h.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("headers of the queue: %v", h)
			}
			mustNotContain(t, "queue", res, "<script>", " style=", "onclick")

			// The session is the API's.
			req, _ := http.NewRequest(http.MethodGet, app.URL+"/api/v1/auth/me", nil)
			if res := c.Do(t, req); res.Status != http.StatusOK || !bytes.Contains(res.Raw, []byte("leader1")) {
				t.Errorf("API with the console's session: %d %s", res.Status, res.Raw)
			}

			// A form without the session's token is refused with a page.
			res = c.post(t, "/console/password", url.Values{"old_password": {consolePassword}, "new_password": {"x12345678"},
				"confirm_password": {"x12345678"}})
			mustStatus(t, "form without token", res, http.StatusForbidden)
			mustContain(t, "form without token", res, "页面已过期")

			res = c.post(t, "/console/logout", url.Values{"csrf_token": {c.csrf}})
			mustStatus(t, "logout", res, http.StatusSeeOther)
			res = c.get(t, "/console/cases")
			mustStatus(t, "queue after logout", res, http.StatusSeeOther)
		})
	}
}

// TestConsoleLiaisonSees: a liaison sees their own unit's assignment of a
// dual-assigned case and nothing else: not the other unit, not the
// tipster's contact or files, not even whether the tip was anonymous;
// another unit's case is a not-found page. Downloads follow the same rule.
func TestConsoleLiaisonSees(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			app := startConsoleApp(t, b, apptest.Options{NoWorker: true})
			ctx := t.Context()
			id, as := dualCase(t, app, "乡镇干部每天要在5个政务App上打卡，还要截图发到工作群。")
			office := principalOf(t, app, "office1")
			other, err := app.Store.CreateTip(ctx, models.TipInput{Category: "meetings_documents", Channel: models.ChannelWeb,
				Content: "青石镇一周内开了六个内容相近的会议，另一个单位的秘密内容。", Township: "T03", Anonymous: true})
			if err != nil {
				t.Fatal(err)
			}
			for _, err := range []error{
				app.Store.AcceptCase(ctx, office, models.AcceptParams{CaseID: other.CaseID}),
				app.Store.AssignCase(ctx, office, models.AssignParams{CaseID: other.CaseID,
					Assignments: []models.AssignmentInput{{Unit: "T03", Role: models.AssignGrassroots}}}),
			} {
				if err != nil {
					t.Fatal(err)
				}
			}
			det, _ := app.Store.CaseDetail(ctx, office, id)
			tipFile := det.Attachments[0].ID

			t02 := newConsoleClient(app)
			t02.login(t, "liaison_t02")
			res := t02.get(t, "/console/cases/"+itoa(other.CaseID))
			mustStatus(t, "another unit's case", res, http.StatusNotFound)
			mustContain(t, "another unit's case", res, "页面不存在")
			mustNotContain(t, "another unit's case", res, "秘密内容")

			res = t02.get(t, "/console/cases/"+itoa(id))
			mustStatus(t, "own case", res, http.StatusOK)
			mustContain(t, "own case", res, "东关街道", "截图发到工作群", `id="rectify-`+itoa(as["T02"]))
			mustNotContain(t, "own case", res, "县委政法委", "王建国", "13912345678", "现场照片", "匿名", "实名",
				"contact-reveal", `id="a`+itoa(as["D05"]))
			res = t02.get(t, "/console/cases")
			mustContain(t, "queue", res, "/console/cases/"+itoa(id))
			mustNotContain(t, "queue", res, "/console/cases/"+itoa(other.CaseID), "县委政法委")

			res = t02.get(t, "/console/attachments/"+itoa(tipFile))
			mustStatus(t, "the tipster's file, as liaison", res, http.StatusNotFound)

			// The report with evidence, as the page's form sends it.
			res = t02.multipart(t, "/console/assignments/"+itoa(as["T02"])+"/rectification",
				[][2]string{{"csrf_token", t02.csrf}, {"case_id", itoa(id)}, {"report", "已取消重复打卡，只保留一个App。"}},
				"整改通知.png", tinyPNG)
			mustStatus(t, "report", res, http.StatusSeeOther)
			det, _ = app.Store.CaseDetail(ctx, office, id)
			var evidence uint64
			for _, a := range det.Assignments {
				if a.Unit == "T02" {
					if a.Status != models.AssignmentSubmitted || len(a.Evidence) != 1 {
						t.Fatalf("T02 after the report: %+v", a)
					}
					evidence = a.Evidence[0].ID
				}
			}
			// Without the token, or a token not first, the form is refused.
			res = t02.multipart(t, "/console/assignments/"+itoa(as["T02"])+"/rectification",
				[][2]string{{"case_id", itoa(id)}, {"report", "再次提交"}, {"csrf_token", t02.csrf}}, "", nil)
			mustStatus(t, "report with the token last", res, http.StatusForbidden)

			res = t02.get(t, "/console/attachments/"+itoa(evidence))
			mustStatus(t, "own evidence", res, http.StatusOK)
			if ct := res.Header.Get("Content-Type"); ct != "image/png" || res.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("evidence download headers: %v", res.Header)
			}
			d05 := newConsoleClient(app)
			d05.login(t, "liaison_d05")
			mustStatus(t, "another unit's evidence", d05.get(t, "/console/attachments/"+itoa(evidence)), http.StatusNotFound)
			res = d05.get(t, "/console/cases/"+itoa(id))
			// The tip's township is where the problem is, which D05 needs to
			// know; T02's assignment and report are not D05's business.
			mustNotContain(t, "D05's page", res, "已取消重复打卡", `id="a`+itoa(as["T02"]), "整改通知.png")

			off := newConsoleClient(app)
			off.login(t, "office1")
			res = off.get(t, "/console/attachments/"+itoa(tipFile))
			mustStatus(t, "the tipster's file, as office", res, http.StatusOK)
			if cd := res.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "inline") || !strings.Contains(cd, "filename*=utf-8''") {
				t.Errorf("Content-Disposition %q", cd)
			}
			res = off.get(t, "/console/cases/"+itoa(id))
			mustContain(t, "office's page", res, "东关街道", "县委政法委", "已取消重复打卡", "实名反映", "查看联系方式", "现场照片.png")
			mustNotContain(t, "office's page", res, "13912345678")

			// The contact only after a reason, once, logged.
			res = off.post(t, "/console/cases/"+itoa(id)+"/contact-reveal", url.Values{"csrf_token": {off.csrf}, "reason": {""}})
			mustStatus(t, "reveal without reason", res, http.StatusBadRequest)
			mustContain(t, "reveal without reason", res, "请说明查看举报人联系方式的事由")
			res = off.post(t, "/console/cases/"+itoa(id)+"/contact-reveal", url.Values{"csrf_token": {off.csrf}, "reason": {"核实打卡App名称"}})
			mustStatus(t, "reveal", res, http.StatusOK)
			mustContain(t, "reveal", res, "13912345678", "王建国", "核实打卡App名称")
			if res.Header.Get("Cache-Control") != "no-store" {
				t.Error("the contact page may be cached")
			}

			// The API's download is the same handler.
			tok := app.BearerClient(t, "liaison_t02")
			if r := tok.JSON(t, http.MethodGet, "/api/v1/attachments/"+itoa(tipFile), nil); r.Status != http.StatusNotFound || r.Body["error"] == nil {
				t.Errorf("API download of the tipster's file by a liaison: %d %s", r.Status, r.Raw)
			}
			// Nor does the JSON case page name the tipster's files or the
			// other units of the verification team.
			r := tok.JSON(t, http.MethodGet, "/api/v1/cases/"+itoa(id), nil)
			if r.Status != http.StatusOK || strings.Contains(string(r.Raw), "现场照片") ||
				len(r.Body["attachments"].([]any)) != 0 || len(r.Body["verify_team"].([]any)) != 0 {
				t.Errorf("liaison's JSON case detail shows tip files or the team: %d %s", r.Status, r.Raw)
			}
		})
	}
}

// TestConsoleForms: refused forms come back with the input and a zh-CN
// reason and the right status; a role without the action gets a page.
func TestConsoleForms(t *testing.T) {
	app := startConsoleApp(t, testenv.Backends(t)[0], apptest.Options{NoWorker: true})
	rec, err := app.Store.CreateTip(t.Context(), models.TipInput{Category: "inspections", Channel: models.ChannelWeb,
		Content: "一个月内迎接了七次名为调研、实为检查的活动。", Anonymous: true})
	if err != nil {
		t.Fatal(err)
	}
	id := itoa(rec.CaseID)
	off := newConsoleClient(app)
	off.login(t, "office1")
	res := off.post(t, "/console/cases/"+id+"/merge", url.Values{"csrf_token": {off.csrf}, "into": {"abc"}})
	mustStatus(t, "merge into abc", res, http.StatusBadRequest)
	mustContain(t, "merge into abc", res, "请填写要并入的线索编号", `value="abc"`, `<details class="more" open>`)
	res = off.post(t, "/console/cases/"+id+"/assign", url.Values{"csrf_token": {off.csrf}})
	mustStatus(t, "assign in collect", res, http.StatusConflict)
	mustContain(t, "assign in collect", res, "案件状态已经变化")
	res = off.post(t, "/console/cases/"+id+"/accept", url.Values{"csrf_token": {off.csrf}, "note": {"受理"}})
	mustStatus(t, "accept", res, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); loc != "/console/cases/"+id+"?done=accept" {
		t.Errorf("after accept: %q", loc)
	}
	res = off.get(t, "/console/cases/"+id+"?done=accept")
	mustContain(t, "after accept", res, "已受理", `id="assign-form"`)
	// A dual assignment needs a township.
	res = off.post(t, "/console/cases/"+id+"/assign", url.Values{"csrf_token": {off.csrf}, "county": {"D01", "D02"}, "note": {"请尽快核查"}})
	mustStatus(t, "two departments, no township", res, http.StatusBadRequest)
	mustContain(t, "two departments, no township", res, "双交办须指定一个乡镇（街道）和至少一个县直部门", "请尽快核查")

	lead := newConsoleClient(app)
	lead.login(t, "leader1")
	res = lead.post(t, "/console/cases/"+id+"/assign", url.Values{"csrf_token": {lead.csrf}, "township": {"T01"}})
	mustStatus(t, "leader dispatching", res, http.StatusForbidden)
	mustContain(t, "leader dispatching", res, "没有权限")
	mustStatus(t, "leader's dashboard", lead.get(t, "/console/dashboard"), http.StatusOK)
	mustStatus(t, "leader's admin", lead.get(t, "/console/admin/users"), http.StatusForbidden)

	t02 := newConsoleClient(app)
	t02.login(t, "liaison_t02")
	mustStatus(t, "liaison's dashboard", t02.get(t, "/console/dashboard"), http.StatusForbidden)
	res = t02.get(t, "/console/cases/"+id)
	mustStatus(t, "unassigned case as liaison", res, http.StatusNotFound)
	mustStatus(t, "bad case id", t02.get(t, "/console/cases/x1"), http.StatusNotFound)
	res = t02.get(t, "/console/cases?from=2026-13-01")
	mustStatus(t, "bad date filter", res, http.StatusBadRequest)
	mustContain(t, "bad date filter", res, "日期格式应为")
}

// TestConsolePages: every page of each role renders, and the admin forms
// save through the store.
func TestConsolePages(t *testing.T) {
	app := startConsoleApp(t, testenv.Backends(t)[0], apptest.Options{NoWorker: true})
	id, _ := dualCase(t, app, "县里把安全生产责任状层层下压到村，每月要交三份台账。")
	adm := newConsoleClient(app)
	adm.login(t, "admin1")
	for _, p := range []string{"/console/cases", "/console/cases?stage=rectify&overdue=1", "/console/cases/" + itoa(id),
		"/console/dashboard", "/console/dashboard?year=2025", "/console/password", "/console/admin/users",
		"/console/admin/units", "/console/admin/categories", "/console/admin/routing-rules",
		"/console/admin/holidays?year=2026", "/console/admin/deadlines"} {
		res := adm.get(t, p)
		mustStatus(t, p, res, http.StatusOK)
		mustNotContain(t, p, res, " style=", "<script>")
	}
	res := adm.get(t, "/console/dashboard")
	mustContain(t, "dashboard", res, "<svg", "办结率", "东关街道")

	// Cursor paging: 25 a page, the next page continues where it ended.
	for i := range 30 {
		if _, err := app.Store.CreateTip(t.Context(), models.TipInput{Category: "digital", Channel: models.ChannelWeb,
			Content: fmt.Sprintf("第%d条：每天要在多个App上打卡签到。", i+1), Anonymous: true}); err != nil {
			t.Fatal(err)
		}
	}
	res = adm.get(t, "/console/cases?stage=collect")
	first := regexp.MustCompile(`data-case="(\d+)"`).FindAllSubmatch(res.Raw, -1)
	next := regexp.MustCompile(`href="(/console/cases\?[^"]*cursor=[^"]*)" id="next-page"`).FindSubmatch(res.Raw)
	if len(first) != 25 || next == nil {
		t.Fatalf("first page: %d rows, next link %q", len(first), next)
	}
	res = adm.get(t, html.UnescapeString(string(next[1])))
	second := regexp.MustCompile(`data-case="(\d+)"`).FindAllSubmatch(res.Raw, -1)
	if len(second) != 5 || bytes.Contains(res.Raw, []byte(`id="next-page"`)) || !bytes.Contains(res.Raw, []byte("回到第一页")) {
		t.Errorf("second page: %d rows", len(second))
	}
	for _, a := range first {
		for _, b := range second {
			if bytes.Equal(a[1], b[1]) {
				t.Errorf("case %s on both pages", a[1])
			}
		}
	}

	res = adm.post(t, "/console/admin/units", url.Values{"csrf_token": {adm.csrf}, "code": {"T16"}, "name": {"新城街道"}, "kind": {"township"}})
	mustStatus(t, "add unit", res, http.StatusSeeOther)
	res = adm.post(t, "/console/admin/units", url.Values{"csrf_token": {adm.csrf}, "code": {"bad code"}, "name": {"x"}, "kind": {"township"}})
	mustStatus(t, "bad unit", res, http.StatusBadRequest)
	mustContain(t, "bad unit", res, "单位代码应为")
	res = adm.post(t, "/console/admin/users", url.Values{"csrf_token": {adm.csrf}, "username": {"liaison_t16"},
		"password": {"first-pass-16"}, "role": {"liaison"}, "unit": {"T16"}})
	mustStatus(t, "add user", res, http.StatusSeeOther)
	// The new user must change the password first.
	u := newConsoleClient(app)
	u.get(t, "/console/login")
	res = u.post(t, "/console/login", url.Values{"csrf_token": {u.csrf}, "username": {"liaison_t16"}, "password": {"first-pass-16"}})
	if loc := res.Header.Get("Location"); loc != "/console/password" {
		t.Errorf("first login goes to %q", loc)
	}
	res = u.get(t, "/console/cases")
	if loc := res.Header.Get("Location"); res.Status != http.StatusSeeOther || loc != "/console/password" {
		t.Errorf("queue before the password change: %d %q", res.Status, loc)
	}
	u.get(t, "/console/password")
	res = u.post(t, "/console/password", url.Values{"csrf_token": {u.csrf}, "old_password": {"first-pass-16"},
		"new_password": {"second-pass-16"}, "confirm_password": {"second-pass-16x"}})
	mustStatus(t, "mismatched passwords", res, http.StatusBadRequest)
	mustContain(t, "mismatched passwords", res, "两次输入的新密码不一致")
	res = u.post(t, "/console/password", url.Values{"csrf_token": {u.csrf}, "old_password": {"first-pass-16"},
		"new_password": {"second-pass-16"}, "confirm_password": {"second-pass-16"}})
	mustStatus(t, "password change", res, http.StatusSeeOther)
	mustStatus(t, "queue after the change", u.get(t, "/console/cases"), http.StatusOK)

	res = adm.post(t, "/console/admin/holidays/2027", url.Values{"csrf_token": {adm.csrf}, "days": {"2027-01-01 休息 元旦\n2027-02-07 上班 春节调休上班\n"}})
	mustStatus(t, "save 2027", res, http.StatusSeeOther)
	res = adm.get(t, "/console/admin/holidays?year=2027")
	mustContain(t, "2027 calendar", res, "2027-02-07 上班 春节调休上班")
	res = adm.post(t, "/console/admin/holidays/2027", url.Values{"csrf_token": {adm.csrf}, "days": {"2027-01-01 元旦"}})
	mustStatus(t, "bad calendar line", res, http.StatusBadRequest)
	mustContain(t, "bad calendar line", res, "第1行应为", "2027-01-01 元旦")
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }
