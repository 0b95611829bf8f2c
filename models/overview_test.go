package models

import (
	"slices"
	"testing"
	"time"

	"jianfu/testenv"
)

// TestMonthlyTrendCounts checks the dashboard's trend, counted in the
// database by month boundaries, against the obvious count: every case
// loaded and put in its month in Go (Asia/Shanghai), received by
// created_at and closed by closed_at for accepted cases only.
func TestMonthlyTrendCounts(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f := newFlow(t, b)
			if _, err := f.s.GenerateCounty(f.ctx, GenerateParams{Cases: 1500, Townships: 3, Departments: 4, Years: 2,
				OpenDue: 200, Now: f.now, Seed: 3}); err != nil {
				t.Fatal(err)
			}
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
