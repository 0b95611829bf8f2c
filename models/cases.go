package models

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// The staff's read side of cases: the list with filters and cursor
// pagination, the case page, and the logged contact reveal. Liaisons see
// only cases with an assignment of their unit, only their own unit's
// assignment details, never the tipster's contact nor whether the tip was
// anonymous; "overdue" is always the stored due time against the clock.

// CaseFilter selects cases for the staff list.
type CaseFilter struct {
	Stage    string // a stage id, or "open" for every stage but closed
	Overdue  *bool
	Unit     string // unit code: cases with an assignment of that unit
	Category string // category code
	Q        string // words of the title or content, or a case id
	From, To string // submission dates YYYY-MM-DD (Asia/Shanghai), inclusive
	// Sort is "id" (newest first, the default) or "due" (cases with a due
	// time, the earliest first).
	Sort   string
	Cursor string
	Limit  int
}

// CasePage is one page of the list; NextCursor is empty on the last page.
type CasePage struct {
	Items      []CaseSummary `json:"items"`
	NextCursor string        `json:"next_cursor"`
}

// CaseSummary is a case as listed.
type CaseSummary struct {
	ID           uint64           `json:"id"`
	Title        string           `json:"title"`
	Stage        string           `json:"stage"`
	StageName    string           `json:"stage_name"`
	DueAt        *time.Time       `json:"due_at"`
	Overdue      bool             `json:"overdue"`
	Category     string           `json:"category"`
	CategoryName string           `json:"category_name"`
	Township     string           `json:"township,omitempty"`
	CreatedAt    time.Time        `json:"created_at"`
	Assignments  []AssignmentView `json:"assignments"`

	// UnreadMessages: tipster messages the office has not seen yet (0 for
	// liaisons).
	UnreadMessages int `json:"unread_messages"`
}

// AssignmentView is one unit's share of a case; the fields after Overdue
// are filled on the case page only.
type AssignmentView struct {
	ID            uint64           `json:"id"`
	Unit          string           `json:"unit"`
	UnitName      string           `json:"unit_name"`
	Role          string           `json:"role"`
	Status        string           `json:"status"`
	DueAt         *time.Time       `json:"due_at"`
	Overdue       bool             `json:"overdue"`
	Report        string           `json:"report,omitempty"`
	ReviewComment string           `json:"review_comment,omitempty"`
	SubmittedAt   *time.Time       `json:"submitted_at,omitempty"`
	AcceptedAt    *time.Time       `json:"accepted_at,omitempty"`
	Extension     *ExtensionView   `json:"extension,omitempty"`
	Evidence      []AttachmentView `json:"evidence,omitempty"`
	// Actions are the assignment actions the viewer may take now.
	Actions []string `json:"actions,omitempty"`
}

// ExtensionView is an assignment's extension state in its current period.
type ExtensionView struct {
	Status        string `json:"status"` // requested, approved, rejected
	RequestedDays int    `json:"requested_days"`
	GrantedDays   int    `json:"granted_days"`
	Reason        string `json:"reason"`
}

// AttachmentView describes a stored file (its content is served apart).
type AttachmentView struct {
	ID          uint64    `json:"id"`
	Filename    string    `json:"filename"`
	ContentType string    `json:"content_type"`
	Size        int64     `json:"size"`
	CreatedAt   time.Time `json:"created_at"`
}

// TimelineEntry is one event as staff see it.
type TimelineEntry struct {
	ID           uint64          `json:"id"`
	At           time.Time       `json:"at"`
	Kind         string          `json:"kind"`
	Actor        string          `json:"actor"`
	Body         string          `json:"body"`
	FromStage    string          `json:"from_stage"`
	ToStage      string          `json:"to_stage"`
	Public       bool            `json:"public"`
	AssignmentID *uint64         `json:"assignment_id,omitempty"`
	Unit         string          `json:"unit,omitempty"`
	Data         json.RawMessage `json:"data,omitempty"`
}

// CaseDetail is the case page.
type CaseDetail struct {
	CaseSummary
	Content        string  `json:"content"`
	ImplicatedUnit string  `json:"implicated_unit"`
	OccurredOn     *string `json:"occurred_on"`
	// Channel and Anonymous are withheld from liaisons.
	Channel              string           `json:"channel,omitempty"`
	Anonymous            *bool            `json:"anonymous,omitempty"`
	Finding              string           `json:"finding"`
	TransferToDiscipline bool             `json:"transfer_to_discipline"`
	MergedInto           *uint64          `json:"merged_into"`
	RejectReason         string           `json:"reject_reason"`
	ReopenCount          int              `json:"reopen_count"`
	RepliedAt            *time.Time       `json:"replied_at"`
	Rating               string           `json:"rating"`
	RatedAt              *time.Time       `json:"rated_at"`
	ClosedAt             *time.Time       `json:"closed_at"`
	Suggestions          []Suggestion     `json:"suggestions,omitempty"`
	VerifyTeam           []string         `json:"verify_team"`
	Attachments          []AttachmentView `json:"attachments"`
	Timeline             []TimelineEntry  `json:"timeline"`
	// Actions are the case actions the viewer may take now.
	Actions []string `json:"actions"`

	// ReceivedAt: when a tip entered by staff reached the office
	// (withheld from liaisons, like the channel).
	ReceivedAt *time.Time `json:"received_at,omitempty"`
	// Disposals: what was done to those responsible (office, admin and
	// leaders only).
	Disposals []DisposalView `json:"disposals,omitempty"`
	// VerificationParts: each unit's part of the joint verification (a
	// liaison sees their own unit's).
	VerificationParts []VerificationPartView `json:"verification_parts,omitempty"`
}

const (
	defaultPageSize = 20
	maxPageSize     = 100
)

type caseRow struct {
	ID           uint64
	Stage        string
	DueAt        *time.Time
	CreatedAt    time.Time
	Title        string
	Category     string
	CategoryName string
	Township     *string

	UnreadMessages int
}

func (r caseRow) summary(now time.Time) CaseSummary {
	s := CaseSummary{ID: r.ID, Title: r.Title, Stage: r.Stage, StageName: StageNames[r.Stage], DueAt: r.DueAt,
		Overdue: r.DueAt != nil && now.After(*r.DueAt), Category: r.Category, CategoryName: r.CategoryName,
		CreatedAt: r.CreatedAt, Assignments: []AssignmentView{}}
	if r.Township != nil {
		s.Township = *r.Township
	}
	s.UnreadMessages = r.UnreadMessages
	return s
}

func (s *Store) caseQuery(ctx context.Context) *gorm.DB {
	return s.db.WithContext(ctx).Table("cases").
		Select("cases.id, cases.stage, cases.due_at, cases.created_at, tips.title, categories.code AS category, " +
			"categories.name AS category_name, tw.code AS township, cases.unread_messages").
		Joins("JOIN tips ON tips.id = cases.tip_id").
		Joins("JOIN categories ON categories.id = cases.category_id").
		Joins("LEFT JOIN units tw ON tw.id = cases.township_id")
}

// likeEscape quotes LIKE wildcards with '!' (ESCAPE '!' works the same on
// MySQL and SQLite).
func likeEscape(s string) string {
	return strings.NewReplacer("!", "!!", "%", "!%", "_", "!_").Replace(s)
}

// ListCases returns one page of the cases p may see.
func (s *Store) ListCases(ctx context.Context, p Principal, f CaseFilter) (CasePage, error) {
	now := s.clock()
	page := CasePage{Items: []CaseSummary{}}
	bad := map[string]string{}
	q := s.caseQuery(ctx)
	// A unit's list (a liaison's own, or the unit filter) is driven from
	// that unit's assignments in case order (index unit_id, case_id), so a
	// page reads about as many rows as it shows, however long the unit's
	// history.
	var unitID *uint64
	switch p.Role {
	case RoleOffice, RoleAdmin, RoleLeader:
	case RoleLiaison:
		if p.UnitID == nil {
			return page, nil
		}
		unitID = p.UnitID
	default:
		return page, nil
	}
	if f.Unit != "" {
		u, err := s.UnitByCode(ctx, f.Unit)
		switch {
		case errors.Is(err, ErrNotFound):
			return page, nil // no such unit: no case has its assignment
		case err != nil:
			return page, err
		case unitID == nil:
			unitID = &u.ID
		case p.Role == RoleLiaison && *unitID != u.ID:
			// Another unit's code lists nothing, whether or not it shares
			// a case with the liaison's unit: the filter is no oracle.
			return page, nil
		case *unitID != u.ID:
			q = q.Where("EXISTS (SELECT 1 FROM assignments fa2 WHERE fa2.case_id = cases.id AND fa2.unit_id = ?)", u.ID)
		}
	}
	idCol := "cases.id"
	if unitID != nil {
		q = q.Joins("JOIN assignments fa ON fa.case_id = cases.id AND fa.unit_id = ?", *unitID)
		idCol = "fa.case_id"
	}
	switch {
	case f.Stage == "":
	case f.Stage == "open":
		q = q.Where("cases.stage <> ?", StageClosed)
	case StageNames[f.Stage] != "":
		q = q.Where("cases.stage = ?", f.Stage)
	default:
		bad["stage"] = "阶段应为 collect、assign、verify、rectify、feedback、closed 或 open"
	}
	if f.Overdue != nil {
		if *f.Overdue {
			q = q.Where("cases.due_at IS NOT NULL AND cases.due_at < ?", now)
		} else {
			q = q.Where("(cases.due_at IS NULL OR cases.due_at >= ?)", now)
		}
	}
	if f.Category != "" {
		q = q.Where("categories.code = ?", CategoryCodeKey(f.Category))
	}
	words := strings.TrimSpace(f.Q)
	if words != "" {
		if _, _, msg := s.searchCondition(words, true, true); msg != "" {
			bad["q"] = msg
		}
	}
	for _, d := range []struct {
		field, value string
		end          bool
	}{{"from", f.From, false}, {"to", f.To, true}} {
		if d.value == "" {
			continue
		}
		day, err := time.ParseInLocation("2006-01-02", d.value, Shanghai())
		if err != nil {
			bad[d.field] = "日期格式应为 2026-03-01"
			continue
		}
		if d.end {
			q = q.Where("cases.created_at < ?", day.AddDate(0, 0, 1).UTC())
		} else {
			q = q.Where("cases.created_at >= ?", day.UTC())
		}
	}
	limit := f.Limit
	if limit == 0 {
		limit = defaultPageSize
	}
	if limit < 1 || limit > maxPageSize {
		bad["limit"] = fmt.Sprintf("每页条数应为1至%d", maxPageSize)
	}
	byDue := false
	switch f.Sort {
	case "", "id":
	case "due":
		byDue = true
	default:
		bad["sort"] = "排序应为 id 或 due"
	}
	// A period of submission walks the index on created_at, newest first,
	// so a page of an old year reads a page of rows, not every newer case.
	byCreated := !byDue && unitID == nil && (f.From != "" || f.To != "")
	if f.Cursor != "" {
		due, id, ok := decodeCursor(f.Cursor, byDue)
		if byCreated {
			due, id, ok = decodeCreatedCursor(f.Cursor)
		}
		switch {
		case !ok:
			bad["cursor"] = "分页游标无效，请从第一页重新查询"
		case byCreated:
			q = q.Where("cases.created_at <= ? AND (cases.created_at < ? OR cases.id < ?)", due, due, id)
		case byDue:
			q = q.Where("(cases.due_at > ? OR (cases.due_at = ? AND cases.id > ?))", due, due, id)
		default:
			q = q.Where(idCol+" < ?", id)
		}
	}
	if len(bad) > 0 {
		return page, &ValidationError{Fields: bad}
	}
	if unitID != nil {
		// Open stages hold the newest cases: a unit's walk back through its
		// history stops at the oldest case in the listed stages instead of
		// reading ten years of closed ones to fill the last page.
		var stages []string
		switch {
		case f.Stage == "open":
			stages = Stages[:len(Stages)-1]
		case f.Stage != "" && f.Stage != StageClosed:
			stages = []string{f.Stage}
		}
		if len(stages) > 0 {
			floor, ok, err := s.oldestCaseIn(ctx, stages)
			if err != nil || !ok {
				return page, err
			}
			q = q.Where(idCol+" >= ?", floor)
		}
	}
	if byDue {
		q = q.Where("cases.due_at IS NOT NULL").Order("cases.due_at, cases.id")
	} else if byCreated {
		if s.dialect == "mysql" {
			// MariaDB otherwise starts from the small categories table and
			// sorts a year of cases (655 ms at 100k cases).
			q = q.Table("cases FORCE INDEX (ix_cases_created)")
		}
		q = q.Order("cases.created_at DESC, cases.id DESC")
	} else {
		q = q.Order(idCol + " DESC")
	}
	rows, err := s.listRows(ctx, q, listSearch{words: words, withMerged: p.Role != RoleLiaison,
		recentFirst: !byDue && !byCreated && unitID == nil, cursor: f.Cursor}, limit+1)
	if err != nil {
		return page, err
	}
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[len(rows)-1]
		page.NextCursor = encodeCursor(last.DueAt, last.ID, byDue)
		if byCreated {
			page.NextCursor = encodeCreatedCursor(last.CreatedAt, last.ID)
		}
	}
	ids := make([]uint64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
		if p.Role == RoleLiaison {
			r.UnreadMessages = 0
		}
		page.Items = append(page.Items, r.summary(now))
	}
	views, err := s.assignmentViews(s.db.WithContext(ctx), p, ids, now)
	if err != nil {
		return page, err
	}
	for i := range page.Items {
		if v := views[page.Items[i].ID]; v != nil {
			page.Items[i].Assignments = v
		}
	}
	return page, nil
}

// listSearch is the keyword part of a list query.
type listSearch struct {
	words, cursor string
	withMerged    bool
	// recentFirst: the list is newest first by case id over all cases, so
	// the newest recentWindow cases may be read without the index.
	recentFirst bool
}

// listRows runs the list query q for n rows. A search reads the newest
// cases first with the text check alone and asks the full-text index only
// for what that window did not fill (docs/search.md).
func (s *Store) listRows(ctx context.Context, q *gorm.DB, ls listSearch, n int) ([]caseRow, error) {
	var rows []caseRow
	if ls.words == "" {
		if err := q.Limit(n).Scan(&rows).Error; err != nil {
			return nil, fmt.Errorf("list cases: %w", err)
		}
		return rows, nil
	}
	indexed, args, _ := s.searchCondition(ls.words, ls.withMerged, true)
	if !ls.recentFirst {
		if err := q.Where(indexed, args).Limit(n).Scan(&rows).Error; err != nil {
			return nil, fmt.Errorf("search cases: %w", err)
		}
		return rows, nil
	}
	var top struct{ ID *uint64 }
	if err := s.db.WithContext(ctx).Raw("SELECT MAX(id) AS id FROM cases").Scan(&top).Error; err != nil {
		return nil, fmt.Errorf("search cases: newest id: %w", err)
	}
	upper := uint64(0)
	if top.ID != nil {
		upper = *top.ID + 1
	}
	if _, id, ok := decodeCursor(ls.cursor, false); ls.cursor != "" && ok {
		upper = min(upper, id)
	}
	floor := uint64(0)
	if upper > s.searchWindow {
		floor = upper - s.searchWindow
	}
	plain, args, _ := s.searchCondition(ls.words, ls.withMerged, false)
	if err := q.Session(&gorm.Session{}).Where(plain, args).Where("cases.id >= ?", floor).Limit(n).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("search recent cases: %w", err)
	}
	if len(rows) >= n || floor == 0 {
		return rows, nil
	}
	var older []caseRow
	if err := q.Session(&gorm.Session{}).Where(indexed, args).Where("cases.id < ?", floor).Limit(n - len(rows)).Scan(&older).Error; err != nil {
		return nil, fmt.Errorf("search cases: %w", err)
	}
	return append(rows, older...), nil
}

// oldestCaseIn is the smallest id of a case now in one of stages (index
// stage, id: one look-up a stage); ok is false when there is none.
func (s *Store) oldestCaseIn(ctx context.Context, stages []string) (id uint64, ok bool, err error) {
	parts := make([]string, len(stages))
	args := make([]any, len(stages))
	for i, st := range stages {
		parts[i] = "SELECT MIN(id) AS id FROM cases WHERE stage = ?"
		args[i] = st
	}
	var rows []struct{ ID *uint64 }
	if err := s.db.WithContext(ctx).Raw(strings.Join(parts, " UNION ALL "), args...).Scan(&rows).Error; err != nil {
		return 0, false, fmt.Errorf("find the oldest case in %v: %w", stages, err)
	}
	for _, r := range rows {
		if r.ID != nil && (!ok || *r.ID < id) {
			id, ok = *r.ID, true
		}
	}
	return id, ok, nil
}

func encodeCursor(due *time.Time, id uint64, byDue bool) string {
	raw := "i" + strconv.FormatUint(id, 10)
	if byDue && due != nil {
		raw = "d" + strconv.FormatInt(due.UnixMicro(), 10) + "_" + strconv.FormatUint(id, 10)
	}
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func decodeCursor(c string, byDue bool) (time.Time, uint64, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) < 2 {
		return time.Time{}, 0, false
	}
	raw := string(b)
	if !byDue {
		id, err := strconv.ParseUint(strings.TrimPrefix(raw, "i"), 10, 64)
		return time.Time{}, id, err == nil && raw[0] == 'i'
	}
	micros, idText, ok := strings.Cut(strings.TrimPrefix(raw, "d"), "_")
	if raw[0] != 'd' || !ok {
		return time.Time{}, 0, false
	}
	us, err1 := strconv.ParseInt(micros, 10, 64)
	id, err2 := strconv.ParseUint(idText, 10, 64)
	if err1 != nil || err2 != nil {
		return time.Time{}, 0, false
	}
	return time.UnixMicro(us).UTC(), id, true
}

// encodeCreatedCursor and decodeCreatedCursor carry the last row of a
// list ordered by submission time.
func encodeCreatedCursor(at time.Time, id uint64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("c" + strconv.FormatInt(at.UnixMicro(), 10) + "_" + strconv.FormatUint(id, 10)))
}

func decodeCreatedCursor(c string) (time.Time, uint64, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) < 2 || b[0] != 'c' {
		return time.Time{}, 0, false
	}
	micros, idText, ok := strings.Cut(string(b[1:]), "_")
	us, err1 := strconv.ParseInt(micros, 10, 64)
	id, err2 := strconv.ParseUint(idText, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return time.Time{}, 0, false
	}
	return time.UnixMicro(us).UTC(), id, true
}

type assignmentRow struct {
	Assignment
	UnitCode string
	UnitName string
}

func (r assignmentRow) view(now time.Time) AssignmentView {
	waiting := r.Status == AssignmentPending || r.Status == AssignmentReturned
	return AssignmentView{ID: r.ID, Unit: r.UnitCode, UnitName: r.UnitName, Role: r.Role, Status: r.Status,
		DueAt: r.DueAt, Overdue: waiting && r.DueAt != nil && now.After(*r.DueAt)}
}

// loadAssignments returns the assignments of the cases that p may see in
// detail: all of them, or a liaison's own unit's.
func loadAssignments(db *gorm.DB, p Principal, caseIDs []uint64) ([]assignmentRow, error) {
	if len(caseIDs) == 0 {
		return nil, nil
	}
	q := db.Table("assignments").Select("assignments.*, units.code AS unit_code, units.name AS unit_name").
		Joins("JOIN units ON units.id = assignments.unit_id").Where("assignments.case_id IN ?", caseIDs)
	if p.Role == RoleLiaison {
		if p.UnitID == nil {
			return nil, nil
		}
		q = q.Where("assignments.unit_id = ?", *p.UnitID)
	}
	var rows []assignmentRow
	if err := q.Order("assignments.id").Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("load assignments: %w", err)
	}
	return rows, nil
}

func (s *Store) assignmentViews(db *gorm.DB, p Principal, caseIDs []uint64, now time.Time) (map[uint64][]AssignmentView, error) {
	rows, err := loadAssignments(db, p, caseIDs)
	if err != nil {
		return nil, err
	}
	out := map[uint64][]AssignmentView{}
	for _, r := range rows {
		out[r.CaseID] = append(out[r.CaseID], r.view(now))
	}
	return out, nil
}

// CaseDetail returns the case page as p may see it.
func (s *Store) CaseDetail(ctx context.Context, p Principal, id uint64) (CaseDetail, error) {
	db := s.db.WithContext(ctx)
	now := s.clock()
	var d CaseDetail
	var c Case
	if err := db.First(&c, id).Error; err != nil {
		return d, interpret(err, fmt.Sprintf("load case %d", id))
	}
	ok, err := visible(db, p, c.ID)
	if err != nil {
		return d, err
	}
	if !ok {
		return d, fmt.Errorf("case %d: %w", id, ErrNotFound)
	}
	if err := s.markMessagesRead(ctx, p, &c); err != nil {
		return d, err
	}
	var rows []caseRow
	if err := s.caseQuery(ctx).Where("cases.id = ?", id).Scan(&rows).Error; err != nil {
		return d, fmt.Errorf("load case %d summary: %w", id, err)
	}
	if len(rows) != 1 {
		return d, fmt.Errorf("case %d summary: %w", id, ErrNotFound)
	}
	var tip Tip
	if err := db.Select("id, channel, content, implicated_unit, occurred_on, anonymous, received_at").First(&tip, c.TipID).Error; err != nil {
		return d, fmt.Errorf("load tip of case %d: %w", id, err)
	}
	liaison := p.Role == RoleLiaison
	d = CaseDetail{CaseSummary: rows[0].summary(now), Content: tip.Content, ImplicatedUnit: tip.ImplicatedUnit,
		OccurredOn: tip.OccurredOn, Finding: c.Finding, TransferToDiscipline: c.TransferToDiscipline,
		MergedInto: c.MergedIntoID, RejectReason: c.RejectReason, ReopenCount: c.ReopenCount, RepliedAt: c.RepliedAt,
		Rating: c.Rating, RatedAt: c.RatedAt, ClosedAt: c.ClosedAt, VerifyTeam: []string{}, Attachments: []AttachmentView{},
		Timeline: []TimelineEntry{}, Actions: []string{}}
	if liaison {
		d.UnreadMessages = 0
	}
	if !liaison {
		d.Channel = tip.Channel
		d.Anonymous = &tip.Anonymous
		d.ReceivedAt = tip.ReceivedAt
		if d.Disposals, err = s.caseDisposals(ctx, c.ID); err != nil {
			return d, err
		}
		_ = json.Unmarshal([]byte(c.Suggestions), &d.Suggestions)
		// The verification team names other units: not a liaison's business.
		_ = json.Unmarshal([]byte(c.VerifyTeam), &d.VerifyTeam)
	}

	arows, err := loadAssignments(db, p, []uint64{c.ID})
	if err != nil {
		return d, err
	}
	var files []Attachment
	if err := db.Select("id, assignment_id, event_id, filename, content_type, size, created_at").
		Where("case_id = ?", c.ID).Order("id").Find(&files).Error; err != nil {
		return d, fmt.Errorf("load attachments of case %d: %w", id, err)
	}
	// Assignment id → unit code, of the assignments p may see: a liaison's
	// own, everybody else's all.
	own := map[uint64]string{}
	for _, r := range arows {
		own[r.ID] = r.UnitCode
		v := r.view(now)
		v.Report, v.ReviewComment, v.SubmittedAt, v.AcceptedAt = r.Report, r.ReviewComment, r.SubmittedAt, r.AcceptedAt
		if r.ExtensionStatus != "" {
			v.Extension = &ExtensionView{Status: r.ExtensionStatus, RequestedDays: r.ExtensionAsked,
				GrantedDays: r.ExtensionDays, Reason: r.ExtensionReason}
		}
		for _, f := range files {
			if f.AssignmentID != nil && *f.AssignmentID == r.ID {
				v.Evidence = append(v.Evidence, attachmentView(f))
			}
		}
		for _, act := range []string{ActionRectify, ActionRequestExtension, ActionReview, ActionDecideExtension} {
			if guard(act, p, &c, &r.Assignment) == nil {
				v.Actions = append(v.Actions, act)
			}
		}
		d.Assignments = append(d.Assignments, v)
	}
	if SeesTipFiles(p) { // even a file's name can point at the tipster
		for _, f := range files {
			if f.AssignmentID == nil {
				d.Attachments = append(d.Attachments, attachmentView(f))
			}
		}
	}
	if d.VerificationParts, err = s.verificationParts(db, p, &c, now); err != nil {
		return d, err
	}
	for _, v := range d.VerificationParts {
		if p.Role == RoleLiaison && v.Unit == p.UnitCode && !v.Submitted && c.Stage == StageVerify {
			d.Actions = append(d.Actions, ActionVerificationPart)
		}
	}
	for _, act := range caseActions {
		if guard(act, p, &c, nil) == nil {
			d.Actions = append(d.Actions, act)
		}
	}

	evs, err := s.Events(ctx, c.ID)
	if err != nil {
		return d, err
	}
	for _, ev := range evs {
		mine := ev.AssignmentID != nil && own[*ev.AssignmentID] != ""
		if liaison && !ev.Public && !mine {
			continue
		}
		e := TimelineEntry{ID: ev.ID, At: ev.At, Kind: ev.Kind, Actor: ev.Actor, Body: ev.Body, FromStage: ev.FromStage,
			ToStage: ev.ToStage, Public: ev.Public, AssignmentID: ev.AssignmentID}
		if ev.AssignmentID != nil {
			e.Unit = own[*ev.AssignmentID]
		}
		if !liaison && ev.Data != "" && ev.Data != "{}" {
			e.Data = json.RawMessage(ev.Data)
		}
		d.Timeline = append(d.Timeline, e)
	}
	return d, nil
}

func attachmentView(f Attachment) AttachmentView {
	return AttachmentView{ID: f.ID, Filename: f.Filename, ContentType: f.ContentType, Size: f.Size, CreatedAt: f.CreatedAt}
}

// RevealParams asks for a real-name tipster's contact details.
type RevealParams struct {
	CaseID uint64
	Reason string
}

// RevealedContact is what a contact reveal returns.
type RevealedContact struct {
	Anonymous bool     `json:"anonymous"`
	Contact   *Contact `json:"contact"`
}

// RevealContact decrypts a tipster's contact details for office staff and
// writes who looked and why on the internal timeline, in the same
// transaction: no reveal without its record.
func (s *Store) RevealContact(ctx context.Context, p Principal, in RevealParams) (RevealedContact, error) {
	var out RevealedContact
	err := s.write(ctx, func(w *txWork) error {
		out = RevealedContact{} // a transaction may run again (see commit)
		c, err := lockCase(w, p, in.CaseID, ActionRevealContact)
		if err != nil {
			return err
		}
		f := map[string]string{}
		reason := text(f, "reason", in.Reason, 2, 200, "请说明查看举报人联系方式的事由", "事由过长")
		if err := fieldErrors(f); err != nil {
			return err
		}
		var tip Tip
		if err := w.tx.Select("id, anonymous, contact_enc").First(&tip, c.TipID).Error; err != nil {
			return fmt.Errorf("load tip of case %d: %w", c.ID, err)
		}
		out.Anonymous = tip.Anonymous
		if !tip.Anonymous && len(tip.ContactEnc) > 0 {
			contact, err := s.openContact(tip.ContactEnc)
			if err != nil {
				return err
			}
			out.Contact = &contact
		}
		_, err = w.stageEvent(p, c, c.Stage, EventContactRevealed,
			fmt.Sprintf("%s查看了举报人联系方式，事由：%s", p.Username, reason),
			map[string]string{"user": p.Username, "reason": reason})
		return err
	})
	return out, err
}
