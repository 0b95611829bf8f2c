package models

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"gorm.io/gorm"
)

// GenerateParams shapes a generated county for benchmarks.
type GenerateParams struct {
	Cases       int
	Townships   int
	Departments int
	Years       int
	// OpenDue is how many cases are left open with a due time (and so a
	// timer); the rest are closed, as in a county after years of work.
	OpenDue int
	Now     time.Time
	Seed    uint64
	// Progress, if set, is told how many cases exist so far.
	Progress func(done int)
	// ReadModels, if set, is told how many cases have their search
	// documents and statistics so far (built after the cases).
	ReadModels func(done int)
}

// GenerateCounty fills an empty database with a realistic county at scale
// through multi-row inserts: units with a liaison each, and Cases cases
// over Years years with their tips, events and assignments — a mix of
// categories, single and dual assignments, findings, ratings, and OpenDue
// open cases of which about a fifth are overdue. It returns the unit codes.
func (s *Store) GenerateCounty(ctx context.Context, p GenerateParams) ([]string, error) {
	r := rand.New(rand.NewPCG(p.Seed, 42))
	db := s.db.WithContext(ctx)
	now := p.Now.UTC().Truncate(time.Microsecond)
	var units []Unit
	for i := range p.Townships {
		units = append(units, Unit{Code: fmt.Sprintf("GT%03d", i+1), Name: fmt.Sprintf("第%d乡镇", i+1), Kind: UnitTownship, Active: true, CreatedAt: now})
	}
	for i := range p.Departments {
		units = append(units, Unit{Code: fmt.Sprintf("GD%03d", i+1), Name: fmt.Sprintf("县直部门%d", i+1), Kind: UnitCounty, Active: true, CreatedAt: now})
	}
	if err := db.CreateInBatches(&units, 500).Error; err != nil {
		return nil, fmt.Errorf("generate units: %w", err)
	}
	unitCodes := make([]string, len(units))
	for i := range units {
		unitCodes[i] = units[i].Code
	}
	unitIDs, err := insertedIDs(db, "units", "code", unitCodes)
	if err != nil {
		return nil, fmt.Errorf("generate units: %w", err)
	}
	for i := range units {
		units[i].ID = unitIDs[i]
	}
	hash, err := hashPassword("generated-liaison")
	if err != nil {
		return nil, err
	}
	users := make([]User, 0, len(units))
	codes := make([]string, len(units))
	for i, u := range units {
		codes[i] = u.Code
		users = append(users, User{Username: "liaison_" + strings.ToLower(u.Code), PasswordHash: hash, Role: RoleLiaison,
			UnitID: &units[i].ID, Email: strings.ToLower(u.Code) + "@bench.jianfu.local", CreatedAt: now, UpdatedAt: now})
	}
	if err := db.CreateInBatches(&users, 500).Error; err != nil {
		return nil, fmt.Errorf("generate users: %w", err)
	}
	cats, err := s.Categories(ctx)
	if err != nil {
		return nil, err
	}
	towns, depts := units[:p.Townships], units[p.Townships:]
	span := time.Duration(p.Years) * 365 * 24 * time.Hour
	openStages := []string{StageCollect, StageAssign, StageVerify, StageRectify, StageRectify, StageFeedback}
	batch, rows := 2000, 2000 // cases a transaction, rows a statement
	if s.dialect == "sqlite" {
		rows = maxSQLiteRows(16)
	}
	for done := 0; done < p.Cases; done += batch {
		n := min(batch, p.Cases-done)
		err := db.Transaction(func(tx *gorm.DB) error {
			tips := make([]Tip, n)
			for i := range tips {
				// Older cases first, so ids grow with time as in real use.
				at := now.Add(-span + time.Duration(float64(span)*float64(done+i)/float64(p.Cases)))
				t := towns[r.IntN(len(towns))].ID
				tips[i] = Tip{ReceiptHash: fmt.Sprintf("gen%061d", done+i), Channel: []string{ChannelWeb, ChannelWeb, ChannelWeb, ChannelPhone, ChannelLetter}[r.IntN(5)],
					CategoryID: cats[r.IntN(len(cats))].ID, Title: genTitles[r.IntN(len(genTitles))],
					Content:        genSentences[r.IntN(len(genSentences))] + genSentences[r.IntN(len(genSentences))] + genSentences[r.IntN(len(genSentences))],
					ImplicatedUnit: demoDepartments[r.IntN(len(demoDepartments))], TownshipID: &t, Anonymous: true, CreatedAt: at}
			}
			if err := tx.CreateInBatches(&tips, rows).Error; err != nil {
				return err
			}
			hashes := make([]string, n)
			for i := range tips {
				hashes[i] = tips[i].ReceiptHash
			}
			tipIDs, err := insertedIDs(tx, "tips", "receipt_hash", hashes)
			if err != nil {
				return err
			}
			for i := range tips {
				tips[i].ID = tipIDs[i]
			}
			cases := make([]Case, n)
			for i, t := range tips {
				c := Case{TipID: t.ID, CategoryID: t.CategoryID, TownshipID: t.TownshipID, Suggestions: "[]", VerifyTeam: "[]",
					CreatedAt: t.CreatedAt, UpdatedAt: t.CreatedAt, DueVersion: 1, StageEnteredAt: t.CreatedAt}
				if p.Cases-(done+i) <= p.OpenDue { // the newest cases are the open ones
					c.Stage = openStages[r.IntN(len(openStages))]
					due := now.Add(time.Duration(r.IntN(30*24)) * time.Hour)
					if r.IntN(5) == 0 {
						// Overdue for days: reminded, marked and escalated
						// long ago, as in a county that has been running.
						due = now.Add(-time.Duration(1+r.IntN(20*24)) * time.Hour)
						c.TimerStep = StepEscalate
					} else {
						next := due.Add(-time.Hour)
						c.NextTimerAt = &next
					}
					c.DueAt, c.StageEnteredAt = &due, due.Add(-10*24*time.Hour)
				} else {
					c.Stage = StageClosed
					closed := t.CreatedAt.Add(time.Duration(20+r.IntN(40)) * 24 * time.Hour)
					c.ClosedAt, c.StageEnteredAt = &closed, closed
					c.Finding = []string{"substantiated", "substantiated", "partly", "unsubstantiated"}[r.IntN(4)]
					c.Rating = []string{"satisfied", "satisfied", "basically_satisfied", "unsatisfied", "not_rated"}[r.IntN(5)]
				}
				cases[i] = c
			}
			if err := tx.CreateInBatches(&cases, rows).Error; err != nil {
				return err
			}
			caseIDs, err := insertedIDs(tx, "cases", "tip_id", tipIDs)
			if err != nil {
				return err
			}
			for i := range cases {
				cases[i].ID = caseIDs[i]
			}
			var asg []Assignment
			var evs []Event
			for _, c := range cases {
				evs = append(evs, Event{CaseID: c.ID, At: c.CreatedAt, Kind: EventSubmitted, Actor: ActorTipster, ToStage: StageCollect,
					Public: true, Body: "收到反映，进入线索收集阶段", Data: "{}"})
				if c.Stage == StageCollect || c.Stage == StageAssign {
					continue
				}
				evs = append(evs, Event{CaseID: c.ID, At: c.CreatedAt.Add(48 * time.Hour), Kind: "dispatched", Actor: "office",
					FromStage: StageAssign, ToStage: StageVerify, Public: true, Body: "已交办", Data: "{}"})
				parties := []Unit{towns[r.IntN(len(towns))], depts[r.IntN(len(depts))]}
				if r.IntN(5) < 3 { // 60% single assignment to a department
					parties = parties[1:]
				}
				for _, u := range parties {
					role := AssignCounty
					if u.Kind == UnitTownship {
						role = AssignGrassroots
					}
					a := Assignment{CaseID: c.ID, UnitID: u.ID, Role: role, Status: AssignmentAccepted, CreatedAt: c.CreatedAt, UpdatedAt: c.CreatedAt}
					if c.Stage == StageVerify || c.Stage == StageRectify {
						a.Status = AssignmentPending
					}
					if c.Stage == StageRectify {
						a.DueAt, a.DueFrom, a.NextTimerAt, a.TimerStep, a.DueVersion = c.DueAt, &c.StageEnteredAt, c.NextTimerAt, c.TimerStep, 1
					}
					asg = append(asg, a)
				}
				if c.Stage == StageClosed {
					evs = append(evs, Event{CaseID: c.ID, At: *c.ClosedAt, Kind: "closed", Actor: "office", FromStage: StageFeedback,
						ToStage: StageClosed, Public: true, Body: "办结", Data: "{}"})
				}
			}
			if err := tx.CreateInBatches(&asg, rows).Error; err != nil {
				return err
			}
			return tx.CreateInBatches(&evs, rows).Error
		})
		if err != nil {
			return nil, fmt.Errorf("generate cases from %d: %w", done, err)
		}
		if p.Progress != nil {
			p.Progress(done + n)
		}
	}
	// The bulk load wrote no search documents and no rollups: build them
	// as an upgraded database would.
	if _, err := s.BackfillReadModels(ctx, p.ReadModels); err != nil {
		return nil, err
	}
	// After a bulk load the optimizer's statistics still describe the empty
	// tables; refresh them, as a database that has grown slowly would have.
	analyze := "ANALYZE"
	if s.dialect == "mysql" {
		analyze = "ANALYZE TABLE units, users, tips, cases, assignments, events, case_search, case_stats, stats_rollups"
	}
	if err := db.Exec(analyze).Error; err != nil {
		return nil, fmt.Errorf("analyze: %w", err)
	}
	return codes, nil
}

// genTitles and genSentences make the generated tips' text: the county's
// burdens in its own words, so that a search word matches a realistic
// share of the cases (打卡 about three in ten) instead of all or none.
var genTitles = strings.Fields(`每天多个App打卡 微信群通知太多 重复填报同一组数据 迎检材料层层加码 会议一个接一个
督查检查过多 台账留痕要求过度 责任状层层下压 形象工程劳民伤财 调研变成变相检查 考核排名天天通报 白头文件满天飞`)

var genSentences = []string{
	"县直部门通过工作群下发通知，要求乡镇干部每天在多个App上打卡。",
	"同一组数据要在三个系统里重复填报，格式还各不相同。",
	"一周开了五次会，很多会议只是传达上级文件，没有实际内容。",
	"检查组要求准备纸质台账和电子台账各一套，留痕材料堆满了办公室。",
	"有关部门把本应由自己承担的安全生产责任通过责任状转嫁给村里。",
	"学习强国积分和政务App活跃度被纳入考核并每周排名通报。",
	"调研、交流、观摩名目繁多，实际上每次都要求基层准备汇报材料。",
	"上级以便函和微信通知代替正式文件，要求当天报送各类表格。",
	"为了迎接验收，要求村里统一粉刷墙面、制作展板，花费不少。",
	"防返贫监测数据每月要报三次，口径不一，基层疲于应付。",
	"工作群里要求每天截图上传走访照片，晚上十点还在催报。",
	"乡镇干部反映考核指标层层加码，县里的任务到村里翻了一倍。",
}

// HasCases reports whether the database holds any case.
func (s *Store) HasCases(ctx context.Context) (bool, error) {
	var ids []uint64
	if err := s.db.WithContext(ctx).Raw("SELECT id FROM cases LIMIT 1").Scan(&ids).Error; err != nil {
		return false, fmt.Errorf("look for cases: %w", err)
	}
	return len(ids) > 0, nil
}

// BenchDueSoon makes n open cases fall due `in` from now with their
// reminder already sent, so the next timer step is the overdue mark at the
// due time. It returns their ids and due times.
func (s *Store) BenchDueSoon(ctx context.Context, n int, in time.Duration) (map[uint64]time.Time, error) {
	var ids []uint64
	if err := s.db.WithContext(ctx).Model(&Case{}).Where("stage IN ?", []string{StageCollect, StageAssign, StageVerify}).
		Order("id DESC").Limit(n).Pluck("id", &ids).Error; err != nil {
		return nil, fmt.Errorf("pick cases: %w", err)
	}
	due := s.clock().Add(in)
	err := s.db.WithContext(ctx).Model(&Case{}).Where("id IN ?", ids).Updates(map[string]any{
		"due_at": due, "next_timer_at": due, "timer_step": StepRemind, "due_version": gorm.Expr("due_version + 1")}).Error
	if err != nil {
		return nil, fmt.Errorf("set due times: %w", err)
	}
	out := make(map[uint64]time.Time, len(ids))
	for _, id := range ids {
		out[id] = due
	}
	return out, nil
}

// BenchOverdueLags returns, for each case of due that has its overdue mark,
// how long after the due time the mark was written.
func (s *Store) BenchOverdueLags(ctx context.Context, due map[uint64]time.Time) ([]time.Duration, error) {
	ids := make([]uint64, 0, len(due))
	for id := range due {
		ids = append(ids, id)
	}
	var evs []Event
	if err := s.db.WithContext(ctx).Where("case_id IN ? AND kind = ?", ids, EventOverdue).Find(&evs).Error; err != nil {
		return nil, fmt.Errorf("load overdue marks: %w", err)
	}
	var lags []time.Duration
	for _, e := range evs {
		if d, ok := due[e.CaseID]; ok && !e.At.Before(d) {
			lags = append(lags, e.At.Sub(d))
		}
	}
	return lags, nil
}

// BenchExplain runs the staff list (unit + rectify + overdue, as office)
// and a case detail with every statement captured, and returns the
// database's EXPLAIN of the list's and the detail's SELECTs.
func (s *Store) BenchExplain(ctx context.Context, unit string) (list, detail string, err error) {
	office := Principal{Role: RoleOffice, Username: "bench"}
	yes := true
	capture := func(fn func() error) ([]string, error) {
		var stmts []string
		s.capture.Store(&stmts)
		defer s.capture.Store(nil)
		err := fn()
		return stmts, err
	}
	var page CasePage
	listStmts, err := capture(func() error {
		var err error
		page, err = s.ListCases(ctx, office, CaseFilter{Unit: unit, Stage: StageRectify, Overdue: &yes, Limit: 20})
		return err
	})
	if err != nil {
		return "", "", err
	}
	if len(page.Items) == 0 {
		return "", "", fmt.Errorf("explain: no cases listed for %s", unit)
	}
	detailStmts, err := capture(func() error { _, err := s.CaseDetail(ctx, office, page.Items[0].ID); return err })
	if err != nil {
		return "", "", err
	}
	return s.explain(ctx, listStmts), s.explain(ctx, detailStmts), nil
}

func (s *Store) explain(ctx context.Context, stmts []string) string {
	var b strings.Builder
	for _, q := range stmts {
		if !strings.HasPrefix(strings.TrimSpace(strings.ToUpper(q)), "SELECT") {
			continue
		}
		fmt.Fprintf(&b, "%s\n", q)
		explain := "EXPLAIN "
		if s.dialect == "sqlite" {
			explain = "EXPLAIN QUERY PLAN "
		}
		rows, err := s.db.WithContext(ctx).Raw(explain + q).Rows()
		if err != nil {
			fmt.Fprintf(&b, "  (explain failed: %v)\n", err)
			continue
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			rows.Scan(ptrs...)
			var parts []string
			for i, c := range cols {
				if v := vals[i]; v != nil {
					if bs, ok := v.([]byte); ok {
						v = string(bs)
					}
					parts = append(parts, fmt.Sprintf("%s=%v", c, v))
				}
			}
			fmt.Fprintf(&b, "  %s\n", strings.Join(parts, " "))
		}
		rows.Close()
	}
	return b.String()
}

// BenchBusiestUnit is the unit with the most overdue open assignments: the
// liaison whose queue the benchmark reads.
func (s *Store) BenchBusiestUnit(ctx context.Context) (string, error) {
	var code string
	err := s.db.WithContext(ctx).Table("assignments").Select("units.code").
		Joins("JOIN units ON units.id = assignments.unit_id").
		Where("assignments.status = ? AND assignments.due_at < ?", AssignmentPending, s.clock()).
		Group("units.code").Order("COUNT(*) DESC").Limit(1).Pluck("units.code", &code).Error
	if err != nil {
		return "", fmt.Errorf("busiest unit: %w", err)
	}
	return code, nil
}

// BenchExplainReads returns the plans of the statements behind the read
// paths: the keyword search, a year's list by submission date, and the
// statistics of a year.
func (s *Store) BenchExplainReads(ctx context.Context, words string, year int) (search, dates, stats string, err error) {
	office := Principal{Role: RoleOffice, Username: "bench"}
	capture := func(fn func() error) (string, error) {
		var stmts []string
		s.capture.Store(&stmts)
		defer s.capture.Store(nil)
		if err := fn(); err != nil {
			return "", err
		}
		return s.explain(ctx, stmts), nil
	}
	if search, err = capture(func() error {
		_, err := s.ListCases(ctx, office, CaseFilter{Q: words, Limit: 20})
		return err
	}); err != nil {
		return
	}
	day := fmt.Sprintf("%d-", year)
	if dates, err = capture(func() error {
		_, err := s.ListCases(ctx, office, CaseFilter{From: day + "01-01", To: day + "12-31", Limit: 20})
		return err
	}); err != nil {
		return
	}
	from, to := YearPeriod(year)
	stats, err = capture(func() error { _, err := s.Stats(ctx, StatsParams{From: from, To: to}); return err })
	return
}
