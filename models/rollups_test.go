package models

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"jianfu/testenv"
)

// TestRollupsEqualDirectCount drives random workflows — acceptance,
// rejection, merges, single and dual dispatch, every finding with and
// without transfer to discipline review, reports returned and accepted,
// extensions asked, granted and refused, replies, ratings, reopening,
// closing, deadlines passing — over three weeks across a new year, with a
// burst of concurrent tips, and checks at several points that the
// statistics read from the rollups equal the direct count from the cases,
// figure for figure, for periods of a day, part of a month, months, years
// and ten years.
func TestRollupsEqualDirectCount(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f := newFlow(t, b)
			f.now = time.Date(2025, 12, 18, 1, 0, 0, 0, time.UTC)
			r := rand.New(rand.NewPCG(15, uint64(len(b.Name))))
			var ids []uint64
			receipts := map[uint64]string{}
			var pending []Task
			submit := func() {
				id, receipt := f.tip()
				ids = append(ids, id)
				receipts[id] = receipt
			}
			for range 6 {
				submit()
			}
			try := func(err error) {
				t.Helper()
				var ve *ValidationError
				if err != nil && !errors.Is(err, ErrWrongStage) && !errors.Is(err, ErrForbidden) && !errors.As(err, &ve) {
					t.Fatalf("step: %v", err)
				}
			}
			pick := func() uint64 { return ids[r.IntN(len(ids))] }
			assignment := func(id uint64) (Assignment, Principal, bool) {
				as := f.assignments(id)
				if len(as) == 0 {
					return Assignment{}, Principal{}, false
				}
				a := as[r.IntN(len(as))]
				p := f.liaisonD
				if a.Role == AssignGrassroots {
					p = f.liaisonT
				}
				return a, p, true
			}
			actions := []func(){
				submit,
				func() { try(f.s.AcceptCase(f.ctx, f.office, AcceptParams{CaseID: pick()})) },
				func() {
					try(f.s.RejectCase(f.ctx, f.office, RejectParams{CaseID: pick(), Reason: "不属于受理范围。"}))
				},
				func() { try(f.s.MergeCase(f.ctx, f.office, MergeParams{CaseID: pick(), Into: pick()})) },
				func() {
					units := [][]AssignmentInput{{{Unit: "T1", Role: AssignGrassroots}}, {{Unit: "D1", Role: AssignCounty}},
						{{Unit: "T1", Role: AssignGrassroots}, {Unit: "D1", Role: AssignCounty}}}[r.IntN(3)]
					try(f.s.AssignCase(f.ctx, f.office, AssignParams{CaseID: pick(), Assignments: units, VerifyTeam: []string{"T1"}}))
				},
				func() {
					finding := []string{FindingSubstantiated, FindingPartly, FindingUnsubstantiated}[r.IntN(3)]
					try(f.s.RecordVerification(f.ctx, f.office, VerificationParams{CaseID: pick(), Finding: finding,
						Report: "经联合核查形成结论。", TransferToDiscipline: r.IntN(4) == 0}))
				},
				func() {
					if a, p, ok := assignment(pick()); ok {
						_, err := f.s.SubmitRectification(f.ctx, p, RectificationParams{AssignmentID: a.ID, Report: "已整改完毕。"})
						try(err)
					}
				},
				func() {
					if a, _, ok := assignment(pick()); ok {
						d := []string{DecisionAccept, DecisionAccept, DecisionReturn}[r.IntN(3)]
						_, err := f.s.ReviewRectification(f.ctx, f.office, ReviewParams{AssignmentID: a.ID, Decision: d, Comment: "请补充整改材料。"})
						try(err)
					}
				},
				func() {
					if a, p, ok := assignment(pick()); ok {
						_, err := f.s.RequestExtension(f.ctx, p, ExtensionParams{AssignmentID: a.ID, WorkingDays: 1 + r.IntN(5), Reason: "需要更多时间"})
						try(err)
					}
				},
				func() {
					if a, _, ok := assignment(pick()); ok {
						d := []string{DecisionApprove, DecisionReject}[r.IntN(2)]
						_, err := f.s.DecideExtension(f.ctx, f.office, ExtensionDecisionParams{AssignmentID: a.ID, Decision: d, Comment: "同意。"})
						try(err)
					}
				},
				func() {
					try(f.s.ReplyToTipster(f.ctx, f.office, ReplyParams{CaseID: pick(), Text: "已整改，情况如下。"}))
				},
				func() {
					id := pick()
					rating := []string{RatingSatisfied, RatingBasically, RatingUnsatisfied, RatingUnsatisfied}[r.IntN(4)]
					try(f.s.EvaluateTip(f.ctx, receipts[id], rating, ""))
				},
				func() {
					try(f.s.ReopenCase(f.ctx, f.office, ReopenParams{CaseID: pick(), Reason: "举报人不满意，重新整改。"}))
				},
				func() {
					try(f.s.CloseCase(f.ctx, f.office, CloseParams{CaseID: pick(), Note: "经复核，已按要求整改到位。"}))
				},
			}

			compare := func(when string) {
				t.Helper()
				f.route() // new cases are counted once routed
				for _, p := range [][2]string{{"2025-01-01", "2025-12-31"}, {"2026-01-01", "2026-12-31"},
					{"2016-01-01", "2026-12-31"}, {"2025-12-15", "2026-02-10"}, {"2026-01-01", "2026-01-31"},
					{"2025-12-31", "2025-12-31"}, {"2025-12-18", "2025-12-24"}} {
					from, to, err := PeriodOfDates(p[0], p[1])
					f.must("period", err)
					fast, err := f.s.Stats(f.ctx, StatsParams{From: from, To: to})
					f.must("stats", err)
					direct, err := f.s.Stats(f.ctx, StatsParams{From: from, To: to, Direct: true})
					f.must("direct stats", err)
					a, _ := json.Marshal(fast)
					d, _ := json.Marshal(direct)
					if string(a) != string(d) {
						t.Fatalf("%s, %s..%s: rollups differ from the direct count\nrollups: %s\n direct: %s", when, p[0], p[1], a, d)
					}
				}
			}

			// next takes a case one natural step on, choosing among the
			// ways its stage can end.
			next := func(id uint64) {
				c := f.caseRow(id)
				switch c.Stage {
				case StageCollect:
					switch r.IntN(6) {
					case 0:
						try(f.s.RejectCase(f.ctx, f.office, RejectParams{CaseID: id, Reason: "不属于受理范围。"}))
					case 1:
						for _, into := range ids {
							if into != id && f.caseRow(into).Stage != StageClosed {
								try(f.s.MergeCase(f.ctx, f.office, MergeParams{CaseID: id, Into: into}))
								break
							}
						}
					default:
						try(f.s.AcceptCase(f.ctx, f.office, AcceptParams{CaseID: id}))
					}
				case StageAssign:
					units := [][]AssignmentInput{{{Unit: "T1", Role: AssignGrassroots}}, {{Unit: "D1", Role: AssignCounty}},
						{{Unit: "T1", Role: AssignGrassroots}, {Unit: "D1", Role: AssignCounty}}}[r.IntN(3)]
					try(f.s.AssignCase(f.ctx, f.office, AssignParams{CaseID: id, Assignments: units, VerifyTeam: []string{"T1"}}))
				case StageVerify:
					finding := []string{FindingSubstantiated, FindingPartly, FindingUnsubstantiated}[r.IntN(3)]
					try(f.s.RecordVerification(f.ctx, f.office, VerificationParams{CaseID: id, Finding: finding,
						Report: "经联合核查形成结论。", TransferToDiscipline: r.IntN(4) == 0}))
				case StageRectify:
					a, p, _ := assignment(id)
					var err error
					switch a.Status {
					case AssignmentPending, AssignmentReturned:
						if a.ExtensionStatus == "requested" {
							_, err = f.s.DecideExtension(f.ctx, f.office, ExtensionDecisionParams{AssignmentID: a.ID,
								Decision: []string{DecisionApprove, DecisionReject}[r.IntN(2)], Comment: "同意。"})
						} else if r.IntN(4) == 0 {
							_, err = f.s.RequestExtension(f.ctx, p, ExtensionParams{AssignmentID: a.ID, WorkingDays: 1 + r.IntN(5), Reason: "需要更多时间"})
						} else {
							_, err = f.s.SubmitRectification(f.ctx, p, RectificationParams{AssignmentID: a.ID, Report: "已整改完毕。"})
						}
					case AssignmentSubmitted:
						_, err = f.s.ReviewRectification(f.ctx, f.office, ReviewParams{AssignmentID: a.ID,
							Decision: []string{DecisionAccept, DecisionAccept, DecisionReturn}[r.IntN(3)], Comment: "请补充整改材料。"})
					}
					try(err)
				case StageFeedback:
					switch {
					case c.RepliedAt == nil:
						try(f.s.ReplyToTipster(f.ctx, f.office, ReplyParams{CaseID: id, Text: "已整改，情况如下。"}))
						if r.IntN(3) > 0 { // the tipster rates within the window, or never
							rating := []string{RatingSatisfied, RatingBasically, RatingUnsatisfied, RatingUnsatisfied}[r.IntN(4)]
							try(f.s.EvaluateTip(f.ctx, receipts[id], rating, ""))
						}
					case c.Rating == RatingUnsatisfied && c.ReopenCount == 0 && r.IntN(4) > 0:
						try(f.s.ReopenCase(f.ctx, f.office, ReopenParams{CaseID: id, Reason: "举报人不满意，重新整改。"}))
					default:
						try(f.s.CloseCase(f.ctx, f.office, CloseParams{CaseID: id, Note: "经复核，已按要求整改到位。"}))
					}
				}
			}

			for step := range 480 {
				switch n := r.IntN(10); {
				case n == 0:
					actions[r.IntN(len(actions))]() // anything, often refused
				case n < 2:
					submit()
				default:
					next(pick())
				}
				f.advance(time.Duration(r.IntN(150)) * time.Minute)
				if step%10 == 0 {
					f.fire(&pending)
				}
				if step%160 == 159 {
					compare(fmt.Sprintf("after step %d", step+1))
				}
			}
			// A burst of concurrent tips shares transactions and rollup
			// rows: nothing is lost or counted twice.
			var wg sync.WaitGroup
			errs := make(chan error, 12)
			for range 12 {
				wg.Go(func() {
					_, err := f.s.CreateTip(f.ctx, TipInput{Category: "digital", Title: "同时提交", Content: "很多干部同时提交了反映。",
						Anonymous: true, Channel: ChannelWeb})
					errs <- err
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				f.must("concurrent tip", err)
			}
			compare("after concurrent tips")

			from, to, _ := PeriodOfDates("2016-01-01", "2026-12-31")
			st, err := f.s.Stats(f.ctx, StatsParams{From: from, To: to})
			f.must("stats", err)
			c := st.Totals.Counts
			t.Logf("all: %+v", c)
			if c.Closed == 0 || c.Reopened == 0 || c.Merged == 0 || c.Rejected == 0 || c.DualAssigned == 0 || c.Transferred == 0 || c.Rated == 0 {
				t.Errorf("the random walk missed a path it must prove: %+v", c)
			}
		})
	}
}

// TestRollupsNeedTheirRefresh: a case changed without its read models'
// refresh (as the bulk generator writes) is missing from the rollups until
// the backfill runs — the test above would catch a workflow path that
// skipped the refresh.
func TestRollupsNeedTheirRefresh(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f := newFlow(t, b)
			f.tip()
			f.route()
			from, to := YearPeriod(2026)
			st, err := f.s.Stats(f.ctx, StatsParams{From: from, To: to})
			if err != nil || st.Totals.Received != 1 {
				t.Fatalf("received %d, %v; want 1", st.Totals.Received, err)
			}
			f.must("forget", f.s.db.Exec("DELETE FROM case_stats").Error)
			f.must("forget", f.s.db.Exec("DELETE FROM stats_rollups").Error)
			st, _ = f.s.Stats(f.ctx, StatsParams{From: from, To: to})
			if st.Totals.Received != 0 {
				t.Fatalf("received %d from emptied rollups", st.Totals.Received)
			}
			n, err := f.s.BackfillReadModels(f.ctx, nil)
			if err != nil || n != 1 {
				t.Fatalf("backfill = %d, %v; want 1", n, err)
			}
			st, _ = f.s.Stats(f.ctx, StatsParams{From: from, To: to})
			if st.Totals.Received != 1 || st.Totals.Screening != 1 {
				t.Errorf("after backfill: received %d, screening %d; want 1, 1", st.Totals.Received, st.Totals.Screening)
			}
		})
	}
}
