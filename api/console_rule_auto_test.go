package api_test

import (
	"net/http"
	"net/url"
	"testing"

	"jianfu/apptest"
	"jianfu/models"
	"jianfu/testenv"
)

// TestConsoleRuleAuto: the rule form's 自动派单 checkbox makes an auto
// rule, the list marks it, and the list's 停用 button keeps the flag.
func TestConsoleRuleAuto(t *testing.T) {
	app := startConsoleApp(t, testenv.Backends(t)[0], apptest.Options{NoWorker: true})
	adm := newConsoleClient(app)
	adm.login(t, "admin1")
	page := adm.get(t, "/console/admin/routing-rules")
	mustContain(t, "rule form", page, `name="auto"`, "自动派单")
	res := adm.post(t, "/console/admin/routing-rules", url.Values{"csrf_token": {adm.csrf}, "keyword": {"自动派单测试"},
		"unit": {"D05"}, "role": {"county"}, "auto": {"1"}})
	mustStatus(t, "create auto rule", res, http.StatusSeeOther)
	rule := func() models.RoutingRuleView {
		t.Helper()
		rs, err := app.Store.RoutingRules(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if r.Keyword == "自动派单测试" {
				return r
			}
		}
		t.Fatal("the form made no rule")
		return models.RoutingRuleView{}
	}
	if r := rule(); !r.Auto {
		t.Fatalf("rule after the form: %+v, want auto", r)
	}
	mustContain(t, "rule list", adm.get(t, "/console/admin/routing-rules"), `<span class="tag tag-on">自动派单</span>`, `<input type="hidden" name="auto" value="1">`)
	res = adm.post(t, "/console/admin/routing-rules/"+itoa(rule().ID), url.Values{"csrf_token": {adm.csrf}, "keyword": {"自动派单测试"},
		"unit": {"D05"}, "role": {"county"}, "priority": {"0"}, "active": {"0"}, "auto": {"1"}})
	mustStatus(t, "deactivate", res, http.StatusSeeOther)
	if r := rule(); r.Active || !r.Auto {
		t.Errorf("after 停用: %+v, want inactive and still auto", r)
	}
}
