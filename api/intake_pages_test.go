package api_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"jianfu/apptest"
	"jianfu/models"
	"jianfu/testenv"
)

var (
	submissionRe = regexp.MustCompile(`name="submission_id" value="([^"]+)"`)
	receiptRe    = regexp.MustCompile(`data-receipt="(\d{16})"`)
)

// tipForm is the form a browser sends, with the token and submission id
// of a freshly loaded page.
func tipForm(t testing.TB, app *apptest.App, c *apptest.Client) map[string]string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, app.URL+"/", nil)
	res := c.Do(t, req)
	tok, sub := csrfRe.FindSubmatch(res.Raw), submissionRe.FindSubmatch(res.Raw)
	if res.Status != http.StatusOK || tok == nil || sub == nil {
		t.Fatalf("GET /: %d", res.Status)
	}
	return map[string]string{"csrf_token": string(tok[1]), "submission_id": string(sub[1]), "category": "paper_trail",
		"content": "入户走访要求每户拍3张照片并上传，还要手写记录本。", "identity": "anonymous", "homepage": ""}
}

func postForm(t testing.TB, app *apptest.App, c *apptest.Client, fields map[string]string, files []upload, headers ...string) apptest.Response {
	t.Helper()
	ct, body := multipartBody(t, fields, files)
	req, _ := http.NewRequest(http.MethodPost, app.URL+"/tip", bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	return c.Do(t, req, headers...)
}

func TestTipFormPage(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			app := apptest.Start(t, apptest.Options{Backend: b, NoWorker: true})
			db := openDB(t, app)
			c := app.Client()

			req, _ := http.NewRequest(http.MethodGet, app.URL+"/", nil)
			home := c.Do(t, req)
			page := string(home.Raw)
			for _, want := range []string{`lang="zh-CN"`, "文山会海", "例如：", `value="anonymous" checked`, "我们如何保护您", `type="file"`} {
				if !strings.Contains(page, want) {
					t.Errorf("form page lacks %q", want)
				}
			}
			if strings.Contains(page, "<script>") || strings.Contains(page, "style=") {
				t.Error("inline script or style: the CSP forbids them")
			}
			if home.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q", home.Header.Get("Cache-Control"))
			}

			refused := []struct {
				name   string
				change func(f map[string]string)
				header []string
				status int
				says   string
			}{
				{"no CSRF token", func(f map[string]string) { delete(f, "csrf_token") }, nil, 403, "刷新页面"},
				{"forged CSRF token", func(f map[string]string) { f["csrf_token"] = strings.Repeat("A", 38) }, nil, 403, "刷新页面"},
				{"cross-site origin", func(map[string]string) {}, []string{"Origin", "https://evil.example"}, 403, "刷新页面"},
				{"honeypot filled", func(f map[string]string) { f["homepage"] = "http://spam.example" }, nil, 400, "未通过校验"},
				{"content too short", func(f map[string]string) { f["content"] = "太短了" }, nil, 400, "至少需要10个字"},
				{"real name without contact", func(f map[string]string) { f["identity"] = "real" }, nil, 400, "实名反映请填写姓名"},
			}
			for _, tc := range refused {
				t.Run(tc.name, func(t *testing.T) {
					f := tipForm(t, app, c)
					f["title"] = "<i>标题</i>保留"
					tc.change(f)
					res := postForm(t, app, c, f, nil, tc.header...)
					body := string(res.Raw)
					if res.Status != tc.status || !strings.Contains(body, tc.says) {
						t.Fatalf("got %d, want %d with %q", res.Status, tc.status, tc.says)
					}
					// The form comes back with what was typed, escaped.
					if !strings.Contains(body, `value="&lt;i&gt;标题&lt;/i&gt;保留"`) {
						t.Error("the typed title is not kept")
					}
					assertNothingStored(t, db)
				})
			}

			t.Run("bad file", func(t *testing.T) {
				res := postForm(t, app, c, tipForm(t, app, c), []upload{{"会议通知.jpg", exe()}})
				if res.Status != http.StatusUnsupportedMediaType || !strings.Contains(string(res.Raw), "会议通知.jpg") {
					t.Fatalf("got %d", res.Status)
				}
				assertNothingStored(t, db)
			})

			t.Run("accepted, and a resent form is the same tip", func(t *testing.T) {
				f := tipForm(t, app, c)
				first := postForm(t, app, c, f, []upload{{"照片.jpg", jpegWithGPS(t)}})
				m := receiptRe.FindSubmatch(first.Raw)
				if first.Status != http.StatusOK || m == nil {
					t.Fatalf("submit: %d", first.Status)
				}
				if first.Header.Get("Cache-Control") != "no-store" || first.Header.Get("Location") != "" {
					t.Errorf("receipt page headers %v", first.Header)
				}
				if !strings.Contains(string(first.Raw), "只显示这一次") {
					t.Error("no warning to keep the receipt")
				}
				again := postForm(t, app, c, f, []upload{{"照片.jpg", jpegWithGPS(t)}})
				if m2 := receiptRe.FindSubmatch(again.Raw); m2 == nil || string(m2[1]) != string(m[1]) {
					t.Errorf("resent form got another receipt")
				}
				if n := rowCounts(t, db)["tips"]; n != 1 {
					t.Errorf("%d tips after a resent form", n)
				}
				// The same form page used for a different tip makes a new one.
				f["content"] = "另一件事：每周要求报送三次同样的统计表格。"
				other := postForm(t, app, c, f, nil)
				if m3 := receiptRe.FindSubmatch(other.Raw); m3 == nil || string(m3[1]) == string(m[1]) {
					t.Errorf("a different tip got the first receipt")
				}
			})

			t.Run("static files", func(t *testing.T) {
				for path, want := range map[string]int{"/static/site.css": 200, "/static/site.js": 200, "/static/": 404, "/static/../web.go": 404} {
					req, _ := http.NewRequest(http.MethodGet, app.URL+path, nil)
					if res := c.Do(t, req); res.Status != want {
						t.Errorf("GET %s: %d, want %d", path, res.Status, want)
					}
				}
			})
		})
	}
}

// TestFollowUpPages: the tipster follows a case to its end through the
// pages: stage, reply, rating, and no more messages once closed.
func TestFollowUpPages(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			app := apptest.Start(t, apptest.Options{Backend: b, NoWorker: true})
			ctx := t.Context()
			app.CreateUnit(t, "T01", "城关镇", models.UnitTownship)
			office := app.CreateUser(t, models.UserParams{Username: "office1", Password: "office-pass-1", Role: models.RoleOffice})
			p := models.Principal{UserID: office.ID, Username: office.Username, Role: office.Role}
			c := app.Client()
			res := c.JSON(t, http.MethodPost, "/api/v1/tips", validTip())
			receipt := res.Body["receipt"].(string)
			caseID, err := app.Store.CaseIDByReceipt(ctx, receipt)
			if err != nil {
				t.Fatal(err)
			}

			// Wrong and unknown receipts on the page.
			for r, want := range map[string]string{"12ab": "16位数字", "0000000000000000": "未找到"} {
				token := formToken(t, app, c, "/track")
				req, _ := http.NewRequest(http.MethodPost, app.URL+"/track", strings.NewReader(url.Values{"csrf_token": {token}, "receipt": {r}}.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				if res := c.Do(t, req); !strings.Contains(string(res.Raw), want) || res.Status < 400 {
					t.Errorf("receipt %q: %d without %q", r, res.Status, want)
				}
			}

			page := trackPage(t, app, c, receipt)
			if !strings.Contains(page, `data-stage="collect"`) || !strings.Contains(page, "线索收集") || !strings.Contains(page, `id="message-form"`) {
				t.Fatal("case page does not show 线索收集 with the message form")
			}

			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			must(app.Store.AcceptCase(ctx, p, models.AcceptParams{CaseID: caseID}))
			must(app.Store.AssignCase(ctx, p, models.AssignParams{CaseID: caseID,
				Assignments: []models.AssignmentInput{{Unit: "T01", Role: models.AssignGrassroots}}}))
			must(app.Store.RecordVerification(ctx, p, models.VerificationParams{CaseID: caseID,
				Finding: models.FindingUnsubstantiated, Report: "内部核查记录：经与城关镇核实"}))
			must(app.Store.ReplyToTipster(ctx, p, models.ReplyParams{CaseID: caseID, Text: "经核查，所反映的打卡要求已取消。\n感谢您的反映。"}))

			page = trackPage(t, app, c, receipt)
			for _, want := range []string{"反馈评估", "经核查，所反映的打卡要求已取消。", "感谢您的反映。", `id="rate-form"`} {
				if !strings.Contains(page, want) {
					t.Errorf("case page in feedback lacks %q", want)
				}
			}
			for _, secret := range []string{"office1", "内部核查记录", "城关镇"} {
				if strings.Contains(page, secret) {
					t.Errorf("case page shows internal %q", secret)
				}
			}

			token := csrfRe.FindStringSubmatch(page)[1]
			form := url.Values{"csrf_token": {token}, "receipt": {receipt}, "rating": {"satisfied"}, "comment": {"处理及时"}}
			req, _ := http.NewRequest(http.MethodPost, app.URL+"/track/evaluation", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			rated := c.Do(t, req)
			if rated.Status != http.StatusOK || !strings.Contains(string(rated.Raw), "感谢您的评价") ||
				!strings.Contains(string(rated.Raw), `data-stage="closed"`) || strings.Contains(string(rated.Raw), `id="message-form"`) {
				t.Fatalf("rating: %d %s", rated.Status, trim(rated.Raw))
			}

			// Closed: no more messages, by page or by API.
			msg := c.JSON(t, http.MethodPost, "/api/v1/tips/messages", map[string]string{"receipt": receipt, "text": "还想补充一点"})
			if code, _, _ := apiErr(msg); msg.Status != http.StatusConflict || code != "wrong_stage" {
				t.Errorf("message to a closed case: %d %s", msg.Status, trim(msg.Raw))
			}
			var buf bytes.Buffer
			mw := multipart.NewWriter(&buf)
			mw.WriteField("csrf_token", token)
			mw.WriteField("receipt", receipt)
			mw.WriteField("text", "还想补充一点")
			mw.Close()
			req, _ = http.NewRequest(http.MethodPost, app.URL+"/track/message", &buf)
			req.Header.Set("Content-Type", mw.FormDataContentType())
			if res := c.Do(t, req); res.Status != http.StatusConflict || !strings.Contains(string(res.Raw), "已办结") {
				t.Errorf("page message to a closed case: %d", res.Status)
			}
		})
	}
}
