package models

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Statistics rollups (docs/statistics.md, "How the figures are computed
// fast"). Each case's contribution to the figures — its counts, computed by
// the very SQL of the direct path for that one case, and its stage stays in
// working days — is stored in case_stats; stats_rollups holds the sums of
// those contributions per day, month and year of receipt, per group
// (channel, category, township, unit) and per slot (case id mod 8, so that
// concurrent writers of one day seldom wait on the same row). When a case
// changes, refreshRollups recomputes its contribution and adds the
// difference to the rollup rows, in the same transaction. A period is then
// read as whole years, whole months at their edges and days at theirs:
// thousands of rows, not a million cases. "当前逾期" depends on the clock, not on any event, so it
// is not rolled up: it is counted live from the few open cases past their
// due time (index on stage, due_at).

// CaseStat is one case's stored contribution to the rollups.
type CaseStat struct {
	CaseID uint64 `gorm:"primaryKey;autoIncrement:false"`
	Facts  string `gorm:"type:text;not null"`
}

// StatsRollup is one row of sums (see rollupColumns for the figures).
type StatsRollup struct {
	Grain              string `gorm:"primaryKey;size:1"`
	Day                string `gorm:"primaryKey;size:10"`
	Grp                string `gorm:"primaryKey;size:40"`
	Slot               int    `gorm:"primaryKey;autoIncrement:false"`
	Received           int64  `gorm:"not null"`
	ReceivedWeb        int64  `gorm:"not null"`
	ReceivedPhone      int64  `gorm:"not null"`
	ReceivedLetter     int64  `gorm:"not null"`
	ReceivedMailbox    int64  `gorm:"not null"`
	Screening          int64  `gorm:"not null"`
	Accepted           int64  `gorm:"not null"`
	Rejected           int64  `gorm:"not null"`
	Merged             int64  `gorm:"not null"`
	DualAssigned       int64  `gorm:"not null"`
	Substantiated      int64  `gorm:"not null"`
	Partly             int64  `gorm:"not null"`
	Unsubstantiated    int64  `gorm:"not null"`
	Transferred        int64  `gorm:"not null"`
	Closed             int64  `gorm:"not null"`
	ClosedOnTime       int64  `gorm:"not null"`
	Open               int64  `gorm:"not null"`
	Reopened           int64  `gorm:"not null"`
	Rated              int64  `gorm:"not null"`
	Satisfied          int64  `gorm:"not null"`
	BasicallySatisfied int64  `gorm:"not null"`
	Unsatisfied        int64  `gorm:"not null"`
	Unrated            int64  `gorm:"not null"`
	AsGrassroots       int64  `gorm:"not null"`
	AsCounty           int64  `gorm:"not null"`
	DaysCollectSum     int64  `gorm:"not null"`
	DaysCollectCount   int64  `gorm:"not null"`
	DaysAssignSum      int64  `gorm:"not null"`
	DaysAssignCount    int64  `gorm:"not null"`
	DaysVerifySum      int64  `gorm:"not null"`
	DaysVerifyCount    int64  `gorm:"not null"`
	DaysRectifySum     int64  `gorm:"not null"`
	DaysRectifyCount   int64  `gorm:"not null"`
	DaysFeedbackSum    int64  `gorm:"not null"`
	DaysFeedbackCount  int64  `gorm:"not null"`
	DaysTotalSum       int64  `gorm:"not null"`
	DaysTotalCount     int64  `gorm:"not null"`
}

// rollupSlots spreads one day's rows over this many slots.
const rollupSlots = 8

// caseSlot is the slot a case's changes go to.
func caseSlot(id uint64) int { return int(id % rollupSlots) }

// rollupColumns are the summed columns, in statsVec order: the Counts
// except overdue, the unit roles, then sum and count of every stay.
var rollupColumns = func() []string {
	cols := []string{"received", "received_web", "received_phone", "received_letter", "received_mailbox", "screening",
		"accepted", "rejected", "merged", "dual_assigned", "substantiated", "partly", "unsubstantiated", "transferred",
		"closed", "closed_on_time", "open", "reopened", "rated", "satisfied", "basically_satisfied", "unsatisfied",
		"unrated", "as_grassroots", "as_county"}
	for _, st := range DurationStages {
		cols = append(cols, "days_"+st+"_sum", "days_"+st+"_count")
	}
	return cols
}()

const (
	vecGrassroots = 23
	vecCounty     = 24
	vecDays       = 25
	vecLen        = vecDays + 2*6
)

// statsVec is a contribution in rollupColumns order.
type statsVec [vecLen]int64

func countsVec(c Counts) statsVec {
	return statsVec{c.Received, c.ReceivedWeb, c.ReceivedPhone, c.ReceivedLetter, c.ReceivedMailbox, c.Screening,
		c.Accepted, c.Rejected, c.Merged, c.DualAssigned, c.Substantiated, c.Partly, c.Unsubstantiated, c.Transferred,
		c.Closed, c.ClosedOnTime, c.Open, c.Reopened, c.Rated, c.Satisfied, c.BasicallySatisfied, c.Unsatisfied, c.Unrated}
}

func (v statsVec) counts() Counts {
	return Counts{Received: v[0], ReceivedWeb: v[1], ReceivedPhone: v[2], ReceivedLetter: v[3], ReceivedMailbox: v[4],
		Screening: v[5], Accepted: v[6], Rejected: v[7], Merged: v[8], DualAssigned: v[9], Substantiated: v[10],
		Partly: v[11], Unsubstantiated: v[12], Transferred: v[13], Closed: v[14], ClosedOnTime: v[15], Open: v[16],
		Reopened: v[17], Rated: v[18], Satisfied: v[19], BasicallySatisfied: v[20], Unsatisfied: v[21], Unrated: v[22]}
}

func (v *statsVec) addStay(stage string, days int64) {
	i := slices.Index(DurationStages, stage)
	v[vecDays+2*i] += days
	v[vecDays+2*i+1]++
}

func (v statsVec) days() map[string]*Average {
	out := map[string]*Average{}
	for i, st := range DurationStages {
		if n := v[vecDays+2*i+1]; n > 0 {
			out[st] = &Average{Total: v[vecDays+2*i], Count: n}
		}
	}
	return out
}

// caseFacts is a case's contribution: the day it was received, the groups
// it counts in, its case-level vector and one vector per assigned unit.
type caseFacts struct {
	Day    string              `json:"d"`
	Groups []string            `json:"g"`
	Case   statsVec            `json:"c"`
	Units  map[string]statsVec `json:"u,omitempty"`
}

// loadFacts computes the contributions of ids from the cases, with the
// SQL of the direct count restricted to these cases.
func (s *Store) loadFacts(tx *gorm.DB, ids []uint64) (map[uint64]*caseFacts, error) {
	args := map[string]any{"ids": ids, "now": s.clock(), "yes": true}
	var cells []struct {
		CaseID     uint64
		CreatedAt  time.Time
		Channel    string
		CategoryID uint64
		TownshipID *uint64
		Counts
	}
	if err := tx.Raw("SELECT c.id AS case_id, c.created_at AS created_at, t.channel AS channel, c.category_id AS category_id,"+
		" c.township_id AS township_id,\n  "+figureColumns(false)+"\nFROM cases c JOIN tips t ON t.id = c.tip_id WHERE c.id IN @ids"+
		"\nGROUP BY c.id, c.created_at, t.channel, c.category_id, c.township_id", args).Scan(&cells).Error; err != nil {
		return nil, fmt.Errorf("rollups: count cases: %w", err)
	}
	out := map[uint64]*caseFacts{}
	for _, c := range cells {
		c.Overdue = 0 // counted live: it depends on the clock
		out[c.CaseID] = &caseFacts{Day: c.CreatedAt.In(Shanghai()).Format(calDayLayout),
			Groups: factGroups(c.Channel, c.CategoryID, c.TownshipID),
			Case:   countsVec(c.Counts)}
	}
	var units []struct {
		CaseID       uint64
		UnitID       uint64
		AsGrassroots int64
		AsCounty     int64
		Counts
	}
	if err := tx.Raw("SELECT c.id AS case_id, x.unit_id AS unit_id,\n  "+figureColumns(true)+
		"\nFROM cases c JOIN tips t ON t.id = c.tip_id JOIN assignments x ON x.case_id = c.id WHERE c.id IN @ids"+
		"\nGROUP BY c.id, x.unit_id", args).Scan(&units).Error; err != nil {
		return nil, fmt.Errorf("rollups: count assignments: %w", err)
	}
	for _, u := range units {
		f := out[u.CaseID]
		if f == nil {
			continue
		}
		u.Overdue = 0
		v := countsVec(u.Counts)
		v[vecGrassroots], v[vecCounty] = u.AsGrassroots, u.AsCounty
		if f.Units == nil {
			f.Units = map[string]statsVec{}
		}
		f.Units[strconv.FormatUint(u.UnitID, 10)] = v
	}
	var changes []struct {
		CaseID    uint64
		At        time.Time
		FromStage string
		ToStage   string
	}
	if err := tx.Raw("SELECT e.case_id, e.at, e.from_stage, e.to_stage FROM events e WHERE e.case_id IN @ids"+
		" AND e.from_stage <> e.to_stage ORDER BY e.case_id, e.id", args).Scan(&changes).Error; err != nil {
		return nil, fmt.Errorf("rollups: load stage changes: %w", err)
	}
	cal := s.calendar.Load()
	var walk stayWalk
	var cur uint64
	for _, ch := range changes {
		if ch.CaseID != cur {
			cur, walk = ch.CaseID, stayWalk{}
		}
		f := out[ch.CaseID]
		if f == nil {
			continue
		}
		walk.step(cal, ch.At, ch.FromStage, ch.ToStage, func(stage string, days int64) {
			f.Case.addStay(stage, days)
			for k, v := range f.Units {
				v.addStay(stage, days)
				f.Units[k] = v
			}
		})
	}
	return out, nil
}

// factGroups are the groups a case counts in besides its units.
func factGroups(channel string, categoryID uint64, townshipID *uint64) []string {
	return []string{"channel:" + channel, fmt.Sprintf("category:%d", categoryID), fmt.Sprintf("township:%d", deref(townshipID))}
}

// rollupKey names one rollup row.
type rollupKey struct {
	grain, day, grp string
	slot            int
}

// add puts a case's contribution (sign +1 or -1) into the deltas, in the
// rows of slot. Only a group's sum over its slots means anything, so a
// contribution may be added in one slot and taken out of another.
func (f *caseFacts) add(deltas map[rollupKey]*statsVec, slot int, sign int64) {
	if f == nil {
		return
	}
	put := func(grp string, v statsVec) {
		for _, key := range []rollupKey{{"d", f.Day, grp, slot}, {"m", f.Day[:8] + "01", grp, slot}, {"y", f.Day[:5] + "01-01", grp, slot}} {
			d := deltas[key]
			if d == nil {
				d = &statsVec{}
				deltas[key] = d
			}
			for i := range v {
				d[i] += sign * v[i]
			}
		}
	}
	for _, g := range f.Groups {
		put(g, f.Case)
	}
	for u, v := range f.Units {
		put("unit:"+u, v)
	}
}

// refreshRollups recomputes the contributions of ids and adds the
// differences to the rollups.
func (s *Store) refreshRollups(tx *gorm.DB, ids []uint64) error {
	facts, err := s.loadFacts(tx, ids)
	if err != nil {
		return err
	}
	var old []CaseStat
	if err := tx.Where("case_id IN ?", ids).Find(&old).Error; err != nil {
		return fmt.Errorf("rollups: load case facts: %w", err)
	}
	before := map[uint64]string{}
	for _, o := range old {
		before[o.CaseID] = o.Facts
	}
	deltas := map[rollupKey]*statsVec{}
	var upserts []CaseStat
	for _, id := range ids {
		f := facts[id]
		if f == nil {
			continue
		}
		raw, err := json.Marshal(f)
		if err != nil {
			return err
		}
		prev, had := before[id]
		if had && prev == string(raw) {
			continue
		}
		if had {
			var pf caseFacts
			if err := json.Unmarshal([]byte(prev), &pf); err != nil {
				return fmt.Errorf("rollups: read facts of case %d: %w", id, err)
			}
			pf.add(deltas, caseSlot(id), -1)
		}
		f.add(deltas, caseSlot(id), 1)
		upserts = append(upserts, CaseStat{CaseID: id, Facts: string(raw)})
	}
	if len(upserts) == 0 {
		return nil
	}
	if err := s.upsertCaseStats(tx, upserts); err != nil {
		return err
	}
	return s.applyDeltas(tx, deltas, 500)
}

func (s *Store) upsertCaseStats(tx *gorm.DB, rows []CaseStat) error {
	q := "INSERT INTO case_stats (case_id, facts) VALUES " + strings.TrimSuffix(strings.Repeat("(?, ?),", len(rows)), ",")
	if s.dialect == "mysql" {
		q += " ON DUPLICATE KEY UPDATE facts = VALUES(facts)"
	} else {
		q += " ON CONFLICT (case_id) DO UPDATE SET facts = excluded.facts"
	}
	args := make([]any, 0, 2*len(rows))
	for _, r := range rows {
		args = append(args, r.CaseID, r.Facts)
	}
	if err := tx.Exec(q, args...).Error; err != nil {
		return fmt.Errorf("rollups: store case facts: %w", err)
	}
	return nil
}

// applyDeltas adds the deltas to their rollup rows, per rows a statement
// (at most 500: SQLite takes 32766 values at most), rows in key order so
// that concurrent writers lock them in one order.
func (s *Store) applyDeltas(tx *gorm.DB, deltas map[rollupKey]*statsVec, per int) error {
	keys := make([]rollupKey, 0, len(deltas))
	for k, v := range deltas {
		if *v != (statsVec{}) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	slices.SortFunc(keys, func(a, b rollupKey) int {
		return cmp.Or(strings.Compare(a.grain, b.grain), strings.Compare(a.day, b.day), strings.Compare(a.grp, b.grp), cmp.Compare(a.slot, b.slot))
	})
	for start := 0; start < len(keys); start += per {
		if err := s.addToRollups(tx, keys[start:min(start+per, len(keys))], deltas); err != nil {
			return err
		}
	}
	return nil
}

// addToRollups adds the deltas of keys to their rows. Only the columns
// some delta changes are written: a new case moves four of the 37 sums,
// and the rest keep their value (or their default, 0, in a new row).
func (s *Store) addToRollups(tx *gorm.DB, keys []rollupKey, deltas map[rollupKey]*statsVec) error {
	var cols []int
	for i := range rollupColumns {
		for _, k := range keys {
			if deltas[k][i] != 0 {
				cols = append(cols, i)
				break
			}
		}
	}
	names := make([]string, len(cols))
	sets := make([]string, len(cols))
	for j, i := range cols {
		c := rollupColumns[i]
		names[j] = c
		if s.dialect == "mysql" {
			sets[j] = c + " = " + c + " + VALUES(" + c + ")"
		} else {
			sets[j] = c + " = " + c + " + excluded." + c
		}
	}
	var b strings.Builder
	b.WriteString("INSERT INTO stats_rollups (grain, day, grp, slot, " + strings.Join(names, ", ") + ") VALUES ")
	row := "(?, ?, ?, ?" + strings.Repeat(", ?", len(cols)) + ")"
	args := make([]any, 0, len(keys)*(4+len(cols)))
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
		args = append(args, k.grain, k.day, k.grp, k.slot)
		for _, c := range cols {
			args = append(args, deltas[k][c])
		}
	}
	if s.dialect == "mysql" {
		b.WriteString(" ON DUPLICATE KEY UPDATE ")
	} else {
		b.WriteString(" ON CONFLICT (grain, day, grp, slot) DO UPDATE SET ")
	}
	b.WriteString(strings.Join(sets, ", "))
	if err := tx.Exec(b.String(), args...).Error; err != nil {
		return fmt.Errorf("rollups: add to sums: %w", err)
	}
	return nil
}

// rollupGroups sums the rollups of [from, to) (midnights in Asia/Shanghai)
// per group; the group "" is the total (the sum of the channels).
func (s *Store) rollupGroups(ctx context.Context, from, to time.Time) (groups map[string]*StatsRow, days map[string]map[string]*Average, err error) {
	var parts []string
	var wargs []any
	for _, r := range rollupRanges(from.In(Shanghai()), to.In(Shanghai())) {
		parts = append(parts, "(grain = ? AND day >= ? AND day < ?)")
		wargs = append(wargs, r.grain, r.from, r.to)
	}
	if len(parts) == 0 {
		parts = []string{"1 = 0"}
	}
	where := strings.Join(parts, " OR ")
	sums := make([]string, len(rollupColumns))
	for i, c := range rollupColumns {
		sums[i] = "SUM(" + c + ")"
	}
	rows, err := s.db.WithContext(ctx).Raw("SELECT grp, "+strings.Join(sums, ", ")+" FROM stats_rollups WHERE "+where+" GROUP BY grp", wargs...).Rows()
	if err != nil {
		return nil, nil, fmt.Errorf("stats: read rollups: %w", err)
	}
	defer rows.Close()
	groups = map[string]*StatsRow{}
	days = map[string]map[string]*Average{}
	total := &StatsRow{}
	var totalVec statsVec
	for rows.Next() {
		var grp string
		var v statsVec
		dest := []any{&grp}
		for i := range v {
			dest = append(dest, &v[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, nil, fmt.Errorf("stats: read rollups: %w", err)
		}
		if v[0] == 0 {
			continue // a group its cases have all left
		}
		r := &StatsRow{Counts: v.counts()}
		if strings.HasPrefix(grp, "unit:") {
			g, c := v[vecGrassroots], v[vecCounty]
			r.AsGrassroots, r.AsCounty = &g, &c
		}
		if strings.HasPrefix(grp, "channel:") {
			for i := range v {
				totalVec[i] += v[i]
			}
		}
		groups[grp] = r
		days[grp] = v.days()
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("stats: read rollups: %w", err)
	}
	total.Counts = totalVec.counts()
	groups[""], days[""] = total, totalVec.days()
	return groups, days, nil
}

// rollupStats reads the period's figures from the rollups: whole months,
// plus the days before the first and after the last whole month (the
// period starts and ends at midnight in Asia/Shanghai: rollupsCover), and
// unless noOverdue counts 当前逾期 live.
func (s *Store) rollupStats(ctx context.Context, st *Stats, args map[string]any, noOverdue bool) (groups map[string]*StatsRow, days map[string]map[string]*Average, err error) {
	if groups, days, err = s.rollupGroups(ctx, st.From, st.To); err != nil || noOverdue {
		return groups, days, err
	}
	db := s.db.WithContext(ctx)
	// 当前逾期, live: open cases past their due time, and waiting
	// assignments past theirs.
	var late []struct {
		Channel    string
		CategoryID uint64
		TownshipID *uint64
		N          int64
	}
	if err := db.Raw("SELECT t.channel AS channel, c.category_id AS category_id, c.township_id AS township_id, COUNT(*) AS n"+
		" FROM cases c JOIN tips t ON t.id = c.tip_id WHERE c.stage IN ('collect','assign','verify','rectify','feedback')"+
		" AND c.due_at < @now AND "+cohort+" GROUP BY t.channel, c.category_id, c.township_id", args).Scan(&late).Error; err != nil {
		return nil, nil, fmt.Errorf("stats: count overdue cases: %w", err)
	}
	for _, l := range late {
		for _, k := range []string{"", "channel:" + l.Channel, fmt.Sprintf("category:%d", l.CategoryID), fmt.Sprintf("township:%d", deref(l.TownshipID))} {
			if r := groups[k]; r != nil {
				r.Overdue += l.N
			}
		}
	}
	var lateUnits []struct {
		UnitID uint64
		N      int64
	}
	// From the waiting assignments (a few percent of all) to their cases:
	// left to itself MariaDB scanned every case (EXPLAIN in bench/notes.md).
	straight := ""
	if s.dialect == "mysql" {
		straight = "STRAIGHT_JOIN "
	}
	if err := db.Raw("SELECT "+straight+"x.unit_id AS unit_id, COUNT(*) AS n FROM assignments x JOIN cases c ON c.id = x.case_id"+
		" WHERE x.status IN ('pending','returned') AND x.due_at < @now AND c.stage <> 'closed' AND "+cohort+
		" GROUP BY x.unit_id", args).Scan(&lateUnits).Error; err != nil {
		return nil, nil, fmt.Errorf("stats: count overdue assignments: %w", err)
	}
	for _, l := range lateUnits {
		if r := groups[fmt.Sprintf("unit:%d", l.UnitID)]; r != nil {
			r.Overdue += l.N
		}
	}
	return groups, days, nil
}

// rollupRange is a run of rollup rows of one grain, days [from, to).
type rollupRange struct{ grain, from, to string }

// rollupRanges cuts the period [from, to) (midnights in Asia/Shanghai)
// into whole years, whole months at their edges and days at theirs: a
// ten-year period reads ten years of rows, not 3650 days.
func rollupRanges(from, to time.Time) []rollupRange {
	day := func(t time.Time) string { return t.Format(calDayLayout) }
	var out []rollupRange
	months := func(a, b time.Time) {
		if !a.Before(b) {
			return
		}
		fm := time.Date(a.Year(), a.Month(), 1, 0, 0, 0, 0, Shanghai())
		if fm.Before(a) {
			fm = fm.AddDate(0, 1, 0)
		}
		lm := time.Date(b.Year(), b.Month(), 1, 0, 0, 0, 0, Shanghai())
		if !fm.Before(lm) {
			out = append(out, rollupRange{"d", day(a), day(b)})
			return
		}
		out = append(out, rollupRange{"m", day(fm), day(lm)})
		if a.Before(fm) {
			out = append(out, rollupRange{"d", day(a), day(fm)})
		}
		if lm.Before(b) {
			out = append(out, rollupRange{"d", day(lm), day(b)})
		}
	}
	fy := time.Date(from.Year(), 1, 1, 0, 0, 0, 0, Shanghai())
	if fy.Before(from) {
		fy = fy.AddDate(1, 0, 0)
	}
	ly := time.Date(to.Year(), 1, 1, 0, 0, 0, 0, Shanghai())
	if !fy.Before(ly) {
		months(from, to)
		return out
	}
	out = append(out, rollupRange{"y", day(fy), day(ly)})
	months(from, fy)
	months(ly, to)
	return out
}

// rollupsCover reports whether the rollups can answer the period: it
// must run from midnight to midnight in Asia/Shanghai.
func rollupsCover(from, to time.Time) bool {
	midnight := func(t time.Time) bool {
		l := t.In(Shanghai())
		return l.Hour() == 0 && l.Minute() == 0 && l.Second() == 0 && l.Nanosecond() == 0
	}
	return midnight(from) && midnight(to)
}
