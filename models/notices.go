package models

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Email notices. Most go out one by one as their TaskNotify runs: a
// dispatch to the unit's liaisons, an escalation to the leaders, a report
// for the office to review. Reminders and overdue notices come in bursts
// (every due time of a day falls at the same hour), so they are filed into
// one batch per person per day instead and sent as one mail.

// BatchedNotice reports whether notices of kind go into the daily batch.
func BatchedNotice(kind string) bool { return kind == EventReminder || kind == EventOverdue }

// Notice is what an individual email notice says and to whom; the worker
// renders it.
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
// notices addressed to an assignment go to its unit's liaisons, the others
// to the office; escalations to the leaders and the office as well. Done
// reports that an earlier delivery already sent it.
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
	if p.Kind == EventTipsterMessage { // the tipster's words stay in the console, out of mailboxes
		n.Body = "举报人补充了信息或回答了询问，请登录工作台查看。"
	}
	if p.AssignmentID != 0 {
		var a Assignment
		if err := db.First(&a, p.AssignmentID).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				// 改派 replaced the assignment before its notice went
				// out: that unit no longer has to act, nobody is told.
				return n, false, nil
			}
			return n, false, interpret(err, "load notice assignment")
		}
		n.DueAt = a.DueAt
		if err := db.Model(&Unit{}).Where("id = ?", a.UnitID).Pluck("name", &n.UnitName).Error; err != nil {
			return n, false, fmt.Errorf("load notice unit: %w", err)
		}
	}
	rs, err := noticeRecipients(db, p)
	if err != nil {
		return n, false, err
	}
	for _, r := range rs {
		n.To = append(n.To, r.Email)
	}
	return n, false, nil
}

// recipient is a user a notice goes to.
type recipient struct {
	ID    uint64
	Email string
}

// noticeRecipients lists who gets notice p, by user id: an assignment's
// unit liaisons or the office, plus the leaders and the office for an
// escalation. Users without an email or disabled get nothing.
func noticeRecipients(db *gorm.DB, p NoticePayload) ([]recipient, error) {
	users := db.Model(&User{}).Select("id, email").Where("disabled = ? AND email <> ''", false)
	switch {
	case p.AssignmentID != 0:
		var unitID uint64
		if err := db.Model(&Assignment{}).Where("id = ?", p.AssignmentID).Pluck("unit_id", &unitID).Error; err != nil {
			return nil, fmt.Errorf("load notice assignment: %w", err)
		}
		if p.Kind == EventEscalated {
			users = users.Where("(role = ? AND unit_id = ?) OR role IN ?", RoleLiaison, unitID, []string{RoleLeader, RoleOffice})
		} else {
			users = users.Where("role = ? AND unit_id = ?", RoleLiaison, unitID)
		}
	case p.Kind == EventEscalated:
		users = users.Where("role IN ?", []string{RoleLeader, RoleOffice})
	default:
		users = users.Where("role = ?", RoleOffice)
	}
	var rs []recipient
	if err := users.Order("id").Scan(&rs).Error; err != nil {
		return nil, fmt.Errorf("load notice recipients: %w", err)
	}
	return rs, nil
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

// NoticeBatchPayload is the TaskNoticeBatch payload: one person's batch of
// one day.
type NoticeBatchPayload struct {
	UserID uint64 `json:"user_id"`
	Day    string `json:"day"` // YYYY-MM-DD on the Beijing clock
}

// Key is the batch's digests row: scope "notice:<user>:<day>" in the ISO
// week of the day.
func (p NoticeBatchPayload) Key() (DigestKey, error) {
	d, err := time.ParseInLocation(calDayLayout, p.Day, Shanghai())
	if err != nil || p.UserID == 0 {
		return DigestKey{}, fmt.Errorf("notice batch %d/%q: want a user and a YYYY-MM-DD day", p.UserID, p.Day)
	}
	return DigestKey{Scope: "notice:" + strconv.FormatUint(p.UserID, 10) + ":" + p.Day, Week: ISOWeek(d)}, nil
}

// batchMorning is when a batch carried over to a later day goes out: the
// hour the day's reminders fire (Clock.RemindAt), so they travel together.
const batchMorning = 9 * time.Hour

// batchCarryDays bounds how far a notice is carried forward.
const batchCarryDays = 7

// BatchNotice files a reminder or overdue notice into the day's batch of
// each recipient, exactly once: the notice's outbox row is marked done in
// the same transaction. The first notice of a person's day creates the
// batch and queues its TaskNoticeBatch after delay, so that a burst of
// timers ends up in one mail. A notice that arrives once the day's batch
// has gone out joins the next day's, sent at 09:00 plus delay: one mail per
// person per day.
func (s *Store) BatchNotice(ctx context.Context, outboxID uint64, p NoticePayload, delay time.Duration) error {
	_, err := s.runOnce(ctx, outboxID, func(w *txWork) error {
		rs, err := noticeRecipients(w.tx, p)
		if err != nil {
			return err
		}
		for _, r := range rs { // by id, so concurrent notices lock rows in one order
			if err := s.fileNotice(w, r.ID, p, delay); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("batch %s notice of case %d: %w", p.Kind, p.CaseID, err)
	}
	return nil
}

// fileNotice adds p to the first batch of userID, from today on, that has
// not gone out yet.
func (s *Store) fileNotice(w *txWork, userID uint64, p NoticePayload, delay time.Duration) error {
	today := shanghaiStartOfDay(w.now)
	for i := range batchCarryDays {
		day := today.AddDate(0, 0, i)
		bp := NoticeBatchPayload{UserID: userID, Day: day.Format(calDayLayout)}
		k, err := bp.Key()
		if err != nil {
			return err
		}
		created, err := s.insertDigest(w.tx, Digest{Scope: k.Scope, Week: k.Week, Status: DigestPending, CreatedAt: w.now})
		if err != nil {
			return fmt.Errorf("open notice batch %s: %w", k.Scope, err)
		}
		var row Digest
		err = w.tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("scope = ? AND week = ?", k.Scope, k.Week).Take(&row).Error
		if err != nil {
			return fmt.Errorf("lock notice batch %s: %w", k.Scope, err)
		}
		if row.Status != DigestPending {
			continue // that day's mail is out or going out
		}
		res := w.tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&NoticeBatchEntry{DigestID: row.ID,
			EventID: p.EventID, AssignmentID: p.AssignmentID})
		if res.Error != nil {
			return fmt.Errorf("add to notice batch %s: %w", k.Scope, res.Error)
		}
		if res.RowsAffected == 1 {
			if err := w.tx.Model(&Digest{}).Where("id = ?", row.ID).
				Update("entry_count", gorm.Expr("entry_count + 1")).Error; err != nil {
				return fmt.Errorf("add to notice batch %s: %w", k.Scope, err)
			}
		}
		if !created {
			return nil // its task is queued already
		}
		runAt := w.now.Add(delay)
		if i > 0 {
			runAt = day.Add(batchMorning + delay)
		}
		return w.add(TaskNoticeBatch, QueueMail, bp, runAt)
	}
	return fmt.Errorf("user %d has no open notice batch in the next %d days", userID, batchCarryDays)
}

// NoticeBatch is one person's daily batch as it stands when it is sent:
// one line per assignment or case that still waits, whatever number of
// reminders and overdue notices it got.
type NoticeBatch struct {
	At    time.Time
	Day   string
	To    string // "" when the user has been disabled or lost the email
	Items []NoticeItem
}

// NoticeItem is one line of a batch.
type NoticeItem struct {
	CaseID       uint64
	AssignmentID uint64 // 0 for the case's own stage
	Title        string
	Stage        string
	UnitName     string
	DueAt        time.Time
	// Overdue: DueAt has passed; WorkdaysOverdue counts the working days
	// since.
	Overdue         bool
	WorkdaysOverdue int
}

// NoticeBatch loads a batch for sending, in four queries whatever its size:
// the row, the recipient, and the assignments and cases its entries name.
// Items whose assignment was accepted, or whose case has moved on or
// closed, are dropped: the reminder has been answered.
func (s *Store) NoticeBatch(ctx context.Context, p NoticeBatchPayload) (NoticeBatch, error) {
	now := s.clock()
	db := s.db.WithContext(ctx)
	k, err := p.Key()
	if err != nil {
		return NoticeBatch{}, err
	}
	var row Digest
	if err := db.Where("scope = ? AND week = ?", k.Scope, k.Week).Take(&row).Error; err != nil {
		return NoticeBatch{}, interpret(err, "load notice batch "+k.Scope)
	}
	b := NoticeBatch{At: now, Day: p.Day}
	var emails []string
	if err := db.Model(&User{}).Where("id = ? AND disabled = ? AND email <> ''", p.UserID, false).Pluck("email", &emails).Error; err != nil {
		return b, fmt.Errorf("load recipient of notice batch %s: %w", k.Scope, err)
	}
	if len(emails) == 1 {
		b.To = emails[0]
	}
	type itemRow struct {
		CaseID       uint64
		AssignmentID uint64
		Title        string
		Stage        string
		UnitName     string
		DueAt        *time.Time
	}
	var rows []itemRow
	err = waitingAssignments(db).Joins("JOIN tips ON tips.id = cases.tip_id").
		Joins("JOIN units ON units.id = assignments.unit_id").
		Select("assignments.case_id, assignments.id AS assignment_id, tips.title, cases.stage, units.name AS unit_name, "+
			"assignments.due_at").
		Where("assignments.id IN (SELECT assignment_id FROM notice_batch_entries WHERE digest_id = ?)", row.ID).
		Scan(&rows).Error
	if err != nil {
		return b, fmt.Errorf("load assignments of notice batch %s: %w", k.Scope, err)
	}
	// A case-level notice is still live if the case is in the stage the
	// timer was for, which its event recorded.
	// Named fields, not an embedded itemRow: gorm maps no field of an
	// unexported embedded struct, which left every case-level item out and
	// marked the office's own reminders skipped.
	var cs []struct {
		CaseID     uint64
		Title      string
		Stage      string
		DueAt      *time.Time
		EventStage string
	}
	err = db.Table("cases").Joins("JOIN tips ON tips.id = cases.tip_id").
		Joins("JOIN events ON events.case_id = cases.id").
		Select("cases.id AS case_id, tips.title, cases.stage, cases.due_at, events.to_stage AS event_stage").
		Where("events.id IN (SELECT event_id FROM notice_batch_entries WHERE digest_id = ? AND assignment_id = 0)", row.ID).
		Where("cases.stage <> ? AND cases.due_at IS NOT NULL", StageClosed).
		Scan(&cs).Error
	if err != nil {
		return b, fmt.Errorf("load cases of notice batch %s: %w", k.Scope, err)
	}
	for _, c := range cs {
		if c.Stage == c.EventStage {
			rows = append(rows, itemRow{CaseID: c.CaseID, Title: c.Title, Stage: c.Stage, DueAt: c.DueAt})
		}
	}
	cal := s.calendar.Load()
	seen := map[[2]uint64]bool{}
	for _, r := range rows {
		key := [2]uint64{r.CaseID, r.AssignmentID}
		if seen[key] || r.DueAt == nil {
			continue
		}
		seen[key] = true
		it := NoticeItem{CaseID: r.CaseID, AssignmentID: r.AssignmentID, Title: r.Title, Stage: r.Stage,
			UnitName: r.UnitName, DueAt: *r.DueAt, Overdue: r.DueAt.Before(now)}
		if it.Overdue {
			it.WorkdaysOverdue = cal.WorkdaysBetween(it.DueAt, now)
		}
		b.Items = append(b.Items, it)
	}
	slices.SortFunc(b.Items, func(x, y NoticeItem) int {
		return cmp.Or(x.DueAt.Compare(y.DueAt), cmp.Compare(x.CaseID, y.CaseID), cmp.Compare(x.AssignmentID, y.AssignmentID))
	})
	return b, nil
}
