package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

var demoTownships = strings.Fields("城关镇 东关街道 西城街道 南岗镇 北山镇 青石镇 白沙镇 柳河镇 杏林乡 桃源乡 石门镇 龙泉镇 马坊乡 新安镇 三河镇")

var demoDepartments = strings.Fields(`县委办公室 县政府办公室 县委组织部 县委宣传部 县委政法委 县发展和改革局 县教育局
县科学技术局 县工业和信息化局 县公安局 县民政局 县司法局 县财政局 县人力资源和社会保障局 县自然资源局 县生态环境分局
县住房和城乡建设局 县交通运输局 县水利局 县农业农村局 县商务局 县文化和旅游局 县卫生健康局 县退役军人事务局
县应急管理局 县审计局 县市场监督管理局 县统计局 县医疗保障局 县数据资源管理局`)

// demoRules: category code ("" any), keyword ("" any), county unit code.
var demoRules = []struct{ category, keyword, unit string }{
	{"digital", "", "D30"},
	{"meetings_documents", "", "D01"},
	{"inspections", "", "D01"},
	{"burden_shifting", "安全生产", "D25"},
	{"burden_shifting", "责任状", "D01"},
	{"", "防返贫", "D20"},
	{"", "农业", "D20"},
	{"", "学校", "D07"},
	{"", "卫生", "D23"},
	{"", "环保", "D16"},
	{"", "统计", "D28"},
	{"paper_trail", "台账", "D02"},
}

// DemoUser is an account the demo created, with its one-time password.
type DemoUser struct{ Username, Password, Role, Unit string }

// LoadDemo fills an empty county with about 15 townships, 30 county
// departments, routing rules and one user of each role. A second run
// changes nothing and returns no users.
func (s *Store) LoadDemo(ctx context.Context) ([]DemoUser, error) {
	if _, err := s.UnitByCode(ctx, "T01"); err == nil {
		return nil, nil
	} else if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	for i, name := range demoTownships {
		if _, err := s.CreateUnit(ctx, fmt.Sprintf("T%02d", i+1), name, UnitTownship); err != nil {
			return nil, fmt.Errorf("demo township: %w", err)
		}
	}
	for i, name := range demoDepartments {
		if _, err := s.CreateUnit(ctx, fmt.Sprintf("D%02d", i+1), name, UnitCounty); err != nil {
			return nil, fmt.Errorf("demo department: %w", err)
		}
	}
	cats, err := s.Categories(ctx)
	if err != nil {
		return nil, err
	}
	catID := map[string]uint64{}
	for _, c := range cats {
		catID[c.Code] = c.ID
	}
	for i, r := range demoRules {
		u, err := s.UnitByCode(ctx, r.unit)
		if err != nil {
			return nil, err
		}
		rule := RoutingRule{Keyword: r.keyword, UnitID: u.ID, Role: AssignCounty, Priority: len(demoRules) - i,
			Active: true, CreatedAt: time.Now().UTC()}
		if r.category != "" {
			id := catID[r.category]
			rule.CategoryID = &id
		}
		if err := s.db.WithContext(ctx).Create(&rule).Error; err != nil {
			return nil, fmt.Errorf("demo rule: %w", err)
		}
	}
	var users []DemoUser
	for _, u := range []DemoUser{
		{Username: "demo_admin", Role: RoleAdmin},
		{Username: "office", Role: RoleOffice},
		{Username: "leader", Role: RoleLeader},
		{Username: "liaison_t01", Role: RoleLiaison, Unit: "T01"},
		{Username: "liaison_d30", Role: RoleLiaison, Unit: "D30"},
		{Username: "auditor", Role: RoleAuditor},
	} {
		u.Password = GeneratePassword()
		if _, err := s.CreateUser(ctx, UserParams{Username: u.Username, Password: u.Password, Role: u.Role,
			UnitCode: u.Unit, Email: u.Username + "@demo.jianfu.local"}); err != nil {
			return nil, fmt.Errorf("demo user %s: %w", u.Username, err)
		}
		users = append(users, u)
	}
	return users, nil
}
