package models

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/6tail/lunar-go/calendar"
	"gorm.io/gorm/clause"
)

// firstComputedYear is the first year without a State Council arrangement
// shipped in DefaultHolidays: from it on, a fresh install starts with the
// computed provisional calendar.
const firstComputedYear = 2027

// ProvisionalHolidays computes the statutory days off of a year, as fixed
// by 《全国年节及纪念日放假办法》 (2025 revision): 元旦 01-01; 春节 除夕 to
// 初三; 清明 (the solar term); 劳动节 05-01..02; 端午 (lunar 5-5); 中秋
// (lunar 8-15); 国庆节 10-01..03. The lunar dates and 清明 come from
// lunar-go. The State Council's arrangement adds bridge days and make-up
// workdays on top; until an administrator loads it, these rows are
// marked provisional.
func ProvisionalHolidays(year int) []Holiday {
	date := func(s *calendar.Solar) time.Time {
		return time.Date(s.GetYear(), time.Month(s.GetMonth()), s.GetDay(), 0, 0, 0, 0, time.UTC)
	}
	newYear := calendar.NewLunarFromYmd(year, 1, 1)
	periods := []struct {
		from time.Time
		days int
		name string
	}{
		{time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC), 1, "元旦"},
		{date(newYear.GetSolar()).AddDate(0, 0, -1), 4, "春节"},
		{date(newYear.GetJieQiTable()["清明"]), 1, "清明节"},
		{time.Date(year, 5, 1, 0, 0, 0, 0, time.UTC), 2, "劳动节"},
		{date(calendar.NewLunarFromYmd(year, 5, 5).GetSolar()), 1, "端午节"},
		{date(calendar.NewLunarFromYmd(year, 8, 15).GetSolar()), 1, "中秋节"},
		{time.Date(year, 10, 1, 0, 0, 0, 0, time.UTC), 3, "国庆节"},
	}
	var out []Holiday
	for _, p := range periods {
		for i := range p.days {
			day := p.from.AddDate(0, 0, i).Format(calDayLayout)
			if j := slices.IndexFunc(out, func(h Holiday) bool { return h.Day == day }); j >= 0 {
				out[j].Name += "、" + p.name // 中秋 on a 国庆 day
				continue
			}
			out = append(out, Holiday{Day: day, Kind: HolidayOff, Name: p.name, Provisional: true})
		}
	}
	slices.SortFunc(out, func(a, b Holiday) int { return cmpString(a.Day, b.Day) })
	return out
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// seedProvisional stores the computed calendar of every year from
// firstComputedYear to next year that has no rows at all, so deadlines
// skip the statutory days off even before the State Council's
// arrangement is loaded.
func (s *Store) seedProvisional(ctx context.Context) error {
	last := s.clock().In(Shanghai()).Year() + 1
	for year := firstComputedYear; year <= last; year++ {
		var n int64
		if err := s.db.WithContext(ctx).Model(&Holiday{}).Where("day LIKE ?", fmt.Sprintf("%04d-%%", year)).
			Count(&n).Error; err != nil {
			return fmt.Errorf("count holidays %d: %w", year, err)
		}
		if n > 0 {
			continue
		}
		days := ProvisionalHolidays(year)
		if err := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&days).Error; err != nil {
			return fmt.Errorf("seed provisional holidays %d: %w", year, err)
		}
	}
	return nil
}

// UnconfirmedYear reports, from 1 November on, a next year whose calendar
// is still provisional (or missing): deadlines there skip only the
// statutory days, not the State Council's bridge days and make-up
// workdays. The console shows it to admin and office.
func (s *Store) UnconfirmedYear(ctx context.Context) (int, bool, error) {
	now := s.clock().In(Shanghai())
	if now.Month() < time.November {
		return 0, false, nil
	}
	next := now.Year() + 1
	var confirmed int64
	if err := s.db.WithContext(ctx).Model(&Holiday{}).
		Where("day LIKE ? AND provisional = ?", fmt.Sprintf("%04d-%%", next), false).Count(&confirmed).Error; err != nil {
		return 0, false, fmt.Errorf("check calendar %d: %w", next, err)
	}
	return next, confirmed == 0, nil
}
