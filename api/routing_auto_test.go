package api_test

import (
	"fmt"
	"net/http"
	"testing"

	"jianfu/testenv"
)

// TestRoutingRuleAuto: the admin API takes and answers a rule's auto flag
// (自动派单); a PUT replaces it like every other field, and a flag that
// is not a boolean is refused without changing the rule.
func TestRoutingRuleAuto(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			w := newCounty(t, b, wfDeadlines)
			res := w.do("admin", http.MethodPost, "/api/v1/admin/routing-rules",
				map[string]any{"keyword": "打卡", "unit": "D1", "role": "county", "auto": true}, http.StatusCreated)
			if res.Body["auto"] != true {
				t.Fatalf("created rule %s, want auto true", res.Raw)
			}
			path := fmt.Sprintf("/api/v1/admin/routing-rules/%v", res.Body["id"])
			w.do("admin", http.MethodPut, path, map[string]any{"keyword": "打卡", "unit": "D1", "role": "county", "auto": "yes"}, http.StatusBadRequest)
			list := w.do("admin", http.MethodGet, "/api/v1/admin/routing-rules", nil, http.StatusOK)
			if rs, _ := list.Body["items"].([]any); len(rs) != 1 || rs[0].(map[string]any)["auto"] != true {
				t.Errorf("after a refused update the rules are %s, want the auto rule unchanged", list.Raw)
			}
			res = w.do("admin", http.MethodPut, path, map[string]any{"keyword": "打卡", "unit": "D1", "role": "county"}, http.StatusOK)
			if res.Body["auto"] != false {
				t.Errorf("updated rule %s, want auto false (a PUT replaces the rule)", res.Raw)
			}
		})
	}
}
