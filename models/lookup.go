package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// The tipster's side of a case: what someone holding the receipt may see
// and do. They see the stage, the public timeline, the office's replies and
// questions; never internal notes, who in the office acted, or which units
// handle it.

// EventTipsterMessage is supplementary information from the tipster.
const EventTipsterMessage = "tipster_message"

// EventQuestion is the office asking the tipster for more information;
// like a reply (EventReplied) the tipster reads it as written.
const EventQuestion = "question"

// StageNames are the zh-CN names of the stages (DESIGN §2).
var StageNames = map[string]string{
	StageCollect:  "线索收集",
	StageAssign:   "快速分办",
	StageVerify:   "联合核查",
	StageRectify:  "督促整改",
	StageFeedback: "反馈评估",
	StageClosed:   "办结",
}

// RatingNames are the zh-CN names of the tipster's ratings.
var RatingNames = map[string]string{
	"satisfied":           "满意",
	"basically_satisfied": "基本满意",
	"unsatisfied":         "不满意",
}

// PublicCase is the tipster's view of their case.
type PublicCase struct {
	Stage        string
	StageName    string
	SubmittedAt  time.Time
	CategoryCode string
	Category     string
	Title        string
	Timeline     []PublicEvent // oldest first
	Replies      []PublicEvent // the office's replies, oldest first
	Questions    []PublicEvent // the office's questions, oldest first
	// Open: the tipster can still add information.
	Open bool
	// CanRate: the office has replied in 反馈评估 and the tipster has not
	// rated this round yet.
	CanRate bool
	Rating  string // "" or a key of RatingNames
}

// PublicEvent is one timeline entry as the tipster sees it.
type PublicEvent struct {
	At    time.Time
	Kind  string
	Stage string // the stage after the event
	Text  string
	From  string // "tipster", "office" or "system"; never a user name
	Files int    // attachments the entry carries

	// ID and Answered are set on the office's questions: the tipster
	// answers one by its id.
	ID       uint64
	Answered bool
}

// NormalizeReceipt accepts a receipt as people type or paste it (spaces,
// dashes, full-width digits) and returns its 16 digits.
func NormalizeReceipt(s string) (string, error) {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r >= '０' && r <= '９':
			b.WriteRune('0' + (r - '０'))
		case r == ' ' || r == '-' || r == '\u3000' || r == '\t' || r == '\n' || r == '\r':
		default:
			return "", invalid("receipt", "查询码应为16位数字，请核对后重新输入")
		}
	}
	if b.Len() != 16 {
		return "", invalid("receipt", "查询码应为16位数字，请核对后重新输入")
	}
	return b.String(), nil
}

// tipsterCase is what a receipt leads to.
type tipsterCase struct {
	CaseID       uint64
	Stage        string
	CreatedAt    time.Time
	Title        string
	CategoryCode string
	CategoryName string
	Rating       string
	RepliedAt    *time.Time
	DueAt        *time.Time

	MergedIntoID *uint64
}

// caseByReceipt finds the case of a receipt. A miss returns a zero row
// and found=false, not an error, so the caller runs the same queries for a
// hit and a miss and the answer time does not tell them apart.
func caseByReceipt(db *gorm.DB, hash string) (row tipsterCase, found bool, err error) {
	err = db.Table("tips").
		Select("cases.id AS case_id, cases.stage, tips.created_at, tips.title, categories.code AS category_code, "+
			"categories.name AS category_name, cases.rating, cases.replied_at, cases.due_at, cases.merged_into_id").
		Joins("JOIN cases ON cases.tip_id = tips.id").
		Joins("JOIN categories ON categories.id = tips.category_id").
		Where("tips.receipt_hash = ?", hash).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return tipsterCase{}, false, nil
	}
	if err != nil {
		return row, false, fmt.Errorf("find case by receipt: %w", err)
	}
	return row, true, nil
}

// TipView is the tipster's view of the case behind a receipt. An unknown
// receipt is ErrNotFound after the same work as a known one.
func (s *Store) TipView(ctx context.Context, receipt string) (PublicCase, error) {
	receipt, err := NormalizeReceipt(receipt)
	if err != nil {
		return PublicCase{}, err
	}
	db := s.db.WithContext(ctx)
	row, found, err := caseByReceipt(db, s.receiptHash(receipt))
	if err != nil {
		return PublicCase{}, err
	}
	// A miss looks up case 0, which does not exist: same queries, no rows.
	var evs []Event
	if err := db.Where("case_id = ? AND public = ?", row.CaseID, true).Order("id").Find(&evs).Error; err != nil {
		return PublicCase{}, fmt.Errorf("load public timeline: %w", err)
	}
	var counts []struct {
		EventID *uint64
		N       int
	}
	err = db.Model(&Attachment{}).Select("event_id, COUNT(*) AS n").
		Where("case_id = ? AND assignment_id IS NULL", row.CaseID).Group("event_id").Scan(&counts).Error
	if err != nil {
		return PublicCase{}, fmt.Errorf("count attachments: %w", err)
	}
	if !found {
		return PublicCase{}, fmt.Errorf("tip view: %w", ErrNotFound)
	}
	files := map[uint64]int{}
	var firstFiles int
	for _, c := range counts {
		if c.EventID == nil {
			firstFiles = c.N // attached to the tip itself
		} else {
			files[*c.EventID] = c.N
		}
	}
	v := PublicCase{Stage: row.Stage, StageName: StageNames[row.Stage], SubmittedAt: row.CreatedAt,
		CategoryCode: row.CategoryCode, Category: row.CategoryName, Title: row.Title, Rating: row.Rating,
		Open: row.Stage != StageClosed}
	v.CanRate = row.Stage == StageFeedback && row.RepliedAt != nil && row.Rating == "" &&
		(row.DueAt == nil || !s.clock().After(*row.DueAt))
	for i, ev := range evs {
		pe := PublicEvent{At: ev.At, Kind: ev.Kind, Stage: ev.ToStage, Text: publicText(ev), From: publicFrom(ev),
			Files: files[ev.ID]}
		if i == 0 && ev.Kind == EventSubmitted {
			pe.Files = firstFiles
		}
		if pe.Stage == "" {
			pe.Stage = ev.FromStage
		}
		v.Timeline = append(v.Timeline, pe)
		switch ev.Kind {
		case EventReplied:
			v.Replies = append(v.Replies, pe)
		case EventQuestion:
			pe.ID = ev.ID
			v.Questions = append(v.Questions, pe)
		}
	}
	markAnswered(v.Questions, evs)
	if row.MergedIntoID != nil && len(evs) > 0 {
		if err := s.followSurvivor(db, &v, row, evs[len(evs)-1].At); err != nil {
			return PublicCase{}, err
		}
	}
	return v, nil
}

// publicText is what the tipster reads for an event. Public events are
// worded for the tipster when they are written (the workflow keeps unit
// names and internal notes out of them); one without words is told by the
// stage it led to.
func publicText(ev Event) string {
	if strings.TrimSpace(ev.Body) != "" {
		return ev.Body
	}
	switch {
	case ev.ToStage == StageClosed && ev.FromStage != StageClosed:
		return "案件已办结"
	case ev.ToStage != "" && ev.ToStage != ev.FromStage:
		return "案件进入“" + StageNames[ev.ToStage] + "”阶段"
	}
	return "案件办理有新进展"
}

func publicFrom(ev Event) string {
	switch ev.Actor {
	case ActorTipster:
		return ActorTipster
	case ActorSystem:
		return ActorSystem
	}
	return "office"
}

// AddTipMessage adds the tipster's supplementary information (text and
// checked files) to the public timeline while the case is open; once it is
// closed the answer is ErrWrongStage.
func (s *Store) AddTipMessage(ctx context.Context, receipt, text string, files []FileInput) error {
	return s.AddTipAnswer(ctx, receipt, 0, text, files)
}

// AddTipAnswer is AddTipMessage answering the office's question
// questionID (0: no question). The office is notified of every message,
// and the case counts it unread until the office opens the case page.
func (s *Store) AddTipAnswer(ctx context.Context, receipt string, questionID uint64, text string, files []FileInput) error {
	receipt, err := NormalizeReceipt(receipt)
	if err != nil {
		return err
	}
	text = strings.TrimSpace(text)
	if err := CheckText("text", "补充内容", text, true); err != nil {
		return err
	}
	switch n := utf8.RuneCountInString(text); {
	case n == 0 && len(files) == 0:
		return invalid("text", "请填写补充内容或上传附件")
	case n > 5000:
		return invalid("text", fmt.Sprintf("补充内容不能超过5000个字（现在%d个字）", n))
	}
	hash := s.receiptHash(receipt)
	return s.write(ctx, func(w *txWork) error {
		row, found, err := caseByReceipt(w.tx, hash)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("add tip message: %w", ErrNotFound)
		}
		// Lock the case so a message and a closing cannot cross.
		var c Case
		if err := w.tx.Clauses(clause.Locking{Strength: "UPDATE"}).Select("id, stage").First(&c, row.CaseID).Error; err != nil {
			return fmt.Errorf("lock case %d: %w", row.CaseID, err)
		}
		if c.Stage == StageClosed {
			return fmt.Errorf("add message to closed case %d: %w", c.ID, ErrWrongStage)
		}
		ev := Event{CaseID: c.ID, At: w.now, Kind: EventTipsterMessage, Actor: ActorTipster, FromStage: c.Stage,
			ToStage: c.Stage, Public: true, Body: text, Data: fmt.Sprintf(`{"files":%d}`, len(files))}
		if questionID != 0 {
			if err := checkQuestion(w.tx, c.ID, questionID); err != nil {
				return err
			}
			ev.Data = fmt.Sprintf(`{"files":%d,"question_id":%d}`, len(files), questionID)
		}
		if err := w.tx.Create(&ev).Error; err != nil {
			return fmt.Errorf("insert tipster message: %w", err)
		}
		if err := noteTipsterMessage(w, ev); err != nil {
			return err
		}
		for _, f := range files {
			a := Attachment{CaseID: c.ID, EventID: &ev.ID, Filename: f.Name, ContentType: f.ContentType,
				Size: int64(len(f.Data)), SHA256: f.SHA256, Data: f.Data, CreatedAt: w.now}
			if err := w.tx.Create(&a).Error; err != nil {
				return fmt.Errorf("insert attachment: %w", err)
			}
		}
		return nil
	})
}

// FormKey keys the CSRF tokens of the public forms; it is derived from the
// secret, so every API replica of a deployment agrees on it.
func (s *Store) FormKey() []byte { return s.subkey("public-form") }
