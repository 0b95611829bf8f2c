package worker_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"jianfu/apptest"
	"jianfu/models"
	"jianfu/testenv"
)

// TestRoutingInBatches: tips that arrive together are routed together, and
// each case still gets its own suggestions and exactly one routing note,
// even when the relay offers the same rows again while their batch waits.
func TestRoutingInBatches(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			app := apptest.Start(t, apptest.Options{Backend: b})
			ctx := context.Background()
			app.CreateUnit(t, "T1", "城关镇", models.UnitTownship)
			app.CreateUnit(t, "T2", "东乡镇", models.UnitTownship)
			app.CreateUnit(t, "D1", "县数据局", models.UnitCounty)
			app.CreateUnit(t, "D2", "县委办", models.UnitCounty)
			for _, r := range []models.RoutingRuleParams{
				{Category: "digital", Unit: "D1", Role: models.AssignCounty},
				{Keyword: "会议", Unit: "D2", Role: models.AssignCounty},
			} {
				if _, err := app.Store.CreateRoutingRule(ctx, r); err != nil {
					t.Fatal(err)
				}
			}
			type want struct {
				caseID uint64
				units  string
			}
			tips := []struct {
				category, township, content, units string
			}{
				{"digital", "T1", "每天要在5个政务App上打卡签到，数据重复录入", "T1 D1"},
				{"digital", "T2", "工作群里每天要求截图留痕，App排名通报", "T2 D1"},
				{"meetings_documents", "T2", "一周开了六次会议，层层陪会", "T2 D2"},
				{"inspections", "", "同一项工作被三个部门分别检查，材料各交一份", ""},
			}
			var mu sync.Mutex
			var wants []want
			client := &http.Client{Timeout: 30 * time.Second}
			var wg sync.WaitGroup
			for i := range 24 {
				tip := tips[i%len(tips)]
				wg.Go(func() {
					id, err := postTip(client, app, map[string]any{
						"category": tip.category, "township": tip.township, "content": fmt.Sprintf("%s（第%d条）", tip.content, i)})
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					wants = append(wants, want{id, tip.units})
					mu.Unlock()
				})
			}
			wg.Wait()
			// The relay offers every unfinished row again while the batch
			// waits; that must not route any case twice.
			if _, err := app.Store.RelayOutbox(ctx, models.RelayParams{All: true}); err != nil {
				t.Fatal(err)
			}
			apptest.Eventually(t, 15*time.Second, "every tip routed", func() bool {
				for _, w := range wants {
					if routedEvents(t, app, w.caseID) == 0 {
						return false
					}
				}
				return true
			})
			app.Drain(t, 15*time.Second) // a second batch, if any, has run by now
			office := models.Principal{Role: models.RoleOffice}
			batches := map[time.Time]int{} // a batch's notes share its time
			for _, w := range wants {
				if n := routedEvents(t, app, w.caseID); n != 1 {
					t.Errorf("case %d has %d routing notes, want 1", w.caseID, n)
				}
				evs, err := app.Store.Events(ctx, w.caseID)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range evs {
					if e.Kind == models.EventRouted {
						batches[e.At]++
					}
				}
				d, err := app.Store.CaseDetail(ctx, office, w.caseID)
				if err != nil {
					t.Fatal(err)
				}
				got := ""
				for i, s := range d.Suggestions {
					if i > 0 {
						got += " "
					}
					got += s.Unit
				}
				if got != w.units {
					t.Errorf("case %d suggests %q, want %q", w.caseID, got, w.units)
				}
			}
			if len(batches) > len(wants)/4 {
				t.Errorf("%d tips submitted together were routed in %d transactions, want batches", len(wants), len(batches))
			}
			if n, err := app.Store.OutboxPending(ctx); err != nil || n != 0 {
				t.Errorf("outbox rows left undone: %d (%v)", n, err)
			}
		})
	}
}
