package testenv

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumInstall is the command the skip message suggests.
const chromiumInstall = "apt-get install -y chromium"

// Chromium returns the path of a Chromium or Chrome binary. When there is
// none the test fails if CI=true and is skipped otherwise.
func Chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("chromium not found; install it: %s", chromiumInstall)
	}
	t.Skipf("chromium not found; install it to run this test: %s", chromiumInstall)
	return ""
}

// BrowserOptions shapes one headless browser.
type BrowserOptions struct {
	// Width and Height are the window size in CSS pixels (default 1366×768).
	Width, Height int
	// Timeout bounds everything the test does in the browser (default 90s).
	Timeout time.Duration
	// NoScript turns JavaScript off in pages (the test still drives them).
	NoScript bool
}

// Browser starts a headless Chromium with a fresh profile, no network
// services of its own (this machine reaches no outside network) and the
// given window size, and returns a chromedp context for it. The browser is
// closed when the test ends.
func Browser(t testing.TB, o BrowserOptions) context.Context {
	t.Helper()
	bin := Chromium(t)
	if o.Width == 0 || o.Height == 0 {
		o.Width, o.Height = 1366, 768
	}
	if o.Timeout == 0 {
		o.Timeout = 90 * time.Second
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(o.Width, o.Height),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("lang", "zh-CN"), // as the county's phones and desktops are
	}
	if o.NoScript {
		opts = append(opts, chromedp.Flag("blink-settings", "scriptEnabled=false"))
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	// The browser lives as long as the context of the first call, so that
	// call gets no timeout; it starts the browser now, so a broken install
	// fails here and not in the middle of the test.
	if err := chromedp.Do(bctx, chromedp.EmulateViewport(int64(o.Width), int64(o.Height))); err != nil {
		cancelBrowser()
		cancelAlloc()
		t.Fatalf("start chromium %s: %v", bin, err)
	}
	ctx, cancelTimeout := context.WithTimeout(bctx, o.Timeout)
	t.Cleanup(func() {
		cancelTimeout()
		cancelBrowser()
		cancelAlloc()
	})
	return ctx
}
