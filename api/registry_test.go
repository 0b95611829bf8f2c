package api_test

import (
	"bytes"
	"fmt"
	"html"
	"mime/multipart"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"jianfu/apptest"
	"jianfu/models"
	"jianfu/models/registry"
	"jianfu/testenv"
)

// importFile posts a file to /api/v1/registry/{kind}/import as the
// console's form does.
func importFile(t *testing.T, c *apptest.Client, url, kind, name string, data []byte) apptest.Response {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(data)
	mw.Close()
	req, err := http.NewRequest(http.MethodPost, url+"/api/v1/registry/"+kind+"/import", &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return c.Do(t, req)
}

func items(t *testing.T, r apptest.Response) []map[string]any {
	t.Helper()
	raw, ok := r.Body["items"].([]any)
	if !ok {
		t.Fatalf("no items in %s", r.Raw)
	}
	out := make([]map[string]any, len(raw))
	for i, it := range raw {
		out[i] = it.(map[string]any)
	}
	return out
}

// TestRegistryAPI: registering, refusing bad input (nothing stored), the
// all-or-nothing import with its row-by-row report, and the warning a
// registration raises.
func TestRegistryAPI(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			app := startConsoleApp(t, b, apptest.Options{NoWorker: true})
			office := app.Login(t, "office1", consolePassword)
			liaison := app.Login(t, "liaison_t02", consolePassword)
			count := func(kind string) int {
				return len(items(t, office.JSON(t, "GET", "/api/v1/registry/"+kind, nil)))
			}

			// A township's liaison registers a work group demanding daily
			// check-ins for their own unit (no unit named).
			res := liaison.JSON(t, "POST", "/api/v1/registry/groups", map[string]any{
				"name": "东关街道每日打卡群", "owner": "东关街道党政办", "demands": []string{"checkin"}})
			if res.Status != http.StatusCreated || res.Body["unit"] != "T02" || res.Body["status"] != "active" {
				t.Fatalf("register: %d %s", res.Status, res.Raw)
			}
			groupID := res.Body["id"]
			ws := items(t, office.JSON(t, "GET", "/api/v1/warnings?unit=T02", nil))
			if len(ws) != 1 || ws[0]["rule"] != registry.RuleForbiddenDemand || !strings.Contains(ws[0]["reason"].(string), "打卡签到") {
				t.Fatalf("warnings of T02: %v", ws)
			}

			// Bad input: 400 naming the field in zh-CN, nothing stored.
			for _, bad := range []struct {
				kind  string
				body  any
				field string
			}{
				{"groups", map[string]any{"unit": "T02", "owner": "x"}, "name"},
				{"meetings", map[string]any{"unit": "D01", "title": "会", "level": "county", "held_on": "2026-13-01", "minutes": 30}, "held_on"},
				{"documents", map[string]any{"unit": "D01", "number": "1", "title": "t", "level": "nation", "issued_on": "2026-01-02"}, "level"},
				{"inspections", map[string]any{"unit": "D01", "title": "查", "start_on": "2026-01-02", "end_on": "2026-01-03", "planned": "yes"}, "planned"},
				{"groups", map[string]any{"unit": "T02", "name": "群", "owner": "x", "demands": []string{"selfie"}}, "demands"},
				{"groups", map[string]any{"unit": "T99", "name": "群", "owner": "x"}, "unit"},
			} {
				before := count(bad.kind)
				res := office.JSON(t, "POST", "/api/v1/registry/"+bad.kind, bad.body)
				fields, _ := res.Body["error"].(map[string]any)["fields"].(map[string]any)
				if res.Status != http.StatusBadRequest || fields[bad.field] == nil {
					t.Errorf("%s %v: %d %s, want 400 naming %s", bad.kind, bad.body, res.Status, res.Raw, bad.field)
				}
				if count(bad.kind) != before {
					t.Errorf("a refused %s was stored", bad.kind)
				}
			}
			if res := office.JSON(t, "GET", "/api/v1/registry/posters", nil); res.Status != http.StatusNotFound {
				t.Errorf("unknown kind: %d", res.Status)
			}
			// The liaison cannot register for another unit.
			res = liaison.JSON(t, "POST", "/api/v1/registry/groups", map[string]any{"unit": "T03", "name": "群", "owner": "x"})
			if res.Status != http.StatusForbidden {
				t.Errorf("liaison for T03: %d %s", res.Status, res.Raw)
			}

			// Import: one bad row refuses the whole file, with the report.
			csv := "unit,title,start_on,end_on,targets,planned,merged\n" +
				"D05,安全生产综合督查,2026-03-02,2026-03-04,全县各乡镇,是,否\n" +
				"D05,环保检查,2026-03-10,2026-03-09,T01,是,否\n" +
				"D05,换马甲的调研,2026-04-01,2026-04-02,T01,也许,否\n"
			res = importFile(t, office, app.URL, "inspections", "督查.csv", []byte(csv))
			if res.Status != http.StatusBadRequest || res.Body["error"].(map[string]any)["code"] != "import_refused" {
				t.Fatalf("import with bad rows: %d %s", res.Status, res.Raw)
			}
			rep := res.Body["report"].(map[string]any)
			refused := rep["refused"].([]any)
			if len(refused) != 2 || refused[0].(map[string]any)["line"] != float64(3) || refused[1].(map[string]any)["line"] != float64(4) ||
				rep["stored"] != float64(0) {
				t.Errorf("report: %s", res.Raw)
			}
			fields := res.Body["error"].(map[string]any)["fields"].(map[string]any)
			if fields["第3行.end_on"] == nil || fields["第4行.planned"] == nil {
				t.Errorf("fields: %v", fields)
			}
			if n := count("inspections"); n != 0 {
				t.Fatalf("%d inspections stored from a refused file", n)
			}
			good := "unit,title,start_on,end_on,targets,planned,merged\nD05,安全生产综合督查,2026-03-02,2026-03-04,全县,是,否\nD05,计划外检查,2026-03-10,2026-03-11,T01,否,否\n"
			req, _ := http.NewRequest(http.MethodPost, app.URL+"/api/v1/registry/inspections/import?dry_run=1", strings.NewReader(good))
			req.Header.Set("Content-Type", "text/csv")
			if res := office.Do(t, req); res.Status != http.StatusOK || res.Body["accepted"] != float64(2) || count("inspections") != 0 {
				t.Errorf("dry run: %d %s", res.Status, res.Raw)
			}
			if res := importFile(t, office, app.URL, "inspections", "督查.csv", []byte(good)); res.Status != http.StatusCreated || res.Body["stored"] != float64(2) {
				t.Errorf("good import: %d %s", res.Status, res.Raw)
			}
			// Bounded before parsing: a body over the limit is 413.
			huge := bytes.Repeat([]byte("a"), registry.MaxImportBytes+100<<10)
			if res := importFile(t, office, app.URL, "inspections", "big.csv", huge); res.Status != http.StatusRequestEntityTooLarge {
				t.Errorf("huge import: %d", res.Status)
			}
			if res := importFile(t, office, app.URL, "inspections", "x.csv", []byte("\x00\x01\x02")); res.Status != http.StatusUnsupportedMediaType {
				t.Errorf("binary import: %d %s", res.Status, res.Raw)
			}

			// Dissolving the group: not by another unit's liaison (404) nor
			// a leader (403); by its own liaison, and the warning ends.
			other := app.Login(t, "liaison_t03", consolePassword)
			path := fmt.Sprintf("/api/v1/registry/groups/%v", groupID)
			if res := other.JSON(t, "PUT", path, map[string]string{"status": "closed"}); res.Status != http.StatusNotFound {
				t.Errorf("T03 closes T02's group: %d %s", res.Status, res.Raw)
			}
			if res := app.Login(t, "leader1", consolePassword).JSON(t, "PUT", path, map[string]string{"status": "closed"}); res.Status != http.StatusForbidden {
				t.Errorf("leader closes: %d", res.Status)
			}
			if res := liaison.JSON(t, "PUT", path, map[string]string{"status": "dissolved"}); res.Status != http.StatusBadRequest {
				t.Errorf("bad status: %d", res.Status)
			}
			res = liaison.JSON(t, "PUT", path, map[string]string{"status": "closed"})
			if res.Status != http.StatusOK || res.Body["status"] != "closed" || res.Body["closed_on"] == nil {
				t.Errorf("close: %d %s", res.Status, res.Raw)
			}
			if ws := items(t, office.JSON(t, "GET", "/api/v1/warnings?unit=T02", nil)); len(ws) != 0 {
				t.Errorf("a dissolved group still warns: %v", ws)
			}

			// Quotas: a bad one changes nothing; a good one warns.
			admin := app.Login(t, "admin1", consolePassword)
			res = admin.JSON(t, "PUT", "/api/v1/admin/quotas/2026", map[string]any{"quotas": []map[string]any{{"kind": "apps", "limit": 3}}})
			if res.Status != http.StatusBadRequest {
				t.Errorf("quota on apps: %d %s", res.Status, res.Raw)
			}
			if res := admin.JSON(t, "GET", "/api/v1/admin/quotas/2026", nil); len(res.Body["quotas"].([]any)) != 0 {
				t.Errorf("a refused quota was stored: %s", res.Raw)
			}
		})
	}
}

// TestReportMatchesMonitoringAPI: on the demo county the yearly report
// has no 〔*〕 blank, and its registry figures are those of GET
// /api/v1/stats/monitoring.
func TestReportMatchesMonitoringAPI(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			app := startConsoleApp(t, b, apptest.Options{NoWorker: true})
			if err := registry.New(app.Store).LoadDemo(t.Context()); err != nil {
				t.Fatal(err)
			}
			leader := app.Login(t, "leader1", consolePassword)
			year := app.Store.Now().In(models.Shanghai()).Year()
			m := leader.JSON(t, "GET", fmt.Sprintf("/api/v1/stats/monitoring?year=%d", year), nil)
			if m.Status != http.StatusOK {
				t.Fatalf("monitoring: %d %s", m.Status, m.Raw)
			}
			num := func(path ...string) float64 {
				var v any = m.Body
				for _, p := range path {
					v = v.(map[string]any)[p]
				}
				return v.(float64)
			}
			res := leader.JSON(t, "GET", fmt.Sprintf("/api/v1/stats/report?year=%d", year), nil)
			report := string(res.Raw)
			if res.Status != http.StatusOK || strings.Contains(report, "〔") {
				t.Fatalf("report: %d, blanks left:\n%s", res.Status, report)
			}
			// The demo's hand-computed figures, as the API answers them and
			// as the report prints them.
			for _, c := range []struct {
				got  float64
				want float64
				text string
			}{
				{num("documents", "this_year"), 96, fmt.Sprintf("%d年全县发文96件，同比下降20.0%%", year)},
				{num("documents", "percent"), 20, ""},
				{num("meetings", "this_year"), 30, "召开全县性会议30次，同比减少25.0%"},
				{num("inspections", "this_year"), 24, "对全县24项督查检查考核事项进行统筹规范，合并开展6项，计划外2项，督查检查考核数量同比压减33.3%"},
				{num("apps", "closed"), 5, "整合清理各类政务APP5个、网络工作群18个，清理整合率分别为41.7%、58.1%"},
				{num("groups", "existing"), 31, "| 解散整合工作群（本年在用） | groups | 18 | 31 | 58.1 |"},
			} {
				if c.got != c.want {
					t.Errorf("API figure %v, want %v", c.got, c.want)
				}
				if c.text != "" && !strings.Contains(report, c.text) {
					t.Errorf("report lacks %q", c.text)
				}
			}
			// The warnings the demo raises are in the report's table too.
			if !strings.Contains(report, "#### 智能预警") || !strings.Contains(report, "城关镇每日打卡群") {
				t.Errorf("report lacks the warnings table")
			}
			// The xlsx gains the matching sheets, with the same numbers.
			x := leader.JSON(t, "GET", fmt.Sprintf("/api/v1/stats/export.xlsx?year=%d", year), nil)
			book, err := excelize.OpenReader(bytes.NewReader(x.Raw))
			if x.Status != http.StatusOK || err != nil {
				t.Fatalf("xlsx: %d %v", x.Status, err)
			}
			if sheets := book.GetSheetList(); !slices.Contains(sheets, "在线监管") || !slices.Contains(sheets, "智能预警") {
				t.Errorf("xlsx sheets %v lack 在线监管 or 智能预警", sheets)
			}
			if v, _ := book.GetCellValue("在线监管", "C2"); v != "96" {
				t.Errorf("xlsx 在线监管 documents this year = %q, want 96", v)
			}
			// A year without a baseline says 无数据, never a made-up rate.
			res = leader.JSON(t, "GET", fmt.Sprintf("/api/v1/stats/report?year=%d", year-1), nil)
			if !strings.Contains(string(res.Raw), "同比下降无数据") {
				t.Errorf("last year's report without a baseline:\n%s", res.Raw)
			}
		})
	}
}

// TestWarningsPaged: 101 warnings come a page at a time, in the API (with
// the total and a cursor to the next page) and on the console's page (a
// hundred, then the last one); bad paging input is refused naming its field.
func TestWarningsPaged(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			app := startConsoleApp(t, b, apptest.Options{NoWorker: true})
			office := app.Login(t, "office1", consolePassword)
			var csv strings.Builder
			csv.WriteString("单位,名称,主管单位,状态,要求\n")
			for i := range 101 {
				fmt.Fprintf(&csv, "T02,东关街道打卡群%03d,东关街道,在用,打卡签到\n", i)
			}
			if res := importFile(t, office, app.URL, "groups", "groups.csv", []byte(csv.String())); res.Status != http.StatusCreated {
				t.Fatalf("import: %d %s", res.Status, res.Raw)
			}

			var walked []string
			cursor := ""
			for pages := 1; ; pages++ {
				res := office.JSON(t, "GET", "/api/v1/warnings?rule=forbidden_demand&cursor="+cursor, nil)
				page := items(t, res)
				if len(page) > 50 || pages > 3 || res.Body["total"] != float64(101) {
					t.Fatalf("page %d: %d warnings, total %v", pages, len(page), res.Body["total"])
				}
				for _, w := range page {
					walked = append(walked, w["id"].(string))
				}
				if cursor = res.Body["next_cursor"].(string); cursor == "" {
					break
				}
			}
			if distinct := len(slices.Compact(slices.Sorted(slices.Values(walked)))); len(walked) != 101 || distinct != 101 {
				t.Fatalf("the pages gave %d warnings, %d of them different; want 101", len(walked), distinct)
			}
			for _, bad := range []struct{ query, field string }{{"cursor=%25%25", "cursor"}, {"limit=0", "limit"}, {"limit=101", "limit"}} {
				res := office.JSON(t, "GET", "/api/v1/warnings?"+bad.query, nil)
				if _, _, fields := apiErr(res); res.Status != http.StatusBadRequest || !han.MatchString(fields[bad.field]) {
					t.Errorf("%s: %d %s, want 400 naming %s", bad.query, res.Status, res.Raw, bad.field)
				}
			}

			page := newConsoleClient(app)
			page.login(t, "office1")
			res := page.get(t, "/console/warnings?rule=forbidden_demand")
			mustStatus(t, "warnings page", res, http.StatusOK)
			mustContain(t, "warnings page", res, "预警 101 条", "下一页")
			if n := bytes.Count(res.Raw, []byte("data-warning=")); n != 100 {
				t.Fatalf("the first page lists %d warnings, want 100", n)
			}
			next := regexp.MustCompile(`href="([^"]+)" rel="next"`).FindSubmatch(res.Raw)
			if next == nil {
				t.Fatal("no link to the next page")
			}
			res = page.get(t, html.UnescapeString(string(next[1])))
			mustContain(t, "second page", res, "预警 101 条", "回到第一页")
			if n := bytes.Count(res.Raw, []byte("data-warning=")); n != 1 || bytes.Contains(res.Raw, []byte(`rel="next"`)) {
				t.Fatalf("the second page lists %d warnings (want 1) or links further", n)
			}
		})
	}
}
