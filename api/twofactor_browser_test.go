package api_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"jianfu/apptest"
	"jianfu/testenv"
)

// TestBrowserTwoFactor (acceptance 3): an administrator, whose role must
// use a second factor, is sent to enrol on first login; enrols from the
// QR page; logs out and back in with a code; a recovery code opens the
// account once and never again. The store's clock is injected, so codes
// are computed for the moment the server checks them.
func TestBrowserTwoFactor(t *testing.T) {
	app := startConsoleApp(t, testenv.Backends(t)[0], apptest.Options{NoWorker: true,
		Env: map[string]string{"JIANFU_REQUIRE_2FA": "admin,auditor"}})
	var offset atomic.Int64
	base := time.Now()
	app.Store.SetClock(func() time.Time { return base.Add(time.Duration(offset.Load())) })
	ctx := testenv.Browser(t, testenv.BrowserOptions{})

	login := func(otp string, waitFor string) {
		t.Helper()
		steps := []chromedp.Action[chromedp.Void]{
			chromedp.Navigate(app.URL + "/console/login"),
			chromedp.WaitVisible(chromedp.ID("login-form")),
			chromedp.SendKeys(chromedp.ID("username"), "admin1"),
			chromedp.SendKeys(chromedp.ID("password"), consolePassword),
		}
		if otp != "" {
			steps = append(steps, chromedp.SendKeys(chromedp.ID("otp"), otp))
		}
		steps = append(steps, chromedp.Click(chromedp.ID("login-submit")), chromedp.WaitVisible(chromedp.ID(waitFor)))
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("log in with otp %q, waiting for #%s: %v (page: %s)", otp, waitFor, err,
				eval[string](t, context.WithoutCancel(ctx), `document.body.innerText.slice(0, 300)`))
		}
	}

	// First login: the console holds the admin to the enrolment page.
	login("", "otp-setup")
	if !strings.Contains(eval[string](t, ctx, `location.pathname`), "/console/2fa") {
		t.Fatalf("first login went to %s, want the 2FA page", eval[string](t, ctx, `location.pathname`))
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("otp-setup")), chromedp.WaitVisible(chromedp.ID("otp-qr"))); err != nil {
		t.Fatalf("start enrolment: %v", err)
	}
	// The QR code is an image drawn by the server, and it loaded.
	if w := eval[int](t, ctx, `document.getElementById('otp-qr').naturalWidth`); w < 100 {
		t.Fatalf("QR image width %d", w)
	}
	if src := eval[string](t, ctx, `document.getElementById('otp-qr').getAttribute('src')`); !strings.HasPrefix(src, "data:image/png;base64,") {
		t.Fatalf("QR src %.40q…", src)
	}
	secret := text(t, ctx, "otp-secret")
	code, err := app.Store.OTPCode(secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("otp"), code), chromedp.Click(chromedp.ID("otp-confirm")),
		chromedp.WaitVisible(chromedp.ID("recovery-codes"))); err != nil {
		t.Fatalf("confirm enrolment: %v", err)
	}
	codes := strings.Fields(text(t, ctx, "recovery-codes"))
	if len(codes) != 10 {
		t.Fatalf("recovery codes: %q, want 10", codes)
	}
	browserLogout(t, ctx)

	// Without a code the password alone is not enough.
	login("", "page-error")
	if msg := text(t, ctx, "page-error"); !strings.Contains(msg, "动态验证码") {
		t.Fatalf("login without a code says %q", msg)
	}
	// With the code of the next step (the enrolment's is spent).
	offset.Add(int64(30 * time.Second))
	code, _ = app.Store.OTPCode(secret)
	login(code, "who")
	browserLogout(t, ctx)
	// The same code again is refused (replay).
	login(code, "page-error")

	// A recovery code works once.
	login(codes[3], "who")
	browserLogout(t, ctx)
	login(codes[3], "page-error")
	if msg := text(t, ctx, "page-error"); !strings.Contains(msg, "已使用") {
		t.Fatalf("a spent recovery code says %q", msg)
	}
	login(strings.ToUpper(codes[4]), "who") // typed in capitals, still works
	if left, _ := app.Store.RecoveryCodesLeft(t.Context(), principalOf2FA(t, app)); left != 8 {
		t.Fatalf("recovery codes left: %d, want 8", left)
	}
}

// principalOf2FA is admin1's user id.
func principalOf2FA(t *testing.T, app *apptest.App) uint64 {
	t.Helper()
	var id uint64
	if err := app.DB(t).Raw("SELECT id FROM users WHERE username = 'admin1'").Scan(&id).Error; err != nil {
		t.Fatal(err)
	}
	return id
}
