package api_test

import (
	"net/http"
	"net/url"
	"testing"

	"jianfu/apptest"
	"jianfu/models"
	"jianfu/testenv"
)

// TestConsoleQuestionAndDisposal: the office asks the tipster from the
// case page while verifying, and records a disposal once the case is found
// substantiated; bad input comes back with the field's message, and a
// liaison is offered neither form.
func TestConsoleQuestionAndDisposal(t *testing.T) {
	app := startConsoleApp(t, testenv.Backends(t)[0], apptest.Options{NoWorker: true})
	store := app.Store
	r, err := store.CreateTip(t.Context(), models.TipInput{Category: "digital", Township: "T02", Anonymous: true,
		Content: "镇里要求每个村每天在工作群里截图打卡三次。"})
	if err != nil {
		t.Fatal(err)
	}
	id := r.CaseID
	office := principalOf(t, app, "office1")
	wfMust(t, store.AcceptCase(t.Context(), office, models.AcceptParams{CaseID: id}))
	wfMust(t, store.AssignCase(t.Context(), office, models.AssignParams{CaseID: id,
		Assignments: []models.AssignmentInput{{Unit: "T02", Role: models.AssignGrassroots}}}))
	page := "/console/cases/" + itoa(id)

	off := newConsoleClient(app)
	off.login(t, "office1")
	mustContain(t, "office's page in verify", off.get(t, page), "询问举报人", `id="question-form"`)
	res := off.post(t, page+"/questions", url.Values{"csrf_token": {off.csrf}, "text": {""}})
	mustStatus(t, "an empty question", res, http.StatusBadRequest)
	mustContain(t, "an empty question", res, "请填写要询问举报人的问题")
	res = off.post(t, page+"/questions", url.Values{"csrf_token": {off.csrf}, "text": {"请问截图打卡是从哪天开始的？"}})
	mustStatus(t, "the question", res, http.StatusSeeOther)
	if v, err := store.TipView(t.Context(), r.Receipt); err != nil || len(v.Questions) != 1 {
		t.Fatalf("the tipster sees questions %+v, %v", v.Questions, err)
	}

	wfMust(t, store.RecordVerification(t.Context(), office, models.VerificationParams{CaseID: id,
		Finding: models.FindingSubstantiated, Report: "属实。"}))
	res = off.get(t, page)
	mustContain(t, "office's page in rectify", res, "问题处置", "党纪政务处分")
	mustNotContain(t, "office's page in rectify", res, `id="question-form"`)
	res = off.post(t, page+"/disposals", url.Values{"csrf_token": {off.csrf}, "measure": {"talk_reminder"}, "persons": {"两"}})
	mustStatus(t, "persons in words", res, http.StatusBadRequest)
	mustContain(t, "persons in words", res, "请填写整数")
	res = off.post(t, page+"/disposals", url.Values{"csrf_token": {off.csrf}, "measure": {""}, "persons": {"2"}})
	mustStatus(t, "no measure", res, http.StatusBadRequest)
	mustContain(t, "no measure", res, "请选择处置方式")
	res = off.post(t, page+"/disposals", url.Values{"csrf_token": {off.csrf}, "measure": {"talk_reminder"}, "persons": {"2"},
		"note": {"约谈镇党政办主任"}})
	mustStatus(t, "the disposal", res, http.StatusSeeOther)
	mustContain(t, "after the disposal", off.get(t, page), "约谈提醒", "2人、0个单位", "约谈镇党政办主任")

	l := newConsoleClient(app)
	l.login(t, "liaison_t02")
	mustNotContain(t, "the liaison's page", l.get(t, page), `id="disposal-form"`, "约谈镇党政办主任", `id="question-form"`)
	res = l.post(t, page+"/disposals", url.Values{"csrf_token": {l.csrf}, "measure": {"criticism"}, "persons": {"1"}})
	mustStatus(t, "a liaison's disposal", res, http.StatusForbidden)
}
