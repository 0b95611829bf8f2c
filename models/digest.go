package models

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql/driver"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"time"

	"gorm.io/gorm"
)

// Weekly digests (DESIGN §4 Email). Each digest is a mail that goes out
// exactly once per scope and ISO week, because the digests table holds one
// row per (scope, week): the weekly run plans the rows in one transaction,
// a sender claims its row before it mails and marks it sent afterwards. The
// daily notice batches (notices.go) use the same rows and claims. See
// docs/digest.md for the states and the one window in which a mail can go
// out twice.

// Task types of the digest and of the notice batches; both run on QueueMail.
const (
	TaskDigestSend  = "digest:send"  // one unit's digest or the summary
	TaskNoticeBatch = "notice:batch" // one person's reminders of one day
)

// Digest row states.
const (
	DigestPending = "pending" // planned, nobody sending it
	DigestSending = "sending" // claimed at claimed_at; the claim lapses after DigestLease
	DigestSent    = "sent"
	DigestSkipped = "skipped" // nothing left to report, or nobody to send it to
)

// ScopeSummary is the scope of the county-wide summary for leaders and the
// office.
const ScopeSummary = "summary"

// UnitScope is the scope of one unit's digest.
func UnitScope(code string) string { return "unit:" + code }

// DigestLease is how long a claim holds. A sender that has not finished by
// then is taken to have died, and the next run sends the mail. It is well
// above the 2-minute asynq timeout of a mail task, so a live sender is never
// overtaken.
const DigestLease = 10 * time.Minute

// DueSoonWindow: waiting assignments due within it are "due soon".
const DueSoonWindow = 7 * 24 * time.Hour

// summaryOldest is how many overdue cases the summary lists.
const summaryOldest = 20

// waitingStatuses are the assignment statuses in which the unit has to act;
// a submitted report waits for the office, so it is not the unit's delay.
var waitingStatuses = []string{AssignmentPending, AssignmentReturned}

// DigestPayload is the TaskDigest and TaskDigestSend payload. For TaskDigest
// an empty Week means the current week and Scope is unused.
type DigestPayload struct {
	Week  string `json:"week,omitempty"`
	Scope string `json:"scope,omitempty"`
}

// DigestKey names one digest row.
type DigestKey struct {
	Scope string
	Week  string
}

// ISOWeek returns the key of the ISO week that contains t on the Beijing
// clock, such as "2026-W48".
func ISOWeek(t time.Time) string {
	y, w := t.In(Shanghai()).ISOWeek()
	return fmt.Sprintf("%04d-W%02d", y, w)
}

var weekForm = regexp.MustCompile(`^(\d{4})-W(\d{2})$`)

// ParseWeek checks a week key such as "2026-W48": a week that exists in that
// ISO year.
func ParseWeek(s string) (string, error) {
	m := weekForm.FindStringSubmatch(s)
	if m == nil {
		return "", invalid("week", "周次格式应为 2026-W48")
	}
	y, _ := strconv.Atoi(m[1])
	w, _ := strconv.Atoi(m[2])
	// 28 December is always in the last ISO week of its year.
	if _, last := time.Date(y, 12, 28, 12, 0, 0, 0, time.UTC).ISOWeek(); w < 1 || w > last {
		return "", invalid("week", fmt.Sprintf("%d年没有第%d周", y, w))
	}
	return s, nil
}

// CurrentWeek is the ISO week now, on the Beijing clock.
func (s *Store) CurrentWeek() string { return ISOWeek(s.clock()) }

// DigestPlan says what PlanDigests queued.
type DigestPlan struct {
	Week string
	// Queued are the scopes this call planned. A rerun in the same week
	// queues only units that have come to have something to report since.
	Queued []string
}

// PlanDigests fans the weekly digest out. In one transaction it writes a
// pending row and a TaskDigestSend outbox task for the summary and for each
// unit with an overdue or due-soon assignment, skipping every scope that
// has a row this week already: a rerun, or a second scheduler at the same
// time, plans nothing twice. Week "" is the current week.
func (s *Store) PlanDigests(ctx context.Context, week string) (DigestPlan, error) {
	if week == "" {
		week = s.CurrentWeek()
	} else if _, err := ParseWeek(week); err != nil {
		return DigestPlan{}, err
	}
	plan := DigestPlan{Week: week}
	// Units with something else to report (registry warnings), asked
	// before the transaction: SQLite's one connection is taken inside it.
	var extra []string
	if s.extras != nil {
		var err error
		if extra, err = s.extras.DigestUnits(ctx); err != nil {
			return DigestPlan{}, fmt.Errorf("plan digests of %s: %w", week, err)
		}
	}
	err := s.write(ctx, func(w *txWork) error {
		plan.Queued = nil // a transaction may run again (see commit)
		var codes []string
		err := waitingAssignments(w.tx).Joins("JOIN units ON units.id = assignments.unit_id").
			Where("assignments.due_at < ?", w.now.Add(DueSoonWindow)).
			Distinct().Order("units.code").Pluck("units.code", &codes).Error
		if err != nil {
			return fmt.Errorf("find units to digest: %w", err)
		}
		for _, c := range extra {
			if !slices.Contains(codes, c) {
				codes = append(codes, c)
			}
		}
		slices.Sort(codes)
		scopes := []string{ScopeSummary}
		for _, c := range codes {
			scopes = append(scopes, UnitScope(c))
		}
		for _, scope := range scopes {
			created, err := s.insertDigest(w.tx, Digest{Scope: scope, Week: week, Status: DigestPending, CreatedAt: w.now})
			if err != nil {
				return fmt.Errorf("plan digest %s %s: %w", scope, week, err)
			}
			if !created {
				continue // planned by an earlier run
			}
			if err := w.add(TaskDigestSend, QueueMail, DigestPayload{Week: week, Scope: scope}, time.Time{}); err != nil {
				return err
			}
			plan.Queued = append(plan.Queued, scope)
		}
		return nil
	})
	if err != nil {
		return DigestPlan{}, fmt.Errorf("plan digests of %s: %w", week, err)
	}
	return plan, nil
}

// insertDigest inserts d unless its (scope, week) row exists, and reports
// whether it did. It is plain SQL because gorm's Create adds RETURNING on
// MariaDB, whose row count is then 1 for a duplicate as well.
func (s *Store) insertDigest(tx *gorm.DB, d Digest) (bool, error) {
	conflict := "ON CONFLICT (scope, week) DO NOTHING"
	if s.dialect == "mysql" {
		conflict = "ON DUPLICATE KEY UPDATE id = id" // 0 rows affected for a duplicate
	}
	res := tx.Exec("INSERT INTO digests (scope, week, status, created_at, claimed_at, claim_token) VALUES (?, ?, ?, ?, ?, ?) "+conflict,
		d.Scope, d.Week, d.Status, d.CreatedAt, d.ClaimedAt, d.ClaimToken)
	return res.RowsAffected == 1, res.Error
}

// waitingAssignments selects the assignments whose unit has to act, with
// their cases, and a due time.
func waitingAssignments(tx *gorm.DB) *gorm.DB {
	return tx.Table("assignments").Joins("JOIN cases ON cases.id = assignments.case_id").
		Where("assignments.status IN ? AND cases.stage <> ? AND assignments.due_at IS NOT NULL", waitingStatuses, StageClosed)
}

// Claim is the outcome of ClaimDigest.
type Claim int

// Claim outcomes.
const (
	ClaimWon  Claim = iota + 1 // the caller sends the mail, then calls FinishDigest or ReleaseDigest
	ClaimDone                  // sent or skipped already: nothing to do
	ClaimBusy                  // another sender holds a live claim: try again later
)

// ErrClaimLost: the caller's claim on a digest lapsed and another sender
// holds it now; the caller must not send, finish or release it.
var ErrClaimLost = errors.New("digest claim lapsed and was taken over")

// ClaimDigest takes the right to send one digest. It inserts the row as
// sending, or moves a pending row, or one whose claim has lapsed, to
// sending. The unique (scope, week) key and the conditional UPDATE, which
// the database re-checks under the row lock, let exactly one caller win.
// The winner gets the claim's token: ConfirmDigest, FinishDigest and
// ReleaseDigest act only with it.
func (s *Store) ClaimDigest(ctx context.Context, k DigestKey) (Claim, string, error) {
	now := s.clock()
	db := s.db.WithContext(ctx)
	token := rand.Text()
	created, err := s.insertDigest(db, Digest{Scope: k.Scope, Week: k.Week, Status: DigestSending, CreatedAt: now, ClaimedAt: &now,
		ClaimToken: &token})
	if err != nil {
		return 0, "", fmt.Errorf("claim digest %s %s: %w", k.Scope, k.Week, err)
	}
	if created {
		return ClaimWon, token, nil
	}
	res := db.Model(&Digest{}).
		Where("scope = ? AND week = ? AND (status = ? OR (status = ? AND claimed_at < ?))",
			k.Scope, k.Week, DigestPending, DigestSending, now.Add(-DigestLease)).
		Updates(map[string]any{"status": DigestSending, "claimed_at": now, "claim_token": token})
	if res.Error != nil {
		return 0, "", fmt.Errorf("claim digest %s %s: %w", k.Scope, k.Week, res.Error)
	}
	if res.RowsAffected == 1 {
		return ClaimWon, token, nil
	}
	var status string
	if err := db.Model(&Digest{}).Where("scope = ? AND week = ?", k.Scope, k.Week).Pluck("status", &status).Error; err != nil {
		return 0, "", fmt.Errorf("claim digest %s %s: %w", k.Scope, k.Week, err)
	}
	if status == DigestSending {
		return ClaimBusy, "", nil
	}
	return ClaimDone, "", nil
}

// ConfirmDigest checks, right before the mail goes out, that the claim
// with token is still the caller's, and renews its lease. A sender that
// stalled past its lease gets ErrClaimLost and must not send: another
// sender has taken the digest over.
func (s *Store) ConfirmDigest(ctx context.Context, k DigestKey, token string) error {
	now := s.clock()
	mine := func() *gorm.DB {
		return s.db.WithContext(ctx).Model(&Digest{}).
			Where("scope = ? AND week = ? AND status = ? AND claim_token = ? AND claimed_at >= ?",
				k.Scope, k.Week, DigestSending, token, now.Add(-DigestLease))
	}
	res := mine().Update("claimed_at", now)
	if res.Error != nil {
		return fmt.Errorf("confirm digest %s %s: %w", k.Scope, k.Week, res.Error)
	}
	if res.RowsAffected == 0 { // MySQL counts only changed rows: same time, same row?
		var n int64
		if err := mine().Count(&n).Error; err != nil {
			return fmt.Errorf("confirm digest %s %s: %w", k.Scope, k.Week, err)
		}
		if n == 0 {
			return fmt.Errorf("confirm digest %s %s: %w", k.Scope, k.Week, ErrClaimLost)
		}
	}
	return nil
}

// FinishParams records the end of a claimed digest.
type FinishParams struct {
	Key    DigestKey
	Token  string // from ClaimDigest
	Status string // DigestSent or DigestSkipped
	// OutboxID, when set, is the task that sent it; it is marked done in
	// the same transaction.
	OutboxID uint64
}

// FinishDigest marks a claimed digest sent or skipped.
func (s *Store) FinishDigest(ctx context.Context, p FinishParams) error {
	if p.Status != DigestSent && p.Status != DigestSkipped {
		return fmt.Errorf("finish digest: status %q", p.Status)
	}
	err := s.write(ctx, func(w *txWork) error {
		set := map[string]any{"status": p.Status}
		if p.Status == DigestSent {
			set["sent_at"] = w.now
		}
		res := w.tx.Model(&Digest{}).Where("scope = ? AND week = ? AND status = ? AND claim_token = ?",
			p.Key.Scope, p.Key.Week, DigestSending, p.Token).Updates(set)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrClaimLost // the new sender finishes it
		}
		if p.OutboxID == 0 {
			return nil
		}
		return w.tx.Model(&OutboxTask{}).Where("id = ? AND done_at IS NULL", p.OutboxID).Update("done_at", w.now).Error
	})
	if err != nil {
		return fmt.Errorf("finish digest %s %s: %w", p.Key.Scope, p.Key.Week, err)
	}
	return nil
}

// ReleaseDigest gives the claim with token back after a failed send, so
// the retry need not wait for the lease. A claim that has passed to
// another sender stays with it.
func (s *Store) ReleaseDigest(ctx context.Context, k DigestKey, token string) error {
	err := s.db.WithContext(ctx).Model(&Digest{}).
		Where("scope = ? AND week = ? AND status = ? AND claim_token = ?", k.Scope, k.Week, DigestSending, token).
		Updates(map[string]any{"status": DigestPending, "claimed_at": nil, "claim_token": nil}).Error
	if err != nil {
		return fmt.Errorf("release digest %s %s: %w", k.Scope, k.Week, err)
	}
	return nil
}

// WeekDigests lists the weekly digests (summary and units, not notice
// batches) of a week, by scope.
func (s *Store) WeekDigests(ctx context.Context, week string) ([]Digest, error) {
	var ds []Digest
	err := s.db.WithContext(ctx).Where("week = ? AND (scope = ? OR scope LIKE ?)", week, ScopeSummary, "unit:%").
		Order("scope").Find(&ds).Error
	if err != nil {
		return nil, fmt.Errorf("list digests of %s: %w", week, err)
	}
	return ds, nil
}

// DigestItem is one waiting assignment in a unit's digest.
type DigestItem struct {
	CaseID       uint64
	AssignmentID uint64
	Title        string
	Stage        string
	Role         string // AssignGrassroots or AssignCounty
	Status       string // AssignmentPending or AssignmentReturned
	DueAt        time.Time
	// WorkdaysOverdue counts the working days since DueAt (0: not overdue,
	// or overdue since earlier today).
	WorkdaysOverdue int
}

// UnitDigest is what a unit's liaisons must act on.
type UnitDigest struct {
	At      time.Time
	Unit    Unit
	To      []string     // the unit's liaisons with an email
	Overdue []DigestItem // longest overdue first
	DueSoon []DigestItem // due within DueSoonWindow, soonest first
	// Warnings are the unit's early warnings (智能预警) from DigestExtras,
	// one zh-CN line each.
	Warnings []string
}

// Empty reports whether the unit has nothing to report.
func (d UnitDigest) Empty() bool {
	return len(d.Overdue) == 0 && len(d.DueSoon) == 0 && len(d.Warnings) == 0
}

// DigestExtras adds what another domain has for a unit to its weekly
// digest: the registry's warnings (models/registry), which models cannot
// import. main installs it with SetDigestExtras.
type DigestExtras interface {
	// DigestUnits are the codes of the units with something to report.
	DigestUnits(ctx context.Context) ([]string, error)
	// UnitLines are one unit's lines, zh-CN.
	UnitLines(ctx context.Context, code string) ([]string, error)
}

// SetDigestExtras installs the digest's extra lines (at wiring time).
func (s *Store) SetDigestExtras(e DigestExtras) { s.extras = e }

// UnitDigest builds one unit's digest as of now in two queries: the unit
// with its liaisons' addresses, and its waiting assignments with their
// cases and tips.
func (s *Store) UnitDigest(ctx context.Context, code string) (UnitDigest, error) {
	code = UnitCodeKey(code)
	now := s.clock()
	db := s.db.WithContext(ctx)
	var rows []struct {
		ID    uint64
		Code  string
		Name  string
		Kind  string
		Email *string
	}
	err := db.Table("units").Select("units.id, units.code, units.name, units.kind, users.email").
		Joins("LEFT JOIN users ON users.unit_id = units.id AND users.role = ? AND users.disabled = ? AND users.email <> ''",
			RoleLiaison, false).
		Where("units.code = ?", code).Order("users.id").Scan(&rows).Error
	if err != nil {
		return UnitDigest{}, fmt.Errorf("load unit %s for its digest: %w", code, err)
	}
	if len(rows) == 0 {
		return UnitDigest{}, fmt.Errorf("unit %s: %w", code, ErrNotFound)
	}
	d := UnitDigest{At: now, Unit: Unit{ID: rows[0].ID, Code: rows[0].Code, Name: rows[0].Name, Kind: rows[0].Kind}}
	for _, r := range rows {
		if r.Email != nil {
			d.To = append(d.To, *r.Email)
		}
	}
	var items []DigestItem
	err = waitingAssignments(db).Joins("JOIN tips ON tips.id = cases.tip_id").
		Select("assignments.case_id, assignments.id AS assignment_id, tips.title, cases.stage, assignments.role, "+
			"assignments.status, assignments.due_at").
		Where("assignments.unit_id = ? AND assignments.due_at < ?", d.Unit.ID, now.Add(DueSoonWindow)).
		Order("assignments.due_at, assignments.id").Scan(&items).Error
	if err != nil {
		return UnitDigest{}, fmt.Errorf("load digest of unit %s: %w", code, err)
	}
	cal := s.calendar.Load()
	for _, it := range items {
		if it.DueAt.Before(now) {
			it.WorkdaysOverdue = cal.WorkdaysBetween(it.DueAt, now)
			d.Overdue = append(d.Overdue, it)
		} else {
			d.DueSoon = append(d.DueSoon, it)
		}
	}
	if s.extras != nil {
		if d.Warnings, err = s.extras.UnitLines(ctx, code); err != nil {
			return UnitDigest{}, fmt.Errorf("load warnings of unit %s: %w", code, err)
		}
	}
	return d, nil
}

// UnitCount is one unit's line in the summary.
type UnitCount struct {
	Code    string
	Name    string
	Waiting int // assignments the unit has to act on
	Overdue int
	DueSoon int
}

// OverdueCase is one case in the summary's list of the longest overdue.
type OverdueCase struct {
	CaseID          uint64
	Title           string
	Stage           string
	DueAt           time.Time // the earliest due time that has passed
	WorkdaysOverdue int
	Units           []string // names of the units whose assignments are overdue
}

// SummaryDigest is the county-wide weekly summary for leaders and the office.
type SummaryDigest struct {
	At    time.Time
	To    []string // leaders and office staff with an email
	Units []UnitCount
	// OverdueAssignments is the sum of Units[].Overdue; OverdueStages
	// counts cases overdue in a stage the office owns (all but rectify).
	OverdueAssignments int
	OverdueStages      int
	Oldest             []OverdueCase // at most 20, longest overdue first
	// This year's tips received, accepted and closed, and the 办结率
	// (closed ÷ accepted), defined exactly as in the statistics
	// (docs/statistics.md), so the digest and the annual report agree.
	Year                       int
	Received, Accepted, Closed int64
	ClosureRate                Rate
}

// SummaryDigest builds the summary as of now in a fixed handful of
// aggregate queries, however many cases there are.
func (s *Store) SummaryDigest(ctx context.Context) (SummaryDigest, error) {
	now := s.clock()
	db := s.db.WithContext(ctx)
	cal := s.calendar.Load()
	d := SummaryDigest{At: now}
	err := db.Model(&User{}).Where("role IN ? AND disabled = ? AND email <> ''", []string{RoleLeader, RoleOffice}, false).
		Order("id").Pluck("email", &d.To).Error
	if err != nil {
		return d, fmt.Errorf("load summary recipients: %w", err)
	}

	err = waitingAssignments(db).Joins("JOIN units ON units.id = assignments.unit_id").
		Select("units.code, units.name, COUNT(*) AS waiting, "+
			"COALESCE(SUM(CASE WHEN assignments.due_at < ? THEN 1 ELSE 0 END), 0) AS overdue, "+
			"COALESCE(SUM(CASE WHEN assignments.due_at >= ? AND assignments.due_at < ? THEN 1 ELSE 0 END), 0) AS due_soon",
			now, now, now.Add(DueSoonWindow)).
		Group("units.id, units.code, units.name").Scan(&d.Units).Error
	if err != nil {
		return d, fmt.Errorf("count waiting assignments per unit: %w", err)
	}
	slices.SortFunc(d.Units, func(a, b UnitCount) int {
		return cmp.Or(cmp.Compare(b.Overdue, a.Overdue), cmp.Compare(b.DueSoon, a.DueSoon), cmp.Compare(a.Code, b.Code))
	})
	for _, u := range d.Units {
		d.OverdueAssignments += u.Overdue
	}

	var stages int64
	err = db.Model(&Case{}).Where("stage NOT IN ? AND due_at < ?", []string{StageClosed, StageRectify}, now).Count(&stages).Error
	if err != nil {
		return d, fmt.Errorf("count overdue stages: %w", err)
	}
	d.OverdueStages = int(stages)

	if d.Oldest, err = s.oldestOverdue(db, now); err != nil {
		return d, err
	}
	for i := range d.Oldest {
		d.Oldest[i].WorkdaysOverdue = cal.WorkdaysBetween(d.Oldest[i].DueAt, now)
	}

	local := now.In(Shanghai())
	d.Year = local.Year()
	yearStart := time.Date(d.Year, 1, 1, 0, 0, 0, 0, Shanghai()).UTC()
	// The year's figures from the rollups (the statistics' definitions),
	// up to the end of today: what a count of this year's cases gives.
	tomorrow := time.Date(local.Year(), local.Month(), local.Day()+1, 0, 0, 0, 0, Shanghai()).UTC()
	groups, _, err := s.rollupGroups(ctx, yearStart, tomorrow)
	if err != nil {
		return d, err
	}
	year := groups[""].Counts
	d.Received, d.Accepted, d.Closed = year.Received, year.Accepted, year.Closed
	d.ClosureRate = newRate(year.Closed, year.Accepted)
	return d, nil
}

// oldestOverdue finds the longest overdue cases in four queries: cases past
// their stage's due time, cases with overdue waiting assignments, then the
// titles and the units of the few that are listed. Titles come last so
// that a county with thousands of overdue assignments reads the tips table
// only for the cases it shows.
func (s *Store) oldestOverdue(db *gorm.DB, now time.Time) ([]OverdueCase, error) {
	type row struct {
		CaseID uint64
		Stage  string
		DueAt  scannedTime
	}
	var byStage, byUnit []row
	err := db.Table("cases").Select("cases.id AS case_id, cases.stage, cases.due_at").
		Where("cases.stage <> ? AND cases.due_at < ?", StageClosed, now).
		Order("cases.due_at, cases.id").Limit(summaryOldest).Scan(&byStage).Error
	if err != nil {
		return nil, fmt.Errorf("load overdue cases: %w", err)
	}
	err = waitingAssignments(db).
		Select("cases.id AS case_id, cases.stage, MIN(assignments.due_at) AS due_at").
		Where("assignments.due_at < ?", now).
		Group("cases.id, cases.stage").Order("MIN(assignments.due_at), cases.id").Limit(summaryOldest).
		Scan(&byUnit).Error
	if err != nil {
		return nil, fmt.Errorf("load cases with overdue assignments: %w", err)
	}
	merged := map[uint64]OverdueCase{}
	for _, r := range slices.Concat(byStage, byUnit) {
		if m, ok := merged[r.CaseID]; !ok || r.DueAt.Before(m.DueAt) {
			merged[r.CaseID] = OverdueCase{CaseID: r.CaseID, Stage: r.Stage, DueAt: r.DueAt.Time}
		}
	}
	oldest := make([]OverdueCase, 0, len(merged))
	for _, c := range merged {
		oldest = append(oldest, c)
	}
	slices.SortFunc(oldest, func(a, b OverdueCase) int {
		return cmp.Or(a.DueAt.Compare(b.DueAt), cmp.Compare(a.CaseID, b.CaseID))
	})
	if len(oldest) > summaryOldest {
		oldest = oldest[:summaryOldest]
	}
	if len(oldest) == 0 {
		return oldest, nil
	}
	ids := make([]uint64, len(oldest))
	at := map[uint64]int{}
	for i, c := range oldest {
		ids[i] = c.CaseID
		at[c.CaseID] = i
	}
	var titles []struct {
		ID    uint64
		Title string
	}
	err = db.Table("cases").Select("cases.id, tips.title").Joins("JOIN tips ON tips.id = cases.tip_id").
		Where("cases.id IN ?", ids).Scan(&titles).Error
	if err != nil {
		return nil, fmt.Errorf("load titles of overdue cases: %w", err)
	}
	for _, t := range titles {
		oldest[at[t.ID]].Title = t.Title
	}
	var units []struct {
		CaseID uint64
		Name   string
	}
	err = waitingAssignments(db).Joins("JOIN units ON units.id = assignments.unit_id").
		Select("assignments.case_id, units.name").
		Where("assignments.case_id IN ? AND assignments.due_at < ?", ids, now).
		Order("assignments.case_id, units.code").Scan(&units).Error
	if err != nil {
		return nil, fmt.Errorf("load units of overdue cases: %w", err)
	}
	for _, u := range units {
		i := at[u.CaseID]
		oldest[i].Units = append(oldest[i].Units, u.Name)
	}
	return oldest, nil
}

// scannedTime reads a time from an aggregate such as MIN(due_at): MySQL
// returns a DATETIME, SQLite the stored text, because a computed column has
// no declared type for the driver to convert by.
type scannedTime struct{ time.Time }

// sqliteTimeLayouts are the forms the SQLite driver writes times in.
var sqliteTimeLayouts = []string{"2006-01-02 15:04:05.999999999-07:00", "2006-01-02T15:04:05.999999999-07:00",
	"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999Z07:00"}

// Value implements driver.Valuer, which with Scan makes gorm treat it as a
// column like sql.NullTime.
func (t scannedTime) Value() (driver.Value, error) { return t.Time, nil }

// Scan implements sql.Scanner.
func (t *scannedTime) Scan(v any) error {
	switch x := v.(type) {
	case time.Time:
		t.Time = x.UTC()
		return nil
	case []byte:
		return t.parse(string(x))
	case string:
		return t.parse(x)
	}
	return fmt.Errorf("scan %T as a time", v)
}

func (t *scannedTime) parse(s string) error {
	for _, l := range sqliteTimeLayouts {
		if v, err := time.Parse(l, s); err == nil {
			t.Time = v.UTC()
			return nil
		}
	}
	return fmt.Errorf("scan %q as a time", s)
}
