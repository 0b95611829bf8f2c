package models

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"jianfu/testenv"
)

// TestIntakeLinksRowsWithoutConsecutiveIDs: on a server that counts ids by
// 3 from 2 (as every Galera node does), tips sent by 16 clients at once
// are stored in shared transactions and each tip, its case, its events and
// its routing task point at each other, before and after routing.
func TestIntakeLinksRowsWithoutConsecutiveIDs(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			url, dir := b.Database(t)
			if !b.Embedded() {
				url += "?auto_increment_increment=3&auto_increment_offset=2"
			}
			f := newFlowAt(t, url, dir)
			// Three rounds of 16 clients: while the first writers wait on a
			// held lock, the rest queue up and share one multi-row INSERT.
			const clients, rounds = 16, 3
			type sent struct {
				in TipInput
				r  TipReceipt
			}
			warm := numberedTip(0)
			warm.Township = "T2"
			_, err := f.s.CreateTip(f.ctx, warm) // T2 is known too
			f.must("tip in T2", err)
			var results [][]sent
			var queued []Task
			for round := range rounds {
				ins, ctxs := numberedTips(f, clients)
				for i := range ins {
					ins[i] = numberedTip(round*clients + i)
					ins[i].Township = []string{"T1", "T2"}[i%2]
				}
				var before int64
				held := writeHeld(t, f, ctxs, ins, func() { before = f.s.queries.Load() })
				// Shared, as in TestIntakeSharesTransactions: a batch whose
				// links failed would be written again a tip at a time.
				if n, limit := f.s.queries.Load()-before, int64(intakeStatements*(f.s.intake.max+1)); n > limit {
					t.Fatalf("round %d: %d tips took %d statements, want at most %d: they were not written together", round, clients, n, limit)
				}
				var rs []sent
				for i, r := range held {
					if r.err != nil {
						t.Fatalf("round %d tip %d: %v", round, i, r.err)
					}
					rs = append(rs, sent{r.in, r.r})
				}
				results = append(results, rs)
				f.q.mu.Lock()
				queued = append(queued, f.q.tasks...)
				f.q.mu.Unlock()
			}
			routeTask := map[uint64]string{} // case id -> task id
			var taskIDs []string
			for _, task := range queued {
				if task.Type != TaskRouteTip {
					continue
				}
				id, err := f.s.OutboxIDOfTask(f.ctx, task.ID)
				if err != nil {
					t.Fatalf("queued task %s: %v", task.ID, err)
				}
				row, err := f.s.OutboxTaskByID(f.ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				var p RouteTipPayload
				if err := json.Unmarshal(row.Payload, &p); err != nil {
					t.Fatal(err)
				}
				if string(task.Payload) != string(row.Payload) {
					t.Fatalf("task %s carries %s, its outbox row %d %s", task.ID, task.Payload, id, row.Payload)
				}
				for _, c := range p.Cases() {
					if routeTask[c] != "" {
						t.Fatalf("case %d is in two routing tasks, %s and %s", c, routeTask[c], task.ID)
					}
					routeTask[c] = task.ID
				}
				taskIDs = append(taskIDs, task.ID)
			}
			if err := f.s.RouteTips(f.ctx, taskIDs); err != nil {
				t.Fatalf("route: %v", err)
			}

			n := 0
			for _, rs := range results {
				for _, s := range rs {
					n++
					view, err := f.s.TipView(f.ctx, s.r.Receipt)
					if err != nil || view.Title != s.in.Title {
						t.Fatalf("receipt of %q shows %q (%v)", s.in.Title, view.Title, err)
					}
					c := f.caseRow(s.r.CaseID)
					var tip Tip
					f.must("load tip", f.s.db.First(&tip, c.TipID).Error)
					if tip.Title != s.in.Title {
						t.Fatalf("case %d (answered for %q) belongs to tip %q", c.ID, s.in.Title, tip.Title)
					}
					if routeTask[c.ID] == "" {
						t.Fatalf("case %d of %q got no routing task", c.ID, s.in.Title)
					}
					evs, err := f.s.Events(f.ctx, c.ID)
					f.must("events", err)
					if len(evs) != 2 || evs[0].Kind != EventSubmitted || evs[1].Kind != EventRouted {
						t.Fatalf("case %d of %q has events %v, want submitted then routed", c.ID, s.in.Title, f.kinds(c.ID))
					}
					var sugg []Suggestion
					f.must("suggestions", json.Unmarshal([]byte(f.caseRow(c.ID).Suggestions), &sugg))
					if len(sugg) != 1 || sugg[0].Unit != s.in.Township || !strings.Contains(evs[1].Data, `"`+s.in.Township+`"`) {
						t.Fatalf("case %d of %q (township %s) was routed to %+v, noted %s", c.ID, s.in.Title, s.in.Township, sugg, evs[1].Data)
					}
				}
			}
			if n != clients*rounds || len(routeTask) != n {
				t.Fatalf("%d tips answered, %d routing tasks; want %d of each", n, len(routeTask), clients*rounds)
			}
			if pending, err := f.s.OutboxPending(f.ctx); err != nil || pending != rounds+1 {
				t.Fatalf("%d outbox rows pending after routing (%v), want %d (the warm-up tips)", pending, err, rounds+1)
			}
		})
	}
}

// TestTransactionRunsAgainAfterLockTimeout: a transaction that MySQL rolls
// back because another one held its row too long (1205; a deadlock or a
// Galera conflict, 1213, takes the same path) runs again and succeeds,
// and its effect is recorded once.
func TestTransactionRunsAgainAfterLockTimeout(t *testing.T) {
	url, dir := testenv.MariaDB(t).Database(t) // on SQLite's one connection no transaction waits for another
	f := newFlowAt(t, url+"?innodb_lock_wait_timeout=1", dir)
	id, _ := f.tip()

	dsn, err := MySQLDSN(f.dbURL)
	f.must("dsn", err)
	db, err := sql.Open("mysql", dsn)
	f.must("open", err)
	t.Cleanup(func() { db.Close() })
	other, err := db.BeginTx(f.ctx, nil)
	f.must("begin", err)
	defer other.Rollback()
	if _, err := other.ExecContext(f.ctx, "SELECT id FROM cases WHERE id = ? FOR UPDATE", id); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- f.s.AcceptCase(f.ctx, f.office, AcceptParams{CaseID: id}) }()
	for f.s.TxRetries() == 0 {
		select {
		case err := <-done:
			t.Fatalf("accept returned %v while the case was locked, want a wait and a second run", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	f.must("release", other.Rollback())
	if err := <-done; err != nil {
		t.Fatalf("accept after the lock went: %v", err)
	}
	if c := f.caseRow(id); c.Stage != StageAssign {
		t.Fatalf("case in %s, want assign", c.Stage)
	}
	if kinds := f.kinds(id); !slices.Equal(kinds, []string{EventSubmitted, EventAccepted}) {
		t.Fatalf("events %v, want submitted and one accepted", kinds)
	}
}

// TestIntakeWaitHonoursContext: a tipster who gives up while the tip waits
// for a busy writer gets an answer at once, not when the writer is done,
// and nothing of the tip is stored; the tips around it are.
func TestIntakeWaitHonoursContext(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f := newFlow(t, b)
			f.tip() // the category is known: no look-up while the writes are held
			release := holdWrites(t, f)
			writers := f.s.intake.max
			ins, ctxs := numberedTips(f, writers+1)
			first := submit(f, ctxs[:writers], ins[:writers])
			waitIntake(t, f.s, writers, 0)
			gone, cancel := context.WithCancel(f.ctx)
			last := submit(f, []context.Context{gone}, ins[writers:])
			waitIntake(t, f.s, writers, 1)
			cancel()
			answered := make(chan []intakeResult, 1)
			go func() { answered <- last() }()
			select {
			case r := <-answered:
				if !errors.Is(r[0].err, context.Canceled) {
					t.Fatalf("tip given up while waiting: %v, want context.Canceled", r[0].err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("a tip given up while waiting had no answer while the writer was busy")
			}
			waitIntake(t, f.s, writers, 0)
			release()
			for i, r := range first() {
				if r.err != nil {
					t.Fatalf("tip %d: %v", i, r.err)
				}
			}
			var stored int64
			f.s.db.Model(&Tip{}).Where("title = ?", ins[writers].Title).Count(&stored)
			if stored != 0 {
				t.Fatal("the tip given up while waiting was stored")
			}
			if _, err := f.s.CreateTip(f.ctx, numberedTip(99)); err != nil {
				t.Fatalf("a tip after: %v", err)
			}
		})
	}
}

// panicQueue is a queue client that panics once armed (a bug in a
// dependency, outside the intake's own transaction).
type panicQueue struct {
	armed atomic.Bool
	next  Enqueuer
}

func (q *panicQueue) Enqueue(ctx context.Context, t Task) error {
	if q.armed.Load() {
		panic("queue client bug")
	}
	return q.next.Enqueue(ctx, t)
}

// TestIntakePanicFailsOnlyItsBatch: a panic in the queue client while a
// shared batch is handed over answers every tip of the batch (stored: the
// commit happened, the relay queues them later), and the intake goes on.
func TestIntakePanicFailsOnlyItsBatch(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f := newFlow(t, b)
			pq := &panicQueue{next: f.q}
			f.s.SetEnqueuer(pq)
			const n = 12
			ins, ctxs := numberedTips(f, n)
			results := writeHeld(t, f, ctxs, ins, func() { pq.armed.Store(true) })
			for i, r := range results {
				if r.err != nil {
					t.Fatalf("tip %d: %v, want stored", i, r.err)
				}
				if view, err := f.s.TipView(f.ctx, r.r.Receipt); err != nil || view.Title != r.in.Title {
					t.Fatalf("tip %d: receipt shows %q (%v)", i, view.Title, err)
				}
			}
			waitIntake(t, f.s, 0, 0)
			if waiting := f.unrouted(); len(waiting) < n {
				t.Fatalf("%d cases in routing tasks left for the relay, want at least %d", len(waiting), n)
			}
			pq.armed.Store(false)
			if _, err := f.s.CreateTip(f.ctx, numberedTip(99)); err != nil {
				t.Fatalf("a tip after the panic: %v", err)
			}
		})
	}
}

// TestCodesAndUsernamesCompareAlike: unit codes, category codes and
// usernames that differ only in case or surrounding spaces name the same
// thing on SQLite as on MariaDB: a second spelling is refused, any
// spelling finds the row, OFFICE9 logs in as office9.
func TestCodesAndUsernamesCompareAlike(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f := newFlow(t, b)
			if _, err := f.s.AddUnit(f.ctx, UnitParams{Code: "T01", Name: "一镇", Kind: UnitTownship}); err != nil {
				t.Fatal(err)
			}
			for _, code := range []string{"t01", "T01 ", " t01"} {
				_, err := f.s.AddUnit(f.ctx, UnitParams{Code: code, Name: "重复", Kind: UnitTownship})
				var ve *ValidationError
				if !errors.As(err, &ve) || ve.Fields["code"] == "" {
					t.Fatalf("unit %q after T01: %v, want a validation error on code", code, err)
				}
			}
			if _, err := f.s.AddUnit(f.ctx, UnitParams{Code: "t02 ", Name: "二镇", Kind: UnitTownship}); err != nil {
				t.Fatal(err)
			}
			for _, code := range []string{"T02", "t02", "T02 "} {
				if u, err := f.s.UnitByCode(f.ctx, code); err != nil || u.Name != "二镇" {
					t.Fatalf("unit %q: %+v, %v; want 二镇", code, u, err)
				}
			}
			if _, err := f.s.AddCategory(f.ctx, CategoryParams{Code: "Digital", Name: "重复类别"}); err == nil {
				t.Fatal("category Digital accepted beside digital")
			}
			r, err := f.s.CreateTip(f.ctx, TipInput{Category: "DIGITAL ", Township: "t02", Anonymous: true,
				Content: "乡镇每周要报送三张内容相同的统计表。"})
			if err != nil {
				t.Fatalf("tip naming DIGITAL and t02: %v", err)
			}
			if c := f.caseRow(r.CaseID); c.TownshipID == nil {
				t.Fatal("the tip's township was lost")
			}

			if _, err := f.s.CreateUser(f.ctx, UserParams{Username: "Office9", Password: "Correct-Horse-9", Role: RoleOffice}); err != nil {
				t.Fatal(err)
			}
			if _, err := f.s.CreateUser(f.ctx, UserParams{Username: "office9 ", Password: "Correct-Horse-9", Role: RoleOffice}); err == nil {
				t.Fatal("user office9 accepted beside Office9")
			}
			for _, name := range []string{"OFFICE9", "office9", " Office9 "} {
				p, _, err := f.s.Login(f.ctx, name, "Correct-Horse-9")
				if err != nil || p.Username != "office9" {
					t.Fatalf("login as %q: %+v, %v; want office9", name, p, err)
				}
			}
		})
	}
}

// TestStalledDigestSenderCannotSendTwice: sender A claims a digest and
// stalls past its lease; B takes it over. A, waking up, is told not to
// send, cannot finish the digest nor give B's claim back; B's claim holds
// (a third sender is kept out) until B finishes. One mail.
func TestStalledDigestSenderCannotSendTwice(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f := newFlow(t, b)
			k := DigestKey{Scope: "unit:T1", Week: "2026-W10"}
			c, a, err := f.s.ClaimDigest(f.ctx, k)
			if err != nil || c != ClaimWon {
				t.Fatalf("A's claim: %v, %v", c, err)
			}
			f.advance(DigestLease + time.Second) // A stalls
			c, bt, err := f.s.ClaimDigest(f.ctx, k)
			if err != nil || c != ClaimWon {
				t.Fatalf("B's claim after A's lease: %v, %v", c, err)
			}
			f.must("B confirms", f.s.ConfirmDigest(f.ctx, k, bt))
			// A wakes up.
			if err := f.s.ConfirmDigest(f.ctx, k, a); !errors.Is(err, ErrClaimLost) {
				t.Fatalf("A's confirm before sending: %v, want ErrClaimLost", err)
			}
			f.must("A releases", f.s.ReleaseDigest(f.ctx, k, a))
			if err := f.s.FinishDigest(f.ctx, FinishParams{Key: k, Token: a, Status: DigestSkipped}); !errors.Is(err, ErrClaimLost) {
				t.Fatalf("A's finish: %v, want ErrClaimLost", err)
			}
			if c, _, _ := f.s.ClaimDigest(f.ctx, k); c != ClaimBusy {
				t.Fatalf("a third sender while B sends: %v, want busy (A's release must not free B's claim)", c)
			}
			f.must("B finishes", f.s.FinishDigest(f.ctx, FinishParams{Key: k, Token: bt, Status: DigestSent}))
			if c, _, _ := f.s.ClaimDigest(f.ctx, k); c != ClaimDone {
				t.Fatalf("claim after B sent: %v, want done", c)
			}
		})
	}
}

// deadQueue answers ErrTaskDead for one task id, as the asynq queue does
// for a task in its archive, and counts the offers.
type deadQueue struct {
	dead   string
	offers atomic.Int32
}

func (q *deadQueue) Enqueue(_ context.Context, t Task) error {
	if t.ID != q.dead {
		return nil
	}
	q.offers.Add(1)
	return ErrTaskDead
}

// TestRelayLeavesDeadTasksAlone: an outbox row whose task is dead is
// marked so on the relay's next offer, and not offered again every minute,
// until `jianfu tasks retry` revives it.
func TestRelayLeavesDeadTasksAlone(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f := newFlow(t, b)
			f.tip()
			f.q.mu.Lock()
			var task Task
			for _, q := range f.q.tasks {
				if q.Type == TaskRouteTip {
					task = q
				}
			}
			f.q.mu.Unlock()
			dq := &deadQueue{dead: task.ID}
			f.s.SetEnqueuer(dq)
			for range 3 {
				f.advance(2 * time.Minute)
				if _, err := f.s.RelayOutbox(f.ctx, RelayParams{}); err != nil {
					t.Fatalf("relay: %v", err)
				}
			}
			if n := dq.offers.Load(); n != 1 {
				t.Fatalf("the dead task was offered %d times in three relay passes, want 1", n)
			}
			if n, err := f.s.OutboxDead(f.ctx); err != nil || n != 1 {
				t.Fatalf("%d dead outbox rows (%v), want 1", n, err)
			}
			f.must("revive", f.s.ReviveOutbox(f.ctx, []string{task.ID}))
			f.advance(2 * time.Minute)
			if _, err := f.s.RelayOutbox(f.ctx, RelayParams{}); err != nil {
				t.Fatalf("relay: %v", err)
			}
			if n := dq.offers.Load(); n != 2 {
				t.Fatalf("after the retry the task was offered %d times in all, want 2", n)
			}
		})
	}
}

// TestProvisionalCalendar: out of the box, 2027's statutory days off are
// not working days (除夕 2027-02-05 a Friday, 初三 2027-02-08 a Monday,
// 清明 2027-04-05 a Monday) though no arrangement was loaded; from 1
// November 2026 the year is reported unconfirmed until the admin loads the
// State Council's arrangement. The computation agrees with the published
// 2025 and 2026 calendars: every computed day is off there.
func TestProvisionalCalendar(t *testing.T) {
	official := NewCalendar(DefaultHolidays())
	for _, year := range []int{2025, 2026} {
		for _, h := range ProvisionalHolidays(year) {
			d, _ := time.ParseInLocation(calDayLayout, h.Day, Shanghai())
			if official.IsWorkday(d) {
				t.Errorf("computed %s %s is a working day in the State Council's %d calendar", h.Day, h.Name, year)
			}
		}
	}
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f := newFlow(t, b)
			f.now = time.Date(2026, 12, 2, 2, 0, 0, 0, time.UTC)
			f.must("bootstrap", f.s.Bootstrap(f.ctx))
			cal := f.s.Calendar()
			for day, want := range map[string]bool{"2027-02-05": false, "2027-02-08": false, "2027-04-05": false,
				"2027-02-04": true, "2027-02-09": true, "2027-10-04": true} {
				d, _ := time.ParseInLocation(calDayLayout, day, Shanghai())
				if got := cal.IsWorkday(d); got != want {
					t.Errorf("%s: working day %v, want %v", day, got, want)
				}
			}
			year, unconfirmed, err := f.s.UnconfirmedYear(f.ctx)
			if err != nil || year != 2027 || !unconfirmed {
				t.Fatalf("in December 2026: UnconfirmedYear = %d, %v, %v; want 2027 unconfirmed", year, unconfirmed, err)
			}
			f.now = time.Date(2026, 10, 20, 2, 0, 0, 0, time.UTC)
			if _, unconfirmed, _ := f.s.UnconfirmedYear(f.ctx); unconfirmed {
				t.Fatal("in October the next year is already reported unconfirmed")
			}
			f.now = time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC)
			if _, err := f.s.ReplaceHolidays(f.ctx, 2027, []Holiday{{Day: "2027-01-01", Kind: HolidayOff, Name: "元旦"}}); err != nil {
				t.Fatal(err)
			}
			if _, unconfirmed, _ := f.s.UnconfirmedYear(f.ctx); unconfirmed {
				t.Fatal("the loaded arrangement still counts as unconfirmed")
			}
		})
	}
}
