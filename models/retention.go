package models

import (
	"context"
	"fmt"
	"time"
)

// Retention (DESIGN §10.1, JIANFU_RETENTION): a real-name tipster's
// contact details are kept while their case may still need them, and
// erased a configured time after it closes. The erasure replaces the
// sealed contact with a sealed empty one (the schema requires a real-name
// tip to carry a sealed contact, so the row says "real name, erased"
// rather than pretending it was anonymous), stamps tips.contact_erased_at
// so the sweep never looks at it again, and writes an internal timeline
// event.

// EventContactErased records the erasure of a tipster's contact.
const EventContactErased = "contact_erased"

// TaskRetention runs the retention sweep (scheduled hourly).
const TaskRetention = "retention:sweep"

// retentionBatch bounds one transaction of the sweep.
const retentionBatch = 100

// EraseExpiredContacts erases the contact details of real-name tips whose
// case closed at least keep ago, and reports how many it erased. keep <= 0
// erases nothing.
func (s *Store) EraseExpiredContacts(ctx context.Context, keep time.Duration) (int, error) {
	if keep <= 0 {
		return 0, nil
	}
	empty, err := s.sealContact(Contact{})
	if err != nil {
		return 0, fmt.Errorf("seal empty contact: %w", err)
	}
	total := 0
	for {
		n := 0
		err := s.write(ctx, func(w *txWork) error {
			var rows []struct {
				CaseID uint64
				TipID  uint64
			}
			err := w.tx.Table("cases").Select("cases.id AS case_id, tips.id AS tip_id").
				Joins("JOIN tips ON tips.id = cases.tip_id").
				Where("cases.stage = ? AND cases.closed_at <= ? AND tips.anonymous = ? AND tips.contact_erased_at IS NULL",
					StageClosed, w.now.Add(-keep), false).
				Order("cases.id").Limit(retentionBatch).Clauses(forUpdate).Scan(&rows).Error
			if err != nil {
				return fmt.Errorf("find contacts to erase: %w", err)
			}
			for _, r := range rows {
				res := w.tx.Model(&Tip{}).Where("id = ? AND contact_erased_at IS NULL", r.TipID).
					Updates(map[string]any{"contact_enc": empty, "contact_erased_at": w.now})
				if res.Error != nil {
					return fmt.Errorf("erase contact of tip %d: %w", r.TipID, res.Error)
				}
				if res.RowsAffected == 0 {
					continue // another sweep got there first
				}
				c := Case{ID: r.CaseID, Stage: StageClosed}
				if _, err := w.stageEvent(Principal{Username: ActorSystem}, &c, StageClosed, EventContactErased,
					"举报人联系方式已按保存期限删除", map[string]string{"retention": keep.String()}); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		total += n
		if err != nil || n < retentionBatch {
			return total, err
		}
	}
}
