package api_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"jianfu/apptest"
	"jianfu/testenv"
)

var slipCode = regexp.MustCompile(`class="slip-code">([A-Z0-9-]{14})<`)

// TestConsoleSurveyAndPosters: the administrator defines a survey in the
// console (a bad definition comes back with the message and the input),
// prints slips whose QR codes open the survey with their code, and prints
// every unit's poster; the office may do none of it.
func TestConsoleSurveyAndPosters(t *testing.T) {
	app := startConsoleApp(t, testenv.Backends(t)[0], apptest.Options{NoWorker: true})
	admin := newConsoleClient(app)
	admin.login(t, "admin1")

	res := admin.post(t, "/console/admin/surveys", url.Values{"csrf_token": {admin.csrf}, "title": {"成效问卷"},
		"questions": {"您认为成效如何？|显著|较好|一般"}})
	mustStatus(t, "survey without an effect question", res, http.StatusBadRequest)
	mustContain(t, "survey without an effect question", res, "减负成效", "您认为成效如何？|显著|较好|一般")

	res = admin.post(t, "/console/admin/surveys", url.Values{"csrf_token": {admin.csrf}, "title": {"成效问卷"},
		"questions": {"*您认为成效如何？|显著|较好|一般\n是否人手不足？｜是｜否"}})
	mustStatus(t, "create survey", res, http.StatusSeeOther)
	res = admin.get(t, "/console/admin/surveys")
	mustContain(t, "survey page", res, "成效问卷", "您认为成效如何？", "是否人手不足？", "打印全部单位海报")
	id := regexp.MustCompile(`/console/admin/surveys/(\d+)/codes`).FindSubmatch(res.Raw)
	if id == nil {
		t.Fatalf("no code form on %s", res.Raw)
	}
	res = admin.post(t, "/console/admin/surveys/"+string(id[1])+"/codes", url.Values{"csrf_token": {admin.csrf}, "count": {"3"}})
	mustStatus(t, "print slips", res, http.StatusOK)
	codes := slipCode.FindAllSubmatch(res.Raw, -1)
	if len(codes) != 3 || strings.Count(string(res.Raw), "<svg") != 3 || res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("slips: %d codes, %d QR codes, Cache-Control %q", len(codes), strings.Count(string(res.Raw), "<svg"), res.Header.Get("Cache-Control"))
	}
	page := string(res.Raw)
	if got := decodeQRSVG(t, []byte(page[strings.Index(page, "<svg"):])); got != app.Config.BaseURL+"/survey?code="+string(codes[0][1]) {
		t.Errorf("the first slip's QR code reads %q", got)
	}
	res = admin.post(t, "/console/admin/surveys/"+string(id[1])+"/codes", url.Values{"csrf_token": {admin.csrf}, "count": {"501"}})
	mustStatus(t, "501 codes", res, http.StatusBadRequest)

	// The cadre's page opens with the slip's code and answers once.
	cadre := newConsoleClient(app)
	res = cadre.get(t, "/survey?code="+string(codes[0][1]))
	mustContain(t, "survey page", res, "您认为成效如何？", "提交答卷")
	q := regexp.MustCompile(`name="(q\d+)" value="0"`).FindAllSubmatch(res.Raw, -1)
	form := url.Values{"csrf_token": {cadre.csrf}, "code": {string(codes[0][1])}, "answering": {"1"}, string(q[0][1]): {"1"}}
	res = cadre.post(t, "/survey", form)
	mustStatus(t, "an unanswered question", res, http.StatusBadRequest)
	mustContain(t, "an unanswered question", res, "第2题未作答")
	form.Set(string(q[1][1]), "0")
	res = cadre.post(t, "/survey", form)
	mustStatus(t, "answer", res, http.StatusOK)
	mustContain(t, "answer", res, "答卷已匿名记录")
	res = cadre.get(t, "/survey?code="+string(codes[0][1]))
	mustStatus(t, "the used code again", res, http.StatusConflict)
	mustContain(t, "the used code again", res, "该答卷码已经使用过")
	res = cadre.get(t, "/survey?code=ABCD-EFGH-JKMN")
	mustStatus(t, "an unknown code", res, http.StatusNotFound)
	mustContain(t, "an unknown code", res, "答卷码不存在")

	res = admin.get(t, "/console/admin/posters")
	mustStatus(t, "all posters", res, http.StatusOK)
	if n := strings.Count(string(res.Raw), `<article class="poster"`); n != 45 {
		t.Errorf("all posters: %d, want 45 (15 townships, 30 departments)", n)
	}

	// A rating shows on the leaders' dashboard beside the case 满意率.
	if res := app.Client().JSON(t, "POST", "/api/v1/evaluations", map[string]string{"unit": "T02", "rating": "basically_satisfied"}); res.Status != http.StatusCreated {
		t.Fatalf("rate: %d %s", res.Status, res.Raw)
	}
	leader := newConsoleClient(app)
	leader.login(t, "leader1")
	res = leader.get(t, "/console/dashboard")
	mustContain(t, "dashboard", res, `id="service-kpi"`, "服务满意率（扫码评价）", "100.0%", `id="section-service"`, "东关街道")

	office := newConsoleClient(app)
	office.login(t, "office1")
	for _, path := range []string{"/console/admin/surveys", "/console/admin/posters"} {
		mustStatus(t, "office "+path, office.get(t, path), http.StatusForbidden)
	}
	mustStatus(t, "office prints slips", office.post(t, "/console/admin/surveys/"+string(id[1])+"/codes",
		url.Values{"csrf_token": {office.csrf}, "count": {"3"}}), http.StatusForbidden)
}
