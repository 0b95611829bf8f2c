package api_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"jianfu/apptest"
	"jianfu/models"
	"jianfu/models/evaluation"
	"jianfu/models/registry"
	"jianfu/testenv"
)

// TestConsoleScreenshots writes the console's screenshots for the README
// (make screenshots: JIANFU_SCREENSHOTS=docs/screenshots): the login, the
// office's queue (desktop and tablet), a dual-assigned case and the
// leaders' dashboard, over a year of realistic cases on a fixed clock, so
// the pictures do not change from run to run. Skipped without the
// variable.
func TestConsoleScreenshots(t *testing.T) {
	dir := os.Getenv("JIANFU_SCREENSHOTS")
	if dir == "" {
		t.Skip("set JIANFU_SCREENSHOTS=dir to save screenshots of the console")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	app := startConsoleApp(t, testenv.Backends(t)[0], apptest.Options{NoWorker: true})
	showcase := seedCounty(t, app)

	shoot := func(name string, w, h int, user, path string, wait chromedp.Action[chromedp.Void]) {
		t.Helper()
		ctx := testenv.Browser(t, testenv.BrowserOptions{Width: w, Height: h})
		if user != "" {
			browserLogin(t, ctx, app, user)
		}
		if err := chromedp.Do(ctx, chromedp.Navigate(app.URL+path), wait); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// 码上评议: a township's poster as printed (A4 at 96 dpi, print
	// styles), and the rating and survey pages on a phone.
	ev := evaluation.New(app.Store)
	sv, err := ev.CreateSurvey(t.Context(), surveyDefinition)
	if err != nil {
		t.Fatal(err)
	}
	codes, err := ev.IssueCodes(t.Context(), sv.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	printed := func(id string) chromedp.Action[chromedp.Void] {
		return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			if _, err := chromedp.WaitVisible(chromedp.ID(id))(ctx, tg); err != nil {
				return chromedp.Void{}, err
			}
			_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"})
			return chromedp.Void{}, err
		}
	}
	shoot("poster-a4", 794, 1123, "", "/posters/T02", printed("poster-T02"))
	shoot("rate-phone", 375, 812, "", "/rate/T02", chromedp.WaitVisible(chromedp.ID("rate-submit")))
	shoot("survey-phone", 375, 812, "", "/survey?code="+codes[0], chromedp.WaitVisible(chromedp.ID("survey-submit")))

	shoot("console-login", 1366, 768, "", "/console/login", chromedp.WaitVisible(chromedp.ID("login-form")))
	shoot("console-queue", 1366, 768, "office1", "/console/cases", chromedp.WaitVisible(chromedp.ID("queue")))
	shoot("console-queue-tablet", 768, 1024, "office1", "/console/cases", chromedp.WaitVisible(chromedp.ID("queue")))
	shoot("console-case-dual", 1366, 768, "office1", "/console/cases/"+itoa(showcase), chromedp.WaitVisible(chromedp.ID("assignments")))
	shoot("console-case-liaison", 1366, 768, "liaison_t02", "/console/cases/"+itoa(showcase), chromedp.WaitVisible(chromedp.ID("assignments")))
	shoot("console-dashboard", 1366, 768, "leader1", "/console/dashboard", chromedp.WaitVisible(chromedp.ID("trend")))
}

// seedCounty fills the demo county with a year of cases in every stage,
// on a clock fixed at 2026-11-27 10:30 (Asia/Shanghai), and returns a case
// in 督促整改 with a dual assignment: the township has reported with
// evidence, the county department is overdue.
func seedCounty(t *testing.T, app *apptest.App) uint64 {
	t.Helper()
	ctx := t.Context()
	st := app.Store
	clock := time.Date(2026, 11, 27, 10, 30, 0, 0, models.Shanghai())
	at := func(s string) {
		tm, err := time.ParseInLocation("2006-01-02 15:04", s, models.Shanghai())
		if err != nil {
			t.Fatal(err)
		}
		clock = tm
	}
	st.SetClock(func() time.Time { return clock })
	office := principalOf(t, app, "office1")
	t02 := principalOf(t, app, "liaison_t02")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	receipts := map[uint64]string{}
	tip := func(when, cat, town, title, content string) uint64 {
		t.Helper()
		at(when)
		rec, err := st.CreateTip(ctx, models.TipInput{Category: cat, Township: town, Title: title, Content: content,
			Channel: models.ChannelWeb, Anonymous: true})
		must(err)
		receipts[rec.CaseID] = rec.Receipt
		return rec.CaseID
	}
	dispatch := func(when string, id uint64, units ...string) {
		t.Helper()
		at(when)
		must(st.AcceptCase(ctx, office, models.AcceptParams{CaseID: id}))
		var in []models.AssignmentInput
		for _, u := range units {
			role := models.AssignCounty
			if u[0] == 'T' {
				role = models.AssignGrassroots
			}
			in = append(in, models.AssignmentInput{Unit: u, Role: role})
		}
		must(st.AssignCase(ctx, office, models.AssignParams{CaseID: id, Assignments: in}))
	}
	verify := func(when string, id uint64, finding string) {
		t.Helper()
		at(when)
		must(st.RecordVerification(ctx, office, models.VerificationParams{CaseID: id, Finding: finding,
			Report: "联合核查组调阅了相关通知和工作群记录，并与乡镇干部座谈。"}))
	}
	rectifyAll := func(when string, id uint64) {
		t.Helper()
		at(when)
		d, err := st.CaseDetail(ctx, office, id)
		must(err)
		for _, a := range d.Assignments {
			_, err := st.SubmitRectification(ctx, office, models.RectificationParams{AssignmentID: a.ID,
				Report: "已清理合并相关要求，建立长效机制。"})
			must(err)
			_, err = st.ReviewRectification(ctx, office, models.ReviewParams{AssignmentID: a.ID, Decision: models.DecisionAccept})
			must(err)
		}
	}
	closeCase := func(when string, id uint64, rating string) {
		t.Helper()
		at(when)
		must(st.ReplyToTipster(ctx, office, models.ReplyParams{CaseID: id, Text: "经核查，您反映的问题已整改到位，感谢您的监督。"}))
		if rating != "" {
			must(st.EvaluateTip(ctx, receipts[id], rating, ""))
			return
		}
		must(st.CloseCase(ctx, office, models.CloseParams{CaseID: id}))
	}

	// Closed over the year: the trend and the rates.
	closed := []struct{ when, cat, town, title, content string }{
		{"2025-12-08 09:10", "meetings_documents", "T01", "年底总结会议扎堆", "年底一周内要参加县里各部门5个总结会，内容大同小异，乡镇主要领导每次都要到场。"},
		{"2026-01-12 10:20", "digital", "T04", "政务App重复打卡", "要求在3个不同的政务App上每天打卡，数据互不相通。"},
		{"2026-02-26 15:00", "paper_trail", "T06", "走访要求拍照留痕", "入户走访要求每户拍3张照片上传系统，还要手写走访记录本。"},
		{"2026-03-09 11:30", "inspections", "T07", "调研变检查", "以调研名义开展的检查一个月来了6次，每次都要准备汇报材料和台账。"},
		{"2026-03-23 08:50", "layering", "T08", "月报层层变日报", "县里要求的月报到镇里变成周报，到村里变成了日报。"},
		{"2026-04-14 16:10", "burden_shifting", "T05", "安全检查转嫁乡镇", "县直部门把安全生产检查任务直接转给乡镇，还要求签订责任状。"},
		{"2026-05-18 09:40", "digital", "T09", "工作群深夜接龙", "工作群晚上十点后还在接龙报数，周末也不例外。"},
		{"2026-06-08 14:20", "vanity_projects", "T10", "迎检粉刷墙面", "为迎接检查，要求村里统一粉刷墙面、制作展板，费用由村里自筹。"},
		{"2026-07-06 10:00", "meetings_documents", "T11", "白头文件要求当天反馈", "以便函、白头文件形式下发的通知越来越多，要求当天反馈。"},
		{"2026-08-17 09:30", "paper_trail", "T12", "防汛台账重复报送", "防汛检查要求同一份台账分别报送三个部门，格式各不相同。"},
		{"2026-09-14 15:30", "inspections", "T13", "观摩活动过多", "一个季度内组织了4次现场观摩，乡镇忙于布置现场。"},
		{"2026-10-12 10:10", "digital", "T14", "数据重复录入", "同一批农户信息要在4个系统重复录入，数据孤岛问题突出。"},
	}
	for i, c := range closed {
		id := tip(c.when, c.cat, c.town, c.title, c.content)
		base, _ := time.ParseInLocation("2006-01-02 15:04", c.when, models.Shanghai())
		day := func(n int) string { return base.AddDate(0, 0, n).Format("2006-01-02 15:04") }
		dept := []string{"D01", "D30", "D02", "D01", "D06", "D25", "D30", "D17", "D01", "D19", "D01", "D30"}[i]
		dispatch(day(1), id, c.town, dept)
		verify(day(8), id, models.FindingSubstantiated)
		rectifyAll(day(20+i%3*4), id)
		closeCase(day(28+i%4*3), id, []string{models.RatingSatisfied, models.RatingBasically, models.RatingSatisfied, ""}[i%4])
	}
	// One rejected, one unsubstantiated.
	rej := tip("2026-06-22 11:00", "other", "T03", "", "反映村道路灯不亮，属于一般民生诉求。")
	at("2026-06-23 09:00")
	must(st.RejectCase(ctx, office, models.RejectParams{CaseID: rej, Reason: "不属于形式主义、官僚主义问题，已转12345热线办理。"}))
	uns := tip("2026-09-28 09:00", "layering", "T15", "", "反映县里要求每个村建三个活动室，经了解为村里自行安排。")
	dispatch("2026-09-29 09:00", uns, "T15")
	verify("2026-10-20 09:00", uns, models.FindingUnsubstantiated)
	closeCase("2026-10-23 09:00", uns, models.RatingBasically)

	// Open cases in every stage, some overdue.
	tip("2026-11-27 08:40", "digital", "T06", "", "村里被要求在“某某通”上每天上传3张工作照片，否则通报排名。")
	tip("2026-11-26 16:20", "meetings_documents", "T12", "周末视频会议", "连续三个周末被通知参加视频会议，会议内容只是传达文件。")
	tip("2026-11-24 10:05", "burden_shifting", "T09", "签订责任状层层下压", "县里要求村书记签订十几份责任状，涉及禁毒、消防、环保等，村里无权也无力落实。")
	a1 := tip("2026-11-25 09:30", "inspections", "T01", "督查组一周三次", "本周已有三个督查组到镇里检查同一项工作，要求的材料各不相同。")
	at("2026-11-25 15:00")
	must(st.AcceptCase(ctx, office, models.AcceptParams{CaseID: a1}))
	a2 := tip("2026-11-18 14:00", "paper_trail", "T10", "党建台账要求手写", "党建台账要求全部手写，电子版不认，每月抄写两天。")
	at("2026-11-19 09:00")
	must(st.AcceptCase(ctx, office, models.AcceptParams{CaseID: a2}))
	v1 := tip("2026-11-10 10:00", "layering", "T11", "", "县里布置的防返贫排查，镇里加码要求每户每月走访两次。")
	dispatch("2026-11-11 09:00", v1, "T11", "D20")
	v2 := tip("2026-10-26 09:00", "vanity_projects", "T13", "", "为迎接评比，要求在主干道两侧统一种花，由各村出钱。")
	dispatch("2026-10-27 09:00", v2, "T13")
	r1 := tip("2026-09-07 09:20", "meetings_documents", "T05", "", "一个月参加县里各类会议12次，很多会议只是念文件。")
	dispatch("2026-09-08 09:00", r1, "T05", "D01")
	verify("2026-09-28 10:00", r1, models.FindingPartly)
	r2 := tip("2026-10-13 09:10", "burden_shifting", "T06", "", "县住建局把自建房排查任务整体交给镇里，要求一周内完成并签字负责。")
	dispatch("2026-10-14 09:00", r2, "T06", "D17")
	verify("2026-10-22 15:00", r2, models.FindingSubstantiated)
	r3 := tip("2026-11-02 10:30", "paper_trail", "T12", "", "水利防汛检查要求每天在三个群里分别上报巡查照片。")
	dispatch("2026-11-03 09:00", r3, "T12", "D19")
	verify("2026-11-16 11:00", r3, models.FindingPartly)
	r4 := tip("2026-10-19 08:30", "meetings_documents", "T04", "", "镇里每周一早上召开例会，要求各村书记到镇里开会，往返半天。")
	dispatch("2026-10-20 09:00", r4, "T04")
	verify("2026-10-30 10:00", r4, models.FindingSubstantiated)
	f1 := tip("2026-08-03 09:00", "digital", "T14", "", "学习App要求每天积分排名，镇里按排名通报。")
	dispatch("2026-08-04 09:00", f1, "T14", "D04")
	verify("2026-08-25 10:00", f1, models.FindingSubstantiated)
	rectifyAll("2026-10-10 10:00", f1)

	// The showcase: dual assignment in 督促整改, the township has
	// reported with evidence, the department is past its due time.
	at("2026-09-21 10:15")
	rec, err := st.CreateTip(ctx, models.TipInput{Category: "digital", Township: "T02", Title: "政务App打卡过多、数据重复录入",
		Content: "镇里要求干部每天在“某某通”“某某学习”等5个App上打卡签到，同一组人口数据还要在3个系统重复录入，" +
			"每天占用1个多小时。\n县数据资源管理局说系统由上级部署，无法打通，只能让基层多填。",
		ImplicatedUnit: "县数据资源管理局", OccurredOn: "2026-09-15", Channel: models.ChannelWeb, Anonymous: true,
		Files: []models.FileInput{{Name: "打卡截图.png", ContentType: "image/png", Data: tinyPNG, SHA256: "x"}}})
	must(err)
	show := rec.CaseID
	dispatch("2026-09-22 09:00", show, "T02", "D30")
	verify("2026-10-09 16:00", show, models.FindingSubstantiated)
	d, err := st.CaseDetail(ctx, office, show)
	must(err)
	_ = receipts
	for _, a := range d.Assignments {
		if a.Unit == "T02" {
			at("2026-11-20 17:20")
			_, err := st.SubmitRectification(ctx, t02, models.RectificationParams{AssignmentID: a.ID,
				Report: "已取消镇级自行要求的两个App打卡，保留上级规定的一个；人口数据改为一次录入、镇内共享。\n已在全镇干部大会上通报整改情况。",
				Files:  []models.FileInput{{Name: "整改通知.png", ContentType: "image/png", Data: tinyPNG, SHA256: "x"}}})
			must(err)
		}
	}
	at("2026-11-27 10:30")
	return show
}

// TestMonitoringScreenshots writes the registry's and the warnings' pages
// for the README over the demo's registry year (make screenshots). It runs
// on the real clock: the registry's demo year is the current one.
func TestMonitoringScreenshots(t *testing.T) {
	dir := os.Getenv("JIANFU_SCREENSHOTS")
	if dir == "" {
		t.Skip("set JIANFU_SCREENSHOTS=dir to save screenshots of the console")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	app := startConsoleApp(t, testenv.Backends(t)[0], apptest.Options{NoWorker: true})
	if err := registry.New(app.Store).LoadDemo(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct{ name, user, path, wait string }{
		{"console-registry", "office1", "/console/registry?kind=groups", "registry-items"},
		{"console-warnings", "leader1", "/console/warnings", "warnings"},
	} {
		ctx := testenv.Browser(t, testenv.BrowserOptions{Width: 1366, Height: 768})
		browserLogin(t, ctx, app, s.user)
		if err := chromedp.Do(ctx, chromedp.Navigate(app.URL+s.path), chromedp.WaitVisible(chromedp.ID(s.wait))); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, s.name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
