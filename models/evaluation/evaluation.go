// Package evaluation is 码上评议 (DESIGN §10.6): anonymous ratings of a
// unit's service by scanning its poster, and the cadre survey (干部问卷)
// answered once per printed one-time code. Its rows are declared in
// package models (AllModels); the queries live here.
package evaluation

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"jianfu/models"
)

// Store reads and writes evaluations and surveys through the core store's
// database handle and clock.
type Store struct {
	core *models.Store
	db   *gorm.DB
	now  func() time.Time
}

// New builds the store on core and registers its statistics (per-unit
// service satisfaction and the survey shares) with core.Stats.
func New(core *models.Store) *Store {
	db, now := core.DB(context.Background()), core.Now
	s := &Store{core: core, db: db, now: now}
	core.AddStatsSection("evaluation", s.statsSection)
	return s
}

// Ratings of a service, the same words as the tipster's rating of a case.
const (
	Satisfied          = "satisfied"
	BasicallySatisfied = "basically_satisfied"
	Unsatisfied        = "unsatisfied"
)

// MaxComment bounds an evaluation's comment, in characters.
const MaxComment = 500

// EvaluationInput is one rating from the /rate page or the API.
type EvaluationInput struct {
	Unit    string // unit code
	Rating  string
	Comment string
}

// Evaluation is what was stored.
type Evaluation struct {
	Unit    models.Unit
	Rating  string
	Comment string
	// OfferTip: an 不满意 with a comment may become a tip.
	OfferTip bool
}

func (s *Store) day() string { return s.now().In(models.Shanghai()).Format("2006-01-02") }

// UnitByCode returns an active unit, or models.ErrNotFound.
func (s *Store) UnitByCode(ctx context.Context, code string) (models.Unit, error) {
	var u models.Unit
	code = strings.TrimSpace(code)
	if code == "" || len(code) > 32 {
		return u, fmt.Errorf("unit %q: %w", code, models.ErrNotFound)
	}
	err := s.db.WithContext(ctx).Where("code = ? AND active = ?", code, true).Take(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return u, fmt.Errorf("unit %q: %w", code, models.ErrNotFound)
	}
	if err != nil {
		return u, fmt.Errorf("load unit %q: %w", code, err)
	}
	return u, nil
}

func invalid(field, msg string) error {
	return &models.ValidationError{Fields: map[string]string{field: msg}}
}

// AddEvaluation stores one rating. Nothing identifying is kept: the unit,
// the rating, the comment and the day.
func (s *Store) AddEvaluation(ctx context.Context, in EvaluationInput) (Evaluation, error) {
	f := map[string]string{}
	switch in.Rating {
	case Satisfied, BasicallySatisfied, Unsatisfied:
	case "":
		f["rating"] = "请选择评价：满意、基本满意或不满意"
	default:
		f["rating"] = "rating 应为 satisfied、basically_satisfied 或 unsatisfied"
	}
	comment := strings.TrimSpace(in.Comment)
	if n := utf8.RuneCountInString(comment); n > MaxComment {
		f["comment"] = fmt.Sprintf("意见建议不超过%d个字（现在%d个字）", MaxComment, n)
	} else if m := models.TextProblem("意见建议", comment, true); m != "" {
		f["comment"] = m
	}
	u, err := s.UnitByCode(ctx, in.Unit)
	if errors.Is(err, models.ErrNotFound) {
		f["unit"] = "单位不存在或已停用"
	} else if err != nil {
		return Evaluation{}, err
	}
	if len(f) > 0 {
		return Evaluation{}, &models.ValidationError{Fields: f}
	}
	row := models.ServiceEvaluation{UnitID: u.ID, Rating: in.Rating, Comment: comment, RatedOn: s.day()}
	if err := s.db.WithContext(ctx).Create(&row).Error; err != nil {
		return Evaluation{}, fmt.Errorf("store evaluation: %w", err)
	}
	return Evaluation{Unit: u, Rating: in.Rating, Comment: comment,
		OfferTip: in.Rating == Unsatisfied && comment != ""}, nil
}

// UnitSatisfaction is the service rating of one unit in a period.
type UnitSatisfaction struct {
	Code               string      `json:"code"`
	Name               string      `json:"name"`
	Kind               string      `json:"kind"`
	Rated              int64       `json:"rated"`
	Satisfied          int64       `json:"satisfied"`
	BasicallySatisfied int64       `json:"basically_satisfied"`
	Unsatisfied        int64       `json:"unsatisfied"`
	SatisfactionRate   models.Rate `json:"satisfaction_rate" gorm:"-"`
}

// ServiceSatisfaction counts the ratings of the days from..to (both
// included, YYYY-MM-DD in Asia/Shanghai) per unit, units with ratings
// only, townships first then by code; unitID limits it to one unit.
func (s *Store) ServiceSatisfaction(ctx context.Context, from, to string, unitID uint64) ([]UnitSatisfaction, error) {
	q := s.db.WithContext(ctx).Table("service_evaluations e").
		Select("u.code, u.name, u.kind, COUNT(*) AS rated, "+
			"COALESCE(SUM(CASE WHEN e.rating = 'satisfied' THEN 1 ELSE 0 END), 0) AS satisfied, "+
			"COALESCE(SUM(CASE WHEN e.rating = 'basically_satisfied' THEN 1 ELSE 0 END), 0) AS basically_satisfied, "+
			"COALESCE(SUM(CASE WHEN e.rating = 'unsatisfied' THEN 1 ELSE 0 END), 0) AS unsatisfied").
		Joins("JOIN units u ON u.id = e.unit_id").
		Where("e.rated_on >= ? AND e.rated_on <= ?", from, to).
		Group("u.code, u.name, u.kind").Order("u.kind DESC, u.code")
	if unitID != 0 {
		q = q.Where("e.unit_id = ?", unitID)
	}
	out := []UnitSatisfaction{}
	if err := q.Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("service satisfaction: %w", err)
	}
	for i := range out {
		r := &out[i]
		r.SatisfactionRate = models.NewRate(r.Satisfied+r.BasicallySatisfied, r.Rated)
	}
	return out, nil
}
