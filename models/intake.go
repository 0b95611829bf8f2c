package models

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"gorm.io/gorm"
)

// Intake group commit. Tips that arrive while another tip's transaction is
// running wait for it, and the next transaction stores all of them with one
// multi-row INSERT per table: a burst of n tips costs one commit and six
// statements (four INSERTs, two id read-backs) instead of n of each, and
// the Idempotency-Keys the batch carries are looked up in one query before
// it. Nobody waits on purpose: a lone tip is written at once, and a tip
// only waits for a transaction already under way. The request that finds a
// writer's place free writes; when it is done it hands whatever arrived
// meanwhile to the first of those requests, which writes it in turn, so no
// goroutine lives beyond its request. Every request still answers only
// after its own rows are committed.

// maxIntakeBatch bounds one transaction: 32 tips of at most 5000
// characters stay far below MySQL's default packet limit.
const maxIntakeBatch = 32

// intakeWriters is how many intake transactions run at once on MySQL:
// two, so one batch's statements overlap the other's commit. (Measured
// with 1, 2 and 4 writers under 16 clients: 1 and 2 alike, 4 worse, its
// batches smaller. SQLite has one writer connection, so one.)
const intakeWriters = 2

// newTip is one tip on its way into the database.
type newTip struct {
	ctx   context.Context
	now   time.Time
	tip   Tip
	files []FileInput
	done  chan intakeSignal // buffered 1
	// Set by the writer once committed.
	caseID uint64
	dueAt  time.Time

	// enteredBy: the staff member who entered a phone, letter, visit or
	// mailbox tip ("" for the tipster's own).
	enteredBy string
}

// intakeSignal answers a waiting tip: its result, or a batch to write.
type intakeSignal struct {
	err   error
	batch []*newTip
}

// intakeQueue holds tips waiting for a writer.
type intakeQueue struct {
	mu      sync.Mutex
	waiting []*newTip
	writers int
	max     int // concurrent writing transactions
}

// take removes the next batch; q.mu is held.
func (q *intakeQueue) take() []*newTip {
	n := min(len(q.waiting), maxIntakeBatch)
	batch := q.waiting[:n:n]
	q.waiting = q.waiting[n:]
	if len(q.waiting) == 0 {
		q.waiting = nil // let the old array go
	}
	return batch
}

// leave takes t out of the queue if no writer has taken it yet, and
// reports whether it did.
func (q *intakeQueue) leave(t *newTip) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	i := slices.Index(q.waiting, t)
	if i < 0 {
		return false
	}
	q.waiting = slices.Delete(q.waiting, i, i+1)
	return true
}

// storeTip stores t, alone or with the tips that arrive beside it. A tip
// whose request ends while it waits in the queue leaves it unwritten; once
// a writer has taken it, it waits for that transaction (intakeTimeout).
func (s *Store) storeTip(t *newTip) error {
	q := &s.intake
	q.mu.Lock()
	q.waiting = append(q.waiting, t)
	var batch []*newTip
	if q.writers < max(q.max, 1) {
		q.writers++
		batch = q.take()
	}
	q.mu.Unlock()
	for {
		if batch != nil {
			s.writeTips(batch)
		}
		var sig intakeSignal
		select {
		case sig = <-t.done:
		case <-t.ctx.Done():
			if q.leave(t) {
				return t.ctx.Err() // nothing written
			}
			sig = <-t.done // in a batch already: its answer is coming
		}
		if sig.batch == nil {
			return sig.err
		}
		batch = sig.batch // handed over: t is its first tip
	}
}

// intakeTimeout bounds one intake transaction. It runs on behalf of
// several requests, so no single request's cancellation stops it.
const intakeTimeout = 30 * time.Second

// writeTips commits batch, hands the tips that arrived meanwhile to the
// next writer, queues the batch's tasks and answers its tips. A batch that
// fails is written again a tip at a time, so one bad tip (a duplicate
// Idempotency-Key) fails alone. Whatever panics on the way, the queue
// moves on and every tip of the batch gets one answer: the panic fails
// this batch only (and a committed batch is answered as stored).
func (s *Store) writeTips(batch []*newTip) {
	answered := make(map[*newTip]bool, len(batch))
	answer := func(t *newTip, err error) {
		if !answered[t] {
			answered[t] = true
			t.done <- intakeSignal{err: err}
		}
	}
	passed := false
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		err := fmt.Errorf("intake batch: panic: %v", v)
		s.log.Error("intake batch failed", "err", err, "tips", len(batch), "stack", string(debug.Stack()))
		if !passed {
			s.passOn()
		}
		for _, t := range batch {
			answer(t, err)
		}
	}()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(batch[0].ctx), intakeTimeout)
	defer cancel()
	live := batch[:0:0]
	for _, t := range batch {
		if err := t.ctx.Err(); err != nil {
			answer(t, err) // gone before its turn: nothing written
			continue
		}
		live = append(live, t)
	}
	live = s.withoutSeenKeys(ctx, live, answer)
	w, err := s.commitTips(ctx, live)
	s.passOn()
	passed = true

	errs := make([]error, len(live))
	if err != nil && len(live) == 1 {
		errs[0] = err
	} else if err != nil {
		w = &txWork{}
		for i := range live {
			one, err := s.commitTips(ctx, live[i:i+1])
			errs[i] = err
			w.tasks, w.timers = append(w.tasks, one.tasks...), append(w.timers, one.timers...)
		}
	}
	s.safeHandOver(ctx, w) // one hand-over, so a Redis that hangs costs one wait
	for i, t := range live {
		answer(t, errs[i])
	}
}

// errKeySeen answers a tip whose Idempotency-Key a stored tip holds:
// nothing is written, and CreateTip tells a replay from a reuse (replay).
var errKeySeen = errors.New("idempotency key held by a stored tip")

// withoutSeenKeys answers errKeySeen to the tips of batch whose
// Idempotency-Key is stored already, found with one query for the whole
// batch, and returns the others. Should the query fail, every tip goes on:
// the unique index on the key still refuses a second row.
func (s *Store) withoutSeenKeys(ctx context.Context, batch []*newTip, answer func(*newTip, error)) []*newTip {
	var keys []string
	for _, t := range batch {
		if k := t.tip.IdempotencyKey; k != nil {
			keys = append(keys, *k)
		}
	}
	if len(keys) == 0 {
		return batch
	}
	var seen []string
	if err := s.db.WithContext(ctx).Model(&Tip{}).Where("idempotency_key IN ?", keys).
		Pluck("idempotency_key", &seen).Error; err != nil {
		s.log.Warn("intake: idempotency keys not checked before the insert", "err", err)
		return batch
	}
	if len(seen) == 0 {
		return batch
	}
	rest := batch[:0:0]
	for _, t := range batch {
		if k := t.tip.IdempotencyKey; k != nil && slices.Contains(seen, *k) {
			answer(t, errKeySeen)
			continue
		}
		rest = append(rest, t)
	}
	return rest
}

// passOn hands the tips that arrived meanwhile to the first of them, which
// writes them next, or gives the writer's place back.
func (s *Store) passOn() {
	q := &s.intake
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.waiting) > 0 {
		next := q.take()
		next[0].done <- intakeSignal{batch: next}
	} else {
		q.writers--
	}
}

// safeHandOver queues committed work; a panic in the queue's client is
// logged and the work left to the relay and the timer sweep, as after a
// failed enqueue: the tips are stored, so their senders hear so.
func (s *Store) safeHandOver(ctx context.Context, w *txWork) {
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("enqueue panicked; the outbox relay will retry", "panic", v, "stack", string(debug.Stack()))
		}
	}()
	s.handOver(ctx, w)
}

// commitTips writes tips in one transaction. A panic fails the batch like
// an error would, so the tips waiting on it are answered and the next
// writer is called.
func (s *Store) commitTips(ctx context.Context, tips []*newTip) (w *txWork, err error) {
	w = &txWork{}
	if len(tips) == 0 {
		return w, nil
	}
	defer func() {
		if v := recover(); v != nil {
			w, err = &txWork{}, fmt.Errorf("intake transaction: panic: %v", v)
		}
	}()
	w, err = s.commit(ctx, func(w *txWork) error { return s.insertTips(w, tips) })
	if err != nil {
		w = &txWork{} // nothing committed, nothing to queue
	}
	return w, err
}

// insertTips writes each tip with its case in `collect`, its attachments
// and the first timeline event, one multi-row INSERT per table for the
// whole batch, and one routing task for the batch's cases.
func (s *Store) insertTips(w *txWork, batch []*newTip) error {
	tips := make([]Tip, len(batch))
	for i, t := range batch {
		tips[i] = t.tip
	}
	if err := w.tx.Create(&tips).Error; err != nil {
		return fmt.Errorf("insert tip: %w", err)
	}
	hashes := make([]string, len(tips))
	for i := range tips {
		hashes[i] = tips[i].ReceiptHash
	}
	tipIDs, err := insertedIDs(w.tx, "tips", "receipt_hash", hashes)
	if err != nil {
		return fmt.Errorf("read back tip ids: %w", err)
	}
	cases := make([]Case, len(batch))
	for i, t := range batch {
		tips[i].ID = tipIDs[i]
		cases[i] = Case{TipID: tips[i].ID, CategoryID: t.tip.CategoryID, TownshipID: t.tip.TownshipID,
			Suggestions: "[]", VerifyTeam: "[]", CreatedAt: t.now, UpdatedAt: t.now}
		s.enterStage(&cases[i], StageCollect, t.now)
	}
	if err := w.tx.Create(&cases).Error; err != nil {
		return fmt.Errorf("insert case: %w", err)
	}
	caseIDs, err := insertedIDs(w.tx, "cases", "tip_id", tipIDs)
	if err != nil {
		return fmt.Errorf("read back case ids: %w", err)
	}
	for i := range cases {
		cases[i].ID = caseIDs[i]
	}
	events := make([]Event, len(batch))
	var files []Attachment
	for i, t := range batch {
		c := &cases[i]
		w.queueCaseTimer(c)
		for _, f := range t.files {
			files = append(files, Attachment{CaseID: c.ID, Filename: f.Name, ContentType: f.ContentType, Size: int64(len(f.Data)),
				SHA256: f.SHA256, Data: f.Data, CreatedAt: t.now})
		}
		events[i] = Event{CaseID: c.ID, At: t.now, Kind: EventSubmitted, Actor: ActorTipster, ToStage: StageCollect,
			Public: true, Body: "收到反映，进入线索收集阶段", Data: "{}"}
		if t.enteredBy != "" {
			events[i].Actor, events[i].Body = t.enteredBy, enteredBody(t.tip.Channel)
		}
		t.caseID, t.dueAt = c.ID, *c.DueAt
	}
	if err := insertAttachments(w.tx, files); err != nil {
		return err
	}
	if err := w.tx.Create(&events).Error; err != nil {
		return fmt.Errorf("insert event: %w", err)
	}
	// One routing task for the batch, which also writes the new cases'
	// search documents and figures (routing.go), a second or two later
	// and for many batches at once.
	w.dirty.forget(caseIDs)
	return w.add(TaskRouteTip, QueueDefault, RouteTipPayload{CaseIDs: caseIDs}, time.Time{})
}

// attachmentStatementBytes bounds the files one INSERT carries (at least
// one file each): escaped, they stay far below MySQL's max_allowed_packet
// (16 MB by default) however many photos a batch holds.
const attachmentStatementBytes = 4 << 20

// insertAttachments writes files, as many to a statement as
// attachmentStatementBytes allows. (Their ids are not read back: nothing
// at intake needs them.)
func insertAttachments(tx *gorm.DB, files []Attachment) error {
	for len(files) > 0 {
		n, size := 1, len(files[0].Data)
		for n < len(files) && size+len(files[n].Data) <= attachmentStatementBytes {
			size += len(files[n].Data)
			n++
		}
		part := files[:n]
		if err := tx.Create(&part).Error; err != nil {
			return fmt.Errorf("insert attachment: %w", err)
		}
		files = files[n:]
	}
	return nil
}

// Multi-row INSERTs leave the new rows' ids unknown in general: MySQL
// reports only the first, and the rest follow it only when the server
// counts by 1 (not on Galera, nor with auto_increment_increment set) and
// hands a statement a block of its own. So the batch reads its ids back by
// a unique key instead of computing them (docs/reliability.md).

// insertedIDs returns the ids of the rows of table whose unique column key
// holds keys, in the order of keys.
func insertedIDs[K comparable](tx *gorm.DB, table, key string, keys []K) ([]uint64, error) {
	var rows []struct {
		ID uint64
		K  K
	}
	if err := tx.Table(table).Select("id, "+key+" AS k").Where(key+" IN ?", keys).Scan(&rows).Error; err != nil {
		return nil, err
	}
	byKey := make(map[K]uint64, len(rows))
	for _, r := range rows {
		byKey[r.K] = r.ID
	}
	ids := make([]uint64, len(keys))
	for i, k := range keys {
		id, ok := byKey[k]
		if !ok {
			return nil, fmt.Errorf("%s: the row with %s %v is missing after its insert", table, key, k)
		}
		ids[i] = id
	}
	return ids, nil
}
