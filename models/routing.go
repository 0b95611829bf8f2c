package models

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Suggestion is a unit that routing rules propose for a case.
type Suggestion struct {
	Unit string `json:"unit"` // unit code
	Name string `json:"name"`
	Role string `json:"role"` // grassroots or county
	Rule uint64 `json:"rule"`
}

// routeRows bounds the routing tasks (intake batches of up to
// maxIntakeBatch cases each) claimed in one transaction: 16 on MySQL, 4
// on SQLite, whose one writer connection keeps intake waiting for as long
// as a routing transaction runs (bench/notes.md §10: its p99 under load
// fell from 100–115 to about 70 ms, its throughput within the spread).
func (s *Store) routeRows() int {
	if s.dialect == "sqlite" {
		return 4
	}
	return 16
}

// RouteTips applies the routing rules (智能分办) to the new cases of route
// tasks, named by their task ids (a batch the worker collected), once each:
// it stores the suggested units and notes them on the internal timeline.
// Office staff confirm or change them when they dispatch. Each chunk of
// tasks is one transaction; ids whose row is done, or is not this
// database's own, are skipped.
func (s *Store) RouteTips(ctx context.Context, taskIDs []string) error {
	created := map[uint64]int64{}
	var ids []uint64
	for _, tid := range taskIDs {
		id, micro, err := parseTaskID(tid)
		if err != nil {
			s.log.Warn("dropped a foreign routing task", "err", err)
			continue
		}
		if _, dup := created[id]; !dup {
			ids = append(ids, id)
		}
		created[id] = micro
	}
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), s.routeRows())]
		ids = ids[len(chunk):]
		if err := s.write(ctx, func(w *txWork) error { return s.routeChunk(w, chunk, created) }); err != nil {
			return err
		}
	}
	return nil
}

// routeChunk claims the chunk's undone outbox rows of this database and
// routes their cases.
func (s *Store) routeChunk(w *txWork, ids []uint64, created map[uint64]int64) error {
	var rows []OutboxTask
	if err := w.tx.Clauses(clause.Locking{Strength: "UPDATE"}).Select("id, created_at, payload").
		Where("id IN ? AND type = ? AND done_at IS NULL", ids, TaskRouteTip).Find(&rows).Error; err != nil {
		return fmt.Errorf("claim routing tasks: %w", err)
	}
	var claimed, caseIDs []uint64
	for _, r := range rows {
		if r.CreatedAt.UnixMicro() != created[r.ID] {
			s.log.Warn("dropped a foreign routing task", "outbox_id", r.ID)
			continue
		}
		var p RouteTipPayload
		if err := json.Unmarshal(r.Payload, &p); err != nil {
			return fmt.Errorf("decode routing task %d: %w", r.ID, err)
		}
		claimed = append(claimed, r.ID)
		caseIDs = append(caseIDs, p.Cases()...)
	}
	if len(claimed) == 0 {
		return nil
	}
	if err := w.tx.Model(&OutboxTask{}).Where("id IN ?", claimed).Update("done_at", w.now).Error; err != nil {
		return fmt.Errorf("mark routing tasks done: %w", err)
	}
	var cases []routedCase
	// Locked before anything else is read: a staff action on one of
	// these cases (which locks it too) commits before this reads its read
	// models below, or waits for this transaction.
	if err := w.tx.Table("cases").Select("cases.id, cases.category_id, cases.township_id, cases.merged_into_id, cases.stage, cases.created_at,"+
		" tips.channel, tips.title, tips.content, tips.implicated_unit").
		Joins("JOIN tips ON tips.id = cases.tip_id").Where("cases.id IN ?", caseIDs).Clauses(forUpdate).Scan(&cases).Error; err != nil {
		return fmt.Errorf("load cases to route: %w", err)
	}
	if len(cases) == 0 {
		return nil // merged away or deleted: nothing to suggest
	}
	var rules []RoutingRule
	if err := w.tx.Where("active = ?", true).Order("priority DESC, id").Find(&rules).Error; err != nil {
		return fmt.Errorf("load routing rules: %w", err)
	}
	// Match every case first, then load the units they name at once.
	matches := make([][]RoutingRule, len(cases))
	var unitIDs []uint64
	for i, c := range cases {
		text := c.Title + "\n" + c.Content + "\n" + c.ImplicatedUnit
		seen := map[uint64]bool{}
		for _, r := range rules {
			if r.CategoryID != nil && *r.CategoryID != c.CategoryID {
				continue
			}
			if r.TownshipID != nil && (c.TownshipID == nil || *r.TownshipID != *c.TownshipID) {
				continue
			}
			if r.Keyword != "" && !strings.Contains(text, r.Keyword) {
				continue
			}
			if seen[r.UnitID] {
				continue
			}
			seen[r.UnitID] = true
			matches[i] = append(matches[i], r)
		}
		// The township where the burden shows is always a candidate for
		// the grassroots side of a dual assignment.
		if c.TownshipID != nil && !seen[*c.TownshipID] {
			matches[i] = append(matches[i], RoutingRule{UnitID: *c.TownshipID, Role: AssignGrassroots})
		}
		for _, r := range matches[i] {
			unitIDs = append(unitIDs, r.UnitID)
		}
	}
	units := map[uint64]Unit{}
	if len(unitIDs) > 0 {
		var us []Unit
		if err := w.tx.Where("id IN ?", unitIDs).Find(&us).Error; err != nil {
			return fmt.Errorf("load suggested units: %w", err)
		}
		for _, u := range us {
			units[u.ID] = u
		}
	}
	// One UPDATE for the chunk's suggestions, one INSERT for its notes.
	setSQL := "CASE id"
	var setArgs []any
	events := make([]Event, 0, len(cases))
	routed := make([]uint64, len(cases))
	for i, c := range cases {
		routed[i] = c.ID
		sugg := make([]Suggestion, 0, len(matches[i]))
		var names []string
		for _, r := range matches[i] {
			u := units[r.UnitID]
			sugg = append(sugg, Suggestion{Unit: u.Code, Name: u.Name, Role: r.Role, Rule: r.ID})
			names = append(names, u.Name)
		}
		sort.SliceStable(sugg, func(i, j int) bool { return sugg[i].Role == AssignGrassroots && sugg[j].Role != AssignGrassroots })
		b, _ := json.Marshal(sugg)
		setSQL += " WHEN ? THEN ?"
		setArgs = append(setArgs, c.ID, string(b))
		body := "智能分办：没有匹配的分办规则，请人工指定承办单位"
		if len(names) > 0 {
			body = "智能分办建议承办单位：" + strings.Join(names, "、")
		}
		events = append(events, Event{CaseID: c.ID, At: w.now, Kind: EventRouted, Actor: ActorSystem,
			FromStage: c.Stage, ToStage: c.Stage, Body: body, Data: string(b)})
	}
	if err := w.tx.Model(&Case{}).Where("id IN ?", routed).
		Update("suggestions", gorm.Expr(setSQL+" END", setArgs...)).Error; err != nil {
		return fmt.Errorf("store suggestions: %w", err)
	}
	if err := w.tx.Create(&events).Error; err != nil {
		return fmt.Errorf("note routing: %w", err)
	}
	// Intake leaves the read models of new cases to this task, hundreds
	// of cases a statement instead of a few a batch at intake: written
	// here from the rows just read for a case nothing has touched since
	// intake, by commit's refresh for the others (the routing notes
	// themselves change neither text nor figures).
	if err := s.indexNewCases(w, cases); err != nil {
		return err
	}
	for i, c := range cases {
		in, ok := autoDispatch(c.TownshipID, matches[i], units)
		if !ok || c.Stage != StageCollect {
			continue
		}
		in.CaseID = c.ID
		if err := s.autoDispatchCase(w, in); err != nil {
			return err
		}
	}
	return nil
}

// autoDispatch is the dispatch of a case whose matching rules include
// auto ones (自动派单): the units of the auto rules, with the case's own
// township as the grassroots side when they name county departments only.
// It is valid as the office's assign action wants it (one active unit, or
// one township and at least one county department); otherwise ok is false
// and the rules only suggest.
func autoDispatch(township *uint64, matched []RoutingRule, units map[uint64]Unit) (AssignParams, bool) {
	var in AssignParams
	grassroots, county := 0, 0
	for _, r := range matched {
		if !r.Auto {
			continue
		}
		if r.Role == AssignGrassroots {
			grassroots++
		} else {
			county++
		}
		in.Assignments = append(in.Assignments, AssignmentInput{Unit: units[r.UnitID].Code, Role: r.Role})
	}
	if county > 0 && grassroots == 0 && township != nil {
		if u, ok := units[*township]; ok {
			grassroots++
			in.Assignments = append([]AssignmentInput{{Unit: u.Code, Role: AssignGrassroots}}, in.Assignments...)
		}
	}
	if len(in.Assignments) == 0 || (len(in.Assignments) > 1 && (grassroots != 1 || county < 1)) {
		return in, false
	}
	for _, a := range in.Assignments {
		ok := false
		for _, u := range units {
			if u.Code == a.Unit && u.Active && (u.Kind == UnitTownship) == (a.Role == AssignGrassroots) {
				ok = true
			}
		}
		if !ok {
			return in, false
		}
	}
	return in, true
}

// autoDispatchCase accepts and dispatches a routed case in collect on
// behalf of the system, through the office's own accept and assign code.
func (s *Store) autoDispatchCase(w *txWork, in AssignParams) error {
	var c Case
	if err := w.tx.Clauses(forUpdate).First(&c, in.CaseID).Error; err != nil {
		return fmt.Errorf("load case %d: %w", in.CaseID, err)
	}
	if c.Stage != StageCollect || c.MergedIntoID != nil {
		return nil
	}
	system := Principal{Username: ActorSystem}
	if err := s.acceptCase(w, system, &c, "系统自动受理（智能分办规则自动派单）", ""); err != nil {
		return err
	}
	body := "系统自动派单：已交办承办单位，进入联合核查阶段"
	if len(in.Assignments) > 1 {
		body = "系统自动派单：已双交办乡镇（街道）和县直部门，进入联合核查阶段"
	}
	if err := s.dispatchCase(w, system, &c, in, body); err != nil {
		return fmt.Errorf("auto dispatch case %d: %w", c.ID, err)
	}
	return nil
}
