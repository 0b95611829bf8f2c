package models

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Timers. Every open due time (a case's stage, or one assignment) has three
// steps: a reminder before it, the overdue mark at it, and the escalation to
// leaders after the grace period. The row stores the last step done
// (timer_step) and when the next one is due (next_timer_at): that is the
// durable form of the timer. asynq only delivers the wake-up, with a task id
// that carries the due version and the step, so a changed deadline makes
// old timers no-ops and a duplicate delivery finds the step already done.

// Timer steps.
const (
	StepRemind   = 1
	StepOverdue  = 2
	StepEscalate = 3
)

// Timer targets.
const (
	TimerCase       = "case"
	TimerAssignment = "assignment"
)

// TimerPayload is the TaskTimer payload.
type TimerPayload struct {
	Target  string `json:"target"` // TimerCase or TimerAssignment
	ID      uint64 `json:"id"`
	Version int    `json:"version"`
	Step    int    `json:"step"`
}

func timerTask(p TimerPayload, at time.Time) Task {
	b, _ := json.Marshal(p)
	// asynq schedules by whole seconds (it would deliver up to a second
	// early); rounding up means a timer never arrives before its time, so
	// FireTimer does not have to re-arm it under its own, still running,
	// task id, which the queue would refuse.
	if r := at.Truncate(time.Second); !r.Equal(at) {
		at = r.Add(time.Second)
	}
	return Task{
		// The time keeps ids of different databases sharing a Redis apart.
		ID:   fmt.Sprintf("timer:%s:%d:v%d:s%d:t%d", p.Target, p.ID, p.Version, p.Step, at.Unix()),
		Type: TaskTimer, Queue: QueueTimers, Payload: b, RunAt: at,
	}
}

// TimerSweepHorizon is how far ahead the periodic sweep queues timers; it
// runs every TimerSweepInterval, well within the horizon.
const (
	TimerSweepHorizon  = time.Minute
	TimerSweepInterval = 30 * time.Second
)

// enqueueTimers queues the wake-ups a state change armed. One further away
// than the sweep's horizon is left to the sweep: most deadlines are days
// off, and Redis then holds only what falls due soon.
// After a failed enqueue it stops (Redis is most likely down, see
// handOver) and returns the error.
func (s *Store) enqueueTimers(ctx context.Context, ts []Task) error {
	if s.enq == nil {
		return nil
	}
	soon := s.clock().Add(TimerSweepHorizon)
	for _, t := range ts {
		if t.RunAt.After(soon) {
			continue
		}
		if err := s.enq.Enqueue(ctx, t); err != nil {
			s.log.Warn("enqueue timer failed; the timer sweep will retry", "task", t.ID, "err", err)
			return fmt.Errorf("enqueue timer %s: %w", t.ID, err)
		}
	}
	return nil
}

// stepTime is when step falls for a due time that started at from.
func (s *Store) stepTime(clock Clock, from, due time.Time, step int) time.Time {
	cal := s.calendar.Load()
	switch step {
	case StepRemind:
		return clock.RemindAt(cal, from, due)
	case StepOverdue:
		return due
	default:
		return s.deadlines.Escalation.Due(cal, due)
	}
}

// timerRow is the common view of a case or an assignment as a timer.
type timerRow struct {
	table   string
	id      uint64
	version int
	step    int
	from    time.Time
	due     *time.Time
	clock   Clock
	open    bool
	caseID  uint64
	stage   string
	// ratingWindow: a case in feedback whose reply awaits the tipster's
	// rating; its due time ends the window (see endRatingWindow).
	ratingWindow bool
}

// FireTimer performs the steps of a timer that have come due, once each,
// and queues the next one. A payload for an old due version, a closed
// stage, or a step already done does nothing.
func (s *Store) FireTimer(ctx context.Context, p TimerPayload) error {
	return s.write(ctx, func(w *txWork) error {
		row, err := s.lockTimerRow(w.tx, p)
		if err != nil || row == nil {
			return err
		}
		if !row.open || row.version != p.Version || row.due == nil {
			return nil
		}
		if row.ratingWindow {
			return s.endRatingWindow(w, row)
		}
		step := row.step
		for step < StepEscalate && !s.stepTime(row.clock, row.from, *row.due, step+1).After(w.now) {
			step++
			if err := s.timerEffect(w, row, step); err != nil {
				return err
			}
		}
		var next *time.Time
		if step < StepEscalate {
			t := s.stepTime(row.clock, row.from, *row.due, step+1).UTC().Truncate(time.Microsecond)
			next = &t
			w.timers = append(w.timers, timerTask(TimerPayload{Target: p.Target, ID: p.ID, Version: row.version, Step: step + 1}, t))
		}
		if step == row.step && next != nil {
			return nil // early delivery: nothing to do but re-arm
		}
		return w.tx.Table(row.table).Where("id = ?", row.id).
			Updates(map[string]any{"timer_step": step, "next_timer_at": next}).Error
	})
}

func (s *Store) lockTimerRow(tx *gorm.DB, p TimerPayload) (*timerRow, error) {
	lock := clause.Locking{Strength: "UPDATE"}
	switch p.Target {
	case TimerCase:
		var c Case
		if err := tx.Clauses(lock).First(&c, p.ID).Error; err != nil {
			return nil, ignoreMissing(err, "load case for timer")
		}
		clock, ok := s.deadlines.ForStage(c.Stage)
		return &timerRow{table: "cases", id: c.ID, version: c.DueVersion, step: c.TimerStep, from: c.StageEnteredAt,
			due: c.DueAt, clock: clock, open: ok, caseID: c.ID, stage: c.Stage,
			ratingWindow: c.Stage == StageFeedback && c.RepliedAt != nil && c.Rating == ""}, nil
	case TimerAssignment:
		var a Assignment
		if err := tx.Clauses(lock).First(&a, p.ID).Error; err != nil {
			return nil, ignoreMissing(err, "load assignment for timer")
		}
		var c Case
		if err := tx.Select("id, stage").First(&c, a.CaseID).Error; err != nil {
			return nil, fmt.Errorf("load case of assignment %d: %w", a.ID, err)
		}
		open := c.Stage == StageRectify && a.Status != AssignmentAccepted
		from := a.CreatedAt
		if a.DueFrom != nil {
			from = *a.DueFrom
		}
		return &timerRow{table: "assignments", id: a.ID, version: a.DueVersion, step: a.TimerStep, from: from,
			due: a.DueAt, clock: s.deadlines.Rectify, open: open, caseID: a.CaseID, stage: c.Stage}, nil
	}
	return nil, fmt.Errorf("unknown timer target %q", p.Target)
}

func ignoreMissing(err error, what string) error {
	if err == gorm.ErrRecordNotFound {
		return nil // deleted rows have no timers
	}
	return fmt.Errorf("%s: %w", what, err)
}

// timerEffect records one step on the case timeline and queues its notice.
func (s *Store) timerEffect(w *txWork, row *timerRow, step int) error {
	kind, body := EventReminder, "办理时限临近，请抓紧办理"
	switch step {
	case StepOverdue:
		kind, body = EventOverdue, "已超过办理时限，逾期催办"
	case StepEscalate:
		kind, body = EventEscalated, "逾期未办结，已报分管领导督办"
	}
	data, _ := json.Marshal(map[string]any{"target": row.table, "id": row.id, "due_at": row.due, "version": row.version})
	ev := Event{CaseID: row.caseID, At: w.now, Kind: kind, Actor: ActorSystem, FromStage: row.stage, ToStage: row.stage,
		Body: body, Data: string(data)}
	if row.table == "assignments" {
		ev.AssignmentID = &row.id
	}
	if err := w.tx.Create(&ev).Error; err != nil {
		return fmt.Errorf("record %s: %w", kind, err)
	}
	p := NoticePayload{Kind: kind, CaseID: row.caseID, EventID: ev.ID}
	if row.table == "assignments" {
		p.AssignmentID = row.id
	}
	return w.add(TaskNotify, QueueMail, p, time.Time{})
}

// NoticePayload is the TaskNotify payload: who gets it is decided when it is
// sent, from the event.
type NoticePayload struct {
	Kind    string `json:"kind"`
	CaseID  uint64 `json:"case_id"`
	EventID uint64 `json:"event_id"`
	// AssignmentID addresses the notice to one assignment's unit (e.g. a
	// dispatch notice); zero means the event's own target.
	AssignmentID uint64 `json:"assignment_id,omitempty"`
}

// SweepParams selects the timers SweepTimers re-queues.
type SweepParams struct {
	// Horizon re-queues timers due up to now+Horizon; zero means all
	// (the rebuild on start).
	Horizon time.Duration
}

// SweepTimers queues the next step of every open due time from the
// database: on start (Redis may have lost its scheduled tasks) and
// periodically as a safety net. Queuing one already queued is a no-op.
func (s *Store) SweepTimers(ctx context.Context, p SweepParams) (int, error) {
	total := 0
	for _, target := range []struct{ table, kind string }{{"cases", TimerCase}, {"assignments", TimerAssignment}} {
		var after uint64
		for {
			var rows []struct {
				ID          uint64
				DueVersion  int
				TimerStep   int
				NextTimerAt time.Time
			}
			q := s.db.WithContext(ctx).Table(target.table).Select("id, due_version, timer_step, next_timer_at").
				Where("next_timer_at IS NOT NULL AND id > ?", after)
			if p.Horizon > 0 {
				q = q.Where("next_timer_at <= ?", s.clock().Add(p.Horizon))
			}
			if err := q.Order("id").Limit(2000).Scan(&rows).Error; err != nil {
				return total, fmt.Errorf("sweep %s timers: %w", target.table, err)
			}
			if len(rows) == 0 {
				break
			}
			ts := make([]Task, len(rows))
			for i, r := range rows {
				ts[i] = timerTask(TimerPayload{Target: target.kind, ID: r.ID, Version: r.DueVersion, Step: r.TimerStep + 1}, r.NextTimerAt)
			}
			if err := s.enqueueTimers(ctx, ts); err != nil {
				return total, err
			}
			total += len(rows)
			after = rows[len(rows)-1].ID
		}
	}
	return total, nil
}
