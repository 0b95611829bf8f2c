package api_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"jianfu/apptest"
	"jianfu/models"
	"jianfu/models/evaluation"
	"jianfu/testenv"
)

// statsApp is a running app with a small county and four cases handled
// through the store's workflow:
//
//	A  web    dual → t1 + d1, 属实, both rectifications accepted, reply, 满意 → closed
//	B  phone  rejected
//	C  web    accepted, waiting for dispatch
//	D  web    single → t1, 不属实, reply, closed unrated
type statsApp struct {
	app                     *apptest.App
	office, leader, liaison *apptest.Client
	caseA, caseC, caseD     uint64
	period                  string // ?from=…&to=… around today
}

func newStatsApp(t *testing.T, b testenv.Backend) *statsApp {
	t.Helper()
	ctx := context.Background()
	a := apptest.Start(t, apptest.Options{Backend: b, NoWorker: true})
	s := a.Store
	a.CreateUnit(t, "t1", "东城镇", models.UnitTownship)
	a.CreateUnit(t, "d1", "县教育局", models.UnitCounty)
	users := map[string]models.Principal{}
	for _, u := range []models.UserParams{
		{Username: "office1", Password: "password-123", Role: models.RoleOffice},
		{Username: "leader1", Password: "password-123", Role: models.RoleLeader},
		{Username: "liaison1", Password: "password-123", Role: models.RoleLiaison, UnitCode: "t1"},
	} {
		row := a.CreateUser(t, u)
		users[u.Username] = models.Principal{UserID: row.ID, Username: u.Username, Role: u.Role, UnitID: row.UnitID, UnitCode: u.UnitCode}
	}
	office := users["office1"]
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	tip := func(channel string) models.TipReceipt {
		t.Helper()
		r, err := s.CreateTip(ctx, models.TipInput{Category: "digital", Title: "重复填报",
			Content: "同一组数据要在三个系统里重复填报，每周还要截图上报。", Township: "t1", Anonymous: true, Channel: channel})
		must("create tip", err)
		return r
	}
	sa := &statsApp{app: a}
	// A: dual assignment to the end, rated 满意.
	ra := tip(models.ChannelWeb)
	sa.caseA = ra.CaseID
	must("accept A", s.AcceptCase(ctx, office, models.AcceptParams{CaseID: ra.CaseID}))
	must("assign A", s.AssignCase(ctx, office, models.AssignParams{CaseID: ra.CaseID, Assignments: []models.AssignmentInput{
		{Unit: "t1", Role: models.AssignGrassroots}, {Unit: "d1", Role: models.AssignCounty}}}))
	must("verify A", s.RecordVerification(ctx, office, models.VerificationParams{CaseID: ra.CaseID,
		Finding: models.FindingSubstantiated, Report: "经联合核查，反映属实。"}))
	detail, err := s.CaseDetail(ctx, office, ra.CaseID)
	must("load A", err)
	for _, as := range detail.Assignments {
		_, err := s.SubmitRectification(ctx, office, models.RectificationParams{AssignmentID: as.ID, Report: "已整合系统，停止重复填报。"})
		must("rectify A", err)
		_, err = s.ReviewRectification(ctx, office, models.ReviewParams{AssignmentID: as.ID, Decision: models.DecisionAccept})
		must("review A", err)
	}
	must("reply A", s.ReplyToTipster(ctx, office, models.ReplyParams{CaseID: ra.CaseID, Text: "经核查属实，已整改。"}))
	must("rate A", s.EvaluateTip(ctx, ra.Receipt, models.RatingSatisfied, ""))
	// B: rejected.
	rb := tip(models.ChannelPhone)
	must("reject B", s.RejectCase(ctx, office, models.RejectParams{CaseID: rb.CaseID, Reason: "不属于受理范围"}))
	// C: accepted only.
	rc := tip(models.ChannelWeb)
	sa.caseC = rc.CaseID
	must("accept C", s.AcceptCase(ctx, office, models.AcceptParams{CaseID: rc.CaseID}))
	// D: single assignment, 不属实, closed without a rating.
	rd := tip(models.ChannelWeb)
	sa.caseD = rd.CaseID
	must("accept D", s.AcceptCase(ctx, office, models.AcceptParams{CaseID: rd.CaseID}))
	must("assign D", s.AssignCase(ctx, office, models.AssignParams{CaseID: rd.CaseID,
		Assignments: []models.AssignmentInput{{Unit: "t1", Role: models.AssignGrassroots}}}))
	must("verify D", s.RecordVerification(ctx, office, models.VerificationParams{CaseID: rd.CaseID,
		Finding: models.FindingUnsubstantiated, Report: "经核查，反映不属实。"}))
	must("reply D", s.ReplyToTipster(ctx, office, models.ReplyParams{CaseID: rd.CaseID, Text: "经核查不属实。"}))
	must("close D", s.CloseCase(ctx, office, models.CloseParams{CaseID: rd.CaseID}))

	today := time.Now().In(models.Shanghai())
	sa.period = "from=" + today.AddDate(0, 0, -1).Format("2006-01-02") + "&to=" + today.AddDate(0, 0, 1).Format("2006-01-02")
	sa.office = a.Login(t, "office1", "password-123")
	sa.leader = a.BearerClient(t, "leader1")
	sa.liaison = a.Login(t, "liaison1", "password-123")
	return sa
}

func num(v any) string {
	switch x := v.(type) {
	case nil:
		return "—"
	case float64:
		if x == float64(int64(x)) && !strings.Contains(fmt.Sprint(x), ".") {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'f', 1, 64)
	}
	return fmt.Sprint(v)
}

// figure returns a totals figure of the JSON as the tables show it: a
// count, a rate's percent with one decimal, or "—".
func figure(t *testing.T, row map[string]any, id string) string {
	t.Helper()
	if stage, ok := strings.CutPrefix(id, "days_"); ok {
		return dec(row["stage_days"].(map[string]any)[stage].(map[string]any)["value"])
	}
	switch v := row[id].(type) {
	case map[string]any:
		return dec(v["percent"])
	case float64:
		return strconv.FormatInt(int64(v), 10)
	}
	t.Fatalf("no figure %s in %v", id, row)
	return ""
}

func dec(v any) string {
	if v == nil {
		return "—"
	}
	return strconv.FormatFloat(v.(float64), 'f', 1, 64)
}

func TestStatsAPI(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			sa := newStatsApp(t, b)
			res := sa.leader.JSON(t, http.MethodGet, "/api/v1/stats?"+sa.period, nil)
			if res.Status != http.StatusOK {
				t.Fatalf("stats: %d %s", res.Status, res.Raw)
			}
			totals := res.Body["totals"].(map[string]any)
			// A, B, C, D received; B rejected; A and D closed of the 3 accepted;
			// A rated 满意, D unrated; A dual-assigned.
			for id, want := range map[string]string{
				"received": "4", "received_web": "3", "received_phone": "1", "accepted": "3", "rejected": "1",
				"dual_assigned": "1", "substantiated": "1", "unsubstantiated": "1", "closed": "2",
				"closure_rate": "66.7", "closed_on_time": "2", "on_time_rate": "100.0", "open": "1",
				"rated": "1", "satisfied": "1", "unrated": "1", "satisfaction_rate": "100.0",
			} {
				if got := figure(t, totals, id); got != want {
					t.Errorf("totals %s = %s, want %s", id, got, want)
				}
			}
			cr := totals["closure_rate"].(map[string]any)
			if cr["numerator"] != 2.0 || cr["denominator"] != 3.0 {
				t.Errorf("closure rate %v, want 2/3", cr)
			}

			// The xlsx: every sheet, cells equal to the JSON.
			x := sa.office.JSON(t, http.MethodGet, "/api/v1/stats/export.xlsx?"+sa.period, nil)
			if x.Status != http.StatusOK || !strings.Contains(x.Header.Get("Content-Disposition"), ".xlsx") {
				t.Fatalf("xlsx: %d %v", x.Status, x.Header)
			}
			f, err := excelize.OpenReader(bytes.NewReader(x.Raw))
			if err != nil {
				t.Fatalf("open xlsx: %v", err)
			}
			defer f.Close()
			sheets := f.GetSheetList()
			want := []string{"总体情况", "按来源渠道", "按承办单位", "按问题类别", "按乡镇（街道）", "问题处置", "各阶段平均用时", "典型问题通报",
				"扫码服务评价", "干部问卷", "指标说明"}
			if strings.Join(sheets, ",") != strings.Join(want, ",") {
				t.Fatalf("sheets %v, want %v", sheets, want)
			}
			rows, err := f.GetRows("总体情况")
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(rows[0], ",") != "指标,标识,数值,单位,分子,分母" {
				t.Errorf("summary header %v", rows[0])
			}
			seen := 0
			for _, r := range rows[1:] {
				if len(r) < 3 || r[1] == "" {
					continue
				}
				id, cell := r[1], r[2]
				var want string
				switch id {
				case "typical_published":
					want = num(res.Body["typical"].(map[string]any)["published"])
				case "typical_batches":
					want = num(res.Body["typical"].(map[string]any)["batches"])
				default:
					want = figure(t, totals, id)
				}
				if cell != want {
					t.Errorf("xlsx summary %s = %q, JSON %q", id, cell, want)
				}
				seen++
			}
			if seen < 30 {
				t.Errorf("summary sheet has %d figures", seen)
			}
			// A numeric cell is a number, not text.
			if typ, _ := f.GetCellType("总体情况", "C2"); typ == excelize.CellTypeSharedString || typ == excelize.CellTypeInlineString {
				t.Errorf("received is stored as text")
			}
			// Per unit: t1 has A (dual) and D, d1 only A (a unit with only dual assignments).
			headerIDs := map[string]string{"收到线索": "received", "受理": "accepted", "双交办": "dual_assigned", "办结": "closed",
				"办结率(%)": "closure_rate", "按时办结率(%)": "on_time_rate", "当前逾期": "overdue", "逾期率(%)": "overdue_rate",
				"满意率(%)": "satisfaction_rate", "基层承办": "as_grassroots", "部门承办": "as_county"}
			units, _ := f.GetRows("按承办单位")
			byUnit := map[string]map[string]any{}
			for _, u := range res.Body["by_unit"].([]any) {
				u := u.(map[string]any)
				byUnit[u["key"].(string)] = u
			}
			if len(units) != 3 || len(byUnit) != 2 {
				t.Fatalf("unit sheet %d rows, JSON %d units", len(units), len(byUnit))
			}
			for _, r := range units[1:] {
				u := byUnit[r[0]]
				for col, h := range units[0] {
					id, ok := headerIDs[h]
					if !ok {
						continue
					}
					if got, want := r[col], figure(t, u, id); got != want {
						t.Errorf("xlsx unit %s %s = %q, JSON %q", r[0], h, got, want)
					}
				}
			}
			if d1 := byUnit["D1"]; d1["dual_assigned"] != 1.0 || d1["received"] != 1.0 || d1["as_county"] != 1.0 {
				t.Errorf("d1 = %v", d1)
			}
			defs, _ := f.GetRows("指标说明")
			last := defs[len(defs)-1-len(evaluation.Definitions)] // the core figures, then 码上评议's
			if len(defs) < 30 || !strings.Contains(strings.Join(last, ""), "县直部门") {
				t.Errorf("definitions sheet: %d rows", len(defs))
			}

			// CSV of the summary: the same numbers.
			c := sa.office.JSON(t, http.MethodGet, "/api/v1/stats/export.csv?table=summary&"+sa.period, nil)
			if c.Status != http.StatusOK || !strings.HasPrefix(c.Header.Get("Content-Type"), "text/csv") {
				t.Fatalf("csv: %d %s", c.Status, c.Raw)
			}
			recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(c.Raw, []byte("\ufeff")))).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range recs {
				if i < len(rows) && r[2] != rows[i][2] {
					t.Errorf("csv row %d = %v, xlsx %v", i, r, rows[i])
				}
			}
			for _, table := range models.TableIDs {
				if r := sa.office.JSON(t, http.MethodGet, "/api/v1/stats/export.csv?table="+table+"&"+sa.period, nil); r.Status != http.StatusOK {
					t.Errorf("csv %s: %d", table, r.Status)
				}
			}
			if r := sa.office.JSON(t, http.MethodGet, "/api/v1/stats/export.csv?table=nope", nil); r.Status != http.StatusBadRequest {
				t.Errorf("unknown table: %d", r.Status)
			}

			// The report (Markdown and the console page) carries the JSON's numbers.
			sentence := fmt.Sprintf("共收到并核查处理相关线索%s条，办结率%s%%。", figure(t, totals, "received"), figure(t, totals, "closure_rate"))
			md := sa.leader.JSON(t, http.MethodGet, "/api/v1/stats/report?"+sa.period, nil)
			if md.Status != http.StatusOK || !strings.Contains(string(md.Raw), sentence) ||
				!strings.Contains(string(md.Raw), fmt.Sprintf("满意率%s%%", figure(t, totals, "satisfaction_rate"))) {
				t.Errorf("report %d lacks %q:\n%s", md.Status, sentence, md.Raw)
			}
			page := sa.office.JSON(t, http.MethodGet, "/console/report?"+sa.period, nil)
			if page.Status != http.StatusOK || !strings.Contains(string(page.Raw), sentence) || !strings.Contains(string(page.Raw), "<table>") {
				t.Errorf("report page %d lacks %q", page.Status, sentence)
			}

			// Who may read: office, leader (and admin); a liaison and strangers not.
			if r := sa.liaison.JSON(t, http.MethodGet, "/api/v1/stats", nil); r.Status != http.StatusForbidden {
				t.Errorf("liaison stats: %d", r.Status)
			}
			if r := sa.liaison.JSON(t, http.MethodGet, "/api/v1/stats/export.xlsx", nil); r.Status != http.StatusForbidden {
				t.Errorf("liaison xlsx: %d", r.Status)
			}
			if r := sa.app.Client().JSON(t, http.MethodGet, "/api/v1/stats", nil); r.Status != http.StatusUnauthorized {
				t.Errorf("anonymous stats: %d", r.Status)
			}
			for _, q := range []string{"from=2025-13-01", "from=2025-02-01&to=2025-01-01", "year=20x5", "unit=nope"} {
				if r := sa.office.JSON(t, http.MethodGet, "/api/v1/stats?"+q, nil); r.Status != http.StatusBadRequest {
					t.Errorf("stats?%s: %d, want 400", q, r.Status)
				}
			}
			// One unit's figures.
			r := sa.office.JSON(t, http.MethodGet, "/api/v1/stats?unit=d1&"+sa.period, nil)
			if r.Status != http.StatusOK || figure(t, r.Body["totals"].(map[string]any), "received") != "1" {
				t.Errorf("unit d1: %d %s", r.Status, r.Raw)
			}
		})
	}
}

// TestStatsAPIEmptyPeriod: no tips, so no rates: null in JSON, "—" in the
// xlsx and the report, never NaN or 0%.
func TestStatsAPIEmptyPeriod(t *testing.T) {
	b := testenv.Backends(t)[0]
	sa := newStatsApp(t, b)
	res := sa.office.JSON(t, http.MethodGet, "/api/v1/stats?year=2001", nil)
	if res.Status != http.StatusOK {
		t.Fatalf("%d %s", res.Status, res.Raw)
	}
	totals := res.Body["totals"].(map[string]any)
	for _, id := range []string{"closure_rate", "on_time_rate", "overdue_rate", "satisfaction_rate"} {
		if p := totals[id].(map[string]any)["percent"]; p != nil {
			t.Errorf("%s percent = %v, want null", id, p)
		}
	}
	x := sa.office.JSON(t, http.MethodGet, "/api/v1/stats/export.xlsx?year=2001", nil)
	f, err := excelize.OpenReader(bytes.NewReader(x.Raw))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, _ := f.GetRows("总体情况")
	for _, r := range rows[1:] {
		if len(r) > 2 && r[1] == "closure_rate" && r[2] != "—" {
			t.Errorf("empty closure rate cell %q", r[2])
		}
	}
	md := sa.office.JSON(t, http.MethodGet, "/api/v1/stats/report?year=2001", nil)
	if !strings.Contains(string(md.Raw), "2001年度") || !strings.Contains(string(md.Raw), "办结率—") ||
		strings.Contains(string(md.Raw), "NaN") || strings.Contains(string(md.Raw), "0.0%") {
		t.Errorf("empty report:\n%s", md.Raw)
	}
}

func TestTypicalAPI(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			sa := newStatsApp(t, b)
			body := map[string]string{"title": "重复填报数据问题",
				"summary": "某县直部门要求乡镇在三个系统重复填报同一组数据并每周截图上报，经核查属实，已责令整合系统、停止截图上报。"}
			path := fmt.Sprintf("/api/v1/cases/%d/typical", sa.caseA)
			if r := sa.leader.JSON(t, http.MethodPost, path, body); r.Status != http.StatusForbidden {
				t.Errorf("leader publishes: %d", r.Status)
			}
			if r := sa.liaison.JSON(t, http.MethodPost, path, body); r.Status != http.StatusForbidden {
				t.Errorf("liaison publishes: %d", r.Status)
			}
			if r := sa.office.JSON(t, http.MethodPost, fmt.Sprintf("/api/v1/cases/%d/typical", sa.caseC), body); r.Status != http.StatusConflict {
				t.Errorf("open case: %d %s", r.Status, r.Raw)
			}
			if r := sa.office.JSON(t, http.MethodPost, path, map[string]string{"title": "短", "summary": "短"}); r.Status != http.StatusBadRequest {
				t.Errorf("short summary: %d", r.Status)
			}
			r := sa.office.JSON(t, http.MethodPost, path, body)
			if r.Status != http.StatusCreated {
				t.Fatalf("publish: %d %s", r.Status, r.Raw)
			}
			body["title"] = "重复填报数据问题通报"
			if r := sa.office.JSON(t, http.MethodPost, path, body); r.Status != http.StatusOK {
				t.Errorf("revise: %d %s", r.Status, r.Raw)
			}
			if r := sa.office.JSON(t, http.MethodPost, "/api/v1/cases/999999/typical", body); r.Status != http.StatusNotFound {
				t.Errorf("unknown case: %d", r.Status)
			}

			// Public: no login; only the title, summary, category and date.
			pub := sa.app.Client().JSON(t, http.MethodGet, "/api/v1/typical-cases", nil)
			items := pub.Body["items"].([]any)
			if pub.Status != http.StatusOK || len(items) != 1 {
				t.Fatalf("public list: %d %s", pub.Status, pub.Raw)
			}
			item := items[0].(map[string]any)
			var keys []string
			for k := range item {
				keys = append(keys, k)
			}
			if len(keys) != 5 || item["title"] != body["title"] || item["category"].(map[string]any)["code"] != "digital" {
				t.Errorf("public item %v", item)
			}
			if strings.Contains(string(pub.Raw), "重复填报\",\"content") || strings.Contains(string(pub.Raw), "同一组数据要在三个系统里") {
				t.Errorf("the tip's own text leaks: %s", pub.Raw)
			}
			page := sa.app.Client().JSON(t, http.MethodGet, "/typical", nil)
			if page.Status != http.StatusOK || !strings.Contains(string(page.Raw), body["title"]) ||
				strings.Contains(string(page.Raw), "同一组数据要在三个系统里") {
				t.Errorf("typical page %d:\n%s", page.Status, page.Raw)
			}
			// Counted in the figures of the period it was published in.
			st := sa.office.JSON(t, http.MethodGet, "/api/v1/stats?"+sa.period, nil)
			if tp := st.Body["typical"].(map[string]any); tp["published"] != 1.0 || tp["batches"] != 1.0 {
				t.Errorf("typical figures %v", tp)
			}
		})
	}
}
