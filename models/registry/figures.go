package registry

import (
	"context"
	"fmt"
	"math"
	"strconv"
)

// Reduction is a count of a year against the previous year's. Percent is
// the reduction (压减率) (prev − this) / prev, rounded half up to one
// decimal, negative for a rise, and nil (JSON null, "—" in tables,
// 无数据 in the report) when the previous year has nothing registered.
type Reduction struct {
	This    int64    `json:"this_year"`
	Prev    int64    `json:"previous_year"`
	Percent *float64 `json:"percent"`
}

func newReduction(this, prev int64) Reduction {
	r := Reduction{This: this, Prev: prev}
	if prev > 0 {
		p := roundHalfUp(float64(prev-this) * 100 / float64(prev))
		r.Percent = &p
	}
	return r
}

// Cleanup is the apps or groups of a year: how many were in use at some
// time in it, how many of them were closed or merged in it, and the share.
type Cleanup struct {
	Existing int64    `json:"existing"`
	Closed   int64    `json:"closed"`
	Percent  *float64 `json:"percent"`
}

// Figures are the registry's numbers of one year (GET
// /api/v1/stats/monitoring and the annual report); definitions in
// docs/statistics.md.
type Figures struct {
	Year int `json:"year"`
	// HasData: the registry has any entry at all; without it the report
	// says 无数据 for every figure.
	HasData     bool      `json:"has_data"`
	Documents   Reduction `json:"documents"`
	Meetings    Reduction `json:"meetings"` // county-level (全县性) meetings
	Inspections Reduction `json:"inspections"`
	// InspectionsMerged were folded into a combined check (多合一) in the
	// year; InspectionsUnplanned were outside the approved annual plan.
	InspectionsMerged    int64   `json:"inspections_merged"`
	InspectionsUnplanned int64   `json:"inspections_unplanned"`
	Apps                 Cleanup `json:"apps"`
	Groups               Cleanup `json:"groups"`
}

func roundHalfUp(x float64) float64 {
	if x < 0 {
		return -math.Floor(-x*10+0.5) / 10
	}
	return math.Floor(x*10+0.5) / 10
}

// Figures computes year's figures.
func (s *Store) Figures(ctx context.Context, year int) (Figures, error) {
	f := Figures{Year: year}
	var any int64
	if err := s.db(ctx).Model(&Entry{}).Limit(1).Count(&any).Error; err != nil {
		return f, fmt.Errorf("registry figures: %w", err)
	}
	f.HasData = any > 0
	for _, k := range []struct {
		kind string
		to   *Reduction
	}{{KindDocuments, &f.Documents}, {KindMeetings, &f.Meetings}, {KindInspections, &f.Inspections}} {
		this, err := s.count(ctx, k.kind, year, nil)
		if err != nil {
			return f, err
		}
		prev, err := s.count(ctx, k.kind, year-1, nil)
		if err != nil {
			return f, err
		}
		*k.to = newReduction(this, prev)
	}
	first, last := fmt.Sprintf("%04d-01-01", year), fmt.Sprintf("%04d-12-31", year)
	inYear := s.db(ctx).Model(&Entry{}).Where("kind = ? AND starts_on BETWEEN ? AND ?", KindInspections, first, last)
	if err := inYear.Where("merged = ?", true).Count(&f.InspectionsMerged).Error; err != nil {
		return f, fmt.Errorf("count merged inspections: %w", err)
	}
	inYear = s.db(ctx).Model(&Entry{}).Where("kind = ? AND starts_on BETWEEN ? AND ?", KindInspections, first, last)
	if err := inYear.Where("planned = ?", false).Count(&f.InspectionsUnplanned).Error; err != nil {
		return f, fmt.Errorf("count unplanned inspections: %w", err)
	}
	for _, k := range []struct {
		kind string
		to   *Cleanup
	}{{KindApps, &f.Apps}, {KindGroups, &f.Groups}} {
		// In use at some time in the year: registered by its end, and
		// still active or closed no earlier than its start.
		existing := s.db(ctx).Model(&Entry{}).Where("kind = ? AND starts_on <= ? AND (status = ? OR ends_on >= ?)",
			k.kind, last, StatusActive, first)
		if err := existing.Count(&k.to.Existing).Error; err != nil {
			return f, fmt.Errorf("count %s in use: %w", k.kind, err)
		}
		err := s.db(ctx).Model(&Entry{}).Where("kind = ? AND status <> ? AND ends_on BETWEEN ? AND ? AND starts_on <= ?",
			k.kind, StatusActive, first, last, last).Count(&k.to.Closed).Error
		if err != nil {
			return f, fmt.Errorf("count %s closed: %w", k.kind, err)
		}
		if k.to.Existing > 0 {
			p := roundHalfUp(float64(k.to.Closed) * 100 / float64(k.to.Existing))
			k.to.Percent = &p
		}
	}
	return f, nil
}

// PercentText is a percentage as the tables show it: one decimal, or "—".
func PercentText(p *float64) string {
	if p == nil {
		return "—"
	}
	return strconv.FormatFloat(*p, 'f', 1, 64) + "%"
}
