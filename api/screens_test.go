package api_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"jianfu/apptest"
	"jianfu/models"
	"jianfu/testenv"
)

// TestScreenshots saves the public pages at a phone's and a desktop's size
// into $JIANFU_SCREENSHOTS, for a person to look at. Skipped without it.
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("JIANFU_SCREENSHOTS")
	if dir == "" {
		t.Skip("set JIANFU_SCREENSHOTS=dir to save screenshots of the public pages")
	}
	app := apptest.Start(t, apptest.Options{Backend: testenv.Backends(t)[0], NoWorker: true})
	ctx := t.Context()
	if _, err := app.Store.LoadDemo(ctx); err != nil {
		t.Fatal(err)
	}
	office := app.CreateUser(t, models.UserParams{Username: "office9", Password: "office-pass-9", Role: models.RoleOffice})
	p := models.Principal{UserID: office.ID, Username: office.Username, Role: office.Role}
	res := app.Client().JSON(t, http.MethodPost, "/api/v1/tips", validTip())
	receipt := res.Body["receipt"].(string)
	id, _ := app.Store.CaseIDByReceipt(ctx, receipt)
	app.Client().JSON(t, http.MethodPost, "/api/v1/tips/messages", map[string]string{"receipt": receipt, "text": "补充：本周又新增了一个打卡App，要求每天上午9点前完成。"})
	steps := []error{
		app.Store.AcceptCase(ctx, p, models.AcceptParams{CaseID: id}),
		app.Store.AssignCase(ctx, p, models.AssignParams{CaseID: id, Assignments: []models.AssignmentInput{{Unit: "T01", Role: models.AssignGrassroots}}}),
		app.Store.RecordVerification(ctx, p, models.VerificationParams{CaseID: id, Finding: models.FindingUnsubstantiated, Report: "核查"}),
		app.Store.ReplyToTipster(ctx, p, models.ReplyParams{CaseID: id, Text: "经核查，您反映的重复打卡要求已于本周取消，相关系统数据已打通。感谢您的反映。"}),
	}
	for _, err := range steps {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, size := range [][2]int{{375, 812}, {1366, 768}} {
		bctx := testenv.Browser(t, testenv.BrowserOptions{Width: size[0], Height: size[1]})
		shot := func(name string, actions ...chromedp.Action[chromedp.Void]) {
			t.Helper()
			if err := chromedp.Do(bctx, actions...); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			for _, full := range []bool{false, true} {
				var png []byte
				var err error
				suffix := ""
				if full {
					png, err = chromedp.Run(bctx, chromedp.FullScreenshot(100))
					suffix = "-full"
				} else {
					png, err = chromedp.Run(bctx, chromedp.CaptureScreenshot())
				}
				if err != nil {
					t.Fatal(err)
				}
				file := filepath.Join(dir, fmt.Sprintf("%dx%d-%s%s.png", size[0], size[1], name, suffix))
				if err := os.WriteFile(file, png, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		shot("1-form", chromedp.Navigate(app.URL+"/"), chromedp.WaitVisible(chromedp.ID("tip-form")))
		shot("2-form-realname", chromedp.Click(chromedp.CSS(`label[for="identity-real"]`)),
			chromedp.ScrollIntoView(chromedp.ID("contact")))
		shot("3-form-error", chromedp.Navigate(app.URL+"/"), chromedp.WaitVisible(chromedp.ID("tip-form")),
			chromedp.Click(chromedp.CSS(`input[name="category"][value="layering"]`)),
			chromedp.SetJavascriptAttribute(chromedp.ID("content"), "value", "太短"),
			chromedp.SetAttributeValue(chromedp.ID("content"), "minlength", "1"),
			loadBy(chromedp.Submit(chromedp.ID("content"))), chromedp.WaitVisible(chromedp.ID("page-error")))
		shot("4-receipt", chromedp.Navigate(app.URL+"/"), chromedp.WaitVisible(chromedp.ID("tip-form")),
			chromedp.Click(chromedp.CSS(`input[name="category"][value="meetings_documents"]`)),
			chromedp.SendKeys(chromedp.ID("content"), "一周内被要求参加4个内容相近的视频会议，每次都要求乡镇主要领导在场。"),
			loadBy(chromedp.Submit(chromedp.ID("content"))), chromedp.WaitVisible(chromedp.ID("receipt")))
		shot("5-track", chromedp.Navigate(app.URL+"/track"), chromedp.WaitVisible(chromedp.ID("track-form")))
		shot("6-case", chromedp.SendKeys(chromedp.ID("receipt"), receipt), loadBy(chromedp.Click(chromedp.ID("track-submit"))),
			chromedp.WaitVisible(chromedp.ID("stage")))
		shot("7-wrong-receipt", chromedp.Navigate(app.URL+"/track"), chromedp.WaitVisible(chromedp.ID("track-form")),
			chromedp.SendKeys(chromedp.ID("receipt"), "1234 5678 9012 3456"), loadBy(chromedp.Click(chromedp.ID("track-submit"))),
			chromedp.WaitVisible(chromedp.ID("page-error")))
	}
}
