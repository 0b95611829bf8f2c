package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"jianfu/models"
	"jianfu/testenv"
)

// TestMergedTipFollowsSurvivor: a tip merged into another follows that
// case to its end: its tipster sees the survivor's stage and the office's
// reply, and may rate the outcome once, without closing the survivor.
func TestMergedTipFollowsSurvivor(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			w := newCounty(t, b, wfDeadlines)
			dup, dupReceipt := w.submit("同一个打卡App")
			survivor, survivorReceipt := w.submit("打卡App太多")
			w.do("office", http.MethodPost, fmt.Sprintf("/api/v1/cases/%d/merge", dup), map[string]any{"into": survivor}, http.StatusOK)
			path := fmt.Sprintf("/api/v1/cases/%d", survivor)
			rate := func(want int) {
				t.Helper()
				res := w.c["public"].JSON(t, http.MethodPost, "/api/v1/tips/evaluation",
					map[string]string{"receipt": dupReceipt, "rating": "basically_satisfied", "comment": "希望长期坚持"})
				if res.Status != want {
					t.Fatalf("rating the merged tip: %d %s, want %d", res.Status, res.Raw, want)
				}
			}
			rate(http.StatusConflict) // nothing to rate yet

			w.do("office", http.MethodPost, path+"/accept", nil, http.StatusOK)
			w.do("office", http.MethodPost, path+"/assign", map[string]any{
				"assignments": []map[string]string{{"unit": "T1", "role": "grassroots"}}}, http.StatusOK)
			l := w.lookup(dupReceipt)
			if l.Body["stage"] != models.StageVerify || !strings.Contains(string(l.Raw), "dispatched") {
				t.Errorf("the merged tipster does not follow the survivor: %s", l.Raw)
			}
			w.do("office", http.MethodPost, path+"/verification", map[string]any{"finding": "unsubstantiated",
				"report": "经核查，打卡要求已于上月取消。"}, http.StatusOK)
			w.do("office", http.MethodPost, path+"/reply", map[string]string{"text": "经核查，相关打卡要求已取消。"}, http.StatusOK)

			l = w.lookup(dupReceipt)
			replies, _ := l.Body["replies"].([]any)
			if l.Body["can_rate"] != true || len(replies) != 1 || !strings.Contains(string(l.Raw), "相关打卡要求已取消") {
				t.Fatalf("after the reply the merged tipster sees %s", l.Raw)
			}
			rate(http.StatusOK)
			rate(http.StatusConflict) // once
			if l := w.lookup(dupReceipt); l.Body["can_rate"] != false || l.Body["rating"] != models.RatingBasically {
				t.Errorf("after rating: %s", l.Raw)
			}
			// The survivor is its own tipster's to rate.
			d := w.detail("office", survivor)
			if d.Stage != models.StageFeedback || d.Rating != "" {
				t.Errorf("the survivor moved: stage %s rating %q", d.Stage, d.Rating)
			}
			if s := w.lookup(survivorReceipt); s.Body["can_rate"] != true {
				t.Errorf("the survivor's tipster can no longer rate: %s", s.Raw)
			}
			if d := w.detail("office", dup); d.Rating != models.RatingBasically || countKind(d, models.EventRated, 0) != 1 {
				t.Errorf("the merged case: rating %q, %v", d.Rating, staffKinds(d))
			}
		})
	}
}
