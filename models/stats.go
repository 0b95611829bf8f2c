package models

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Statistics of tip handling (docs/statistics.md has the same definitions
// for people). The figures describe a cohort: the tips received in the
// period [From, To) — cases.created_at, the moment the tip was recorded,
// which equals tips.created_at — and what has become of them as of the
// moment the figures are computed (AsOf). So a period's 办结率 is the share
// of that period's accepted tips that are closed now, never above 100%,
// and a case reopened or closed after the period ends still counts in the
// period it was received in. Typical-case publications are the one
// exception: they count in the period they were published in.
//
// By default the figures are read from rollups kept in the same
// transaction as every change (rollups.go); the direct count below — one
// scan of the period's cases by the index on cases.created_at with GROUP
// BY, per-case probes through indexes, the stage changes streamed once and
// their working days added up here, since SQL does not know the holiday
// calendar — stays as the reference they are tested against, and answers
// a unit's figures and periods that do not start at midnight.

// StatsParams selects the cases the figures describe.
type StatsParams struct {
	// From and To bound the period [From, To) in which tips were received.
	From, To time.Time
	// UnitCode, if set, keeps only the cases assigned to that unit.
	UnitCode string
	// Direct counts from the cases instead of the rollups: the reference
	// the rollups are tested against (rollups.go).
	Direct bool
	// NoOverdue leaves 当前逾期 (Overdue, OverdueRate) at zero where the
	// rollups answer: it is counted live from the open cases, and the
	// dashboard shows overdue work from the weekly summary instead.
	NoOverdue bool
}

// PeriodOfDates turns two Asia/Shanghai dates (YYYY-MM-DD, both days
// included) into the period [from 00:00, the day after to 00:00).
func PeriodOfDates(from, to string) (time.Time, time.Time, error) {
	f := map[string]string{}
	start, err := time.ParseInLocation(calDayLayout, strings.TrimSpace(from), Shanghai())
	if err != nil {
		f["from"] = "起始日期格式应为 2025-01-01"
	}
	last, err := time.ParseInLocation(calDayLayout, strings.TrimSpace(to), Shanghai())
	if err != nil {
		f["to"] = "截止日期格式应为 2025-12-31"
	}
	if len(f) == 0 && last.Before(start) {
		f["to"] = "截止日期不能早于起始日期"
	}
	if len(f) == 0 && last.Sub(start) > 20*366*24*time.Hour {
		f["to"] = "统计期间不能超过20年"
	}
	if len(f) > 0 {
		return time.Time{}, time.Time{}, &ValidationError{Fields: f}
	}
	return start.UTC(), last.AddDate(0, 0, 1).UTC(), nil
}

// YearPeriod is the calendar year in Asia/Shanghai.
func YearPeriod(year int) (time.Time, time.Time) {
	start := time.Date(year, 1, 1, 0, 0, 0, 0, Shanghai())
	return start.UTC(), start.AddDate(1, 0, 0).UTC()
}

// Rate is a share with its numerator and denominator. Percent is rounded
// half up to one decimal, and nil (JSON null, "—" in text) when the
// denominator is 0: an empty period has no rate, not 0%.
type Rate struct {
	Numerator   int64    `json:"numerator"`
	Denominator int64    `json:"denominator"`
	Percent     *float64 `json:"percent"`
}

func newRate(num, den int64) Rate {
	r := Rate{Numerator: num, Denominator: den}
	if den > 0 {
		v := float64(roundTenths(num*100, den)) / 10
		r.Percent = &v
	}
	return r
}

// roundTenths is num/den rounded half up to tenths, in tenths (num, den ≥ 0).
func roundTenths(num, den int64) int64 { return (num*20 + den) / (2 * den) }

// Text is the percentage with one decimal and a % sign, or "—".
func (r Rate) Text() string {
	if r.Percent == nil {
		return "—"
	}
	return strconv.FormatFloat(*r.Percent, 'f', 1, 64) + "%"
}

// Average is a mean number of working days with its sum and count; Value
// is rounded half up to one decimal and nil when nothing was counted.
type Average struct {
	Total int64    `json:"total"`
	Count int64    `json:"count"`
	Value *float64 `json:"value"`
}

func (a *Average) add(days int64) { a.Total += days; a.Count++ }

func (a Average) done() Average {
	a.Value = nil
	if a.Count > 0 {
		v := float64(roundTenths(a.Total, a.Count)) / 10
		a.Value = &v
	}
	return a
}

// Text is the mean with one decimal, or "—".
func (a Average) Text() string {
	if a.Value == nil {
		return "—"
	}
	return strconv.FormatFloat(*a.Value, 'f', 1, 64)
}

// Counts are the additive figures of a group of cases; the column names
// of the aggregate queries are their snake_case names.
type Counts struct {
	Received           int64 `json:"received"`
	ReceivedWeb        int64 `json:"received_web"`
	ReceivedPhone      int64 `json:"received_phone"`
	ReceivedLetter     int64 `json:"received_letter"`
	ReceivedMailbox    int64 `json:"received_mailbox"`
	Screening          int64 `json:"screening"`
	Accepted           int64 `json:"accepted"`
	Rejected           int64 `json:"rejected"`
	Merged             int64 `json:"merged"`
	DualAssigned       int64 `json:"dual_assigned"`
	Substantiated      int64 `json:"substantiated"`
	Partly             int64 `json:"partly"`
	Unsubstantiated    int64 `json:"unsubstantiated"`
	Transferred        int64 `json:"transferred"`
	Closed             int64 `json:"closed"`
	ClosedOnTime       int64 `json:"closed_on_time"`
	Open               int64 `json:"open"`
	Overdue            int64 `json:"overdue"`
	Reopened           int64 `json:"reopened"`
	Rated              int64 `json:"rated"`
	Satisfied          int64 `json:"satisfied"`
	BasicallySatisfied int64 `json:"basically_satisfied"`
	Unsatisfied        int64 `json:"unsatisfied"`
	Unrated            int64 `json:"unrated"`
}

func (c *Counts) add(o Counts) {
	c.Received += o.Received
	c.ReceivedWeb += o.ReceivedWeb
	c.ReceivedPhone += o.ReceivedPhone
	c.ReceivedLetter += o.ReceivedLetter
	c.ReceivedMailbox += o.ReceivedMailbox
	c.Screening += o.Screening
	c.Accepted += o.Accepted
	c.Rejected += o.Rejected
	c.Merged += o.Merged
	c.DualAssigned += o.DualAssigned
	c.Substantiated += o.Substantiated
	c.Partly += o.Partly
	c.Unsubstantiated += o.Unsubstantiated
	c.Transferred += o.Transferred
	c.Closed += o.Closed
	c.ClosedOnTime += o.ClosedOnTime
	c.Open += o.Open
	c.Overdue += o.Overdue
	c.Reopened += o.Reopened
	c.Rated += o.Rated
	c.Satisfied += o.Satisfied
	c.BasicallySatisfied += o.BasicallySatisfied
	c.Unsatisfied += o.Unsatisfied
	c.Unrated += o.Unrated
}

// StatsRow is the figures of one group: the county (or the filtered
// unit's cases), a channel, a unit, a category or a township.
type StatsRow struct {
	// Key is the channel, unit, category or township code; "" for the
	// totals and for tips without a township.
	Key  string `json:"key"`
	Name string `json:"name"`
	// Kind is the unit kind (township or county) on unit rows.
	Kind string `json:"kind,omitempty"`
	Counts
	// AsGrassroots and AsCounty (unit rows only) split the unit's cases by
	// the role it was assigned in.
	AsGrassroots     *int64             `json:"as_grassroots,omitempty"`
	AsCounty         *int64             `json:"as_county,omitempty"`
	ClosureRate      Rate               `json:"closure_rate"`
	OnTimeRate       Rate               `json:"on_time_rate"`
	OverdueRate      Rate               `json:"overdue_rate"`
	SatisfactionRate Rate               `json:"satisfaction_rate"`
	StageDays        map[string]Average `json:"stage_days"`
}

// finish computes the rates and rounds the averages.
func (r *StatsRow) finish(days map[string]*Average) {
	r.ClosureRate = newRate(r.Closed, r.Accepted)
	r.OnTimeRate = newRate(r.ClosedOnTime, r.Closed)
	r.OverdueRate = newRate(r.Overdue, r.Open)
	r.SatisfactionRate = newRate(r.Satisfied+r.BasicallySatisfied, r.Rated)
	r.StageDays = map[string]Average{}
	for _, st := range DurationStages {
		var a Average
		if d := days[st]; d != nil {
			a = *d
		}
		r.StageDays[st] = a.done()
	}
}

// DurationStages are the keys of StatsRow.StageDays in display order: the
// five working stages, then StageTotal.
var DurationStages = []string{StageCollect, StageAssign, StageVerify, StageRectify, StageFeedback, StageTotal}

// StageTotal is the StageDays key of the whole handling time (收到至办结).
const StageTotal = "total"

// ChannelNames are the zh-CN names of the intake channels.
var ChannelNames = map[string]string{
	ChannelWeb: "网络平台", ChannelPhone: "电话", ChannelLetter: "来信", ChannelMailbox: "举报信箱",
	ChannelVisit: "来访",
}

// Channels are the intake channels in display order.
var Channels = []string{ChannelWeb, ChannelPhone, ChannelLetter, ChannelMailbox, ChannelVisit}

// TypicalItem is a typical case published in the period.
type TypicalItem struct {
	ID           uint64    `json:"id"`
	CaseID       uint64    `json:"case_id"`
	Title        string    `json:"title"`
	CategoryCode string    `json:"category"`
	CategoryName string    `json:"category_name"`
	PublishedAt  time.Time `json:"published_at"`
}

// Stats is every figure of a period.
type Stats struct {
	From time.Time `json:"from"` // first instant of the period
	To   time.Time `json:"to"`   // first instant after it
	AsOf time.Time `json:"as_of"`
	// Unit is the unit the figures are limited to, or nil.
	Unit       *Unit      `json:"-"`
	Totals     StatsRow   `json:"totals"`
	ByChannel  []StatsRow `json:"by_channel"`
	ByUnit     []StatsRow `json:"by_unit"`
	ByCategory []StatsRow `json:"by_category"`
	ByTownship []StatsRow `json:"by_township"`
	// Typical lists the typical cases published in the period, oldest
	// first; TypicalBatches counts their distinct publication days.
	Typical        []TypicalItem `json:"typical"`
	TypicalBatches int64         `json:"typical_batches"`
	// Sections are the figures of domain packages (AddStatsSection).
	Sections []StatsSection `json:"-"`

	// Disposals: the disposals recorded in the period (models/disposal.go).
	Disposals *DisposalStats `json:"disposals"`
}

// FromDate and ToDate are the period's first and last days (Asia/Shanghai).
func (st *Stats) FromDate() string { return st.From.In(Shanghai()).Format(calDayLayout) }

// ToDate is the last day of the period (Asia/Shanghai), included.
func (st *Stats) ToDate() string {
	return st.To.Add(-time.Nanosecond).In(Shanghai()).Format(calDayLayout)
}

// The SQL of the figures. A case is exactly one of: screening (still in
// collect), accepted, rejected or merged; closed counts accepted cases only.
const (
	sqlMerged    = "c.merged_into_id IS NOT NULL"
	sqlRejected  = "c.stage = 'closed' AND c.merged_into_id IS NULL AND c.reject_reason <> ''"
	sqlAccepted  = "c.stage <> 'collect' AND c.merged_into_id IS NULL AND c.reject_reason = ''"
	sqlClosed    = sqlAccepted + " AND c.stage = 'closed'"
	sqlRatedList = "('satisfied','basically_satisfied','unsatisfied')"
)

func sqlCount(cond string) string {
	return "COALESCE(SUM(CASE WHEN " + cond + " THEN 1 ELSE 0 END), 0)"
}

// figureColumns are the SELECT list of Counts. unit is true for the query
// per unit, where the alias x is the unit's assignment: on time and overdue
// then judge the unit's own assignment.
func figureColumns(unit bool) string {
	onTime := sqlClosed + " AND NOT EXISTS (SELECT 1 FROM events e WHERE e.case_id = c.id AND e.kind = 'overdue')"
	overdue := "c.stage <> 'closed' AND c.due_at IS NOT NULL AND c.due_at < @now"
	if unit {
		onTime = sqlClosed + " AND NOT EXISTS (SELECT 1 FROM events e WHERE e.case_id = c.id AND e.kind = 'overdue' AND e.assignment_id = x.id)"
		overdue = "c.stage <> 'closed' AND x.status IN ('pending','returned') AND x.due_at IS NOT NULL AND x.due_at < @now"
	}
	cols := []struct{ name, expr string }{
		{"received", "COUNT(*)"},
		{"received_web", sqlCount("t.channel = 'web'")},
		{"received_phone", sqlCount("t.channel = 'phone'")},
		{"received_letter", sqlCount("t.channel = 'letter'")},
		{"received_mailbox", sqlCount("t.channel = 'mailbox'")},
		{"screening", sqlCount("c.stage = 'collect'")},
		{"accepted", sqlCount(sqlAccepted)},
		{"rejected", sqlCount(sqlRejected)},
		{"merged", sqlCount(sqlMerged)},
		{"dual_assigned", sqlCount(sqlAccepted + " AND (SELECT COUNT(*) FROM assignments a2 WHERE a2.case_id = c.id) >= 2")},
		{"substantiated", sqlCount(sqlAccepted + " AND c.finding = 'substantiated'")},
		{"partly", sqlCount(sqlAccepted + " AND c.finding = 'partly'")},
		{"unsubstantiated", sqlCount(sqlAccepted + " AND c.finding = 'unsubstantiated'")},
		{"transferred", sqlCount(sqlAccepted + " AND c.transfer_to_discipline = @yes")},
		{"closed", sqlCount(sqlClosed)},
		{"closed_on_time", sqlCount(onTime)},
		{"open", sqlCount("c.stage <> 'closed'")},
		{"overdue", sqlCount(overdue)},
		{"reopened", sqlCount("c.reopen_count > 0")},
		{"rated", sqlCount(sqlClosed + " AND c.rating IN " + sqlRatedList)},
		{"satisfied", sqlCount(sqlClosed + " AND c.rating = 'satisfied'")},
		{"basically_satisfied", sqlCount(sqlClosed + " AND c.rating = 'basically_satisfied'")},
		{"unsatisfied", sqlCount(sqlClosed + " AND c.rating = 'unsatisfied'")},
		{"unrated", sqlCount(sqlClosed + " AND c.rating NOT IN " + sqlRatedList)},
	}
	if unit {
		cols = append(cols, struct{ name, expr string }{"as_grassroots", sqlCount("x.role = 'grassroots'")},
			struct{ name, expr string }{"as_county", sqlCount("x.role = 'county'")})
	}
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = c.expr + " AS " + c.name
	}
	return strings.Join(parts, ",\n  ")
}

// cohort is the WHERE clause of the period's cases.
const cohort = "c.created_at >= @from AND c.created_at < @to"

// cohortUnit adds the unit filter.
const cohortUnit = " AND EXISTS (SELECT 1 FROM assignments ua WHERE ua.case_id = c.id AND ua.unit_id = @unit)"

// cellsQuery counts the period's cases by channel × category × township.
func cellsQuery(where string) string {
	return "SELECT t.channel AS channel, c.category_id AS category_id, c.township_id AS township_id,\n  " +
		figureColumns(false) + "\nFROM cases c JOIN tips t ON t.id = c.tip_id\nWHERE " + where +
		"\nGROUP BY t.channel, c.category_id, c.township_id"
}

// unitCellsQuery counts the period's cases per assigned unit.
func unitCellsQuery(where string) string {
	return "SELECT x.unit_id AS unit_id,\n  " + figureColumns(true) +
		"\nFROM cases c JOIN tips t ON t.id = c.tip_id JOIN assignments x ON x.case_id = c.id\nWHERE " + where +
		"\nGROUP BY x.unit_id"
}

// stageChangesQuery lists the stage changes of the period's cases in
// case order.
func stageChangesQuery(where string) string {
	return "SELECT e.case_id, e.at, e.from_stage, e.to_stage, t.channel, c.category_id, c.township_id " +
		"FROM events e JOIN cases c ON c.id = e.case_id JOIN tips t ON t.id = c.tip_id " +
		"WHERE " + where + " AND e.from_stage <> e.to_stage ORDER BY e.case_id, e.id"
}

// Stats computes every figure of the period; see the package comment
// above and docs/statistics.md for the definitions.
func (s *Store) Stats(ctx context.Context, p StatsParams) (*Stats, error) {
	if !p.From.Before(p.To) {
		return nil, invalid("to", "截止日期不能早于起始日期")
	}
	db := s.db.WithContext(ctx)
	st := &Stats{From: p.From.UTC(), To: p.To.UTC(), AsOf: s.clock()}
	args := map[string]any{"from": st.From, "to": st.To, "now": st.AsOf, "yes": true, "unit": uint64(0)}
	where := cohort
	if p.UnitCode != "" {
		u, err := s.UnitByCode(ctx, p.UnitCode)
		if err != nil {
			return nil, invalid("unit", "单位代码不存在："+p.UnitCode)
		}
		st.Unit = &u
		args["unit"] = u.ID
		where += cohortUnit
	}

	var units []Unit
	if err := db.Order("kind DESC, code").Find(&units).Error; err != nil {
		return nil, fmt.Errorf("stats: load units: %w", err)
	}
	var cats []Category
	if err := db.Order("sort, id").Find(&cats).Error; err != nil {
		return nil, fmt.Errorf("stats: load categories: %w", err)
	}

	var groups map[string]*StatsRow
	var days map[string]map[string]*Average
	var err error
	if !p.Direct && st.Unit == nil && rollupsCover(st.From, st.To) {
		groups, days, err = s.rollupStats(ctx, st, args, p.NoOverdue)
	} else {
		groups, days, err = s.directStats(ctx, st, where, args)
	}
	if err != nil {
		return nil, err
	}
	row := func(key string) *StatsRow {
		r := groups[key]
		if r == nil {
			r = &StatsRow{}
			groups[key] = r
		}
		return r
	}

	finish := func(key string, r *StatsRow) StatsRow {
		r.finish(days[key])
		return *r
	}
	st.Totals = finish("", row(""))
	for _, ch := range Channels {
		r := row("channel:" + ch)
		r.Key, r.Name = ch, ChannelNames[ch]
		st.ByChannel = append(st.ByChannel, finish("channel:"+ch, r))
	}
	for _, c := range cats {
		key := fmt.Sprintf("category:%d", c.ID)
		if groups[key] == nil && !c.Active {
			continue
		}
		r := row(key)
		r.Key, r.Name = c.Code, c.Name
		st.ByCategory = append(st.ByCategory, finish(key, r))
	}
	if r := groups["township:0"]; r != nil {
		r.Name = "未填写乡镇（街道）"
		st.ByTownship = append(st.ByTownship, finish("township:0", r))
	}
	for _, u := range units {
		if r := groups[fmt.Sprintf("township:%d", u.ID)]; r != nil {
			r.Key, r.Name = u.Code, u.Name
			st.ByTownship = append(st.ByTownship, finish(fmt.Sprintf("township:%d", u.ID), r))
		}
	}
	// Townships first, then county departments, each by code; the row
	// without a township goes last.
	slices.SortStableFunc(st.ByTownship, func(a, b StatsRow) int {
		return cmp.Compare(boolInt(a.Key == ""), boolInt(b.Key == ""))
	})
	for _, u := range units {
		key := fmt.Sprintf("unit:%d", u.ID)
		if r := groups[key]; r != nil {
			r.Key, r.Name, r.Kind = u.Code, u.Name, u.Kind
			st.ByUnit = append(st.ByUnit, finish(key, r))
		}
	}

	if err := s.typicalInPeriod(ctx, st, args); err != nil {
		return nil, err
	}
	if err := s.disposalsInPeriod(ctx, st, args); err != nil {
		return nil, err
	}
	if st.ByUnit == nil {
		st.ByUnit = []StatsRow{}
	}
	if st.ByTownship == nil {
		st.ByTownship = []StatsRow{}
	}
	if err := s.addSections(ctx, st); err != nil {
		return nil, err
	}
	return st, nil
}

// directStats counts the period's figures from the cases themselves: the
// reference the rollups are tested against, and the path for a unit's
// figures and for periods that do not start at midnight.
func (s *Store) directStats(ctx context.Context, st *Stats, where string, args map[string]any) (map[string]*StatsRow, map[string]map[string]*Average, error) {
	db := s.db.WithContext(ctx)
	// One scan of the period's cases, grouped by channel × category ×
	// township; every other breakdown is a sum of these cells.
	var cells []struct {
		Channel    string
		CategoryID uint64
		TownshipID *uint64
		Counts
	}
	if err := db.Raw(cellsQuery(where), args).Scan(&cells).Error; err != nil {
		return nil, nil, fmt.Errorf("stats: count cases: %w", err)
	}
	// Per unit: a dual-assigned case counts once in each of its units.
	var unitCells []struct {
		UnitID       uint64
		AsGrassroots int64
		AsCounty     int64
		Counts
	}
	uwhere := where
	if st.Unit != nil {
		uwhere = cohort + " AND x.unit_id = @unit"
	}
	if err := db.Raw(unitCellsQuery(uwhere), args).Scan(&unitCells).Error; err != nil {
		return nil, nil, fmt.Errorf("stats: count cases per unit: %w", err)
	}

	groups := map[string]*StatsRow{}
	row := func(key string) *StatsRow {
		r := groups[key]
		if r == nil {
			r = &StatsRow{}
			groups[key] = r
		}
		return r
	}
	for _, c := range cells {
		row("").add(c.Counts)
		row("channel:" + c.Channel).add(c.Counts)
		row(fmt.Sprintf("category:%d", c.CategoryID)).add(c.Counts)
		row(fmt.Sprintf("township:%d", deref(c.TownshipID))).add(c.Counts)
	}
	for _, c := range unitCells {
		r := row(fmt.Sprintf("unit:%d", c.UnitID))
		r.add(c.Counts)
		g, cn := c.AsGrassroots, c.AsCounty
		r.AsGrassroots, r.AsCounty = &g, &cn
	}

	days, err := s.stageDays(ctx, where, args)
	if err != nil {
		return nil, nil, err
	}
	return groups, days, nil
}

func deref(p *uint64) uint64 {
	if p == nil {
		return 0
	}
	return *p
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// stageDays streams the stage changes of the period's cases, oldest first
// per case, and adds up the working days of every completed stay in a
// stage, per group key (as in Stats). A stay runs from the event that
// enters the stage to the event that leaves it; a reopened case stays in
// rectify and feedback twice, and each stay counts. StageTotal is the
// whole time from receipt to closing, for accepted cases that are closed.
func (s *Store) stageDays(ctx context.Context, where string, args map[string]any) (map[string]map[string]*Average, error) {
	db := s.db.WithContext(ctx)
	cal := s.calendar.Load()
	var links []struct {
		CaseID uint64
		UnitID uint64
	}
	if err := db.Raw("SELECT x.case_id AS case_id, x.unit_id AS unit_id FROM assignments x JOIN cases c ON c.id = x.case_id WHERE "+
		where, args).Scan(&links).Error; err != nil {
		return nil, fmt.Errorf("stats: load assignments: %w", err)
	}
	unitsOf := map[uint64][]uint64{}
	for _, l := range links {
		if u, ok := args["unit"].(uint64); ok && u != 0 && l.UnitID != u {
			continue // with a unit filter, only that unit's row exists
		}
		unitsOf[l.CaseID] = append(unitsOf[l.CaseID], l.UnitID)
	}

	rows, err := db.Raw(stageChangesQuery(where), args).Rows()
	if err != nil {
		return nil, fmt.Errorf("stats: load stage changes: %w", err)
	}
	defer rows.Close()

	out := map[string]map[string]*Average{}
	add := func(keys []string, stage string, days int64) {
		for _, k := range keys {
			m := out[k]
			if m == nil {
				m = map[string]*Average{}
				out[k] = m
			}
			if m[stage] == nil {
				m[stage] = &Average{}
			}
			m[stage].add(days)
		}
	}
	var (
		cur  uint64 // the case being read; 0 before the first
		keys []string
		walk stayWalk
	)
	for rows.Next() {
		var (
			ev                 uint64
			at                 time.Time
			fromStage, toStage string
			channel            string
			categoryID         uint64
			townshipID         *uint64
		)
		if err := rows.Scan(&ev, &at, &fromStage, &toStage, &channel, &categoryID, &townshipID); err != nil {
			return nil, fmt.Errorf("stats: read stage change: %w", err)
		}
		if ev != cur {
			cur = ev
			keys = []string{"", "channel:" + channel, fmt.Sprintf("category:%d", categoryID),
				fmt.Sprintf("township:%d", deref(townshipID))}
			for _, u := range unitsOf[cur] {
				keys = append(keys, fmt.Sprintf("unit:%d", u))
			}
			walk = stayWalk{}
		}
		walk.step(cal, at, fromStage, toStage, func(stage string, days int64) { add(keys, stage, days) })
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("stats: read stage changes: %w", err)
	}
	return out, nil
}

// stayWalk follows one case's stage changes, oldest first, and reports
// every completed stay in a stage, and the whole handling time when an
// accepted case closes.
type stayWalk struct {
	stage             string // the stage the case is in, "" before its first event
	entered, received time.Time
	accepted          bool
}

func (w *stayWalk) step(cal *Calendar, at time.Time, fromStage, toStage string, add func(stage string, days int64)) {
	if w.stage == "" && w.received.IsZero() {
		w.received = at
	}
	if w.stage != "" && fromStage == w.stage {
		add(w.stage, int64(cal.WorkdaysBetween(w.entered, at)))
	}
	w.stage, w.entered = toStage, at
	w.accepted = w.accepted || toStage == StageAssign
	if toStage == StageClosed && w.accepted {
		add(StageTotal, int64(cal.WorkdaysBetween(w.received, at)))
	}
}

// typicalInPeriod lists the typical cases published in the period.
func (s *Store) typicalInPeriod(ctx context.Context, st *Stats, args map[string]any) error {
	q := "SELECT tc.id, tc.case_id, tc.title, tc.published_at, cat.code AS category_code, cat.name AS category_name " +
		"FROM typical_cases tc JOIN cases c ON c.id = tc.case_id JOIN categories cat ON cat.id = c.category_id " +
		"WHERE tc.published_at >= @from AND tc.published_at < @to"
	if st.Unit != nil {
		q += cohortUnit
	}
	q += " ORDER BY tc.published_at, tc.id"
	st.Typical = []TypicalItem{}
	if err := s.db.WithContext(ctx).Raw(q, args).Scan(&st.Typical).Error; err != nil {
		return fmt.Errorf("stats: list typical cases: %w", err)
	}
	days := map[string]bool{}
	for i := range st.Typical {
		st.Typical[i].PublishedAt = st.Typical[i].PublishedAt.UTC()
		days[st.Typical[i].PublishedAt.In(Shanghai()).Format(calDayLayout)] = true
	}
	st.TypicalBatches = int64(len(days))
	return nil
}

// Figure is one figure's id (the JSON field), zh-CN name and exact
// definition, as shown in the export's last sheet and docs/statistics.md.
type Figure struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Definition string `json:"definition"`
}

// StatsScope is the definition every figure shares.
const StatsScope = "统计范围：统计期间内收到的线索，即线索录入系统的时间（cases.created_at，与 tips.created_at 相同）" +
	"在[起始日 00:00, 截止日次日 00:00)（北京时间）之内的线索；指定承办单位时，仅含交办给该单位的线索。" +
	"各项办理情况统计至“统计时点”（生成统计的时刻），因此期间结束后办结、重新整改的线索仍计入其收到的期间。" +
	"例外：典型问题通报按通报时间计入期间。"

// Figures are the definitions of every figure, in display order.
var Figures = []Figure{
	{"received", "收到线索", "统计范围内的线索数。收到线索 = 待受理 + 受理 + 不予受理 + 合并办理。"},
	{"received_web", "其中：网络平台", "收到线索中来源渠道为网络平台（tips.channel = web）的数量。"},
	{"received_phone", "其中：电话", "收到线索中来源渠道为电话（tips.channel = phone，工作人员代录）的数量。"},
	{"received_letter", "其中：来信", "收到线索中来源渠道为来信（tips.channel = letter，工作人员代录）的数量。"},
	{"received_mailbox", "其中：举报信箱", "收到线索中来源渠道为专用举报信箱（tips.channel = mailbox，工作人员代录）的数量。"},
	{"screening", "待受理", "统计时点仍处于线索收集阶段（stage = collect）、尚未受理、不予受理或合并的线索数。"},
	{"accepted", "受理", "已受理的线索数：已离开线索收集阶段，且不是不予受理（reject_reason 为空）也不是合并办理（merged_into_id 为空）。"},
	{"rejected", "不予受理", "以不予受理办结的线索数（stage = closed 且 reject_reason 非空）。"},
	{"merged", "合并办理", "并入同一问题的其他线索办理的线索数（merged_into_id 非空）。"},
	{"dual_assigned", "双交办", "受理的线索中交办给两个及以上承办单位（一个乡镇（街道）和至少一个县直部门，“双交办、双整改”）的数量。"},
	{"substantiated", "属实", "受理的线索中联合核查结论为属实（finding = substantiated）的数量。"},
	{"partly", "部分属实", "受理的线索中联合核查结论为部分属实（finding = partly）的数量。"},
	{"unsubstantiated", "不属实", "受理的线索中联合核查结论为不属实（finding = unsubstantiated）的数量。"},
	{"transferred", "移送审查调查", "受理的线索中核查时标记移送审查调查（transfer_to_discipline）的数量。"},
	{"closed", "办结", "受理的线索中已办结（stage = closed）的数量；不含不予受理和合并办理。"},
	{"closure_rate", "办结率", "办结 ÷ 受理 × 100%，四舍五入保留一位小数；受理为 0 时无此比率（显示“—”，JSON 为 null）。"},
	{"closed_on_time", "按时办结", "办结的线索中，任何阶段、任何承办单位的交办任务都未逾期的数量：时间线上没有“逾期”（overdue）事件。" +
		"逾期事件在阶段或交办任务超过办理时限仍未完成时由计时器写入；经批准延期的，以延期后的时限为准。" +
		"按承办单位统计时，只看该单位自己的交办任务是否逾期。"},
	{"on_time_rate", "按时办结率", "按时办结 ÷ 办结 × 100%，四舍五入保留一位小数；办结为 0 时显示“—”。"},
	{"open", "在办", "统计时点尚未办结的线索数（stage ≠ closed，含待受理）。"},
	{"overdue", "当前逾期", "在办线索中当前办理时限（cases.due_at）早于统计时点的数量，与案件列表的“逾期”一致；" +
		"督促整改阶段的时限是尚待整改的交办任务中最早的时限。按承办单位统计时，为该单位尚待整改（pending 或 returned）且整改时限已过的交办任务数。"},
	{"overdue_rate", "逾期率", "当前逾期 ÷ 在办 × 100%，四舍五入保留一位小数；在办为 0 时显示“—”。"},
	{"reopened", "重新整改", "因举报人不满意而重新整改过的线索数（reopen_count > 0），不论重新整改发生在何时。"},
	{"rated", "已评价", "办结的线索中举报人作出评价（满意、基本满意或不满意）的数量，以办结时的最终评价为准。已评价 + 未评价 = 办结。"},
	{"satisfied", "满意", "办结的线索中举报人最终评价为满意的数量。"},
	{"basically_satisfied", "基本满意", "办结的线索中举报人最终评价为基本满意的数量。"},
	{"unsatisfied", "不满意", "办结的线索中举报人最终评价为不满意（经说明后办结）的数量。"},
	{"satisfaction_rate", "满意率", "（满意 + 基本满意）÷ 已评价 × 100%，四舍五入保留一位小数；已评价为 0 时显示“—”。"},
	{"unrated", "未评价", "办结的线索中评价期满未评价的数量。"},
	{"days_collect", "线索收集平均用时（工作日）", stayDefinition},
	{"days_assign", "快速分办平均用时（工作日）", stayDefinition},
	{"days_verify", "联合核查平均用时（工作日）", stayDefinition},
	{"days_rectify", "督促整改平均用时（工作日）", stayDefinition + "重新整改的线索再次进入督促整改、反馈评估，各算一次停留。"},
	{"days_feedback", "反馈评估平均用时（工作日）", stayDefinition},
	{"days_total", "平均办结用时（工作日）", "办结的线索从收到到办结所经过的工作日数的平均值（计法同上），保留一位小数。"},
	{"typical_published", "通报典型问题", "通报时间（published_at）在统计期间内的典型问题数（按通报时间而非收到时间计）。"},
	{"typical_batches", "通报批次", "上述典型问题的不同通报日期（北京时间）数，同一天通报的为一批。"},
	{"as_grassroots", "基层承办（按承办单位）", "按承办单位统计时，该单位作为基层（grassroots）承办的线索数。"},
	{"as_county", "部门承办（按承办单位）", "按承办单位统计时，该单位作为县直部门（county）承办的线索数。"},
}

const stayDefinition = "统计范围内的线索每次进入该阶段到离开该阶段所经过的工作日数的平均值，保留一位小数：" +
	"按节假日日历（含调休上班）计，不计进入当天、计离开当天，同一天进出为 0；只计已离开该阶段的停留。"

// GroupNote says how the breakdown tables count.
const GroupNote = "按承办单位统计时，一件双交办线索在每个承办单位各计一次，各单位合计可大于全县数；" +
	"按来源渠道、问题类别、乡镇（街道）统计时，各行之和等于全县数。只列出有线索的单位和乡镇（街道）。"

// Cell is one value of an exported table: a count, a one-decimal
// number (a percentage or working days) or text ("—" for no value).
type Cell struct {
	Int  *int64
	Dec  *float64
	Text string
}

// String is the cell as text, as CSV and Markdown show it.
func (c Cell) String() string {
	switch {
	case c.Int != nil:
		return strconv.FormatInt(*c.Int, 10)
	case c.Dec != nil:
		return strconv.FormatFloat(*c.Dec, 'f', 1, 64)
	}
	return c.Text
}

func intCell(n int64) Cell { return Cell{Int: &n} }

func decCell(v *float64) Cell {
	if v == nil {
		return Cell{Text: "—"}
	}
	x := *v
	return Cell{Dec: &x}
}

func textCell(s string) Cell { return Cell{Text: s} }

// Table is one exported table (one sheet of the xlsx, one CSV).
type Table struct {
	ID      string // the CSV name: summary, channels, units, categories, townships, stages, typical, definitions
	Title   string // the zh-CN sheet name
	Headers []string
	Rows    [][]Cell
}

// TableIDs are the exported tables in order.
var TableIDs = []string{"summary", "channels", "units", "categories", "townships", "disposals", "stages", "typical", "definitions"}

// rowColumn is one column of the breakdown tables.
type rowColumn struct {
	header string
	cell   func(r StatsRow) Cell
}

func countColumn(header string, get func(r StatsRow) int64) rowColumn {
	return rowColumn{header, func(r StatsRow) Cell { return intCell(get(r)) }}
}

func rateColumn(header string, get func(r StatsRow) Rate) rowColumn {
	return rowColumn{header, func(r StatsRow) Cell { return decCell(get(r).Percent) }}
}

// figureColumns of the breakdown tables, after the group's name.
func rowColumns(channels bool) []rowColumn {
	cols := []rowColumn{countColumn("收到线索", func(r StatsRow) int64 { return r.Received })}
	if channels {
		cols = append(cols,
			countColumn("网络平台", func(r StatsRow) int64 { return r.ReceivedWeb }),
			countColumn("电话", func(r StatsRow) int64 { return r.ReceivedPhone }),
			countColumn("来信", func(r StatsRow) int64 { return r.ReceivedLetter }),
			countColumn("举报信箱", func(r StatsRow) int64 { return r.ReceivedMailbox }))
	}
	cols = append(cols,
		countColumn("待受理", func(r StatsRow) int64 { return r.Screening }),
		countColumn("受理", func(r StatsRow) int64 { return r.Accepted }),
		countColumn("不予受理", func(r StatsRow) int64 { return r.Rejected }),
		countColumn("合并办理", func(r StatsRow) int64 { return r.Merged }),
		countColumn("双交办", func(r StatsRow) int64 { return r.DualAssigned }),
		countColumn("属实", func(r StatsRow) int64 { return r.Substantiated }),
		countColumn("部分属实", func(r StatsRow) int64 { return r.Partly }),
		countColumn("不属实", func(r StatsRow) int64 { return r.Unsubstantiated }),
		countColumn("移送审查调查", func(r StatsRow) int64 { return r.Transferred }),
		countColumn("办结", func(r StatsRow) int64 { return r.Closed }),
		rateColumn("办结率(%)", func(r StatsRow) Rate { return r.ClosureRate }),
		countColumn("按时办结", func(r StatsRow) int64 { return r.ClosedOnTime }),
		rateColumn("按时办结率(%)", func(r StatsRow) Rate { return r.OnTimeRate }),
		countColumn("在办", func(r StatsRow) int64 { return r.Open }),
		countColumn("当前逾期", func(r StatsRow) int64 { return r.Overdue }),
		rateColumn("逾期率(%)", func(r StatsRow) Rate { return r.OverdueRate }),
		countColumn("重新整改", func(r StatsRow) int64 { return r.Reopened }),
		countColumn("已评价", func(r StatsRow) int64 { return r.Rated }),
		countColumn("满意", func(r StatsRow) int64 { return r.Satisfied }),
		countColumn("基本满意", func(r StatsRow) int64 { return r.BasicallySatisfied }),
		countColumn("不满意", func(r StatsRow) int64 { return r.Unsatisfied }),
		rateColumn("满意率(%)", func(r StatsRow) Rate { return r.SatisfactionRate }),
		countColumn("未评价", func(r StatsRow) int64 { return r.Unrated }),
	)
	for _, stage := range DurationStages {
		cols = append(cols, rowColumn{stageDaysHeader(stage), func(r StatsRow) Cell { return decCell(r.StageDays[stage].Value) }})
	}
	return cols
}

func stageDaysHeader(stage string) string {
	if stage == StageTotal {
		return "平均办结用时(工作日)"
	}
	return StageNames[stage] + "平均用时(工作日)"
}

func breakdown(id, title, keyHeader string, rows []StatsRow, unit, channels bool) Table {
	t := Table{ID: id, Title: title, Headers: []string{keyHeader, "名称"}}
	if unit {
		t.Headers = append(t.Headers, "单位类型", "基层承办", "部门承办")
	}
	cols := rowColumns(channels)
	for _, c := range cols {
		t.Headers = append(t.Headers, c.header)
	}
	for _, r := range rows {
		cells := []Cell{textCell(r.Key), textCell(r.Name)}
		if unit {
			kind := "县直部门"
			if r.Kind == UnitTownship {
				kind = "乡镇（街道）"
			}
			cells = append(cells, textCell(kind), intCell(deref64(r.AsGrassroots)), intCell(deref64(r.AsCounty)))
		}
		for _, c := range cols {
			cells = append(cells, c.cell(r))
		}
		t.Rows = append(t.Rows, cells)
	}
	return t
}

func deref64(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// Summary is the county-wide figures as (id, value) pairs in the order
// of Figures, without the unit-only ones; rates carry their numerator and
// denominator.
func (st *Stats) Summary() []SummaryItem {
	r := st.Totals
	counts := map[string]int64{
		"received": r.Received, "received_web": r.ReceivedWeb, "received_phone": r.ReceivedPhone,
		"received_letter": r.ReceivedLetter, "received_mailbox": r.ReceivedMailbox, "screening": r.Screening,
		"accepted": r.Accepted, "rejected": r.Rejected, "merged": r.Merged, "dual_assigned": r.DualAssigned,
		"substantiated": r.Substantiated, "partly": r.Partly, "unsubstantiated": r.Unsubstantiated,
		"transferred": r.Transferred, "closed": r.Closed, "closed_on_time": r.ClosedOnTime, "open": r.Open,
		"overdue": r.Overdue, "reopened": r.Reopened, "rated": r.Rated, "satisfied": r.Satisfied,
		"basically_satisfied": r.BasicallySatisfied, "unsatisfied": r.Unsatisfied, "unrated": r.Unrated,
		"typical_published": int64(len(st.Typical)), "typical_batches": st.TypicalBatches,
	}
	rates := map[string]Rate{"closure_rate": r.ClosureRate, "on_time_rate": r.OnTimeRate,
		"overdue_rate": r.OverdueRate, "satisfaction_rate": r.SatisfactionRate}
	var out []SummaryItem
	for _, f := range Figures {
		item := SummaryItem{Figure: f}
		if n, ok := counts[f.ID]; ok {
			item.Value = intCell(n)
		} else if rt, ok := rates[f.ID]; ok {
			item.Value = decCell(rt.Percent)
			item.Rate = &rt
		} else if stage, ok := strings.CutPrefix(f.ID, "days_"); ok {
			a := r.StageDays[stage]
			item.Value = decCell(a.Value)
			item.Average = &a
		} else {
			continue // unit-only figures
		}
		out = append(out, item)
	}
	return out
}

// SummaryItem is one county-wide figure.
type SummaryItem struct {
	Figure
	Value   Cell
	Rate    *Rate    // rates only
	Average *Average // stage durations only
}

// Tables are the export's tables in TableIDs order; the definitions come
// last.
func (st *Stats) Tables() []Table {
	sum := Table{ID: "summary", Title: "总体情况", Headers: []string{"指标", "标识", "数值", "单位", "分子", "分母"}}
	for _, it := range st.Summary() {
		num, den, unit := textCell(""), textCell(""), "条"
		switch {
		case it.Rate != nil:
			num, den, unit = intCell(it.Rate.Numerator), intCell(it.Rate.Denominator), "%"
		case it.Average != nil:
			num, den, unit = intCell(it.Average.Total), intCell(it.Average.Count), "工作日"
		case it.ID == "typical_published":
			unit = "个"
		case it.ID == "typical_batches":
			unit = "批"
		}
		sum.Rows = append(sum.Rows, []Cell{textCell(it.Name), textCell(it.ID), it.Value, textCell(unit), num, den})
	}
	stages := Table{ID: "stages", Title: "各阶段平均用时", Headers: []string{"阶段", "名称", "停留次数", "工作日合计", "平均工作日"}}
	for _, stage := range DurationStages {
		a := st.Totals.StageDays[stage]
		name := StageNames[stage]
		if stage == StageTotal {
			name = "收到至办结"
		}
		stages.Rows = append(stages.Rows, []Cell{textCell(stage), textCell(name), intCell(a.Count), intCell(a.Total), decCell(a.Value)})
	}
	typical := Table{ID: "typical", Title: "典型问题通报", Headers: []string{"通报日期", "标题", "问题类别", "线索编号"}}
	for _, t := range st.Typical {
		typical.Rows = append(typical.Rows, []Cell{textCell(t.PublishedAt.In(Shanghai()).Format(calDayLayout)),
			textCell(t.Title), textCell(t.CategoryName), intCell(int64(t.CaseID))})
	}
	defs := Table{ID: "definitions", Title: "指标说明", Headers: []string{"标识", "指标", "口径"}}
	defs.Rows = append(defs.Rows, []Cell{textCell("scope"), textCell("统计范围"), textCell(StatsScope)},
		[]Cell{textCell("breakdown"), textCell("分组统计"), textCell(GroupNote)})
	for _, f := range Figures {
		defs.Rows = append(defs.Rows, []Cell{textCell(f.ID), textCell(f.Name), textCell(f.Definition)})
	}
	tables := []Table{
		sum,
		breakdown("channels", "按来源渠道", "渠道", st.ByChannel, false, false),
		breakdown("units", "按承办单位", "单位代码", st.ByUnit, true, true),
		breakdown("categories", "按问题类别", "类别代码", st.ByCategory, false, true),
		breakdown("townships", "按乡镇（街道）", "乡镇代码", st.ByTownship, false, true),
		st.disposalTable(),
		stages, typical,
	}
	for _, sec := range st.Sections { // domain packages' tables, before the definitions
		tables = append(tables, sec.Tables...)
		for _, f := range sec.Definitions {
			defs.Rows = append(defs.Rows, []Cell{textCell(f.ID), textCell(f.Name), textCell(f.Definition)})
		}
	}
	return append(tables, defs)
}

// Table returns the table with the given id.
func (st *Stats) Table(id string) (Table, bool) {
	for _, t := range st.Tables() {
		if t.ID == id {
			return t, true
		}
	}
	return Table{}, false
}

// ReportTitle is the heading of the report section.
func (st *Stats) ReportTitle() string {
	if y, ok := st.year(); ok {
		return fmt.Sprintf("%d年度为基层减负问题线索办理情况", y)
	}
	return fmt.Sprintf("为基层减负问题线索办理情况（%s至%s）", cnDate(st.From), cnDate(st.To.Add(-time.Nanosecond)))
}

// year reports whether the period is exactly one calendar year.
func (st *Stats) year() (int, bool) {
	y := st.From.In(Shanghai()).Year()
	from, to := YearPeriod(y)
	return y, from.Equal(st.From) && to.Equal(st.To)
}

func cnDate(t time.Time) string { return t.In(Shanghai()).Format("2006年1月2日") }

// ReportParagraphs are the report's section on tip handling, in the
// county report's own wording, with every figure filled in from st.
func (st *Stats) ReportParagraphs() []string {
	r := st.Totals
	n := func(v int64) string { return strconv.FormatInt(v, 10) }
	within := "期间内"
	if _, ok := st.year(); ok {
		within = "年内"
	}
	scope := fmt.Sprintf("统计口径：%s至%s收到的线索（按收到时间），办理情况统计至%s。", cnDate(st.From),
		cnDate(st.To.Add(-time.Nanosecond)), st.AsOf.In(Shanghai()).Format("2006年1月2日 15:04"))
	if st.Unit != nil {
		scope += "仅含交办给" + st.Unit.Name + "的线索。"
	}
	days := func(stage string) string { return r.StageDays[stage].Text() }
	p := []string{
		scope,
		fmt.Sprintf("%s，共收到并核查处理相关线索%s条，办结率%s。", within, n(r.Received), r.ClosureRate.Text()),
		fmt.Sprintf("收到的线索中，来自网络平台%s条、电话%s条、来信%s条、举报信箱%s条；受理%s条，不予受理%s条，合并办理%s条，待受理%s条。"+
			"对“表现在基层、根子在上面”的问题实行“双交办、双整改”%s条。",
			n(r.ReceivedWeb), n(r.ReceivedPhone), n(r.ReceivedLetter), n(r.ReceivedMailbox),
			n(r.Accepted), n(r.Rejected), n(r.Merged), n(r.Screening), n(r.DualAssigned)),
		fmt.Sprintf("经联合核查，反映问题属实%s条、部分属实%s条、不属实%s条，移送审查调查%s条。"+
			"已办结%s条，其中按时办结%s条，按时办结率%s；因举报人不满意重新整改%s条。目前在办%s条，其中逾期%s条，逾期率%s。",
			n(r.Substantiated), n(r.Partly), n(r.Unsubstantiated), n(r.Transferred),
			n(r.Closed), n(r.ClosedOnTime), r.OnTimeRate.Text(), n(r.Reopened), n(r.Open), n(r.Overdue), r.OverdueRate.Text()),
		fmt.Sprintf("办结的线索中，举报人评价%s条，其中满意%s条、基本满意%s条、不满意%s条，满意率%s；未评价%s条。",
			n(r.Rated), n(r.Satisfied), n(r.BasicallySatisfied), n(r.Unsatisfied), r.SatisfactionRate.Text(), n(r.Unrated)),
		fmt.Sprintf("各阶段平均用时（工作日）：线索收集%s、快速分办%s、联合核查%s、督促整改%s、反馈评估%s；从收到到办结平均%s个工作日。",
			days(StageCollect), days(StageAssign), days(StageVerify), days(StageRectify), days(StageFeedback), days(StageTotal)),
		fmt.Sprintf("%s已通报%s批%s个典型问题。", within, n(st.TypicalBatches), n(int64(len(st.Typical)))),
	}
	p = append(p, st.disposalParagraph())
	for _, sec := range st.Sections {
		p = append(p, sec.Paragraphs...)
	}
	return p
}

// WriteReportMarkdown writes the report section on tip handling: the
// paragraphs with every figure filled in, then every table, the
// definitions last. `jianfu report` and GET /api/v1/stats/report print it.
func WriteReportMarkdown(w io.Writer, st *Stats) error {
	var b strings.Builder
	b.WriteString("## " + st.ReportTitle() + "\n\n")
	for _, p := range st.ReportParagraphs() {
		b.WriteString(p + "\n\n")
	}
	b.WriteString("### 附表\n\n")
	for _, t := range st.Tables() {
		b.WriteString("#### " + t.Title + "\n\n")
		if len(t.Rows) == 0 {
			b.WriteString("（无）\n\n")
			continue
		}
		b.WriteString("| " + strings.Join(mdEscapeAll(t.Headers), " | ") + " |\n|")
		b.WriteString(strings.Repeat(" --- |", len(t.Headers)) + "\n")
		for _, row := range t.Rows {
			cells := make([]string, len(row))
			for i, c := range row {
				cells[i] = mdEscape(c.String())
			}
			b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

func mdEscapeAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = mdEscape(s)
	}
	return out
}
