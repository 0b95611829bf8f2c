package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"gorm.io/gorm/schema"

	"jianfu/models"
	"jianfu/testenv"
)

// fixture is a migrated store with units T01, T02 (townships), D01 (a
// county department) and one principal of each role, its clock at
// 2026-06-15 10:00 Beijing time.
type fixture struct {
	t       *testing.T
	ctx     context.Context
	core    *models.Store
	reg     *Store
	office  models.Principal
	leader  models.Principal
	liaison models.Principal // of T01
	units   map[string]uint64
	cats    map[string]uint64
	n       int
}

var fixedNow = time.Date(2026, 6, 15, 10, 0, 0, 0, models.Shanghai())

func newFixture(t *testing.T, b testenv.Backend) *fixture {
	t.Helper()
	ctx := context.Background()
	url, dir := b.Database(t)
	core, err := models.Open(ctx, models.OpenParams{DatabaseURL: url, DataDir: dir, Secret: make([]byte, 32)})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { core.Close() })
	if _, err := core.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if err := core.Bootstrap(ctx); err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	core.SetClock(func() time.Time { return fixedNow })
	f := &fixture{t: t, ctx: ctx, core: core, reg: New(core), units: map[string]uint64{}, cats: map[string]uint64{}}
	for _, u := range []struct{ code, name, kind string }{
		{"T01", "城关镇", models.UnitTownship}, {"T02", "东坝镇", models.UnitTownship}, {"D01", "县教育局", models.UnitCounty},
	} {
		unit, err := core.CreateUnit(ctx, u.code, u.name, u.kind)
		if err != nil {
			t.Fatal(err)
		}
		f.units[u.code] = unit.ID
	}
	for _, u := range []struct{ name, role, unit string }{
		{"office", models.RoleOffice, ""}, {"leader", models.RoleLeader, ""}, {"liaison", models.RoleLiaison, "T01"},
	} {
		user, err := core.CreateUser(ctx, models.UserParams{Username: u.name, Password: "Passw0rd-long", Role: u.role, UnitCode: u.unit})
		if err != nil {
			t.Fatal(err)
		}
		p := models.Principal{UserID: user.ID, Username: u.name, Role: u.role}
		if u.unit != "" {
			id := f.units[u.unit]
			p.UnitID, p.UnitCode = &id, u.unit
		}
		switch u.role {
		case models.RoleOffice:
			f.office = p
		case models.RoleLeader:
			f.leader = p
		default:
			f.liaison = p
		}
	}
	cats, err := core.Categories(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cats {
		f.cats[c.Code] = c.ID
	}
	return f
}

func (f *fixture) add(kind string, in EntryInput) Entry {
	f.t.Helper()
	e, err := f.reg.Create(f.ctx, f.office, kind, in)
	if err != nil {
		f.t.Fatalf("register %s %+v: %v", kind, in, err)
	}
	return e
}

// docs registers n documents of unit issued in year.
func (f *fixture) docs(unit string, year, n int) {
	for i := range n {
		f.add(KindDocuments, EntryInput{Unit: unit, Number: fmt.Sprintf("城发〔%d〕%d号", year, i+1), Title: "关于做好有关工作的通知",
			Level: LevelDepartment, IssuedOn: fmt.Sprintf("%d-03-%02d", year, i+1)})
	}
}

func (f *fixture) meetings(level string, year, n int) {
	for i := range n {
		f.add(KindMeetings, EntryInput{Unit: "D01", Title: "工作推进会", Level: level, HeldOn: fmt.Sprintf("%d-04-%02d", year, i+1), Minutes: 90})
	}
}

func (f *fixture) inspections(year, n int, planned, merged bool) []Entry {
	var es []Entry
	for i := range n {
		es = append(es, f.add(KindInspections, EntryInput{Unit: "D01", Title: "安全生产督查", StartOn: fmt.Sprintf("%d-05-%02d", year, i+1),
			EndOn: fmt.Sprintf("%d-05-%02d", year, i+2), Targets: "T01,T02", Planned: planned, Merged: merged}))
	}
	return es
}

func pct(p *float64) string { return PercentText(p) }

func TestReductionRates(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f := newFixture(t, b)
			f.docs("T01", 2025, 6)
			f.docs("D01", 2025, 4)
			f.docs("T01", 2026, 5)
			f.docs("D01", 2026, 3)               // 2025: 10, 2026: 8 → (10−8)/10 = 20.0%
			f.meetings(LevelCounty, 2025, 4)     // county-level 2025: 4
			f.meetings(LevelCounty, 2026, 3)     // 2026: 3 → 25.0%
			f.meetings(LevelDepartment, 2026, 5) // not county-level: not counted
			f.inspections(2025, 6, true, false)  // 2025: 6
			f.inspections(2026, 2, true, false)  //
			f.inspections(2026, 1, true, true)   // merged
			f.inspections(2026, 1, false, false) // unplanned; 2026: 4 → (6−4)/6 = 33.3%
			app := func(name, reg, status, closed string) {
				f.add(KindApps, EntryInput{Unit: "D01", Name: name, Owner: "县政务数据局", Status: status, RegisteredOn: reg, ClosedOn: closed})
			}
			app("A", "2024-05-01", StatusActive, "")           // in use in 2026
			app("B", "2025-03-01", StatusClosed, "2026-02-01") // in use, closed in 2026
			app("C", "2026-01-10", StatusMerged, "2026-05-01") // in use, merged in 2026
			app("D", "2024-01-01", StatusClosed, "2025-06-01") // gone before 2026
			// 2026: in use A, B, C = 3; closed B, C = 2 → 66.7%

			got, err := f.reg.Figures(f.ctx, 2026)
			if err != nil {
				t.Fatal(err)
			}
			checks := []struct{ name, got, want string }{
				{"documents", fmt.Sprintf("%d/%d %s", got.Documents.This, got.Documents.Prev, pct(got.Documents.Percent)), "8/10 20.0%"},
				{"meetings", fmt.Sprintf("%d/%d %s", got.Meetings.This, got.Meetings.Prev, pct(got.Meetings.Percent)), "3/4 25.0%"},
				{"inspections", fmt.Sprintf("%d/%d %s", got.Inspections.This, got.Inspections.Prev, pct(got.Inspections.Percent)), "4/6 33.3%"},
				{"merged, unplanned", fmt.Sprintf("%d %d", got.InspectionsMerged, got.InspectionsUnplanned), "1 1"},
				{"apps", fmt.Sprintf("%d/%d %s", got.Apps.Closed, got.Apps.Existing, pct(got.Apps.Percent)), "2/3 66.7%"},
				{"groups", fmt.Sprintf("%d/%d %s", got.Groups.Closed, got.Groups.Existing, pct(got.Groups.Percent)), "0/0 —"},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("2026 %s = %s, want %s", c.name, c.got, c.want)
				}
			}
			// 2025 has no baseline: 2024 registered no documents, meetings
			// or inspections, so every 压减率 is "—", not 0% or 100%.
			prev, err := f.reg.Figures(f.ctx, 2025)
			if err != nil {
				t.Fatal(err)
			}
			for name, r := range map[string]Reduction{"documents": prev.Documents, "meetings": prev.Meetings, "inspections": prev.Inspections} {
				if r.Percent != nil || r.Prev != 0 {
					t.Errorf("2025 %s = %+v, want no baseline (—)", name, r)
				}
			}
			// A rise is a negative reduction: 2027 has 0 documents against 8.
			next, err := f.reg.Figures(f.ctx, 2027)
			if err != nil || pct(next.Documents.Percent) != "100.0%" {
				t.Errorf("2027 documents = %s, %v; want 100.0%%", pct(next.Documents.Percent), err)
			}
		})
	}
}

func ids(ws []Warning) []string {
	var out []string
	for _, w := range ws {
		out = append(out, w.ID)
	}
	sort.Strings(out)
	return out
}

// caseAt seeds a tip and its case directly (the workflow would take many
// steps to reach a finding in a given week).
func (f *fixture) caseAt(cat, township, stage, finding string, at time.Time, unit string) uint64 {
	f.t.Helper()
	f.n++
	db := f.core.DB(f.ctx)
	tip := models.Tip{ReceiptHash: fmt.Sprintf("r-%d", f.n), Channel: "web", CategoryID: f.cats[cat], Title: "线索",
		Content: "要求每天打卡签到", Anonymous: true, CreatedAt: at.UTC()}
	if township != "" {
		id := f.units[township]
		tip.TownshipID = &id
	}
	if err := db.Create(&tip).Error; err != nil {
		f.t.Fatal(err)
	}
	c := models.Case{TipID: tip.ID, CategoryID: tip.CategoryID, TownshipID: tip.TownshipID, Stage: stage, StageEnteredAt: at.UTC(),
		Finding: finding, Suggestions: "[]", VerifyTeam: "[]", CreatedAt: at.UTC(), UpdatedAt: at.UTC()}
	if err := db.Create(&c).Error; err != nil {
		f.t.Fatal(err)
	}
	if unit != "" {
		status := models.AssignmentAccepted
		if stage == models.StageRectify {
			status = models.AssignmentPending
		}
		a := models.Assignment{CaseID: c.ID, UnitID: f.units[unit], Role: models.AssignGrassroots, Status: status,
			CreatedAt: at.UTC(), UpdatedAt: at.UTC()}
		if err := db.Create(&a).Error; err != nil {
			f.t.Fatal(err)
		}
	}
	return c.ID
}

func TestWarningRules(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f := newFixture(t, b)
			// Quotas: T01 may issue 5 documents in 2026 and has 4 (80%:
			// near); D01 may issue 3 and has 4 (exceeded); the county cuts
			// county-level meetings by 25% from 2025's 4, to 3, and has 2
			// (66%: no warning).
			f.docs("T01", 2026, 4)
			f.docs("D01", 2026, 4)
			f.docs("T02", 2026, 3) // no quota: no warning
			f.meetings(LevelCounty, 2025, 4)
			f.meetings(LevelCounty, 2026, 2)
			err := f.reg.ReplaceQuotas(f.ctx, 2026, []QuotaInput{
				{Kind: KindDocuments, Unit: "T01", Limit: 5}, {Kind: KindDocuments, Unit: "D01", Limit: 3},
				{Kind: KindMeetings, Reduction: 25}, {Kind: KindDocuments, Unit: "T02", Limit: 4},
			})
			if err != nil {
				t.Fatal(err)
			}
			// T02 at 3 of 4 is 75%: below 80%, no warning.
			// Inspections: one outside the plan.
			unplanned := f.inspections(2026, 1, false, false)[0]
			f.inspections(2026, 1, true, false)
			f.inspections(2025, 1, false, false) // last year's: not this year's warning
			// Apps and groups: an active group demanding check-ins warns,
			// a closed one with the same demand does not.
			group := f.add(KindGroups, EntryInput{Unit: "T01", Name: "城关镇每日打卡群", Owner: "城关镇党政办", Demands: []string{DemandCheckin, DemandScreenshot}})
			f.add(KindGroups, EntryInput{Unit: "T02", Name: "已解散的群", Owner: "东坝镇", Status: StatusClosed, Demands: []string{DemandRanking}})
			f.add(KindApps, EntryInput{Unit: "D01", Name: "无要求的App", Owner: "县教育局"})
			// Hotspot: T01 × digital has 3 substantiated/partly tips within
			// 90 days (a 4th is older than 90 days, an unsubstantiated one
			// does not count); D01 × digital has 2.
			var hot []uint64
			for i, fd := range []string{"substantiated", "partly", "substantiated"} {
				hot = append(hot, f.caseAt("digital", "T01", models.StageClosed, fd, fixedNow.AddDate(0, 0, -10*(i+1)), "T01"))
			}
			f.caseAt("digital", "T01", models.StageClosed, "substantiated", fixedNow.AddDate(0, 0, -91), "T01")
			f.caseAt("digital", "T01", models.StageClosed, "unsubstantiated", fixedNow.AddDate(0, 0, -5), "T01")
			f.caseAt("digital", "", models.StageClosed, "substantiated", fixedNow.AddDate(0, 0, -5), "D01")
			f.caseAt("digital", "", models.StageClosed, "substantiated", fixedNow.AddDate(0, 0, -6), "D01")
			// Repeat: T02 is rectifying a paper_trail case since 20 days
			// ago; a paper_trail tip about T02 came 3 days ago (warns), an
			// inspections tip and one from before the rectification do not.
			rect := f.caseAt("paper_trail", "T02", models.StageRectify, "substantiated", fixedNow.AddDate(0, 0, -20), "T02")
			f.caseAt("paper_trail", "T02", models.StageClosed, "", fixedNow.AddDate(0, 0, -30), "")
			again := f.caseAt("paper_trail", "T02", models.StageCollect, "", fixedNow.AddDate(0, 0, -3), "")
			f.caseAt("inspections", "T02", models.StageCollect, "", fixedNow.AddDate(0, 0, -2), "")

			ws, err := f.reg.Warnings(f.ctx, f.office, WarningParams{})
			if err != nil {
				t.Fatal(err)
			}
			want := []string{
				fmt.Sprintf("forbidden_demand:%d", group.ID),
				"hotspot:T01:digital",
				"quota_exceeded:2026:documents:D01",
				"quota_near:2026:documents:T01",
				fmt.Sprintf("repeat:T02:%d", rect),
				fmt.Sprintf("unplanned_inspection:%d", unplanned.ID),
			}
			if got := ids(ws); !reflect.DeepEqual(got, want) {
				t.Fatalf("warnings\n have %v\n want %v", got, want)
			}
			byID := map[string]Warning{}
			for _, w := range ws {
				byID[w.ID] = w
				if w.Reason == "" {
					t.Errorf("%s has no reason", w.ID)
				}
			}
			if w := byID["quota_near:2026:documents:T01"]; w.Evidence.Count != 4 || w.Evidence.Limit != 5 || w.Level != LevelWarn ||
				!strings.Contains(w.Reason, "城关镇2026年发文已备案4项，达到年度指标5项的80%") {
				t.Errorf("near quota: %+v", w)
			}
			if w := byID["quota_exceeded:2026:documents:D01"]; w.Evidence.Count != 4 || w.Evidence.Limit != 3 || w.Level != LevelAlert {
				t.Errorf("exceeded quota: %+v", w)
			}
			if w := byID["hotspot:T01:digital"]; !reflect.DeepEqual(sorted(w.Evidence.Cases), sorted(hot)) {
				t.Errorf("hotspot cases = %v, want %v", w.Evidence.Cases, hot)
			}
			if w := byID[fmt.Sprintf("repeat:T02:%d", rect)]; !reflect.DeepEqual(w.Evidence.Cases, []uint64{rect, again}) {
				t.Errorf("repeat cases = %v, want %v", w.Evidence.Cases, []uint64{rect, again})
			}
			if w := byID[fmt.Sprintf("forbidden_demand:%d", group.ID)]; w.Unit != "T01" || !strings.Contains(w.Reason, "打卡签到、截图留痕") {
				t.Errorf("demand warning: %+v", w)
			}
			// The county meetings quota turns "near" at 3 of 3.
			f.meetings(LevelCounty, 2026, 1)
			ws, _ = f.reg.Warnings(f.ctx, f.leader, WarningParams{Rule: RuleQuotaNear})
			if got := ids(ws); !reflect.DeepEqual(got, []string{"quota_near:2026:documents:T01", "quota_near:2026:meetings:county"}) {
				t.Errorf("near quotas after a third county meeting: %v", got)
			}

			// T01's liaison sees T01's warnings only, without case numbers.
			ws, err = f.reg.Warnings(f.ctx, f.liaison, WarningParams{Unit: "D01"})
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(ws); !reflect.DeepEqual(got, []string{fmt.Sprintf("forbidden_demand:%d", group.ID), "hotspot:T01:digital", "quota_near:2026:documents:T01"}) {
				t.Errorf("liaison's warnings: %v", got)
			}
			for _, w := range ws {
				if len(w.Evidence.Cases) > 0 {
					t.Errorf("liaison sees case numbers in %s", w.ID)
				}
			}
			// T02's repeat warning is not in T02's digest lines (it counts
			// tips the unit has not been given).
			lines, err := f.reg.UnitWarningLines(f.ctx, "T02")
			if err != nil || len(lines) != 0 {
				t.Errorf("T02 digest lines = %v, %v; want none", lines, err)
			}
			units, err := f.reg.WarnedUnits(f.ctx)
			if err != nil || !reflect.DeepEqual(units, []string{"D01", "T01"}) {
				t.Errorf("warned units = %v, %v", units, err)
			}
		})
	}
}

func sorted(v []uint64) []uint64 {
	out := append([]uint64(nil), v...)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func countEntries(t *testing.T, f *fixture) int64 {
	var n int64
	if err := f.core.DB(f.ctx).Model(&Entry{}).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestImportRefusesBadRowsAndStoresNone(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f := newFixture(t, b)
			bad := "单位,文号,标题,级别,发文日期\n" +
				"T01,城发〔2026〕1号,关于开展春季植树的通知,乡镇,2026-03-01\n" +
				"T01,城发〔2026〕2号,关于报送材料的通知,乡镇,2026-02-30\n" + // no such day
				"X99,县发〔2026〕3号,通知,县级,2026/3/5\n" + // unknown unit
				",,,,\n" + // blank: ignored
				"D01,,没有文号,部门,2026年3月6日\n"
			rep, err := f.reg.Import(f.ctx, f.office, ImportParams{Kind: KindDocuments, Data: []byte(bad)})
			if err != nil {
				t.Fatal(err)
			}
			var lines []string
			for _, r := range rep.Refused {
				for k := range r.Fields {
					lines = append(lines, fmt.Sprintf("%d:%s", r.Line, k))
				}
			}
			sort.Strings(lines)
			if want := []string{"3:issued_on", "4:unit", "6:number"}; !reflect.DeepEqual(lines, want) {
				t.Errorf("refused %v, want %v", lines, want)
			}
			if rep.Rows != 4 || rep.Accepted != 1 || rep.Stored != 0 {
				t.Errorf("report rows=%d accepted=%d stored=%d, want 4, 1, 0", rep.Rows, rep.Accepted, rep.Stored)
			}
			if n := countEntries(t, f); n != 0 {
				t.Fatalf("%d entries stored from a file with bad rows, want 0", n)
			}

			// A liaison's file may only hold their own unit's rows.
			rep, err = f.reg.Import(f.ctx, f.liaison, ImportParams{Kind: KindMeetings,
				Data: []byte("unit,title,level,held_on,minutes,video\nT01,镇务会,township,2026-04-01,60,否\nT02,东坝镇会议,township,2026-04-02,60,是\n")})
			if err != nil || len(rep.Refused) != 1 || rep.Refused[0].Line != 3 || rep.Stored != 0 {
				t.Fatalf("liaison import of another unit's row: %+v, %v", rep, err)
			}

			// A good xlsx, with the office system's zh-CN headers and an
			// Excel date cell, is stored whole.
			x := excelize.NewFile()
			rows := [][]any{
				{"备案单位", "名称", "主管单位", "状态", "要求", "备案日期"},
				{"T01", "城关镇工作群", "城关镇党政办", "在用", "打卡、截图", 46023}, // 2026-01-01
				{"T02", "东坝镇App", "东坝镇", "关停", "", "2025-05-01"},
			}
			for i, r := range rows {
				if err := x.SetSheetRow("Sheet1", fmt.Sprintf("A%d", i+1), &r); err != nil {
					t.Fatal(err)
				}
			}
			var buf bytes.Buffer
			if err := x.Write(&buf); err != nil {
				t.Fatal(err)
			}
			preview, err := f.reg.Import(f.ctx, f.office, ImportParams{Kind: KindGroups, Data: buf.Bytes(), DryRun: true})
			if err != nil || preview.Accepted != 2 || preview.Stored != 0 || countEntries(t, f) != 0 {
				t.Fatalf("dry run: %+v, %v", preview, err)
			}
			rep, err = f.reg.Import(f.ctx, f.office, ImportParams{Kind: KindGroups, Data: buf.Bytes()})
			if err != nil || rep.Stored != 2 || len(rep.Refused) != 0 {
				t.Fatalf("xlsx import: %+v, %v", rep, err)
			}
			list, err := f.reg.List(f.ctx, f.office, ListParams{Kind: KindGroups})
			if err != nil || len(list) != 2 {
				t.Fatalf("list: %d, %v", len(list), err)
			}
			got := list[0] // newest first: 2026-01-01
			if got.Title != "城关镇工作群" || got.StartsOn != "2026-01-01" || got.Demands != "checkin,screenshot" || got.UnitCode != "T01" {
				t.Errorf("imported group: %+v", got)
			}
			if closed := list[1]; closed.Status != StatusClosed || closed.EndsOn != "2026-06-15" {
				t.Errorf("closed app without a date is closed today: %+v", closed)
			}

			// Not a spreadsheet at all.
			if _, err := f.reg.Import(f.ctx, f.office, ImportParams{Kind: KindGroups, Data: []byte("\x00\x01binary")}); !errors.Is(err, ErrImportFormat) {
				t.Errorf("binary file: %v, want ErrImportFormat", err)
			}
			// Too many rows: refused before anything is checked.
			big := "title,level,held_on,minutes\n" + strings.Repeat("会,county,2026-01-05,30\n", MaxImportRows+1)
			if _, err := f.reg.Import(f.ctx, f.office, ImportParams{Kind: KindMeetings, Data: []byte(big)}); !errors.Is(err, ErrTooManyRows) {
				t.Errorf("%d rows: %v, want ErrTooManyRows", MaxImportRows+1, err)
			}
		})
	}
}

func TestRegisterPermissionsAndValidation(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f := newFixture(t, b)
			in := EntryInput{Name: "群", Owner: "镇", Demands: []string{DemandCheckin}}
			e, err := f.reg.Create(f.ctx, f.liaison, KindGroups, in)
			if err != nil || e.UnitID != f.units["T01"] {
				t.Fatalf("liaison registers for own unit: %+v, %v", e, err)
			}
			in.Unit = "T02"
			if _, err := f.reg.Create(f.ctx, f.liaison, KindGroups, in); !errors.Is(err, models.ErrForbidden) {
				t.Errorf("liaison for another unit: %v, want ErrForbidden", err)
			}
			if _, err := f.reg.Create(f.ctx, f.leader, KindGroups, in); !errors.Is(err, models.ErrForbidden) {
				t.Errorf("leader registers: %v, want ErrForbidden", err)
			}
			in.Unit = ""
			var ve *models.ValidationError
			if _, err := f.reg.Create(f.ctx, f.office, KindGroups, in); !errors.As(err, &ve) || ve.Fields["unit"] == "" {
				t.Errorf("office without unit: %v", err)
			}
			_, err = f.reg.Create(f.ctx, f.office, KindInspections, EntryInput{Unit: "D01", Title: "检查\u202e", StartOn: "2026-05-02", EndOn: "2026-05-01"})
			if !errors.As(err, &ve) || ve.Fields["title"] == "" || ve.Fields["end_on"] == "" {
				t.Errorf("bad inspection: %v", err)
			}
			// The same text check as a tip's (models.TextProblem): a C1
			// control, a right-to-left mark and broken UTF-8 are refused too.
			for _, bad := range []string{"群\u0085名", "群\u200f名", "群\xff"} {
				_, err = f.reg.Create(f.ctx, f.office, KindGroups, EntryInput{Unit: "D01", Name: bad, Owner: "局"})
				if !errors.As(err, &ve) || ve.Fields["name"] == "" {
					t.Errorf("group named %q: %v, want the name refused", bad, err)
				}
			}
			_, err = f.reg.Create(f.ctx, f.office, KindApps, EntryInput{Unit: "D01", Name: "App", Owner: "局", Demands: []string{"selfie"}})
			if !errors.As(err, &ve) || ve.Fields["demands"] == "" {
				t.Errorf("unknown demand: %v", err)
			}
			if n := countEntries(t, f); n != 1 {
				t.Errorf("%d entries after refused registrations, want 1", n)
			}
			// Closing a group: the liaison of its unit, on a date not before
			// its registration; then it counts as dissolved this year.
			if _, err := f.reg.SetStatus(f.ctx, f.liaison, KindGroups, e.ID, StatusInput{Status: StatusClosed, ClosedOn: "2000-01-01"}); !errors.As(err, &ve) || ve.Fields["closed_on"] == "" {
				t.Errorf("closed before registered: %v", err)
			}
			if _, err := f.reg.SetStatus(f.ctx, f.leader, KindGroups, e.ID, StatusInput{Status: StatusClosed}); !errors.Is(err, models.ErrForbidden) {
				t.Errorf("leader closes: %v", err)
			}
			closed, err := f.reg.SetStatus(f.ctx, f.liaison, KindGroups, e.ID, StatusInput{Status: StatusClosed})
			if err != nil || closed.Status != StatusClosed || closed.EndsOn != "2026-06-15" {
				t.Fatalf("liaison closes own group: %+v, %v", closed, err)
			}
			if fg, _ := f.reg.Figures(f.ctx, 2026); fg.Groups.Closed != 1 || fg.Groups.Existing != 1 {
				t.Errorf("groups after closing: %+v", fg.Groups)
			}
			if ws, _ := f.reg.Warnings(f.ctx, f.office, WarningParams{Rule: RuleForbiddenDemand}); len(ws) != 0 {
				t.Errorf("a closed group still warns: %v", ids(ws))
			}
			other, _ := f.reg.Create(f.ctx, f.office, KindApps, EntryInput{Unit: "T02", Name: "App", Owner: "镇"})
			if _, err := f.reg.SetStatus(f.ctx, f.liaison, KindApps, other.ID, StatusInput{Status: StatusClosed}); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("liaison closes another unit's app: %v", err)
			}
			if err := f.core.DB(f.ctx).Delete(&Entry{}, other.ID).Error; err != nil {
				t.Fatal(err)
			}
			if _, err := f.reg.List(f.ctx, f.office, ListParams{Kind: "posters"}); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("unknown kind: %v", err)
			}
			err = f.reg.ReplaceQuotas(f.ctx, 2026, []QuotaInput{{Kind: KindDocuments, Unit: "T01", Limit: 3}, {Kind: KindApps, Limit: 2}})
			if !errors.As(err, &ve) || ve.Fields["quotas[1].kind"] == "" {
				t.Errorf("quota on apps: %v", err)
			}
			if qs, _ := f.reg.Quotas(f.ctx, 2026); len(qs) != 0 {
				t.Errorf("a refused quota list stored %d quotas", len(qs))
			}
		})
	}
}

// TestMigrationsMatchRegistryModels: the registry's tables have exactly
// the models' columns, NULL where the field is a pointer (the core's
// TestMigrationsMatchModels cannot import this package).
func TestMigrationsMatchRegistryModels(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f := newFixture(t, b)
			db := f.core.DB(f.ctx)
			for _, m := range Models() {
				sch, err := schema.Parse(m, &sync.Map{}, db.NamingStrategy)
				if err != nil {
					t.Fatal(err)
				}
				cols, err := db.Migrator().ColumnTypes(m)
				if err != nil {
					t.Fatal(err)
				}
				have := map[string]bool{}
				var haveNames, wantNames []string
				for _, c := range cols {
					haveNames = append(haveNames, c.Name())
					null, ok := c.Nullable()
					have[c.Name()] = ok && null
				}
				for _, fl := range sch.Fields {
					wantNames = append(wantNames, fl.DBName)
					if wantNull := fl.FieldType.Kind() == reflect.Pointer; have[fl.DBName] != wantNull && !fl.PrimaryKey {
						t.Errorf("%s.%s nullable=%v, want %v", sch.Table, fl.DBName, have[fl.DBName], wantNull)
					}
				}
				sort.Strings(haveNames)
				sort.Strings(wantNames)
				if !reflect.DeepEqual(haveNames, wantNames) {
					t.Errorf("%s columns\n have %v\n want %v", sch.Table, haveNames, wantNames)
				}
			}
		})
	}
}
