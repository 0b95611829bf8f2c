package models

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
)

// Administration: units, categories, routing rules (智能分办) and the
// holiday calendar. Each change is checked here, so the console, the JSON
// API and the CLI agree on what is valid.

var codeRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// UnitParams creates a unit.
type UnitParams struct {
	Code, Name, Kind string
}

// AddUnit checks and creates a township or county department.
func (s *Store) AddUnit(ctx context.Context, p UnitParams) (Unit, error) {
	f := map[string]string{}
	p.Code = strings.TrimSpace(p.Code)
	if !codeRe.MatchString(p.Code) {
		f["code"] = "单位代码应为1至32位字母、数字、下划线或连字符"
	}
	p.Name = text(f, "name", p.Name, 1, 100, "请填写单位名称", "单位名称过长")
	if p.Kind != UnitTownship && p.Kind != UnitCounty {
		f["kind"] = "单位类型应为 township（乡镇/街道）或 county（县直部门）"
	}
	if err := fieldErrors(f); err != nil {
		return Unit{}, err
	}
	return s.CreateUnit(ctx, p.Code, p.Name, p.Kind)
}

// UnitUpdate changes a unit; nil fields stay as they are.
type UnitUpdate struct {
	Name   *string
	Active *bool
}

// UpdateUnit renames, deactivates or reactivates a unit. A deactivated unit
// keeps its assignments but cannot receive new ones.
func (s *Store) UpdateUnit(ctx context.Context, code string, p UnitUpdate) (Unit, error) {
	u, err := s.UnitByCode(ctx, code)
	if err != nil {
		return u, err
	}
	f := map[string]string{}
	if p.Name != nil {
		u.Name = text(f, "name", *p.Name, 1, 100, "请填写单位名称", "单位名称过长")
	}
	if p.Active != nil {
		u.Active = *p.Active
	}
	if err := fieldErrors(f); err != nil {
		return u, err
	}
	err = s.db.WithContext(ctx).Model(&u).Select("name", "active").Updates(&u).Error
	if err != nil {
		return u, fmt.Errorf("update unit %s: %w", code, err)
	}
	s.refs.forget()
	return u, nil
}

// AllUnits lists every unit, active or not, by code.
func (s *Store) AllUnits(ctx context.Context) ([]Unit, error) {
	var us []Unit
	if err := s.db.WithContext(ctx).Order("code").Find(&us).Error; err != nil {
		return nil, fmt.Errorf("list units: %w", err)
	}
	return us, nil
}

// CategoryParams adds a category of burden.
type CategoryParams struct {
	Code, Name, Description, Example string
	Sort                             int
}

// AddCategory adds an active category.
func (s *Store) AddCategory(ctx context.Context, p CategoryParams) (Category, error) {
	f := map[string]string{}
	p.Code = CategoryCodeKey(p.Code)
	if !codeRe.MatchString(p.Code) {
		f["code"] = "类别代码应为1至32位字母、数字、下划线或连字符"
	}
	c := Category{Code: p.Code, Sort: p.Sort, Active: true}
	c.Name = text(f, "name", p.Name, 1, 64, "请填写类别名称", "类别名称过长")
	c.Description = text(f, "description", p.Description, 0, 500, "", "说明过长")
	c.Example = text(f, "example", p.Example, 0, 500, "", "示例过长")
	if err := fieldErrors(f); err != nil {
		return c, err
	}
	if err := s.db.WithContext(ctx).Create(&c).Error; err != nil {
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			return c, invalid("code", "类别代码已存在")
		}
		return c, fmt.Errorf("create category: %w", err)
	}
	return c, nil
}

// AllCategories lists every category, active or not, in display order.
func (s *Store) AllCategories(ctx context.Context) ([]Category, error) {
	var cs []Category
	if err := s.db.WithContext(ctx).Order("sort, id").Find(&cs).Error; err != nil {
		return nil, fmt.Errorf("list categories: %w", err)
	}
	return cs, nil
}

// RoutingRuleView is a routing rule with codes instead of ids.
type RoutingRuleView struct {
	ID        uint64    `json:"id"`
	Category  string    `json:"category"` // "" any
	Township  string    `json:"township"` // "" any
	Keyword   string    `json:"keyword"`  // "" any
	Unit      string    `json:"unit"`
	UnitName  string    `json:"unit_name"`
	Role      string    `json:"role"`
	Priority  int       `json:"priority"`
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"created_at"`
	Auto      bool      `json:"auto"` // 自动派单
}

// RoutingRuleParams creates or replaces a routing rule. Empty category,
// township and keyword match anything.
type RoutingRuleParams struct {
	Category, Township, Keyword, Unit, Role string
	Priority                                int
	Active                                  *bool // nil: true
	Auto                                    bool  // dispatch at once (自动派单)
}

func (s *Store) routingRuleQuery(ctx context.Context) *gorm.DB {
	return s.db.WithContext(ctx).Table("routing_rules r").
		Select("r.id, c.code AS category, t.code AS township, r.keyword, u.code AS unit, u.name AS unit_name, " +
			"r.role, r.priority, r.active, r.created_at, r.auto").
		Joins("LEFT JOIN categories c ON c.id = r.category_id").
		Joins("LEFT JOIN units t ON t.id = r.township_id").
		Joins("JOIN units u ON u.id = r.unit_id")
}

// RoutingRules lists the rules in the order they are applied.
func (s *Store) RoutingRules(ctx context.Context) ([]RoutingRuleView, error) {
	var rs []RoutingRuleView
	if err := s.routingRuleQuery(ctx).Order("r.priority DESC, r.id").Scan(&rs).Error; err != nil {
		return nil, fmt.Errorf("list routing rules: %w", err)
	}
	return rs, nil
}

func (s *Store) routingRule(ctx context.Context, id uint64) (RoutingRuleView, error) {
	var rs []RoutingRuleView
	if err := s.routingRuleQuery(ctx).Where("r.id = ?", id).Scan(&rs).Error; err != nil {
		return RoutingRuleView{}, fmt.Errorf("load routing rule %d: %w", id, err)
	}
	if len(rs) == 0 {
		return RoutingRuleView{}, fmt.Errorf("routing rule %d: %w", id, ErrNotFound)
	}
	return rs[0], nil
}

// ruleFromParams checks p and resolves its codes.
func (s *Store) ruleFromParams(ctx context.Context, p RoutingRuleParams) (RoutingRule, error) {
	db := s.db.WithContext(ctx)
	f := map[string]string{}
	r := RoutingRule{Priority: p.Priority, Active: p.Active == nil || *p.Active, Role: p.Role, Auto: p.Auto}
	r.Keyword = text(f, "keyword", p.Keyword, 0, 64, "", "关键词过长")
	if p.Category != "" {
		var c Category
		if err := db.Where("code = ?", CategoryCodeKey(p.Category)).First(&c).Error; err != nil {
			f["category"] = "问题类别不存在"
		} else {
			r.CategoryID = &c.ID
		}
	}
	if p.Township != "" {
		var t Unit
		if err := db.Where("code = ? AND kind = ?", UnitCodeKey(p.Township), UnitTownship).First(&t).Error; err != nil {
			f["township"] = "乡镇（街道）不存在"
		} else {
			r.TownshipID = &t.ID
		}
	}
	var u Unit
	if err := db.Where("code = ? AND active = ?", UnitCodeKey(p.Unit), true).First(&u).Error; err != nil {
		f["unit"] = "承办单位不存在或已停用"
	} else {
		r.UnitID = u.ID
		switch {
		case p.Role != AssignGrassroots && p.Role != AssignCounty:
			f["role"] = "承办角色应为 grassroots（基层）或 county（县直部门）"
		case (p.Role == AssignGrassroots) != (u.Kind == UnitTownship):
			f["role"] = "承办角色与单位类型不符：乡镇（街道）为 grassroots，县直部门为 county"
		}
	}
	return r, fieldErrors(f)
}

// CreateRoutingRule adds a rule; new tips are routed with it.
func (s *Store) CreateRoutingRule(ctx context.Context, p RoutingRuleParams) (RoutingRuleView, error) {
	r, err := s.ruleFromParams(ctx, p)
	if err != nil {
		return RoutingRuleView{}, err
	}
	r.CreatedAt = s.clock()
	if err := s.db.WithContext(ctx).Create(&r).Error; err != nil {
		return RoutingRuleView{}, fmt.Errorf("create routing rule: %w", err)
	}
	return s.routingRule(ctx, r.ID)
}

// UpdateRoutingRule replaces a rule's conditions and target.
func (s *Store) UpdateRoutingRule(ctx context.Context, id uint64, p RoutingRuleParams) (RoutingRuleView, error) {
	if _, err := s.routingRule(ctx, id); err != nil {
		return RoutingRuleView{}, err
	}
	r, err := s.ruleFromParams(ctx, p)
	if err != nil {
		return RoutingRuleView{}, err
	}
	err = s.db.WithContext(ctx).Model(&RoutingRule{}).Where("id = ?", id).
		Select("category_id", "township_id", "keyword", "unit_id", "role", "priority", "active", "auto").Updates(&r).Error
	if err != nil {
		return RoutingRuleView{}, fmt.Errorf("update routing rule %d: %w", id, err)
	}
	return s.routingRule(ctx, id)
}

// DeleteRoutingRule removes a rule. Suggestions already made stay on their
// cases.
func (s *Store) DeleteRoutingRule(ctx context.Context, id uint64) error {
	res := s.db.WithContext(ctx).Delete(&RoutingRule{}, id)
	if res.Error != nil {
		return fmt.Errorf("delete routing rule %d: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("routing rule %d: %w", id, ErrNotFound)
	}
	return nil
}

// Holidays returns one year's calendar rows, by day.
func (s *Store) Holidays(ctx context.Context, year int) ([]Holiday, error) {
	var days []Holiday
	err := s.db.WithContext(ctx).Where("day LIKE ?", fmt.Sprintf("%04d-%%", year)).Order("day").Find(&days).Error
	if err != nil {
		return nil, fmt.Errorf("load holidays %d: %w", year, err)
	}
	return days, nil
}

// ReplaceHolidays replaces one year's calendar with days (the State
// Council's notice for that year) and reloads the calendar in this
// process. Due times already set are not moved; new ones use the new
// calendar. Other processes load it when they start.
func (s *Store) ReplaceHolidays(ctx context.Context, year int, days []Holiday) ([]Holiday, error) {
	f := map[string]string{}
	if year < 2000 || year > 2100 {
		f["year"] = "年份应在2000至2100之间"
	}
	seen := map[string]bool{}
	rows := make([]Holiday, 0, len(days))
	for i, h := range days {
		key := fmt.Sprintf("days[%d]", i)
		d, err := time.Parse(calDayLayout, h.Day)
		switch {
		case err != nil || d.Format(calDayLayout) != h.Day:
			f[key+".day"] = "日期格式应为 2026-10-01"
			continue
		case d.Year() != year:
			f[key+".day"] = fmt.Sprintf("日期 %s 不在 %d 年", h.Day, year)
			continue
		case seen[h.Day]:
			f[key+".day"] = fmt.Sprintf("日期 %s 重复", h.Day)
			continue
		}
		seen[h.Day] = true
		switch h.Kind {
		case HolidayOff:
		case HolidayWorkday:
			if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday {
				f[key+".kind"] = fmt.Sprintf("%s 本是工作日，不能设为调休上班", h.Day)
			}
		default:
			f[key+".kind"] = "类型应为 off（放假）或 workday（调休上班）"
		}
		name := strings.TrimSpace(h.Name)
		if name == "" || utf8.RuneCountInString(name) > 64 {
			f[key+".name"] = "请填写节日名称（不超过64个字）"
		}
		rows = append(rows, Holiday{Day: h.Day, Kind: h.Kind, Name: name})
	}
	if err := fieldErrors(f); err != nil {
		return nil, err
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("day LIKE ?", fmt.Sprintf("%04d-%%", year)).Delete(&Holiday{}).Error; err != nil {
			return fmt.Errorf("clear holidays %d: %w", year, err)
		}
		if len(rows) == 0 {
			return nil
		}
		if err := tx.Create(&rows).Error; err != nil {
			return fmt.Errorf("store holidays %d: %w", year, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := s.LoadCalendar(ctx); err != nil {
		return nil, err
	}
	return s.Holidays(ctx, year)
}
