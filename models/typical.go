package models

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Typical-case publication (典型问题通报): the office picks a closed case
// whose lesson is worth spreading and writes a sanitized summary of it;
// the public page lists the summaries. Only the title and summary the
// office wrote, the case's category and the publication date ever leave
// the office: never the tip's text, the tipster, or the case's notes.

// TypicalCase is a published summary of one closed case.
type TypicalCase struct {
	ID          uint64    `gorm:"primaryKey"`
	CaseID      uint64    `gorm:"not null;uniqueIndex"`
	Title       string    `gorm:"size:100;not null"`
	Summary     string    `gorm:"type:text;not null"`
	PublishedAt time.Time `gorm:"not null"`
	PublishedBy uint64    `gorm:"not null"`
	CreatedAt   time.Time `gorm:"not null"`
	UpdatedAt   time.Time `gorm:"not null"`
}

// EventTypicalPublished records on the (internal) timeline that the case
// was published as typical, or that its summary was revised.
const EventTypicalPublished = "typical_published"

// TypicalParams is the office's summary of a case to publish.
type TypicalParams struct {
	CaseID  uint64
	Title   string
	Summary string
}

var (
	// Anything shaped like a phone number or an email address is refused
	// in a public summary: it is almost always someone's contact.
	phoneLikeRe = regexp.MustCompile(`1[3-9]\d{9}|0\d{2,3}-?\d{7,8}`)
	emailLikeRe = regexp.MustCompile(`[^\s@]+@[^\s@]+\.[^\s@]+`)
)

// PublishTypical publishes (or revises) the typical-case summary of a
// closed, accepted case. Office and admin only; the case must be closed
// after handling (not rejected or merged), else ErrWrongStage. A summary
// that names the tipster or contains a phone number or email address is
// refused. The first publication fixes published_at; a revision keeps it.
// It reports whether the summary was created (false: revised).
func (s *Store) PublishTypical(ctx context.Context, p Principal, in TypicalParams) (TypicalCase, bool, error) {
	var tc TypicalCase
	created := false
	if !p.IsOffice() {
		return tc, false, fmt.Errorf("publish typical case %d as %s: %w", in.CaseID, p.Role, ErrForbidden)
	}
	err := s.write(ctx, func(w *txWork) error {
		tc, created = TypicalCase{}, false // a transaction may run again (see commit)
		var c Case
		if err := w.tx.Clauses(forUpdate).First(&c, in.CaseID).Error; err != nil {
			return interpret(err, fmt.Sprintf("load case %d", in.CaseID))
		}
		if c.Stage != StageClosed || c.MergedIntoID != nil || c.RejectReason != "" {
			return fmt.Errorf("publish case %d in %s: only a closed, handled case can be typical: %w", c.ID, c.Stage, ErrWrongStage)
		}
		f := map[string]string{}
		title := text(f, "title", in.Title, 4, 100, "请填写通报标题（至少4个字）", "通报标题过长")
		summary := text(f, "summary", in.Summary, 20, 5000, "请填写通报内容（至少20个字）", "通报内容过长")
		if len(f) == 0 {
			var tip Tip
			if err := w.tx.Select("id, anonymous, contact_enc").First(&tip, c.TipID).Error; err != nil {
				return fmt.Errorf("load tip of case %d: %w", c.ID, err)
			}
			if err := s.checkSanitized(f, tip, title, summary); err != nil {
				return err
			}
		}
		if err := fieldErrors(f); err != nil {
			return err
		}
		err := w.tx.Where("case_id = ?", c.ID).Take(&tc).Error
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
			created = true
			tc = TypicalCase{CaseID: c.ID, Title: title, Summary: summary, PublishedAt: w.now, PublishedBy: p.UserID,
				CreatedAt: w.now, UpdatedAt: w.now}
			if err := w.tx.Create(&tc).Error; err != nil {
				return fmt.Errorf("publish case %d: %w", c.ID, err)
			}
		case err != nil:
			return fmt.Errorf("load typical case %d: %w", c.ID, err)
		default:
			tc.Title, tc.Summary, tc.UpdatedAt = title, summary, w.now
			if err := w.tx.Model(&tc).Select("title", "summary", "updated_at").Updates(&tc).Error; err != nil {
				return fmt.Errorf("revise typical case %d: %w", c.ID, err)
			}
		}
		body := "作为典型问题公开通报：" + title
		if !created {
			body = "修改典型问题通报：" + title
		}
		id, who := actor(p)
		_, err = w.event(Event{CaseID: c.ID, Kind: EventTypicalPublished, ActorID: id, Actor: who,
			FromStage: c.Stage, ToStage: c.Stage, Body: body}, map[string]any{"typical_id": tc.ID, "created": created})
		return err
	})
	return tc, created, err
}

// checkSanitized adds a field error when the title or summary could
// identify the tipster.
func (s *Store) checkSanitized(f map[string]string, tip Tip, title, summary string) error {
	both := title + "\n" + summary
	if phoneLikeRe.MatchString(both) || emailLikeRe.MatchString(both) {
		f["summary"] = "通报内容不得包含电话号码或电子邮箱"
		return nil
	}
	if tip.Anonymous || tip.ContactEnc == nil {
		return nil
	}
	ct, err := s.openContact(tip.ContactEnc)
	if err != nil {
		return err
	}
	for _, v := range []string{ct.Name, ct.Phone, ct.Email} {
		if len([]rune(v)) >= 2 && strings.Contains(both, v) {
			f["summary"] = "通报内容不得包含举报人的姓名或联系方式"
			return nil
		}
	}
	return nil
}

// PublicTypical is one published summary as the public sees it.
type PublicTypical struct {
	ID           uint64
	Title        string
	Summary      string
	CategoryCode string
	CategoryName string
	PublishedAt  time.Time
}

// TypicalListParams pages through the published summaries, newest first.
type TypicalListParams struct {
	// Before lists summaries with an id below it (the previous page's
	// NextBefore); zero starts at the newest.
	Before uint64
	Limit  int // 1–100, default 20
}

// TypicalCases lists published summaries, newest first, and the cursor
// of the next page (0 when there is none).
func (s *Store) TypicalCases(ctx context.Context, p TypicalListParams) ([]PublicTypical, uint64, error) {
	if p.Limit <= 0 || p.Limit > 100 {
		p.Limit = 20
	}
	q := s.db.WithContext(ctx).Table("typical_cases tc").
		Select("tc.id, tc.title, tc.summary, tc.published_at, categories.code AS category_code, categories.name AS category_name").
		Joins("JOIN cases c ON c.id = tc.case_id").
		Joins("JOIN categories ON categories.id = c.category_id")
	if p.Before > 0 {
		q = q.Where("tc.id < ?", p.Before)
	}
	var out []PublicTypical
	if err := q.Order("tc.id DESC").Limit(p.Limit + 1).Scan(&out).Error; err != nil {
		return nil, 0, fmt.Errorf("list typical cases: %w", err)
	}
	var next uint64
	if len(out) > p.Limit {
		out = out[:p.Limit]
		next = out[len(out)-1].ID
	}
	return out, next, nil
}

// TypicalOfCase returns the published summary of a case, or ErrNotFound.
func (s *Store) TypicalOfCase(ctx context.Context, caseID uint64) (TypicalCase, error) {
	var tc TypicalCase
	if err := s.db.WithContext(ctx).Where("case_id = ?", caseID).Take(&tc).Error; err != nil {
		return tc, interpret(err, fmt.Sprintf("load typical case of case %d", caseID))
	}
	return tc, nil
}
