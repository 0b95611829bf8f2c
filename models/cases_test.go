package models

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"jianfu/testenv"
)

// fire delivers every queued timer task that is due at the flow's clock,
// as the worker would, until none is left; later ones stay queued.
func (f *flow) fire(pending *[]Task) {
	f.t.Helper()
	for {
		// As the worker does every TimerSweepInterval: queue what falls
		// due within the horizon (far timers are not queued at commit).
		_, err := f.s.SweepTimers(f.ctx, SweepParams{Horizon: TimerSweepHorizon})
		f.must("sweep timers", err)
		*pending = append(*pending, f.q.take()...)
		var due, later []Task
		for _, t := range *pending {
			if t.RunAt.After(f.now) {
				later = append(later, t)
			} else {
				due = append(due, t)
			}
		}
		*pending = later
		if len(due) == 0 {
			return
		}
		for _, t := range due {
			var p TimerPayload
			f.must("decode timer", json.Unmarshal(t.Payload, &p))
			f.must("fire timer", f.s.FireTimer(f.ctx, p))
		}
	}
}

func (f *flow) wantKinds(id uint64, want ...string) {
	f.t.Helper()
	got := f.kinds(id)
	if !slices.Equal(got, want) {
		f.t.Errorf("timeline of case %d:\n got %v\nwant %v", id, got, want)
	}
}

func TestDualAssignmentPath(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f := newFlow(t, b)
			id, receipt := f.tip()
			f.must("accept", f.s.AcceptCase(f.ctx, f.office, AcceptParams{CaseID: id}))
			f.dual(id)
			as := f.assignments(id)
			if len(as) != 2 || as[0].Status != AssignmentPending || as[0].DueAt != nil {
				t.Fatalf("assignments after dispatch: %+v", as)
			}
			if c := f.caseRow(id); c.Stage != StageVerify || c.DueAt == nil || !c.DueAt.Equal(f.now.Add(2*time.Hour)) {
				t.Fatalf("after dispatch: stage %s due %v", c.Stage, c.DueAt)
			}
			f.advance(10 * time.Minute)
			f.must("verify", f.s.RecordVerification(f.ctx, f.office, VerificationParams{CaseID: id,
				Finding: FindingSubstantiated, Report: "联合核查属实。", TransferToDiscipline: true}))
			as = f.assignments(id)
			rectifyDue := f.now.Add(4 * time.Hour)
			for _, a := range as {
				if a.DueAt == nil || !a.DueAt.Equal(rectifyDue) || a.NextTimerAt == nil {
					t.Fatalf("assignment %d after verification: due %v next %v", a.ID, a.DueAt, a.NextTimerAt)
				}
			}
			c := f.caseRow(id)
			if c.Stage != StageRectify || !c.DueAt.Equal(rectifyDue) || c.NextTimerAt != nil {
				t.Fatalf("case in rectify: due %v next %v", c.DueAt, c.NextTimerAt)
			}

			// The county department's report is returned once, then accepted.
			f.mustID("T1 report")(f.s.SubmitRectification(f.ctx, f.liaisonT, RectificationParams{AssignmentID: as[0].ID, Report: "取消镇级打卡。"}))
			f.mustID("T1 accepted")(f.s.ReviewRectification(f.ctx, f.office, ReviewParams{AssignmentID: as[0].ID, Decision: DecisionAccept}))
			f.mustID("D1 report")(f.s.SubmitRectification(f.ctx, f.liaisonD, RectificationParams{AssignmentID: as[1].ID, Report: "正在整合。"}))
			f.mustID("D1 returned")(f.s.ReviewRectification(f.ctx, f.office, ReviewParams{AssignmentID: as[1].ID, Decision: DecisionReturn, Comment: "缺少整合后的系统截图"}))
			if a := f.assignments(id)[1]; a.Status != AssignmentReturned || !a.DueAt.Equal(rectifyDue) || a.NextTimerAt == nil {
				t.Fatalf("returned assignment: %+v", a)
			}
			f.mustID("D1 again")(f.s.SubmitRectification(f.ctx, f.liaisonD, RectificationParams{AssignmentID: as[1].ID, Report: "已整合，附截图。"}))
			f.mustID("D1 accepted")(f.s.ReviewRectification(f.ctx, f.office, ReviewParams{AssignmentID: as[1].ID, Decision: DecisionAccept}))
			if c := f.caseRow(id); c.Stage != StageFeedback {
				t.Fatalf("all accepted: stage %s", c.Stage)
			}
			f.must("reply", f.s.ReplyToTipster(f.ctx, f.office, ReplyParams{CaseID: id, Text: "已取消重复打卡。"}))
			f.must("rate", f.s.EvaluateTip(f.ctx, receipt, RatingUnsatisfied, "还有一个App没取消"))
			if err := f.s.EvaluateTip(f.ctx, receipt, RatingSatisfied, ""); !errors.Is(err, ErrWrongStage) {
				t.Fatalf("second rating: %v, want ErrWrongStage", err)
			}
			f.must("reopen", f.s.ReopenCase(f.ctx, f.office, ReopenParams{CaseID: id, Reason: "核实剩余的App"}))
			for _, a := range f.assignments(id) {
				if a.Status != AssignmentPending || !a.DueAt.Equal(f.now.Add(4*time.Hour)) {
					t.Fatalf("reopened assignment: %+v", a)
				}
			}
			for i, a := range as {
				p := []Principal{f.liaisonT, f.liaisonD}[i]
				f.mustID("report")(f.s.SubmitRectification(f.ctx, p, RectificationParams{AssignmentID: a.ID, Report: "全部取消。"}))
				f.mustID("accept")(f.s.ReviewRectification(f.ctx, f.office, ReviewParams{AssignmentID: a.ID, Decision: DecisionAccept}))
			}
			f.must("reply", f.s.ReplyToTipster(f.ctx, f.office, ReplyParams{CaseID: id, Text: "剩余App已取消。"}))
			f.must("rate", f.s.EvaluateTip(f.ctx, receipt, RatingUnsatisfied, ""))
			if err := f.s.ReopenCase(f.ctx, f.office, ReopenParams{CaseID: id}); !errors.Is(err, ErrWrongStage) {
				t.Fatalf("second reopen: %v, want ErrWrongStage", err)
			}
			var ve *ValidationError
			if err := f.s.CloseCase(f.ctx, f.office, CloseParams{CaseID: id}); !errors.As(err, &ve) {
				t.Fatalf("close after 不满意 without explanation: %v, want a validation error", err)
			}
			f.must("close", f.s.CloseCase(f.ctx, f.office, CloseParams{CaseID: id, Note: "经复核已全部整改，向举报人作了说明。"}))
			c = f.caseRow(id)
			if c.Stage != StageClosed || c.ClosedAt == nil || c.DueAt != nil || c.Rating != RatingUnsatisfied || c.ReopenCount != 1 {
				t.Fatalf("closed case: %+v", c)
			}
			f.wantKinds(id, EventSubmitted, EventAccepted, EventDispatched, EventVerified, EventTransferred,
				EventRectificationSubmitted, EventRectificationAccepted, EventRectificationSubmitted, EventRectificationReturned,
				EventRectificationSubmitted, EventRectificationAccepted, EventRectified, EventReplied, EventRated, EventReopened,
				EventRectificationSubmitted, EventRectificationAccepted, EventRectificationSubmitted, EventRectificationAccepted,
				EventRectified, EventReplied, EventRated, EventClosed)
			view, err := f.s.TipView(f.ctx, receipt)
			f.must("tip view", err)
			for _, e := range view.Timeline {
				if strings.Contains(e.Text, "城关镇") || strings.Contains(e.Text, "数据资源") || strings.Contains(e.Text, "核查属实。") {
					t.Errorf("the tipster sees an internal detail: %+v", e)
				}
			}
		})
	}
}

func TestShortPaths(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f := newFlow(t, b)

			rejected, _ := f.tip()
			var ve *ValidationError
			if err := f.s.RejectCase(f.ctx, f.office, RejectParams{CaseID: rejected}); !errors.As(err, &ve) || ve.Fields["reason"] == "" {
				t.Fatalf("reject without reason: %v", err)
			}
			f.must("reject", f.s.RejectCase(f.ctx, f.office, RejectParams{CaseID: rejected, Reason: "不属于形式主义问题"}))
			f.wantKinds(rejected, EventSubmitted, EventRejected)

			into, _ := f.tip()
			merged, _ := f.tip()
			if err := f.s.MergeCase(f.ctx, f.office, MergeParams{CaseID: merged, Into: merged}); !errors.As(err, &ve) {
				t.Fatalf("merge into itself: %v", err)
			}
			if err := f.s.MergeCase(f.ctx, f.office, MergeParams{CaseID: merged, Into: rejected}); !errors.As(err, &ve) {
				t.Fatalf("merge into a closed case: %v", err)
			}
			f.must("merge", f.s.MergeCase(f.ctx, f.office, MergeParams{CaseID: merged, Into: into}))
			f.wantKinds(merged, EventSubmitted, EventMerged)
			f.wantKinds(into, EventSubmitted, EventMergeReceived)
			if c := f.caseRow(merged); c.Stage != StageClosed || c.MergedIntoID == nil || *c.MergedIntoID != into {
				t.Fatalf("merged case: %+v", c)
			}

			// 不属实: assignments are not required, the case goes to feedback
			// and closes by itself when the rating window ends unrated.
			id, _ := f.tip()
			f.must("accept", f.s.AcceptCase(f.ctx, f.office, AcceptParams{CaseID: id}))
			f.must("assign", f.s.AssignCase(f.ctx, f.office, AssignParams{CaseID: id,
				Assignments: []AssignmentInput{{Unit: "D1", Role: AssignCounty}}}))
			f.must("verify", f.s.RecordVerification(f.ctx, f.office, VerificationParams{CaseID: id,
				Finding: FindingUnsubstantiated, Report: "经核查，该镇未要求打卡。"}))
			if a := f.assignments(id)[0]; a.Status != AssignmentNotRequired || a.NextTimerAt != nil {
				t.Fatalf("assignment of an unsubstantiated case: %+v", a)
			}
			var pending []Task
			f.q.take()
			f.must("reply", f.s.ReplyToTipster(f.ctx, f.office, ReplyParams{CaseID: id, Text: "经核查不属实。"}))
			f.advance(119 * time.Minute)
			f.fire(&pending)
			if c := f.caseRow(id); c.Stage != StageFeedback {
				t.Fatalf("before the window ends: stage %s", c.Stage)
			}
			f.advance(2 * time.Minute)
			f.fire(&pending)
			c := f.caseRow(id)
			if c.Stage != StageClosed || c.Rating != RatingNotRated {
				t.Fatalf("after the window: stage %s rating %q", c.Stage, c.Rating)
			}
			f.wantKinds(id, EventSubmitted, EventAccepted, EventDispatched, EventVerified, EventReplied, EventClosed)
		})
	}
}

func TestTimersFollowTheWorkflow(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f := newFlow(t, b)
			var pending []Task
			// collect=1h: reminder at 45m, overdue at 1h, escalation at 1h30m.
			id, _ := f.tip()
			f.advance(44 * time.Minute)
			f.fire(&pending)
			f.wantKinds(id, EventSubmitted)
			f.advance(2 * time.Minute)
			f.fire(&pending)
			f.wantKinds(id, EventSubmitted, EventReminder)
			f.advance(15 * time.Minute)
			f.fire(&pending)
			f.wantKinds(id, EventSubmitted, EventReminder, EventOverdue)
			page, err := f.s.ListCases(f.ctx, f.office, CaseFilter{Overdue: ptr(true)})
			f.must("list", err)
			if len(page.Items) != 1 || !page.Items[0].Overdue {
				t.Fatalf("overdue list: %+v", page.Items)
			}
			f.advance(30 * time.Minute)
			f.fire(&pending)
			f.wantKinds(id, EventSubmitted, EventReminder, EventOverdue, EventEscalated)
			if len(pending) != 0 {
				t.Fatalf("timers left after escalation: %v", pending)
			}

			// Accepting re-arms for the new stage; the old version is a no-op.
			f.must("accept", f.s.AcceptCase(f.ctx, f.office, AcceptParams{CaseID: id}))
			f.dual(id)
			f.must("verify", f.s.RecordVerification(f.ctx, f.office, VerificationParams{CaseID: id, Finding: FindingPartly, Report: "部分属实。"}))
			as := f.assignments(id)
			// rectify=4h: a report pauses the unit's timer, a return resumes it
			// on the same due time, an approved extension moves it.
			f.mustID("report")(f.s.SubmitRectification(f.ctx, f.liaisonT, RectificationParams{AssignmentID: as[0].ID, Report: "已整改。"}))
			f.mustID("extension")(f.s.RequestExtension(f.ctx, f.liaisonD, ExtensionParams{AssignmentID: as[1].ID, WorkingDays: 2, Reason: "需要协调"}))
			if _, err := f.s.RequestExtension(f.ctx, f.liaisonD, ExtensionParams{AssignmentID: as[1].ID, WorkingDays: 2, Reason: "需要协调"}); !errors.Is(err, ErrWrongStage) {
				t.Fatalf("second request while one is open: %v", err)
			}
			f.mustID("approve")(f.s.DecideExtension(f.ctx, f.office, ExtensionDecisionParams{AssignmentID: as[1].ID, Decision: DecisionApprove}))
			d1 := f.assignments(id)[1]
			wantDue := f.s.Calendar().AddWorkdays(*as[1].DueAt, 2)
			if !d1.DueAt.Equal(wantDue) || d1.ExtensionDays != 2 || d1.DueVersion <= as[1].DueVersion {
				t.Fatalf("after extension: due %v (want %v) days %d version %d", d1.DueAt, wantDue, d1.ExtensionDays, d1.DueVersion)
			}
			var ve *ValidationError
			if _, err := f.s.RequestExtension(f.ctx, f.liaisonD, ExtensionParams{AssignmentID: as[1].ID, WorkingDays: 29, Reason: "还要更久"}); !errors.As(err, &ve) {
				t.Fatalf("more than 30 working days in total: %v", err)
			}
			f.advance(3*time.Hour + 10*time.Minute) // past T1's reminder (3h): T1 is under review, D1 was extended
			f.fire(&pending)
			for _, e := range f.kinds(id)[4:] {
				if e == EventReminder || e == EventOverdue {
					t.Fatalf("a paused or extended assignment got a timer event: %v", f.kinds(id))
				}
			}
			f.mustID("return")(f.s.ReviewRectification(f.ctx, f.office, ReviewParams{AssignmentID: as[0].ID, Decision: DecisionReturn, Comment: "材料不全"}))
			f.fire(&pending) // the reminder of T1's still-running due time comes at once
			got := f.kinds(id)
			if got[len(got)-1] != EventReminder {
				t.Fatalf("returned report past its reminder time: %v", got)
			}
			f.advance(time.Hour)
			f.fire(&pending)
			c := f.caseRow(id)
			if c.DueAt == nil || !c.DueAt.Equal(*as[0].DueAt) {
				t.Fatalf("case due in rectify = %v, want T1's %v", c.DueAt, as[0].DueAt)
			}
			page, err = f.s.ListCases(f.ctx, f.liaisonT, CaseFilter{Overdue: ptr(true)})
			f.must("list", err)
			if len(page.Items) != 1 || len(page.Items[0].Assignments) != 1 || !page.Items[0].Assignments[0].Overdue {
				t.Fatalf("liaison's overdue list: %+v", page.Items)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestCaseViews(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f := newFlow(t, b)
			collect, _ := f.tip()
			f.advance(time.Minute)
			dual, _ := f.bring(stRectify)
			f.advance(time.Minute)
			single, _ := f.tip()
			f.must("accept", f.s.AcceptCase(f.ctx, f.office, AcceptParams{CaseID: single}))
			f.must("assign", f.s.AssignCase(f.ctx, f.office, AssignParams{CaseID: single,
				Assignments: []AssignmentInput{{Unit: "D2", Role: AssignCounty}}}))

			ids := func(p Principal, filter CaseFilter) []uint64 {
				t.Helper()
				page, err := f.s.ListCases(f.ctx, p, filter)
				f.must("list", err)
				var out []uint64
				for _, it := range page.Items {
					out = append(out, it.ID)
				}
				return out
			}
			all := []uint64{single, dual, collect}
			for _, tc := range []struct {
				name   string
				p      Principal
				filter CaseFilter
				want   []uint64
			}{
				{"office sees all, newest first", f.office, CaseFilter{}, all},
				{"leader sees all", f.leader, CaseFilter{}, all},
				{"liaison of T1", f.liaisonT, CaseFilter{}, []uint64{dual}},
				{"liaison of D2", f.liaisonX, CaseFilter{}, []uint64{single}},
				{"by stage", f.office, CaseFilter{Stage: StageRectify}, []uint64{dual}},
				{"open", f.office, CaseFilter{Stage: "open"}, all},
				{"by unit", f.office, CaseFilter{Unit: "D1"}, []uint64{dual}},
				// A unit's list by open stage stops at the oldest case in
				// those stages; the cases at that bound are listed.
				{"by unit, open", f.office, CaseFilter{Unit: "D1", Stage: "open"}, []uint64{dual}},
				{"by unit and stage", f.office, CaseFilter{Unit: "D1", Stage: StageRectify}, []uint64{dual}},
				{"by unit, a stage no case is in", f.office, CaseFilter{Unit: "D1", Stage: StageFeedback}, nil},
				{"by unit, closed", f.office, CaseFilter{Unit: "D1", Stage: StageClosed}, nil},
				{"liaison of D2 by stage", f.liaisonX, CaseFilter{Stage: StageVerify}, []uint64{single}},
				{"by category", f.office, CaseFilter{Category: "digital"}, all},
				{"other category", f.office, CaseFilter{Category: "inspections"}, nil},
				{"by words", f.office, CaseFilter{Q: "打卡"}, all},
				{"wildcards are literal", f.office, CaseFilter{Q: "打卡%"}, nil},
				{"by id", f.office, CaseFilter{Q: "1"}, []uint64{1}},
				{"dates", f.office, CaseFilter{From: "2026-03-02", To: "2026-03-02"}, all},
				{"before", f.office, CaseFilter{To: "2026-03-01"}, nil},
				{"by due", f.office, CaseFilter{Sort: "due"}, []uint64{collect, single, dual}},
				{"not overdue", f.office, CaseFilter{Overdue: ptr(false)}, all},
			} {
				if got := ids(tc.p, tc.filter); !slices.Equal(got, tc.want) {
					t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
				}
			}
			var ve *ValidationError
			if _, err := f.s.ListCases(f.ctx, f.office, CaseFilter{Stage: "nope", Cursor: "???"}); !errors.As(err, &ve) ||
				ve.Fields["stage"] == "" || ve.Fields["cursor"] == "" {
				t.Fatalf("bad filters: %v", err)
			}

			// Cursor pagination visits every case once, in both orders.
			for _, sort := range []string{"id", "due"} {
				var seen []uint64
				cursor := ""
				for range 10 {
					page, err := f.s.ListCases(f.ctx, f.office, CaseFilter{Sort: sort, Limit: 1, Cursor: cursor})
					f.must("page", err)
					for _, it := range page.Items {
						seen = append(seen, it.ID)
					}
					if cursor = page.NextCursor; cursor == "" {
						break
					}
				}
				if len(seen) != 3 || seen[0] == seen[1] || seen[1] == seen[2] {
					t.Errorf("pages by %s: %v", sort, seen)
				}
			}

			// The case page: a liaison of T1 sees the case but only T1's
			// assignment, no anonymity flag, no internal events of D1.
			f.mustID("D1 report")(f.s.SubmitRectification(f.ctx, f.liaisonD, RectificationParams{AssignmentID: f.assignments(dual)[1].ID,
				Report: "D1的整改报告", Files: []FileInput{{Name: "a.pdf", ContentType: "application/pdf", Data: []byte("%PDF-1.4"), SHA256: "x"}}}))
			_, err := f.s.RevealContact(f.ctx, f.office, RevealParams{CaseID: dual, Reason: "向举报人核实细节"})
			f.must("reveal", err)
			d, err := f.s.CaseDetail(f.ctx, f.liaisonT, dual)
			f.must("detail", err)
			if d.Anonymous != nil || d.Channel != "" || d.Suggestions != nil || len(d.Assignments) != 1 || d.Assignments[0].Unit != "T1" {
				t.Fatalf("liaison's case page shows too much: %+v", d)
			}
			if !slices.Equal(d.Assignments[0].Actions, []string{ActionRectify, ActionRequestExtension}) || len(d.Actions) != 0 {
				t.Fatalf("liaison's actions: case %v, assignment %v", d.Actions, d.Assignments[0].Actions)
			}
			for _, e := range d.Timeline {
				if e.Kind == EventContactRevealed || e.Kind == EventRectificationSubmitted || e.Data != nil {
					t.Fatalf("liaison sees %+v", e)
				}
			}
			d, err = f.s.CaseDetail(f.ctx, f.office, dual)
			f.must("detail", err)
			if d.Anonymous == nil || *d.Anonymous || len(d.Assignments) != 2 || d.Assignments[1].Report != "D1的整改报告" ||
				len(d.Assignments[1].Evidence) != 1 || !slices.Contains(d.Assignments[1].Actions, ActionReview) {
				t.Fatalf("office's case page: %+v", d)
			}
			units := map[string]string{} // kind of an assignment's event → its unit
			for _, e := range d.Timeline {
				if e.AssignmentID != nil {
					units[e.Kind] = e.Unit
				}
			}
			if units[EventRectificationSubmitted] != "D1" {
				t.Fatalf("office's timeline names the unit of D1's report as %q", units[EventRectificationSubmitted])
			}
			last := d.Timeline[len(d.Timeline)-1]
			if last.Kind != EventContactRevealed || last.Actor != "office1" || !strings.Contains(last.Body, "向举报人核实细节") || last.Public {
				t.Fatalf("reveal event: %+v", last)
			}
			if _, err := f.s.CaseDetail(f.ctx, f.liaisonX, dual); !errors.Is(err, ErrNotFound) {
				t.Fatalf("other unit's case: %v, want ErrNotFound", err)
			}
			if _, err := f.s.CaseDetail(f.ctx, f.liaisonT, collect); !errors.Is(err, ErrNotFound) {
				t.Fatalf("undispatched case for a liaison: %v, want ErrNotFound", err)
			}
			c, err := f.s.RevealContact(f.ctx, f.office, RevealParams{CaseID: dual, Reason: "复核"})
			if err != nil || c.Anonymous || c.Contact == nil || c.Contact.Phone != "13800000000" {
				t.Fatalf("reveal: %+v, %v", c, err)
			}
			if _, err := f.s.RevealContact(f.ctx, f.admin, RevealParams{CaseID: dual, Reason: "复核"}); !errors.Is(err, ErrForbidden) {
				t.Fatalf("admin reveal: %v, want ErrForbidden (office only)", err)
			}
			if _, err := f.s.RevealContact(f.ctx, f.leader, RevealParams{CaseID: dual, Reason: "复核"}); !errors.Is(err, ErrForbidden) {
				t.Fatalf("leader reveal: %v, want ErrForbidden", err)
			}
		})
	}
}

func TestAssignValidation(t *testing.T) {
	f := newFlow(t, testenv.Backends(t)[0])
	id, _ := f.bring(stAssign)
	for _, tc := range []struct {
		name  string
		in    []AssignmentInput
		field string
	}{
		{"none", nil, "assignments"},
		{"unknown unit", []AssignmentInput{{Unit: "X9", Role: AssignCounty}}, "assignments[0].unit"},
		{"role against kind", []AssignmentInput{{Unit: "T1", Role: AssignCounty}}, "assignments[0].role"},
		{"two townships", []AssignmentInput{{Unit: "T1", Role: AssignGrassroots}, {Unit: "T2", Role: AssignGrassroots}}, "assignments"},
		{"dual without township", []AssignmentInput{{Unit: "D1", Role: AssignCounty}, {Unit: "D2", Role: AssignCounty}}, "assignments"},
		{"same unit twice", []AssignmentInput{{Unit: "D1", Role: AssignCounty}, {Unit: "D1", Role: AssignCounty}}, "assignments[1].unit"},
	} {
		err := f.s.AssignCase(f.ctx, f.office, AssignParams{CaseID: id, Assignments: tc.in})
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Fields[tc.field] == "" {
			t.Errorf("%s: %v, want a message for %s", tc.name, err, tc.field)
		}
	}
	if c := f.caseRow(id); c.Stage != StageAssign || len(f.assignments(id)) != 0 {
		t.Fatalf("refused dispatches changed the case: %+v", c)
	}
	f.must("dual with two departments", f.s.AssignCase(f.ctx, f.office, AssignParams{CaseID: id,
		Assignments: []AssignmentInput{{Unit: "D1", Role: AssignCounty}, {Unit: "T1", Role: AssignGrassroots}, {Unit: "D2", Role: AssignCounty}}}))
	if n := len(f.assignments(id)); n != 3 {
		t.Fatalf("%d assignments, want 3", n)
	}
	notices, err := f.s.OutboxTasks(f.ctx, TaskNotify)
	f.must("outbox", err)
	if len(notices) != 3 {
		t.Fatalf("%d dispatch notices, want one per unit", len(notices))
	}
}
