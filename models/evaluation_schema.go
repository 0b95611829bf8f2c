package models

import (
	"context"
	"sync"
	"time"
)

// The rows of 码上评议 (DESIGN §10.6): service evaluations by scan and the
// cadre survey. Their store lives in models/evaluation; the rows are here
// so that AllModels (and the migration check) can list them without an
// import cycle.

// ServiceEvaluation is one anonymous rating of a unit's service. Nothing
// in it identifies the person: no address, no cookie, and only the day.
type ServiceEvaluation struct {
	ID      uint64 `gorm:"primaryKey"`
	UnitID  uint64 `gorm:"not null"`
	Rating  string `gorm:"size:32;not null"`
	Comment string `gorm:"type:text;not null"`
	// RatedOn is the Asia/Shanghai day (YYYY-MM-DD), never the instant.
	RatedOn string `gorm:"size:10;not null"`
}

// Survey is a cadre survey (干部问卷) an administrator defines.
type Survey struct {
	ID        uint64    `gorm:"primaryKey"`
	Title     string    `gorm:"size:100;not null"`
	CreatedAt time.Time `gorm:"not null"`
}

// SurveyQuestion is one single-choice question; Options is a JSON array
// of strings. The survey's effect question (Effect) is the one the annual
// report quotes; its first Positive options count as 显著或较好.
type SurveyQuestion struct {
	ID       uint64 `gorm:"primaryKey"`
	SurveyID uint64 `gorm:"not null"`
	Position int    `gorm:"not null"`
	Text     string `gorm:"size:200;not null"`
	Options  string `gorm:"type:text;not null"`
	Effect   bool   `gorm:"not null"`
	Positive int    `gorm:"not null"`
}

// SurveyCode is a one-time code printed on a slip; only its keyed hash is
// stored, and Used carries no time, so nothing links it to a response.
type SurveyCode struct {
	ID       uint64 `gorm:"primaryKey"`
	SurveyID uint64 `gorm:"not null"`
	CodeHash string `gorm:"size:64;not null"`
	Used     bool   `gorm:"not null"`
}

// SurveyResponse is one cadre's answers, with the day only.
type SurveyResponse struct {
	ID         uint64 `gorm:"primaryKey"`
	SurveyID   uint64 `gorm:"not null"`
	AnsweredOn string `gorm:"size:10;not null"`
}

// SurveyAnswer is the option (0-based) chosen for one question.
type SurveyAnswer struct {
	ID         uint64 `gorm:"primaryKey"`
	ResponseID uint64 `gorm:"not null"`
	QuestionID uint64 `gorm:"not null"`
	Choice     int    `gorm:"not null"`
}

// KeyedHash is HMAC-SHA256 under a purpose key derived from the secret,
// for domain packages that store one-time codes as hashes.
func (s *Store) KeyedHash(purpose, value string) string { return s.keyedHash(purpose, value) }

// StatsSection is figures a domain package adds to the statistics: a key
// in GET /api/v1/stats, tables for the xlsx/CSV/report, paragraphs for the
// report and definitions for the 指标说明 sheet.
type StatsSection struct {
	ID          string
	JSON        map[string]any
	Tables      []Table
	Paragraphs  []string
	Definitions []Figure
}

// StatsSectionFunc computes a section for the period of st.
type StatsSectionFunc func(ctx context.Context, st *Stats) (StatsSection, error)

// statsSections holds the registered sections by name, in order.
type statsSections struct {
	mu    sync.Mutex
	names []string
	fns   map[string]StatsSectionFunc
}

// AddStatsSection registers fn under name; registering a name again
// replaces it, so wiring it twice is harmless.
func (s *Store) AddStatsSection(name string, fn StatsSectionFunc) {
	r := &s.sections
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fns == nil {
		r.fns = map[string]StatsSectionFunc{}
	}
	if _, ok := r.fns[name]; !ok {
		r.names = append(r.names, name)
	}
	r.fns[name] = fn
}

// addSections runs the registered sections for st.
func (s *Store) addSections(ctx context.Context, st *Stats) error {
	r := &s.sections
	r.mu.Lock()
	fns := make([]StatsSectionFunc, len(r.names))
	for i, n := range r.names {
		fns[i] = r.fns[n]
	}
	r.mu.Unlock()
	for _, fn := range fns {
		sec, err := fn(ctx, st)
		if err != nil {
			return err
		}
		st.Sections = append(st.Sections, sec)
	}
	return nil
}

// NewRate is a share rounded like every rate of the statistics.
func NewRate(num, den int64) Rate { return newRate(num, den) }

// IntCell, DecCell and TextCell build table cells for domain packages.
func IntCell(n int64) Cell { return intCell(n) }

// DecCell is a one-decimal number, or "—" for nil.
func DecCell(v *float64) Cell { return decCell(v) }

// TextCell is a text cell.
func TextCell(s string) Cell { return textCell(s) }
