package models

import (
	"fmt"
	"time"

	"gorm.io/gorm"
)

// A merged tip's tipster (DESIGN §10.5) follows the case their tip was
// merged into: the lookup shows the survivor's stage, its public progress
// and its replies after the merge, and once the office has replied on the
// survivor they may rate the outcome within the rating window. The rating
// is recorded on their own (merged, closed) case, so it never closes or
// reopens the survivor, whose own tipster decides that.

// maxMergeHops bounds the walk along merged_into (a survivor may itself be
// merged later, while it is still in collect).
const maxMergeHops = 5

// survivorOf returns the case that case id was merged into, following
// later merges; ok is false for a case that was not merged.
func survivorOf(db *gorm.DB, id uint64) (c Case, ok bool, err error) {
	next := id
	for hop := 0; hop <= maxMergeHops; hop++ {
		var cur Case
		if err := db.Select("id, stage, merged_into_id, replied_at, rating, closed_at, stage_entered_at").
			First(&cur, next).Error; err != nil {
			return c, false, interpret(err, fmt.Sprintf("load case %d", next))
		}
		if cur.MergedIntoID == nil {
			return cur, hop > 0, nil
		}
		next = *cur.MergedIntoID
	}
	return c, false, fmt.Errorf("case %d: merged more than %d times", id, maxMergeHops)
}

// survivorEvents are the survivor's public events a merged tipster sees:
// its progress, not its own tipster's messages, ratings or questions.
var survivorEvents = []string{EventAccepted, EventDispatched, EventVerified, EventRectified, EventReplied,
	EventReopened, EventClosed}

// mergedRatingOpen reports whether a merged tipster may still rate the
// survivor's outcome: the office has replied on it, within the rating
// window from that reply.
func (s *Store) mergedRatingOpen(survivor Case, now time.Time) bool {
	if survivor.RepliedAt == nil || (survivor.Stage != StageFeedback && survivor.Stage != StageClosed) {
		return false
	}
	return !now.After(s.deadlines.Evaluation.Due(s.calendar.Load(), *survivor.RepliedAt))
}

// followSurvivor adds the survivor's progress to the view of a merged tip.
func (s *Store) followSurvivor(db *gorm.DB, v *PublicCase, row tipsterCase, mergedAt time.Time) error {
	sv, ok, err := survivorOf(db, row.CaseID)
	if err != nil || !ok {
		return err
	}
	var evs []Event
	if err := db.Where("case_id = ? AND public = ? AND kind IN ? AND at >= ?", sv.ID, true, survivorEvents, mergedAt).
		Order("id").Find(&evs).Error; err != nil {
		return fmt.Errorf("load the survivor's timeline: %w", err)
	}
	for _, ev := range evs {
		pe := PublicEvent{At: ev.At, Kind: ev.Kind, Stage: ev.ToStage, Text: publicText(ev), From: publicFrom(ev)}
		v.Timeline = append(v.Timeline, pe)
		if ev.Kind == EventReplied {
			v.Replies = append(v.Replies, pe)
		}
	}
	v.Stage, v.StageName = sv.Stage, StageNames[sv.Stage]
	v.CanRate = row.Rating == "" && s.mergedRatingOpen(sv, s.clock())
	return nil
}

// rateMerged records a merged tipster's rating of the survivor's outcome
// on their own case c (locked).
func (s *Store) rateMerged(w *txWork, c *Case, rating, comment string) error {
	sv, ok, err := survivorOf(w.tx, c.ID)
	if err != nil {
		return err
	}
	if !ok || c.Rating != "" || !s.mergedRatingOpen(sv, w.now) {
		return fmt.Errorf("rate merged case %d: %w", c.ID, ErrWrongStage)
	}
	c.Rating, c.RatedAt = rating, &w.now
	if err := saveCase(w, c); err != nil {
		return err
	}
	body := "举报人评价：" + RatingNames[rating]
	if comment != "" {
		body += "。" + comment
	}
	tipster := Principal{Role: ActorTipster, Username: ActorTipster}
	ev, err := w.stageEvent(tipster, c, c.Stage, EventRated, body, map[string]any{"rating": rating, "survivor": sv.ID})
	if err != nil {
		return err
	}
	if rating == RatingUnsatisfied {
		return w.notify(EventRated, ev, 0)
	}
	return nil
}
