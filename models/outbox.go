package models

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	mysqldriver "github.com/go-sql-driver/mysql"
	"gorm.io/gorm"
)

// Task types written to the outbox; the worker registers a handler for each.
const (
	TaskRouteTip = "tip:route"     // apply routing rules to a new tip (智能分办)
	TaskTimer    = "case:timer"    // reminder, overdue mark or escalation
	TaskNotify   = "notice:send"   // one email notice
	TaskDigest   = "digest:weekly" // fan out the weekly digest
)

// Queue names; the worker must listen on all of them.
const (
	QueueDefault = "default"
	QueueTimers  = "timers"
	QueueMail    = "mail"
)

// Queues maps each queue to its asynq priority.
var Queues = map[string]int{QueueDefault: 6, QueueTimers: 3, QueueMail: 1}

// Task is one unit of background work as the queue sees it. ID is the
// asynq task id: a duplicate enqueue of the same id is refused by Redis, so
// it is a no-op.
type Task struct {
	ID      string
	Type    string
	Queue   string
	Payload []byte
	RunAt   time.Time
	// Group, when set, lets the worker collect the group's tasks for a
	// moment and run them as one batch (asynq group aggregation): one
	// transaction for many rows instead of one each.
	Group string
}

// Task is the queue form of an outbox row, with id "outbox:N:<created
// µs>". The creation time keeps ids of different databases apart when they
// share a Redis (a restored or reset database counts ids from 1 again,
// and a stale task of the old one must not stand in for a new row).
func (t OutboxTask) Task() Task {
	task := Task{ID: fmt.Sprintf("outbox:%d:%d", t.ID, t.CreatedAt.UnixMicro()), Type: t.Type, Queue: t.Queue,
		Payload: t.Payload, RunAt: t.RunAt}
	if t.Type == TaskRouteTip {
		task.Group = TaskRouteTip
	}
	return task
}

// parseTaskID reverses Task().ID.
func parseTaskID(taskID string) (id uint64, createdMicro int64, err error) {
	if _, err := fmt.Sscanf(taskID, "outbox:%d:%d", &id, &createdMicro); err != nil {
		return 0, 0, fmt.Errorf("task id %q: %w", taskID, ErrForeignTask)
	}
	return id, createdMicro, nil
}

// ErrTaskDead: the queue holds the task in its archive, its retries spent
// (the Enqueuer's answer to offering it again).
var ErrTaskDead = errors.New("task is dead: its retries are spent")

// ErrForeignTask: a task id names an outbox row this database does not
// have (a stale task of another or an earlier database sharing the Redis).
var ErrForeignTask = errors.New("task belongs to no outbox row of this database")

// OutboxIDOfTask reverses Task().ID and checks that the row is this
// database's own, by its creation time.
func (s *Store) OutboxIDOfTask(ctx context.Context, taskID string) (uint64, error) {
	id, micro, err := parseTaskID(taskID)
	if err != nil {
		return 0, err
	}
	var row OutboxTask
	err = s.db.WithContext(ctx).Select("id, created_at").First(&row, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) || (err == nil && row.CreatedAt.UnixMicro() != micro) {
		return 0, fmt.Errorf("task id %q: %w", taskID, ErrForeignTask)
	}
	if err != nil {
		return 0, fmt.Errorf("load outbox %d: %w", id, err)
	}
	return id, nil
}

// newTask builds an outbox row for payload, to run at runAt (zero: now).
func newTask(typ, queue string, payload any, runAt time.Time) (OutboxTask, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return OutboxTask{}, fmt.Errorf("encode %s payload: %w", typ, err)
	}
	return OutboxTask{Type: typ, Queue: queue, Payload: b, RunAt: runAt}, nil
}

// txWork collects what a transaction queues, so it is enqueued after commit.
type txWork struct {
	tx    *gorm.DB
	now   time.Time
	tasks []OutboxTask
	// timers are queued after commit but are not outbox rows: the stored
	// next_timer_at columns are their durable form (see timers.go).
	timers []Task
	// dirty holds the cases whose read models commit refreshes before it
	// commits (readmodels.go).
	dirty *dirtyCases
}

// task builds an outbox row written in this transaction, to run at runAt
// (zero: now).
func (w *txWork) task(typ, queue string, payload any, runAt time.Time) (OutboxTask, error) {
	t, err := newTask(typ, queue, payload, runAt)
	if err != nil {
		return t, err
	}
	if t.RunAt.IsZero() {
		t.RunAt = w.now
	}
	t.RunAt = t.RunAt.UTC().Truncate(time.Microsecond)
	t.CreatedAt = w.now
	return t, nil
}

// add writes an outbox row inside the transaction.
func (w *txWork) add(typ, queue string, payload any, runAt time.Time) error {
	t, err := w.task(typ, queue, payload, runAt)
	if err != nil {
		return err
	}
	if err := w.tx.Create(&t).Error; err != nil {
		return fmt.Errorf("write outbox %s: %w", typ, err)
	}
	w.tasks = append(w.tasks, t)
	return nil
}

// write runs fn in one transaction and, after it commits, hands the outbox
// rows it wrote to the queue. A failed enqueue is logged and left for the
// relay: the commit already made the work durable.
func (s *Store) write(ctx context.Context, fn func(w *txWork) error) error {
	w, err := s.commit(ctx, fn)
	if err != nil {
		return err
	}
	s.handOver(ctx, w)
	return nil
}

// commit runs fn in one transaction and returns what it queued. A
// transaction that MySQL rolled back as a deadlock victim (1213; Galera
// reports a commit conflict the same way) or after a lock wait timeout
// (1205) runs again, up to txAttempts times after a short random pause.
// So fn may run more than once: it touches only w.tx and sets, rather than
// adds to, whatever it hands out through its closure.
func (s *Store) commit(ctx context.Context, fn func(w *txWork) error) (*txWork, error) {
	dirty := &dirtyCases{}
	w := &txWork{now: s.clock(), dirty: dirty}
	var err error
	for attempt := 1; ; attempt++ {
		err = s.db.WithContext(withDirty(ctx, dirty)).Transaction(func(tx *gorm.DB) error {
			w.tx = tx
			w.tasks, w.timers = w.tasks[:0], w.timers[:0]
			dirty.take()
			if err := fn(w); err != nil {
				return err
			}
			// The cases whose events fn wrote: their search documents and
			// statistics change in this same transaction (readmodels.go).
			return s.refreshReadModels(tx, dirty.take())
		})
		if attempt == txAttempts || !retryable(err) {
			return w, err
		}
		s.log.Warn("transaction rolled back by the database; running it again", "attempt", attempt, "err", err)
		s.retries.Add(1)
		pause := time.Duration(attempt) * (10*time.Millisecond + rand.N(20*time.Millisecond))
		select {
		case <-ctx.Done():
			return w, err
		case <-time.After(pause):
		}
	}
}

// txAttempts bounds how often commit runs a transaction.
const txAttempts = 4

// retryable reports whether err is MySQL rolling a transaction back for
// another one's sake: a deadlock (or Galera certification conflict), or a
// lock wait timeout. Both leave nothing written.
func retryable(err error) bool {
	var me *mysqldriver.MySQLError
	return errors.As(err, &me) && (me.Number == 1213 || me.Number == 1205)
}

// TxRetries is how many transactions ran again after a deadlock or lock
// wait timeout since the store opened.
func (s *Store) TxRetries() int64 { return s.retries.Load() }

// handOver queues a committed transaction's tasks and timers. After a
// failed enqueue it stops: Redis is most likely down and every further
// call would wait as long (a batch of tips would keep its tipsters waiting
// once per tip); the relay and the timer sweep offer the rest again.
func (s *Store) handOver(ctx context.Context, w *txWork) {
	if ok := s.enqueue(ctx, w.tasks); len(ok) < len(w.tasks) {
		return
	}
	s.enqueueTimers(ctx, w.timers) // a failure is logged; the sweep re-arms timers
}

// enqueue hands tasks to the queue and returns the ids it accepted. The
// request path does not record the hand-over: a row stays "not done" until
// its handler finishes, and the relay re-offers old undone rows, which the
// task id makes a no-op while the task is still queued.
func (s *Store) enqueue(ctx context.Context, tasks []OutboxTask) []uint64 {
	if s.enq == nil || len(tasks) == 0 {
		return nil
	}
	var ok, dead []uint64
	for i, t := range tasks {
		err := s.enq.Enqueue(ctx, t.Task())
		if errors.Is(err, ErrTaskDead) {
			dead = append(dead, t.ID) // handled: it waits for `jianfu tasks retry`
		} else if err != nil {
			s.log.Warn("enqueue failed; the outbox relay will retry", "task", t.Type, "outbox_id", t.ID,
				"not_offered", len(tasks)-i, "err", err)
			break // see handOver
		}
		ok = append(ok, t.ID)
	}
	if len(dead) > 0 {
		s.log.Error("dead tasks: retries spent; see `jianfu tasks dead`", "outbox_ids", dead)
		if err := s.db.WithContext(ctx).Model(&OutboxTask{}).Where("id IN ? AND dead_at IS NULL", dead).
			Update("dead_at", s.clock()).Error; err != nil {
			s.log.Warn("mark outbox rows dead", "err", err)
		}
	}
	return ok
}

// ReviveOutbox lets the relay offer the outbox rows of these task ids
// again, after `jianfu tasks retry` (ids of other tasks are ignored).
func (s *Store) ReviveOutbox(ctx context.Context, taskIDs []string) error {
	var ids []uint64
	for _, tid := range taskIDs {
		if id, _, err := parseTaskID(tid); err == nil {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	if err := s.db.WithContext(ctx).Model(&OutboxTask{}).Where("id IN ?", ids).Update("dead_at", nil).Error; err != nil {
		return fmt.Errorf("revive outbox rows: %w", err)
	}
	return nil
}

// OutboxDead counts unfinished outbox rows whose task is dead.
func (s *Store) OutboxDead(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&OutboxTask{}).Where("done_at IS NULL AND dead_at IS NOT NULL").Count(&n).Error
	return n, err
}

// RelayParams selects what RelayOutbox hands to the queue.
type RelayParams struct {
	// All re-enqueues every unfinished row: used on start, when Redis may
	// have lost its tasks.
	All bool
	// OlderThan skips rows younger than this, which their writer is still
	// enqueuing.
	OlderThan time.Duration
	// RetryAfter skips rows the relay already handed over this recently
	// (default one minute).
	RetryAfter time.Duration
	Limit      int
}

// RelayOutbox enqueues unfinished outbox rows (Redis was down, or the
// process died between commit and enqueue) and returns how many it handed
// over. Enqueuing a row that is still queued is a no-op; enqueued_at
// records the relay's last hand-over so a long backlog is not re-offered on
// every pass.
func (s *Store) RelayOutbox(ctx context.Context, p RelayParams) (int, error) {
	if p.Limit <= 0 {
		p.Limit = 1000
	}
	if p.RetryAfter <= 0 {
		p.RetryAfter = time.Minute
	}
	now := s.clock()
	total := 0
	var after uint64
	for {
		q := s.db.WithContext(ctx).Where("done_at IS NULL AND dead_at IS NULL AND id > ? AND created_at <= ?", after, now.Add(-p.OlderThan))
		if !p.All {
			q = q.Where("enqueued_at IS NULL OR enqueued_at <= ?", now.Add(-p.RetryAfter))
		}
		var rows []OutboxTask
		if err := q.Order("id").Limit(p.Limit).Find(&rows).Error; err != nil {
			return total, fmt.Errorf("read outbox: %w", err)
		}
		if len(rows) == 0 {
			return total, nil
		}
		ok := s.enqueue(ctx, rows)
		if len(ok) > 0 {
			if err := s.db.WithContext(ctx).Model(&OutboxTask{}).Where("id IN ?", ok).
				Update("enqueued_at", now).Error; err != nil {
				return total, fmt.Errorf("mark outbox relayed: %w", err)
			}
		}
		total += len(ok)
		if len(ok) < len(rows) {
			return total, fmt.Errorf("relay outbox: %d of %d tasks not enqueued", len(rows)-len(ok), len(rows))
		}
		after = rows[len(rows)-1].ID
	}
}

// runOnce runs an outbox task's database effect exactly once: the row is
// claimed (done_at set) in the same transaction as the effect, so a second
// delivery finds it done and does nothing. ran reports whether fn ran.
func (s *Store) runOnce(ctx context.Context, outboxID uint64, fn func(w *txWork) error) (ran bool, err error) {
	err = s.write(ctx, func(w *txWork) error {
		ran = false // a transaction may run again (see commit)
		res := w.tx.Model(&OutboxTask{}).Where("id = ? AND done_at IS NULL", outboxID).Update("done_at", w.now)
		if res.Error != nil {
			return fmt.Errorf("claim outbox %d: %w", outboxID, res.Error)
		}
		if res.RowsAffected == 0 {
			return nil
		}
		ran = true
		return fn(w)
	})
	return ran, err
}

// OutboxPending counts unfinished outbox rows (for metrics and tests).
func (s *Store) OutboxPending(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&OutboxTask{}).Where("done_at IS NULL").Count(&n).Error
	return n, err
}

// OutboxTaskByID loads one outbox row.
func (s *Store) OutboxTaskByID(ctx context.Context, id uint64) (OutboxTask, error) {
	var t OutboxTask
	err := s.db.WithContext(ctx).First(&t, id).Error
	if err != nil {
		return t, interpret(err, fmt.Sprintf("load outbox %d", id))
	}
	return t, nil
}
