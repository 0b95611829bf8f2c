package models

import (
	"slices"
	"testing"
	"time"

	"jianfu/testenv"
)

// newCounty is a flow on a county generated as of the flow's clock.
func newCounty(t *testing.T, b testenv.Backend, p GenerateParams) *flow {
	t.Helper()
	f := newFlow(t, b)
	p.Now = f.now
	if _, err := f.s.GenerateCounty(f.ctx, p); err != nil {
		t.Fatalf("generate: %v", err)
	}
	return f
}

// TestMonthlyTrendCounts checks the dashboard's trend, counted in the
// database by month boundaries, against the obvious count: every case
// loaded and put in its month in Go (Asia/Shanghai), received by
// created_at and closed by closed_at for accepted cases only.
func TestMonthlyTrendCounts(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f := newCounty(t, b, GenerateParams{Cases: 1500, Townships: 3, Departments: 4, Years: 2, OpenDue: 200, Seed: 3})
			// Some closed cases are rejected or merged: not counted as closed.
			f.must("reject", f.s.db.Exec("UPDATE cases SET reject_reason = '不属于受理范围' WHERE stage = ? AND id % 7 = 0", StageClosed).Error)
			f.must("merge", f.s.db.Exec("UPDATE cases SET merged_into_id = id + 1 WHERE stage = ? AND id % 11 = 0", StageClosed).Error)
			got, err := f.s.MonthlyTrend(f.ctx, 12)
			f.must("trend", err)

			now := f.now.In(Shanghai())
			first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, Shanghai()).AddDate(0, -11, 0)
			want := make([]MonthCount, 12)
			for i := range want {
				want[i].Month = first.AddDate(0, i, 0)
			}
			month := func(t time.Time) int {
				t = t.In(Shanghai())
				return (t.Year()-first.Year())*12 + int(t.Month()-first.Month())
			}
			var cases []Case
			f.must("cases", f.s.db.Find(&cases).Error)
			for _, c := range cases {
				if i := month(c.CreatedAt); i >= 0 && i < 12 {
					want[i].Received++
				}
				if c.ClosedAt != nil && c.MergedIntoID == nil && c.RejectReason == "" {
					if i := month(*c.ClosedAt); i >= 0 && i < 12 {
						want[i].Closed++
					}
				}
			}
			eq := func(a, b MonthCount) bool {
				return a.Month.Equal(b.Month) && a.Received == b.Received && a.Closed == b.Closed
			}
			if !slices.EqualFunc(got, want, eq) {
				t.Errorf("trend = %+v\nwant   %+v", got, want)
			}
			var sum int64
			for _, m := range want {
				sum += m.Received + m.Closed
			}
			if sum == 0 {
				t.Error("the generated county has nothing in the last twelve months")
			}
		})
	}
}

// TestStageCountsEqualDirectCount: the queue's and the dashboard's stage
// counts (closed cases from the rollups for the office) equal a plain
// count of the cases, for the office and for a liaison, with a tip come
// in through intake after the generated county and not yet routed.
func TestStageCountsEqualDirectCount(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f := newCounty(t, b, GenerateParams{Cases: 1200, Townships: 3, Departments: 4, Years: 2, OpenDue: 300, Seed: 5})
			f.tip() // through intake, not yet routed: not in the rollups yet
			var unit Unit
			f.must("unit", f.s.db.Where("code = ?", "GT001").Take(&unit).Error)
			liaison := Principal{Username: "liaison_gt001", Role: RoleLiaison, UnitID: &unit.ID, UnitCode: unit.Code}
			for _, p := range []Principal{{Username: "office1", Role: RoleOffice}, liaison} {
				got, err := f.s.StageCounts(f.ctx, p)
				f.must("stage counts", err)
				q := f.s.db.Table("cases")
				if p.Role == RoleLiaison {
					q = q.Where("EXISTS (SELECT 1 FROM assignments a WHERE a.case_id = cases.id AND a.unit_id = ?)", unit.ID)
				}
				var rows []struct {
					Stage          string
					Cases, Overdue int64
				}
				f.must("direct", q.Select("stage, COUNT(*) AS cases, SUM(CASE WHEN stage <> 'closed' AND due_at < ? THEN 1 ELSE 0 END) AS overdue", f.s.Now()).
					Group("stage").Scan(&rows).Error)
				want := map[string]StageCount{}
				for _, r := range rows {
					want[r.Stage] = StageCount{Cases: r.Cases, Overdue: r.Overdue}
				}
				var sum int64
				for _, c := range got.Stages {
					if w := want[c.Stage]; c.Cases != w.Cases || c.Overdue != w.Overdue {
						t.Errorf("%s, %s: %d cases (%d overdue), direct count %d (%d)", p.Role, c.Stage, c.Cases, c.Overdue, w.Cases, w.Overdue)
					}
					sum += c.Cases
				}
				if sum == 0 || want[StageClosed].Cases == 0 {
					t.Errorf("%s: nothing counted", p.Role)
				}
			}
		})
	}
}

// TestStatsNoOverdue: the dashboard's statistics skip only the live
// overdue counts; every other figure is the statistics' own.
func TestStatsNoOverdue(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f := newCounty(t, b, GenerateParams{Cases: 800, Townships: 3, Departments: 4, Years: 1, OpenDue: 300, Seed: 7})
			from, to := YearPeriod(f.now.In(Shanghai()).Year())
			full, err := f.s.Stats(f.ctx, StatsParams{From: from, To: to})
			f.must("stats", err)
			lean, err := f.s.Stats(f.ctx, StatsParams{From: from, To: to, NoOverdue: true})
			f.must("stats without overdue", err)
			if full.Totals.Overdue == 0 || lean.Totals.Overdue != 0 {
				t.Errorf("overdue: %d, without %d", full.Totals.Overdue, lean.Totals.Overdue)
			}
			full.Totals.Overdue, full.Totals.OverdueRate = 0, Rate{}
			lean.Totals.OverdueRate = Rate{}
			if full.Totals.Counts != lean.Totals.Counts || full.Totals.ClosureRate.Text() != lean.Totals.ClosureRate.Text() {
				t.Errorf("totals differ beyond overdue:\n%+v\n%+v", full.Totals.Counts, lean.Totals.Counts)
			}
		})
	}
}
