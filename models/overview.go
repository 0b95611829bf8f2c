package models

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Overviews for the console: how many cases a user has in each stage (the
// head of the queue and of the dashboard) and the monthly trend of tips
// received and cases closed (the dashboard chart). Both count in the
// database by the stored stage and due time, like ListCases.

// Now is the store's clock: the moment "overdue" is judged against.
func (s *Store) Now() time.Time { return s.clock() }

// caseScope limits q, a query over cases, to the cases p may see: every
// case for office, admin and leaders, a liaison only the cases with an
// assignment of their unit (the same rule as ListCases and visible). ok
// is false when p may see none.
func caseScope(q *gorm.DB, p Principal) (_ *gorm.DB, ok bool) {
	switch p.Role {
	case RoleOffice, RoleAdmin, RoleLeader:
		return q, true
	case RoleLiaison:
		if p.UnitID == nil {
			return q, false
		}
		return q.Where("EXISTS (SELECT 1 FROM assignments own WHERE own.case_id = cases.id AND own.unit_id = ?)", *p.UnitID), true
	}
	return q, false
}

// StageCount is the number of cases in one stage, and how many of them
// are past their due time.
type StageCount struct {
	Stage   string
	Name    string
	Cases   int64
	Overdue int64
}

// StageCounts are p's cases per stage, in workflow order, closed last.
type StageCounts struct {
	Stages []StageCount
	// Open and Overdue sum the stages before closed.
	Open, Overdue int64
}

// Stages lists the stage ids in workflow order.
var Stages = []string{StageCollect, StageAssign, StageVerify, StageRectify, StageFeedback, StageClosed}

// StageCounts counts the cases p may see by stage in one query.
func (s *Store) StageCounts(ctx context.Context, p Principal) (StageCounts, error) {
	now := s.clock()
	out := StageCounts{}
	var rows []struct {
		Stage   string
		Cases   int64
		Overdue int64
	}
	q, ok := caseScope(s.db.WithContext(ctx).Table("cases"), p)
	if ok {
		err := q.Select("cases.stage, COUNT(*) AS cases, "+
			"COALESCE(SUM(CASE WHEN cases.due_at IS NOT NULL AND cases.due_at < ? THEN 1 ELSE 0 END), 0) AS overdue", now).
			Group("cases.stage").Scan(&rows).Error
		if err != nil {
			return out, fmt.Errorf("count cases by stage: %w", err)
		}
	}
	by := map[string]StageCount{}
	for _, r := range rows {
		by[r.Stage] = StageCount{Cases: r.Cases, Overdue: r.Overdue}
	}
	for _, st := range Stages {
		c := by[st]
		c.Stage, c.Name = st, StageNames[st]
		if st != StageClosed {
			out.Open += c.Cases
			out.Overdue += c.Overdue
		} else {
			c.Overdue = 0
		}
		out.Stages = append(out.Stages, c)
	}
	return out, nil
}

// MonthCount is one calendar month (Asia/Shanghai) of the trend.
type MonthCount struct {
	Month    time.Time // the first day of the month, Asia/Shanghai
	Received int64     // tips received in the month
	// Closed counts the accepted cases closed in the month (not those
	// rejected or merged into another), as the statistics do.
	Closed int64
}

// MonthlyTrend returns the last months calendar months, oldest first, the
// current month last (1 ≤ months ≤ 60).
func (s *Store) MonthlyTrend(ctx context.Context, months int) ([]MonthCount, error) {
	if months < 1 || months > 60 {
		return nil, invalid("months", "月数应为1至60")
	}
	now := s.clock().In(Shanghai())
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, Shanghai()).AddDate(0, 1-months, 0)
	out := make([]MonthCount, months)
	for i := range out {
		out[i].Month = first.AddDate(0, i, 0)
	}
	// One range scan per figure, counted in the database: column k counts
	// the rows before the end of month k, so a month is the difference of
	// two columns. Received reads ix_cases_created, closed ix_cases_closed;
	// neither loads a row per case into Go (a year of a busy county is a
	// hundred thousand).
	ends := make([]string, months)
	args := map[string]any{"start": first.UTC()}
	for i := range ends {
		name := fmt.Sprintf("e%d", i)
		args[name] = first.AddDate(0, i+1, 0).UTC()
		ends[i] = fmt.Sprintf("COALESCE(SUM(CASE WHEN %%[1]s < @%s THEN 1 ELSE 0 END), 0)", name)
	}
	count := func(col, where string) ([]int64, error) {
		sel := fmt.Sprintf(strings.Join(ends, ", "), col)
		row := s.db.WithContext(ctx).Raw("SELECT "+sel+" FROM cases WHERE "+col+" >= @start"+where, args).Row()
		cum := make([]int64, months)
		dest := make([]any, months)
		for i := range cum {
			dest[i] = &cum[i]
		}
		if err := row.Scan(dest...); err != nil {
			return nil, err
		}
		return cum, nil
	}
	received, err := count("created_at", "")
	if err != nil {
		return nil, fmt.Errorf("load monthly trend: %w", err)
	}
	closed, err := count("closed_at", " AND merged_into_id IS NULL AND reject_reason = ''")
	if err != nil {
		return nil, fmt.Errorf("load monthly trend: %w", err)
	}
	for i := range out {
		out[i].Received, out[i].Closed = received[i], closed[i]
		if i > 0 {
			out[i].Received -= received[i-1]
			out[i].Closed -= closed[i-1]
		}
	}
	return out, nil
}
