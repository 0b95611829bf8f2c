package models

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
)

// Joint verification parts (联合核查, DESIGN §10.5). While a case is in
// verify, each unit of the verification team submits its own part — its
// finding and report — on the case's verify clock; the office then records
// the case's finding with every part in front of it. The team is the
// verify_team named at dispatch, or the assigned units when none was named.

// EventVerificationPart is a unit's part on the case timeline (internal);
// the office gets a notice of it.
const EventVerificationPart = "verification_part"

// ActionVerificationPart is listed in a case page's actions for the
// liaison whose unit's part is awaited.
const ActionVerificationPart = "verification_part"

// VerificationPart is one unit's part of a joint verification.
type VerificationPart struct {
	ID        uint64    `gorm:"primaryKey"`
	CaseID    uint64    `gorm:"not null;uniqueIndex:uq_verification_parts_case_unit"`
	UnitID    uint64    `gorm:"not null;uniqueIndex:uq_verification_parts_case_unit"`
	Finding   string    `gorm:"size:16;not null"`
	Report    string    `gorm:"type:text;not null"`
	CreatedBy uint64    `gorm:"not null"`
	CreatedAt time.Time `gorm:"not null"`
}

// VerificationPartParams is a part to submit.
type VerificationPartParams struct {
	CaseID  uint64
	Finding string
	Report  string
}

// VerificationPartView is a part, or a part still awaited, on the case page.
type VerificationPartView struct {
	Unit     string `json:"unit"`
	UnitName string `json:"unit_name"`
	// Submitted is false for a unit of the team that has not reported yet;
	// it is overdue when the case's verify due time has passed.
	Submitted   bool       `json:"submitted"`
	Finding     string     `json:"finding,omitempty"`
	Report      string     `json:"report,omitempty"`
	SubmittedAt *time.Time `json:"submitted_at,omitempty"`
	DueAt       *time.Time `json:"due_at,omitempty"`
	Overdue     bool       `json:"overdue"`
}

// verifyTeam lists the unit codes expected to submit a part of case c.
func verifyTeam(tx *gorm.DB, c *Case) ([]string, error) {
	var team []string
	_ = json.Unmarshal([]byte(c.VerifyTeam), &team)
	if len(team) > 0 {
		return team, nil
	}
	err := tx.Table("assignments").Joins("JOIN units ON units.id = assignments.unit_id").
		Where("assignments.case_id = ?", c.ID).Order("assignments.id").Pluck("units.code", &team).Error
	if err != nil {
		return nil, fmt.Errorf("load assigned units of case %d: %w", c.ID, err)
	}
	return team, nil
}

// SubmitVerificationPart records the part of p's unit. Only a liaison of
// a unit of the team may: 404 when the case is neither assigned to their
// unit nor theirs to verify, 403 for other roles, 409 outside verify or
// when their unit's part is in already, 400 for bad input.
func (s *Store) SubmitVerificationPart(ctx context.Context, p Principal, in VerificationPartParams) error {
	return s.write(ctx, func(w *txWork) error {
		var c Case
		if err := w.tx.Clauses(forUpdate).First(&c, in.CaseID).Error; err != nil {
			return interpret(err, fmt.Sprintf("load case %d", in.CaseID))
		}
		seen, err := visible(w.tx, p, c.ID)
		if err != nil {
			return err
		}
		team, err := verifyTeam(w.tx, &c)
		if err != nil {
			return err
		}
		inTeam := p.Role == RoleLiaison && slices.Contains(team, p.UnitCode)
		if !seen && !inTeam {
			return fmt.Errorf("case %d: %w", c.ID, ErrNotFound)
		}
		if !inTeam {
			return fmt.Errorf("verification part of case %d as %s: %w", c.ID, p.Role, ErrForbidden)
		}
		if c.Stage != StageVerify {
			return fmt.Errorf("verification part of case %d in %s: %w", c.ID, c.Stage, ErrWrongStage)
		}
		f := map[string]string{}
		if findingLabels[in.Finding] == "" {
			f["finding"] = "请选择核查意见：属实、部分属实或不属实"
		}
		report := text(f, "report", in.Report, 2, 5000, "请填写核查情况", "核查情况过长")
		if err := fieldErrors(f); err != nil {
			return err
		}
		part := VerificationPart{CaseID: c.ID, UnitID: *p.UnitID, Finding: in.Finding, Report: report,
			CreatedBy: p.UserID, CreatedAt: w.now}
		if err := w.tx.Create(&part).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return fmt.Errorf("verification part of case %d by unit %s again: %w", c.ID, p.UnitCode, ErrWrongStage)
			}
			return fmt.Errorf("insert verification part of case %d: %w", c.ID, err)
		}
		var unitName string
		if err := w.tx.Model(&Unit{}).Where("id = ?", *p.UnitID).Pluck("name", &unitName).Error; err != nil {
			return fmt.Errorf("load unit %d: %w", *p.UnitID, err)
		}
		ev, err := w.stageEvent(p, &c, c.Stage, EventVerificationPart,
			fmt.Sprintf("%s提交核查意见：%s。%s", unitName, findingLabels[in.Finding], report),
			map[string]any{"unit": p.UnitCode, "finding": in.Finding})
		if err != nil {
			return err
		}
		return w.notify(EventVerificationPart, ev, 0)
	})
}

// verificationParts lists the team's parts of case c as p may see them:
// the office, admin and leaders every part, a liaison only their unit's.
func (s *Store) verificationParts(db *gorm.DB, p Principal, c *Case, now time.Time) ([]VerificationPartView, error) {
	team, err := verifyTeam(db, c)
	if err != nil || len(team) == 0 {
		return nil, err
	}
	var rows []struct {
		VerificationPart
		Code, Name string
	}
	err = db.Table("verification_parts").Joins("JOIN units ON units.id = verification_parts.unit_id").
		Select("verification_parts.*, units.code, units.name").Where("verification_parts.case_id = ?", c.ID).
		Order("verification_parts.id").Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("load verification parts of case %d: %w", c.ID, err)
	}
	var names []struct{ Code, Name string }
	if err := db.Model(&Unit{}).Select("code, name").Where("code IN ?", team).Scan(&names).Error; err != nil {
		return nil, fmt.Errorf("load verification team of case %d: %w", c.ID, err)
	}
	var out []VerificationPartView
	for _, code := range team {
		if p.Role == RoleLiaison && code != p.UnitCode {
			continue
		}
		v := VerificationPartView{Unit: code}
		for _, n := range names {
			if n.Code == code {
				v.UnitName = n.Name
			}
		}
		for _, r := range rows {
			if r.Code == code {
				at := r.CreatedAt.UTC()
				v.Submitted, v.Finding, v.Report, v.SubmittedAt = true, r.Finding, r.Report, &at
			}
		}
		if !v.Submitted && c.Stage == StageVerify {
			v.DueAt = c.DueAt
			v.Overdue = c.DueAt != nil && c.DueAt.Before(now)
		}
		if v.Submitted || c.Stage == StageVerify {
			out = append(out, v)
		}
	}
	return out, nil
}
