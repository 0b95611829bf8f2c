package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"jianfu/apptest"
	"jianfu/models"
	"jianfu/models/evaluation"
	"jianfu/models/registry"
	"jianfu/testenv"
)

// State a fixture case is brought to before an endpoint is called.
const (
	pCollect     = "collect"
	pAssign      = "assign"
	pVerify      = "verify"
	pRectify     = "rectify"
	pSubmitted   = "rectify/submitted"
	pExtension   = "rectify/extension_requested"
	pFeedback    = "feedback"
	pReplied     = "feedback/replied"
	pUnsatisfied = "feedback/unsatisfied"
)

// bring makes a case in state through the store (the HTTP path is what is
// under test, not the fixture) and returns it and its D1 assignment.
func (w *wfCounty) bring(state string) (uint64, uint64) {
	w.t.Helper()
	s, ctx, o := w.a.Store, w.ctx, w.office
	r, err := s.CreateTip(ctx, models.TipInput{Category: "inspections", Title: "检查太多", Township: "T1",
		Content: "一个月内三个部门来检查同一项工作，都要同样的台账。", Anonymous: true})
	wfMust(w.t, err)
	id := r.CaseID
	if state == pCollect {
		return id, 0
	}
	wfMust(w.t, s.AcceptCase(ctx, o, models.AcceptParams{CaseID: id}))
	if state == pAssign {
		return id, 0
	}
	wfMust(w.t, s.AssignCase(ctx, o, models.AssignParams{CaseID: id, Assignments: []models.AssignmentInput{
		{Unit: "T1", Role: models.AssignGrassroots}, {Unit: "D1", Role: models.AssignCounty}}}))
	d, err := s.CaseDetail(ctx, o, id)
	wfMust(w.t, err)
	aid := d.Assignments[1].ID
	if state == pVerify {
		return id, aid
	}
	wfMust(w.t, s.RecordVerification(ctx, o, models.VerificationParams{CaseID: id, Finding: models.FindingSubstantiated, Report: "属实。"}))
	switch state {
	case pRectify:
		return id, aid
	case pSubmitted:
		_, err := s.SubmitRectification(ctx, o, models.RectificationParams{AssignmentID: aid, Report: "已整改。"})
		wfMust(w.t, err)
		return id, aid
	case pExtension:
		_, err := s.RequestExtension(ctx, o, models.ExtensionParams{AssignmentID: aid, WorkingDays: 3, Reason: "需要时间"})
		wfMust(w.t, err)
		return id, aid
	}
	for _, a := range d.Assignments {
		_, err := s.SubmitRectification(ctx, o, models.RectificationParams{AssignmentID: a.ID, Report: "已整改。"})
		wfMust(w.t, err)
		_, err = s.ReviewRectification(ctx, o, models.ReviewParams{AssignmentID: a.ID, Decision: models.DecisionAccept})
		wfMust(w.t, err)
	}
	if state == pFeedback {
		return id, aid
	}
	wfMust(w.t, s.ReplyToTipster(ctx, o, models.ReplyParams{CaseID: id, Text: "已整改。"}))
	if state == pReplied {
		return id, aid
	}
	// The tipster's rating goes through the receipt.
	wfMust(w.t, s.EvaluateTip(ctx, r.Receipt, models.RatingUnsatisfied, ""))
	return id, aid
}

func wfMust(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestPermissionMatrix calls every staff endpoint as every kind of user,
// for a case (or assignment) of their own unit and of another unit, and
// checks the status. "own" is the liaison of D1, which holds the
// assignment acted on; "other" is the liaison of D2, which has nothing to
// do with the case.
// csvBody is a matrix row's body sent as text/csv (a registry import).
type csvBody string

func TestPermissionMatrix(t *testing.T) {
	const (
		ok   = http.StatusOK
		made = http.StatusCreated
		gone = http.StatusNoContent
		no   = http.StatusForbidden
		nf   = http.StatusNotFound
		anon = http.StatusUnauthorized
	)
	type row struct {
		method, path string // %d: the case or assignment id
		state        string // "" needs no case
		assignment   bool   // the path takes the assignment id
		body         func(n int) any
		// statuses for admin, office, leader, liaison-d1 (own), liaison-d2 (other)
		want [5]int
	}
	text := func(k, v string) func(int) any { return func(int) any { return map[string]string{k: v} } }
	none := func(int) any { return nil }
	caseAction := [5]int{ok, ok, no, no, nf} // the case is visible to its own unit's liaison
	undispatched := [5]int{ok, ok, no, nf, nf}
	unitAction := [5]int{ok, ok, no, ok, nf}
	adminOnly := func(status int) [5]int { return [5]int{status, no, no, no, no} }
	rows := []row{
		{"GET", "/api/v1/cases", "", false, none, [5]int{ok, ok, ok, ok, ok}},
		{"GET", "/api/v1/cases/%d", pVerify, false, none, [5]int{ok, ok, ok, ok, nf}},
		{"POST", "/api/v1/cases", "", false, func(int) any {
			return map[string]any{"channel": "phone", "category": "digital", "content": "来电反映：每天要在五个App打卡。"}
		}, [5]int{made, made, no, no, no}},
		{"POST", "/api/v1/cases/%d/accept", pCollect, false, none, undispatched},
		{"POST", "/api/v1/cases/%d/reject", pCollect, false, text("reason", "不属于受理范围"), undispatched},
		{"POST", "/api/v1/cases/%d/merge", pCollect, false, nil, undispatched},
		{"POST", "/api/v1/cases/%d/assign", pAssign, false, func(int) any {
			return map[string]any{"assignments": []map[string]string{{"unit": "D1", "role": "county"}}}
		}, undispatched},
		// 改派 in verify: the office's alone; D1 keeps the case, D2 never sees it.
		{"POST", "/api/v1/cases/%d/assign", pVerify, false, func(int) any {
			return map[string]any{"assignments": []map[string]string{{"unit": "D1", "role": "county"}}}
		}, caseAction},
		{"POST", "/api/v1/cases/%d/verification", pVerify, false, func(int) any {
			return map[string]any{"finding": "partly", "report": "部分属实。"}
		}, caseAction},
		{"POST", "/api/v1/assignments/%d/rectification", pRectify, true, text("report", "已整改。"), unitAction},
		{"POST", "/api/v1/assignments/%d/review", pSubmitted, true, text("decision", "accept"), caseAction},
		{"POST", "/api/v1/assignments/%d/extension", pRectify, true, func(int) any {
			return map[string]any{"working_days": 5, "reason": "需要时间"}
		}, unitAction},
		{"POST", "/api/v1/assignments/%d/extension/decision", pExtension, true, text("decision", "approve"), caseAction},
		{"POST", "/api/v1/cases/%d/reply", pFeedback, false, text("text", "已办理。"), caseAction},
		{"POST", "/api/v1/cases/%d/reopen", pUnsatisfied, false, none, caseAction},
		{"POST", "/api/v1/cases/%d/close", pReplied, false, none, caseAction},
		// Contact reveal: the office alone (§10.2), not the administrator.
		{"POST", "/api/v1/cases/%d/contact-reveal", pVerify, false, text("reason", "核实情况"), [5]int{no, ok, no, no, nf}},
		{"POST", "/api/v1/cases/%d/verification-parts", pVerify, false, func(int) any {
			return map[string]any{"finding": "partly", "report": "本单位核查：部分属实。"}
		}, [5]int{no, no, no, made, nf}},
		{"POST", "/api/v1/cases/%d/questions", pVerify, false, text("text", "请问检查是哪一天？"), [5]int{made, made, no, no, nf}},
		{"POST", "/api/v1/cases/%d/disposals", pRectify, false, func(int) any {
			return map[string]any{"measure": "talk_reminder", "persons": 1}
		}, [5]int{made, made, no, no, nf}},

		{"GET", "/api/v1/admin/units", "", false, none, adminOnly(ok)},
		{"POST", "/api/v1/admin/units", "", false, func(n int) any {
			return map[string]string{"code": fmt.Sprintf("X%d", n), "name": "新乡镇", "kind": "township"}
		}, adminOnly(made)},
		{"PUT", "/api/v1/admin/units/D2", "", false, text("name", "县教育体育局"), adminOnly(ok)},
		{"GET", "/api/v1/admin/users", "", false, none, adminOnly(ok)},
		{"POST", "/api/v1/admin/users", "", false, func(n int) any {
			return map[string]string{"username": fmt.Sprintf("new%d", n), "password": "password-123", "role": "leader"}
		}, adminOnly(made)},
		{"GET", "/api/v1/admin/categories", "", false, none, adminOnly(ok)},
		{"POST", "/api/v1/admin/categories", "", false, func(n int) any {
			return map[string]string{"code": fmt.Sprintf("c%d", n), "name": "新类别"}
		}, adminOnly(made)},
		{"GET", "/api/v1/admin/routing-rules", "", false, none, adminOnly(ok)},
		{"POST", "/api/v1/admin/routing-rules", "", false, func(int) any {
			return map[string]any{"keyword": "台账", "unit": "D1", "role": "county"}
		}, adminOnly(made)},
		{"PUT", "/api/v1/admin/routing-rules/rule", "", false, func(int) any {
			return map[string]any{"keyword": "考核", "unit": "D1", "role": "county", "priority": 5}
		}, adminOnly(ok)},
		{"DELETE", "/api/v1/admin/routing-rules/rule", "", false, none, adminOnly(gone)},
		{"GET", "/api/v1/admin/holidays/2026", "", false, none, adminOnly(ok)},
		{"PUT", "/api/v1/admin/holidays/2027", "", false, func(int) any {
			return map[string]any{"days": []map[string]string{{"day": "2027-01-01", "kind": "off", "name": "元旦"}}}
		}, adminOnly(ok)},
		{"GET", "/api/v1/admin/deadlines", "", false, none, adminOnly(ok)},
		// 码上评议: surveys are the administrator's; results are statistics.
		{"GET", "/api/v1/admin/surveys", "", false, none, adminOnly(ok)},
		{"POST", "/api/v1/admin/surveys", "", false, func(int) any { return surveyDefinition }, adminOnly(made)},
		{"POST", "/api/v1/admin/surveys/survey/codes", "", false, func(int) any { return map[string]int{"count": 2} }, adminOnly(made)},
		{"GET", "/api/v1/surveys/survey/results", "", false, none, [5]int{ok, ok, ok, no, no}},

		// The online monitoring of burdens: everyone reads the registry
		// (a liaison their own unit's), a liaison registers only for their
		// own unit, leaders only read; quotas are the admin's.
		{"GET", "/api/v1/registry/groups", "", false, none, [5]int{ok, ok, ok, ok, ok}},
		{"POST", "/api/v1/registry/groups", "", false, func(int) any {
			return map[string]any{"unit": "D1", "name": "工作群", "owner": "县数据资源管理局", "demands": []string{"checkin"}}
		}, [5]int{made, made, no, made, no}},
		// An import is refused row by row for another unit (400, nothing
		// stored); a status change of another unit's group is a 404.
		{"POST", "/api/v1/registry/groups/import", "", false, func(int) any {
			return csvBody("unit,name,owner,demands\nD1,导入的工作群,县数据资源管理局,checkin\n")
		}, [5]int{made, made, no, made, http.StatusBadRequest}},
		{"PUT", "/api/v1/registry/groups/entry", "", false, text("status", "closed"), [5]int{ok, ok, no, ok, nf}},
		{"GET", "/api/v1/warnings", "", false, none, [5]int{ok, ok, ok, ok, ok}},
		// Statistics and the digest preview: office, admin and leaders.
		{"GET", "/api/v1/stats?year=2026", "", false, none, [5]int{ok, ok, ok, no, no}},
		{"GET", "/api/v1/stats/export.xlsx?year=2026", "", false, none, [5]int{ok, ok, ok, no, no}},
		{"GET", "/api/v1/stats/export.csv?year=2026", "", false, none, [5]int{ok, ok, ok, no, no}},
		{"GET", "/api/v1/stats/report?year=2026", "", false, none, [5]int{ok, ok, ok, no, no}},
		{"GET", "/api/v1/digests/preview?unit=D1", "", false, none, [5]int{ok, ok, ok, no, no}},
		{"GET", "/api/v1/stats/monitoring?year=2026", "", false, none, [5]int{ok, ok, ok, no, no}},
		{"GET", "/api/v1/admin/quotas/2026", "", false, none, adminOnly(ok)},
		{"PUT", "/api/v1/admin/quotas/2026", "", false, func(int) any {
			return map[string]any{"quotas": []map[string]any{{"kind": "documents", "unit": "D1", "limit": 5}}}
		}, adminOnly(ok)},
		{"GET", "/api/v1/admin/tokens", "", false, none, adminOnly(ok)},
		{"PUT", "/api/v1/admin/users/leader1", "", false, text("role", "leader"), adminOnly(ok)},
		// The audit log is the auditor's alone (see auditorWant).
		{"GET", "/api/v1/audit", "", false, none, [5]int{no, no, no, no, no}},
		{"GET", "/api/v1/audit/export.csv", "", false, none, [5]int{no, no, no, no, no}},
	}
	// The auditor (安全审计员) reads the audit log and nothing else.
	auditorWant := map[string]int{"/api/v1/audit": ok, "/api/v1/audit/export.csv": ok}
	who := []string{"admin", "office", "leader", "liaison-d1", "liaison-d2"}
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			w := newCounty(t, b, wfDeadlines)
			target, _ := w.bring(pCollect) // to merge into
			var ruleID uint64              // a rule to edit and delete
			group, err := registry.New(w.a.Store).Create(w.ctx, w.office, registry.KindGroups,
				registry.EntryInput{Unit: "D1", Name: "工作群", Owner: "县数据资源管理局"})
			wfMust(t, err)
			sv, err := evaluation.New(w.a.Store).CreateSurvey(w.ctx, surveyDefinition)
			wfMust(t, err)
			n := 0
			for _, r := range rows {
				var id, aid uint64
				fresh := true
				for i, name := range append(who, "auditor", "anonymous") {
					n++
					if fresh && r.state != "" {
						id, aid = w.bring(r.state)
						fresh = false
					}
					path := r.path
					switch {
					case r.state != "" && r.assignment:
						path = fmt.Sprintf(path, aid)
					case r.state != "":
						path = fmt.Sprintf(path, id)
					}
					if path == "/api/v1/admin/routing-rules/rule" {
						if ruleID == 0 {
							rule, err := w.a.Store.CreateRoutingRule(w.ctx, models.RoutingRuleParams{Keyword: "检查", Unit: "D1", Role: "county"})
							wfMust(t, err)
							ruleID = rule.ID
						}
						path = fmt.Sprintf("/api/v1/admin/routing-rules/%d", ruleID)
					}
					path = strings.Replace(path, "/surveys/survey/", fmt.Sprintf("/surveys/%d/", sv.ID), 1)
					path = strings.Replace(path, "/groups/entry", fmt.Sprintf("/groups/%d", group.ID), 1)
					var body any
					if r.body != nil {
						body = r.body(n)
					} else {
						body = map[string]any{"into": target}
					}
					want := anon
					switch {
					case i < len(who):
						want = r.want[i]
					case name == "auditor":
						want = no
						if st, ok := auditorWant[r.path]; ok {
							want = st
						}
					}
					var res apptest.Response
					if csv, ok := body.(csvBody); ok {
						res = w.c[name].JSON(t, r.method, path, string(csv), "Content-Type", "text/csv")
					} else {
						res = w.c[name].JSON(t, r.method, path, body)
					}
					if res.Status != want {
						t.Errorf("%s %s as %s: %d %s, want %d", r.method, r.path, name, res.Status, res.Raw, want)
					}
					if res.Status < 300 && r.method != "GET" {
						fresh = true // the action changed the case: the next user gets a new one
						if r.method == "DELETE" {
							ruleID = 0
						}
					}
				}
			}
		})
	}
}
