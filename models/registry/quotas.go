package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"gorm.io/gorm"

	"jianfu/models"
)

// QuotaInput is one quota of PUT /api/v1/admin/quotas/{year}: a count
// (limit) for a unit or the county, or for the county a reduction in
// percent against the previous year's registered count.
type QuotaInput struct {
	Kind      string `json:"kind"`
	Unit      string `json:"unit"` // "" for the county
	Limit     int    `json:"limit"`
	Reduction int    `json:"reduction"`
}

// QuotaView is a quota with its effective limit for the year.
type QuotaView struct {
	Kind      string `json:"kind"`
	Unit      string `json:"unit,omitempty"`
	Limit     int    `json:"limit"`     // the count allowed; for a reduction, computed from the previous year
	Reduction int    `json:"reduction"` // percent, county reductions only
	Baseline  *int64 `json:"baseline"`  // the previous year's count, for reductions
	Used      int64  `json:"used"`      // registered so far in the year
}

// MaxQuotas bounds one PUT.
const MaxQuotas = 500

// ReplaceQuotas sets the quotas of year in one transaction, replacing the
// year's earlier ones; a bad quota changes nothing.
func (s *Store) ReplaceQuotas(ctx context.Context, year int, qs []QuotaInput) error {
	if year < 2000 || year > 2100 {
		return &models.ValidationError{Fields: map[string]string{"year": "year 应为 2000–2100 之间的年份"}}
	}
	if len(qs) > MaxQuotas {
		return &models.ValidationError{Fields: map[string]string{"quotas": fmt.Sprintf("一次最多设置%d项指标", MaxQuotas)}}
	}
	now := s.core.Now()
	rows := make([]Quota, 0, len(qs))
	seen := map[string]bool{}
	f := map[string]string{}
	for i, q := range qs {
		key := "quotas[" + strconv.Itoa(i) + "]"
		switch {
		case !slices.Contains(QuotaKinds, q.Kind):
			f[key+".kind"] = "kind 应为 documents、meetings 或 inspections"
			continue
		case q.Limit < 0 || q.Limit > 1000000:
			f[key+".limit"] = "limit 应为 0–1000000 的整数"
			continue
		case q.Reduction < 0 || q.Reduction > 100:
			f[key+".reduction"] = "reduction 应为 0–100 的百分数"
			continue
		case q.Unit != "" && q.Reduction != 0:
			f[key+".reduction"] = "压减比例只适用于全县指标（不填 unit）"
			continue
		case q.Unit != "" && q.Limit == 0:
			f[key+".limit"] = "单位指标须填写 limit（全年数量上限，正整数）"
			continue
		case q.Unit == "" && (q.Limit == 0) == (q.Reduction == 0):
			f[key+".limit"] = "全县指标请填写 limit（数量上限）或 reduction（较上年压减的百分比）之一"
			continue
		}
		row := Quota{Year: year, Kind: q.Kind, Scope: ScopeCounty, MaxCount: q.Limit, ReductionPct: q.Reduction, CreatedAt: now}
		if q.Unit != "" {
			var u models.Unit
			err := s.db(ctx).Where("code = ?", q.Unit).Take(&u).Error
			if errors.Is(err, gorm.ErrRecordNotFound) {
				f[key+".unit"] = "unit 不是已登记的单位代码：" + q.Unit
				continue
			} else if err != nil {
				return fmt.Errorf("load unit %s: %w", q.Unit, err)
			}
			row.Scope, row.UnitID = u.Code, &u.ID
		}
		if seen[row.Kind+"/"+row.Scope] {
			f[key+".unit"] = "同一类别、同一单位只能设置一项指标"
			continue
		}
		seen[row.Kind+"/"+row.Scope] = true
		rows = append(rows, row)
	}
	if len(f) > 0 {
		return &models.ValidationError{Fields: f}
	}
	err := s.db(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("year = ?", year).Delete(&Quota{}).Error; err != nil {
			return err
		}
		if len(rows) == 0 {
			return nil
		}
		return tx.Create(&rows).Error
	})
	if err != nil {
		return fmt.Errorf("replace quotas of %d: %w", year, err)
	}
	return nil
}

// Quotas lists the quotas of year with what has been registered against
// them.
func (s *Store) Quotas(ctx context.Context, year int) ([]QuotaView, error) {
	var rows []Quota
	if err := s.db(ctx).Where("year = ?", year).Order("kind, scope").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("load quotas of %d: %w", year, err)
	}
	out := make([]QuotaView, 0, len(rows))
	for _, q := range rows {
		v := QuotaView{Kind: q.Kind, Limit: q.MaxCount, Reduction: q.ReductionPct}
		var unitID *uint64
		if q.Scope != ScopeCounty {
			v.Unit, unitID = q.Scope, q.UnitID
		}
		used, err := s.count(ctx, q.Kind, year, unitID)
		if err != nil {
			return nil, err
		}
		v.Used = used
		if q.ReductionPct > 0 {
			prev, err := s.count(ctx, q.Kind, year-1, nil)
			if err != nil {
				return nil, err
			}
			v.Baseline = &prev
			// The allowed count after the reduction, rounded down: a 10%
			// cut of 45 documents leaves 40.
			v.Limit = int(prev * int64(100-q.ReductionPct) / 100)
		}
		out = append(out, v)
	}
	return out, nil
}

// count is how many entries of kind start in year, for one unit or all.
// Meetings count only county-level (全县性) ones when unit is nil, as the
// report's "全县性会议" does.
func (s *Store) count(ctx context.Context, kind string, year int, unitID *uint64) (int64, error) {
	q := s.db(ctx).Model(&Entry{}).Where("kind = ? AND starts_on BETWEEN ? AND ?", kind,
		fmt.Sprintf("%04d-01-01", year), fmt.Sprintf("%04d-12-31", year))
	if unitID != nil {
		q = q.Where("unit_id = ?", *unitID)
	} else if kind == KindMeetings {
		q = q.Where("level = ?", LevelCounty)
	}
	var n int64
	if err := q.Count(&n).Error; err != nil {
		return 0, fmt.Errorf("count %s of %d: %w", kind, year, err)
	}
	return n, nil
}
