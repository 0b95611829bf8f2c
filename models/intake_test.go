package models

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/glebarez/go-sqlite" // a second SQLite connection that holds the write lock

	"jianfu/testenv"
)

// holdWrites makes the store's intake transactions wait: another
// connection takes SQLite's write lock, or locks MariaDB's outbox table
// (the last table an intake transaction writes, so reads of tips and
// cases still answer). The returned func lets them go.
func holdWrites(t *testing.T, f *flow) func() {
	t.Helper()
	driver, dsn, lock, unlock := "sqlite", filepath.Join(f.dataDir, "jianfu.db"), "BEGIN IMMEDIATE", "COMMIT"
	if f.dbURL != "" {
		var err error
		if dsn, err = MySQLDSN(f.dbURL); err != nil {
			t.Fatal(err)
		}
		driver, lock, unlock = "mysql", "LOCK TABLES outbox WRITE", "UNLOCK TABLES"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	conn, err := db.Conn(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(f.ctx, lock); err != nil {
		t.Fatalf("%s: %v", lock, err)
	}
	return func() {
		if _, err := conn.ExecContext(f.ctx, unlock); err != nil {
			t.Fatalf("%s: %v", unlock, err)
		}
		conn.Close()
	}
}

// waitIntake waits until the intake has this many writers and waiting tips.
func waitIntake(t *testing.T, s *Store, writers, waiting int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		s.intake.mu.Lock()
		w, n := s.intake.writers, len(s.intake.waiting)
		s.intake.mu.Unlock()
		if w == writers && n == waiting {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("intake has %d writers and %d waiting tips, want %d and %d", w, n, writers, waiting)
		}
	}
}

// intakeStatements is what one intake transaction sends, however many
// tips it holds: the INSERTs of the tips, their cases, their first events
// and the batch's routing task, and the read-backs of the tips' and the
// cases' ids.
const intakeStatements = 6

type intakeResult struct {
	in  TipInput
	r   TipReceipt
	err error
}

// submit sends tips concurrently; results come back in the order of ins.
func submit(f *flow, ctxs []context.Context, ins []TipInput) func() []intakeResult {
	out := make([]intakeResult, len(ins))
	var wg sync.WaitGroup
	for i := range ins {
		wg.Go(func() {
			r, err := f.s.CreateTip(ctxs[i], ins[i])
			out[i] = intakeResult{ins[i], r, err}
		})
	}
	return func() []intakeResult { wg.Wait(); return out }
}

func numberedTip(i int) TipInput {
	return TipInput{Category: "digital", Anonymous: true, Title: fmt.Sprintf("第%d条反映", i),
		Content: fmt.Sprintf("乡镇每周要报送三张内容相同的统计表，这是第%d条。", i)}
}

// numberedTips are n distinct tips, each sent with the flow's context.
func numberedTips(f *flow, n int) ([]TipInput, []context.Context) {
	ins := make([]TipInput, n)
	ctxs := make([]context.Context, n)
	for i := range ins {
		ins[i], ctxs[i] = numberedTip(i), f.ctx
	}
	return ins, ctxs
}

// writeHeld submits tips while the database is held: the first become the
// writers and wait for the lock, the rest queue behind them. Once all are
// queued, whileHeld runs and the lock goes; the results come back in the
// order of ins.
func writeHeld(t *testing.T, f *flow, ctxs []context.Context, ins []TipInput, whileHeld func()) []intakeResult {
	t.Helper()
	f.tip() // intake now knows the category: no look-up while the writes are held
	f.q.take()
	release := holdWrites(t, f)
	writers := f.s.intake.max
	first := submit(f, ctxs[:writers], ins[:writers])
	waitIntake(t, f.s, writers, 0)
	rest := submit(f, ctxs[writers:], ins[writers:])
	waitIntake(t, f.s, writers, len(ins)-writers)
	whileHeld()
	release()
	return append(first(), rest()...)
}

// TestIntakeSharesTransactions: tips that arrive while a transaction is
// busy are stored together in the next one, each with its own case,
// receipt, first event and routing task; a tipster who gives up while
// waiting has nothing stored.
func TestIntakeSharesTransactions(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f := newFlow(t, b)
			const n = 20
			ins, ctxs := numberedTips(f, n)
			gone, cancel := context.WithCancel(f.ctx)
			ctxs[n-1] = gone
			var before int64
			results := writeHeld(t, f, ctxs, ins, func() {
				cancel()
				before = f.s.queries.Load()
			})
			statements := f.s.queries.Load() - before

			cases := map[uint64]bool{}
			for i, r := range results {
				if i == n-1 {
					if !errors.Is(r.err, context.Canceled) {
						t.Fatalf("tip given up while waiting: %v, want context.Canceled", r.err)
					}
					continue
				}
				if r.err != nil {
					t.Fatalf("tip %d: %v", i, r.err)
				}
				if cases[r.r.CaseID] {
					t.Fatalf("tip %d got case %d twice", i, r.r.CaseID)
				}
				cases[r.r.CaseID] = true
				id, err := f.s.CaseIDByReceipt(f.ctx, r.r.Receipt)
				if err != nil || id != r.r.CaseID {
					t.Fatalf("tip %d: receipt finds case %d (%v), want %d", i, id, err, r.r.CaseID)
				}
				view, err := f.s.TipView(f.ctx, r.r.Receipt)
				if err != nil {
					t.Fatal(err)
				}
				if view.Title != r.in.Title || view.Stage != StageCollect || len(view.Timeline) != 1 {
					t.Fatalf("tip %d: receipt shows %q in %s with %d events, want %q in collect with 1",
						i, view.Title, view.Stage, len(view.Timeline), r.in.Title)
				}
				if got := f.caseRow(r.r.CaseID).DueAt; got == nil || !got.Equal(r.r.DueAt) {
					t.Fatalf("tip %d: stored due time %v, receipt says %v", i, got, r.r.DueAt)
				}
			}
			var stored int64
			f.s.db.Model(&Tip{}).Where("title = ?", ins[n-1].Title).Count(&stored)
			if stored != 0 {
				t.Fatal("the tip given up while waiting was stored")
			}
			routed := map[uint64]int{}
			f.q.mu.Lock()
			queued := f.q.tasks
			f.q.mu.Unlock()
			tasks := 0
			for _, task := range queued {
				var p RouteTipPayload
				if task.Type == TaskRouteTip && json.Unmarshal(task.Payload, &p) == nil {
					tasks++
					for _, id := range p.Cases() {
						routed[id]++
					}
				}
			}
			for id := range cases {
				if routed[id] != 1 {
					t.Fatalf("case %d has %d routing tasks queued, want 1", id, routed[id])
				}
			}
			// One routing task a transaction (one per writer, and the
			// first tip's), not one a tip.
			if tasks > f.s.intake.max+1 {
				t.Fatalf("%d tips queued %d routing tasks, want at most %d", n-1, tasks, f.s.intake.max+1)
			}
			// Alone, a tip is intakeStatements; the held tips share a
			// transaction (one per writer, and the first tip's) of as many.
			if limit := int64(intakeStatements * (f.s.intake.max + 1)); statements > limit {
				t.Fatalf("%d tips took %d statements, want at most %d: they were not written together", n-1, statements, limit)
			}
		})
	}
}

// TestIntakeWritesFilesTogether: the files of the tips in one shared
// transaction go into the database a few to a statement, never more than
// attachmentStatementBytes in one (two 3 MB files take two), and each
// opens as it was sent.
func TestIntakeWritesFilesTogether(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f := newFlow(t, b)
			const n = 12
			ins, ctxs := numberedTips(f, n)
			sent := map[string][]byte{}
			for i := range ins {
				size := 1000 + i
				if i >= n-2 {
					size = 3 << 20 // the last two: one statement each
				}
				data := bytes.Repeat([]byte{byte(i)}, size)
				sum := sha256.Sum256(data)
				name := fmt.Sprintf("照片%d.jpg", i)
				ins[i].Files = []FileInput{{Name: name, ContentType: "image/jpeg", Data: data, SHA256: hex.EncodeToString(sum[:])}}
				sent[name] = data
			}
			var before int64
			results := writeHeld(t, f, ctxs, ins, func() { before = f.s.queries.Load() })
			statements := f.s.queries.Load() - before
			// Each transaction (one per writer, and the first tip's) sends
			// its own statements and at most two for its files.
			if limit := int64((intakeStatements + 2) * (f.s.intake.max + 1)); statements > limit {
				t.Fatalf("%d tips with a file each took %d statements, want at most %d: the files were not written together", n, statements, limit)
			}
			for i, r := range results {
				f.must(fmt.Sprintf("tip %d", i), r.err)
				var ids []uint64
				f.must("attachment ids", f.s.db.Model(&Attachment{}).Where("case_id = ?", r.r.CaseID).Pluck("id", &ids).Error)
				if len(ids) != 1 {
					t.Fatalf("tip %d has %d files, want 1", i, len(ids))
				}
				file, err := f.s.AttachmentFile(f.ctx, f.office, ids[0])
				f.must("open file", err)
				if !bytes.Equal(file.Data, sent[file.Filename]) {
					t.Fatalf("tip %d: %s opens as %d other bytes", i, file.Filename, len(file.Data))
				}
			}
		})
	}
}

// TestIntakeDuplicateKeyInOneTransaction: a double submit whose two
// requests land in the same shared transaction stores the tip once and
// gives both the same receipt; the tips beside them are stored as usual.
// (MariaDB only: holding SQLite's write lock also holds the read that
// looks for an earlier submission.)
func TestIntakeDuplicateKeyInOneTransaction(t *testing.T) {
	f := newFlow(t, testenv.MariaDB(t))
	const n = 8
	ins, ctxs := numberedTips(f, n)
	ins[n-1] = ins[n-2]
	ins[n-2].IdempotencyKey, ins[n-1].IdempotencyKey = "double-tap", "double-tap"
	results := writeHeld(t, f, ctxs, ins, func() {})
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("tip %d: %v", i, r.err)
		}
	}
	a, b := results[n-2].r, results[n-1].r
	if a.CaseID != b.CaseID || a.Receipt != b.Receipt || a.Replayed == b.Replayed {
		t.Fatalf("double submit: %+v and %+v, want one case, one receipt, one replayed", a, b)
	}
	var stored int64
	f.s.db.Model(&Tip{}).Where("title = ?", ins[n-1].Title).Count(&stored)
	if stored != 1 {
		t.Fatalf("double submit stored %d tips, want 1", stored)
	}
	for i, r := range results[:n-2] {
		if view, err := f.s.TipView(f.ctx, r.r.Receipt); err != nil || view.Title != r.in.Title {
			t.Fatalf("tip %d beside the double submit: %q (%v), want %q", i, view.Title, err, r.in.Title)
		}
	}
}

// TestIntakeLooksUpKeysOnce: the Idempotency-Keys of tips written together
// are looked up in one query, not one a tip. Among them a replay of a stored
// tip gets its receipt back, a different tip under a stored key is refused
// and not stored, a key past its window is taken anew, and every fresh key
// stores its tip.
func TestIntakeLooksUpKeysOnce(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f := newFlow(t, b)
			const n = 24
			ins, ctxs := numberedTips(f, n)
			for i := range ins {
				ins[i].IdempotencyKey = fmt.Sprintf("batch-key-%08d", i)
			}
			old := numberedTip(100)
			old.IdempotencyKey = ins[n-1].IdempotencyKey // past its window below
			_, err := f.s.CreateTip(f.ctx, old)
			f.must("tip whose key expires", err)
			f.advance(IdempotencyWindow + time.Minute)
			first := map[int]TipReceipt{}
			for _, i := range []int{n - 6, n - 5, n - 4, n - 3, n - 2} {
				stored := ins[i]
				if i >= n-3 {
					stored.Title += "（先前的）" // the same key, a different tip
				}
				r, err := f.s.CreateTip(f.ctx, stored)
				f.must("earlier tip", err)
				first[i] = r
			}
			f.tip() // the flow's own tip, once, so that the next costs its transaction only
			one := f.s.queries.Load()
			f.tip()
			one = f.s.queries.Load() - one

			before := f.s.queries.Load()
			results := writeHeld(t, f, ctxs, ins, func() {})
			statements := f.s.queries.Load() - before
			for i, r := range results {
				switch {
				case i == n-6 || i == n-5 || i == n-4:
					if r.err != nil || !r.r.Replayed || r.r.Receipt != first[i].Receipt || r.r.CaseID != first[i].CaseID {
						t.Fatalf("replay %d: %+v (%v), want the first receipt %+v", i, r.r, r.err, first[i])
					}
				case i == n-3 || i == n-2:
					if !errors.Is(r.err, ErrIdempotencyKeyReused) || r.r.Receipt != "" {
						t.Fatalf("reused key %d: %+v (%v), want ErrIdempotencyKeyReused and no receipt", i, r.r, r.err)
					}
					var stored int64
					f.s.db.Model(&Tip{}).Where("title = ?", r.in.Title).Count(&stored)
					if stored != 0 {
						t.Fatalf("the tip sent under a reused key was stored")
					}
				default:
					f.must(fmt.Sprintf("tip %d", i), r.err)
					if view, err := f.s.TipView(f.ctx, r.r.Receipt); err != nil || view.Title != r.in.Title || r.r.Replayed {
						t.Fatalf("tip %d: receipt shows %q (%v, replayed %v), want %q stored", i, view.Title, err, r.r.Replayed, r.in.Title)
					}
				}
			}
			// writeHeld's own tip; each transaction (one per writer, and
			// the first tip's) with its look-up of keys; one read for each
			// stored key found; and the expired key's read, the update
			// that forgets it and its tip's own transaction and look-up.
			limit := one + int64((intakeStatements+1)*(f.s.intake.max+1)) + 5 + 2 + intakeStatements + 1
			if statements > limit {
				t.Fatalf("%d tips with keys took %d statements, want at most %d: their keys were not looked up together", n, statements, limit)
			}
		})
	}
}

// TestRoutingIndexesNewCases: intake leaves a new case's search document
// and figures to its routing task, which writes exactly those the
// reference refresh computes from the database, for every channel, with
// and without a township, for tips stored alone and in a shared
// transaction, for a tip received in the last microsecond of a day in
// Shanghai, and for cases the office accepts before or while their
// routing runs (counted once).
func TestRoutingIndexesNewCases(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f := newFlow(t, b)
			received := f.now.Add(-time.Hour)
			for i, ch := range []string{ChannelWeb, ChannelPhone, ChannelLetter, ChannelMailbox, ChannelVisit} {
				in := numberedTip(i)
				in.Channel, in.ImplicatedUnit = ch, "县数据资源管理局"
				if ch != ChannelWeb {
					in.ReceivedAt, in.EnteredBy = &received, "office"
				}
				in.Township = []string{"T1", "T2", ""}[i%3] // known to intake before the writes are held
				_, err := f.s.CreateTip(f.ctx, in)
				f.must("tip by "+ch, err)
			}
			f.now = time.Date(2026, 3, 2, 15, 59, 59, 999999999, time.UTC) // 23:59:59.999999999 in Shanghai
			ins, ctxs := numberedTips(f, 12)
			for i := range ins {
				ins[i] = numberedTip(10 + i)
				ins[i].Township = []string{"", "T1", "T2"}[i%3]
			}
			var held []uint64
			for i, r := range writeHeld(t, f, ctxs, ins, func() {}) {
				f.must(fmt.Sprintf("held tip %d", i), r.err)
				held = append(held, r.r.CaseID)
			}

			type models struct {
				Docs    []CaseSearch
				Stats   []CaseStat
				Rollups []StatsRollup
			}
			read := func() models {
				var m models
				f.must("read documents", f.s.db.Order("case_id").Find(&m.Docs).Error)
				f.must("read case facts", f.s.db.Order("case_id").Find(&m.Stats).Error)
				// A group's sums over its slots are what the statistics read.
				sums := make([]string, len(rollupColumns))
				for i, c := range rollupColumns {
					sums[i] = "SUM(" + c + ") AS " + c
				}
				f.must("read rollups", f.s.db.Raw("SELECT grain, day, grp, 0 AS slot, "+strings.Join(sums, ", ")+
					" FROM stats_rollups GROUP BY grain, day, grp ORDER BY grain, day, grp").Scan(&m.Rollups).Error)
				return m
			}
			const cases = 5 + 1 + 12 // writeHeld stores one tip of its own first
			if m := read(); len(m.Docs) != 0 || len(m.Stats) != 0 || len(m.Rollups) != 0 {
				t.Fatalf("intake wrote %d documents, %d case facts and %d rollup rows, want none before routing",
					len(m.Docs), len(m.Stats), len(m.Rollups))
			}
			// The office accepts one case before routing runs, and others
			// while it runs.
			f.must("accept before routing", f.s.AcceptCase(f.ctx, f.office, AcceptParams{CaseID: held[0]}))
			accepted := make(chan error, 1)
			go func() {
				var err error
				for _, id := range held[1:6] {
					err = cmp.Or(err, f.s.AcceptCase(f.ctx, f.office, AcceptParams{CaseID: id}))
				}
				accepted <- err
			}()
			f.route()
			f.must("accept while routing", <-accepted)
			fast := read()
			if len(fast.Docs) != cases || len(fast.Stats) != cases {
				t.Fatalf("routing wrote %d documents and %d case facts, want %d each", len(fast.Docs), len(fast.Stats), cases)
			}
			// The reference: forget them all and let the refresh compute
			// them from the cases (the backfill runs refreshReadModels).
			for _, table := range []string{"case_search", "case_stats", "stats_rollups"} {
				f.must("empty "+table, f.s.db.Exec("DELETE FROM "+table).Error)
			}
			if b.Embedded() {
				f.must("empty the FTS index", f.s.db.Exec("INSERT INTO case_search_fts (case_search_fts) VALUES ('delete-all')").Error)
			}
			n, err := f.s.BackfillReadModels(f.ctx, nil)
			if err != nil || n != cases {
				t.Fatalf("backfill = %d, %v; want %d", n, err, cases)
			}
			ref := read()
			for _, part := range []struct {
				name        string
				fast, refer any
			}{{"search documents", fast.Docs, ref.Docs}, {"case facts", fast.Stats, ref.Stats}, {"rollups", fast.Rollups, ref.Rollups}} {
				if !reflect.DeepEqual(part.fast, part.refer) {
					t.Errorf("routing's %s differ from the refresh's:\nrouting %+v\nrefresh %+v", part.name, part.fast, part.refer)
				}
			}
		})
	}
}

// TestRoutingTakesOldRows: a routing task written before intake wrote one
// a batch names a single case, and still routes and indexes it.
func TestRoutingTakesOldRows(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f := newFlow(t, b)
			id, _ := f.tip()
			f.must("old payload", f.s.db.Model(&OutboxTask{}).Where("type = ?", TaskRouteTip).
				Update("payload", fmt.Sprintf(`{"case_id":%d}`, id)).Error)
			f.route()
			f.wantKinds(id, EventSubmitted, EventRouted)
			var facts int64
			f.must("facts", f.s.db.Model(&CaseStat{}).Where("case_id = ?", id).Count(&facts).Error)
			if facts != 1 {
				t.Fatalf("the routed case has %d fact rows, want 1", facts)
			}
		})
	}
}

// TestRoutingReadsNoNewCaseBack bounds the statements of a routing
// transaction: the read models of cases untouched since intake are written
// from the rows routing has just read (indexNewCases), where the refresh
// at commit reads the texts, counts, stage changes and stored documents
// and facts back (bench/notes.md §12).
func TestRoutingReadsNoNewCaseBack(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f := newFlow(t, b)
			for i := range f.s.routeRows() {
				_, err := f.s.CreateTip(f.ctx, numberedTip(i))
				f.must("tip", err)
			}
			var ids []string
			for _, r := range f.routing() {
				ids = append(ids, r.Task().ID)
			}
			ids = ids[:f.s.routeRows()] // the tasks one transaction claims
			before := f.s.queries.Load()
			f.must("route", f.s.RouteTips(f.ctx, ids))
			statements := f.s.queries.Load() - before
			// Claim, mark done, cases, rules, units, suggestions, notes;
			// then which cases are new, their documents (twice in SQLite,
			// for FTS5), facts and rollups.
			limit := int64(7 + 4)
			if b.Embedded() {
				limit++
			}
			if statements > limit {
				t.Fatalf("routing %d new cases took %d statements, want at most %d: their read models were read back", len(ids), statements, limit)
			}
			var docs, facts int64
			f.s.db.Model(&CaseSearch{}).Count(&docs)
			f.s.db.Model(&CaseStat{}).Count(&facts)
			if docs < int64(len(ids)) || facts < int64(len(ids)) {
				t.Fatalf("routing left %d documents and %d case facts for %d new cases", docs, facts, len(ids))
			}
		})
	}
}

// The embedded store's connection runs with the settings SQLiteDSN names.
// temp_store(memory) is the one a mistake would hide: without it every
// multi-row INSERT's statement journal is mapped and unmapped on its own
// (bench/notes.md §15), and nothing else would notice.
func TestEmbeddedConnectionSettings(t *testing.T) {
	s, err := Open(context.Background(), OpenParams{DataDir: t.TempDir(), Secret: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for pragma, want := range map[string]string{"journal_mode": "wal", "foreign_keys": "1", "synchronous": "1", "temp_store": "2"} {
		var got string
		if err := s.db.Raw("PRAGMA " + pragma).Scan(&got).Error; err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %s on the store's connection, want %s", pragma, got, want)
		}
	}
}
