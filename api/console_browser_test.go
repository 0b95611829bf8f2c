package api_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"jianfu/apptest"
	"jianfu/models"
	"jianfu/testenv"
)

// Browser tests of the staff console in Debian's Chromium at 1366×768.
// They run on the embedded backend only: the console calls the same store
// methods on both backends, and those are covered on MariaDB + Redis by
// the HTTP tests in console_test.go and the workflow tests.

// browserLogin signs in through the console's login form.
func browserLogin(t *testing.T, ctx context.Context, app *apptest.App, username string) {
	t.Helper()
	err := chromedp.Do(ctx,
		chromedp.Navigate(app.URL+"/console/login"),
		chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("username"), username),
		chromedp.SendKeys(chromedp.ID("password"), consolePassword),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitReady(chromedp.ID("who")),
	)
	if err != nil {
		t.Fatalf("log in as %s: %v", username, err)
	}
}

func browserLogout(t *testing.T, ctx context.Context) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("login-form"))); err != nil {
		t.Fatalf("log out: %v", err)
	}
}

// text reads the text of the element with id.
func text(t *testing.T, ctx context.Context, id string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById(`+strconv.Quote(id)+`)||{}).innerText`))
	if err != nil {
		t.Fatalf("text of #%s: %v", id, err)
	}
	return strings.TrimSpace(s)
}

// eval runs a JavaScript expression in the page.
func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// submitAndWait clicks a form's button and waits for the page's notice.
func submitAndWait(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	// The notice of the page before is removed first, so the one waited
	// for is the next page's.
	steps = append([]chromedp.Action[chromedp.Void]{chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Evaluate[any](`(document.getElementById('page-notice')||{remove(){}}).remove()`)(ctx, tg)
		return err
	})}, steps...)
	steps = append(steps, chromedp.WaitVisible(chromedp.ID("page-notice")))
	if err := chromedp.Do(ctx, steps...); err != nil {
		msg, _ := chromedp.Run(context.WithoutCancel(ctx), chromedp.Evaluate[string](
			`(document.getElementById('page-error')||{}).innerText || document.title`))
		t.Fatalf("%s: %v; the page says: %s", what, err, msg)
	}
}

// evidencePNG writes a small real photo to upload.
func evidencePNG(t *testing.T) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 48, 32))
	for x := 0; x < 48; x++ {
		for y := 0; y < 32; y++ {
			img.Set(x, y, color.RGBA{uint8(x * 5), uint8(y * 7), 160, 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "整改现场.png")
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestConsoleBrowserDualAssignment is the console's acceptance path: the
// office takes a new tip through acceptance, dual assignment and
// verification; each unit's liaison sees only their own assignment and
// reports with a file; a liaison typing another unit's case address gets
// the not-found page; the office accepts both reports, replies and closes.
func TestConsoleBrowserDualAssignment(t *testing.T) {
	app := startConsoleApp(t, testenv.Backends(t)[0], apptest.Options{NoWorker: true})
	store := app.Store
	res := app.Client().JSON(t, http.MethodPost, "/api/v1/tips", map[string]any{"category": "digital", "title": "政务App打卡过多",
		"content": "镇里要求每天在5个政务App上打卡签到，同一组数据还要在3个系统重复录入。", "township": "T02", "anonymous": true})
	if res.Status != http.StatusCreated {
		t.Fatalf("submit tip: %d %s", res.Status, res.Raw)
	}
	id, err := store.CaseIDByReceipt(t.Context(), res.Body["receipt"].(string))
	if err != nil {
		t.Fatal(err)
	}
	office := principalOf(t, app, "office1")
	other, err := store.CreateTip(t.Context(), models.TipInput{Category: "inspections", Channel: models.ChannelWeb,
		Content: "青石镇一个月接待了七次名为调研的检查。", Township: "T03", Anonymous: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		store.AcceptCase(t.Context(), office, models.AcceptParams{CaseID: other.CaseID}),
		store.AssignCase(t.Context(), office, models.AssignParams{CaseID: other.CaseID,
			Assignments: []models.AssignmentInput{{Unit: "T03", Role: models.AssignGrassroots}}}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	caseURL := app.URL + "/console/cases/" + itoa(id)
	ctx := testenv.Browser(t, testenv.BrowserOptions{Timeout: 3 * time.Minute})

	// The office: accept, dispatch to T02 and D05, record the finding.
	browserLogin(t, ctx, app, "office1")
	err = chromedp.Do(ctx,
		chromedp.Navigate(app.URL+"/console/cases"),
		chromedp.WaitVisible(chromedp.ID("queue")),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`#queue tr[data-case="%d"] .c-title a`, id))),
		chromedp.WaitVisible(chromedp.ID("tip-content")),
	)
	if err != nil {
		t.Fatalf("open the case from the queue: %v", err)
	}
	if s := text(t, ctx, "case-stage"); s != "线索收集" {
		t.Fatalf("stage %q", s)
	}
	submitAndWait(t, ctx, "accept", chromedp.Click(chromedp.ID("accept-submit")))
	if s := text(t, ctx, "case-stage"); s != "快速分办" {
		t.Fatalf("after accept: stage %q", s)
	}
	submitAndWait(t, ctx, "dispatch",
		chromedp.SetValue(chromedp.ID("township"), "T02"),
		chromedp.SetValue(chromedp.ID("county0"), "D05"),
		chromedp.SetValue(chromedp.ID("county1"), ""),
		chromedp.SetValue(chromedp.ID("county2"), ""),
		chromedp.Click(chromedp.ID("assign-submit")))
	if s := text(t, ctx, "case-stage"); s != "联合核查" {
		t.Fatalf("after dispatch: stage %q", s)
	}
	submitAndWait(t, ctx, "verification",
		chromedp.Click(chromedp.CSS(`input[name="finding"][value="substantiated"]`)),
		chromedp.SendKeys(chromedp.ID("verify-report"), "联合核查组调阅了工作群记录，反映的问题属实。"),
		chromedp.Click(chromedp.ID("verify-submit")))
	if s := text(t, ctx, "case-stage"); s != "督促整改" {
		t.Fatalf("after verification: stage %q", s)
	}
	// The two assignments side by side.
	boxes := eval[[]float64](t, ctx, `Array.from(document.querySelectorAll('#assignments article.assignment')).map(a => a.getBoundingClientRect().top)`)
	if len(boxes) != 2 || boxes[0] != boxes[1] {
		t.Errorf("assignments at heights %v, want two side by side", boxes)
	}
	det, err := store.CaseDetail(t.Context(), office, id)
	if err != nil {
		t.Fatal(err)
	}
	aid := map[string]uint64{}
	for _, a := range det.Assignments {
		aid[a.Unit] = a.ID
	}
	browserLogout(t, ctx)

	// Each liaison: only their own assignment; a report with a photo.
	photo := evidencePNG(t)
	for _, l := range []struct{ user, unit, report string }{
		{"liaison_t02", "T02", "已取消镇里自行要求的两个App打卡。"},
		{"liaison_d05", "D05", "已推动三个系统数据共享，一次录入。"},
	} {
		browserLogin(t, ctx, app, l.user)
		err := chromedp.Do(ctx,
			chromedp.Navigate(app.URL+"/console/cases"),
			chromedp.WaitVisible(chromedp.ID("queue")),
			chromedp.Click(chromedp.CSS(fmt.Sprintf(`#queue tr[data-case="%d"] .c-title a`, id))),
			chromedp.WaitVisible(chromedp.ID("assignments")),
		)
		if err != nil {
			t.Fatalf("%s opens the case: %v", l.user, err)
		}
		units := eval[[]string](t, ctx, `Array.from(document.querySelectorAll('#assignments article.assignment')).map(a => a.dataset.unit)`)
		if len(units) != 1 || units[0] != l.unit {
			t.Errorf("%s sees assignments %v", l.user, units)
		}
		if n := eval[int](t, ctx, `document.querySelectorAll('#contact, #anonymity, #reveal-form, #tip-files').length`); n != 0 {
			t.Errorf("%s sees %d elements about the tipster", l.user, n)
		}
		a := itoa(aid[l.unit])
		submitAndWait(t, ctx, l.user+" reports",
			chromedp.SendKeys(chromedp.ID("report-"+a), l.report),
			chromedp.SetUploadFiles(chromedp.ID("files-"+a), []string{photo}),
			chromedp.Click(chromedp.CSS("#rectify-"+a+` button[type="submit"]`)))
		status := eval[string](t, ctx, `document.querySelector('#a`+a+` .a-status').innerText`)
		files := eval[string](t, ctx, `Array.from(document.querySelectorAll('#a`+a+` .evidence a')).map(e => e.innerText).join(',')`)
		if status != "待审核" || files != "整改现场.png" {
			t.Errorf("%s after the report: status %q, evidence %q", l.user, status, files)
		}
		if l.unit == "T02" {
			// Another unit's case, typed in: the not-found page, 404.
			resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(app.URL+"/console/cases/"+itoa(other.CaseID)))
			if err != nil {
				t.Fatal(err)
			}
			if resp.Status != http.StatusNotFound || text(t, ctx, "error-heading") != "页面不存在" {
				t.Errorf("another unit's case: %d %q", resp.Status, text(t, ctx, "error-heading"))
			}
			if strings.Contains(eval[string](t, ctx, `document.body.innerText`), "青石镇") {
				t.Error("the not-found page shows the other case")
			}
		}
		browserLogout(t, ctx)
	}

	// The office accepts both reports, replies and closes.
	browserLogin(t, ctx, app, "office1")
	if err := chromedp.Do(ctx, chromedp.Navigate(caseURL), chromedp.WaitVisible(chromedp.ID("assignments"))); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"T02", "D05"} {
		submitAndWait(t, ctx, "accept "+u, chromedp.Click(chromedp.ID("accept-"+itoa(aid[u]))))
	}
	if s := text(t, ctx, "case-stage"); s != "反馈评估" {
		t.Fatalf("after both reviews: stage %q", s)
	}
	submitAndWait(t, ctx, "reply",
		chromedp.SendKeys(chromedp.ID("reply-text"), "经核查，您反映的问题属实，相关乡镇和部门已完成整改。感谢您的监督。"),
		chromedp.Click(chromedp.ID("reply-submit")))
	submitAndWait(t, ctx, "close", chromedp.Click(chromedp.ID("close-submit")))
	if s := text(t, ctx, "case-stage"); s != "办结" {
		t.Fatalf("after close: stage %q", s)
	}
	if tl := text(t, ctx, "timeline"); !strings.Contains(tl, "整改完成") || !strings.Contains(tl, "答复举报人") {
		t.Errorf("timeline: %s", tl)
	}
	det, err = store.CaseDetail(t.Context(), office, id)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range det.Assignments {
		if a.Status != models.AssignmentAccepted || len(a.Evidence) != 1 {
			t.Errorf("assignment %s: %s with %d files", a.Unit, a.Status, len(a.Evidence))
		}
	}
}

// TestConsoleBrowserEscapesTipText: a tip written as markup shows as text
// on the queue and the case page, and no dialog opens.
func TestConsoleBrowserEscapesTipText(t *testing.T) {
	const payload = `<script>alert(1)</script><img src=x onerror=alert(2)>`
	app := startConsoleApp(t, testenv.Backends(t)[0], apptest.Options{NoWorker: true})
	res := app.Client().JSON(t, http.MethodPost, "/api/v1/tips", map[string]any{"category": "other", "content": payload,
		"implicated_unit": `"><svg onload=alert(3)>`, "anonymous": true})
	if res.Status != http.StatusCreated {
		t.Fatalf("submit tip: %d %s", res.Status, res.Raw)
	}
	id, err := app.Store.CaseIDByReceipt(t.Context(), res.Body["receipt"].(string))
	if err != nil {
		t.Fatal(err)
	}
	ctx := testenv.Browser(t, testenv.BrowserOptions{})
	var dialogs atomic.Int32
	opened := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for _, err := range opened {
			if err != nil {
				return
			}
			dialogs.Add(1)
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	browserLogin(t, ctx, app, "office1")
	if err := chromedp.Do(ctx, chromedp.Navigate(app.URL+"/console/cases"), chromedp.WaitVisible(chromedp.ID("queue"))); err != nil {
		t.Fatal(err)
	}
	if row := eval[string](t, ctx, fmt.Sprintf(`document.querySelector('#queue tr[data-case="%d"] .c-title a').innerText`, id)); !strings.HasPrefix(row, "<script>alert(1)</script>") {
		t.Errorf("queue shows the title as %q", row)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(app.URL+"/console/cases/"+itoa(id)), chromedp.WaitVisible(chromedp.ID("tip-content")),
		chromedp.Sleep(300*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if got := text(t, ctx, "tip-content"); got != payload {
		t.Errorf("tip content shows as %q", got)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('main img, main script, main svg:not(.chart), [onerror], [onload]').length`); n != 0 {
		t.Errorf("the tip's markup made %d elements", n)
	}
	if !strings.Contains(eval[string](t, ctx, `document.body.innerText`), `"><svg onload=alert(3)>`) {
		t.Error("the implicated unit is not shown as text")
	}
	if n := dialogs.Load(); n != 0 {
		t.Errorf("%d dialogs opened", n)
	}
}
