package models

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"jianfu/testenv"
)

// digestNow is the fixed clock of these tests: Wednesday 13 May 2026,
// 10:00 in Beijing. Saturday 9 May was a make-up workday.
var digestNow = time.Date(2026, 5, 13, 10, 0, 0, 0, Shanghai())

// endOfDay is 23:59:59 Beijing time of a May 2026 day, the end of a
// working-day deadline.
func endOfDay(day int) time.Time { return time.Date(2026, 5, day, 23, 59, 59, 0, Shanghai()).UTC() }

// digestStore is a migrated store on backend b with the clock at digestNow.
func digestStore(t *testing.T, b testenv.Backend) *Store {
	t.Helper()
	s := openEmpty(t, b)
	ctx := context.Background()
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	s.SetClock(func() time.Time { return digestNow })
	return s
}

// fixture inserts rows the workflow would take many steps to reach.
type fixture struct {
	t        *testing.T
	s        *Store
	category uint64
}

func newFixture(t *testing.T, s *Store) *fixture {
	t.Helper()
	var cat Category
	if err := s.db.First(&cat).Error; err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, s: s, category: cat.ID}
}

func (f *fixture) unit(code, name string) Unit {
	f.t.Helper()
	u, err := f.s.CreateUnit(context.Background(), code, name, UnitTownship)
	if err != nil {
		f.t.Fatal(err)
	}
	return u
}

// user inserts a staff account directly: bcrypt is slow under the race
// detector, and these users never log in.
func (f *fixture) user(name, role string, unit *Unit, email string) User {
	f.t.Helper()
	now := digestNow.UTC()
	u := User{Username: name, PasswordHash: "-", Role: role, Email: email, CreatedAt: now, UpdatedAt: now}
	if unit != nil {
		u.UnitID = &unit.ID
	}
	if err := f.s.db.Create(&u).Error; err != nil {
		f.t.Fatal(err)
	}
	return u
}

// caseIn inserts a case in stage with its tip; due is the case's own due
// time (nil for none).
func (f *fixture) caseIn(stage, title string, due *time.Time) Case {
	f.t.Helper()
	now := digestNow.UTC()
	tip := Tip{ReceiptHash: rand.Text(), Channel: ChannelWeb, CategoryID: f.category, Title: title, Anonymous: true,
		Content: "每周要报送三套内容相同的表格，重复填报", CreatedAt: now}
	if err := f.s.db.Create(&tip).Error; err != nil {
		f.t.Fatal(err)
	}
	c := Case{TipID: tip.ID, CategoryID: f.category, Stage: stage, StageEnteredAt: now.AddDate(0, -1, 0), DueAt: due,
		DueVersion: 1, Suggestions: "[]", VerifyTeam: "[]", CreatedAt: now.AddDate(0, -1, 0), UpdatedAt: now}
	if stage == StageClosed {
		c.ClosedAt = &now
	}
	if err := f.s.db.Create(&c).Error; err != nil {
		f.t.Fatal(err)
	}
	return c
}

// assign gives unit an assignment of c with a due time and status.
func (f *fixture) assign(c Case, u Unit, due time.Time, status string) Assignment {
	f.t.Helper()
	now := digestNow.UTC()
	a := Assignment{CaseID: c.ID, UnitID: u.ID, Role: AssignGrassroots, Status: status, DueAt: &due, DueVersion: 1,
		CreatedAt: now.AddDate(0, -1, 0), UpdatedAt: now}
	if err := f.s.db.Create(&a).Error; err != nil {
		f.t.Fatal(err)
	}
	return a
}

// rectifying inserts a case in rectify with one assignment of u.
func (f *fixture) rectifying(u Unit, title string, due time.Time, status string) (Case, Assignment) {
	f.t.Helper()
	c := f.caseIn(StageRectify, title, nil)
	return c, f.assign(c, u, due, status)
}

func TestParseWeek(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"2026-W48", true}, {"2026-W01", true}, {"2026-W53", true}, {"2025-W52", true},
		{"2025-W53", false}, {"2026-W00", false}, {"2026-48", false}, {"2026-W4", false}, {"", false},
	} {
		if _, err := ParseWeek(tc.in); (err == nil) != tc.ok {
			t.Errorf("ParseWeek(%q) = %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
	// Sunday 23:30 in Beijing is still the week that began on Monday,
	// although it is Sunday 15:30 UTC.
	sun := time.Date(2026, 5, 17, 23, 30, 0, 0, Shanghai())
	mon := time.Date(2026, 5, 18, 0, 30, 0, 0, Shanghai())
	if got := ISOWeek(sun.UTC()); got != "2026-W20" {
		t.Errorf("ISOWeek(Sunday night) = %s", got)
	}
	if got := ISOWeek(mon.UTC()); got != "2026-W21" {
		t.Errorf("ISOWeek(Monday 00:30) = %s", got)
	}
	if got := ISOWeek(time.Date(2026, 1, 1, 8, 0, 0, 0, Shanghai())); got != "2026-W01" {
		t.Errorf("ISOWeek(2026-01-01) = %s", got)
	}
}

func TestUnitDigest(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s := digestStore(t, b)
			f := newFixture(t, s)
			a, other := f.unit("T01", "城关镇"), f.unit("T02", "河口乡")
			f.user("liaison-a", RoleLiaison, &a, "a@town.example.gov.cn")
			f.user("liaison-a2", RoleLiaison, &a, "")
			f.user("liaison-b", RoleLiaison, &other, "b@town.example.gov.cn")
			late, _ := f.rectifying(a, "村里每周要交三份台账", endOfDay(6), AssignmentPending)
			returned, _ := f.rectifying(a, "考核排名通报太多", endOfDay(12), AssignmentReturned)
			soon, _ := f.rectifying(a, "打卡App重复签到", endOfDay(15), AssignmentPending)
			f.rectifying(a, "已经提交整改报告", endOfDay(6), AssignmentSubmitted)
			f.rectifying(a, "整改已通过", endOfDay(6), AssignmentAccepted)
			f.rectifying(a, "下个月才到期", endOfDay(28), AssignmentPending)
			f.rectifying(other, "别的单位的事", endOfDay(6), AssignmentPending)
			closed := f.caseIn(StageClosed, "已办结的案件", nil)
			f.assign(closed, a, endOfDay(6), AssignmentPending)

			d, err := s.UnitDigest(ctx, "T01")
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(d.To, []string{"a@town.example.gov.cn"}) {
				t.Errorf("recipients = %v", d.To)
			}
			ids := func(its []DigestItem) []uint64 {
				var out []uint64
				for _, it := range its {
					out = append(out, it.CaseID)
				}
				return out
			}
			if got := ids(d.Overdue); !slices.Equal(got, []uint64{late.ID, returned.ID}) {
				t.Errorf("overdue = %v, want %v", got, []uint64{late.ID, returned.ID})
			}
			if got := ids(d.DueSoon); !slices.Equal(got, []uint64{soon.ID}) {
				t.Errorf("due soon = %v, want %v", got, []uint64{soon.ID})
			}
			// 7, 8, 9 (make-up workday), 11, 12, 13 May.
			if len(d.Overdue) == 2 && (d.Overdue[0].WorkdaysOverdue != 6 || d.Overdue[1].WorkdaysOverdue != 1) {
				t.Errorf("working days overdue = %d, %d; want 6, 1", d.Overdue[0].WorkdaysOverdue, d.Overdue[1].WorkdaysOverdue)
			}
			if len(d.Overdue) > 0 && d.Overdue[0].Title != "村里每周要交三份台账" {
				t.Errorf("title = %q", d.Overdue[0].Title)
			}
			if _, err := s.UnitDigest(ctx, "NOPE"); !errors.Is(err, ErrNotFound) {
				t.Errorf("unknown unit: %v", err)
			}
		})
	}
}

func TestSummaryDigest(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s := digestStore(t, b)
			f := newFixture(t, s)
			a, c := f.unit("T01", "城关镇"), f.unit("C01", "县教育局")
			f.user("leader", RoleLeader, nil, "leader@county.example.gov.cn")
			f.user("office", RoleOffice, nil, "office@county.example.gov.cn")
			f.user("liaison", RoleLiaison, &a, "a@town.example.gov.cn")
			dual := f.caseIn(StageRectify, "双交办：township 和 county 都逾期", nil)
			f.assign(dual, a, endOfDay(4), AssignmentPending)
			f.assign(dual, c, endOfDay(8), AssignmentPending)
			f.rectifying(a, "刚逾期", endOfDay(12), AssignmentReturned)
			f.rectifying(c, "临近到期", endOfDay(14), AssignmentPending)
			stageDue := endOfDay(1) // the office's own verification is late
			verify := f.caseIn(StageVerify, "核查逾期", &stageDue)
			f.caseIn(StageClosed, "办结一", nil)
			f.caseIn(StageClosed, "办结二", nil)
			// The fixture writes rows directly; the year's figures come
			// from the rollups, which the store's own writes keep.
			if _, err := s.BackfillReadModels(ctx, nil); err != nil {
				t.Fatal(err)
			}

			d, err := s.SummaryDigest(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(d.To, []string{"leader@county.example.gov.cn", "office@county.example.gov.cn"}) {
				t.Errorf("recipients = %v", d.To)
			}
			want := []UnitCount{{Code: "T01", Name: "城关镇", Waiting: 2, Overdue: 2}, {Code: "C01", Name: "县教育局", Waiting: 2, Overdue: 1, DueSoon: 1}}
			if !slices.Equal(d.Units, want) {
				t.Errorf("units = %+v, want %+v", d.Units, want)
			}
			if d.OverdueAssignments != 3 || d.OverdueStages != 1 {
				t.Errorf("overdue assignments %d, stages %d; want 3, 1", d.OverdueAssignments, d.OverdueStages)
			}
			var oldest []uint64
			for _, o := range d.Oldest {
				oldest = append(oldest, o.CaseID)
			}
			if len(oldest) != 3 || oldest[0] != verify.ID || oldest[1] != dual.ID {
				t.Errorf("oldest overdue = %v, want verify %d then dual %d first", oldest, verify.ID, dual.ID)
			}
			if len(d.Oldest) > 1 && !slices.Equal(d.Oldest[1].Units, []string{"县教育局", "城关镇"}) {
				t.Errorf("units of the dual case = %v", d.Oldest[1].Units)
			}
			// Six cases received this year, all past screening (accepted);
			// two closed: 2 ÷ 6 = 33.3%.
			if d.Year != 2026 || d.Received != 6 || d.Accepted != 6 || d.Closed != 2 || d.ClosureRate.Text() != "33.3%" {
				t.Errorf("completion %d: %d closed of %d accepted (%d received): %s", d.Year, d.Closed, d.Accepted, d.Received, d.ClosureRate.Text())
			}
			st, err := s.Stats(ctx, StatsParams{From: time.Date(2026, 1, 1, 0, 0, 0, 0, Shanghai()), To: d.At.Add(time.Second)})
			if err != nil {
				t.Fatal(err)
			}
			if st.Totals.ClosureRate.Text() != d.ClosureRate.Text() {
				t.Errorf("digest's 办结率 %s, statistics' %s", d.ClosureRate.Text(), st.Totals.ClosureRate.Text())
			}
		})
	}
}

// TestDigestQueriesBounded: building every digest costs the same number of
// queries whether units have one case or ten, and at most two per unit plus
// a constant.
func TestDigestQueriesBounded(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s := digestStore(t, b)
			f := newFixture(t, s)
			var queries atomic.Int64
			count := func(*gorm.DB) { queries.Add(1) }
			if err := s.db.Callback().Query().After("gorm:query").Register("test:count_query", count); err != nil {
				t.Fatal(err)
			}
			if err := s.db.Callback().Row().After("gorm:row").Register("test:count_row", count); err != nil {
				t.Fatal(err)
			}
			f.user("leader", RoleLeader, nil, "leader@county.example.gov.cn")
			var units []Unit
			for i := range 3 {
				u := f.unit(fmt.Sprintf("T%02d", i), fmt.Sprintf("第%d镇", i))
				f.user(fmt.Sprintf("liaison%d", i), RoleLiaison, &u, fmt.Sprintf("l%d@town.example.gov.cn", i))
				units = append(units, u)
			}
			buildAll := func() int64 {
				queries.Store(0)
				plan, err := s.PlanDigests(ctx, "")
				if err != nil {
					t.Fatal(err)
				}
				for _, scope := range plan.Queued {
					if scope == ScopeSummary {
						if _, err := s.SummaryDigest(ctx); err != nil {
							t.Fatal(err)
						}
						continue
					}
					if _, err := s.UnitDigest(ctx, scope[len("unit:"):]); err != nil {
						t.Fatal(err)
					}
				}
				if err := s.db.Where("1 = 1").Delete(&Digest{}).Error; err != nil {
					t.Fatal(err)
				}
				return queries.Load()
			}
			for _, u := range units {
				f.rectifying(u, "一件逾期", endOfDay(6), AssignmentPending)
			}
			few := buildAll()
			for _, u := range units {
				for range 9 {
					f.rectifying(u, "又一件逾期", endOfDay(6), AssignmentPending)
					f.rectifying(u, "又一件临近", endOfDay(15), AssignmentPending)
				}
			}
			many := buildAll()
			t.Logf("%s: %d queries for 3 units with 1 case each, %d with 19 each", b.Name, few, many)
			if many != few {
				t.Errorf("queries grew with the cases: %d for 1 case per unit, %d for 19", few, many)
			}
			if limit := int64(2*len(units) + 10); many > limit {
				t.Errorf("%d queries for %d units, want at most %d", many, len(units), limit)
			}
		})
	}
}

func TestPlanAndClaimDigests(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s := digestStore(t, b)
			f := newFixture(t, s)
			var us []Unit
			for i := range 4 {
				us = append(us, f.unit(fmt.Sprintf("T%02d", i), fmt.Sprintf("第%d镇", i)))
			}
			f.rectifying(us[0], "逾期", endOfDay(6), AssignmentPending)
			f.rectifying(us[1], "临近", endOfDay(15), AssignmentReturned)
			f.rectifying(us[2], "还早", endOfDay(29), AssignmentPending)
			f.rectifying(us[3], "已提交", endOfDay(6), AssignmentSubmitted)
			want := []string{ScopeSummary, "unit:T00", "unit:T01"}

			// Two schedulers at once, then a rerun: each scope once.
			var wg sync.WaitGroup
			plans := make([]DigestPlan, 2)
			errs := make([]error, 2)
			for i := range plans {
				wg.Go(func() { plans[i], errs[i] = s.PlanDigests(ctx, "2026-W20") })
			}
			wg.Wait()
			var queued []string
			for i := range plans {
				if errs[i] != nil {
					t.Fatalf("plan %d: %v", i, errs[i])
				}
				queued = append(queued, plans[i].Queued...)
			}
			slices.Sort(queued)
			if !slices.Equal(queued, want) {
				t.Errorf("two concurrent plans queued %v, want %v once each", queued, want)
			}
			again, err := s.PlanDigests(ctx, "2026-W20")
			if err != nil || len(again.Queued) != 0 {
				t.Errorf("rerun queued %v (%v), want nothing", again.Queued, err)
			}
			tasks, err := s.OutboxTasks(ctx, TaskDigestSend)
			if err != nil {
				t.Fatal(err)
			}
			var scopes []string
			for _, task := range tasks {
				var p DigestPayload
				if err := json.Unmarshal(task.Payload, &p); err != nil || p.Week != "2026-W20" {
					t.Fatalf("payload %s: %v", task.Payload, err)
				}
				scopes = append(scopes, p.Scope)
			}
			slices.Sort(scopes)
			if !slices.Equal(scopes, want) {
				t.Errorf("outbox tasks for %v, want %v", scopes, want)
			}
			if _, err := s.PlanDigests(ctx, "2026-W99"); err == nil {
				t.Error("planned week 99")
			}

			// Claims: many senders, one winner; then done.
			k := DigestKey{Scope: "unit:T00", Week: "2026-W20"}
			var won atomic.Int32
			var token atomic.Value
			for range 8 {
				wg.Go(func() {
					c, tok, err := s.ClaimDigest(ctx, k)
					if err != nil {
						t.Error(err)
					}
					if c == ClaimWon {
						won.Add(1)
						token.Store(tok)
					}
				})
			}
			wg.Wait()
			if won.Load() != 1 {
				t.Fatalf("%d senders won the claim, want 1", won.Load())
			}
			if c, _, _ := s.ClaimDigest(ctx, k); c != ClaimBusy {
				t.Errorf("claim during a live send = %v, want busy", c)
			}
			if err := s.FinishDigest(ctx, FinishParams{Key: k, Token: token.Load().(string), Status: DigestSent}); err != nil {
				t.Fatal(err)
			}
			if c, _, _ := s.ClaimDigest(ctx, k); c != ClaimDone {
				t.Errorf("claim after sending = %v, want done", c)
			}

			// A failed send gives the claim back at once.
			k1 := DigestKey{Scope: "unit:T01", Week: "2026-W20"}
			c, tok, _ := s.ClaimDigest(ctx, k1)
			if c != ClaimWon {
				t.Fatalf("claim = %v", c)
			}
			if err := s.ReleaseDigest(ctx, k1, tok); err != nil {
				t.Fatal(err)
			}
			if c, _, _ := s.ClaimDigest(ctx, k1); c != ClaimWon {
				t.Errorf("claim after release = %v, want won", c)
			}

			// A sender that died mid-send: its claim lapses after the lease.
			s.SetClock(func() time.Time { return digestNow.Add(DigestLease - time.Second) })
			if c, _, _ := s.ClaimDigest(ctx, k1); c != ClaimBusy {
				t.Errorf("claim within the lease = %v, want busy", c)
			}
			s.SetClock(func() time.Time { return digestNow.Add(DigestLease + time.Second) })
			if c, _, _ := s.ClaimDigest(ctx, k1); c != ClaimWon {
				t.Errorf("claim after the lease = %v, want won", c)
			}
			if c, _, _ := s.ClaimDigest(ctx, k1); c != ClaimBusy {
				t.Errorf("second claim after the lease = %v, want busy", c)
			}
			// Claiming a digest nobody planned creates its row.
			if c, _, _ := s.ClaimDigest(ctx, DigestKey{Scope: "unit:T03", Week: "2026-W21"}); c != ClaimWon {
				t.Errorf("claim of an unplanned digest = %v, want won", c)
			}
		})
	}
}

// queueNotice records a notice of kind about c (and a, if any) as a timer
// does, its event and its outbox row, and returns the row's id and the
// task's payload.
func queueNotice(t *testing.T, s *Store, kind string, c Case, a Assignment) (uint64, NoticePayload) {
	t.Helper()
	ev := Event{CaseID: c.ID, At: digestNow.UTC(), Kind: kind, Actor: ActorSystem, FromStage: c.Stage, ToStage: c.Stage, Data: "{}"}
	if err := s.db.Create(&ev).Error; err != nil {
		t.Fatal(err)
	}
	p := NoticePayload{Kind: kind, CaseID: c.ID, EventID: ev.ID, AssignmentID: a.ID}
	var id uint64
	if err := s.write(context.Background(), func(w *txWork) error {
		err := w.add(TaskNotify, QueueMail, p, time.Time{})
		id = w.tasks[0].ID
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return id, p
}

func TestBatchNotice(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s := digestStore(t, b)
			f := newFixture(t, s)
			u := f.unit("T01", "城关镇")
			l1 := f.user("liaison1", RoleLiaison, &u, "l1@town.example.gov.cn")
			l2 := f.user("liaison2", RoleLiaison, &u, "l2@town.example.gov.cn")
			f.user("office", RoleOffice, nil, "office@county.example.gov.cn")
			const delay = 30 * time.Second

			notice := func(kind string, c Case, a Assignment) NoticePayload {
				t.Helper()
				id, p := queueNotice(t, s, kind, c, a)
				// Twice: a redelivery files nothing again.
				for range 2 {
					if err := s.BatchNotice(ctx, id, p, delay); err != nil {
						t.Fatal(err)
					}
				}
				return p
			}
			var cases []Case
			for i := range 3 {
				c, a := f.rectifying(u, fmt.Sprintf("逾期%d", i), endOfDay(12), AssignmentPending)
				notice(EventReminder, c, a)
				notice(EventOverdue, c, a)
				cases = append(cases, c)
			}
			batches, err := s.OutboxTasks(ctx, TaskNoticeBatch)
			if err != nil {
				t.Fatal(err)
			}
			if len(batches) != 2 {
				t.Fatalf("%d batch tasks for two liaisons, want 2", len(batches))
			}
			for _, bt := range batches {
				if want := digestNow.Add(delay).UTC(); !bt.RunAt.Equal(want) {
					t.Errorf("batch runs at %v, want %v", bt.RunAt, want)
				}
			}
			p1 := NoticeBatchPayload{UserID: l1.ID, Day: "2026-05-13"}
			batch, err := s.NoticeBatch(ctx, p1)
			if err != nil {
				t.Fatal(err)
			}
			if batch.To != "l1@town.example.gov.cn" || len(batch.Items) != 3 {
				t.Fatalf("batch to %q with %d items, want l1 and one per case (3)", batch.To, len(batch.Items))
			}
			for i, it := range batch.Items {
				if it.CaseID != cases[i].ID || !it.Overdue || it.UnitName != "城关镇" {
					t.Errorf("item %d = %+v", i, it)
				}
			}

			// Liaison 1's batch goes out; a later overdue notice that day
			// waits for tomorrow's batch, sent at 09:00 plus the delay.
			k1, _ := p1.Key()
			c1, tok1, _ := s.ClaimDigest(ctx, k1)
			if c1 != ClaimWon {
				t.Fatal("claim batch")
			}
			if err := s.FinishDigest(ctx, FinishParams{Key: k1, Token: tok1, Status: DigestSent}); err != nil {
				t.Fatal(err)
			}
			c, a := f.rectifying(u, "晚上才逾期", endOfDay(13), AssignmentPending)
			notice(EventOverdue, c, a)
			batches, _ = s.OutboxTasks(ctx, TaskNoticeBatch)
			if len(batches) != 3 {
				t.Fatalf("%d batch tasks, want 3 (tomorrow's for liaison 1)", len(batches))
			}
			var next NoticeBatchPayload
			json.Unmarshal(batches[2].Payload, &next)
			if next != (NoticeBatchPayload{UserID: l1.ID, Day: "2026-05-14"}) {
				t.Errorf("carried into %+v", next)
			}
			if want := time.Date(2026, 5, 14, 9, 0, 30, 0, Shanghai()); !batches[2].RunAt.Equal(want) {
				t.Errorf("tomorrow's batch runs at %v, want %v", batches[2].RunAt, want)
			}
			// Liaison 2's batch has not gone out: the notice joins it.
			b2, err := s.NoticeBatch(ctx, NoticeBatchPayload{UserID: l2.ID, Day: "2026-05-13"})
			if err != nil || len(b2.Items) != 4 {
				t.Errorf("liaison 2's batch has %d items (%v), want 4", len(b2.Items), err)
			}
			// An assignment accepted in the meantime drops out.
			if err := s.db.Model(&Assignment{}).Where("case_id = ?", cases[0].ID).Update("status", AssignmentAccepted).Error; err != nil {
				t.Fatal(err)
			}
			b2, _ = s.NoticeBatch(ctx, NoticeBatchPayload{UserID: l2.ID, Day: "2026-05-13"})
			if len(b2.Items) != 3 {
				t.Errorf("after acceptance: %d items, want 3", len(b2.Items))
			}
			var rows int64
			s.db.Model(&Digest{}).Where("scope LIKE ?", "notice:%").Count(&rows)
			if rows != 3 {
				t.Errorf("%d batch rows, want 3", rows)
			}
		})
	}
}

// TestBatchNoticeCostIsFlat: filing a notice into a person's batch sends
// as much to the database on the batch's 303rd notice as on its second.
// The notices were once a JSON array on the batch row, read and written
// whole by every filing; under the cluster test's bursts, office batches
// of thousands of notices made the drain take minutes.
func TestBatchNoticeCostIsFlat(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s := digestStore(t, b)
			f := newFixture(t, s)
			u := f.unit("T01", "城关镇")
			l1 := f.user("liaison1", RoleLiaison, &u, "l1@town.example.gov.cn")
			c, a := f.rectifying(u, "逾期", endOfDay(12), AssignmentPending)
			// file files one more overdue notice and returns the bytes of
			// the statements (arguments written out) that filing it sent.
			file := func() int {
				t.Helper()
				id, p := queueNotice(t, s, EventOverdue, c, a)
				var stmts []string
				s.capture.Store(&stmts)
				defer s.capture.Store(nil)
				if err := s.BatchNotice(ctx, id, p, time.Minute); err != nil {
					t.Fatal(err)
				}
				n := 0
				for _, st := range stmts {
					n += len(st)
				}
				return n
			}
			file() // opens the batch and queues its task
			second := file()
			for range 300 {
				file()
			}
			// A few bytes more for ids with more digits, not the batch.
			if last := file(); last > second+100 {
				t.Fatalf("filing the 303rd notice sent %d bytes, the second %d: filing grows with the batch", last, second)
			}
			// Still one line for the one assignment, however many notices.
			batch, err := s.NoticeBatch(ctx, NoticeBatchPayload{UserID: l1.ID, Day: "2026-05-13"})
			if err != nil || len(batch.Items) != 1 {
				t.Fatalf("batch of 303 notices about one assignment: %d items (%v), want 1", len(batch.Items), err)
			}
		})
	}
}
