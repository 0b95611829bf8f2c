package models

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// The case workflow (DESIGN §2) as plain Go. The table below says, for each
// action, in which stages it is allowed, who may take it, where the case
// can go and which timeline events it writes; guard adds the few
// conditions that depend on more than the stage (a reply only once per
// round, reopening only once and only after 不满意, …). Each action is one
// transaction: the case row is locked, visibility (ErrNotFound), role
// (ErrForbidden) and stage (ErrWrongStage) are checked in that order, then
// the input, and a rejected request changes nothing.

// Actions on a case or on one of its assignments.
const (
	ActionAccept           = "accept"
	ActionReject           = "reject"
	ActionMerge            = "merge"
	ActionAssign           = "assign"
	ActionVerify           = "verification"
	ActionRectify          = "rectification"      // an assignment's report
	ActionReview           = "review"             // of an assignment's report
	ActionRequestExtension = "extension"          // for an assignment
	ActionDecideExtension  = "extension_decision" // for an assignment
	ActionReply            = "reply"
	ActionRate             = "rate" // the tipster's
	ActionReopen           = "reopen"
	ActionClose            = "close"
	ActionRevealContact    = "contact_reveal"
)

// Timeline event kinds the workflow writes (see also tips.go and timers.go).
const (
	EventAccepted               = "accepted"
	EventRejected               = "rejected"
	EventMerged                 = "merged"
	EventMergeReceived          = "merge_received"
	EventDispatched             = "dispatched"
	EventVerified               = "verified"
	EventTransferred            = "transferred_to_discipline"
	EventRectificationSubmitted = "rectification_submitted"
	EventRectificationReturned  = "rectification_returned"
	EventRectificationAccepted  = "rectification_accepted"
	EventRectified              = "rectified"
	EventExtensionRequested     = "extension_requested"
	EventExtensionApproved      = "extension_approved"
	EventExtensionRejected      = "extension_rejected"
	EventReplied                = "replied"
	EventRated                  = "rated"
	EventReopened               = "reopened"
	EventClosed                 = "closed"
	EventContactRevealed        = "contact_revealed"
)

// Notice kinds that are not event kinds.
const (
	NoticeRectificationDue = "rectification_due" // a unit's rectification period starts
)

// Findings of the joint verification.
const (
	FindingSubstantiated   = "substantiated"   // 属实
	FindingPartly          = "partly"          // 部分属实
	FindingUnsubstantiated = "unsubstantiated" // 不属实
)

// Ratings of the tipster.
const (
	RatingSatisfied   = "satisfied"           // 满意
	RatingBasically   = "basically_satisfied" // 基本满意
	RatingUnsatisfied = "unsatisfied"         // 不满意
	RatingNotRated    = "not_rated"           // the window ended without a rating
)

// Extension request states of an assignment.
const (
	ExtensionRequested = "requested"
	ExtensionApproved  = "approved"
	ExtensionRejected  = "rejected"
)

// MaxExtensionDays bounds the working days added to one assignment's
// rectification period (DESIGN §2: at most 30 more).
const MaxExtensionDays = 30

// Transition is one row of the workflow table.
type Transition struct {
	Action string
	From   []string // stages in which the action is allowed
	Roles  []string // staff roles that may take it (ActorTipster for the rating)
	To     []string // stages the case can be in afterwards
	Events []string // timeline event kinds it may write
}

var (
	officeRoles = []string{RoleOffice, RoleAdmin}
	unitRoles   = []string{RoleLiaison, RoleOffice, RoleAdmin}
	allStages   = []string{StageCollect, StageAssign, StageVerify, StageRectify, StageFeedback, StageClosed}
)

// workflow is the stage machine.
var workflow = []Transition{
	{ActionAccept, []string{StageCollect}, officeRoles, []string{StageAssign}, []string{EventAccepted}},
	{ActionReject, []string{StageCollect}, officeRoles, []string{StageClosed}, []string{EventRejected}},
	{ActionMerge, []string{StageCollect}, officeRoles, []string{StageClosed}, []string{EventMerged, EventMergeReceived}},
	{ActionAssign, []string{StageAssign, StageVerify}, officeRoles, []string{StageVerify}, []string{EventDispatched}},
	{ActionVerify, []string{StageVerify}, officeRoles, []string{StageRectify, StageFeedback}, []string{EventVerified, EventTransferred}},
	{ActionRectify, []string{StageRectify}, unitRoles, []string{StageRectify}, []string{EventRectificationSubmitted}},
	{ActionReview, []string{StageRectify}, officeRoles, []string{StageRectify, StageFeedback},
		[]string{EventRectificationAccepted, EventRectificationReturned, EventRectified}},
	{ActionRequestExtension, []string{StageRectify}, unitRoles, []string{StageRectify}, []string{EventExtensionRequested}},
	{ActionDecideExtension, []string{StageRectify}, officeRoles, []string{StageRectify},
		[]string{EventExtensionApproved, EventExtensionRejected}},
	{ActionReply, []string{StageFeedback}, officeRoles, []string{StageFeedback}, []string{EventReplied}},
	{ActionRate, []string{StageFeedback}, []string{ActorTipster}, []string{StageFeedback, StageClosed}, []string{EventRated, EventClosed}},
	{ActionReopen, []string{StageFeedback}, officeRoles, []string{StageRectify}, []string{EventReopened}},
	{ActionClose, []string{StageFeedback}, officeRoles, []string{StageClosed}, []string{EventClosed}},
	// Contact reveal: the office alone, not even the administrator (§10.2).
	{ActionRevealContact, allStages, []string{RoleOffice}, nil, []string{EventContactRevealed}},
}

// eventPublic says which event kinds the tipster sees: stage changes and
// replies, never internal notes, unit names or who looked at what.
var eventPublic = map[string]bool{
	EventSubmitted: true, EventAccepted: true, EventRejected: true, EventMerged: true, EventDispatched: true,
	EventVerified: true, EventRectified: true, EventReplied: true, EventRated: true, EventReopened: true,
	EventClosed: true,
}

// caseActions are the actions on the case itself (the others act on one
// assignment and are listed per assignment).
var caseActions = []string{ActionAccept, ActionReject, ActionMerge, ActionAssign, ActionVerify, ActionReply,
	ActionReopen, ActionClose, ActionRevealContact}

func transition(action string) Transition {
	for _, t := range workflow {
		if t.Action == action {
			return t
		}
	}
	panic("unknown workflow action " + action)
}

// guard says whether p may take action on c (and a, for assignment actions)
// now: ErrForbidden when the role may not, ErrWrongStage when the case or
// assignment is not in a state that allows it, nil when allowed.
// Visibility (ErrNotFound) is checked before, by the caller.
func guard(action string, p Principal, c *Case, a *Assignment) error {
	t := transition(action)
	if !slices.Contains(t.Roles, p.Role) {
		return fmt.Errorf("%s case %d as %s: %w", action, c.ID, p.Role, ErrForbidden)
	}
	ok := slices.Contains(t.From, c.Stage)
	if ok {
		switch action {
		case ActionRectify:
			ok = a.Status == AssignmentPending || a.Status == AssignmentReturned
		case ActionRequestExtension:
			ok = (a.Status == AssignmentPending || a.Status == AssignmentReturned) && a.ExtensionStatus != ExtensionRequested
		case ActionReview:
			ok = a.Status == AssignmentSubmitted
		case ActionDecideExtension:
			ok = a.ExtensionStatus == ExtensionRequested
		case ActionReply:
			ok = c.RepliedAt == nil
		case ActionRate:
			ok = c.RepliedAt != nil && c.Rating == ""
		case ActionReopen:
			ok = c.Rating == RatingUnsatisfied && c.ReopenCount == 0
		case ActionClose:
			ok = c.RepliedAt != nil
		}
	}
	if !ok {
		return fmt.Errorf("%s case %d in %s: %w", action, c.ID, c.Stage, ErrWrongStage)
	}
	return nil
}

var findingLabels = map[string]string{
	FindingSubstantiated: "属实", FindingPartly: "部分属实", FindingUnsubstantiated: "不属实",
}

// ---------------------------------------------------------------------------
// Transaction helpers

var forUpdate = clause.Locking{Strength: "UPDATE"}

// actor returns the event actor fields for p.
func actor(p Principal) (*uint64, string) {
	if p.UserID == 0 {
		return nil, p.Username
	}
	id := p.UserID
	return &id, p.Username
}

// visible reports whether p may see case caseID: office, admin and leaders
// see every case, a liaison only cases with an assignment of their unit.
func visible(tx *gorm.DB, p Principal, caseID uint64) (bool, error) {
	switch p.Role {
	case RoleOffice, RoleAdmin, RoleLeader:
		return true, nil
	case RoleLiaison:
		if p.UnitID == nil {
			return false, nil
		}
		var n int64
		err := tx.Model(&Assignment{}).Where("case_id = ? AND unit_id = ?", caseID, *p.UnitID).Count(&n).Error
		if err != nil {
			return false, fmt.Errorf("check visibility of case %d: %w", caseID, err)
		}
		return n > 0, nil
	}
	return false, nil
}

// lockCase loads case id for update and checks that p may see it and take
// action now.
func lockCase(w *txWork, p Principal, id uint64, action string) (*Case, error) {
	c, err := lockVisibleCase(w, p, id)
	if err != nil {
		return nil, err
	}
	if err := guard(action, p, c, nil); err != nil {
		return nil, err
	}
	return c, nil
}

// lockVisibleCase loads case id for update and checks that p may see it
// (ErrNotFound otherwise); actions outside the guard table check the rest.
func lockVisibleCase(w *txWork, p Principal, id uint64) (*Case, error) {
	var c Case
	if err := w.tx.Clauses(forUpdate).First(&c, id).Error; err != nil {
		return nil, interpret(err, fmt.Sprintf("load case %d", id))
	}
	ok, err := visible(w.tx, p, c.ID)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("case %d: %w", id, ErrNotFound)
	}
	return &c, nil
}

// lockAssignment loads an assignment and its case for update (case first,
// the order every action uses), with the name of the assignment's unit for
// the timeline, and checks that p may see the assignment and take action
// now. A liaison sees only their own unit's assignments.
func lockAssignment(w *txWork, p Principal, id uint64, action string) (*Case, *Assignment, string, error) {
	var probe struct {
		CaseID, UnitID uint64
		UnitName       string
	}
	err := w.tx.Table("assignments").Select("assignments.case_id, assignments.unit_id, units.name AS unit_name").
		Joins("JOIN units ON units.id = assignments.unit_id").Where("assignments.id = ?", id).Take(&probe).Error
	if err != nil {
		return nil, nil, "", interpret(err, fmt.Sprintf("load assignment %d", id))
	}
	caseID, unitID := probe.CaseID, probe.UnitID
	switch p.Role {
	case RoleOffice, RoleAdmin, RoleLeader:
	case RoleLiaison:
		if p.UnitID == nil || *p.UnitID != unitID {
			return nil, nil, "", fmt.Errorf("assignment %d: %w", id, ErrNotFound)
		}
	default:
		return nil, nil, "", fmt.Errorf("assignment %d: %w", id, ErrNotFound)
	}
	var c Case
	if err := w.tx.Clauses(forUpdate).First(&c, caseID).Error; err != nil {
		return nil, nil, "", fmt.Errorf("load case %d: %w", caseID, err)
	}
	var a Assignment
	if err := w.tx.Clauses(forUpdate).First(&a, id).Error; err != nil {
		return nil, nil, "", fmt.Errorf("load assignment %d: %w", id, err)
	}
	if err := guard(action, p, &c, &a); err != nil {
		return nil, nil, "", err
	}
	return &c, &a, probe.UnitName, nil
}

func saveCase(w *txWork, c *Case) error {
	c.UpdatedAt = w.now
	if err := w.tx.Model(c).Select("*").Omit("id", "created_at").Updates(c).Error; err != nil {
		return fmt.Errorf("save case %d: %w", c.ID, err)
	}
	return nil
}

func saveAssignment(w *txWork, a *Assignment) error {
	a.UpdatedAt = w.now
	if err := w.tx.Model(a).Select("*").Omit("id", "created_at").Updates(a).Error; err != nil {
		return fmt.Errorf("save assignment %d: %w", a.ID, err)
	}
	return nil
}

// event appends ev to the timeline; At, Public and Data are filled in.
func (w *txWork) event(ev Event, data any) (Event, error) {
	ev.At = w.now
	ev.Public = eventPublic[ev.Kind]
	ev.Data = "{}"
	if data != nil {
		b, err := json.Marshal(data)
		if err != nil {
			return ev, fmt.Errorf("encode %s event: %w", ev.Kind, err)
		}
		ev.Data = string(b)
	}
	if err := w.tx.Create(&ev).Error; err != nil {
		return ev, fmt.Errorf("record %s on case %d: %w", ev.Kind, ev.CaseID, err)
	}
	return ev, nil
}

// stageEvent records an event by p that moves c from one stage to c.Stage.
func (w *txWork) stageEvent(p Principal, c *Case, from, kind, body string, data any) (Event, error) {
	id, name := actor(p)
	return w.event(Event{CaseID: c.ID, Kind: kind, ActorID: id, Actor: name, FromStage: from, ToStage: c.Stage, Body: body}, data)
}

// notify queues an email notice about ev. assignmentID addresses the
// liaisons of that assignment's unit; zero addresses the office.
func (w *txWork) notify(kind string, ev Event, assignmentID uint64) error {
	return w.add(TaskNotify, QueueMail, NoticePayload{Kind: kind, CaseID: ev.CaseID, EventID: ev.ID, AssignmentID: assignmentID}, time.Time{})
}

// queueCaseTimer queues the next step of c's stage timer after commit.
func (w *txWork) queueCaseTimer(c *Case) {
	if c.NextTimerAt != nil {
		w.timers = append(w.timers, timerTask(TimerPayload{Target: TimerCase, ID: c.ID, Version: c.DueVersion, Step: c.TimerStep + 1}, *c.NextTimerAt))
	}
}

// moveCase enters stage (new due time, new timer version) and queues the
// stage timer. In rectify the case has no timer of its own: each
// assignment has one, and the case's due time is the earliest due time of
// the assignments still waiting for their unit (syncRectifyDue).
func (s *Store) moveCase(w *txWork, c *Case, stage string) error {
	if err := noteLateCase(w, c); err != nil {
		return err
	}
	s.enterStage(c, stage, w.now)
	if stage == StageRectify {
		c.NextTimerAt = nil
		return nil
	}
	w.queueCaseTimer(c)
	return nil
}

// noteLateCase records that c leaves its stage after the due time when the
// overdue timer has not said so already (the worker was down, or the
// action came between the due time and the timer). Statistics judge "on
// time" by these marks, so they follow the stored due time, never whether a
// timer fired. The rectify stage is judged per assignment, and a replied
// case's due time is the tipster's rating window, not the office's.
func noteLateCase(w *txWork, c *Case) error {
	if c.DueAt == nil || !w.now.After(*c.DueAt) || c.TimerStep >= StepOverdue ||
		c.Stage == StageRectify || c.Stage == StageClosed || (c.Stage == StageFeedback && c.RepliedAt != nil) {
		return nil
	}
	return noteLate(w, c, nil)
}

// noteLateAssignment is noteLateCase for a unit's report submitted after
// its due time.
func noteLateAssignment(w *txWork, c *Case, a *Assignment) error {
	if a.DueAt == nil || !w.now.After(*a.DueAt) || a.TimerStep >= StepOverdue {
		return nil
	}
	return noteLate(w, c, &a.ID)
}

func noteLate(w *txWork, c *Case, assignmentID *uint64) error {
	ev := Event{CaseID: c.ID, AssignmentID: assignmentID, At: w.now, Kind: EventOverdue, Actor: ActorSystem,
		FromStage: c.Stage, ToStage: c.Stage, Body: "超过办理时限后办理（逾期）", Data: "{}"}
	if err := w.tx.Create(&ev).Error; err != nil {
		return fmt.Errorf("record late handling: %w", err)
	}
	return nil
}

// syncRectifyDue sets a rectifying case's due time to the earliest due
// time of its assignments that wait for their unit (pending or returned);
// none waiting (all submitted or accepted) leaves it without a due time.
func syncRectifyDue(c *Case, as []Assignment) {
	if c.Stage != StageRectify {
		return
	}
	c.DueAt = nil
	for _, a := range as {
		if (a.Status == AssignmentPending || a.Status == AssignmentReturned) && a.DueAt != nil {
			if c.DueAt == nil || a.DueAt.Before(*c.DueAt) {
				d := *a.DueAt
				c.DueAt = &d
			}
		}
	}
}

// startPeriod gives a a fresh rectification period from now, with its own
// due time and timer; earlier extensions belonged to the old period.
func (s *Store) startPeriod(w *txWork, a *Assignment) {
	from := w.now
	due := s.deadlines.Rectify.Due(s.calendar.Load(), from).UTC().Truncate(time.Microsecond)
	a.Status = AssignmentPending
	a.DueFrom, a.DueAt = &from, &due
	a.ExtensionDays, a.ExtensionAsked, a.ExtensionReason, a.ExtensionStatus = 0, 0, "", ""
	a.SubmittedAt, a.AcceptedAt = nil, nil
	s.rearmAssignment(w, a, 0)
}

// rearmAssignment bumps a's due version, so every queued timer of the old
// version becomes a no-op, records step as done and queues the next step.
// Only an assignment waiting for its unit has a running timer: a submitted
// report pauses it, an accepted one stops it.
func (s *Store) rearmAssignment(w *txWork, a *Assignment, step int) {
	a.DueVersion++
	a.TimerStep = step
	a.NextTimerAt = nil
	waiting := a.Status == AssignmentPending || a.Status == AssignmentReturned
	if !waiting || a.DueAt == nil || step >= StepEscalate {
		return
	}
	from := a.CreatedAt
	if a.DueFrom != nil {
		from = *a.DueFrom
	}
	next := s.stepTime(s.deadlines.Rectify, from, *a.DueAt, step+1).UTC().Truncate(time.Microsecond)
	a.NextTimerAt = &next
	w.timers = append(w.timers, timerTask(TimerPayload{Target: TimerAssignment, ID: a.ID, Version: a.DueVersion, Step: step + 1}, next))
}

// closeCase moves c to closed, ending every timer, and records it.
func (s *Store) closeCase(w *txWork, p Principal, c *Case, body string, data any) (Event, error) {
	from := c.Stage
	if err := s.moveCase(w, c, StageClosed); err != nil {
		return Event{}, err
	}
	c.ClosedAt = &w.now
	if err := saveCase(w, c); err != nil {
		return Event{}, err
	}
	return w.stageEvent(p, c, from, EventClosed, body, data)
}

// endRatingWindow is the timer of a replied case awaiting its rating: when
// the window has passed unrated, the case closes as "not rated". It runs
// inside FireTimer, which has locked the case and checked the version.
func (s *Store) endRatingWindow(w *txWork, row *timerRow) error {
	if w.now.Before(*row.due) { // early delivery: wait for the end
		w.timers = append(w.timers, timerTask(TimerPayload{Target: TimerCase, ID: row.id, Version: row.version, Step: StepOverdue}, *row.due))
		return nil
	}
	var c Case
	if err := w.tx.First(&c, row.id).Error; err != nil {
		return fmt.Errorf("load case %d: %w", row.id, err)
	}
	c.Rating = RatingNotRated
	_, err := s.closeCase(w, Principal{Username: ActorSystem}, &c, "评价期满未收到评价，视为未评价，自动办结", nil)
	return err
}

func (s *Store) caseAssignments(w *txWork, caseID uint64) ([]Assignment, error) {
	var as []Assignment
	if err := w.tx.Clauses(forUpdate).Where("case_id = ?", caseID).Order("id").Find(&as).Error; err != nil {
		return nil, fmt.Errorf("load assignments of case %d: %w", caseID, err)
	}
	return as, nil
}

// text checks a free-text field: trimmed, between min and max runes.
func text(f map[string]string, field, v string, min, max int, empty, long string) string {
	v = strings.TrimSpace(v)
	n := utf8.RuneCountInString(v)
	switch {
	case TextProblem(field, v, true) != "": // control and bidi characters (text.go)
		f[field] = TextProblem(field, v, true)
	case n < min:
		f[field] = empty
	case n > max:
		f[field] = fmt.Sprintf("%s（不超过%d个字，现在%d个字）", long, max, n)
	}
	return v
}

func fieldErrors(f map[string]string) error {
	if len(f) == 0 {
		return nil
	}
	return &ValidationError{Fields: f}
}

func formatDue(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.In(Shanghai()).Format("2006-01-02 15:04")
}

// ---------------------------------------------------------------------------
// Case actions

// AcceptParams accepts a tip in collect (受理).
type AcceptParams struct {
	CaseID uint64
	Note   string
}

// AcceptCase moves a tip from collect to assign.
func (s *Store) AcceptCase(ctx context.Context, p Principal, in AcceptParams) error {
	return s.write(ctx, func(w *txWork) error {
		c, err := lockCase(w, p, in.CaseID, ActionAccept)
		if err != nil {
			return err
		}
		f := map[string]string{}
		note := text(f, "note", in.Note, 0, 1000, "", "备注过长")
		if err := fieldErrors(f); err != nil {
			return err
		}
		return s.acceptCase(w, p, c, "已受理，进入快速分办阶段", note)
	})
}

// acceptCase moves the locked case c from collect to assign: the office's
// accept action and the automatic dispatch of routing both use it.
func (s *Store) acceptCase(w *txWork, p Principal, c *Case, body, note string) error {
	from := c.Stage
	if err := s.moveCase(w, c, StageAssign); err != nil {
		return err
	}
	if err := saveCase(w, c); err != nil {
		return err
	}
	_, err := w.stageEvent(p, c, from, EventAccepted, body, map[string]string{"note": note})
	return err
}

// RejectParams rejects a tip (不予受理); the reason is shown to the tipster.
type RejectParams struct {
	CaseID uint64
	Reason string
}

// RejectCase closes a tip in collect with a reason the tipster sees.
func (s *Store) RejectCase(ctx context.Context, p Principal, in RejectParams) error {
	return s.write(ctx, func(w *txWork) error {
		c, err := lockCase(w, p, in.CaseID, ActionReject)
		if err != nil {
			return err
		}
		f := map[string]string{}
		reason := text(f, "reason", in.Reason, 2, 500, "请填写不予受理的理由（举报人可以看到）", "理由过长")
		if err := fieldErrors(f); err != nil {
			return err
		}
		from := c.Stage
		c.RejectReason = reason
		if err := s.moveCase(w, c, StageClosed); err != nil {
			return err
		}
		c.ClosedAt = &w.now
		if err := saveCase(w, c); err != nil {
			return err
		}
		_, err = w.stageEvent(p, c, from, EventRejected, "不予受理。理由："+reason, nil)
		return err
	})
}

// MergeParams merges a tip into another open case handling the same problem.
type MergeParams struct {
	CaseID uint64
	Into   uint64
}

// MergeCase closes a tip in collect as merged into another open case.
func (s *Store) MergeCase(ctx context.Context, p Principal, in MergeParams) error {
	return s.write(ctx, func(w *txWork) error {
		c, err := lockCase(w, p, in.CaseID, ActionMerge)
		if err != nil {
			return err
		}
		if in.Into == 0 {
			return invalid("into", "请填写要并入的线索编号")
		}
		if in.Into == c.ID {
			return invalid("into", "不能并入线索自身")
		}
		var target Case
		if err := w.tx.Clauses(forUpdate).First(&target, in.Into).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return invalid("into", fmt.Sprintf("线索 %d 不存在", in.Into))
			}
			return fmt.Errorf("load case %d: %w", in.Into, err)
		}
		if target.Stage == StageClosed || target.MergedIntoID != nil {
			return invalid("into", fmt.Sprintf("线索 %d 已办结或已被合并，不能并入", in.Into))
		}
		from := c.Stage
		c.MergedIntoID = &target.ID
		if err := s.moveCase(w, c, StageClosed); err != nil {
			return err
		}
		c.ClosedAt = &w.now
		if err := saveCase(w, c); err != nil {
			return err
		}
		if _, err := w.stageEvent(p, c, from, EventMerged, "该反映与同一问题的其他反映合并办理", map[string]uint64{"into": target.ID}); err != nil {
			return err
		}
		id, name := actor(p)
		_, err = w.event(Event{CaseID: target.ID, Kind: EventMergeReceived, ActorID: id, Actor: name,
			FromStage: target.Stage, ToStage: target.Stage, Body: fmt.Sprintf("线索 %d 并入本案办理", c.ID)},
			map[string]uint64{"from": c.ID})
		return err
	})
}

// AssignmentInput is one unit of a dispatch.
type AssignmentInput struct {
	Unit string // unit code
	Role string // AssignGrassroots or AssignCounty
}

// AssignParams dispatches a case (快速分办): one assignment, or a dual
// assignment (双交办) to one township and one or more county departments.
type AssignParams struct {
	CaseID      uint64
	Assignments []AssignmentInput
	VerifyTeam  []string // unit codes of the joint verification team
	Note        string
}

type dispatchedUnit struct {
	Unit string `json:"unit"`
	Name string `json:"name"`
	Role string `json:"role"`
}

// AssignCase dispatches a case in assign: it creates one assignment per
// unit (pending, without a due time until rectification starts), notifies
// each unit's liaisons and moves the case to verify. In verify, before the
// finding, it re-dispatches (改派): the new set replaces the old one.
func (s *Store) AssignCase(ctx context.Context, p Principal, in AssignParams) error {
	return s.write(ctx, func(w *txWork) error {
		c, err := lockCase(w, p, in.CaseID, ActionAssign)
		if err != nil {
			return err
		}
		return s.dispatchCase(w, p, c, in, "")
	})
}

// dispatchCase checks in and dispatches the locked case c to its units:
// the office's assign action and the automatic dispatch of routing
// (body names the rule) both use it. A ValidationError leaves the
// transaction untouched.
func (s *Store) dispatchCase(w *txWork, p Principal, c *Case, in AssignParams, body string) error {
	f := map[string]string{}
	note := text(f, "note", in.Note, 0, 1000, "", "备注过长")
	units := make([]Unit, len(in.Assignments))
	if len(in.Assignments) == 0 {
		f["assignments"] = "请至少指定一个承办单位"
	}
	seen := map[string]bool{}
	grassroots, county := 0, 0
	for i, a := range in.Assignments {
		key := fmt.Sprintf("assignments[%d]", i)
		code := UnitCodeKey(a.Unit)
		if seen[code] {
			f[key+".unit"] = "同一单位不能重复交办"
			continue
		}
		seen[code] = true
		err := w.tx.Where("code = ? AND active = ?", code, true).First(&units[i]).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			f[key+".unit"] = fmt.Sprintf("承办单位“%s”不存在或已停用", code)
			continue
		} else if err != nil {
			return fmt.Errorf("load unit %s: %w", code, err)
		}
		switch {
		case a.Role == AssignGrassroots && units[i].Kind == UnitTownship:
			grassroots++
		case a.Role == AssignCounty && units[i].Kind == UnitCounty:
			county++
		case a.Role != AssignGrassroots && a.Role != AssignCounty:
			f[key+".role"] = "承办角色应为 grassroots（基层）或 county（县直部门）"
		default:
			f[key+".role"] = fmt.Sprintf("“%s”的单位类型与承办角色不符：乡镇（街道）为 grassroots，县直部门为 county", units[i].Name)
		}
	}
	if len(in.Assignments) > 1 && len(f) == 0 && (grassroots != 1 || county < 1) {
		f["assignments"] = "双交办须指定一个乡镇（街道）和至少一个县直部门"
	}
	var team []string
	for _, code := range in.VerifyTeam {
		code = UnitCodeKey(code)
		if code == "" || slices.Contains(team, code) {
			continue
		}
		var n int64
		if err := w.tx.Model(&Unit{}).Where("code = ? AND active = ?", code, true).Count(&n).Error; err != nil {
			return fmt.Errorf("check unit %s: %w", code, err)
		}
		if n == 0 {
			f["verify_team"] = fmt.Sprintf("核查组成员单位“%s”不存在或已停用", code)
		}
		team = append(team, code)
	}
	if err := fieldErrors(f); err != nil {
		return err
	}
	if team == nil {
		team = []string{}
	}
	teamJSON, _ := json.Marshal(team)
	c.VerifyTeam = string(teamJSON)
	from := c.Stage
	if from == StageVerify {
		// 改派 before the finding: the new units replace the old ones (whose
		// liaisons no longer see the case, and whose queued notices are
		// dropped); the stage and its due time run on.
		if err := w.tx.Where("case_id = ?", c.ID).Delete(&Assignment{}).Error; err != nil {
			return fmt.Errorf("remove assignments of case %d: %w", c.ID, err)
		}
		if body == "" {
			body = "办公室改派承办单位，继续联合核查"
		}
	} else if err := s.moveCase(w, c, StageVerify); err != nil {
		return err
	}
	if err := saveCase(w, c); err != nil {
		return err
	}
	as := make([]Assignment, len(in.Assignments))
	list := make([]dispatchedUnit, len(in.Assignments))
	for i, a := range in.Assignments {
		as[i] = Assignment{CaseID: c.ID, UnitID: units[i].ID, Role: a.Role, Status: AssignmentPending,
			CreatedAt: w.now, UpdatedAt: w.now}
		if err := w.tx.Create(&as[i]).Error; err != nil {
			return fmt.Errorf("create assignment: %w", err)
		}
		list[i] = dispatchedUnit{Unit: units[i].Code, Name: units[i].Name, Role: a.Role}
	}
	if body == "" {
		body = "已交办承办单位，进入联合核查阶段"
		if len(as) > 1 {
			body = "已双交办乡镇（街道）和县直部门，进入联合核查阶段"
		}
	}
	ev, err := w.stageEvent(p, c, from, EventDispatched, body,
		map[string]any{"assignments": list, "verify_team": team, "note": note})
	if err != nil {
		return err
	}
	for _, a := range as {
		if err := w.notify(EventDispatched, ev, a.ID); err != nil {
			return err
		}
	}
	return nil
}

// VerificationParams records the joint verification's finding.
type VerificationParams struct {
	CaseID               uint64
	Finding              string // FindingSubstantiated, FindingPartly or FindingUnsubstantiated
	Report               string
	TransferToDiscipline bool // 移送审查调查
}

// RecordVerification records the finding of a case in verify. 属实 and
// 部分属实 start every assignment's rectification period (→ rectify); 不属实
// marks the assignments not required and goes straight to feedback.
func (s *Store) RecordVerification(ctx context.Context, p Principal, in VerificationParams) error {
	return s.write(ctx, func(w *txWork) error {
		c, err := lockCase(w, p, in.CaseID, ActionVerify)
		if err != nil {
			return err
		}
		f := map[string]string{}
		if findingLabels[in.Finding] == "" {
			f["finding"] = "核查结论应为 substantiated（属实）、partly（部分属实）或 unsubstantiated（不属实）"
		}
		report := text(f, "report", in.Report, 2, 5000, "请填写核查情况", "核查情况过长")
		if in.Finding == FindingUnsubstantiated && in.TransferToDiscipline {
			f["transfer_to_discipline"] = "核查结论为不属实时不能移送审查调查"
		}
		if err := fieldErrors(f); err != nil {
			return err
		}
		as, err := s.caseAssignments(w, c.ID)
		if err != nil {
			return err
		}
		from := c.Stage
		c.Finding, c.TransferToDiscipline = in.Finding, in.TransferToDiscipline
		body := "经核查，反映的问题" + findingLabels[in.Finding] + "，进入督促整改阶段"
		if in.Finding == FindingUnsubstantiated {
			body = "经核查，反映的问题不属实，进入反馈评估阶段"
			for i := range as {
				as[i].Status = AssignmentNotRequired
				s.rearmAssignment(w, &as[i], 0)
			}
			if err := s.moveCase(w, c, StageFeedback); err != nil {
				return err
			}
		} else {
			if err := s.moveCase(w, c, StageRectify); err != nil {
				return err
			}
			for i := range as {
				s.startPeriod(w, &as[i])
			}
			syncRectifyDue(c, as)
		}
		for i := range as {
			if err := saveAssignment(w, &as[i]); err != nil {
				return err
			}
		}
		if err := saveCase(w, c); err != nil {
			return err
		}
		ev, err := w.stageEvent(p, c, from, EventVerified, body, map[string]any{"finding": in.Finding, "report": report})
		if err != nil {
			return err
		}
		if c.Stage == StageRectify {
			for _, a := range as {
				if err := w.notify(NoticeRectificationDue, ev, a.ID); err != nil {
					return err
				}
			}
		}
		if in.TransferToDiscipline {
			_, err = w.stageEvent(p, c, c.Stage, EventTransferred, "问题线索移送审查调查", nil)
		}
		return err
	})
}

// RectificationParams is a unit's rectification report with its evidence.
type RectificationParams struct {
	AssignmentID uint64
	Report       string
	Files        []FileInput
}

// SubmitRectification records an assignment's report (its first, or the
// re-submission after a return) and pauses its timer while the office
// reviews. It returns the case id.
func (s *Store) SubmitRectification(ctx context.Context, p Principal, in RectificationParams) (uint64, error) {
	var caseID uint64
	err := s.write(ctx, func(w *txWork) error {
		c, a, name, err := lockAssignment(w, p, in.AssignmentID, ActionRectify)
		if err != nil {
			return err
		}
		caseID = c.ID
		f := map[string]string{}
		report := text(f, "report", in.Report, 2, 5000, "请填写整改情况报告", "整改情况报告过长")
		if err := fieldErrors(f); err != nil {
			return err
		}
		resubmit := a.Status == AssignmentReturned
		if err := noteLateAssignment(w, c, a); err != nil {
			return err
		}
		a.Status, a.Report, a.SubmittedAt = AssignmentSubmitted, report, &w.now
		s.rearmAssignment(w, a, a.TimerStep)
		if err := saveAssignment(w, a); err != nil {
			return err
		}
		as, err := s.caseAssignments(w, c.ID)
		if err != nil {
			return err
		}
		syncRectifyDue(c, as)
		if err := saveCase(w, c); err != nil {
			return err
		}
		body := name + "提交整改情况报告"
		if resubmit {
			body = name + "重新提交整改情况报告"
		}
		id, who := actor(p)
		ev, err := w.event(Event{CaseID: c.ID, AssignmentID: &a.ID, Kind: EventRectificationSubmitted, ActorID: id, Actor: who,
			FromStage: c.Stage, ToStage: c.Stage, Body: body}, map[string]any{"report": report, "files": len(in.Files)})
		if err != nil {
			return err
		}
		for _, fl := range in.Files {
			at := Attachment{CaseID: c.ID, EventID: &ev.ID, AssignmentID: &a.ID, Filename: fl.Name, ContentType: fl.ContentType,
				Size: int64(len(fl.Data)), SHA256: fl.SHA256, Data: fl.Data, CreatedAt: w.now}
			if err := w.tx.Create(&at).Error; err != nil {
				return fmt.Errorf("store evidence: %w", err)
			}
		}
		return w.notify(EventRectificationSubmitted, ev, 0)
	})
	return caseID, err
}

// Review decisions.
const (
	DecisionAccept  = "accept"
	DecisionReturn  = "return"
	DecisionApprove = "approve"
	DecisionReject  = "reject"
)

// decisionRule is how an office decision on an assignment is checked: yes
// or no, and a comment of at most max characters that a no must carry.
type decisionRule struct {
	yes, no                          string
	badDecision, needReason, tooLong string
	max                              int
}

var (
	reviewRule = decisionRule{yes: DecisionAccept, no: DecisionReturn, max: 2000,
		badDecision: "审核意见应为 accept（通过）或 return（退回）", needReason: "退回整改报告请写明原因和要求", tooLong: "审核意见过长"}
	extensionRule = decisionRule{yes: DecisionApprove, no: DecisionReject, max: 1000,
		badDecision: "审批意见应为 approve（同意）或 reject（不同意）", needReason: "不同意延期请说明理由", tooLong: "审批意见过长"}
)

// check returns the cleaned comment, or the field errors.
func (r decisionRule) check(decision, comment string) (string, error) {
	f := map[string]string{}
	if decision != r.yes && decision != r.no {
		f["decision"] = r.badDecision
	}
	minComment := 0
	if decision == r.no {
		minComment = 2
	}
	comment = text(f, "comment", comment, minComment, r.max, r.needReason, r.tooLong)
	return comment, fieldErrors(f)
}

// ReviewParams is the office's review of a submitted report.
type ReviewParams struct {
	AssignmentID uint64
	Decision     string // DecisionAccept or DecisionReturn
	Comment      string
}

// ReviewRectification accepts a report (its timer stops; when every
// assignment is accepted the case moves to feedback) or returns it (the
// same due time runs on). It returns the case id.
func (s *Store) ReviewRectification(ctx context.Context, p Principal, in ReviewParams) (uint64, error) {
	var caseID uint64
	err := s.write(ctx, func(w *txWork) error {
		c, a, name, err := lockAssignment(w, p, in.AssignmentID, ActionReview)
		if err != nil {
			return err
		}
		caseID = c.ID
		comment, err := reviewRule.check(in.Decision, in.Comment)
		if err != nil {
			return err
		}
		a.ReviewComment = comment
		kind, body := EventRectificationAccepted, name+"整改情况通过审核"
		if in.Decision == DecisionAccept {
			a.Status, a.AcceptedAt = AssignmentAccepted, &w.now
		} else {
			kind, body = EventRectificationReturned, name+"整改情况报告被退回："+comment
			a.Status = AssignmentReturned
		}
		s.rearmAssignment(w, a, a.TimerStep)
		if err := saveAssignment(w, a); err != nil {
			return err
		}
		id, who := actor(p)
		ev, err := w.event(Event{CaseID: c.ID, AssignmentID: &a.ID, Kind: kind, ActorID: id, Actor: who,
			FromStage: c.Stage, ToStage: c.Stage, Body: body}, map[string]string{"comment": comment})
		if err != nil {
			return err
		}
		if kind == EventRectificationReturned {
			if err := w.notify(kind, ev, a.ID); err != nil {
				return err
			}
		}
		as, err := s.caseAssignments(w, c.ID)
		if err != nil {
			return err
		}
		done := true
		for _, x := range as {
			done = done && x.Status == AssignmentAccepted
		}
		if !done {
			syncRectifyDue(c, as)
			return saveCase(w, c)
		}
		from := c.Stage
		if err := s.moveCase(w, c, StageFeedback); err != nil {
			return err
		}
		if err := saveCase(w, c); err != nil {
			return err
		}
		_, err = w.stageEvent(p, c, from, EventRectified, "整改完成，进入反馈评估阶段", nil)
		return err
	})
	return caseID, err
}

// ExtensionParams is a unit's request for more working days.
type ExtensionParams struct {
	AssignmentID uint64
	WorkingDays  int
	Reason       string
}

// RequestExtension asks for 1–30 more working days for an assignment (at
// most 30 granted in total per period). It returns the case id.
func (s *Store) RequestExtension(ctx context.Context, p Principal, in ExtensionParams) (uint64, error) {
	var caseID uint64
	err := s.write(ctx, func(w *txWork) error {
		c, a, name, err := lockAssignment(w, p, in.AssignmentID, ActionRequestExtension)
		if err != nil {
			return err
		}
		caseID = c.ID
		f := map[string]string{}
		switch left := MaxExtensionDays - a.ExtensionDays; {
		case in.WorkingDays < 1 || in.WorkingDays > MaxExtensionDays:
			f["working_days"] = "延期天数应为1至30个工作日"
		case in.WorkingDays > left:
			f["working_days"] = fmt.Sprintf("已延期%d个工作日，累计不能超过%d个工作日，最多还可申请%d个工作日",
				a.ExtensionDays, MaxExtensionDays, left)
		}
		reason := text(f, "reason", in.Reason, 2, 1000, "请说明申请延期的理由", "延期理由过长")
		if err := fieldErrors(f); err != nil {
			return err
		}
		a.ExtensionAsked, a.ExtensionReason, a.ExtensionStatus = in.WorkingDays, reason, ExtensionRequested
		if err := saveAssignment(w, a); err != nil {
			return err
		}
		id, who := actor(p)
		ev, err := w.event(Event{CaseID: c.ID, AssignmentID: &a.ID, Kind: EventExtensionRequested, ActorID: id, Actor: who,
			FromStage: c.Stage, ToStage: c.Stage, Body: fmt.Sprintf("%s申请延期%d个工作日：%s", name, in.WorkingDays, reason)},
			map[string]any{"working_days": in.WorkingDays, "reason": reason})
		if err != nil {
			return err
		}
		return w.notify(EventExtensionRequested, ev, 0)
	})
	return caseID, err
}

// ExtensionDecisionParams is the office's answer to an extension request.
type ExtensionDecisionParams struct {
	AssignmentID uint64
	Decision     string // DecisionApprove or DecisionReject
	Comment      string
}

// DecideExtension approves (the due time moves by the requested working
// days and the timer starts over for it) or rejects an extension request.
// It returns the case id.
func (s *Store) DecideExtension(ctx context.Context, p Principal, in ExtensionDecisionParams) (uint64, error) {
	var caseID uint64
	err := s.write(ctx, func(w *txWork) error {
		c, a, name, err := lockAssignment(w, p, in.AssignmentID, ActionDecideExtension)
		if err != nil {
			return err
		}
		caseID = c.ID
		comment, err := extensionRule.check(in.Decision, in.Comment)
		if err != nil {
			return err
		}
		kind := EventExtensionRejected
		body := name + "的延期申请未获同意：" + comment
		if in.Decision == DecisionApprove {
			kind = EventExtensionApproved
			due := s.calendar.Load().AddWorkdays(*a.DueAt, a.ExtensionAsked).UTC().Truncate(time.Microsecond)
			a.DueAt = &due
			a.ExtensionDays += a.ExtensionAsked
			a.ExtensionStatus = ExtensionApproved
			s.rearmAssignment(w, a, 0)
			body = fmt.Sprintf("同意%s延期%d个工作日，办理时限延至%s", name, a.ExtensionAsked, formatDue(a.DueAt))
			if comment != "" {
				body += "。" + comment
			}
		} else {
			a.ExtensionStatus = ExtensionRejected
		}
		if err := saveAssignment(w, a); err != nil {
			return err
		}
		as, err := s.caseAssignments(w, c.ID)
		if err != nil {
			return err
		}
		syncRectifyDue(c, as)
		if err := saveCase(w, c); err != nil {
			return err
		}
		id, who := actor(p)
		ev, err := w.event(Event{CaseID: c.ID, AssignmentID: &a.ID, Kind: kind, ActorID: id, Actor: who,
			FromStage: c.Stage, ToStage: c.Stage, Body: body},
			map[string]any{"working_days": a.ExtensionAsked, "comment": comment, "due_at": a.DueAt})
		if err != nil {
			return err
		}
		return w.notify(kind, ev, a.ID)
	})
	return caseID, err
}

// ReplyParams is the office's reply to the tipster.
type ReplyParams struct {
	CaseID uint64
	Text   string
}

// ReplyToTipster records the office's reply (public) and opens the
// tipster's rating window: the case's due time becomes the end of the
// window, when an unrated case closes by itself.
func (s *Store) ReplyToTipster(ctx context.Context, p Principal, in ReplyParams) error {
	return s.write(ctx, func(w *txWork) error {
		c, err := lockCase(w, p, in.CaseID, ActionReply)
		if err != nil {
			return err
		}
		f := map[string]string{}
		reply := text(f, "text", in.Text, 2, 5000, "请填写答复内容", "答复内容过长")
		if err := fieldErrors(f); err != nil {
			return err
		}
		if err := noteLateCase(w, c); err != nil {
			return err
		}
		due := s.deadlines.Evaluation.Due(s.calendar.Load(), w.now).UTC().Truncate(time.Microsecond)
		c.RepliedAt, c.DueAt = &w.now, &due
		c.DueVersion++
		c.TimerStep = StepRemind // the window has no reminder: its only step is its end
		c.NextTimerAt = &due
		if err := saveCase(w, c); err != nil {
			return err
		}
		w.queueCaseTimer(c)
		_, err = w.stageEvent(p, c, c.Stage, EventReplied, reply, nil)
		return err
	})
}

// EvaluateTip records the tipster's rating of a replied case, found by its
// receipt. 满意 and 基本满意 close the case; 不满意 leaves it in feedback for
// the office to reopen (once) or close with an explanation, on a fresh
// feedback clock. After the window or a rating it answers ErrWrongStage.
func (s *Store) EvaluateTip(ctx context.Context, receipt, rating, comment string) error {
	f := map[string]string{}
	if rating != RatingSatisfied && rating != RatingBasically && rating != RatingUnsatisfied {
		f["rating"] = "请选择评价：满意、基本满意或不满意"
	}
	comment = text(f, "comment", comment, 0, 500, "", "评价意见过长")
	if err := fieldErrors(f); err != nil {
		return err
	}
	receipt, err := NormalizeReceipt(receipt)
	if err != nil {
		return err
	}
	return s.write(ctx, func(w *txWork) error {
		var c Case
		err := w.tx.Clauses(forUpdate).Joins("JOIN tips ON tips.id = cases.tip_id").
			Where("tips.receipt_hash = ?", s.receiptHash(receipt)).Take(&c).Error
		if err != nil {
			return interpret(err, "find case by receipt")
		}
		if c.MergedIntoID != nil {
			return s.rateMerged(w, &c, rating, comment) // models/merged.go
		}
		tipster := Principal{Role: ActorTipster, Username: ActorTipster}
		if err := guard(ActionRate, tipster, &c, nil); err != nil {
			return err
		}
		if c.DueAt != nil && w.now.After(*c.DueAt) {
			return fmt.Errorf("rate case %d: the rating window has ended: %w", c.ID, ErrWrongStage)
		}
		c.Rating, c.RatedAt = rating, &w.now
		body := "举报人评价：" + RatingNames[rating]
		if comment != "" {
			body += "。" + comment
		}
		if rating != RatingUnsatisfied {
			if err := saveCase(w, &c); err != nil {
				return err
			}
			if _, err := w.stageEvent(tipster, &c, c.Stage, EventRated, body, map[string]string{"rating": rating}); err != nil {
				return err
			}
			_, err := s.closeCase(w, Principal{Username: ActorSystem}, &c, "举报人评价"+RatingNames[rating]+"，办结", nil)
			return err
		}
		if err := s.moveCase(w, &c, StageFeedback); err != nil { // the office's clock to reopen or explain
			return err
		}
		if err := saveCase(w, &c); err != nil {
			return err
		}
		ev, err := w.stageEvent(tipster, &c, c.Stage, EventRated, body, map[string]string{"rating": rating})
		if err != nil {
			return err
		}
		return w.notify(EventRated, ev, 0)
	})
}

// ReopenParams reopens a case the tipster rated 不满意.
type ReopenParams struct {
	CaseID uint64
	Reason string
}

// ReopenCase sends a case rated 不满意 back to rectify, once: every
// assignment starts a fresh period with its own due time and timer.
func (s *Store) ReopenCase(ctx context.Context, p Principal, in ReopenParams) error {
	return s.write(ctx, func(w *txWork) error {
		c, err := lockCase(w, p, in.CaseID, ActionReopen)
		if err != nil {
			return err
		}
		f := map[string]string{}
		reason := text(f, "reason", in.Reason, 0, 1000, "", "重新整改的要求过长")
		if err := fieldErrors(f); err != nil {
			return err
		}
		as, err := s.caseAssignments(w, c.ID)
		if err != nil {
			return err
		}
		from := c.Stage
		c.ReopenCount++
		c.RepliedAt, c.Rating, c.RatedAt = nil, "", nil
		if err := s.moveCase(w, c, StageRectify); err != nil {
			return err
		}
		for i := range as {
			s.startPeriod(w, &as[i])
			if err := saveAssignment(w, &as[i]); err != nil {
				return err
			}
		}
		syncRectifyDue(c, as)
		if err := saveCase(w, c); err != nil {
			return err
		}
		ev, err := w.stageEvent(p, c, from, EventReopened, "举报人不满意，重新督促整改", map[string]string{"reason": reason})
		if err != nil {
			return err
		}
		for _, a := range as {
			if err := w.notify(NoticeRectificationDue, ev, a.ID); err != nil {
				return err
			}
		}
		return nil
	})
}

// CloseParams closes a replied case; after 不满意 the note (the
// explanation the tipster sees) is required.
type CloseParams struct {
	CaseID uint64
	Note   string
}

// CloseCase closes a case in feedback after the reply.
func (s *Store) CloseCase(ctx context.Context, p Principal, in CloseParams) error {
	return s.write(ctx, func(w *txWork) error {
		c, err := lockCase(w, p, in.CaseID, ActionClose)
		if err != nil {
			return err
		}
		f := map[string]string{}
		minNote := 0
		if c.Rating == RatingUnsatisfied {
			minNote = 2
		}
		note := text(f, "note", in.Note, minNote, 2000, "举报人不满意，办结须向举报人说明情况", "办结说明过长")
		if err := fieldErrors(f); err != nil {
			return err
		}
		if c.Rating == "" {
			c.Rating = RatingNotRated
		}
		body := "已办结"
		if note != "" {
			body += "。" + note
		}
		_, err = s.closeCase(w, p, c, body, nil)
		return err
	})
}
