package api_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/chromedp/chromedp"

	"jianfu/apptest"
	"jianfu/testenv"
)

// TestBrowserPosterAndRating: on a phone (375×812), the address a
// township's poster code holds opens the tip form with the township
// chosen, and the tip goes in; then 不满意 with a comment on the rating
// page turns into a tip form carrying the comment, which goes in too.
func TestBrowserPosterAndRating(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			app := apptest.Start(t, apptest.Options{Backend: b, NoWorker: true})
			if _, err := app.Store.LoadDemo(t.Context()); err != nil {
				t.Fatal(err)
			}
			// What the scanner reads from the poster's code.
			qr := app.Client().JSON(t, "GET", "/qr/T02.svg", nil)
			scanned, err := url.Parse(decodeQRSVG(t, qr.Raw))
			if err != nil || scanned.Query().Get("unit") != "T02" {
				t.Fatalf("the poster's code reads %v (%v)", scanned, err)
			}
			ctx := testenv.Browser(t, testenv.BrowserOptions{Width: phoneW, Height: phoneH})
			value := func(id string) string {
				t.Helper()
				v, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID(id)))
				if err != nil {
					t.Fatalf("value of #%s: %v", id, err)
				}
				return v
			}
			submit := func(step string) {
				t.Helper()
				if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`input[name="category"][value="paper_trail"]`)),
					loadBy(chromedp.Click(chromedp.ID("submit"))), chromedp.WaitVisible(chromedp.ID("receipt"))); err != nil {
					page, _ := chromedp.Run(context.WithoutCancel(ctx), chromedp.Evaluate[string](`document.querySelector('main').innerText.slice(0, 300)`))
					t.Fatalf("%s: submit: %v; the page says %s", step, err, page)
				}
			}

			if err := chromedp.Do(ctx, chromedp.Navigate(app.URL+scanned.RequestURI()), chromedp.WaitVisible(chromedp.ID("tip-form"))); err != nil {
				t.Fatal(err)
			}
			if got := value("township"); got != "T02" {
				t.Fatalf("the form from the poster has township %q, want T02", got)
			}
			if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("content"), "镇里要求每项工作都拍照留痕，每周汇编成册上报，占用大量时间。")); err != nil {
				t.Fatal(err)
			}
			screenshot(t, ctx, "1-form-from-poster")
			submit("tip from the poster")

			comment := "办一件事要填五张内容相同的表格，还要每张拍照上传。"
			if err := chromedp.Do(ctx, chromedp.Navigate(app.URL+"/rate/T02"), chromedp.WaitVisible(chromedp.ID("rate-submit")),
				chromedp.Click(chromedp.CSS(`input[name="rating"][value="unsatisfied"]`)),
				chromedp.SendKeys(chromedp.ID("comment"), comment)); err != nil {
				t.Fatal(err)
			}
			screenshot(t, ctx, "2-rate")
			if err := chromedp.Do(ctx, loadBy(chromedp.Click(chromedp.ID("rate-submit"))), chromedp.WaitVisible(chromedp.ID("to-tip"))); err != nil {
				t.Fatalf("rate: %v", err)
			}
			screenshot(t, ctx, "3-rated")
			if err := chromedp.Do(ctx, loadBy(chromedp.Click(chromedp.ID("to-tip"))), chromedp.WaitVisible(chromedp.ID("tip-form"))); err != nil {
				t.Fatalf("turn into a tip: %v", err)
			}
			if got := value("content"); got != comment {
				t.Errorf("the tip form carries %q, want the comment %q", got, comment)
			}
			if got := value("township"); got != "T02" {
				t.Errorf("the tip form from the rating has township %q", got)
			}
			screenshot(t, ctx, "4-tip-from-rating")
			submit("tip from the rating")
		})
	}
}
