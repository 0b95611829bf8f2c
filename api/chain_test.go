package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"jianfu/models"
	"jianfu/testenv"
)

// TestJointVerificationToDisposal walks a dual-assigned case to its end:
// both units of the verification team submit their parts, the office sees
// both when it records the finding, both units rectify, the office records
// a disposal with persons, replies, and the tipster rates; the statistics
// and the report count the disposal.
func TestJointVerificationToDisposal(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			w := newCounty(t, b, wfDeadlines)
			id, receipt := w.submit("村里每天填报五张表")
			path := fmt.Sprintf("/api/v1/cases/%d", id)
			w.do("office", http.MethodPost, path+"/accept", nil, http.StatusOK)
			w.do("office", http.MethodPost, path+"/assign", map[string]any{
				"assignments": []map[string]string{{"unit": "T1", "role": "grassroots"}, {"unit": "D1", "role": "county"}},
				"verify_team": []string{"T1", "D1"}}, http.StatusOK)

			// Each unit's part, with the case's verify clock while awaited.
			d := w.detail("office", id)
			if len(d.VerificationParts) != 2 || d.VerificationParts[0].Submitted || d.VerificationParts[0].DueAt == nil {
				t.Fatalf("awaited parts %+v", d.VerificationParts)
			}
			if !containsStr(w.detail("liaison-t1", id).Actions, models.ActionVerificationPart) {
				t.Errorf("the township's liaison is not offered its part")
			}
			w.do("liaison-t1", http.MethodPost, path+"/verification-parts",
				map[string]string{"finding": "substantiated", "report": "镇党政办确有每日报表要求，属实。"}, http.StatusCreated)
			w.do("liaison-t1", http.MethodPost, path+"/verification-parts",
				map[string]string{"finding": "partly", "report": "再交一次。"}, http.StatusConflict)
			w.do("liaison-d1", http.MethodPost, path+"/verification-parts",
				map[string]string{"finding": "maybe", "report": "不确定。"}, http.StatusBadRequest)
			w.do("liaison-d2", http.MethodPost, path+"/verification-parts",
				map[string]string{"finding": "partly", "report": "不是本单位的事。"}, http.StatusNotFound)
			w.do("office", http.MethodPost, path+"/verification-parts",
				map[string]string{"finding": "partly", "report": "办公室代交。"}, http.StatusForbidden)
			w.do("liaison-d1", http.MethodPost, path+"/verification-parts",
				map[string]string{"finding": "partly", "report": "报表系统由县里统一部署，部分属实。"}, http.StatusCreated)
			if own := w.detail("liaison-d1", id).VerificationParts; len(own) != 1 || own[0].Unit != "D1" {
				t.Errorf("the department's liaison sees parts %+v, want only its own", own)
			}
			d = w.detail("office", id)
			if len(d.VerificationParts) != 2 || !d.VerificationParts[0].Submitted || !d.VerificationParts[1].Submitted ||
				d.VerificationParts[1].Finding != "partly" || !strings.Contains(d.VerificationParts[0].Report, "每日报表") {
				t.Fatalf("the office sees parts %+v", d.VerificationParts)
			}
			if n := countKind(d, models.EventVerificationPart, 0); n != 2 {
				t.Errorf("%d part events, want 2", n)
			}

			w.do("office", http.MethodPost, path+"/verification", map[string]any{"finding": "substantiated",
				"report": "综合两单位核查意见，属实。"}, http.StatusOK)
			w.do("liaison-t1", http.MethodPost, path+"/verification-parts",
				map[string]string{"finding": "partly", "report": "迟到的意见。"}, http.StatusConflict)
			for _, a := range w.detail("office", id).Assignments {
				who := map[string]string{"T1": "liaison-t1", "D1": "liaison-d1"}[a.Unit]
				w.report(who, a.ID, "已整改，报表合并为一张。")
				w.do("office", http.MethodPost, fmt.Sprintf("/api/v1/assignments/%d/review", a.ID),
					map[string]string{"decision": "accept"}, http.StatusOK)
			}
			w.do("office", http.MethodPost, path+"/disposals", map[string]any{"measure": "talk_reminder", "persons": 2,
				"note": "约谈镇分管负责同志"}, http.StatusCreated)
			w.do("office", http.MethodPost, path+"/disposals", map[string]any{"measure": "criticism", "persons": 1, "units": 1},
				http.StatusCreated)
			w.do("office", http.MethodPost, path+"/reply", map[string]string{"text": "经核查属实，已整改并对相关人员约谈。"}, http.StatusOK)
			res := w.c["public"].JSON(t, http.MethodPost, "/api/v1/tips/evaluation",
				map[string]string{"receipt": receipt, "rating": "satisfied"})
			if res.Status != http.StatusOK && res.Status != http.StatusCreated {
				t.Fatalf("rating: %d %s", res.Status, res.Raw)
			}
			if d := w.detail("office", id); d.Stage != models.StageClosed || d.Rating != models.RatingSatisfied {
				t.Errorf("after the rating: stage %s rating %s", d.Stage, d.Rating)
			}

			st := w.do("leader", http.MethodGet, "/api/v1/stats", nil, http.StatusOK)
			ds := st.Body["disposals"].(map[string]any)
			if ds["cases"] != 1.0 || ds["persons"] != 3.0 || ds["units"] != 1.0 {
				t.Errorf("stats disposals %v", ds)
			}
			rep := w.do("leader", http.MethodGet, "/api/v1/stats/report", nil, http.StatusOK)
			if !strings.Contains(string(rep.Raw), "查处形式主义、官僚主义问题1起，问责3人、1个单位，其中约谈提醒2人次、批评教育1人次") {
				t.Errorf("the report does not count the disposal:\n%s", rep.Raw)
			}
		})
	}
}

func containsStr(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
