package models

import (
	"context"
	"fmt"
	"time"
)

// Notice is what an email notice says and to whom; the worker renders it.
type Notice struct {
	Kind      string
	CaseID    uint64
	CaseTitle string
	Stage     string
	DueAt     *time.Time
	UnitName  string
	Body      string
	To        []string
}

// NoticeFor resolves a notice's recipients and content from its event:
// assignment timers go to the unit's liaisons, case timers to the office,
// escalations to the leaders and the office. Done reports that an earlier
// delivery already sent it.
func (s *Store) NoticeFor(ctx context.Context, outboxID uint64, p NoticePayload) (n Notice, done bool, err error) {
	db := s.db.WithContext(ctx)
	var row OutboxTask
	if err := db.Select("id, done_at").First(&row, outboxID).Error; err != nil {
		return n, false, interpret(err, "load notice task")
	}
	if row.DoneAt != nil {
		return n, true, nil
	}
	var ev Event
	if err := db.First(&ev, p.EventID).Error; err != nil {
		return n, false, interpret(err, "load notice event")
	}
	var c Case
	if err := db.First(&c, ev.CaseID).Error; err != nil {
		return n, false, interpret(err, "load notice case")
	}
	var title string
	if err := db.Model(&Tip{}).Where("id = ?", c.TipID).Pluck("title", &title).Error; err != nil {
		return n, false, fmt.Errorf("load notice tip: %w", err)
	}
	n = Notice{Kind: p.Kind, CaseID: c.ID, CaseTitle: title, Stage: c.Stage, DueAt: c.DueAt, Body: ev.Body}
	users := db.Model(&User{}).Where("disabled = ? AND email <> ''", false)
	switch {
	case p.AssignmentID != 0:
		var a Assignment
		if err := db.First(&a, p.AssignmentID).Error; err != nil {
			return n, false, interpret(err, "load notice assignment")
		}
		n.DueAt = a.DueAt
		var u Unit
		if err := db.First(&u, a.UnitID).Error; err != nil {
			return n, false, interpret(err, "load notice unit")
		}
		n.UnitName = u.Name
		roles := []string{RoleLiaison}
		if p.Kind == EventEscalated {
			roles = []string{RoleLiaison, RoleLeader, RoleOffice}
		}
		users = users.Where("(role = ? AND unit_id = ?) OR (role IN ? AND role <> ?)", RoleLiaison, a.UnitID, roles, RoleLiaison)
	case p.Kind == EventEscalated:
		users = users.Where("role IN ?", []string{RoleLeader, RoleOffice})
	default:
		users = users.Where("role = ?", RoleOffice)
	}
	if err := users.Order("id").Pluck("email", &n.To).Error; err != nil {
		return n, false, fmt.Errorf("load notice recipients: %w", err)
	}
	return n, false, nil
}

// CompleteOutbox marks an outbox row done (after a side effect outside the
// database, such as sending mail).
func (s *Store) CompleteOutbox(ctx context.Context, outboxID uint64) error {
	err := s.db.WithContext(ctx).Model(&OutboxTask{}).Where("id = ? AND done_at IS NULL", outboxID).
		Update("done_at", s.clock()).Error
	if err != nil {
		return fmt.Errorf("complete outbox %d: %w", outboxID, err)
	}
	return nil
}
