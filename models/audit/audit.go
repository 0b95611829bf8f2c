// Package audit is the security audit log of DESIGN §10.2 (等保 2.0): an
// append-only table of who did what, from which client (a keyed hash, never
// the address), to what, with which outcome. Handlers add one row per
// audited action with Store.Record; the auditor reads them (List) and an
// hourly purge drops rows past the retention. Nothing here updates or
// deletes a row otherwise.
package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
)

// Actions recorded. The list is the contract of the auditor's filters.
const (
	ActionLogin           = "login"           // outcome ok, failed or refused
	ActionLogout          = "logout"          //
	ActionPasswordChange  = "password_change" // the user's own
	ActionPasswordReset   = "password_reset"  // by an administrator or the CLI
	ActionOTPEnrol        = "otp_enrol"       //
	ActionOTPReset        = "otp_reset"       //
	ActionUserCreate      = "user_create"     //
	ActionUserUpdate      = "user_update"     // role, unit, disabled
	ActionTokenCreate     = "token_create"    //
	ActionTokenRevoke     = "token_revoke"    //
	ActionUnitChange      = "unit_change"     // create or update
	ActionCategoryChange  = "category_change" //
	ActionRuleChange      = "rule_change"     // routing rules
	ActionHolidayChange   = "holiday_change"  //
	ActionDeadlineChange  = "deadline_change" //
	ActionContactReveal   = "contact_reveal"  //
	ActionExport          = "export"          // statistics exports, the report
	ActionDownload        = "attachment_download"
	ActionAuditExport     = "audit_export" // the auditor's CSV
	OutcomeOK             = "ok"
	OutcomeFailed         = "failed"
	OutcomeRefused        = "refused"
	DefaultRetention      = 365 * 24 * time.Hour
	MinRetention          = 180 * 24 * time.Hour
	maxListLimit          = 500
	defaultListLimit      = 100
	fieldActor, fieldRole = 64, 16
)

// Entry is one audited action as a handler reports it. Never put a
// password, token, receipt or tipster contact in any field.
type Entry struct {
	Actor     string // username, or the username tried for a failed login
	ActorRole string
	Client    string // keyed hash of the client address ("cli" for commands)
	Action    string
	Target    string // what was acted on: "user:alice", "case:42", "token:7"
	Outcome   string // ok (default), failed, refused
	Detail    string // a short, non-secret note
}

// Record is a stored row.
type Record struct {
	ID        uint64    `gorm:"primaryKey" json:"id"`
	At        time.Time `gorm:"not null" json:"at"`
	Actor     string    `gorm:"size:64;not null" json:"actor"`
	ActorRole string    `gorm:"size:16;not null" json:"actor_role"`
	Client    string    `gorm:"size:64;not null" json:"client"`
	Action    string    `gorm:"size:48;not null" json:"action"`
	Target    string    `gorm:"size:200;not null" json:"target"`
	Outcome   string    `gorm:"size:16;not null" json:"outcome"`
	Detail    string    `gorm:"size:500;not null" json:"detail"`
}

// TableName is the migrated table.
func (Record) TableName() string { return "audit_log" }

// Store reads and appends the audit log.
type Store struct {
	db  *gorm.DB
	now func() time.Time
	log *slog.Logger
}

// New builds the audit store on the core store's database and clock.
func New(db *gorm.DB, now func() time.Time, log *slog.Logger) *Store {
	if log == nil {
		log = slog.Default()
	}
	return &Store{db: db, now: now, log: log}
}

// Record appends one entry. A failure is logged here and returned, so the
// caller may decide; handlers go on (the action itself already happened).
func (s *Store) Record(ctx context.Context, e Entry) error {
	if e.Outcome == "" {
		e.Outcome = OutcomeOK
	}
	r := Record{At: s.now().UTC().Truncate(time.Microsecond), Actor: clip(e.Actor, fieldActor), ActorRole: clip(e.ActorRole, fieldRole),
		Client: clip(e.Client, 64), Action: clip(e.Action, 48), Target: clip(e.Target, 200), Outcome: clip(e.Outcome, 16),
		Detail: clip(e.Detail, 500)}
	if err := s.db.WithContext(ctx).Create(&r).Error; err != nil {
		s.log.ErrorContext(ctx, "audit record lost", "action", e.Action, "actor", e.Actor, "err", err)
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	return nil
}

// clip cuts s to n runes of valid UTF-8.
func clip(s string, n int) string {
	if !utf8.ValidString(s) {
		s = string([]rune(s))
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// Filter selects rows for the auditor; the zero value is everything,
// newest first.
type Filter struct {
	From, To      time.Time // To is exclusive
	Actor, Action string
	// Cursor is the id of the last row of the previous page.
	Cursor uint64
	Limit  int
}

// ErrBadFilter is wrapped by a filter's validation errors.
var ErrBadFilter = errors.New("bad audit filter")

// List returns a page of rows, newest first, and the cursor of the next
// page (0 when this is the last).
func (s *Store) List(ctx context.Context, f Filter) ([]Record, uint64, error) {
	if f.Limit <= 0 {
		f.Limit = defaultListLimit
	}
	f.Limit = min(f.Limit, maxListLimit)
	var rows []Record
	if err := s.query(ctx, f).Limit(f.Limit + 1).Find(&rows).Error; err != nil {
		return nil, 0, fmt.Errorf("list audit log: %w", err)
	}
	var next uint64
	if len(rows) > f.Limit {
		rows = rows[:f.Limit]
		next = rows[len(rows)-1].ID
	}
	return rows, next, nil
}

// Each calls fn for every row f selects (no limit), newest first, in
// batches: the CSV export streams through it.
func (s *Store) Each(ctx context.Context, f Filter, fn func(Record) error) error {
	f.Limit = maxListLimit
	for {
		rows, next, err := s.List(ctx, f)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if err := fn(r); err != nil {
				return err
			}
		}
		if next == 0 {
			return nil
		}
		f.Cursor = next
	}
}

func (s *Store) query(ctx context.Context, f Filter) *gorm.DB {
	q := s.db.WithContext(ctx).Model(&Record{}).Order("id DESC")
	if !f.From.IsZero() {
		q = q.Where("at >= ?", f.From.UTC())
	}
	if !f.To.IsZero() {
		q = q.Where("at < ?", f.To.UTC())
	}
	if f.Actor != "" {
		q = q.Where("actor = ?", f.Actor)
	}
	if f.Action != "" {
		q = q.Where("action = ?", f.Action)
	}
	if f.Cursor != 0 {
		q = q.Where("id < ?", f.Cursor)
	}
	return q
}

// Purge deletes rows older than retention (never less than MinRetention)
// and returns how many went.
func (s *Store) Purge(ctx context.Context, retention time.Duration) (int64, error) {
	retention = max(retention, MinRetention)
	res := s.db.WithContext(ctx).Where("at < ?", s.now().UTC().Add(-retention)).Delete(&Record{})
	if res.Error != nil {
		return 0, fmt.Errorf("purge audit log: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// RunRetention purges once an hour until ctx ends.
func (s *Store) RunRetention(ctx context.Context, retention time.Duration) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := s.Purge(ctx, retention); err != nil {
			s.log.WarnContext(ctx, "audit retention", "err", err)
		} else if n > 0 {
			s.log.InfoContext(ctx, "audit retention", "purged", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
