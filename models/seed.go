package models

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// DefaultCategories is the county's own list of burdens (DESIGN §3).
func DefaultCategories() []Category {
	return []Category{
		{Code: "meetings_documents", Name: "文山会海", Sort: 10,
			Description: "会议、文件过多，或以“白头文件”、便函、工作提示、微信通知等变相发文",
			Example:     "一周内被要求参加4个内容相近的视频会议，每次都要求乡镇主要领导在场"},
		{Code: "inspections", Name: "督查检查考核过多过滥", Sort: 20,
			Description: "督查检查考核过多过频，或以调研、交流、观摩等名义“换马甲”检查",
			Example:     "同一项工作一个月内被三个部门分别检查，都要求提供同样的台账"},
		{Code: "digital", Name: "指尖上的形式主义", Sort: 30,
			Description: "政务App、工作群过多，打卡、排名、重复填报数据、数据孤岛",
			Example:     "每天要在5个App上打卡签到，同一组数据要在3个系统重复录入"},
		{Code: "paper_trail", Name: "过度留痕", Sort: 40,
			Description: "重痕不重绩，要求拍照、写记录、做台账以证明“做过”",
			Example:     "入户走访要求每户拍3张照片并上传，还要手写记录本"},
		{Code: "burden_shifting", Name: "属地管理、职责转嫁", Sort: 50,
			Description: "县级部门把自身任务推给乡镇，随意签订责任状、搞“一票否决”",
			Example:     "部门要求乡镇签订安全生产责任状，把本应部门承担的执法检查转给乡镇"},
		{Code: "layering", Name: "层层加码", Sort: 60,
			Description: "上级要求在传达中被层层提高标准、压缩时限",
			Example:     "县里要求月底完成，到乡镇变成10日内完成并每日报进度"},
		{Code: "vanity_projects", Name: "形象工程、政绩观偏差", Sort: 70,
			Description: "脱离实际搞形象工程、面子工程，盲目举债铺摊子",
			Example:     "为迎接观摩，要求村里突击粉刷沿街墙面、摆放盆景"},
		{Code: "other", Name: "其他", Sort: 99,
			Description: "其他加重基层负担的形式主义、官僚主义问题",
			Example:     "不属于以上类别的问题"},
	}
}

// Bootstrap inserts the shipped categories and holiday calendars where they
// are missing and loads the calendar. It is safe to run on every start.
func (s *Store) Bootstrap(ctx context.Context) error {
	db := s.db.WithContext(ctx)
	cats := DefaultCategories()
	for i := range cats {
		cats[i].Active = true
	}
	if err := db.Clauses(clause.OnConflict{DoNothing: true}).Create(&cats).Error; err != nil {
		return fmt.Errorf("seed categories: %w", err)
	}
	days := DefaultHolidays()
	if err := db.Clauses(clause.OnConflict{DoNothing: true}).Create(&days).Error; err != nil {
		return fmt.Errorf("seed holidays: %w", err)
	}
	if err := s.seedProvisional(ctx); err != nil {
		return err
	}
	if err := s.LoadCalendar(ctx); err != nil {
		return err
	}
	_, err := s.BackfillReadModels(ctx, nil)
	return err
}

// LoadCalendar reads the holiday calendar into memory.
func (s *Store) LoadCalendar(ctx context.Context) error {
	var days []Holiday
	if err := s.db.WithContext(ctx).Find(&days).Error; err != nil {
		return fmt.Errorf("load holidays: %w", err)
	}
	s.calendar.Store(NewCalendar(days))
	return nil
}

// Calendar returns the working-day calendar in force.
func (s *Store) Calendar() *Calendar { return s.calendar.Load() }

// UnitByCode loads a unit.
func (s *Store) UnitByCode(ctx context.Context, code string) (Unit, error) {
	var u Unit
	code = UnitCodeKey(code)
	if err := s.db.WithContext(ctx).Where("code = ?", code).First(&u).Error; err != nil {
		return u, interpret(err, "load unit "+code)
	}
	return u, nil
}

// Units lists active units, optionally of one kind, by code.
func (s *Store) Units(ctx context.Context, kind string) ([]Unit, error) {
	var us []Unit
	q := s.db.WithContext(ctx).Where("active = ?", true)
	if kind != "" {
		q = q.Where("kind = ?", kind)
	}
	if err := q.Order("code").Find(&us).Error; err != nil {
		return nil, fmt.Errorf("list units: %w", err)
	}
	return us, nil
}

// CreateUnit adds a township or county department.
func (s *Store) CreateUnit(ctx context.Context, code, name, kind string) (Unit, error) {
	if kind != UnitTownship && kind != UnitCounty {
		return Unit{}, invalid("kind", "单位类型应为 township 或 county")
	}
	u := Unit{Code: UnitCodeKey(code), Name: name, Kind: kind, Active: true, CreatedAt: s.clock()}
	if err := s.db.WithContext(ctx).Create(&u).Error; err != nil {
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			return u, invalid("code", "单位代码已存在")
		}
		return u, fmt.Errorf("create unit: %w", err)
	}
	return u, nil
}

// Categories lists active categories in display order.
func (s *Store) Categories(ctx context.Context) ([]Category, error) {
	var cs []Category
	if err := s.db.WithContext(ctx).Where("active = ?", true).Order("sort, id").Find(&cs).Error; err != nil {
		return nil, fmt.Errorf("list categories: %w", err)
	}
	return cs, nil
}
