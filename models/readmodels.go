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

// indexNewCases writes the read models of cases the transaction has just
// created with their first event and nothing else (intake), from the rows
// the caller holds: the search document of the tip's text, and the
// statistics contribution of a case received and in screening. The
// refresh at commit would read all of it back (the tip's text, the counts
// of the direct path, the stage changes, the stored contributions) only
// to find what the batch already knows: ten statements a batch become
// three. refreshReadModels stays the reference this must equal
// (TestIntakeReadModelsEqualRefresh).
func (s *Store) indexNewCases(w *txWork, tips []Tip, cases []Case) error {
	if len(cases) == 0 {
		return nil
	}
	docs := make([]any, 0, 2*len(cases))
	stats := make([]CaseStat, len(cases))
	ids := make([]uint64, len(cases))
	deltas := map[rollupKey]*statsVec{}
	// One slot for the whole batch, its first case's: nine rollup rows
	// instead of up to 72, and two batches written at once meet on a row
	// only when their first cases share a slot (every batch holds cases
	// of all eight).
	slot := caseSlot(cases[0].ID)
	for i, c := range cases {
		t := tips[i]
		docs = append(docs, c.ID, searchTerms(t.Title, t.Content, t.ImplicatedUnit))
		f := newCaseFacts(t.Channel, c)
		raw, err := json.Marshal(f)
		if err != nil {
			return err
		}
		f.add(deltas, slot, 1)
		stats[i], ids[i] = CaseStat{CaseID: c.ID, Facts: string(raw)}, c.ID
	}
	if err := s.insertSearchDocs(w.tx, docs); err != nil {
		return err
	}
	if err := s.upsertCaseStats(w.tx, stats); err != nil {
		return err
	}
	if err := s.applyDeltas(w.tx, deltas, 500); err != nil {
		return err
	}
	w.dirty.forget(ids)
	return nil
}

// newCaseFacts is what loadFacts finds for a case just created in
// collect: received (and by its channel), in screening, open; no unit, no
// stay (a stay is counted when the case leaves a stage).
func newCaseFacts(channel string, c Case) *caseFacts {
	n := Counts{Received: 1, Open: 1, Screening: 1}
	switch channel {
	case ChannelWeb:
		n.ReceivedWeb = 1
	case ChannelPhone:
		n.ReceivedPhone = 1
	case ChannelLetter:
		n.ReceivedLetter = 1
	case ChannelMailbox:
		n.ReceivedMailbox = 1
	}
	// The database keeps microseconds and drops the rest.
	day := c.CreatedAt.Truncate(time.Microsecond).In(Shanghai()).Format(calDayLayout)
	return &caseFacts{Day: day, Groups: factGroups(channel, c.CategoryID, c.TownshipID), Case: countsVec(n)}
}

// newCaseStatements is the most statements indexNewCases sends for one
// batch of new cases: the documents (twice in SQLite, for FTS5), the case
// facts and the rollups.
const newCaseStatements = 4

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
		if err := db.Transaction(func(tx *gorm.DB) error { return s.bulkReadModels(tx, ids) }); err != nil {
			return done, fmt.Errorf("backfill read models from case %d: %w", ids[0], err)
		}
		last = ids[len(ids)-1]
		done += len(ids)
		if progress != nil {
			progress(done)
		}
	}
}
