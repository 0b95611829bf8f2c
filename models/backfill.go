package models

import (
	"encoding/json"
	"fmt"
	"strings"

	"gorm.io/gorm"
)

// The bulk path of the read models, for cases that have none yet
// (BackfillReadModels). The per-change refresh (refreshReadModels) is
// built for a few cases a transaction: it reads the cases' old documents
// and facts and adds each batch's differences to the rollups, so a
// million cases loaded at once cost it some thirteen million rollup row
// updates, 500 cases a transaction, over an hour. Here the cases have no
// old documents or facts, so nothing is read back: the documents and the
// facts are computed by the same functions (searchTerms, loadFacts) and
// inserted with large multi-row INSERTs, and the contributions of a whole
// chunk — months of a county's cases, which share their month, year and
// most day rows — are summed in memory and added to the rollups once.
// TestBulkReadModelsEqualRefresh compares the tables it writes with those
// of the per-change refresh, row for row.

// backfillChunk is how many cases one backfill transaction takes: the
// rollup sums of a chunk stay in memory (some tens of MB at 20000).
const backfillChunk = 20000

// maxSQLiteRows is how many rows of cols values one SQLite statement
// should carry: the driver (glebarez/go-sqlite) binds each parameter by a
// linear search of all of them, so a statement of n values costs n²/2
// steps — 80% of a bulk load's CPU at 20000 values a statement, none to
// speak of at a thousand.
func maxSQLiteRows(cols int) int { return max(1, 1000/cols) }

// bulkSlot is the rollup slot of every bulk contribution: slots only
// spread concurrent writers, a read sums them, and one slot makes a chunk
// of a busy county a third of the day rows and an eighth of the month
// rows. (Passed to caseFacts.add as the case id: 0 mod rollupSlots.) A
// later change of such a case subtracts its old contribution from its
// own slot, which may then hold a negative figure beside slot 0's
// positive one; the sums stay right.
const bulkSlot = 0

// bulkReadModels builds the search documents, facts and rollup sums of
// ids, cases that have no facts yet, inside tx. A case whose facts another
// process wrote meanwhile fails the whole chunk on the facts' primary key
// instead of being counted twice.
func (s *Store) bulkReadModels(tx *gorm.DB, ids []uint64) error {
	var docs, facts []any // case id, value, … in id order
	deltas := map[rollupKey]*statsVec{}
	// Texts and facts are read 5000 cases a statement (1000 in SQLite).
	per := 5000
	if s.dialect == "sqlite" {
		per = maxSQLiteRows(1)
	}
	for start := 0; start < len(ids); start += per {
		part := ids[start:min(start+per, len(ids))]
		var rows []textRow
		// Two statements, not refreshSearch's UNION ALL: MariaDB
		// materializes a union of TEXT columns in an on-disk table.
		for _, q := range []string{"SELECT c.id AS owner, t.title, t.content, t.implicated_unit FROM cases c JOIN tips t ON t.id = c.tip_id WHERE c.id IN ?",
			"SELECT c.merged_into_id AS owner, t.title, t.content, t.implicated_unit FROM cases c JOIN tips t ON t.id = c.tip_id WHERE c.merged_into_id IN ?"} {
			var more []textRow
			if err := tx.Raw(q, part).Scan(&more).Error; err != nil {
				return fmt.Errorf("search: load texts: %w", err)
			}
			rows = append(rows, more...)
		}
		texts := make(map[uint64][]string, len(part))
		for _, r := range rows {
			texts[r.Owner] = append(texts[r.Owner], r.Title, r.Content, r.ImplicatedUnit)
		}
		// A case that somehow has a document but no facts keeps the
		// per-change path, which compares and rewrites.
		var indexed []uint64
		if err := tx.Raw("SELECT case_id FROM case_search WHERE case_id IN ?", part).Scan(&indexed).Error; err != nil {
			return fmt.Errorf("search: load documents: %w", err)
		}
		if len(indexed) > 0 {
			if err := s.refreshSearch(tx, indexed); err != nil {
				return err
			}
			for _, id := range indexed {
				delete(texts, id)
			}
		}
		f, err := s.loadFacts(tx, part)
		if err != nil {
			return err
		}
		for _, id := range part {
			if t, ok := texts[id]; ok {
				docs = append(docs, id, searchTerms(t...))
			}
			if f[id] == nil {
				continue
			}
			raw, err := json.Marshal(f[id])
			if err != nil {
				return err
			}
			facts = append(facts, id, string(raw))
			f[id].add(deltas, bulkSlot, 1)
		}
	}
	// 500 documents a statement stay far below max_allowed_packet.
	per = 500
	if s.dialect == "sqlite" {
		per = maxSQLiteRows(2)
	}
	if err := s.insertPairs(tx, "case_search (case_id, terms)", docs, per); err != nil {
		return fmt.Errorf("search: index cases: %w", err)
	}
	if s.dialect == "sqlite" {
		if err := s.insertPairs(tx, "case_search_fts (rowid, terms)", docs, per); err != nil {
			return fmt.Errorf("search: index cases: %w", err)
		}
	}
	if err := s.insertPairs(tx, "case_stats (case_id, facts)", facts, per); err != nil {
		return fmt.Errorf("rollups: store case facts: %w", err)
	}
	per = 500
	if s.dialect == "sqlite" {
		per = maxSQLiteRows(4 + len(rollupColumns))
	}
	return s.applyDeltas(tx, deltas, per)
}

// insertPairs inserts (key, value) rows, per rows a statement.
func (s *Store) insertPairs(tx *gorm.DB, into string, pairs []any, per int) error {
	for start := 0; start < len(pairs); start += 2 * per {
		part := pairs[start:min(start+2*per, len(pairs))]
		values := strings.TrimSuffix(strings.Repeat("(?, ?),", len(part)/2), ",")
		if err := tx.Exec("INSERT INTO "+into+" VALUES "+values, part...).Error; err != nil {
			return err
		}
	}
	return nil
}
