package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"jianfu/apptest"
	"jianfu/models"
	"jianfu/testenv"
)

// TestConsoleBrowserVerificationPart: the township's liaison submits its
// part of a joint verification from the case page (a too short report is
// refused with the field named and the choice kept); the office then sees
// that part, and the department's part still awaited, beside its own
// finding form.
func TestConsoleBrowserVerificationPart(t *testing.T) {
	app := startConsoleApp(t, testenv.Backends(t)[0], apptest.Options{NoWorker: true})
	store := app.Store
	res := app.Client().JSON(t, http.MethodPost, "/api/v1/tips", map[string]any{"category": "inspections",
		"content": "青石镇一个月接待了七次名为调研的检查，每次都要准备同样的台账。", "township": "T02", "anonymous": true})
	if res.Status != http.StatusCreated {
		t.Fatalf("submit tip: %d %s", res.Status, res.Raw)
	}
	id, err := store.CaseIDByReceipt(t.Context(), res.Body["receipt"].(string))
	if err != nil {
		t.Fatal(err)
	}
	office := principalOf(t, app, "office1")
	for _, err := range []error{
		store.AcceptCase(t.Context(), office, models.AcceptParams{CaseID: id}),
		store.AssignCase(t.Context(), office, models.AssignParams{CaseID: id, VerifyTeam: []string{"T02", "D05"},
			Assignments: []models.AssignmentInput{{Unit: "T02", Role: models.AssignGrassroots}, {Unit: "D05", Role: models.AssignCounty}}}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	caseURL := app.URL + "/console/cases/" + itoa(id)
	ctx := testenv.Browser(t, testenv.BrowserOptions{Timeout: 3 * time.Minute})

	browserLogin(t, ctx, app, "liaison_t02")
	err = chromedp.Do(ctx,
		chromedp.Navigate(caseURL),
		chromedp.WaitVisible(chromedp.ID("part-form")),
		chromedp.Click(chromedp.CSS(`#part-form input[name="finding"][value="partly"]`)),
		chromedp.SendKeys(chromedp.ID("part-report"), "是"),
		chromedp.Click(chromedp.ID("part-submit")),
		chromedp.WaitVisible(chromedp.ID("page-error")),
	)
	if err != nil {
		t.Fatalf("submit a one-character part: %v", err)
	}
	if got := text(t, ctx, "page-error"); !strings.Contains(got, "核查情况") {
		t.Errorf("error %q, want the report named", got)
	}
	if v := eval[string](t, ctx, `document.querySelector('#part-form input[name="finding"]:checked').value`); v != "partly" {
		t.Errorf("the finding chosen was lost: %q", v)
	}
	submitAndWait(t, ctx, "the part",
		chromedp.SetValue(chromedp.ID("part-report"), "经查，镇里自行组织的调研检查三次，其余为县直部门安排，部分属实。"),
		chromedp.Click(chromedp.ID("part-submit")))
	if n := eval[float64](t, ctx, `document.querySelectorAll('#part-form').length`); n != 0 {
		t.Error("the form is still offered after the part is in")
	}
	browserLogout(t, ctx)

	browserLogin(t, ctx, app, "office1")
	if err := chromedp.Do(ctx, chromedp.Navigate(caseURL), chromedp.WaitVisible(chromedp.ID("verify-parts")),
		chromedp.WaitVisible(chromedp.ID("verify-form"))); err != nil {
		t.Fatalf("the office's case page: %v", err)
	}
	t02 := eval[string](t, ctx, `document.querySelector('#verify-parts [data-unit="T02"]').innerText`)
	d05 := eval[string](t, ctx, `document.querySelector('#verify-parts [data-unit="D05"]').innerText`)
	if !strings.Contains(t02, "部分属实") || !strings.Contains(t02, "镇里自行组织的调研检查三次") {
		t.Errorf("the township's part reads %q", t02)
	}
	if !strings.Contains(d05, "尚未提交") {
		t.Errorf("the department's part reads %q, want 尚未提交", d05)
	}
}
