package worker_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"jianfu/apptest"
	"jianfu/models"
	"jianfu/testenv"
)

// awayFromMidnight waits out the last minute of a Beijing day, so that a
// test about "one mail per day" does not straddle two days.
func awayFromMidnight(t *testing.T) {
	t.Helper()
	now := time.Now().In(models.Shanghai())
	next := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 1, 0, models.Shanghai())
	if d := next.Sub(now); d < time.Minute {
		t.Logf("waiting %v for the Beijing day to turn", d)
		time.Sleep(d)
	}
}

// overdueTimer puts an assignment just past its due time with its timer
// not yet run, as the worker finds it after a restart.
func (s *seeder) overdueTimer(u models.Unit, title string) models.Case {
	s.t.Helper()
	c, a := s.rectifying(u, title, time.Now().Add(-time.Minute), models.AssignmentPending)
	next := time.Now().Add(-time.Minute).UTC().Truncate(time.Microsecond)
	if err := s.db.Model(&models.Assignment{}).Where("id = ?", a.ID).Update("next_timer_at", next).Error; err != nil {
		s.t.Fatal(err)
	}
	return c
}

// notice writes an event and its TaskNotify outbox row, as a workflow
// action does; the worker's relay picks the row up.
func (s *seeder) notice(kind string, c models.Case, assignmentID uint64, body string) {
	s.t.Helper()
	now := time.Now().UTC().Truncate(time.Microsecond)
	ev := models.Event{CaseID: c.ID, At: now, Kind: kind, Actor: models.ActorSystem, FromStage: c.Stage, ToStage: c.Stage,
		Body: body, Data: "{}"}
	if err := s.db.Create(&ev).Error; err != nil {
		s.t.Fatal(err)
	}
	p, _ := json.Marshal(models.NoticePayload{Kind: kind, CaseID: c.ID, EventID: ev.ID, AssignmentID: assignmentID})
	row := models.OutboxTask{Type: models.TaskNotify, Queue: models.QueueMail, Payload: p, RunAt: now, CreatedAt: now}
	if err := s.db.Create(&row).Error; err != nil {
		s.t.Fatal(err)
	}
}

func TestOverdueRemindersBatched(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			app := apptest.Start(t, apptest.Options{Backend: b, Mailpit: true, NoWorker: true,
				Env: map[string]string{"JIANFU_NOTICE_BATCH_DELAY": "2s"}})
			s := newSeeder(t, app)
			t1, t2 := s.unit("T01", "城关镇"), s.unit("T02", "河口乡")
			s.user("l1", models.RoleLiaison, &t1, "l1@town.example.gov.cn")
			s.user("l2", models.RoleLiaison, &t2, "l2@town.example.gov.cn")
			s.user("office", models.RoleOffice, nil, "office@county.example.gov.cn")
			s.user("leader", models.RoleLeader, nil, "leader@county.example.gov.cn")
			awayFromMidnight(t)
			var mine []models.Case
			for range 10 {
				mine = append(mine, s.overdueTimer(t1, "报表重复填报"))
			}
			other := s.overdueTimer(t2, "河口乡的逾期事项")

			// The restarted worker finds eleven timers due: each fires a
			// reminder and an overdue notice, 22 notices for two people.
			app.StartWorkerWith(apptest.WorkerOptions{})
			apptest.Eventually(t, 30*time.Second, "the batched reminders", func() bool { return mailCount(t, app) >= 2 })
			time.Sleep(3 * time.Second) // longer than the batch delay: nothing more may come

			got := inbox(t, app)
			if ms := got["l1@town.example.gov.cn"]; len(ms) != 1 {
				t.Fatalf("liaison of 城关镇 got %d mails for ten overdue cases, want 1", len(ms))
			} else {
				m := ms[0]
				if !strings.Contains(m.Subject, "催办提醒") || !strings.Contains(m.Subject, "10件已逾期") {
					t.Errorf("subject %q", m.Subject)
				}
				if ids := linkedCases(m.Text); !slices.Equal(ids, sortedIDs(mine...)) {
					t.Errorf("the mail lists %v, want the ten cases %v", ids, sortedIDs(mine...))
				}
				if ids := linkedCases(m.HTML); len(ids) != 10 {
					t.Errorf("the HTML part lists %d cases", len(ids))
				}
			}
			if ms := got["l2@town.example.gov.cn"]; len(ms) != 1 || !slices.Equal(linkedCases(ms[0].Text), sortedIDs(other)) {
				t.Errorf("liaison of 河口乡: %d mails, want one about case %d", len(ms), other.ID)
			}
			if n := len(got["office@county.example.gov.cn"]) + len(got["leader@county.example.gov.cn"]); n != 0 {
				t.Errorf("office and leader got %d mails about units' reminders", n)
			}

			// Every task delivered again: nothing goes out twice.
			for _, typ := range []string{models.TaskNotify, models.TaskNoticeBatch} {
				rows, err := app.Store.OutboxTasks(ctx, typ)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range rows {
					if r.DoneAt == nil {
						t.Errorf("%s task %d not done", typ, r.ID)
					}
					if err := app.Queue.Enqueue(ctx, r.Task()); err != nil {
						t.Fatal(err)
					}
				}
			}
			time.Sleep(3 * time.Second)
			if n := mailCount(t, app); n != 2 {
				t.Errorf("%d mails after redelivery, want still 2", n)
			}

			// Dispatches and escalations are not batched: each goes out at
			// once, an escalation to the leaders too.
			var a models.Assignment
			if err := s.db.Where("case_id = ?", other.ID).Take(&a).Error; err != nil {
				t.Fatal(err)
			}
			s.notice(models.EventDispatched, other, a.ID, "请河口乡牵头核查整改")
			s.notice(models.EventEscalated, other, a.ID, "逾期未办结，已报分管领导督办")
			apptest.Eventually(t, 20*time.Second, "dispatch and escalation", func() bool { return mailCount(t, app) >= 4 })
			time.Sleep(time.Second)
			got = inbox(t, app)
			var subjects []string
			for _, m := range got["l2@town.example.gov.cn"] {
				subjects = append(subjects, m.Subject)
			}
			if len(subjects) != 3 || !strings.Contains(strings.Join(subjects, "|"), "新交办事项") ||
				!strings.Contains(strings.Join(subjects, "|"), "逾期督办") {
				t.Errorf("liaison of 河口乡 got %q, want the reminder, the dispatch and the escalation", subjects)
			}
			for _, to := range []string{"leader@county.example.gov.cn", "office@county.example.gov.cn"} {
				if ms := got[to]; len(ms) != 1 || !strings.Contains(ms[0].Subject, "逾期督办") {
					t.Errorf("%s got %d mails, want the escalation", to, len(ms))
				}
			}
		})
	}
}

// A dispatch notice whose assignment 改派 replaced before it went out (the
// cluster run met it: the office re-dispatched while Redis failed over) is
// done without a mail; before, it failed as "not found" and became a dead
// task.
func TestNoticeOfReplacedAssignmentIsDone(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			app := apptest.Start(t, apptest.Options{Backend: b, Mailpit: true, NoWorker: true})
			s := newSeeder(t, app)
			t1 := s.unit("T01", "城关镇")
			s.user("l1", models.RoleLiaison, &t1, "l1@town.example.gov.cn")
			c, a := s.rectifying(t1, "报表重复填报", time.Now().Add(time.Hour), models.AssignmentPending)
			s.notice(models.EventDispatched, c, a.ID, "请城关镇核查整改")
			if err := s.db.Delete(&models.Assignment{}, a.ID).Error; err != nil {
				t.Fatal(err)
			}
			app.StartWorkerWith(apptest.WorkerOptions{})
			apptest.Eventually(t, 20*time.Second, "the notice task done", func() bool {
				rows, err := app.Store.OutboxTasks(context.Background(), models.TaskNotify)
				return err == nil && len(rows) == 1 && rows[0].DoneAt != nil
			})
			rows, _ := app.Store.OutboxTasks(context.Background(), models.TaskNotify)
			if rows[0].DeadAt != nil {
				t.Error("the notice became a dead task")
			}
			if n := mailCount(t, app); n != 0 {
				t.Errorf("%d mails about a replaced assignment", n)
			}
		})
	}
}
