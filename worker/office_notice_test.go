package worker_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"jianfu/apptest"
	"jianfu/models"
	"jianfu/testenv"
)

// TestOfficeStageNotices: a tip left in 线索收集, a stage the office owns,
// brings the office its reminder while the stage runs and its overdue
// notice once it is late, one mail each, and nothing twice. (Both used to
// be filed and then dropped as "nothing left to report".)
func TestOfficeStageNotices(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			// Reminder at 15 s, overdue at 20 s: the reminder's batch (100 ms)
			// is out well before the overdue mark, even on a busy machine.
			app := apptest.Start(t, apptest.Options{Backend: b, Mailpit: true, Env: map[string]string{
				"JIANFU_DEADLINES": "collect=20s,escalation=1h", "JIANFU_NOTICE_BATCH_DELAY": "100ms"}})
			s := newSeeder(t, app)
			const office = "office@county.example.gov.cn"
			s.user("office", models.RoleOffice, nil, office)
			s.user("leader", models.RoleLeader, nil, "leader@county.example.gov.cn")
			awayFromMidnight(t)
			res := app.Client().JSON(t, http.MethodPost, "/api/v1/tips", map[string]any{
				"category": "digital", "title": "每天打卡五个App", "anonymous": true,
				"content": "镇里要求每天在5个政务App上打卡签到，同一组数据还要重复录入。"})
			if res.Status != http.StatusCreated {
				t.Fatalf("submit: %d %s", res.Status, res.Raw)
			}
			id, err := app.Store.CaseIDByReceipt(ctx, res.Body["receipt"].(string))
			if err != nil {
				t.Fatal(err)
			}

			apptest.Eventually(t, 30*time.Second, "the reminder mail", func() bool { return mailCount(t, app) >= 1 })
			got := inbox(t, app)[office]
			if len(got) != 1 || !strings.Contains(got[0].Subject, "办理提醒") || !strings.Contains(got[0].Subject, "1件临近办理时限") {
				t.Fatalf("office mails %v, want one 办理提醒", subjects(got))
			}
			if ids := linkedCases(got[0].Text); len(ids) != 1 || ids[0] != id {
				t.Errorf("the reminder lists cases %v, want %d", ids, id)
			}

			// The overdue mark comes after the day's mail went out: it waits
			// for the next morning's batch, which the test runs now.
			apptest.Eventually(t, 30*time.Second, "the overdue mark", func() bool {
				var n int64
				s.db.Model(&models.Event{}).Where("case_id = ? AND kind = ?", id, models.EventOverdue).Count(&n)
				return n == 1
			})
			insp := asynq.NewInspector(app.Redis)
			defer insp.Close()
			apptest.Eventually(t, 10*time.Second, "the next morning's batch", func() bool {
				ts, _ := insp.ListScheduledTasks(models.QueueMail)
				for _, ti := range ts {
					if ti.Type == models.TaskNoticeBatch {
						if err := insp.RunTask(models.QueueMail, ti.ID); err != nil {
							t.Fatal(err)
						}
						return true
					}
				}
				return false
			})
			apptest.Eventually(t, 30*time.Second, "the overdue mail", func() bool { return mailCount(t, app) >= 2 })

			// Every notice task delivered again: nothing goes out twice.
			for _, typ := range []string{models.TaskNotify, models.TaskNoticeBatch} {
				rows, err := app.Store.OutboxTasks(ctx, typ)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range rows {
					task := r.Task()
					task.ID += ":again"
					task.RunAt = time.Time{}
					if err := app.Queue.Enqueue(ctx, task); err != nil {
						t.Fatal(err)
					}
				}
			}
			time.Sleep(2 * time.Second)
			all := inbox(t, app)
			got = all[office]
			if len(got) != 2 || !strings.Contains(got[1].Subject, "催办提醒") || !strings.Contains(got[1].Subject, "1件已逾期") {
				t.Fatalf("office mails %v, want the 办理提醒 and one 催办提醒", subjects(got))
			}
			if !strings.Contains(got[1].Text, "线索收集") {
				t.Errorf("the overdue mail does not name the stage:\n%s", got[1].Text)
			}
			if n := len(all["leader@county.example.gov.cn"]); n != 0 {
				t.Errorf("the leader got %d mails before any escalation", n)
			}
		})
	}
}

func subjects(ms []testenv.MailpitMessage) []string {
	var s []string
	for _, m := range ms {
		s = append(s, m.Subject)
	}
	return s
}
