package models

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"gorm.io/gorm"

	"jianfu/testenv"
)

// TestBulkReadModelsEqualRefresh generates a county through the bulk
// path (GenerateCounty's backfill), with some tips merged into other
// cases, and checks that it writes exactly what the per-change refresh
// writes for the same cases: the same search documents and facts, row for
// row, the same rollup sums for every day, month and year and group
// (the bulk path keeps them in one slot), the same search results, and
// statistics equal to the direct count.
func TestBulkReadModelsEqualRefresh(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f := newCounty(t, b, GenerateParams{Cases: 2500, Townships: 4, Departments: 6, Years: 2, OpenDue: 400, Seed: 7})
			// Merge ten open tips into other open cases, as the office
			// would, so that documents hold merged tips' words.
			var open []uint64
			f.must("open cases", f.s.db.Raw("SELECT id FROM cases WHERE stage = ? ORDER BY id", StageCollect).Scan(&open).Error)
			if len(open) < 20 {
				t.Fatalf("only %d open cases to merge", len(open))
			}
			for i := 0; i < 20; i += 2 {
				f.must("merge", f.s.db.Exec("UPDATE cases SET merged_into_id = ?, stage = ? WHERE id = ?", open[i+1], StageClosed, open[i]).Error)
			}
			words := []string{"打卡", "台账", "app", "考核排名", "县教育局", "数据资源", "截图", "十点", "乡"}
			type state struct {
				docs, facts, rollups string
				found                map[string][]uint64
			}
			snapshot := func() state {
				t.Helper()
				var st state
				var docs []CaseSearch
				f.must("documents", f.s.db.Order("case_id").Find(&docs).Error)
				var facts []CaseStat
				f.must("facts", f.s.db.Order("case_id").Find(&facts).Error)
				sums := make([]string, len(rollupColumns))
				for i, c := range rollupColumns {
					sums[i] = "SUM(" + c + ")"
				}
				rows, err := f.s.db.Raw("SELECT grain, day, grp, " + strings.Join(sums, ", ") +
					" FROM stats_rollups GROUP BY grain, day, grp ORDER BY grain, day, grp").Rows()
				f.must("rollups", err)
				var lines []string
				for rows.Next() {
					var grain, day, grp string
					var v statsVec
					dest := []any{&grain, &day, &grp}
					for i := range v {
						dest = append(dest, &v[i])
					}
					f.must("rollup row", rows.Scan(dest...))
					if v != (statsVec{}) {
						lines = append(lines, fmt.Sprint(grain, day, grp, v))
					}
				}
				f.must("rollups", rows.Err())
				rows.Close()
				d, _ := json.Marshal(docs)
				x, _ := json.Marshal(facts)
				st.docs, st.facts, st.rollups = string(d), string(x), strings.Join(lines, "\n")
				st.found = map[string][]uint64{}
				for _, w := range words {
					page, err := f.s.ListCases(f.ctx, f.office, CaseFilter{Q: w, Limit: 100})
					f.must("search "+w, err)
					for _, it := range page.Items {
						st.found[w] = append(st.found[w], it.ID)
					}
				}
				if len(docs) == 0 || len(facts) == 0 || len(lines) == 0 {
					t.Fatalf("empty read models: %d documents, %d facts, %d rollup sums", len(docs), len(facts), len(lines))
				}
				return st
			}
			wipe := func() {
				t.Helper()
				if b.Embedded() {
					f.must("wipe", f.s.db.Exec("INSERT INTO case_search_fts (case_search_fts) VALUES ('delete-all')").Error)
				}
				for _, table := range []string{"stats_rollups", "case_stats", "case_search"} {
					f.must("wipe", f.s.db.Exec("DELETE FROM "+table).Error)
				}
			}

			wipe()
			n, err := f.s.BackfillReadModels(f.ctx, nil)
			if err != nil || n != 2500 {
				t.Fatalf("backfill = %d, %v; want 2500", n, err)
			}
			bulk := snapshot()
			// The figures of the bulk path equal the direct count.
			for _, p := range [][2]string{{"2025-01-01", "2025-12-31"}, {"2024-03-01", "2026-03-31"}, {"2016-01-01", "2026-12-31"}, {"2025-06-10", "2025-08-20"}} {
				from, to, err := PeriodOfDates(p[0], p[1])
				f.must("period", err)
				fast, err := f.s.Stats(f.ctx, StatsParams{From: from, To: to})
				f.must("stats", err)
				direct, err := f.s.Stats(f.ctx, StatsParams{From: from, To: to, Direct: true})
				f.must("direct stats", err)
				a, _ := json.Marshal(fast)
				d, _ := json.Marshal(direct)
				if string(a) != string(d) {
					t.Fatalf("%s..%s: bulk rollups differ from the direct count\nrollups: %s\n direct: %s", p[0], p[1], a, d)
				}
				if fast.Totals.Received == 0 || fast.Totals.Merged == 0 && p[1] == "2026-12-31" {
					t.Errorf("%s..%s: received %d, merged %d: the county is not in the figures", p[0], p[1], fast.Totals.Received, fast.Totals.Merged)
				}
			}

			// The reference: the per-change refresh, 500 cases a transaction.
			wipe()
			var ids []uint64
			f.must("ids", f.s.db.Raw("SELECT id FROM cases ORDER BY id").Scan(&ids).Error)
			for part := range slices.Chunk(ids, readModelBatch) {
				f.must("refresh", f.s.db.Transaction(func(tx *gorm.DB) error { return f.s.refreshReadModels(tx, part) }))
			}
			ref := snapshot()

			if bulk.docs != ref.docs {
				t.Error("the bulk path wrote other search documents than the per-change refresh")
			}
			if bulk.facts != ref.facts {
				t.Error("the bulk path wrote other facts than the per-change refresh")
			}
			if bulk.rollups != ref.rollups {
				t.Errorf("the bulk path's rollup sums differ from the per-change refresh's:\nbulk: %.500s\n ref: %.500s", bulk.rollups, ref.rollups)
			}
			for _, w := range words {
				if !slices.Equal(bulk.found[w], ref.found[w]) {
					t.Errorf("q=%s finds %v after the bulk path, %v after the refresh", w, bulk.found[w], ref.found[w])
				}
			}
			if len(ref.found["打卡"]) == 0 {
				t.Error("q=打卡 finds nothing in the generated county")
			}
		})
	}
}
