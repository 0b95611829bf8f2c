package api_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"jianfu/apptest"
	"jianfu/testenv"
)

// Browser tests drive Debian's Chromium at a phone's viewport (375×812).
// Set JIANFU_SCREENSHOTS=dir to keep a screenshot of every page visited.

const phoneW, phoneH = 375, 812

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("JIANFU_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	file := filepath.Join(dir, strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())+"_"+name+".png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		t.Fatal(err)
	}
}

var nonDigits = regexp.MustCompile(`\D`)

// loadBy runs an action that loads a new page (a form submission) and
// waits until that page has loaded, so that later queries never see the
// old page.
func loadBy(action chromedp.Action[chromedp.Void]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.RunResponse(ctx, action)
		return chromedp.Void{}, err
	}
}

// submitInBrowser fills and submits the tip form and returns the receipt
// the page shows.
func submitInBrowser(t *testing.T, ctx context.Context, app *apptest.App, fill ...chromedp.Action[chromedp.Void]) string {
	t.Helper()
	fillTipForm(t, ctx, app, fill...)
	screenshot(t, ctx, "1-form")
	if err := chromedp.Do(ctx, loadBy(chromedp.Click(chromedp.ID("submit"))), chromedp.WaitVisible(chromedp.ID("receipt"))); err != nil {
		page, _ := chromedp.Run(context.WithoutCancel(ctx), chromedp.Evaluate[string](`Array.from(document.querySelectorAll(':invalid')).map(e => e.name + ':' + e.validationMessage).join('; ') + ' | ' + document.querySelector('main').innerText.slice(0, 200)`))
		t.Fatalf("submit the form: %v; the page says: %s", err, page)
	}
	return readReceipt(t, ctx, app)
}

// fillTipForm opens the tip form and fills it as a tipster would, then
// takes the extra steps.
func fillTipForm(t *testing.T, ctx context.Context, app *apptest.App, fill ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	steps := []chromedp.Action[chromedp.Void]{
		chromedp.Navigate(app.URL + "/"),
		chromedp.WaitVisible(chromedp.ID("tip-form")),
		chromedp.Click(chromedp.CSS(`input[name="category"][value="digital"]`)),
		chromedp.SendKeys(chromedp.ID("content"), "每天要在5个政务App上分别打卡签到，同一组数据还要在3个系统重复录入，占用大量工作时间。"),
		chromedp.SendKeys(chromedp.ID("title"), "政务App打卡过多"),
		chromedp.SetValue(chromedp.ID("township"), "T02"),
		chromedp.SendKeys(chromedp.ID("implicated_unit"), "县数据资源管理局"),
		chromedp.Blur(chromedp.ID("implicated_unit")), // closes the suggestion list
	}
	steps = append(steps, fill...)
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("fill the form: %v", err)
	}
}

// readReceipt reads the receipt the receipt page shows and checks that it
// is not in the page's address.
func readReceipt(t *testing.T, ctx context.Context, app *apptest.App) string {
	t.Helper()
	screenshot(t, ctx, "2-receipt")
	shown, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("receipt")))
	if err != nil {
		t.Fatal(err)
	}
	receipt := nonDigits.ReplaceAllString(shown, "")
	if len(receipt) != 16 {
		t.Fatalf("receipt page shows %q", shown)
	}
	// The receipt is in the page, never in its address.
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(loc, receipt) || loc != app.URL+"/tip" {
		t.Errorf("receipt page at %q", loc)
	}
	return receipt
}

// TestBrowserTipWhileDatabaseDown: MariaDB is cut off (a proxy between the
// app and it) as a tipster submits the form. The answer is the resend page
// (503, Retry-After): what they typed is on it, and it passes axe. Once the
// database is back, 重新提交 shows the receipt and the tip is stored once.
func TestBrowserTipWhileDatabaseDown(t *testing.T) {
	b := testenv.MariaDB(t) // the outage is a cut connection to it
	src := axeScript(t)
	app := apptest.Start(t, apptest.Options{Backend: b, NoWorker: true, DatabaseProxy: true})
	if _, err := app.Store.LoadDemo(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx := testenv.Browser(t, testenv.BrowserOptions{Width: phoneW, Height: phoneH})
	fillTipForm(t, ctx, app)
	app.DatabaseProxy.Cut()
	res, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.ID("submit")))
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != http.StatusServiceUnavailable || res.Headers["Retry-After"] == nil {
		t.Errorf("answer %d, Retry-After %v; want 503 with Retry-After", res.Status, res.Headers["Retry-After"])
	}
	// RunResponse returns once the page has loaded: read it as it is.
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("main").innerText`))
	if err != nil {
		t.Fatal(err)
	}
	if resend, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("resend-form") !== null`)); err != nil || !resend {
		t.Fatalf("no resend page (%v): %s", err, text)
	}
	for _, want := range []string{"还没有确认收到", "只会登记一次", "政务App打卡过多", "同一组数据还要在3个系统重复录入"} {
		if !strings.Contains(text, want) {
			t.Errorf("resend page lacks %q:\n%s", want, text)
		}
	}
	screenshot(t, ctx, "resend")
	for _, v := range runAxe(t, ctx, src) {
		t.Errorf("resend page: %s [%s, %s]\n    %s", v.Help, v.ID, v.Impact, strings.Join(v.Targets, "\n    "))
	}
	app.DatabaseProxy.Restore(t)
	if err := chromedp.Do(ctx, loadBy(chromedp.Click(chromedp.ID("resend"))), chromedp.WaitVisible(chromedp.ID("receipt"))); err != nil {
		t.Fatalf("resend: %v", err)
	}
	receipt := readReceipt(t, ctx, app)
	var n int
	if err := openDB(t, app).QueryRow("SELECT COUNT(*) FROM tips WHERE title = ?", "政务App打卡过多").Scan(&n); err != nil || n != 1 {
		t.Errorf("%d tips stored (%v), want 1 (receipt %s)", n, err, receipt)
	}
}

// TestBrowserAnonymousTip: a tipster on a phone submits anonymously, reads
// the receipt, and finds the tip in 线索收集 on the follow-up page.
func TestBrowserAnonymousTip(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			app := apptest.Start(t, apptest.Options{Backend: b})
			if _, err := app.Store.LoadDemo(t.Context()); err != nil {
				t.Fatal(err)
			}
			ctx := testenv.Browser(t, testenv.BrowserOptions{Width: phoneW, Height: phoneH})
			receipt := submitInBrowser(t, ctx, app)

			// The copy button appears with JavaScript and reports success.
			if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("copy-receipt")), chromedp.Click(chromedp.ID("copy-receipt"))); err != nil {
				t.Fatalf("copy button: %v", err)
			}

			var stage string
			err := chromedp.Do(ctx,
				chromedp.Navigate(app.URL+"/track"),
				chromedp.WaitVisible(chromedp.ID("track-form")),
				chromedp.SendKeys(chromedp.ID("receipt"), receipt[:4]+" "+receipt[4:8]+" "+receipt[8:12]+" "+receipt[12:]),
				loadBy(chromedp.Click(chromedp.ID("track-submit"))),
				chromedp.WaitVisible(chromedp.ID("stage")),
				func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
					var err error
					stage, err = chromedp.Text(chromedp.ID("stage"))(ctx, tg)
					return chromedp.Void{}, err
				},
			)
			if err != nil {
				t.Fatalf("follow-up page: %v", err)
			}
			screenshot(t, ctx, "3-case")
			if strings.TrimSpace(stage) != "线索收集" {
				t.Errorf("stage %q, want 线索收集", stage)
			}
			title, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("case-title")))
			if err != nil || title != "政务App打卡过多" {
				t.Errorf("title %q %v", title, err)
			}

			// Add information from the follow-up page.
			err = chromedp.Do(ctx,
				chromedp.SendKeys(chromedp.ID("text"), "补充：本周又新增了一个打卡App。"),
				loadBy(chromedp.Submit(chromedp.ID("text"))),
				chromedp.WaitVisible(chromedp.ID("page-notice")),
			)
			if err != nil {
				t.Fatalf("add information: %v", err)
			}
			timeline, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("timeline")))
			if err != nil || !strings.Contains(timeline, "本周又新增了一个打卡App") || !strings.Contains(timeline, "我的补充") {
				t.Errorf("timeline %q %v", timeline, err)
			}
			screenshot(t, ctx, "4-message")
		})
	}
}

// TestBrowserRealNamePhoneNotInClear: a real-name tip's phone number and
// name appear nowhere in the database file or the logs in clear.
func TestBrowserRealNamePhoneNotInClear(t *testing.T) {
	const phone, name = "13912345678", "王建国"
	app := apptest.Start(t, apptest.Options{Backend: testenv.Backends(t)[0]}) // the embedded SQLite file
	if _, err := app.Store.LoadDemo(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx := testenv.Browser(t, testenv.BrowserOptions{Width: phoneW, Height: phoneH})
	// The contact fields are hidden until real name is chosen.
	if err := chromedp.Do(ctx, chromedp.Navigate(app.URL+"/"), chromedp.WaitNotVisible(chromedp.ID("contact_phone"))); err != nil {
		t.Fatalf("contact fields shown for an anonymous tip: %v", err)
	}
	receipt := submitInBrowser(t, ctx, app,
		chromedp.Click(chromedp.CSS(`label[for="identity-real"]`)),
		chromedp.WaitVisible(chromedp.ID("contact_phone")),
		chromedp.SendKeys(chromedp.ID("contact_name"), name),
		chromedp.SendKeys(chromedp.ID("contact_phone"), phone),
	)
	if len(receipt) != 16 {
		t.Fatal("no receipt")
	}
	db := openDB(t, app)
	var anonymous bool
	var sealed []byte
	if err := db.QueryRow("SELECT anonymous, contact_enc FROM tips").Scan(&anonymous, &sealed); err != nil {
		t.Fatal(err)
	}
	if anonymous || len(sealed) == 0 {
		t.Fatalf("tip stored anonymous=%v with %d bytes of contact", anonymous, len(sealed))
	}
	db.Close()
	// Every file of the database (main file, WAL, shared memory).
	files, _ := filepath.Glob(filepath.Join(app.Config.DataDir, "jianfu.db*"))
	if len(files) == 0 {
		t.Fatal("no database file")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{phone, name, receipt} {
			if bytes.Contains(data, []byte(secret)) {
				t.Errorf("%s holds %q in clear", filepath.Base(f), secret)
			}
		}
	}
	logs := app.LogText()
	for _, secret := range []string{phone, name, receipt} {
		if strings.Contains(logs, secret) {
			t.Errorf("the logs hold %q in clear", secret)
		}
	}
}

// TestBrowserWithoutJavaScript: with scripts off the form, the real-name
// switch (CSS only), the receipt and the follow-up page all still work.
func TestBrowserWithoutJavaScript(t *testing.T) {
	app := apptest.Start(t, apptest.Options{Backend: testenv.Backends(t)[0]})
	if _, err := app.Store.LoadDemo(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx := testenv.Browser(t, testenv.BrowserOptions{Width: phoneW, Height: phoneH, NoScript: true})
	receipt := submitInBrowser(t, ctx, app,
		chromedp.Click(chromedp.CSS(`label[for="identity-real"]`)),
		chromedp.WaitVisible(chromedp.ID("contact_email")),
		chromedp.SendKeys(chromedp.ID("contact_name"), "李四"),
		chromedp.SendKeys(chromedp.ID("contact_email"), "lisi@example.cn"),
	)
	// Without script there is no copy button, only the receipt to write down.
	short, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := chromedp.Do(short, chromedp.WaitNotVisible(chromedp.ID("copy-receipt"))); err != nil {
		t.Errorf("copy button shown without script: %v", err)
	}
	err := chromedp.Do(ctx, chromedp.Navigate(app.URL+"/track"), chromedp.SendKeys(chromedp.ID("receipt"), receipt),
		loadBy(chromedp.Click(chromedp.ID("track-submit"))), chromedp.WaitVisible(chromedp.ID("stage")))
	if err != nil {
		t.Fatalf("follow-up page: %v", err)
	}
	stage, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("stage")))
	if err != nil || stage != "线索收集" {
		t.Errorf("stage %q %v", stage, err)
	}
}
