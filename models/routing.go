package models

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Suggestion is a unit that routing rules propose for a case.
type Suggestion struct {
	Unit string `json:"unit"` // unit code
	Name string `json:"name"`
	Role string `json:"role"` // grassroots or county
	Rule uint64 `json:"rule"`
}

// RouteTip applies the routing rules (智能分办) to a new case once: it
// stores the suggested units and notes them on the internal timeline.
// Office staff confirm or change them when they dispatch.
func (s *Store) RouteTip(ctx context.Context, outboxID uint64, p RouteTipPayload) error {
	_, err := s.runOnce(ctx, outboxID, func(w *txWork) error {
		var c Case
		if err := w.tx.First(&c, p.CaseID).Error; err != nil {
			return ignoreMissing(err, "load case to route")
		}
		var tip Tip
		if err := w.tx.First(&tip, c.TipID).Error; err != nil {
			return fmt.Errorf("load tip of case %d: %w", c.ID, err)
		}
		var rules []RoutingRule
		if err := w.tx.Where("active = ?", true).Order("priority DESC, id").Find(&rules).Error; err != nil {
			return fmt.Errorf("load routing rules: %w", err)
		}
		text := tip.Title + "\n" + tip.Content + "\n" + tip.ImplicatedUnit
		seen := map[uint64]bool{}
		var unitIDs []uint64
		var matched []RoutingRule
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
			unitIDs = append(unitIDs, r.UnitID)
			matched = append(matched, r)
		}
		// The township where the burden shows is always a candidate for
		// the grassroots side of a dual assignment.
		if c.TownshipID != nil && !seen[*c.TownshipID] {
			unitIDs = append(unitIDs, *c.TownshipID)
			matched = append(matched, RoutingRule{UnitID: *c.TownshipID, Role: AssignGrassroots})
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
		sugg := make([]Suggestion, 0, len(matched))
		var names []string
		for _, r := range matched {
			u := units[r.UnitID]
			sugg = append(sugg, Suggestion{Unit: u.Code, Name: u.Name, Role: r.Role, Rule: r.ID})
			names = append(names, u.Name)
		}
		sort.SliceStable(sugg, func(i, j int) bool { return sugg[i].Role == AssignGrassroots && sugg[j].Role != AssignGrassroots })
		b, _ := json.Marshal(sugg)
		if err := w.tx.Model(&Case{}).Where("id = ?", c.ID).Update("suggestions", string(b)).Error; err != nil {
			return fmt.Errorf("store suggestions: %w", err)
		}
		body := "智能分办：没有匹配的分办规则，请人工指定承办单位"
		if len(names) > 0 {
			body = "智能分办建议承办单位：" + strings.Join(names, "、")
		}
		ev := Event{CaseID: c.ID, At: w.now, Kind: EventRouted, Actor: ActorSystem, FromStage: c.Stage, ToStage: c.Stage,
			Body: body, Data: string(b)}
		return w.tx.Create(&ev).Error
	})
	return err
}
