package api_test

import (
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"jianfu/apptest"
	"jianfu/models"
	"jianfu/testenv"
)

// TestConsoleBrowserStaffEntry: the office enters a letter through the
// console's 登记来件 form. A too short text comes back with the field
// named and everything typed still there; the corrected form stores the
// tip and shows the receipt once, which then opens the tipster's view.
func TestConsoleBrowserStaffEntry(t *testing.T) {
	app := startConsoleApp(t, testenv.Backends(t)[0], apptest.Options{NoWorker: true})
	ctx := testenv.Browser(t, testenv.BrowserOptions{Timeout: 3 * time.Minute})
	browserLogin(t, ctx, app, "office1")
	err := chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("nav-entry")),
		chromedp.WaitVisible(chromedp.ID("entry-form")),
		chromedp.Click(chromedp.CSS(`input[name="channel"][value="letter"]`)),
		chromedp.SetValue(chromedp.ID("received_at"), time.Now().In(models.Shanghai()).Add(-24*time.Hour).Format("2006-01-02T15:04")),
		chromedp.SetValue(chromedp.ID("category"), "meetings_documents"),
		chromedp.SetValue(chromedp.ID("township"), "T02"),
		chromedp.SendKeys(chromedp.ID("content"), "会太多"),
		chromedp.SendKeys(chromedp.ID("contact-name"), "赵六"),
		chromedp.SendKeys(chromedp.ID("contact-phone"), "13700002222"),
		chromedp.Click(chromedp.ID("entry-submit")),
		chromedp.WaitVisible(chromedp.ID("page-error")),
	)
	if err != nil {
		t.Fatalf("submit the short letter: %v", err)
	}
	if got := text(t, ctx, "page-error"); !regexp.MustCompile(`至少需要10个字`).MatchString(got) {
		t.Errorf("error %q, want the content's rule", got)
	}
	if v := eval[string](t, ctx, `document.querySelector('input[name="channel"]:checked').value + "|" +
		document.getElementById('contact-name').value + "|" + document.getElementById('township').value`); v != "letter|赵六|T02" {
		t.Errorf("the form lost what was typed: %q", v)
	}
	if n := eval[float64](t, ctx, `document.querySelectorAll('#entry-done').length`); n != 0 {
		t.Fatal("a refused entry shows a receipt")
	}

	submitAndWait(t, ctx, "the corrected letter",
		chromedp.SetValue(chromedp.ID("content"), "来信反映：乡里每月要求各村报送同样内容的纸质台账三份，另需拍照上传。"),
		chromedp.Click(chromedp.ID("entry-submit")))
	receipt := text(t, ctx, "entry-receipt")
	if !regexp.MustCompile(`^\d{16}$`).MatchString(receipt) {
		t.Fatalf("receipt %q", receipt)
	}
	id, err := app.Store.CaseIDByReceipt(t.Context(), receipt)
	if err != nil {
		t.Fatal(err)
	}
	d, err := app.Store.CaseDetail(t.Context(), principalOf(t, app, "office1"), id)
	if err != nil {
		t.Fatal(err)
	}
	if d.Channel != models.ChannelLetter || d.Anonymous == nil || *d.Anonymous || d.ReceivedAt == nil ||
		time.Since(*d.ReceivedAt) < 23*time.Hour {
		t.Errorf("stored: channel %q anonymous %v received %v", d.Channel, d.Anonymous, d.ReceivedAt)
	}
	res := app.Client().JSON(t, http.MethodPost, "/api/v1/tips/lookup", map[string]string{"receipt": receipt})
	if res.Status != http.StatusOK || res.Body["stage"] != models.StageCollect {
		t.Errorf("the letter writer's lookup: %d %s", res.Status, res.Raw)
	}
	// The form is empty again for the next letter, and the case opens.
	if v := eval[string](t, ctx, `document.getElementById('content').value + document.getElementById('contact-name').value`); v != "" {
		t.Errorf("the form still holds %q", v)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("entry-case")), chromedp.WaitVisible(chromedp.ID("tip-content"))); err != nil {
		t.Fatalf("open the new case: %v", err)
	}
}
