package models

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"jianfu/testenv"
)

// The seeded county of the statistics tests. Every figure expected below
// is worked out by hand from this list, with the arithmetic in comments.
// All times are Asia/Shanghai; March, June, September and December 2025
// have no holidays in the dates used, so working days are plain weekdays,
// except C8's feedback stay across New Year 2026 (01-01..01-03 off,
// Sunday 01-04 a make-up workday).
//
//	case  channel  category  township  received          what happened
//	C1    web      M         T1        2025-03-03 (Mon)  accepted 03-04, single → T1, verified 属实 03-10, rectified 03-14, 满意 and closed 03-18
//	C2    phone    M         T1        2025-03-03        accepted 03-04, dual → T1 + D2, 部分属实 + 移送 03-10, D2 overdue 03-20, rectified 03-24, 基本满意 closed 03-26
//	C3    letter   D         T2        2025-03-03        accepted 03-04, dual → T2 + D2, 不属实 03-07, rated 不满意, reopened 03-13, rectified 03-20, closed 不满意 03-31
//	C4    mailbox  I         —         2025-03-03        rejected 03-04
//	C5    web      I         T1        2025-03-03        merged into C1 03-05
//	C6    web      D         T2        2025-12-29        still in collect, due 2025-12-31: overdue now
//	C7    web      M         T2        2025-06-10        accepted 06-11, single → T2, 属实 06-16, T2 overdue since 07-28, still rectifying
//	C8    phone    D         T1        2025-12-01        accepted 12-02, dual → T1 + D1, 属实 12-05, rectified 12-19, reopened 2026-01-05 (across the boundary), rectifying, due 2026-02-16
//	C9    web      M         T1        2024-12-30        closed 2025-01-10 (received the year before: never in 2025's figures)
//	C10   web      I         T2        2026-01-06        in collect, due 2026-01-08: overdue now
//	C11   web      M         T2        2025-09-01        accepted 09-02, single → T2, 不属实 09-05, 基本满意 closed 09-10
//	C12   letter   D         T1        2025-09-01        accepted 09-02, single → T1, 不属实 09-05, closed unrated 09-19
//
// Typical cases published: C9 on 2025-02-10, C1 on 2025-03-20 10:00 and
// C2 on 2025-03-20 15:00 (one batch), C3 on 2026-01-08.
// Units: T1 东城镇, T2 西城镇 (townships); D1 教育局, D2 农业农村局 (county
// departments; D2 has only dual assignments).
// The figures are taken at 2026-01-10 10:00.

// cst parses "2006-01-02 15:04" or "2006-01-02 15:04:05" in Asia/Shanghai.
func cst(t *testing.T, s string) time.Time {
	t.Helper()
	layout := "2006-01-02 15:04"
	if len(s) == len("2006-01-02 15:04:05") {
		layout = "2006-01-02 15:04:05"
	}
	v, err := time.ParseInLocation(layout, s, Shanghai())
	if err != nil {
		t.Fatal(err)
	}
	return v.UTC()
}

type statsSeed struct {
	t      *testing.T
	ctx    context.Context
	s      *Store
	n      int
	units  map[string]uint64
	cats   map[string]uint64
	office uint64
	cases  map[string]uint64
	asg    map[string]uint64 // "C2/D2" → assignment id
}

// caseSpec is one seeded case's final state.
type caseSpec struct {
	name, channel, category, township, received string
	stage, due, closed                          string
	finding, rating, rejectReason, mergedInto   string
	transfer                                    bool
	reopens                                     int
}

func (sd *statsSeed) caseRow(c caseSpec) {
	t := sd.t
	sd.n++
	at := cst(t, c.received)
	tip := Tip{ReceiptHash: fmt.Sprintf("receipt-%d", sd.n), Channel: c.channel, CategoryID: sd.cats[c.category],
		Title: c.name, Content: "seeded case " + c.name, Anonymous: true, CreatedAt: at}
	if c.township != "" {
		id := sd.units[c.township]
		tip.TownshipID = &id
	}
	if err := sd.s.db.Create(&tip).Error; err != nil {
		t.Fatal(err)
	}
	row := Case{TipID: tip.ID, CategoryID: tip.CategoryID, TownshipID: tip.TownshipID, Stage: c.stage,
		StageEnteredAt: at, Finding: c.finding, TransferToDiscipline: c.transfer, RejectReason: c.rejectReason,
		ReopenCount: c.reopens, Rating: c.rating, Suggestions: "[]", VerifyTeam: "[]", CreatedAt: at, UpdatedAt: at}
	if c.due != "" {
		d := cst(t, c.due)
		row.DueAt = &d
	}
	if c.closed != "" {
		d := cst(t, c.closed)
		row.ClosedAt = &d
	}
	if c.mergedInto != "" {
		id := sd.cases[c.mergedInto]
		row.MergedIntoID = &id
	}
	if err := sd.s.db.Create(&row).Error; err != nil {
		t.Fatal(err)
	}
	sd.cases[c.name] = row.ID
}

func (sd *statsSeed) assign(caseName, unit, role, status, due string) {
	a := Assignment{CaseID: sd.cases[caseName], UnitID: sd.units[unit], Role: role, Status: status,
		CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if due != "" {
		d := cst(sd.t, due)
		a.DueAt = &d
	}
	if err := sd.s.db.Create(&a).Error; err != nil {
		sd.t.Fatal(err)
	}
	sd.asg[caseName+"/"+unit] = a.ID
}

// events seeds a case's timeline: each entry is "time kind from>to", with
// "@UNIT" after it for an assignment's event.
func (sd *statsSeed) events(caseName string, entries ...string) {
	for _, e := range entries {
		f := strings.Fields(e)
		at, kind, stages := f[0]+" "+f[1], f[2], strings.Split(f[3], ">")
		ev := Event{CaseID: sd.cases[caseName], At: cst(sd.t, at), Kind: kind, Actor: "seed",
			FromStage: stages[0], ToStage: stages[1], Data: "{}"}
		if len(f) > 4 {
			id := sd.asg[caseName+"/"+strings.TrimPrefix(f[4], "@")]
			ev.AssignmentID = &id
		}
		if err := sd.s.db.Create(&ev).Error; err != nil {
			sd.t.Fatal(err)
		}
	}
}

func (sd *statsSeed) typical(caseName, at string) {
	tc := TypicalCase{CaseID: sd.cases[caseName], Title: "典型问题" + caseName, Summary: "经核查，某单位要求重复填报数据，已整改。",
		PublishedAt: cst(sd.t, at), PublishedBy: sd.office, CreatedAt: cst(sd.t, at), UpdatedAt: cst(sd.t, at)}
	if err := sd.s.db.Create(&tc).Error; err != nil {
		sd.t.Fatal(err)
	}
}

// seedStats builds the county above on a fresh database of backend b.
func seedStats(t *testing.T, b testenv.Backend) *statsSeed {
	t.Helper()
	ctx := context.Background()
	s := openEmpty(t, b)
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	now := cst(t, "2026-01-10 10:00")
	s.SetClock(func() time.Time { return now })
	sd := &statsSeed{t: t, ctx: ctx, s: s, units: map[string]uint64{}, cats: map[string]uint64{},
		cases: map[string]uint64{}, asg: map[string]uint64{}}
	for _, u := range []struct{ key, code, name, kind string }{
		{"T1", "T_EAST", "东城镇", UnitTownship}, {"T2", "T_WEST", "西城镇", UnitTownship},
		{"D1", "D_EDU", "教育局", UnitCounty}, {"D2", "D_AGRI", "农业农村局", UnitCounty},
	} {
		unit, err := s.CreateUnit(ctx, u.code, u.name, u.kind)
		if err != nil {
			t.Fatal(err)
		}
		sd.units[u.key] = unit.ID
	}
	cats, err := s.Categories(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cats {
		switch c.Code {
		case "meetings_documents":
			sd.cats["M"] = c.ID
		case "digital":
			sd.cats["D"] = c.ID
		case "inspections":
			sd.cats["I"] = c.ID
		}
	}
	office, err := s.CreateUser(ctx, UserParams{Username: "office1", Password: "password-1", Role: RoleOffice})
	if err != nil {
		t.Fatal(err)
	}
	sd.office = office.ID

	for _, c := range []caseSpec{
		{name: "C1", channel: "web", category: "M", township: "T1", received: "2025-03-03 09:00", stage: StageClosed,
			closed: "2025-03-18 09:00", finding: FindingSubstantiated, rating: RatingSatisfied},
		{name: "C2", channel: "phone", category: "M", township: "T1", received: "2025-03-03 09:00", stage: StageClosed,
			closed: "2025-03-26 10:00", finding: FindingPartly, transfer: true, rating: RatingBasically},
		{name: "C3", channel: "letter", category: "D", township: "T2", received: "2025-03-03 09:00", stage: StageClosed,
			closed: "2025-03-31 10:00", finding: FindingUnsubstantiated, rating: RatingUnsatisfied, reopens: 1},
		{name: "C4", channel: "mailbox", category: "I", received: "2025-03-03 09:00", stage: StageClosed,
			closed: "2025-03-04 10:00", rejectReason: "不属于为基层减负问题线索受理范围"},
		{name: "C5", channel: "web", category: "I", township: "T1", received: "2025-03-03 09:00", stage: StageClosed,
			closed: "2025-03-05 10:00", mergedInto: "C1"},
		{name: "C6", channel: "web", category: "D", township: "T2", received: "2025-12-29 10:00", stage: StageCollect,
			due: "2025-12-31 23:59:59"},
		{name: "C7", channel: "web", category: "M", township: "T2", received: "2025-06-10 10:00", stage: StageRectify,
			due: "2025-07-28 23:59:59", finding: FindingSubstantiated},
		{name: "C8", channel: "phone", category: "D", township: "T1", received: "2025-12-01 10:00", stage: StageRectify,
			due: "2026-02-16 23:59:59", finding: FindingSubstantiated, reopens: 1},
		{name: "C9", channel: "web", category: "M", township: "T1", received: "2024-12-30 10:00", stage: StageClosed,
			closed: "2025-01-10 10:00", finding: FindingSubstantiated, rating: RatingSatisfied},
		{name: "C10", channel: "web", category: "I", township: "T2", received: "2026-01-06 10:00", stage: StageCollect,
			due: "2026-01-08 23:59:59"},
		{name: "C11", channel: "web", category: "M", township: "T2", received: "2025-09-01 09:00", stage: StageClosed,
			closed: "2025-09-10 10:00", finding: FindingUnsubstantiated, rating: RatingBasically},
		{name: "C12", channel: "letter", category: "D", township: "T1", received: "2025-09-01 09:00", stage: StageClosed,
			closed: "2025-09-19 10:00", finding: FindingUnsubstantiated, rating: RatingNotRated},
	} {
		sd.caseRow(c)
	}
	sd.assign("C1", "T1", AssignGrassroots, AssignmentAccepted, "2025-04-21 23:59:59")
	sd.assign("C2", "T1", AssignGrassroots, AssignmentAccepted, "2025-04-21 23:59:59")
	sd.assign("C2", "D2", AssignCounty, AssignmentAccepted, "2025-03-19 23:59:59")
	sd.assign("C3", "T2", AssignGrassroots, AssignmentAccepted, "2025-04-24 23:59:59")
	sd.assign("C3", "D2", AssignCounty, AssignmentAccepted, "2025-04-24 23:59:59")
	sd.assign("C7", "T2", AssignGrassroots, AssignmentPending, "2025-07-28 23:59:59")
	sd.assign("C8", "T1", AssignGrassroots, AssignmentPending, "2026-02-16 23:59:59")
	sd.assign("C8", "D1", AssignCounty, AssignmentPending, "2026-02-16 23:59:59")
	sd.assign("C9", "T1", AssignGrassroots, AssignmentAccepted, "2025-02-14 23:59:59")
	sd.assign("C11", "T2", AssignGrassroots, AssignmentNotRequired, "")
	sd.assign("C12", "T1", AssignGrassroots, AssignmentNotRequired, "")

	sd.events("C1", "2025-03-03 09:00 submitted >collect", "2025-03-04 10:00 accepted collect>assign",
		"2025-03-05 10:00 dispatched assign>verify", "2025-03-10 10:00 verified verify>rectify",
		"2025-03-14 10:00 rectification_accepted rectify>rectify @T1",
		"2025-03-14 10:00 rectified rectify>feedback", "2025-03-17 10:00 replied feedback>feedback",
		"2025-03-18 09:00 rated feedback>feedback", "2025-03-18 09:00 closed feedback>closed")
	sd.events("C2", "2025-03-03 09:00 submitted >collect", "2025-03-04 10:00 accepted collect>assign",
		"2025-03-05 10:00 dispatched assign>verify", "2025-03-10 10:00 verified verify>rectify",
		"2025-03-10 10:00 transferred_to_discipline rectify>rectify",
		"2025-03-20 00:00 overdue rectify>rectify @D2", "2025-03-24 10:00 rectified rectify>feedback",
		"2025-03-26 10:00 closed feedback>closed")
	sd.events("C3", "2025-03-03 09:00 submitted >collect", "2025-03-04 10:00 accepted collect>assign",
		"2025-03-05 10:00 dispatched assign>verify", "2025-03-07 10:00 verified verify>feedback",
		"2025-03-10 10:00 replied feedback>feedback", "2025-03-12 10:00 rated feedback>feedback",
		"2025-03-13 10:00 reopened feedback>rectify", "2025-03-20 10:00 rectified rectify>feedback",
		"2025-03-31 10:00 closed feedback>closed")
	sd.events("C4", "2025-03-03 09:00 submitted >collect", "2025-03-04 10:00 rejected collect>closed")
	sd.events("C5", "2025-03-03 09:00 submitted >collect", "2025-03-05 10:00 merged collect>closed")
	sd.events("C6", "2025-12-29 10:00 submitted >collect", "2025-12-31 23:59:59 overdue collect>collect")
	sd.events("C7", "2025-06-10 10:00 submitted >collect", "2025-06-11 10:00 accepted collect>assign",
		"2025-06-12 10:00 dispatched assign>verify", "2025-06-16 10:00 verified verify>rectify",
		"2025-07-29 00:00 overdue rectify>rectify @T2")
	sd.events("C8", "2025-12-01 10:00 submitted >collect", "2025-12-02 10:00 accepted collect>assign",
		"2025-12-03 10:00 dispatched assign>verify", "2025-12-05 10:00 verified verify>rectify",
		"2025-12-19 10:00 rectified rectify>feedback", "2025-12-22 10:00 replied feedback>feedback",
		"2025-12-24 10:00 rated feedback>feedback", "2026-01-05 10:00 reopened feedback>rectify")
	sd.events("C9", "2024-12-30 10:00 submitted >collect", "2024-12-31 10:00 accepted collect>assign",
		"2025-01-02 10:00 dispatched assign>verify", "2025-01-03 10:00 verified verify>rectify",
		"2025-01-08 10:00 rectified rectify>feedback", "2025-01-10 10:00 closed feedback>closed")
	sd.events("C10", "2026-01-06 10:00 submitted >collect", "2026-01-08 23:59:59 overdue collect>collect")
	sd.events("C11", "2025-09-01 09:00 submitted >collect", "2025-09-02 10:00 accepted collect>assign",
		"2025-09-03 10:00 dispatched assign>verify", "2025-09-05 10:00 verified verify>feedback",
		"2025-09-10 10:00 closed feedback>closed")
	sd.events("C12", "2025-09-01 09:00 submitted >collect", "2025-09-02 10:00 accepted collect>assign",
		"2025-09-03 10:00 dispatched assign>verify", "2025-09-05 10:00 verified verify>feedback",
		"2025-09-19 10:00 closed feedback>closed")

	sd.typical("C9", "2025-02-10 10:00")
	sd.typical("C1", "2025-03-20 10:00")
	sd.typical("C2", "2025-03-20 15:00")
	sd.typical("C3", "2026-01-08 10:00")
	// The rows above were written directly, not through the workflow:
	// build their rollups as an upgraded database would.
	if _, err := sd.s.BackfillReadModels(sd.ctx, nil); err != nil {
		t.Fatal(err)
	}
	return sd
}

// want is a row's expected figures: counts by JSON id, rates as
// "num/den", and stage averages as "total/count".
type want map[string]string

func checkRow(t *testing.T, what string, r StatsRow, w want) {
	t.Helper()
	got := map[string]string{
		"received": fmt.Sprint(r.Received), "received_web": fmt.Sprint(r.ReceivedWeb),
		"received_phone": fmt.Sprint(r.ReceivedPhone), "received_letter": fmt.Sprint(r.ReceivedLetter),
		"received_mailbox": fmt.Sprint(r.ReceivedMailbox), "screening": fmt.Sprint(r.Screening),
		"accepted": fmt.Sprint(r.Accepted), "rejected": fmt.Sprint(r.Rejected), "merged": fmt.Sprint(r.Merged),
		"dual_assigned": fmt.Sprint(r.DualAssigned), "substantiated": fmt.Sprint(r.Substantiated),
		"partly": fmt.Sprint(r.Partly), "unsubstantiated": fmt.Sprint(r.Unsubstantiated),
		"transferred": fmt.Sprint(r.Transferred), "closed": fmt.Sprint(r.Closed),
		"closed_on_time": fmt.Sprint(r.ClosedOnTime), "open": fmt.Sprint(r.Open), "overdue": fmt.Sprint(r.Overdue),
		"reopened": fmt.Sprint(r.Reopened), "rated": fmt.Sprint(r.Rated), "satisfied": fmt.Sprint(r.Satisfied),
		"basically_satisfied": fmt.Sprint(r.BasicallySatisfied), "unsatisfied": fmt.Sprint(r.Unsatisfied),
		"unrated": fmt.Sprint(r.Unrated),
	}
	rates := map[string]Rate{"closure_rate": r.ClosureRate, "on_time_rate": r.OnTimeRate,
		"overdue_rate": r.OverdueRate, "satisfaction_rate": r.SatisfactionRate}
	for id, rt := range rates {
		got[id] = fmt.Sprintf("%d/%d=%s", rt.Numerator, rt.Denominator, rt.Text())
	}
	for stage, a := range r.StageDays {
		got["days_"+stage] = fmt.Sprintf("%d/%d=%s", a.Total, a.Count, a.Text())
	}
	if r.AsGrassroots != nil {
		got["as_grassroots"], got["as_county"] = fmt.Sprint(*r.AsGrassroots), fmt.Sprint(*r.AsCounty)
	}
	for id, v := range w {
		if got[id] != v {
			t.Errorf("%s: %s = %s, want %s", what, id, got[id], v)
		}
	}
}

func findRow(t *testing.T, rows []StatsRow, key string) StatsRow {
	t.Helper()
	for _, r := range rows {
		if r.Key == key {
			return r
		}
	}
	t.Fatalf("no row %q in %d rows", key, len(rows))
	return StatsRow{}
}

func TestStatsFigures(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			sd := seedStats(t, b)
			from, to := YearPeriod(2025)
			st, err := sd.s.Stats(sd.ctx, StatsParams{From: from, To: to})
			if err != nil {
				t.Fatal(err)
			}
			// 2025's cohort: C1–C8, C11, C12 (C9 was received in 2024, C10 in 2026).
			checkRow(t, "2025 totals", st.Totals, want{
				"received":            "10", // C1 C2 C3 C4 C5 C6 C7 C8 C11 C12
				"received_web":        "5",  // C1 C5 C6 C7 C11
				"received_phone":      "2",  // C2 C8
				"received_letter":     "2",  // C3 C12
				"received_mailbox":    "1",  // C4
				"screening":           "1",  // C6
				"accepted":            "7",  // C1 C2 C3 C7 C8 C11 C12; 1 + 7 + 1 + 1 = 10 received
				"rejected":            "1",  // C4
				"merged":              "1",  // C5
				"dual_assigned":       "3",  // C2 C3 C8
				"substantiated":       "3",  // C1 C7 C8
				"partly":              "1",  // C2
				"unsubstantiated":     "3",  // C3 C11 C12
				"transferred":         "1",  // C2
				"closed":              "5",  // C1 C2 C3 C11 C12 (C4, C5 are closed but not accepted)
				"closure_rate":        "5/7=71.4%",
				"closed_on_time":      "4", // C1 C3 C11 C12 (C2 had an overdue assignment)
				"on_time_rate":        "4/5=80.0%",
				"open":                "3", // C6 C7 C8
				"overdue":             "2", // C6 (due 2025-12-31), C7 (due 2025-07-28); C8 is due 2026-02-16
				"overdue_rate":        "2/3=66.7%",
				"reopened":            "2", // C3, and C8 although it was reopened on 2026-01-05
				"rated":               "4", // C1 满意, C2 基本满意, C3 不满意, C11 基本满意
				"satisfied":           "1",
				"basically_satisfied": "2",
				"unsatisfied":         "1",
				"satisfaction_rate":   "3/4=75.0%", // (1 + 2) / 4
				"unrated":             "1",         // C12; 4 rated + 1 unrated = 5 closed
				// collect stays: C1 1 (03-03→03-04), C2 1, C3 1, C4 1, C5 2 (→03-05), C7 1, C8 1, C11 1, C12 1;
				// C6 is still in collect. 10 / 9 = 1.11 → 1.1
				"days_collect": "10/9=1.1",
				// assign: C1 C2 C3 C7 C8 C11 C12 one day each: 7 / 7
				"days_assign": "7/7=1.0",
				// verify: C1 3 (03-05→03-10: 6,7,10), C2 3, C3 2 (→03-07), C7 2 (06-12→06-16: 13,16),
				// C8 2 (12-03→12-05), C11 2, C12 2 = 16; 16 / 7 = 2.29 → 2.3
				"days_verify": "16/7=2.3",
				// rectify: C1 4 (03-10→03-14), C2 10 (03-10→03-24), C3 5 (03-13→03-20: 14,17,18,19,20),
				// C8 10 (12-05→12-19); C7 and C8's second stay are not over. 29 / 4 = 7.25 → 7.3 (half up)
				"days_rectify": "29/4=7.3",
				// feedback: C1 2 (03-14→03-18), C2 2 (03-24→03-26), C3 4 (03-07→03-13) and 7 (03-20→03-31:
				// 21,24,25,26,27,28,31), C8 10 (12-19→2026-01-05: Dec 22–26, 29–31 = 8, Jan 1–3 off,
				// Sun Jan 4 make-up workday, Jan 5 = 2), C11 3 (09-05→09-10), C12 10 (09-05→09-19).
				// 2+2+4+7+10+3+10 = 38; 38 / 7 = 5.43 → 5.4
				"days_feedback": "38/7=5.4",
				// receipt to closing of closed accepted cases: C1 11, C2 17, C3 20, C11 7, C12 14 = 69; 69 / 5 = 13.8
				"days_total": "69/5=13.8",
			})
			// Typical cases published in 2025: C9 (02-10; received in 2024, but publication counts
			// by its own date), C1 and C2 (both 03-20: one batch). C3's is 2026-01-08.
			if len(st.Typical) != 3 || st.TypicalBatches != 2 {
				t.Errorf("typical = %d in %d batches, want 3 in 2", len(st.Typical), st.TypicalBatches)
			}

			checkRow(t, "channel web", findRow(t, st.ByChannel, "web"), want{
				"received": "5", "accepted": "3", "merged": "1", "screening": "1", // C1 C7 C11 accepted; C5 merged; C6
				"closed": "2", "closure_rate": "2/3=66.7%", // C1 C11
				"open": "2", "overdue": "2", "overdue_rate": "2/2=100.0%", // C6 C7
			})
			checkRow(t, "channel mailbox", findRow(t, st.ByChannel, "mailbox"), want{
				"received": "1", "rejected": "1", "accepted": "0", "closure_rate": "0/0=—", // C4
			})

			// Categories: M = C1 C2 C7 C11; D = C3 C6 C8 C12; I = C4 C5.
			checkRow(t, "category M", findRow(t, st.ByCategory, "meetings_documents"), want{
				"received": "4", "accepted": "4", "closed": "3", "closure_rate": "3/4=75.0%", // C1 C2 C11
				"closed_on_time": "2", "on_time_rate": "2/3=66.7%", // C1 C11
				"open": "1", "overdue": "1", "overdue_rate": "1/1=100.0%", // C7
				"satisfaction_rate": "3/3=100.0%", // 满意 C1, 基本满意 C2 C11
			})
			checkRow(t, "category D", findRow(t, st.ByCategory, "digital"), want{
				"received": "4", "screening": "1", "accepted": "3", "dual_assigned": "2", // C3 C8
				"closed": "2", "closure_rate": "2/3=66.7%", "on_time_rate": "2/2=100.0%", // C3 C12
				"open": "2", "overdue": "1", "overdue_rate": "1/2=50.0%", // C6 C8; C6 overdue
				"rated": "1", "unsatisfied": "1", "satisfaction_rate": "0/1=0.0%", "unrated": "1", // C3; C12
				"reopened": "2", // C3 C8
			})
			checkRow(t, "category I", findRow(t, st.ByCategory, "inspections"), want{
				"received": "2", "rejected": "1", "merged": "1", "accepted": "0",
				"closure_rate": "0/0=—", "on_time_rate": "0/0=—", "overdue_rate": "0/0=—", "satisfaction_rate": "0/0=—",
				"days_collect": "3/2=1.5", // C4 1, C5 2
				"days_assign":  "0/0=—",
			})
			if r := findRow(t, st.ByCategory, "vanity_projects"); r.Received != 0 || r.ClosureRate.Percent != nil {
				t.Errorf("a category without tips: %+v", r)
			}

			// Townships: T1 = C1 C2 C5 C8 C12; T2 = C3 C6 C7 C11; none = C4.
			checkRow(t, "township t_east", findRow(t, st.ByTownship, "T_EAST"), want{"received": "5", "merged": "1", "closed": "3"})
			checkRow(t, "township t_west", findRow(t, st.ByTownship, "T_WEST"), want{"received": "4", "closed": "2", "overdue": "2"})
			checkRow(t, "no township", findRow(t, st.ByTownship, ""), want{"received": "1", "rejected": "1"})
			if n := len(st.ByTownship); n != 3 || st.ByTownship[2].Key != "" {
				t.Errorf("township rows: %d, the one without township last: %+v", n, st.ByTownship)
			}

			// Units. T1: C1 (single), C2 (dual), C8 (dual), C12 (single); C9 is 2024's.
			checkRow(t, "unit t_east", findRow(t, st.ByUnit, "T_EAST"), want{
				"received": "4", "as_grassroots": "4", "as_county": "0", "accepted": "4", "dual_assigned": "2",
				"closed": "3", "closure_rate": "3/4=75.0%", // C1 C2 C12
				"closed_on_time": "3", "on_time_rate": "3/3=100.0%", // C2's overdue was D2's assignment, not T1's
				"open": "1", "overdue": "0", "overdue_rate": "0/1=0.0%", // C8, due 2026-02-16
				"reopened": "1",
				// collect: C1 1, C2 1, C8 1, C12 1 = 4 / 4
				"days_collect": "4/4=1.0",
				// total: C1 11, C2 17, C12 14 = 42; 42 / 3 = 14.0
				"days_total": "42/3=14.0",
			})
			// T2: C3 (dual), C7 (single, overdue), C11 (single).
			checkRow(t, "unit t_west", findRow(t, st.ByUnit, "T_WEST"), want{
				"received": "3", "as_grassroots": "3", "dual_assigned": "1", "closed": "2", "closure_rate": "2/3=66.7%",
				"on_time_rate": "2/2=100.0%", "open": "1", "overdue": "1", "overdue_rate": "1/1=100.0%",
			})
			// D1: only C8 (dual, still rectifying, not yet due).
			checkRow(t, "unit d_edu", findRow(t, st.ByUnit, "D_EDU"), want{
				"received": "1", "as_county": "1", "as_grassroots": "0", "dual_assigned": "1", "closed": "0",
				"closure_rate": "0/1=0.0%", "on_time_rate": "0/0=—", "overdue_rate": "0/1=0.0%",
			})
			// D2 has only dual assignments: C2 and C3.
			checkRow(t, "unit d_agri", findRow(t, st.ByUnit, "D_AGRI"), want{
				"received": "2", "as_county": "2", "accepted": "2", "dual_assigned": "2",
				"partly": "1", "unsubstantiated": "1", "transferred": "1",
				"closed": "2", "closure_rate": "2/2=100.0%",
				"closed_on_time": "1", "on_time_rate": "1/2=50.0%", // its C2 assignment went overdue
				"open": "0", "overdue_rate": "0/0=—",
				"rated": "2", "satisfaction_rate": "1/2=50.0%", // C2 基本满意, C3 不满意
				"reopened": "1",
			})
			if len(st.ByUnit) != 4 {
				t.Errorf("unit rows = %d, want 4", len(st.ByUnit))
			}

			// The export tables say the same.
			sum, _ := st.Table("summary")
			cells := map[string]string{}
			for _, r := range sum.Rows {
				cells[r[1].String()] = r[2].String() + " " + r[4].String() + "/" + r[5].String()
			}
			for id, v := range map[string]string{"received": "10 /", "closure_rate": "71.4 5/7", "on_time_rate": "80.0 4/5",
				"satisfaction_rate": "75.0 3/4", "days_rectify": "7.3 29/4", "typical_published": "3 /", "typical_batches": "2 /"} {
				if cells[id] != v {
					t.Errorf("summary %s = %q, want %q", id, cells[id], v)
				}
			}
		})
	}
}

// TestStatsUnitFilter limits the figures to one unit with only dual
// assignments.
func TestStatsUnitFilter(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			sd := seedStats(t, b)
			from, to := YearPeriod(2025)
			st, err := sd.s.Stats(sd.ctx, StatsParams{From: from, To: to, UnitCode: "D_AGRI"})
			if err != nil {
				t.Fatal(err)
			}
			// D2's cases: C2 and C3. Case-level figures: C2's overdue assignment makes it late.
			checkRow(t, "d_agri totals", st.Totals, want{
				"received": "2", "received_phone": "1", "received_letter": "1", "accepted": "2", "dual_assigned": "2",
				"closed": "2", "closure_rate": "2/2=100.0%", "closed_on_time": "1", "on_time_rate": "1/2=50.0%",
				"open": "0", "overdue_rate": "0/0=—", "reopened": "1",
				// C2: 1+1+3+10+2 = 17, C3: 20 → 37 / 2 = 18.5
				"days_total": "37/2=18.5",
			})
			if len(st.ByUnit) != 1 || st.ByUnit[0].Key != "D_AGRI" {
				t.Errorf("by unit = %+v, want only d_agri", st.ByUnit)
			}
			// Of 2025's typical cases only C2 is D2's.
			if len(st.Typical) != 1 || st.TypicalBatches != 1 {
				t.Errorf("typical = %d in %d batches, want 1 in 1", len(st.Typical), st.TypicalBatches)
			}
			if _, err := sd.s.Stats(sd.ctx, StatsParams{From: from, To: to, UnitCode: "nope"}); err == nil {
				t.Error("an unknown unit was accepted")
			}
		})
	}
}

// TestStatsEdgePeriods: an empty period has no rates (not NaN, not 0%),
// and a case reopened after its period ends counts where it was received.
func TestStatsEdgePeriods(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			sd := seedStats(t, b)
			from, to, err := PeriodOfDates("2024-06-01", "2024-06-30")
			if err != nil {
				t.Fatal(err)
			}
			st, err := sd.s.Stats(sd.ctx, StatsParams{From: from, To: to})
			if err != nil {
				t.Fatal(err)
			}
			checkRow(t, "empty period", st.Totals, want{"received": "0", "closure_rate": "0/0=—", "on_time_rate": "0/0=—",
				"overdue_rate": "0/0=—", "satisfaction_rate": "0/0=—", "days_total": "0/0=—"})
			if st.Totals.ClosureRate.Percent != nil || len(st.ByUnit) != 0 || len(st.Typical) != 0 {
				t.Errorf("empty period: %+v", st.Totals)
			}
			report := strings.Join(st.ReportParagraphs(), "\n")
			for _, bad := range []string{"NaN", "0.0%", "Inf"} {
				if strings.Contains(report, bad) {
					t.Errorf("empty period report contains %q:\n%s", bad, report)
				}
			}
			if !strings.Contains(report, "共收到并核查处理相关线索0条，办结率—。") {
				t.Errorf("empty period report:\n%s", report)
			}
			for _, tb := range st.Tables() {
				for _, row := range tb.Rows {
					for _, c := range row {
						if strings.Contains(c.String(), "NaN") {
							t.Errorf("table %s has NaN", tb.ID)
						}
					}
				}
			}

			// 2026 so far: only C10. C8, reopened on 2026-01-05, belongs to 2025.
			from, to, err = PeriodOfDates("2026-01-01", "2026-01-10")
			if err != nil {
				t.Fatal(err)
			}
			st, err = sd.s.Stats(sd.ctx, StatsParams{From: from, To: to})
			if err != nil {
				t.Fatal(err)
			}
			checkRow(t, "2026", st.Totals, want{"received": "1", "screening": "1", "accepted": "0", "reopened": "0",
				"closure_rate": "0/0=—", "open": "1", "overdue": "1", "overdue_rate": "1/1=100.0%",
				"days_collect": "0/0=—"})
			if len(st.Typical) != 1 || st.Typical[0].CaseID != sd.cases["C3"] {
				t.Errorf("2026 typical = %+v, want C3's", st.Typical)
			}
			// The day boundary is Beijing time: C6 arrived 2025-12-29 10:00 CST.
			from, to, _ = PeriodOfDates("2025-12-29", "2025-12-29")
			st, err = sd.s.Stats(sd.ctx, StatsParams{From: from, To: to})
			if err != nil || st.Totals.Received != 1 {
				t.Errorf("2025-12-29: received %d, %v; want 1", st.Totals.Received, err)
			}
			if _, _, err := PeriodOfDates("2025-02-01", "2025-01-01"); err == nil {
				t.Error("a period ending before it starts was accepted")
			}
		})
	}
}

func TestStatsReportParagraphs(t *testing.T) {
	sd := seedStats(t, testenv.Backends(t)[0])
	from, to := YearPeriod(2025)
	st, err := sd.s.Stats(sd.ctx, StatsParams{From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(st.ReportParagraphs(), "\n")
	for _, want := range []string{
		"年内，共收到并核查处理相关线索10条，办结率71.4%。",
		"来自网络平台5条、电话2条、来信2条、举报信箱1条；受理7条，不予受理1条，合并办理1条，待受理1条",
		"实行“双交办、双整改”3条",
		"属实3条、部分属实1条、不属实3条，移送审查调查1条",
		"已办结5条，其中按时办结4条，按时办结率80.0%",
		"重新整改2条。目前在办3条，其中逾期2条，逾期率66.7%",
		"满意1条、基本满意2条、不满意1条，满意率75.0%；未评价1条",
		"督促整改7.3",
		"年内已通报2批3个典型问题。",
		"办理情况统计至2026年1月10日 10:00",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q:\n%s", want, text)
		}
	}
	if st.ReportTitle() != "2025年度为基层减负问题线索办理情况" {
		t.Errorf("title %q", st.ReportTitle())
	}
}

func TestTypicalPublish(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			sd := seedStats(t, b)
			ctx := sd.ctx
			office := Principal{UserID: sd.office, Username: "office1", Role: RoleOffice}
			leader := Principal{UserID: sd.office, Username: "leader", Role: RoleLeader}
			summary := "某部门要求乡镇每日在三个系统重复填报同一组数据，经核查属实，已责令整合系统、停止重复填报。"
			in := TypicalParams{CaseID: sd.cases["C11"], Title: "重复填报数据问题", Summary: summary}
			if _, _, err := sd.s.PublishTypical(ctx, leader, in); !errors.Is(err, ErrForbidden) {
				t.Errorf("leader publishes: %v, want ErrForbidden", err)
			}
			for name, c := range map[string]string{"open": "C7", "rejected": "C4", "merged": "C5"} {
				in := in
				in.CaseID = sd.cases[c]
				if _, _, err := sd.s.PublishTypical(ctx, office, in); !errors.Is(err, ErrWrongStage) {
					t.Errorf("%s case: %v, want ErrWrongStage", name, err)
				}
			}
			var ve *ValidationError
			bad := in
			bad.Summary = summary + "联系电话13812345678。"
			if _, _, err := sd.s.PublishTypical(ctx, office, bad); !errors.As(err, &ve) || ve.Fields["summary"] == "" {
				t.Errorf("a phone number in the summary: %v", err)
			}
			bad.Summary = "太短"
			if _, _, err := sd.s.PublishTypical(ctx, office, bad); !errors.As(err, &ve) {
				t.Errorf("short summary: %v", err)
			}
			tc, created, err := sd.s.PublishTypical(ctx, office, in)
			if err != nil || !created {
				t.Fatalf("publish: %v, created %v", err, created)
			}
			in.Title = "重复填报数据问题（修订）"
			tc2, created, err := sd.s.PublishTypical(ctx, office, in)
			if err != nil || created || tc2.ID != tc.ID || !tc2.PublishedAt.Equal(tc.PublishedAt) {
				t.Fatalf("revise: %+v created=%v %v", tc2, created, err)
			}
			list, next, err := sd.s.TypicalCases(ctx, TypicalListParams{Limit: 2})
			if err != nil || len(list) != 2 || next == 0 || list[0].Title != in.Title || list[0].CategoryCode != "meetings_documents" {
				t.Fatalf("list: %+v next %d %v", list, next, err)
			}
			rest, next2, err := sd.s.TypicalCases(ctx, TypicalListParams{Before: next, Limit: 10})
			if err != nil || len(rest) != 3 || next2 != 0 {
				t.Fatalf("second page: %d items, next %d, %v", len(rest), next2, err)
			}
			evs, _ := sd.s.Events(ctx, sd.cases["C11"])
			if k := evs[len(evs)-1]; k.Kind != EventTypicalPublished || k.Public {
				t.Errorf("last event %s public=%v", k.Kind, k.Public)
			}
			// Published now (2026-01-10): it counts in 2026, not in 2025.
			from, to := YearPeriod(2026)
			st, err := sd.s.Stats(ctx, StatsParams{From: from, To: to})
			if err != nil || len(st.Typical) != 2 || st.TypicalBatches != 2 {
				t.Errorf("2026 typical after publishing: %d in %d batches, %v; want 2 in 2", len(st.Typical), st.TypicalBatches, err)
			}
		})
	}
}

// TestStatsDocs: docs/statistics.md carries every figure's definition
// word for word, as the export's last sheet does.
func TestStatsDocs(t *testing.T) {
	b, err := os.ReadFile("../docs/statistics.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, f := range Figures {
		if line := fmt.Sprintf("| `%s` | %s | %s |", f.ID, f.Name, f.Definition); !strings.Contains(doc, line) {
			t.Errorf("docs/statistics.md lacks the line\n%s", line)
		}
	}
	ids := map[string]bool{}
	for _, f := range Figures {
		if ids[f.ID] {
			t.Errorf("figure %s defined twice", f.ID)
		}
		ids[f.ID] = true
	}
}

// TestStatsQueryPlans: on SQLite (whose plans do not depend on table
// statistics) every statistics query reaches the period's cases through
// the index on created_at and everything else through indexes: no table
// is scanned whole.
func TestStatsQueryPlans(t *testing.T) {
	sd := seedStats(t, testenv.Backends(t)[0])
	from, to := YearPeriod(2025)
	args := map[string]any{"from": from, "to": to, "now": sd.s.clock(), "yes": true, "unit": uint64(1)}
	for name, q := range map[string]string{
		"cells": cellsQuery(cohort), "cells of a unit": cellsQuery(cohort + cohortUnit),
		"units": unitCellsQuery(cohort), "stage changes": stageChangesQuery(cohort),
	} {
		var plan []struct{ Detail string }
		if err := sd.s.db.Raw("EXPLAIN QUERY PLAN "+q, args).Scan(&plan).Error; err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, p := range plan {
			lines = append(lines, p.Detail)
		}
		text := strings.Join(lines, "\n")
		if !strings.Contains(text, "USING INDEX ix_cases_created") || strings.Contains(text, "SCAN ") {
			t.Errorf("%s: plan\n%s", name, text)
		}
	}
}
