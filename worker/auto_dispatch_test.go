package worker_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"jianfu/apptest"
	"jianfu/models"
	"jianfu/testenv"
)

// TestAutoDispatch: a tip matching an auto rule (自动派单) is accepted and
// dispatched by routing with no office action and its units' liaisons are
// mailed; a tip matching only a suggesting rule waits in collect; the
// office can still re-dispatch the auto-dispatched case in verify, and
// the removed unit's liaison loses sight of it.
func TestAutoDispatch(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			app := apptest.Start(t, apptest.Options{Backend: b, Mailpit: true})
			ctx := context.Background()
			app.CreateUnit(t, "T1", "城关镇", models.UnitTownship)
			app.CreateUnit(t, "D1", "县数据局", models.UnitCounty)
			app.CreateUnit(t, "D2", "县委办", models.UnitCounty)
			for _, u := range []models.UserParams{
				{Username: "office", Password: "Quiet-river-27", Role: models.RoleOffice, Email: "office@county.example.gov.cn"},
				{Username: "lt1", Password: "Quiet-river-27", Role: models.RoleLiaison, UnitCode: "T1", Email: "lt1@town.example.gov.cn"},
				{Username: "ld1", Password: "Quiet-river-27", Role: models.RoleLiaison, UnitCode: "D1", Email: "ld1@county.example.gov.cn"},
				{Username: "ld2", Password: "Quiet-river-27", Role: models.RoleLiaison, UnitCode: "D2", Email: "ld2@county.example.gov.cn"},
			} {
				app.CreateUser(t, u)
			}
			for _, r := range []models.RoutingRuleParams{
				{Keyword: "打卡", Unit: "D1", Role: models.AssignCounty, Auto: true},
				{Keyword: "会议", Unit: "D2", Role: models.AssignCounty},
			} {
				if _, err := app.Store.CreateRoutingRule(ctx, r); err != nil {
					t.Fatal(err)
				}
			}
			client := &http.Client{Timeout: 30 * time.Second}
			auto, err := postTip(client, app, map[string]any{"category": "digital", "township": "T1", "content": "每天要在5个政务App上打卡签到"})
			if err != nil {
				t.Fatal(err)
			}
			manual, err := postTip(client, app, map[string]any{"category": "meetings_documents", "township": "T1", "content": "一周开了六次会议，层层陪会"})
			if err != nil {
				t.Fatal(err)
			}
			office := models.Principal{Role: models.RoleOffice}
			detail := func(id uint64) models.CaseDetail {
				t.Helper()
				d, err := app.Store.CaseDetail(ctx, office, id)
				if err != nil {
					t.Fatal(err)
				}
				return d
			}
			units := func(d models.CaseDetail) string {
				var us []string
				for _, a := range d.Assignments {
					us = append(us, a.Unit+"/"+a.Role)
				}
				return strings.Join(us, " ")
			}
			apptest.Eventually(t, 20*time.Second, "both tips routed", func() bool {
				return routedEvents(t, app, auto) == 1 && routedEvents(t, app, manual) == 1
			})

			d := detail(auto)
			if d.Stage != models.StageVerify || d.DueAt == nil {
				t.Fatalf("auto-dispatched case: stage %s, due %v; want verify with a due time", d.Stage, d.DueAt)
			}
			if got := units(d); got != "T1/grassroots D1/county" {
				t.Errorf("auto-dispatched to %q, want the township and the rule's department", got)
			}
			var dispatched []models.TimelineEntry
			for _, e := range d.Timeline {
				if e.Kind == models.EventDispatched {
					dispatched = append(dispatched, e)
				}
			}
			if len(dispatched) != 1 || dispatched[0].Actor != models.ActorSystem || !strings.Contains(dispatched[0].Body, "系统自动派单") {
				t.Errorf("dispatch events %+v, want one by the system saying 系统自动派单", dispatched)
			}
			apptest.Eventually(t, 20*time.Second, "the liaisons' dispatch notices", func() bool {
				got := inbox(t, app)
				return len(got["lt1@town.example.gov.cn"]) == 1 && len(got["ld1@county.example.gov.cn"]) == 1
			})

			m := detail(manual)
			if m.Stage != models.StageCollect || len(m.Assignments) != 0 {
				t.Errorf("suggest-only case: stage %s with %d assignments, want collect with none", m.Stage, len(m.Assignments))
			}
			if len(m.Suggestions) != 2 || m.Suggestions[1].Unit != "D2" {
				t.Errorf("suggest-only case suggests %+v, want T1 and D2", m.Suggestions)
			}

			// 改派: the office replaces D1 with D2 while the case is in verify.
			due := *d.DueAt
			oc := app.BearerClient(t, "office")
			path := fmt.Sprintf("/api/v1/cases/%d/assign", auto)
			bad := oc.JSON(t, "POST", path, map[string]any{"assignments": []map[string]string{
				{"unit": "D1", "role": "county"}, {"unit": "D2", "role": "county"}}})
			if bad.Status != http.StatusUnprocessableEntity && bad.Status != http.StatusBadRequest {
				t.Errorf("re-dispatch to two departments without a township: %d, want a validation error", bad.Status)
			}
			if got := units(detail(auto)); got != "T1/grassroots D1/county" {
				t.Errorf("a refused re-dispatch changed the units to %q", got)
			}
			res := oc.JSON(t, "POST", path, map[string]any{"assignments": []map[string]string{
				{"unit": "T1", "role": "grassroots"}, {"unit": "D2", "role": "county"}}})
			if res.Status != http.StatusOK && res.Status != http.StatusNoContent {
				t.Fatalf("re-dispatch in verify: %d %s", res.Status, res.Raw)
			}
			d = detail(auto)
			if got := units(d); d.Stage != models.StageVerify || got != "T1/grassroots D2/county" {
				t.Errorf("after re-dispatch: stage %s, units %q; want verify with T1 and D2", d.Stage, got)
			}
			if d.DueAt == nil || !d.DueAt.Equal(due) {
				t.Errorf("re-dispatch moved the verify due time from %v to %v", due, d.DueAt)
			}
			last := d.Timeline[len(d.Timeline)-1]
			if last.Kind != models.EventDispatched || last.Actor != "office" || !strings.Contains(last.Body, "改派") {
				t.Errorf("last event %+v, want the office's 改派", last)
			}
			if r := app.BearerClient(t, "ld1").JSON(t, "GET", fmt.Sprintf("/api/v1/cases/%d", auto), nil); r.Status != http.StatusNotFound {
				t.Errorf("the removed unit's liaison reads the case: %d, want 404", r.Status)
			}
			if r := app.BearerClient(t, "ld2").JSON(t, "GET", fmt.Sprintf("/api/v1/cases/%d", auto), nil); r.Status != http.StatusOK {
				t.Errorf("the new unit's liaison reads the case: %d, want 200", r.Status)
			}
			apptest.Eventually(t, 20*time.Second, "the new unit's notice", func() bool {
				return len(inbox(t, app)["ld2@county.example.gov.cn"]) == 1
			})
		})
	}
}
