package registry

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"jianfu/models"
)

// Warning rules (智能预警); docs/monitoring.md gives each one's definition.
const (
	RuleQuotaNear       = "quota_near"           // 80% of a yearly quota registered
	RuleQuotaExceeded   = "quota_exceeded"       // more than the quota
	RuleUnplanned       = "unplanned_inspection" // an inspection outside the approved annual plan
	RuleForbiddenDemand = "forbidden_demand"     // an app or group demanding check-ins, rankings or screenshots
	RuleHotspot         = "hotspot"              // HotspotTips substantiated tips on one unit × category in HotspotWindow
	RuleRepeat          = "repeat_during_rectification"
)

// RuleNames are the zh-CN names of the rules.
var RuleNames = map[string]string{
	RuleQuotaNear: "接近年度指标", RuleQuotaExceeded: "超出年度指标", RuleUnplanned: "计划外督查检查",
	RuleForbiddenDemand: "强制打卡排名截图", RuleHotspot: "问题线索热点", RuleRepeat: "整改期间重复被举报",
}

// Levels of warnings.
const (
	LevelAlert = "alert" // exceeded, forbidden, hotspot, repeat: act now
	LevelWarn  = "warn"  // near a limit, outside the plan
)

// Hotspot rule: HotspotTips or more substantiated (属实 or 部分属实) tips
// received within HotspotWindow about one unit (by assignment) in one
// category. Three is the smallest number that is a pattern rather than a
// coincidence of two reports of the same event.
const (
	HotspotTips   = 3
	HotspotWindow = 90 * 24 * time.Hour
	// QuotaNearPercent of a quota raises RuleQuotaNear.
	QuotaNearPercent = 80
)

// Evidence is what a warning rests on: registry entries, cases, counts.
type Evidence struct {
	Kind     string   `json:"kind,omitempty"`
	Category string   `json:"category,omitempty"`
	Entries  []uint64 `json:"entries,omitempty"`
	Cases    []uint64 `json:"cases,omitempty"`
	Count    int64    `json:"count,omitempty"`
	Limit    int      `json:"limit,omitempty"`
	Since    string   `json:"since,omitempty"` // first day counted, YYYY-MM-DD
}

// Warning is one early warning with its reason (zh-CN) and evidence.
type Warning struct {
	// ID is stable while its cause lasts (rule and subject), so a page, a
	// digest and the monthly mail name the same warning the same way.
	ID       string   `json:"id"`
	Rule     string   `json:"rule"`
	Level    string   `json:"level"`
	Unit     string   `json:"unit,omitempty"` // unit code; "" for a county-wide quota
	UnitName string   `json:"unit_name,omitempty"`
	Reason   string   `json:"reason"`
	Evidence Evidence `json:"evidence"`
}

// WarningParams filters Warnings.
type WarningParams struct {
	Unit string // a unit code: only that unit's warnings
	Rule string
}

// unitInfo is what warnings need of a unit.
type unitInfo struct {
	ID         uint64
	Code, Name string
}

// Warnings computes the warnings as of the store's clock, for the current
// year (Asia/Shanghai), most urgent first. A liaison gets their own unit's
// warnings only, without case numbers (their unit may not see every tip
// about it); the office, the admin and leaders get all.
func (s *Store) Warnings(ctx context.Context, p models.Principal, wp WarningParams) ([]Warning, error) {
	switch {
	case p.Role == models.RoleLiaison:
		if p.UnitID == nil {
			return nil, models.ErrForbidden
		}
		wp.Unit = p.UnitCode
	case p.IsOffice() || p.Role == models.RoleLeader:
	default:
		return nil, models.ErrForbidden
	}
	ws, err := s.AllWarnings(ctx)
	if err != nil {
		return nil, err
	}
	out := ws[:0]
	for _, w := range ws {
		if (wp.Unit != "" && w.Unit != wp.Unit) || (wp.Rule != "" && w.Rule != wp.Rule) {
			continue
		}
		if p.Role == models.RoleLiaison {
			if !liaisonMaySee(w) {
				continue
			}
			w.Evidence.Cases = nil
		}
		out = append(out, w)
	}
	return out, nil
}

// AllWarnings computes every warning, for the digest and the monthly mail.
func (s *Store) AllWarnings(ctx context.Context) ([]Warning, error) {
	now := s.core.Now()
	year := now.In(models.Shanghai()).Year()
	units := map[uint64]unitInfo{}
	var us []unitInfo
	if err := s.db(ctx).Table("units").Select("id, code, name").Scan(&us).Error; err != nil {
		return nil, fmt.Errorf("load units for warnings: %w", err)
	}
	for _, u := range us {
		units[u.ID] = u
	}
	var ws []Warning
	for _, rule := range []func(context.Context, int, time.Time, map[uint64]unitInfo) ([]Warning, error){
		s.quotaWarnings, s.unplannedWarnings, s.demandWarnings, s.hotspotWarnings, s.repeatWarnings,
	} {
		w, err := rule(ctx, year, now, units)
		if err != nil {
			return nil, err
		}
		ws = append(ws, w...)
	}
	slices.SortStableFunc(ws, func(a, b Warning) int { return a.place().compare(b.place()) })
	return ws, nil
}

// warningPlace is a warning's place in the order of AllWarnings: alerts
// first, then by unit and id.
type warningPlace struct {
	rank     int
	unit, id string
}

func (w Warning) place() warningPlace { return warningPlace{levelRank(w.Level), w.Unit, w.ID} }

func (a warningPlace) compare(b warningPlace) int {
	return cmp.Or(cmp.Compare(a.rank, b.rank), cmp.Compare(a.unit, b.unit), cmp.Compare(a.id, b.id))
}

// ErrBadCursor answers a cursor that no page of warnings gave out.
var ErrBadCursor = errors.New("warnings: bad cursor")

// WarningsPage is the page of ws (in their order) after cursor, at most
// limit long, and the cursor of the next page ("" after the last). The
// cursor names the place of the page's last warning, not its index, so
// the next page goes on from there even when warnings have ended or begun
// meanwhile (they are computed anew for each page).
func WarningsPage(ws []Warning, cursor string, limit int) (page []Warning, next string, err error) {
	start := 0
	if cursor != "" {
		after, ok := decodeWarningCursor(cursor)
		if !ok {
			return nil, "", ErrBadCursor
		}
		start = sort.Search(len(ws), func(i int) bool { return ws[i].place().compare(after) > 0 })
	}
	end := min(len(ws), start+max(limit, 1))
	if end < len(ws) {
		p := ws[end-1].place()
		next = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(p.rank) + "\n" + p.unit + "\n" + p.id))
	}
	return ws[start:end], next, nil
}

func decodeWarningCursor(c string) (warningPlace, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return warningPlace{}, false
	}
	parts := strings.Split(string(b), "\n")
	if len(parts) != 3 {
		return warningPlace{}, false
	}
	rank, err := strconv.Atoi(parts[0])
	return warningPlace{rank, parts[1], parts[2]}, err == nil
}

// liaisonMaySee: a repeat warning counts tips that may not have reached
// the unit yet (still screened by the office), and telling the unit about
// them could point at who reported it; liaisons see the other rules.
func liaisonMaySee(w Warning) bool { return w.Rule != RuleRepeat }

func levelRank(l string) int {
	if l == LevelAlert {
		return 0
	}
	return 1
}

func (w *Warning) setUnit(u unitInfo) { w.Unit, w.UnitName = u.Code, u.Name }

func (s *Store) quotaWarnings(ctx context.Context, year int, _ time.Time, units map[uint64]unitInfo) ([]Warning, error) {
	qs, err := s.Quotas(ctx, year)
	if err != nil {
		return nil, err
	}
	var ws []Warning
	for _, q := range qs {
		if q.Limit <= 0 && q.Reduction == 0 {
			continue
		}
		who := "全县"
		var unit unitInfo
		if q.Unit != "" {
			for _, u := range units {
				if u.Code == q.Unit {
					unit = u
				}
			}
			who = unit.Name
		}
		var w Warning
		switch {
		case int64(q.Limit) < q.Used:
			w = Warning{Rule: RuleQuotaExceeded, Level: LevelAlert,
				Reason: fmt.Sprintf("%s%d年%s已备案%d项，超出年度指标%d项", who, year, KindNames[q.Kind], q.Used, q.Limit)}
		case q.Used*100 >= int64(q.Limit)*QuotaNearPercent:
			w = Warning{Rule: RuleQuotaNear, Level: LevelWarn,
				Reason: fmt.Sprintf("%s%d年%s已备案%d项，达到年度指标%d项的%d%%", who, year, KindNames[q.Kind], q.Used, q.Limit,
					q.Used*100/max(int64(q.Limit), 1))}
		default:
			continue
		}
		if q.Reduction > 0 {
			w.Reason += fmt.Sprintf("（指标为上年%d项压减%d%%）", *q.Baseline, q.Reduction)
		}
		scope := ScopeCounty
		if q.Unit != "" {
			w.setUnit(unit)
			scope = q.Unit
		}
		w.ID = fmt.Sprintf("%s:%d:%s:%s", w.Rule, year, q.Kind, scope)
		w.Evidence = Evidence{Kind: q.Kind, Count: q.Used, Limit: q.Limit, Since: fmt.Sprintf("%04d-01-01", year)}
		ws = append(ws, w)
	}
	return ws, nil
}

func (s *Store) unplannedWarnings(ctx context.Context, year int, _ time.Time, units map[uint64]unitInfo) ([]Warning, error) {
	var es []Entry
	err := s.db(ctx).Where("kind = ? AND planned = ? AND starts_on BETWEEN ? AND ?", KindInspections, false,
		fmt.Sprintf("%04d-01-01", year), fmt.Sprintf("%04d-12-31", year)).Order("id").Find(&es).Error
	if err != nil {
		return nil, fmt.Errorf("load unplanned inspections: %w", err)
	}
	ws := make([]Warning, 0, len(es))
	for _, e := range es {
		w := Warning{ID: "unplanned_inspection:" + strconv.FormatUint(e.ID, 10), Rule: RuleUnplanned, Level: LevelWarn,
			Reason:   fmt.Sprintf("督查检查“%s”（%s至%s）不在年度督查检查计划内", e.Title, e.StartsOn, e.EndsOn),
			Evidence: Evidence{Kind: KindInspections, Entries: []uint64{e.ID}}}
		w.setUnit(units[e.UnitID])
		ws = append(ws, w)
	}
	return ws, nil
}

func (s *Store) demandWarnings(ctx context.Context, _ int, _ time.Time, units map[uint64]unitInfo) ([]Warning, error) {
	var es []Entry
	err := s.db(ctx).Where("kind IN ? AND status = ? AND demands <> ''", []string{KindApps, KindGroups}, StatusActive).
		Order("id").Find(&es).Error
	if err != nil {
		return nil, fmt.Errorf("load demanding apps and groups: %w", err)
	}
	ws := make([]Warning, 0, len(es))
	for _, e := range es {
		var names []string
		for _, d := range e.DemandList() {
			names = append(names, DemandNames[d])
		}
		w := Warning{ID: "forbidden_demand:" + strconv.FormatUint(e.ID, 10), Rule: RuleForbiddenDemand, Level: LevelAlert,
			Reason: fmt.Sprintf("%s“%s”（%s）要求%s，属于严禁的强制推广、打卡签到、积分排名", KindNames[e.Kind], e.Title, e.Owner,
				strings.Join(names, "、")),
			Evidence: Evidence{Kind: e.Kind, Entries: []uint64{e.ID}}}
		w.setUnit(units[e.UnitID])
		ws = append(ws, w)
	}
	return ws, nil
}

// categoryNames maps category ids to zh-CN names.
func (s *Store) categoryNames(ctx context.Context) (map[uint64][2]string, error) {
	var cs []models.Category
	if err := s.db(ctx).Find(&cs).Error; err != nil {
		return nil, fmt.Errorf("load categories: %w", err)
	}
	out := make(map[uint64][2]string, len(cs))
	for _, c := range cs {
		out[c.ID] = [2]string{c.Code, c.Name}
	}
	return out, nil
}

func (s *Store) hotspotWarnings(ctx context.Context, _ int, now time.Time, units map[uint64]unitInfo) ([]Warning, error) {
	since := now.Add(-HotspotWindow)
	var rows []struct {
		UnitID     uint64
		CategoryID uint64
		CaseID     uint64
	}
	err := s.db(ctx).Table("cases").Joins("JOIN assignments ON assignments.case_id = cases.id").
		Select("DISTINCT assignments.unit_id, cases.category_id, cases.id AS case_id").
		Where("cases.finding IN ? AND cases.created_at >= ?", []string{"substantiated", "partly"}, since).
		Order("assignments.unit_id, cases.category_id, cases.id").Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("load substantiated tips: %w", err)
	}
	cats, err := s.categoryNames(ctx)
	if err != nil {
		return nil, err
	}
	type key struct{ unit, cat uint64 }
	groups := map[key][]uint64{}
	var order []key
	for _, r := range rows {
		k := key{r.UnitID, r.CategoryID}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], r.CaseID)
	}
	var ws []Warning
	for _, k := range order {
		ids := groups[k]
		if len(ids) < HotspotTips {
			continue
		}
		u, c := units[k.unit], cats[k.cat]
		w := Warning{ID: fmt.Sprintf("hotspot:%s:%s", u.Code, c[0]), Rule: RuleHotspot, Level: LevelAlert,
			Reason: fmt.Sprintf("近90天内%s在“%s”方面有%d条线索经核查属实或部分属实", u.Name, c[1], len(ids)),
			Evidence: Evidence{Category: c[0], Cases: ids, Count: int64(len(ids)),
				Since: since.In(models.Shanghai()).Format("2006-01-02")}}
		w.setUnit(u)
		ws = append(ws, w)
	}
	return ws, nil
}

// repeatWarnings: a unit whose rectification of a case is open (the case in
// rectify, the unit's assignment not yet accepted) and about which another
// tip of the same category has come in since that rectification began,
// linked to the unit by an assignment or by its township.
func (s *Store) repeatWarnings(ctx context.Context, _ int, _ time.Time, units map[uint64]unitInfo) ([]Warning, error) {
	type rectification struct {
		UnitID     uint64
		CaseID     uint64
		CategoryID uint64
		Since      time.Time
	}
	// Tens of thousands of rows at a million cases: scanned without
	// gorm's reflection, in no particular order (AllWarnings sorts).
	rows, err := s.db(ctx).Table("assignments").Joins("JOIN cases ON cases.id = assignments.case_id").
		Select("assignments.unit_id, cases.id, cases.category_id, cases.stage_entered_at").
		Where("cases.stage = ? AND assignments.status IN ?", models.StageRectify,
			[]string{models.AssignmentPending, models.AssignmentSubmitted, models.AssignmentReturned}).Rows()
	if err != nil {
		return nil, fmt.Errorf("load open rectifications: %w", err)
	}
	defer rows.Close()
	var open []rectification
	for rows.Next() {
		var r rectification
		if err := rows.Scan(&r.UnitID, &r.CaseID, &r.CategoryID, &r.Since); err != nil {
			return nil, fmt.Errorf("load open rectifications: %w", err)
		}
		open = append(open, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load open rectifications: %w", err)
	}
	if len(open) == 0 {
		return nil, nil
	}
	first := open[0].Since
	for _, o := range open {
		if o.Since.Before(first) {
			first = o.Since
		}
	}
	var later []struct {
		ID         uint64
		CategoryID uint64
		CreatedAt  time.Time
		TownshipID *uint64
		UnitID     *uint64
	}
	err = s.db(ctx).Table("cases").Joins("LEFT JOIN assignments ON assignments.case_id = cases.id").
		Select("cases.id, cases.category_id, cases.created_at, cases.township_id, assignments.unit_id").
		Where("cases.created_at > ? AND cases.merged_into_id IS NULL", first).Order("cases.id").Scan(&later).Error
	if err != nil {
		return nil, fmt.Errorf("load later tips: %w", err)
	}
	cats, err := s.categoryNames(ctx)
	if err != nil {
		return nil, err
	}
	// The later tips by category and linked unit (assigned or township),
	// each list in case order without repeats: an open rectification looks
	// at its own list, not at every later tip (tens of thousands of open
	// rectifications × later tips at a million cases).
	type link struct{ cat, unit uint64 }
	type tip struct {
		id uint64
		at time.Time
	}
	linked := map[link][]tip{}
	add := func(k link, t tip) {
		if l := linked[k]; len(l) == 0 || l[len(l)-1].id != t.id {
			linked[k] = append(l, t)
		}
	}
	for _, l := range later {
		t := tip{l.ID, l.CreatedAt}
		if l.UnitID != nil {
			add(link{l.CategoryID, *l.UnitID}, t)
		}
		if l.TownshipID != nil && (l.UnitID == nil || *l.TownshipID != *l.UnitID) {
			add(link{l.CategoryID, *l.TownshipID}, t)
		}
	}
	var ws []Warning
	for _, o := range open {
		var ids []uint64
		for _, l := range linked[link{o.CategoryID, o.UnitID}] {
			if l.id != o.CaseID && l.at.After(o.Since) {
				ids = append(ids, l.id)
			}
		}
		if len(ids) == 0 {
			continue
		}
		u, c := units[o.UnitID], cats[o.CategoryID]
		w := Warning{ID: fmt.Sprintf("repeat:%s:%d", u.Code, o.CaseID), Rule: RuleRepeat, Level: LevelAlert,
			Reason: fmt.Sprintf("%s正在整改“%s”问题（线索%d），整改期间又收到同类线索%d条", u.Name, c[1], o.CaseID, len(ids)),
			Evidence: Evidence{Category: c[0], Cases: append([]uint64{o.CaseID}, ids...), Count: int64(len(ids)),
				Since: o.Since.In(models.Shanghai()).Format("2006-01-02")}}
		w.setUnit(u)
		ws = append(ws, w)
	}
	return ws, nil
}

// UnitWarningLines are a unit's warnings as one line each (the weekly
// digest's section).
func (s *Store) UnitWarningLines(ctx context.Context, code string) ([]string, error) {
	ws, err := s.AllWarnings(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, w := range ws {
		if w.Unit == code && liaisonMaySee(w) {
			out = append(out, "【"+RuleNames[w.Rule]+"】"+w.Reason)
		}
	}
	return out, nil
}

// WarnedUnits are the codes of the units with a warning, for planning the
// weekly digest.
func (s *Store) WarnedUnits(ctx context.Context) ([]string, error) {
	ws, err := s.AllWarnings(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, w := range ws {
		if w.Unit != "" && liaisonMaySee(w) && !slices.Contains(out, w.Unit) {
			out = append(out, w.Unit)
		}
	}
	slices.Sort(out)
	return out, nil
}

// DigestUnits and UnitLines make the registry the weekly digest's
// models.DigestExtras: each warned unit gets a digest with its warnings.
func (s *Store) DigestUnits(ctx context.Context) ([]string, error) { return s.WarnedUnits(ctx) }

// UnitLines are a unit's warning lines for its digest.
func (s *Store) UnitLines(ctx context.Context, code string) ([]string, error) {
	return s.UnitWarningLines(ctx, code)
}

// RuleName is the rule's zh-CN name.
func (w Warning) RuleName() string { return RuleNames[w.Rule] }

// LevelName is 警示 for an alert, 提示 otherwise.
func (w Warning) LevelName() string {
	if w.Level == LevelAlert {
		return "警示"
	}
	return "提示"
}
