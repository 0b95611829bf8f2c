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

// routeChunk bounds the cases routed in one transaction.
const routeChunk = 200

// RouteTips applies the routing rules (智能分办) to the new cases of route
// tasks, named by their task ids (a batch the worker collected), once each:
// it stores the suggested units and notes them on the internal timeline.
// Office staff confirm or change them when they dispatch. Each chunk of
// cases is one transaction; ids whose row is done, or is not this
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
		chunk := ids[:min(len(ids), routeChunk)]
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
		caseIDs = append(caseIDs, p.CaseID)
	}
	if len(claimed) == 0 {
		return nil
	}
	if err := w.tx.Model(&OutboxTask{}).Where("id IN ?", claimed).Update("done_at", w.now).Error; err != nil {
		return fmt.Errorf("mark routing tasks done: %w", err)
	}
	var cases []struct {
		ID, CategoryID                 uint64
		TownshipID                     *uint64
		Stage                          string
		Title, Content, ImplicatedUnit string
	}
	if err := w.tx.Table("cases").Select("cases.id, cases.category_id, cases.township_id, cases.stage, tips.title, tips.content, tips.implicated_unit").
		Joins("JOIN tips ON tips.id = cases.tip_id").Where("cases.id IN ?", caseIDs).Scan(&cases).Error; err != nil {
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
	return nil
}
