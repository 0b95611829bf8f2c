package models

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"jianfu/testenv"
)

// flow is a store on a real backend with a county (two townships, two
// county departments), a user of every role, a clock the test moves, and a
// queue that records what the store hands it.
type flow struct {
	t                            *testing.T
	ctx                          context.Context
	s                            *Store
	dbURL, dataDir               string // the database under test
	now                          time.Time
	q                            *recordQueue
	admin                        Principal
	office                       Principal
	leader                       Principal
	liaisonT, liaisonD, liaisonX Principal // of T1, D1 and the unassigned D2
}

// recordQueue is the queue as the store sees it: it keeps what it is given.
type recordQueue struct {
	mu    sync.Mutex
	tasks []Task
}

func (q *recordQueue) Enqueue(_ context.Context, t Task) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.tasks = append(q.tasks, t)
	return nil
}

// timers returns the timer tasks queued since the last call.
func (q *recordQueue) take() []Task {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []Task
	for _, t := range q.tasks {
		if t.Type == TaskTimer {
			out = append(out, t)
		}
	}
	q.tasks = nil
	return out
}

const flowDeadlines = "collect=1h,assign=1h,verify=2h,rectify=4h,feedback=1h,evaluation=2h,escalation=30m"

func newFlow(t *testing.T, b testenv.Backend) *flow {
	t.Helper()
	url, dir := b.Database(t)
	return newFlowAt(t, url, dir)
}

// newFlowAt is newFlow on a given database (a URL with session variables).
func newFlowAt(t *testing.T, url, dir string) *flow {
	t.Helper()
	ctx := context.Background()
	d, err := ParseDeadlines(flowDeadlines)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, OpenParams{DatabaseURL: url, DataDir: dir, Secret: make([]byte, 32), Deadlines: d})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if err := s.Bootstrap(ctx); err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	f := &flow{t: t, ctx: ctx, s: s, q: &recordQueue{}, dbURL: url, dataDir: dir,
		now: time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)} // Monday 09:00 in Shanghai
	s.SetClock(func() time.Time { return f.now })
	s.SetEnqueuer(f.q)
	for _, u := range []struct{ code, name, kind string }{
		{"T1", "城关镇", UnitTownship}, {"T2", "南岗镇", UnitTownship},
		{"D1", "县数据资源管理局", UnitCounty}, {"D2", "县教育局", UnitCounty},
	} {
		if _, err := s.CreateUnit(ctx, u.code, u.name, u.kind); err != nil {
			t.Fatal(err)
		}
	}
	f.admin = f.user("admin1", RoleAdmin, "")
	f.office = f.user("office1", RoleOffice, "")
	f.leader = f.user("leader1", RoleLeader, "")
	f.liaisonT = f.user("liaison_t1", RoleLiaison, "T1")
	f.liaisonD = f.user("liaison_d1", RoleLiaison, "D1")
	f.liaisonX = f.user("liaison_d2", RoleLiaison, "D2")
	return f
}

// user adds an account without a usable password: bcrypt at its real cost
// takes seconds under the race detector, and nobody logs in here.
func (f *flow) user(name, role, unit string) Principal {
	f.t.Helper()
	u := User{Username: name, PasswordHash: "-", Role: role, Email: name + "@example.gov.cn", CreatedAt: f.now, UpdatedAt: f.now}
	if unit != "" {
		unit, err := f.s.UnitByCode(f.ctx, unit)
		f.must("unit", err)
		u.UnitID = &unit.ID
	}
	f.must("create user "+name, f.s.db.Create(&u).Error)
	return Principal{UserID: u.ID, Username: name, Role: role, UnitID: u.UnitID, UnitCode: unit}
}

func (f *flow) advance(d time.Duration) { f.now = f.now.Add(d) }

// tip submits a real-name tip and returns its case id and receipt.
func (f *flow) tip() (uint64, string) {
	f.t.Helper()
	r, err := f.s.CreateTip(f.ctx, TipInput{Category: "digital", Title: "每天5个App打卡",
		Content: "镇里要求每天在5个政务App上打卡签到，同一组数据还要重复录入三次。", Township: "T1",
		Contact: Contact{Name: "张三", Phone: "13800000000"}})
	if err != nil {
		f.t.Fatalf("create tip: %v", err)
	}
	return r.CaseID, r.Receipt
}

func (f *flow) must(what string, err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatalf("%s: %v", what, err)
	}
}

func (f *flow) mustID(what string) func(uint64, error) {
	return func(_ uint64, err error) {
		f.t.Helper()
		f.must(what, err)
	}
}

func (f *flow) caseRow(id uint64) Case {
	f.t.Helper()
	var c Case
	f.must("load case", f.s.db.First(&c, id).Error)
	return c
}

func (f *flow) assignments(id uint64) []Assignment {
	f.t.Helper()
	var as []Assignment
	f.must("load assignments", f.s.db.Where("case_id = ?", id).Order("id").Find(&as).Error)
	return as
}

func (f *flow) kinds(id uint64) []string {
	f.t.Helper()
	evs, err := f.s.Events(f.ctx, id)
	f.must("events", err)
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Kind
	}
	return out
}

// dual dispatches a case in assign to T1 (grassroots) and D1 (county).
func (f *flow) dual(id uint64) {
	f.t.Helper()
	f.must("assign", f.s.AssignCase(f.ctx, f.office, AssignParams{CaseID: id,
		Assignments: []AssignmentInput{{Unit: "T1", Role: AssignGrassroots}, {Unit: "D1", Role: AssignCounty}},
		VerifyTeam:  []string{"T1", "D1"}}))
}

// state names a point of the workflow a case can be brought to; some
// stages have several, because an action also depends on what happened
// in the stage (a submitted report, a reply, a rating).
const (
	stCollect    = "collect"
	stAssign     = "assign"
	stVerify     = "verify"
	stRectify    = "rectify"
	stSubmitted  = "rectify/submitted"
	stExtension  = "rectify/extension_requested"
	stFeedback   = "feedback"
	stReplied    = "feedback/replied"
	stUnsatisfed = "feedback/unsatisfied"
	stClosed     = "closed"
)

var allStates = []string{stCollect, stAssign, stVerify, stRectify, stSubmitted, stExtension, stFeedback, stReplied,
	stUnsatisfed, stClosed}

// bring creates a case and takes it to state; it returns the case and the
// id of its county assignment (D1), 0 before dispatch.
func (f *flow) bring(state string) (uint64, uint64) {
	f.t.Helper()
	id, receipt := f.tip()
	order := slices.Index(allStates, state)
	step := func(s string) bool { return order >= slices.Index(allStates, s) }
	if step(stAssign) {
		f.must("accept", f.s.AcceptCase(f.ctx, f.office, AcceptParams{CaseID: id}))
	}
	if !step(stVerify) {
		return id, 0
	}
	f.dual(id)
	as := f.assignments(id)
	if step(stRectify) {
		f.must("verify", f.s.RecordVerification(f.ctx, f.office, VerificationParams{CaseID: id,
			Finding: FindingSubstantiated, Report: "经联合核查，问题属实。"}))
	}
	switch state {
	case stSubmitted:
		f.mustID("submit")(f.s.SubmitRectification(f.ctx, f.liaisonD, RectificationParams{AssignmentID: as[1].ID, Report: "已整合为一个App。"}))
	case stExtension:
		f.mustID("extension")(f.s.RequestExtension(f.ctx, f.liaisonD, ExtensionParams{AssignmentID: as[1].ID, WorkingDays: 5, Reason: "系统改造需要时间"}))
	}
	if step(stFeedback) {
		for i, a := range as {
			p := []Principal{f.liaisonT, f.liaisonD}[i]
			f.mustID("submit")(f.s.SubmitRectification(f.ctx, p, RectificationParams{AssignmentID: a.ID, Report: "已整改完毕。"}))
			f.mustID("review")(f.s.ReviewRectification(f.ctx, f.office, ReviewParams{AssignmentID: a.ID, Decision: DecisionAccept}))
		}
	}
	if step(stReplied) {
		f.must("reply", f.s.ReplyToTipster(f.ctx, f.office, ReplyParams{CaseID: id, Text: "已整改，App已整合。"}))
	}
	if step(stUnsatisfed) {
		f.must("rate", f.s.EvaluateTip(f.ctx, receipt, RatingUnsatisfied, "还是要打卡"))
	}
	if step(stClosed) {
		f.must("close", f.s.CloseCase(f.ctx, f.office, CloseParams{CaseID: id, Note: "经复核，已按要求整改到位。"}))
	}
	return id, as[1].ID
}

// TestGuardTable is the stage machine as a table: for every action, stage
// and role, whether it is allowed, refused for the role (403) or refused
// for the stage (409). It is written out here rather than derived from the
// workflow table, so a change to either shows up.
func TestGuardTable(t *testing.T) {
	office := []string{RoleOffice, RoleAdmin}
	unit := []string{RoleOffice, RoleAdmin, RoleLiaison}
	rules := map[string]struct {
		stages []string
		roles  []string
	}{
		ActionAccept:           {[]string{StageCollect}, office},
		ActionReject:           {[]string{StageCollect}, office},
		ActionMerge:            {[]string{StageCollect}, office},
		ActionAssign:           {[]string{StageAssign, StageVerify}, office},
		ActionVerify:           {[]string{StageVerify}, office},
		ActionRectify:          {[]string{StageRectify}, unit},
		ActionRequestExtension: {[]string{StageRectify}, unit},
		ActionReview:           {[]string{StageRectify}, office},
		ActionDecideExtension:  {[]string{StageRectify}, office},
		ActionReply:            {[]string{StageFeedback}, office},
		ActionRate:             {[]string{StageFeedback}, []string{ActorTipster}},
		ActionReopen:           {[]string{StageFeedback}, office},
		ActionClose:            {[]string{StageFeedback}, office},
		ActionRevealContact:    {allStages, []string{RoleOffice}},
	}
	if len(rules) != len(workflow) {
		t.Fatalf("the test covers %d actions, the workflow has %d", len(rules), len(workflow))
	}
	// A case and an assignment for which every stage-internal condition
	// holds, so only stage and role decide.
	ready := func(stage, action string) (*Case, *Assignment) {
		now := time.Now()
		c := &Case{ID: 1, Stage: stage}
		a := &Assignment{Status: AssignmentPending}
		switch action {
		case ActionReview:
			a.Status = AssignmentSubmitted
		case ActionDecideExtension:
			a.ExtensionStatus = ExtensionRequested
		case ActionClose, ActionRate:
			c.RepliedAt = &now
		case ActionReopen:
			c.RepliedAt, c.Rating = &now, RatingUnsatisfied
		}
		return c, a
	}
	roles := []string{RoleAdmin, RoleOffice, RoleLeader, RoleLiaison, ActorTipster}
	for action, r := range rules {
		for _, stage := range allStages {
			for _, role := range roles {
				c, a := ready(stage, action)
				err := guard(action, Principal{Role: role}, c, a)
				var want error
				switch {
				case !slices.Contains(r.roles, role):
					want = ErrForbidden
				case !slices.Contains(r.stages, stage):
					want = ErrWrongStage
				}
				if !errors.Is(err, want) || (want == nil && err != nil) {
					t.Errorf("%s in %s as %s: got %v, want %v", action, stage, role, err, want)
				}
			}
		}
	}

	// Conditions inside a stage.
	now := time.Now()
	office1 := Principal{Role: RoleOffice}
	cond := []struct {
		name   string
		action string
		c      Case
		a      Assignment
		ok     bool
	}{
		{"report while pending", ActionRectify, Case{Stage: StageRectify}, Assignment{Status: AssignmentPending}, true},
		{"report again after return", ActionRectify, Case{Stage: StageRectify}, Assignment{Status: AssignmentReturned}, true},
		{"report while under review", ActionRectify, Case{Stage: StageRectify}, Assignment{Status: AssignmentSubmitted}, false},
		{"report after acceptance", ActionRectify, Case{Stage: StageRectify}, Assignment{Status: AssignmentAccepted}, false},
		{"review a pending assignment", ActionReview, Case{Stage: StageRectify}, Assignment{Status: AssignmentPending}, false},
		{"second extension request", ActionRequestExtension, Case{Stage: StageRectify},
			Assignment{Status: AssignmentPending, ExtensionStatus: ExtensionRequested}, false},
		{"extension after a rejected one", ActionRequestExtension, Case{Stage: StageRectify},
			Assignment{Status: AssignmentPending, ExtensionStatus: ExtensionRejected}, true},
		{"decide without a request", ActionDecideExtension, Case{Stage: StageRectify}, Assignment{ExtensionStatus: ExtensionApproved}, false},
		{"second reply", ActionReply, Case{Stage: StageFeedback, RepliedAt: &now}, Assignment{}, false},
		{"close before the reply", ActionClose, Case{Stage: StageFeedback}, Assignment{}, false},
		{"reopen without 不满意", ActionReopen, Case{Stage: StageFeedback, RepliedAt: &now, Rating: RatingBasically}, Assignment{}, false},
		{"reopen twice", ActionReopen, Case{Stage: StageFeedback, RepliedAt: &now, Rating: RatingUnsatisfied, ReopenCount: 1}, Assignment{}, false},
	}
	for _, tc := range cond {
		err := guard(tc.action, office1, &tc.c, &tc.a)
		if tc.action == ActionRectify || tc.action == ActionRequestExtension {
			err = guard(tc.action, Principal{Role: RoleLiaison}, &tc.c, &tc.a)
		}
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrWrongStage)) {
			t.Errorf("%s: got %v, want allowed=%v", tc.name, err, tc.ok)
		}
	}
}

// TestWorkflowMatrix takes every staff action in every state of a real case
// as every kind of user, and checks the answer (allowed, 404, 403, 409) and
// that a refused action changed nothing.
func TestWorkflowMatrix(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f := newFlow(t, b)
			target, _ := f.tip() // an open case to merge into
			type who struct {
				name string
				p    Principal
			}
			people := []who{{"admin", f.admin}, {"office", f.office}, {"leader", f.leader},
				{"liaison-own", f.liaisonD}, {"liaison-other", f.liaisonX}}
			allowed := map[string][]string{
				ActionAccept: {stCollect}, ActionReject: {stCollect}, ActionMerge: {stCollect},
				ActionAssign: {stAssign, stVerify}, ActionVerify: {stVerify},
				ActionRectify: {stRectify, stExtension}, ActionRequestExtension: {stRectify},
				ActionReview: {stSubmitted}, ActionDecideExtension: {stExtension},
				ActionReply: {stFeedback}, ActionReopen: {stUnsatisfed}, ActionClose: {stReplied, stUnsatisfed},
				ActionRevealContact: allStates,
			}
			// The acting assignment is D1's: in rectify/submitted its report
			// is under review, in rectify/extension_requested it waits for
			// the decision on its extension.
			do := func(action string, p Principal, id, aid uint64) error {
				switch action {
				case ActionAccept:
					return f.s.AcceptCase(f.ctx, p, AcceptParams{CaseID: id})
				case ActionReject:
					return f.s.RejectCase(f.ctx, p, RejectParams{CaseID: id, Reason: "不属于受理范围"})
				case ActionMerge:
					return f.s.MergeCase(f.ctx, p, MergeParams{CaseID: id, Into: target})
				case ActionAssign:
					return f.s.AssignCase(f.ctx, p, AssignParams{CaseID: id, Assignments: []AssignmentInput{{Unit: "D1", Role: AssignCounty}}})
				case ActionVerify:
					return f.s.RecordVerification(f.ctx, p, VerificationParams{CaseID: id, Finding: FindingPartly, Report: "部分属实。"})
				case ActionRectify:
					_, err := f.s.SubmitRectification(f.ctx, p, RectificationParams{AssignmentID: aid, Report: "已整改。"})
					return err
				case ActionRequestExtension:
					_, err := f.s.RequestExtension(f.ctx, p, ExtensionParams{AssignmentID: aid, WorkingDays: 3, Reason: "需要时间"})
					return err
				case ActionReview:
					_, err := f.s.ReviewRectification(f.ctx, p, ReviewParams{AssignmentID: aid, Decision: DecisionReturn, Comment: "证明材料不足"})
					return err
				case ActionDecideExtension:
					_, err := f.s.DecideExtension(f.ctx, p, ExtensionDecisionParams{AssignmentID: aid, Decision: DecisionApprove})
					return err
				case ActionReply:
					return f.s.ReplyToTipster(f.ctx, p, ReplyParams{CaseID: id, Text: "已办理。"})
				case ActionReopen:
					return f.s.ReopenCase(f.ctx, p, ReopenParams{CaseID: id})
				case ActionClose:
					return f.s.CloseCase(f.ctx, p, CloseParams{CaseID: id, Note: "已向举报人说明。"})
				case ActionRevealContact:
					_, err := f.s.RevealContact(f.ctx, p, RevealParams{CaseID: id, Reason: "核实情况"})
					return err
				}
				panic(action)
			}
			assignmentAction := map[string]bool{ActionRectify: true, ActionRequestExtension: true, ActionReview: true, ActionDecideExtension: true}
			type snapshot struct {
				c      Case
				as     []Assignment
				events int
			}
			snap := func(id uint64) snapshot {
				return snapshot{f.caseRow(id), f.assignments(id), len(f.kinds(id))}
			}
			for _, state := range allStates {
				var id, aid uint64
				fresh := true
				for action, okStates := range allowed {
					for _, w := range people {
						if fresh {
							id, aid = f.bring(state)
							fresh = false
						}
						var want error
						dispatched := slices.Index(allStates, state) >= slices.Index(allStates, stVerify)
						switch {
						case assignmentAction[action] && !dispatched:
							want = ErrNotFound // there is no assignment yet
						case w.p == f.liaisonX, w.p == f.liaisonD && !dispatched:
							want = ErrNotFound
						case !slices.Contains(transition(action).Roles, w.p.Role):
							want = ErrForbidden
						case !slices.Contains(okStates, state):
							want = ErrWrongStage
						}
						before := snap(id)
						err := do(action, w.p, id, aid)
						if want == nil {
							if err != nil {
								t.Errorf("%s in %s as %s: %v, want allowed", action, state, w.name, err)
							}
							if action != ActionRevealContact {
								fresh = true
							}
							continue
						}
						if !errors.Is(err, want) {
							t.Errorf("%s in %s as %s: %v, want %v", action, state, w.name, err, want)
						}
						after := snap(id)
						if !reflect.DeepEqual(before, after) {
							t.Errorf("%s in %s as %s was refused but changed the case:\n%+v\n%+v", action, state, w.name, before, after)
						}
					}
				}
			}
		})
	}
}

// TestLateHandlingIsMarked: a stage left, or a report submitted, after its
// due time carries an overdue mark even when no timer ever fired (the
// worker was down), so "closed on time" follows the stored due times.
func TestLateHandlingIsMarked(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f := newFlow(t, b)
			overdueMarks := func(id uint64) (caseMarks, assignmentMarks int) {
				evs, err := f.s.Events(f.ctx, id)
				f.must("events", err)
				for _, e := range evs {
					if e.Kind == EventOverdue {
						if e.AssignmentID != nil {
							assignmentMarks++
						} else {
							caseMarks++
						}
					}
				}
				return
			}
			onTime, _ := f.tip()
			f.must("accept on time", f.s.AcceptCase(f.ctx, f.office, AcceptParams{CaseID: onTime}))
			if c, a := overdueMarks(onTime); c+a != 0 {
				t.Fatalf("accepted in time but marked overdue: %d %d", c, a)
			}

			late, _ := f.tip()
			f.advance(2 * time.Hour) // collect is 1h; no timer runs in this test
			f.must("accept late", f.s.AcceptCase(f.ctx, f.office, AcceptParams{CaseID: late}))
			if c, _ := overdueMarks(late); c != 1 {
				t.Fatalf("collect left an hour late: %d case overdue marks, want 1", c)
			}
			f.dual(late)
			f.must("verify", f.s.RecordVerification(f.ctx, f.office, VerificationParams{CaseID: late,
				Finding: FindingSubstantiated, Report: "经核查属实。"}))
			as := f.assignments(late)
			f.advance(5 * time.Hour) // rectify is 4h
			f.mustID("late report")(f.s.SubmitRectification(f.ctx, f.liaisonD, RectificationParams{AssignmentID: as[1].ID,
				Report: "已整改完毕。"}))
			if c, a := overdueMarks(late); c != 1 || a != 1 {
				t.Fatalf("after a late report: %d case and %d assignment overdue marks, want 1 and 1", c, a)
			}
		})
	}
}

// routing are the routing tasks not done yet.
func (f *flow) routing() []OutboxTask {
	f.t.Helper()
	var rows []OutboxTask
	f.must("routing tasks", f.s.db.Where("type = ? AND done_at IS NULL", TaskRouteTip).Find(&rows).Error)
	return rows
}

// unrouted are the cases of the routing tasks not done yet.
func (f *flow) unrouted() []uint64 {
	f.t.Helper()
	var ids []uint64
	for _, r := range f.routing() {
		var p RouteTipPayload
		f.must("routing payload", json.Unmarshal(r.Payload, &p))
		ids = append(ids, p.Cases()...)
	}
	return ids
}

// route runs every routing task not done yet, as the worker does a second
// or two after intake: the new cases get their suggestions and their
// search documents and figures.
func (f *flow) route() {
	f.t.Helper()
	var ids []string
	for _, r := range f.routing() {
		ids = append(ids, r.Task().ID)
	}
	f.must("route", f.s.RouteTips(f.ctx, ids))
}
