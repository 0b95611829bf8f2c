package evaluation

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm"

	"jianfu/models"
)

// The cadre survey. An administrator defines single-choice questions,
// one of them the effect question, and prints one-time codes. A cadre
// answers once per code; the answer rows hold the survey and the day and
// nothing else, and a code row holds its hash and a used flag without a
// time, so neither the database nor its order can tie a code to answers.

// Errors of a survey code; the API words them for the cadre.
var (
	ErrCodeUnknown = errors.New("survey code unknown")
	ErrCodeUsed    = errors.New("survey code already used")
)

// Limits of a survey definition and of one printing.
const (
	MaxQuestions = 30
	MaxOptions   = 10
	MaxCodes     = 500
)

// QuestionInput is one question as the administrator defines it.
type QuestionInput struct {
	Text    string   `json:"text"`
	Options []string `json:"options"`
	// Effect marks the question the report quotes; its first Positive
	// options (default 2: 显著, 较好) count as a positive answer.
	Effect   bool `json:"effect"`
	Positive int  `json:"positive"`
}

// SurveyInput defines a survey.
type SurveyInput struct {
	Title     string          `json:"title"`
	Questions []QuestionInput `json:"questions"`
}

// Question is a stored question.
type Question struct {
	ID       uint64   `json:"id"`
	Number   int      `json:"number"` // 1-based, as printed
	Text     string   `json:"text"`
	Options  []string `json:"options"`
	Effect   bool     `json:"effect"`
	Positive int      `json:"positive"`
}

// SurveyView is a survey with its questions and code counts.
type SurveyView struct {
	ID        uint64     `json:"id"`
	Title     string     `json:"title"`
	Questions []Question `json:"questions"`
	Codes     int64      `json:"codes"`
	Used      int64      `json:"used"`
}

// CreateSurvey validates and stores a survey definition.
func (s *Store) CreateSurvey(ctx context.Context, in SurveyInput) (SurveyView, error) {
	f := map[string]string{}
	title := strings.TrimSpace(in.Title)
	switch n := utf8.RuneCountInString(title); {
	case n == 0:
		f["title"] = "请填写问卷标题"
	case n > 100:
		f["title"] = "问卷标题不超过100个字"
	default:
		if models.TextProblem("问卷标题", title, false) != "" {
			f["title"] = "问卷标题包含不允许的控制字符"
		}
	}
	if len(in.Questions) == 0 || len(in.Questions) > MaxQuestions {
		f["questions"] = fmt.Sprintf("问卷应有1至%d道题", MaxQuestions)
	}
	effects := 0
	rows := make([]models.SurveyQuestion, 0, len(in.Questions))
	for i, q := range in.Questions {
		if i >= MaxQuestions {
			break
		}
		key, label := fmt.Sprintf("questions.%d", i+1), fmt.Sprintf("第%d题", i+1)
		text := strings.TrimSpace(q.Text)
		if n := utf8.RuneCountInString(text); n == 0 || n > 200 || models.TextProblem(label, text, false) != "" {
			f[key] = label + "：题目应为1至200个字，且不含控制字符"
			continue
		}
		if len(q.Options) < 2 || len(q.Options) > MaxOptions {
			f[key] = fmt.Sprintf("%s：应有2至%d个选项", label, MaxOptions)
			continue
		}
		opts := make([]string, len(q.Options))
		for j, o := range q.Options {
			opts[j] = strings.TrimSpace(o)
			if n := utf8.RuneCountInString(opts[j]); n == 0 || n > 50 || models.TextProblem(label, opts[j], false) != "" {
				f[key] = fmt.Sprintf("%s：第%d个选项应为1至50个字，且不含控制字符", label, j+1)
			}
		}
		pos := 0
		if q.Effect {
			effects++
			pos = q.Positive
			if pos == 0 {
				pos = min(2, len(opts)-1)
			}
			if pos < 1 || pos >= len(opts) {
				f[key] = fmt.Sprintf("%s：积极评价的选项数应为1至%d", label, len(opts)-1)
			}
		}
		b, _ := json.Marshal(opts)
		rows = append(rows, models.SurveyQuestion{Position: i + 1, Text: text, Options: string(b), Effect: q.Effect, Positive: pos})
	}
	if effects != 1 && f["questions"] == "" {
		f["questions"] = "请把一道题标记为“减负成效”题（年度报告引用该题的“显著”“较好”占比），且只能标记一道"
	}
	if len(f) > 0 {
		return SurveyView{}, &models.ValidationError{Fields: f}
	}
	sv := models.Survey{Title: title, CreatedAt: s.now()}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&sv).Error; err != nil {
			return err
		}
		for i := range rows {
			rows[i].SurveyID = sv.ID
		}
		return tx.Create(&rows).Error
	})
	if err != nil {
		return SurveyView{}, fmt.Errorf("create survey: %w", err)
	}
	return s.Survey(ctx, sv.ID)
}

// Surveys lists every survey, newest first, with its questions.
func (s *Store) Surveys(ctx context.Context) ([]SurveyView, error) {
	var ids []uint64
	if err := s.db.WithContext(ctx).Model(&models.Survey{}).Order("id DESC").Pluck("id", &ids).Error; err != nil {
		return nil, fmt.Errorf("list surveys: %w", err)
	}
	out := make([]SurveyView, 0, len(ids))
	for _, id := range ids {
		v, err := s.Survey(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// Survey loads one survey, or models.ErrNotFound.
func (s *Store) Survey(ctx context.Context, id uint64) (SurveyView, error) {
	db := s.db.WithContext(ctx)
	var sv models.Survey
	if err := db.Take(&sv, id).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return SurveyView{}, fmt.Errorf("survey %d: %w", id, models.ErrNotFound)
		}
		return SurveyView{}, fmt.Errorf("load survey %d: %w", id, err)
	}
	v := SurveyView{ID: sv.ID, Title: sv.Title}
	var qs []models.SurveyQuestion
	if err := db.Where("survey_id = ?", id).Order("position").Find(&qs).Error; err != nil {
		return v, fmt.Errorf("load survey %d questions: %w", id, err)
	}
	for _, q := range qs {
		var opts []string
		if err := json.Unmarshal([]byte(q.Options), &opts); err != nil {
			return v, fmt.Errorf("survey question %d options: %w", q.ID, err)
		}
		v.Questions = append(v.Questions, Question{ID: q.ID, Number: q.Position, Text: q.Text, Options: opts,
			Effect: q.Effect, Positive: q.Positive})
	}
	var counts struct{ Codes, Used int64 }
	if err := db.Model(&models.SurveyCode{}).Where("survey_id = ?", id).
		Select("COUNT(*) AS codes, COALESCE(SUM(CASE WHEN used THEN 1 ELSE 0 END), 0) AS used").Scan(&counts).Error; err != nil {
		return v, fmt.Errorf("count survey %d codes: %w", id, err)
	}
	v.Codes, v.Used = counts.Codes, counts.Used
	return v, nil
}

// codeAlphabet leaves out 0/O and 1/I/L, which a cadre would mistype.
const codeAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

// NormalizeCode uppercases a typed code and drops spaces and dashes.
func NormalizeCode(code string) string {
	code = strings.ToUpper(code)
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, code)
}

func (s *Store) codeHash(code string) string {
	return s.core.KeyedHash("survey-code", NormalizeCode(code))
}

// IssueCodes prints n new one-time codes (XXXX-XXXX-XXXX, about 59 bits
// each) for a survey. They are returned once; only their hashes stay.
func (s *Store) IssueCodes(ctx context.Context, surveyID uint64, n int) ([]string, error) {
	if n < 1 || n > MaxCodes {
		return nil, invalid("count", fmt.Sprintf("一次可生成1至%d个答卷码", MaxCodes))
	}
	if _, err := s.Survey(ctx, surveyID); err != nil {
		return nil, err
	}
	codes := make([]string, n)
	rows := make([]models.SurveyCode, n)
	for i := range codes {
		b := make([]byte, 12)
		for j := range b {
			b[j] = codeAlphabet[randIndex(len(codeAlphabet))]
		}
		codes[i] = string(b[:4]) + "-" + string(b[4:8]) + "-" + string(b[8:])
		rows[i] = models.SurveyCode{SurveyID: surveyID, CodeHash: s.codeHash(codes[i])}
	}
	if err := s.db.WithContext(ctx).Create(&rows).Error; err != nil {
		return nil, fmt.Errorf("issue survey codes: %w", err)
	}
	return codes, nil
}

// randIndex draws uniformly from [0, n) (n ≤ 256) by rejection.
func randIndex(n int) int {
	limit := 256 - 256%n
	var b [1]byte
	for {
		rand.Read(b[:])
		if int(b[0]) < limit {
			return int(b[0]) % n
		}
	}
}

// SurveyForCode returns the survey a code opens, ErrCodeUnknown or
// ErrCodeUsed.
func (s *Store) SurveyForCode(ctx context.Context, code string) (SurveyView, error) {
	c, err := s.code(ctx, s.db.WithContext(ctx), code)
	if err != nil {
		return SurveyView{}, err
	}
	if c.Used {
		return SurveyView{}, ErrCodeUsed
	}
	return s.Survey(ctx, c.SurveyID)
}

func (s *Store) code(ctx context.Context, db *gorm.DB, code string) (models.SurveyCode, error) {
	var c models.SurveyCode
	norm := NormalizeCode(code)
	if len(norm) != 12 {
		return c, ErrCodeUnknown
	}
	err := db.Where("code_hash = ?", s.codeHash(norm)).Take(&c).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return c, ErrCodeUnknown
	}
	if err != nil {
		return c, fmt.Errorf("load survey code: %w", err)
	}
	return c, nil
}

// Answer records one cadre's answers: answers maps a question id to the
// 0-based option chosen; every question must be answered. The code is
// marked used in the same transaction, by a conditional update that no
// answer row refers to.
func (s *Store) Answer(ctx context.Context, code string, answers map[uint64]int) error {
	sv, err := s.SurveyForCode(ctx, code)
	if err != nil {
		return err
	}
	f := map[string]string{}
	known := map[uint64]bool{}
	for _, q := range sv.Questions {
		known[q.ID] = true
		key := "answers." + strconv.FormatUint(q.ID, 10)
		c, ok := answers[q.ID]
		switch {
		case !ok:
			f[key] = fmt.Sprintf("第%d题未作答：%s", q.Number, q.Text)
		case c < 0 || c >= len(q.Options):
			f[key] = fmt.Sprintf("第%d题的选项超出范围（应为1至%d）", q.Number, len(q.Options))
		}
	}
	for id := range answers {
		if !known[id] {
			f["answers."+strconv.FormatUint(id, 10)] = "问卷中没有这道题：" + strconv.FormatUint(id, 10)
		}
	}
	if len(f) > 0 {
		return &models.ValidationError{Fields: f}
	}
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&models.SurveyCode{}).Where("code_hash = ? AND used = ?", s.codeHash(code), false).
			Update("used", true)
		if res.Error != nil {
			return fmt.Errorf("use survey code: %w", res.Error)
		}
		if res.RowsAffected != 1 {
			return ErrCodeUsed // a second submission raced this one
		}
		resp := models.SurveyResponse{SurveyID: sv.ID, AnsweredOn: s.day()}
		if err := tx.Create(&resp).Error; err != nil {
			return fmt.Errorf("store survey response: %w", err)
		}
		rows := make([]models.SurveyAnswer, 0, len(sv.Questions))
		for _, q := range sv.Questions {
			rows = append(rows, models.SurveyAnswer{ResponseID: resp.ID, QuestionID: q.ID, Choice: answers[q.ID]})
		}
		if err := tx.Create(&rows).Error; err != nil {
			return fmt.Errorf("store survey answers: %w", err)
		}
		return nil
	})
}

// OptionShare is one option's count and share of the respondents.
type OptionShare struct {
	Option string      `json:"option"`
	Count  int64       `json:"count"`
	Share  models.Rate `json:"share"`
}

// QuestionResult is one question's answers.
type QuestionResult struct {
	Question
	Options []OptionShare `json:"options"`
	// Positive is the effect question's 显著或较好 share; nil otherwise.
	PositiveShare *models.Rate `json:"positive_share,omitempty"`
}

// Results are a survey's answers given on the days from..to (both
// included, YYYY-MM-DD; empty for all).
type Results struct {
	ID          uint64           `json:"id"`
	Title       string           `json:"title"`
	Respondents int64            `json:"respondents"`
	Questions   []QuestionResult `json:"questions"`
}

// Effect is the effect question's result, or nil.
func (r *Results) Effect() *QuestionResult {
	for i := range r.Questions {
		if r.Questions[i].Effect {
			return &r.Questions[i]
		}
	}
	return nil
}

// Results counts the answers per question and option.
func (s *Store) Results(ctx context.Context, surveyID uint64, from, to string) (Results, error) {
	sv, err := s.Survey(ctx, surveyID)
	if err != nil {
		return Results{}, err
	}
	if from == "" {
		from, to = "0000-00-00", "9999-99-99"
	}
	db := s.db.WithContext(ctx)
	r := Results{ID: sv.ID, Title: sv.Title}
	if err := db.Model(&models.SurveyResponse{}).Where("survey_id = ? AND answered_on >= ? AND answered_on <= ?",
		sv.ID, from, to).Count(&r.Respondents).Error; err != nil {
		return r, fmt.Errorf("count survey %d responses: %w", sv.ID, err)
	}
	var cells []struct {
		QuestionID uint64
		Choice     int
		N          int64
	}
	if err := db.Table("survey_answers a").Select("a.question_id, a.choice, COUNT(*) AS n").
		Joins("JOIN survey_responses r ON r.id = a.response_id").
		Where("r.survey_id = ? AND r.answered_on >= ? AND r.answered_on <= ?", sv.ID, from, to).
		Group("a.question_id, a.choice").Scan(&cells).Error; err != nil {
		return r, fmt.Errorf("count survey %d answers: %w", sv.ID, err)
	}
	counts := map[uint64]map[int]int64{}
	for _, c := range cells {
		if counts[c.QuestionID] == nil {
			counts[c.QuestionID] = map[int]int64{}
		}
		counts[c.QuestionID][c.Choice] = c.N
	}
	for _, q := range sv.Questions {
		qr := QuestionResult{Question: q}
		var pos int64
		for i, o := range q.Options {
			n := counts[q.ID][i]
			qr.Options = append(qr.Options, OptionShare{Option: o, Count: n, Share: models.NewRate(n, r.Respondents)})
			if q.Effect && i < q.Positive {
				pos += n
			}
		}
		if q.Effect {
			share := models.NewRate(pos, r.Respondents)
			qr.PositiveShare = &share
		}
		r.Questions = append(r.Questions, qr)
	}
	return r, nil
}

// LatestAnswered is the newest survey with answers on the days from..to,
// or models.ErrNotFound.
func (s *Store) LatestAnswered(ctx context.Context, from, to string) (uint64, error) {
	var ids []uint64
	if err := s.db.WithContext(ctx).Model(&models.SurveyResponse{}).
		Where("answered_on >= ? AND answered_on <= ?", from, to).
		Order("survey_id DESC").Limit(1).Pluck("survey_id", &ids).Error; err != nil {
		return 0, fmt.Errorf("latest survey: %w", err)
	}
	if len(ids) == 0 {
		return 0, models.ErrNotFound
	}
	return ids[0], nil
}
