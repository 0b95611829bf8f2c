package api_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"jianfu/apptest"
	"jianfu/models"
	"jianfu/testenv"
)

// Short clocks: every stage 3 s (reminder at 2.25 s, overdue at 3 s),
// escalation 2 s after the due time.
const shortClocks = "collect=3s,assign=3s,verify=3s,rectify=3s,feedback=3s,evaluation=3s,escalation=2s"

// slack is how late a timer may fire: asynq's forwarder (200 ms here)
// and its whole-second schedule.
const slack = 2500 * time.Millisecond

func countKind(d models.CaseDetail, kind string, assignment uint64) int {
	n := 0
	for _, e := range d.Timeline {
		if e.Kind == kind && (assignment == 0 && e.AssignmentID == nil || e.AssignmentID != nil && *e.AssignmentID == assignment) {
			n++
		}
	}
	return n
}

func TestUntouchedCaseTimers(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			w := newCounty(t, b, shortClocks)
			id, _ := w.submit("督查检查太多")
			apptest.Eventually(t, 15*time.Second, "the escalation", func() bool {
				return countKind(w.detail("office", id), models.EventEscalated, 0) > 0
			})
			d := w.detail("office", id)
			created := d.CreatedAt
			if d.DueAt == nil || !d.DueAt.Equal(created.Add(3*time.Second)) || !d.Overdue {
				t.Fatalf("due %v overdue %v, want %v and overdue", d.DueAt, d.Overdue, created.Add(3*time.Second))
			}
			want := map[string]time.Duration{models.EventReminder: 2250 * time.Millisecond,
				models.EventOverdue: 3 * time.Second, models.EventEscalated: 5 * time.Second}
			var order []string
			for _, e := range d.Timeline {
				at, ok := want[e.Kind]
				if !ok {
					continue
				}
				order = append(order, e.Kind)
				if late := e.At.Sub(created.Add(at)); late < 0 || late > slack {
					t.Errorf("%s at +%v, want +%v (+%v at most)", e.Kind, e.At.Sub(created), at, slack)
				}
			}
			wantSeq(t, "timer events", order, []string{models.EventReminder, models.EventOverdue, models.EventEscalated})

			// Delivering every step again, as at-least-once delivery may,
			// changes nothing; no timer is left to fire.
			c := w.a.Store
			for step := models.StepRemind; step <= models.StepEscalate; step++ {
				for v := 0; v < 3; v++ {
					if err := c.FireTimer(w.ctx, models.TimerPayload{Target: models.TimerCase, ID: id, Version: v, Step: step}); err != nil {
						t.Fatal(err)
					}
				}
			}
			if n, err := c.SweepTimers(w.ctx, models.SweepParams{}); err != nil || n != 0 {
				t.Fatalf("open timers after the escalation: %d, %v", n, err)
			}
			if got := staffKinds(w.detail("office", id)); len(w.detail("office", id).Timeline) != len(d.Timeline) {
				t.Fatalf("a repeated delivery changed the timeline: %v", got)
			}
			apptest.Eventually(t, 10*time.Second, "the escalation mail to the leader", func() bool {
				return w.mailTo("leader1@example.gov.cn", "") == 1
			})
		})
	}
}

// TestTimersSurviveWorkerRestart stops the worker while timers are pending
// (optionally losing everything Redis held), lets their times pass, and
// starts it again: every timer fires, once.
func TestTimersSurviveWorkerRestart(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		for _, lose := range []bool{false, true} {
			name := b.Name + "/queue kept"
			if lose {
				name = b.Name + "/queue lost"
			}
			t.Run(name, func(t *testing.T) {
				w := newCounty(t, b, shortClocks)
				untouched, _ := w.submit("打卡App太多")
				dual, _ := w.submit("重复填报")
				path := fmt.Sprintf("/api/v1/cases/%d", dual)
				w.do("office", http.MethodPost, path+"/accept", nil, http.StatusOK)
				w.do("office", http.MethodPost, path+"/assign", map[string]any{
					"assignments": []map[string]string{{"unit": "T1", "role": "grassroots"}, {"unit": "D1", "role": "county"}}}, http.StatusOK)
				w.do("office", http.MethodPost, path+"/verification", map[string]any{"finding": "substantiated", "report": "属实。"}, http.StatusOK)
				w.a.StopWorker()
				if lose {
					rc := w.a.Redis.MakeRedisClient().(redis.UniversalClient)
					if err := rc.FlushDB(w.ctx).Err(); err != nil {
						t.Fatal(err)
					}
					rc.Close()
				}
				// The worker is down while the reminders and overdue marks
				// come due.
				time.Sleep(3500 * time.Millisecond)
				w.a.StartWorker()

				as := w.detail("office", dual).Assignments
				done := func() bool {
					d := w.detail("office", dual)
					return countKind(w.detail("office", untouched), models.EventEscalated, 0) > 0 &&
						countKind(d, models.EventEscalated, as[0].ID) > 0 && countKind(d, models.EventEscalated, as[1].ID) > 0
				}
				apptest.Eventually(t, 20*time.Second, "every escalation", done)
				if n, err := w.a.Store.SweepTimers(w.ctx, models.SweepParams{}); err != nil || n != 0 {
					t.Fatalf("open timers left: %d, %v", n, err)
				}
				u, d := w.detail("office", untouched), w.detail("office", dual)
				for _, kind := range []string{models.EventReminder, models.EventOverdue, models.EventEscalated} {
					if n := countKind(u, kind, 0); n != 1 {
						t.Errorf("untouched case: %d × %s, want 1", n, kind)
					}
					for _, a := range as {
						if n := countKind(d, kind, a.ID); n != 1 {
							t.Errorf("assignment of %s: %d × %s, want 1", a.Unit, n, kind)
						}
					}
				}
			})
		}
	}
}
