package worker_test

import (
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"jianfu/apptest"
	"jianfu/models"
	"jianfu/testenv"
	"jianfu/worker"
)

// TestRetentionTask: the retention task, run by the worker with the
// configured JIANFU_RETENTION, erases the contact of a case closed longer
// ago than that (the store's clock is an hour ahead).
func TestRetentionTask(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			app := apptest.Start(t, apptest.Options{Backend: b, Env: map[string]string{"JIANFU_RETENTION": "contact=30m"}})
			ctx := t.Context()
			office := models.Principal{Role: models.RoleOffice, Username: "office"}
			r, err := app.Store.CreateTip(ctx, models.TipInput{Category: "digital", Content: "每天要在5个政务App上分别打卡签到。",
				Contact: models.Contact{Name: "王五", Phone: "13912345678"}})
			if err != nil {
				t.Fatal(err)
			}
			if err := app.Store.RejectCase(ctx, office, models.RejectParams{CaseID: r.CaseID, Reason: "不属于受理范围"}); err != nil {
				t.Fatal(err)
			}
			app.Store.SetClock(func() time.Time { return time.Now().Add(time.Hour) })
			c := asynq.NewClient(app.Redis)
			defer c.Close()
			if _, err := c.Enqueue(worker.NewRetentionTask(), asynq.Queue(models.QueueDefault)); err != nil {
				t.Fatal(err)
			}
			apptest.Eventually(t, 30*time.Second, "the contact erased", func() bool {
				out, err := app.Store.RevealContact(ctx, office, models.RevealParams{CaseID: r.CaseID, Reason: "核实情况"})
				return err == nil && out.Contact != nil && *out.Contact == (models.Contact{})
			})
		})
	}
}
