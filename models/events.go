package models

import (
	"context"
	"fmt"
)

// Events returns a case's whole timeline, oldest first (staff view).
func (s *Store) Events(ctx context.Context, caseID uint64) ([]Event, error) {
	var evs []Event
	if err := s.db.WithContext(ctx).Where("case_id = ?", caseID).Order("id").Find(&evs).Error; err != nil {
		return nil, fmt.Errorf("load timeline of case %d: %w", caseID, err)
	}
	return evs, nil
}

// OutboxTasks lists the outbox rows of one task type, oldest first (for
// operators inspecting the queue, and tests).
func (s *Store) OutboxTasks(ctx context.Context, typ string) ([]OutboxTask, error) {
	var ts []OutboxTask
	if err := s.db.WithContext(ctx).Where("type = ?", typ).Order("id").Find(&ts).Error; err != nil {
		return nil, fmt.Errorf("list outbox %s: %w", typ, err)
	}
	return ts, nil
}

// CaseIDByReceipt finds the case of a receipt.
func (s *Store) CaseIDByReceipt(ctx context.Context, receipt string) (uint64, error) {
	var id uint64
	err := s.db.WithContext(ctx).Table("cases").Select("cases.id").Joins("JOIN tips ON tips.id = cases.tip_id").
		Where("tips.receipt_hash = ?", s.receiptHash(receipt)).Take(&id).Error
	if err != nil {
		return 0, interpret(err, "find case by receipt")
	}
	return id, nil
}
