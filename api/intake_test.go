package api_test

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	_ "github.com/glebarez/go-sqlite" // read the embedded database file directly
	_ "github.com/go-sql-driver/mysql"

	"jianfu/apptest"
	"jianfu/models"
	"jianfu/testenv"
)

// ------------------------------------------------------------- helpers

type upload struct {
	name string
	data []byte
}

// validFields is a tip that passes every check, as multipart fields.
func validFields() map[string]string {
	return map[string]string{"category": "digital", "title": "每天五个App打卡",
		"content": "每天要在5个政务App上分别打卡签到，同一组数据还要在3个系统重复录入。", "anonymous": "true"}
}

func validTip() map[string]any {
	return map[string]any{"category": "digital", "title": "每天五个App打卡",
		"content": "每天要在5个政务App上分别打卡签到，同一组数据还要在3个系统重复录入。", "anonymous": true}
}

func multipartBody(t testing.TB, fields map[string]string, files []upload) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		mw.WriteField(k, fields[k])
	}
	for _, f := range files {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="files"; filename="%s"`, f.name))
		h.Set("Content-Type", "image/jpeg") // what a browser may claim; the server looks inside
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(f.data)
	}
	mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

func postMultipart(t testing.TB, app *apptest.App, path string, fields map[string]string, files []upload, headers ...string) apptest.Response {
	t.Helper()
	ct, body := multipartBody(t, fields, files)
	req, err := http.NewRequest(http.MethodPost, app.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	return app.Client().Do(t, req, headers...)
}

// openDB opens the app's database directly, to see what is really stored.
func openDB(t testing.TB, app *apptest.App) *sql.DB {
	t.Helper()
	var db *sql.DB
	var err error
	if app.Config.DatabaseURL == "" {
		db, err = sql.Open("sqlite", filepath.Join(app.Config.DataDir, "jianfu.db")+"?_pragma=busy_timeout(10000)")
	} else {
		var dsn string
		if dsn, err = models.MySQLDSN(app.Config.DatabaseURL); err == nil {
			db, err = sql.Open("mysql", dsn)
		}
	}
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// rowCounts counts the rows a tip writes.
func rowCounts(t testing.TB, db *sql.DB) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, table := range []string{"tips", "cases", "events", "attachments", "outbox"} {
		var n int
		if err := db.QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
			t.Fatalf("count %s: %v", table, err)
		}
		out[table] = n
	}
	return out
}

func assertNothingStored(t testing.TB, db *sql.DB) {
	t.Helper()
	for table, n := range rowCounts(t, db) {
		if n != 0 {
			t.Errorf("%d rows in %s after a refused request", n, table)
		}
	}
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// apiErr reads the JSON error body of DESIGN §4.
func apiErr(res apptest.Response) (code, message string, fields map[string]string) {
	e, _ := res.Body["error"].(map[string]any)
	code, _ = e["code"].(string)
	message, _ = e["message"].(string)
	fields = map[string]string{}
	if f, ok := e["fields"].(map[string]any); ok {
		for k, v := range f {
			fields[k], _ = v.(string)
		}
	}
	return code, message, fields
}

var han = regexp.MustCompile(`\p{Han}`)

// ---------------------------------------------------------------- tests

// TestIntakeRefusesBadInput sends every kind of bad submission; each gets
// the JSON error with its status, a zh-CN message naming the field, and
// leaves the database empty.
func TestIntakeRefusesBadInput(t *testing.T) {
	with := func(change func(m map[string]any)) map[string]any {
		m := validTip()
		change(m)
		return m
	}
	smallPNG := pngWithText(t)
	type call func(t *testing.T, app *apptest.App) apptest.Response
	jsonTip := func(body any) call {
		return func(t *testing.T, app *apptest.App) apptest.Response {
			return app.Client().JSON(t, http.MethodPost, "/api/v1/tips", body)
		}
	}
	multi := func(fields map[string]string, files ...upload) call {
		return func(t *testing.T, app *apptest.App) apptest.Response {
			return postMultipart(t, app, "/api/v1/tips", fields, files)
		}
	}
	raw := func(path, contentType string, body []byte) call {
		return func(t *testing.T, app *apptest.App) apptest.Response {
			req, _ := http.NewRequest(http.MethodPost, app.URL+path, bytes.NewReader(body))
			if contentType != "" {
				req.Header.Set("Content-Type", contentType)
			}
			return app.Client().Do(t, req)
		}
	}
	lookup := func(receipt string) call {
		return func(t *testing.T, app *apptest.App) apptest.Response {
			return app.Client().JSON(t, http.MethodPost, "/api/v1/tips/lookup", map[string]string{"receipt": receipt})
		}
	}
	bigBody := func(t *testing.T, app *apptest.App) apptest.Response {
		// Repeated text fields past the multipart body limit (2 files of
		// 1 MiB + framing in this app).
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		for range 60 {
			mw.WriteField("content", strings.Repeat("x", 60<<10))
		}
		mw.Close()
		req, _ := http.NewRequest(http.MethodPost, app.URL+"/api/v1/tips", &buf)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		return app.Client().Do(t, req)
	}
	cases := []struct {
		name   string
		call   call
		status int
		code   string
		field  string // the field the error names; "" for body-level errors
		says   string // words the zh-CN message must contain
	}{
		{"missing category", jsonTip(with(func(m map[string]any) { delete(m, "category") })), 400, "validation_failed", "category", "类别"},
		{"unknown category", jsonTip(with(func(m map[string]any) { m["category"] = "no_such" })), 400, "validation_failed", "category", "类别"},
		{"title over 100 characters", jsonTip(with(func(m map[string]any) { m["title"] = strings.Repeat("标", 101) })), 400, "validation_failed", "title", "标题"},
		{"content under 10 characters", jsonTip(with(func(m map[string]any) { m["content"] = "九个字也不够描述清楚"[:27] })), 400, "validation_failed", "content", "问题描述"},
		{"content over 5000 characters", jsonTip(with(func(m map[string]any) { m["content"] = strings.Repeat("多", 5001) })), 400, "validation_failed", "content", "5000"},
		{"content over 5000 characters of 4 bytes", jsonTip(with(func(m map[string]any) { m["content"] = strings.Repeat("😀", 5001) })), 400, "validation_failed", "content", "5000"},
		{"real name without contact", jsonTip(with(func(m map[string]any) { m["anonymous"] = false })), 400, "validation_failed", "contact.name", "姓名"},
		{"real name with a name only", jsonTip(with(func(m map[string]any) {
			m["anonymous"] = false
			m["contact"] = map[string]string{"name": "张三"}
		})), 400, "validation_failed", "contact.phone", "手机"},
		{"malformed phone", jsonTip(with(func(m map[string]any) {
			m["anonymous"] = false
			m["contact"] = map[string]string{"name": "张三", "phone": "1391234"}
		})), 400, "validation_failed", "contact.phone", "电话号码"},
		{"malformed email", jsonTip(with(func(m map[string]any) {
			m["anonymous"] = false
			m["contact"] = map[string]string{"name": "张三", "email": "zhang@"}
		})), 400, "validation_failed", "contact.email", "邮箱"},
		{"unknown township", jsonTip(with(func(m map[string]any) { m["township"] = "T99" })), 400, "validation_failed", "township", "乡镇"},
		{"future date", jsonTip(with(func(m map[string]any) { m["occurred_on"] = "2999-01-01" })), 400, "validation_failed", "occurred_on", "日期"},
		{"misspelt field", jsonTip(with(func(m map[string]any) { m["contnet"] = "x" })), 400, "validation_failed", "contnet", "contnet"},
		{"wrong field type", jsonTip(with(func(m map[string]any) { m["anonymous"] = "yes" })), 400, "validation_failed", "anonymous", "anonymous"},
		{"invalid JSON", raw("/api/v1/tips", "application/json", []byte(`{"category": "digital",`)), 400, "invalid_json", "", "JSON"},
		{"two JSON objects", raw("/api/v1/tips", "application/json", []byte(`{} {}`)), 400, "invalid_json", "", "JSON"},
		{"unknown content type", raw("/api/v1/tips", "text/plain", []byte("category=digital")), 415, "unsupported_media_type", "", "application/json"},
		{"no content type", raw("/api/v1/tips", "", []byte(`{}`)), 415, "unsupported_media_type", "", "multipart"},
		{"JSON body over the limit", jsonTip(with(func(m map[string]any) { m["content"] = strings.Repeat("x", 70<<10) })), 413, "too_large", "", "过大"},
		{"multipart body over the limit", bigBody, 413, "too_large", "", "过大"},
		{"multipart field too long", multi(map[string]string{"category": "digital", "content": strings.Repeat("长", 30000)}), 400, "validation_failed", "content", "content"},
		{"multipart bad anonymous", multi(with2(validFields(), "anonymous", "maybe")), 400, "validation_failed", "anonymous", "anonymous"},
		{"multipart real name without contact", multi(with2(validFields(), "anonymous", "false")), 400, "validation_failed", "contact.name", "姓名"},
		{"file over the size limit", multi(validFields(), upload{"大照片.png", append(smallPNG, make([]byte, 1<<20)...)}), 413, "file_too_large", "files", "大照片.png"},
		{"too many files", multi(validFields(), upload{"1.png", smallPNG}, upload{"2.png", smallPNG}, upload{"3.png", smallPNG}), 400, "validation_failed", "files", "最多2个"},
		{"exe renamed jpg", multi(validFields(), upload{"现场照片.jpg", exe()}), 415, "unsupported_file_type", "files", "现场照片.jpg"},
		{"valid file then exe", multi(validFields(), upload{"ok.png", smallPNG}, upload{"setup.jpg", exe()}), 415, "unsupported_file_type", "files", "setup.jpg"},
		{"good files, bad content", multi(with2(validFields(), "content", "太短"), upload{"ok.png", smallPNG}), 400, "validation_failed", "content", "问题描述"},
		{"receipt too short", lookup("12345"), 400, "validation_failed", "receipt", "查询码"},
		{"receipt with letters", lookup("1234abcd5678efgh"), 400, "validation_failed", "receipt", "查询码"},
		{"receipt too long", lookup("12345678901234567"), 400, "validation_failed", "receipt", "查询码"},
		{"receipt that does not exist", lookup("1234 5678 9012 3456"), 404, "not_found", "", "查询码"},
		{"message with unknown receipt", func(t *testing.T, app *apptest.App) apptest.Response {
			return app.Client().JSON(t, http.MethodPost, "/api/v1/tips/messages", map[string]string{"receipt": "1234567890123456", "text": "补充"})
		}, 404, "not_found", "", "查询码"},
		{"NUL in content", jsonTip(with(func(m map[string]any) { m["content"] = "每天要在5个政务App上\x00分别打卡签到" })), 400, "validation_failed", "content", "问题描述"},
		{"escape in title", jsonTip(with(func(m map[string]any) { m["title"] = "标题\x1b[31m红色" })), 400, "validation_failed", "title", "标题"},
		{"line break in title", jsonTip(with(func(m map[string]any) { m["title"] = "第一行\n第二行" })), 400, "validation_failed", "title", "标题"},
		{"right-to-left override in title", jsonTip(with(func(m map[string]any) { m["title"] = "报告\u202Efdp.exe" })), 400, "validation_failed", "title", "方向"},
		{"isolate in implicated unit", jsonTip(with(func(m map[string]any) { m["implicated_unit"] = "县\u2066数据局\u2069" })), 400, "validation_failed", "implicated_unit", "涉及单位"},
		{"C1 control in contact name", jsonTip(with(func(m map[string]any) {
			m["anonymous"] = false
			m["contact"] = map[string]string{"name": "张\u0085三", "phone": "13912345678"}
		})), 400, "validation_failed", "contact.name", "姓名"},
		{"multipart NUL in content", multi(with2(validFields(), "content", "每天要在5个政务App上\x00分别打卡签到")), 400, "validation_failed", "content", "问题描述"},
		{"multipart invalid UTF-8 in title", multi(with2(validFields(), "title", "标题\xff\xfe")), 400, "validation_failed", "title", "标题"},
		{"message with NUL", func(t *testing.T, app *apptest.App) apptest.Response {
			return app.Client().JSON(t, http.MethodPost, "/api/v1/tips/messages", map[string]string{"receipt": "1234567890123456", "text": "补充\x00说明"})
		}, 400, "validation_failed", "text", "补充内容"},
		{"message with override", func(t *testing.T, app *apptest.App) apptest.Response {
			return app.Client().JSON(t, http.MethodPost, "/api/v1/tips/messages", map[string]string{"receipt": "1234567890123456", "text": "补充\u202E说明"})
		}, 400, "validation_failed", "text", "方向"},
		{"evaluation comment with NUL", func(t *testing.T, app *apptest.App) apptest.Response {
			return app.Client().JSON(t, http.MethodPost, "/api/v1/tips/evaluation", map[string]string{"receipt": "1234567890123456", "rating": "satisfied", "comment": "好\x00"})
		}, 400, "validation_failed", "comment", "控制字符"},
		{"lookup not JSON", raw("/api/v1/tips/lookup", "text/plain", []byte("1234567890123456")), 415, "unsupported_media_type", "", "application/json"},
	}
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			app := apptest.Start(t, apptest.Options{Backend: b, NoWorker: true,
				Env: map[string]string{"JIANFU_MAX_FILES": "2", "JIANFU_MAX_FILE_MB": "1"}})
			if _, err := app.Store.CreateUnit(t.Context(), "T01", "城关镇", models.UnitTownship); err != nil {
				t.Fatal(err)
			}
			db := openDB(t, app)
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					res := tc.call(t, app)
					code, msg, fields := apiErr(res)
					if res.Status != tc.status || code != tc.code {
						t.Fatalf("got %d %q, want %d %q: %s", res.Status, code, tc.status, tc.code, trim(res.Raw))
					}
					if !han.MatchString(msg) || !strings.Contains(msg, tc.says) {
						t.Errorf("message %q: want zh-CN mentioning %q", msg, tc.says)
					}
					if tc.field != "" {
						if f := fields[tc.field]; !han.MatchString(f) || !strings.Contains(f, tc.says) {
							t.Errorf("fields %v: want %q named with a zh-CN message mentioning %q", fields, tc.field, tc.says)
						}
					}
					assertNothingStored(t, db)
				})
			}
		})
	}
}

func with2(m map[string]string, k, v string) map[string]string {
	m[k] = v
	return m
}

func trim(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

// TestIntakeCountsCharacters: the limits are characters, not bytes.
func TestIntakeCountsCharacters(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			app := apptest.Start(t, apptest.Options{Backend: b, NoWorker: true})
			c := app.Client()
			tip := validTip()
			tip["title"] = strings.Repeat("𪚥", 100)    // 400 bytes
			tip["content"] = strings.Repeat("😀", 5000) // 20000 bytes
			if res := c.JSON(t, http.MethodPost, "/api/v1/tips", tip); res.Status != http.StatusCreated {
				t.Fatalf("100-character title and 5000-character content: %d %s", res.Status, trim(res.Raw))
			}
			tip["title"], tip["content"] = "", "十个字正好够了吧对吧"
			if res := c.JSON(t, http.MethodPost, "/api/v1/tips", tip); res.Status != http.StatusCreated {
				t.Fatalf("10-character content: %d %s", res.Status, trim(res.Raw))
			}
		})
	}
}

// TestIntakeStoresTextVerbatim: emoji, rare CJK (4-byte UTF-8), HTML and
// SQL metacharacters are stored as sent and shown as text.
func TestIntakeStoresTextVerbatim(t *testing.T) {
	title := `𠀀𪚥😀 <b>加粗</b> '; DROP TABLE tips; --`
	content := "内容包含 <script>alert('x')</script> 与 \"引号\" \\ 反斜杠 %_ 通配符 𰻞𰻞面 🙏🏽 👨‍👩‍👧 以及 ' OR '1'='1"
	unit := `<img src=x onerror=alert(1)> 县"数据局"`
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			app := apptest.Start(t, apptest.Options{Backend: b, NoWorker: true})
			tip := validTip()
			tip["title"], tip["content"], tip["implicated_unit"] = title, content, unit
			res := app.Client().JSON(t, http.MethodPost, "/api/v1/tips", tip)
			if res.Status != http.StatusCreated {
				t.Fatalf("submit: %d %s", res.Status, trim(res.Raw))
			}
			receipt := res.Body["receipt"].(string)
			var gotTitle, gotContent, gotUnit string
			err := openDB(t, app).QueryRow("SELECT title, content, implicated_unit FROM tips").Scan(&gotTitle, &gotContent, &gotUnit)
			if err != nil {
				t.Fatal(err)
			}
			if gotTitle != title || gotContent != content || gotUnit != unit {
				t.Errorf("stored %q / %q / %q", gotTitle, gotContent, gotUnit)
			}
			view := app.Client().JSON(t, http.MethodPost, "/api/v1/tips/lookup", map[string]string{"receipt": receipt})
			if view.Body["title"] != title {
				t.Errorf("lookup title %q", view.Body["title"])
			}
			// The follow-up page escapes it.
			page := trackPage(t, app, app.Client(), receipt)
			if strings.Contains(page, "<b>加粗</b>") || !strings.Contains(page, "&lt;b&gt;加粗&lt;/b&gt;") {
				t.Errorf("title not escaped on the page")
			}
			if !strings.Contains(page, "𠀀𪚥😀") {
				t.Errorf("rare characters lost on the page")
			}
		})
	}
}

var csrfRe = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// formToken loads a page and returns its CSRF token (the client keeps the
// cookie).
func formToken(t testing.TB, app *apptest.App, c *apptest.Client, path string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, app.URL+path, nil)
	res := c.Do(t, req)
	m := csrfRe.FindSubmatch(res.Raw)
	if res.Status != http.StatusOK || m == nil {
		t.Fatalf("GET %s: %d, no form token", path, res.Status)
	}
	return string(m[1])
}

// trackPage posts the follow-up form and returns the page.
func trackPage(t testing.TB, app *apptest.App, c *apptest.Client, receipt string) string {
	t.Helper()
	token := formToken(t, app, c, "/track")
	body := "csrf_token=" + token + "&receipt=" + strings.ReplaceAll(receipt, " ", "+")
	req, _ := http.NewRequest(http.MethodPost, app.URL+"/track", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res := c.Do(t, req)
	if res.Status != http.StatusOK {
		t.Fatalf("POST /track: %d %s", res.Status, trim(res.Raw))
	}
	return string(res.Raw)
}

// TestIntakeIdempotency: a retried submission with the same key returns
// the same receipt and stores nothing new; another key is a new tip.
func TestIntakeIdempotency(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			app := apptest.Start(t, apptest.Options{Backend: b, NoWorker: true})
			db := openDB(t, app)
			c := app.Client()
			first := c.JSON(t, http.MethodPost, "/api/v1/tips", validTip(), "Idempotency-Key", "retry-7f3a-0c51d2e9")
			again := c.JSON(t, http.MethodPost, "/api/v1/tips", validTip(), "Idempotency-Key", "retry-7f3a-0c51d2e9")
			if first.Status != http.StatusCreated || again.Status != http.StatusOK {
				t.Fatalf("statuses %d, %d; want 201, 200", first.Status, again.Status)
			}
			if first.Body["receipt"] != again.Body["receipt"] || len(first.Body["receipt"].(string)) != 16 {
				t.Fatalf("receipts %v and %v", first.Body["receipt"], again.Body["receipt"])
			}
			counts := rowCounts(t, db)
			if counts["tips"] != 1 || counts["cases"] != 1 {
				t.Fatalf("after a retry: %v", counts)
			}
			other := c.JSON(t, http.MethodPost, "/api/v1/tips", validTip(), "Idempotency-Key", "retry-8b1c-77a0e4f2")
			if other.Status != http.StatusCreated || other.Body["receipt"] == first.Body["receipt"] {
				t.Fatalf("another key: %d %v", other.Status, other.Body["receipt"])
			}
			none := c.JSON(t, http.MethodPost, "/api/v1/tips", validTip())
			if none.Status != http.StatusCreated {
				t.Fatalf("no key: %d", none.Status)
			}
			if n := rowCounts(t, db)["tips"]; n != 3 {
				t.Errorf("%d tips, want 3", n)
			}
			// Multipart retries work the same way.
			m1 := postMultipart(t, app, "/api/v1/tips", validFields(), []upload{{"a.png", pngWithText(t)}}, "Idempotency-Key", "multipart-retry-0001")
			m2 := postMultipart(t, app, "/api/v1/tips", validFields(), []upload{{"a.png", pngWithText(t)}}, "Idempotency-Key", "multipart-retry-0001")
			if m1.Status != http.StatusCreated || m2.Status != http.StatusOK || m1.Body["receipt"] != m2.Body["receipt"] {
				t.Fatalf("multipart retry: %d %v, %d %v", m1.Status, m1.Body["receipt"], m2.Status, m2.Body["receipt"])
			}
			if n := rowCounts(t, db)["attachments"]; n != 1 {
				t.Errorf("%d attachments after a multipart retry, want 1", n)
			}
		})
	}
}

// TestIntakeOneTransaction: an accepted tip is the tip, its case in
// collect with its due time, the first public event and the routing task.
func TestIntakeOneTransaction(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			app := apptest.Start(t, apptest.Options{Backend: b, NoWorker: true})
			db := openDB(t, app)
			res := postMultipart(t, app, "/api/v1/tips", validFields(), []upload{{"a.jpg", jpegWithGPS(t)}})
			if res.Status != http.StatusCreated || res.Body["stage"] != "collect" || res.Body["stage_name"] != "线索收集" {
				t.Fatalf("submit: %d %s", res.Status, trim(res.Raw))
			}
			var stage string
			var due sql.NullTime
			if err := db.QueryRow("SELECT stage, due_at FROM cases").Scan(&stage, &due); err != nil {
				t.Fatal(err)
			}
			if stage != "collect" || !due.Valid || !due.Time.After(time.Now().Add(-time.Minute)) {
				t.Errorf("case stage %q due %v", stage, due)
			}
			var kind string
			var public bool
			if err := db.QueryRow("SELECT kind, public FROM events").Scan(&kind, &public); err != nil {
				t.Fatal(err)
			}
			if kind != models.EventSubmitted || !public {
				t.Errorf("first event %q public=%v", kind, public)
			}
			var typ string
			if err := db.QueryRow("SELECT type FROM outbox").Scan(&typ); err != nil || typ != models.TaskRouteTip {
				t.Errorf("outbox %q %v", typ, err)
			}
			if n := rowCounts(t, db); n["tips"] != 1 || n["attachments"] != 1 {
				t.Errorf("rows %v", n)
			}
		})
	}
}

// TestLookupTiming: an unknown receipt answers 404 in the time a known one
// takes to answer.
func TestLookupTiming(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			app := apptest.Start(t, apptest.Options{Backend: b, NoWorker: true})
			c := app.Client()
			res := c.JSON(t, http.MethodPost, "/api/v1/tips", validTip())
			receipt := res.Body["receipt"].(string)
			c.JSON(t, http.MethodPost, "/api/v1/tips/messages", map[string]string{"receipt": receipt, "text": "补充一些情况，让时间线长一点"})
			timeOf := func(r string, want int) time.Duration {
				start := time.Now()
				res := c.JSON(t, http.MethodPost, "/api/v1/tips/lookup", map[string]string{"receipt": r})
				d := time.Since(start)
				if res.Status != want {
					t.Fatalf("lookup %s: %d, want %d", r, res.Status, want)
				}
				return d
			}
			var hits, misses []time.Duration
			for i := range 7 {
				hits = append(hits, timeOf(receipt, http.StatusOK))
				misses = append(misses, timeOf(fmt.Sprintf("99999999%08d", i), http.StatusNotFound))
			}
			h, m := median(hits), median(misses)
			if diff := h - m; diff > 40*time.Millisecond || diff < -40*time.Millisecond {
				t.Errorf("median hit %v, miss %v: the timing tells them apart", h, m)
			}
		})
	}
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// TestTipsterView: the follow-up view shows the stage and the public
// timeline, takes messages while open, and never shows internal events.
func TestTipsterView(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			app := apptest.Start(t, apptest.Options{Backend: b})
			c := app.Client()
			res := c.JSON(t, http.MethodPost, "/api/v1/tips", validTip())
			receipt := res.Body["receipt"].(string)
			// The worker's routing writes an internal event; wait for it.
			caseID, err := app.Store.CaseIDByReceipt(t.Context(), receipt)
			if err != nil {
				t.Fatal(err)
			}
			apptest.Eventually(t, 10*time.Second, "routing", func() bool {
				evs, _ := app.Store.Events(t.Context(), caseID)
				return len(evs) >= 2
			})
			msg := postMultipart(t, app, "/api/v1/tips/messages", map[string]string{"receipt": receipt, "text": "补充：第二个App也要打卡"},
				[]upload{{"补充截图.png", pngWithText(t)}})
			if msg.Status != http.StatusCreated {
				t.Fatalf("message: %d %s", msg.Status, trim(msg.Raw))
			}
			// Receipts are accepted as people type them.
			spaced := receipt[:4] + " " + receipt[4:8] + "-" + receipt[8:12] + "　" + receipt[12:]
			view := c.JSON(t, http.MethodPost, "/api/v1/tips/lookup", map[string]string{"receipt": spaced})
			if view.Status != http.StatusOK {
				t.Fatalf("lookup: %d %s", view.Status, trim(view.Raw))
			}
			if view.Body["stage"] != "collect" || view.Body["stage_name"] != "线索收集" || view.Body["open"] != true || view.Body["can_rate"] != false {
				t.Errorf("view %v", view.Body)
			}
			tl := view.Body["timeline"].([]any)
			if len(tl) != 2 {
				t.Fatalf("public timeline %v, want submitted + message", tl)
			}
			last := tl[1].(map[string]any)
			if last["kind"] != models.EventTipsterMessage || last["from"] != "tipster" || last["files"] != float64(1) {
				t.Errorf("message entry %v", last)
			}
			if strings.Contains(string(view.Raw), "智能分办") || strings.Contains(string(view.Raw), "system") {
				t.Errorf("internal routing note leaked: %s", view.Raw)
			}
			// Empty messages are refused, and nothing is added.
			empty := c.JSON(t, http.MethodPost, "/api/v1/tips/messages", map[string]string{"receipt": receipt, "text": "  "})
			if code, _, f := apiErr(empty); empty.Status != 400 || code != "validation_failed" || f["text"] == "" {
				t.Errorf("empty message: %d %s", empty.Status, trim(empty.Raw))
			}
		})
	}
}
