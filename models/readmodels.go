package models

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"gorm.io/gorm"
)

// Read models: the search documents (search.go) and the statistics
// rollups (rollups.go) are derived from the cases, and both are kept in
// the same transaction as the change that moves them. The one central
// place is the timeline: every action on a case writes an event (DESIGN
// §2), so a gorm callback notes the case of every event inserted inside
// Store.commit, and commit refreshes those cases' read models just before
// it commits. New workflow actions are counted and indexed without
// touching this code, as long as they write their event through commit
// (s.write), as every action does.
//
// One exception: intake. A new case's first event leaves its read models
// to the case's routing task (routing.go), which runs within a second or
// two and indexes the cases it routes, hundreds a transaction (from its
// own rows where nothing has touched a case since: indexNewCases): done in
// each intake batch of a few tips, the search documents and rollup rows
// cost intake a quarter of its throughput (bench/notes.md §8). Until then
// the case is in the queue and its own pages but not yet in search or in
// the figures; a routing task that cannot run (Redis down) is offered
// again by the outbox relay, and BackfillReadModels, which every start
// runs, indexes whatever is left.

// dirtyCases collects the cases whose events a transaction wrote.
type dirtyCases struct {
	mu  sync.Mutex
	ids map[uint64]struct{}
}

type dirtyKey struct{}

func withDirty(ctx context.Context, d *dirtyCases) context.Context {
	return context.WithValue(ctx, dirtyKey{}, d)
}

func (d *dirtyCases) add(id uint64) {
	d.mu.Lock()
	if d.ids == nil {
		d.ids = map[uint64]struct{}{}
	}
	d.ids[id] = struct{}{}
	d.mu.Unlock()
}

// take returns the collected ids in ascending order (so concurrent
// transactions lock rollup rows in one order) and forgets them.
func (d *dirtyCases) take() []uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	ids := make([]uint64, 0, len(d.ids))
	for id := range d.ids {
		ids = append(ids, id)
	}
	d.ids = nil
	slices.Sort(ids)
	return ids
}

// forget drops ids: the transaction wrote their read models itself.
func (d *dirtyCases) forget(ids []uint64) {
	d.mu.Lock()
	for _, id := range ids {
		delete(d.ids, id)
	}
	d.mu.Unlock()
}

// registerReadModelHook installs the callback that notes the cases of
// inserted events.
func (s *Store) registerReadModelHook() error {
	err := s.db.Callback().Create().After("gorm:create").Register("jianfu:read_models", func(db *gorm.DB) {
		if db.Error != nil || db.Statement.Table != "events" || db.Statement.Context == nil {
			return
		}
		d, _ := db.Statement.Context.Value(dirtyKey{}).(*dirtyCases)
		if d == nil {
			return
		}
		switch v := db.Statement.Dest.(type) {
		case *Event:
			d.add(v.CaseID)
		case *[]Event:
			for _, e := range *v {
				d.add(e.CaseID)
			}
		case []Event:
			for _, e := range v {
				d.add(e.CaseID)
			}
		}
	})
	if err != nil {
		return fmt.Errorf("register read model hook: %w", err)
	}
	return nil
}

// routedCase is a case as the routing task reads it, with its tip.
type routedCase struct {
	ID, CategoryID                 uint64
	TownshipID, MergedIntoID       *uint64
	Stage                          string
	CreatedAt                      time.Time
	Channel                        string
	Title, Content, ImplicatedUnit string
}

// indexNewCases writes the read models of the routed cases that nothing
// has touched since intake, from the rows routing holds: a case in
// collect, merged nowhere, with neither facts nor a search document (any
// staff action since intake wrote both at its commit, and merging a tip
// into a case is such an action). Its search document is its tip's
// text, and its figures those of a case received and in screening. The
// refresh at commit would read all of it back (the texts, the counts of
// the direct path, the stage changes, the stored documents and facts):
// seven statements and most of the routing task's database time, about a
// tenth of intake's throughput (bench/notes.md §12). The other cases stay
// to the refresh, which this must equal (TestRoutingIndexesNewCases). w
// holds the cases locked.
func (s *Store) indexNewCases(w *txWork, cases []routedCase) error {
	var untouched []routedCase
	var ids []uint64
	for _, c := range cases {
		if c.Stage == StageCollect && c.MergedIntoID == nil {
			untouched, ids = append(untouched, c), append(ids, c.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	var indexed []uint64
	if err := w.tx.Raw("SELECT case_id FROM case_stats WHERE case_id IN ? UNION SELECT case_id FROM case_search WHERE case_id IN ?",
		ids, ids).Scan(&indexed).Error; err != nil {
		return fmt.Errorf("read models: find new cases: %w", err)
	}
	known := make(map[uint64]bool, len(indexed))
	for _, id := range indexed {
		known[id] = true
	}
	var docs, facts []any // case id, value, …
	var fresh []uint64
	deltas := map[rollupKey]*statsVec{}
	for _, c := range untouched {
		if known[c.ID] {
			continue
		}
		f := newCaseFacts(c)
		raw, err := json.Marshal(f)
		if err != nil {
			return err
		}
		fresh = append(fresh, c.ID)
		docs = append(docs, c.ID, searchTerms(c.Title, c.Content, c.ImplicatedUnit))
		facts = append(facts, c.ID, string(raw))
		// One slot for the chunk (its first new case's): nine rollup
		// rows for a day's cases, not nine a case.
		f.add(deltas, caseSlot(fresh[0]), 1)
	}
	if len(fresh) == 0 {
		return nil
	}
	if err := s.insertSearchDocs(w.tx, docs); err != nil {
		return err
	}
	if err := s.insertPairs(w.tx, "case_stats (case_id, facts)", facts, readModelBatch); err != nil {
		return fmt.Errorf("rollups: store case facts: %w", err)
	}
	if err := s.applyDeltas(w.tx, deltas, readModelBatch); err != nil {
		return err
	}
	w.dirty.forget(fresh)
	return nil
}

// newCaseFacts is what loadFacts finds for a case in collect with its
// first event only: received (and by its channel), in screening, open;
// no unit, no stay (a stay is counted when the case leaves a stage).
func newCaseFacts(c routedCase) *caseFacts {
	n := Counts{Received: 1, Open: 1, Screening: 1}
	switch c.Channel {
	case ChannelWeb:
		n.ReceivedWeb = 1
	case ChannelPhone:
		n.ReceivedPhone = 1
	case ChannelLetter:
		n.ReceivedLetter = 1
	case ChannelMailbox:
		n.ReceivedMailbox = 1
	}
	return &caseFacts{Day: c.CreatedAt.In(Shanghai()).Format(calDayLayout),
		Groups: factGroups(c.Channel, c.CategoryID, c.TownshipID), Case: countsVec(n)}
}

// refreshReadModels brings the search documents and the statistics
// rollups of ids up to date inside tx.
func (s *Store) refreshReadModels(tx *gorm.DB, ids []uint64) error {
	if len(ids) == 0 {
		return nil
	}
	for start := 0; start < len(ids); start += readModelBatch {
		part := ids[start:min(start+readModelBatch, len(ids))]
		if err := s.refreshSearch(tx, part); err != nil {
			return err
		}
		if err := s.refreshRollups(tx, part); err != nil {
			return err
		}
	}
	return nil
}

const readModelBatch = 500

// BackfillReadModels builds the search documents and statistics of every
// case that has none yet: cases written before these read models existed
// (an upgraded database) or loaded in bulk (the demo generator). It is
// cheap when there is nothing to do and safe to run on every start. It
// works backfillChunk cases a transaction through bulkReadModels, not the
// per-change refresh: a million cases in minutes, not an hour.
func (s *Store) BackfillReadModels(ctx context.Context, progress func(done int)) (int, error) {
	db := s.db.WithContext(ctx)
	var last uint64
	done := 0
	for {
		var ids []uint64
		if err := db.Raw("SELECT c.id FROM cases c WHERE c.id > ? AND NOT EXISTS (SELECT 1 FROM case_stats cs WHERE cs.case_id = c.id)"+
			" ORDER BY c.id LIMIT ?", last, backfillChunk).Scan(&ids).Error; err != nil {
			return done, fmt.Errorf("backfill read models: %w", err)
		}
		if len(ids) == 0 {
			return done, nil
		}
		var fresh []uint64
		// The routing task indexes new cases too (routing.go): lock the
		// chunk's range of cases before reading anything, then take those
		// still without facts, so a case both reach is counted once.
		// (By range, not by the list: SQLite's driver binds a list of n ids
		// in n² steps. commit runs the transaction again if it loses a
		// deadlock with routing.)
		first := ids[0]
		last = ids[len(ids)-1]
		if _, err := s.commit(ctx, func(w *txWork) error {
			var n int64
			if err := w.tx.Model(&Case{}).Clauses(forUpdate).Where("id BETWEEN ? AND ?", first, last).Count(&n).Error; err != nil {
				return err
			}
			if err := w.tx.Raw("SELECT c.id FROM cases c WHERE c.id BETWEEN ? AND ? AND NOT EXISTS (SELECT 1 FROM case_stats cs WHERE cs.case_id = c.id)"+
				" ORDER BY c.id", first, last).Scan(&fresh).Error; err != nil || len(fresh) == 0 {
				return err
			}
			return s.bulkReadModels(w.tx, fresh)
		}); err != nil {
			return done, fmt.Errorf("backfill read models from case %d: %w", ids[0], err)
		}
		done += len(fresh)
		if progress != nil {
			progress(done)
		}
	}
}
