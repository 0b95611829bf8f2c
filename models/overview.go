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
		// IN, not EXISTS: MariaDB turns it into a semi-join it can start
		// from the unit's assignments instead of testing every case.
		return q.Where("cases.id IN (SELECT own.case_id FROM assignments own WHERE own.unit_id = ?)", *p.UnitID), true
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

// StageCounts counts the cases p may see by stage. The open stages are a
// range of the stage index (a tenth of a busy county's cases at most);
// closed cases are most of them, so for the office and leaders, who see
// every case, they are the rollups' count of every case received less
// their count of the open ones (a new case joins both when its routing
// task indexes it, readmodels.go); a liaison's few are counted with the
// rest, in the same query.
func (s *Store) StageCounts(ctx context.Context, p Principal) (StageCounts, error) {
	now := s.clock()
	out := StageCounts{}
	var rows []struct {
		Stage   string
		Cases   int64
		Overdue int64
	}
	q, ok := caseScope(s.db.WithContext(ctx).Table("cases"), p)
	if !ok {
		return out.fill(nil), nil
	}
	q = q.Select("cases.stage, COUNT(*) AS cases, "+
		"COALESCE(SUM(CASE WHEN cases.due_at IS NOT NULL AND cases.due_at < ? THEN 1 ELSE 0 END), 0) AS overdue", now)
	if p.Role != RoleLiaison {
		q = q.Where("cases.stage IN ?", Stages[:len(Stages)-1]) // closed: from the rollups below
	}
	if err := q.Group("cases.stage").Scan(&rows).Error; err != nil {
		return out, fmt.Errorf("count cases by stage: %w", err)
	}
	by := map[string]StageCount{}
	for _, r := range rows {
		by[r.Stage] = StageCount{Cases: r.Cases, Overdue: r.Overdue}
	}
	if p.Role != RoleLiaison {
		local := now.In(Shanghai())
		groups, _, err := s.rollupGroups(ctx, time.Date(2000, 1, 1, 0, 0, 0, 0, Shanghai()),
			time.Date(local.Year(), local.Month(), local.Day()+1, 0, 0, 0, 0, Shanghai()))
		if err != nil {
			return out, err
		}
		by[StageClosed] = StageCount{Cases: groups[""].Received - groups[""].Open}
	}
	return out.fill(by), nil
}

// fill lists the stages in workflow order from their counts.
func (out StageCounts) fill(by map[string]StageCount) StageCounts {
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
	return out
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
	// Received from the monthly rollups (a case counts in the month it came
	// in, as in the statistics). Closed is by the month of closing, which
	// the rollups do not know: one range scan of ix_cases_closed, counted
	// in the database, where column k counts the rows before the end of
	// month k, so a month is the difference of two columns.
	var got []struct {
		Day string
		N   int64
	}
	if err := s.db.WithContext(ctx).Raw("SELECT day, SUM(received) AS n FROM stats_rollups WHERE grain = 'm' AND grp LIKE 'channel:%'"+
		" AND day >= ? AND day < ? GROUP BY day", first.Format(calDayLayout), first.AddDate(0, months, 0).Format(calDayLayout)).
		Scan(&got).Error; err != nil {
		return nil, fmt.Errorf("load monthly trend: %w", err)
	}
	for _, g := range got {
		for i := range out {
			if out[i].Month.Format(calDayLayout) == g.Day {
				out[i].Received = g.N
			}
		}
	}
	ends := make([]string, months)
	args := map[string]any{"start": first.UTC()}
	for i := range ends {
		name := fmt.Sprintf("e%d", i)
		args[name] = first.AddDate(0, i+1, 0).UTC()
		ends[i] = fmt.Sprintf("COALESCE(SUM(CASE WHEN closed_at < @%s THEN 1 ELSE 0 END), 0)", name)
	}
	row := s.db.WithContext(ctx).Raw("SELECT "+strings.Join(ends, ", ")+" FROM cases WHERE closed_at >= @start"+
		" AND merged_into_id IS NULL AND reject_reason = ''", args).Row()
	closed := make([]int64, months)
	dest := make([]any, months)
	for i := range closed {
		dest[i] = &closed[i]
	}
	if err := row.Scan(dest...); err != nil {
		return nil, fmt.Errorf("load monthly trend: %w", err)
	}
	for i := range out {
		out[i].Closed = closed[i]
		if i > 0 {
			out[i].Closed -= closed[i-1]
		}
	}
	return out, nil
}
