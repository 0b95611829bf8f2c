package models

import (
	"context"
	"encoding/json"
	"fmt"

	"gorm.io/gorm"
)

// Questions to the tipster (DESIGN §10.5). While a case is collected or
// verified the office may ask the tipster for details; the tipster reads
// the question on lookup and answers it with a message naming the
// question. Every tipster message notifies the office and marks the case
// unread in the queue until an office user opens it.

// QuestionParams is a question to ask.
type QuestionParams struct {
	CaseID uint64
	Text   string
}

// AskTipster records the office's question on case in.CaseID and returns
// its id. Office and admin only; collect and verify only (409).
func (s *Store) AskTipster(ctx context.Context, p Principal, in QuestionParams) (uint64, error) {
	var id uint64
	err := s.write(ctx, func(w *txWork) error {
		c, err := lockVisibleCase(w, p, in.CaseID)
		if err != nil {
			return err
		}
		if !p.IsOffice() {
			return fmt.Errorf("question on case %d as %s: %w", c.ID, p.Role, ErrForbidden)
		}
		if c.Stage != StageCollect && c.Stage != StageVerify {
			return fmt.Errorf("question on case %d in %s: %w", c.ID, c.Stage, ErrWrongStage)
		}
		f := map[string]string{}
		q := text(f, "text", in.Text, 2, 1000, "请填写要询问举报人的问题", "问题过长")
		if err := fieldErrors(f); err != nil {
			return err
		}
		aid, name := actor(p)
		ev := Event{CaseID: c.ID, At: w.now, Kind: EventQuestion, ActorID: aid, Actor: name, FromStage: c.Stage,
			ToStage: c.Stage, Public: true, Body: q, Data: "{}"}
		if err := w.tx.Create(&ev).Error; err != nil {
			return fmt.Errorf("record question on case %d: %w", c.ID, err)
		}
		id = ev.ID
		return nil
	})
	return id, err
}

// checkQuestion: questionID must be an unanswered question of case caseID
// (400 naming question_id otherwise).
func checkQuestion(tx *gorm.DB, caseID, questionID uint64) error {
	var n int64
	if err := tx.Model(&Event{}).Where("id = ? AND case_id = ? AND kind = ?", questionID, caseID, EventQuestion).
		Count(&n).Error; err != nil {
		return fmt.Errorf("check question %d: %w", questionID, err)
	}
	if n == 0 {
		return invalid("question_id", "没有这个问题，请刷新页面后再回答")
	}
	var evs []Event
	if err := tx.Select("id, kind, data").Where("case_id = ? AND kind = ?", caseID, EventTipsterMessage).
		Find(&evs).Error; err != nil {
		return fmt.Errorf("check answers of question %d: %w", questionID, err)
	}
	for _, ev := range evs {
		if answerOf(ev) == questionID {
			return invalid("question_id", "这个问题已经回答过了，如需补充请直接补充材料")
		}
	}
	return nil
}

// answerOf is the question a tipster message answers, or 0.
func answerOf(ev Event) uint64 {
	var d struct {
		QuestionID uint64 `json:"question_id"`
	}
	_ = json.Unmarshal([]byte(ev.Data), &d)
	return d.QuestionID
}

// markAnswered sets Answered on the questions some message answers.
func markAnswered(qs []PublicEvent, evs []Event) {
	for i := range qs {
		for _, ev := range evs {
			if ev.Kind == EventTipsterMessage && answerOf(ev) == qs[i].ID {
				qs[i].Answered = true
			}
		}
	}
}

// noteTipsterMessage counts message ev unread on its case and notifies
// the office.
func noteTipsterMessage(w *txWork, ev Event) error {
	if err := w.tx.Model(&Case{}).Where("id = ?", ev.CaseID).
		Update("unread_messages", gorm.Expr("unread_messages + 1")).Error; err != nil {
		return fmt.Errorf("count message unread on case %d: %w", ev.CaseID, err)
	}
	return w.notify(EventTipsterMessage, ev, 0)
}

// markMessagesRead clears the unread count of case id for an office
// viewer.
func (s *Store) markMessagesRead(ctx context.Context, p Principal, c *Case) error {
	if !p.IsOffice() || c.UnreadMessages == 0 {
		return nil
	}
	err := s.db.WithContext(ctx).Model(&Case{}).Where("id = ?", c.ID).Update("unread_messages", 0).Error
	if err != nil {
		return fmt.Errorf("mark messages of case %d read: %w", c.ID, err)
	}
	return nil
}
