package registry

import (
	"context"
	"fmt"
	"time"

	"jianfu/models"
)

// LoadDemo registers a demo county's year of documents, meetings,
// inspections, apps and groups (and last year's, as the baseline), with
// quotas, so that the dashboard's warnings and the report's 压减率 are
// alive on the first run. The demo county (models.LoadDemo) must exist;
// its office account registers the entries.
func (s *Store) LoadDemo(ctx context.Context) error {
	now := s.core.Now().In(models.Shanghai())
	year := now.Year()
	units := map[string]uint64{}
	var us []unitInfo
	if err := s.db(ctx).Table("units").Select("id, code, name").Scan(&us).Error; err != nil {
		return fmt.Errorf("demo registry: %w", err)
	}
	for _, u := range us {
		units[u.Code] = u.ID
	}
	var author models.User
	if err := s.db(ctx).Where("username = ?", "office").Take(&author).Error; err != nil || units["T01"] == 0 || units["D30"] == 0 {
		return fmt.Errorf("demo registry: the demo county is not loaded (%v)", err)
	}
	// day spreads the i-th of n entries over the year up to today (last
	// year: over the whole year).
	day := func(y, i, n int) string {
		start := time.Date(y, 1, 1, 0, 0, 0, 0, models.Shanghai())
		span := 364
		if y == year {
			span = max(now.YearDay()-1, 0)
		}
		return start.AddDate(0, 0, i*span/max(n, 1)).Format("2006-01-02")
	}
	created := s.core.Now()
	var es []Entry
	add := func(e Entry, unit string) {
		e.UnitID, e.CreatedBy, e.CreatedAt = units[unit], author.ID, created
		es = append(es, e)
	}
	unitOf := func(i int) string {
		if i%3 == 0 {
			return fmt.Sprintf("T%02d", i%15+1)
		}
		return fmt.Sprintf("D%02d", i%30+1)
	}
	levelOf := func(unit string) string {
		if unit[0] == 'T' {
			return LevelTownship
		}
		return LevelDepartment
	}
	// Documents: 120 last year, 96 this year (−20.0%); T03 issues 6
	// against a quota of 5.
	for y, n := range map[int]int{year - 1: 120, year: 90} {
		for i := range n {
			u := unitOf(i)
			if u == "T03" {
				u = "T04"
			}
			add(Entry{Kind: KindDocuments, Number: fmt.Sprintf("%s发〔%d〕%d号", u, y, i+1), Title: demoDocTitles[i%len(demoDocTitles)],
				Level: levelOf(u), StartsOn: day(y, i, n)}, u)
		}
	}
	for i := range 6 {
		add(Entry{Kind: KindDocuments, Number: fmt.Sprintf("石门发〔%d〕%d号", year, i+1), Title: demoDocTitles[i], Level: LevelTownship,
			StartsOn: day(year, i, 6)}, "T03")
	}
	// County-level meetings: 40 last year, 30 this year (−25.0%), most by
	// video; department meetings besides.
	for y, n := range map[int]int{year - 1: 40, year: 30} {
		for i := range n {
			add(Entry{Kind: KindMeetings, Title: demoMeetingTitles[i%len(demoMeetingTitles)], Level: LevelCounty,
				StartsOn: day(y, i, n), Minutes: 60 + 30*(i%3), Video: i%4 != 0}, "D01")
		}
	}
	for i := range 20 {
		add(Entry{Kind: KindMeetings, Title: "部门业务工作会", Level: LevelDepartment, StartsOn: day(year, i, 20), Minutes: 90}, unitOf(i+1))
	}
	// Inspections: 36 last year, 24 this year (−33.3%); 6 merged into
	// combined checks, 2 outside the approved plan.
	for y, n := range map[int]int{year - 1: 36, year: 24} {
		for i := range n {
			start := day(y, i, n)
			t, _ := time.Parse("2006-01-02", start)
			add(Entry{Kind: KindInspections, Title: demoInspectionTitles[i%len(demoInspectionTitles)], StartsOn: start,
				EndsOn: t.AddDate(0, 0, 2).Format("2006-01-02"), Targets: "全县15个乡镇（街道）",
				Planned: y != year || i >= 2, Merged: y == year && i%4 == 1}, fmt.Sprintf("D%02d", 20+i%10))
		}
	}
	// Apps: 12 in use this year, 5 closed or merged; groups: 30, 18
	// dissolved. One group demands daily check-ins and screenshots, one
	// app ranks cadres by points: both warn.
	for i := range 12 {
		e := Entry{Kind: KindApps, Title: demoAppNames[i], Owner: demoDepartments[i], Status: StatusActive, StartsOn: day(year-1, i, 12)}
		if i < 5 {
			e.Status, e.EndsOn = []string{StatusClosed, StatusMerged}[i%2], day(year, i+1, 6)
		}
		if i == 7 {
			e.Demands = DemandRanking
		}
		unit := fmt.Sprintf("D%02d", 25+i%6)
		if i == 7 {
			unit = "D03" // 党建积分, run by 县委组织部
		}
		add(e, unit)
	}
	for i := range 30 {
		u := fmt.Sprintf("T%02d", i%15+1)
		e := Entry{Kind: KindGroups, Title: fmt.Sprintf("%s工作群%d", demoGroupTopics[i%len(demoGroupTopics)], i+1), Owner: "乡镇党政办",
			Status: StatusActive, StartsOn: day(year-1, i, 30)}
		if i < 18 {
			e.Status, e.EndsOn = StatusClosed, day(year, i+1, 20)
		}
		add(e, u)
	}
	add(Entry{Kind: KindGroups, Title: "城关镇每日打卡群", Owner: "城关镇党政办", Status: StatusActive, Demands: DemandCheckin + "," + DemandScreenshot,
		StartsOn: day(year, 9, 10)}, "T01")
	if err := s.db(ctx).CreateInBatches(es, 200).Error; err != nil {
		return fmt.Errorf("demo registry: %w", err)
	}
	// Quotas: the county cuts documents by 15% (102 of last year's 120:
	// 96 registered, near), T03 may issue 5 (6: exceeded).
	return s.ReplaceQuotas(ctx, year, []QuotaInput{
		{Kind: KindDocuments, Reduction: 15}, {Kind: KindMeetings, Reduction: 20}, {Kind: KindInspections, Limit: 30},
		{Kind: KindDocuments, Unit: "T03", Limit: 5},
	})
}

var (
	demoDocTitles = []string{"关于做好春季森林防火工作的通知", "关于开展安全生产大检查的通知", "关于报送上半年工作总结的通知",
		"关于进一步规范村级组织工作事务的通知", "关于做好防汛备汛工作的通知", "关于开展环境卫生整治的通知", "关于做好秋粮收购工作的通知"}
	demoMeetingTitles    = []string{"全县经济工作会议", "全县安全生产工作会议", "全县乡村振兴推进会", "全县整治形式主义为基层减负工作会"}
	demoInspectionTitles = []string{"安全生产综合督查", "乡村振兴实绩考核", "环境保护专项检查", "民生实事督查", "防汛备汛检查"}
	demoAppNames         = []string{"学习打卡", "平安巡查", "河长巡河", "网格通", "防返贫监测", "环保随手拍", "农技通", "党建积分",
		"应急通", "统计直报", "医保通", "数据采集"}
	demoDepartments = []string{"县委宣传部", "县委政法委", "县水利局", "县委组织部", "县农业农村局", "县生态环境分局", "县农业农村局",
		"县委组织部", "县应急管理局", "县统计局", "县医疗保障局", "县数据资源管理局"}
	demoGroupTopics = []string{"防汛", "安全生产", "人居环境", "疫情防控", "乡村振兴", "综治"}
)
