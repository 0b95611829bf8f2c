package api_test

import (
	"bytes"
	"image"
	"image/color"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	gozxingqr "github.com/makiuchi-d/gozxing/qrcode"

	"jianfu/apptest"
	"jianfu/models"
	"jianfu/models/evaluation"
	"jianfu/testenv"
)

// surveyDefinition is a survey of two questions, the first the effect
// question.
var surveyDefinition = evaluation.SurveyInput{Title: "2026年度基层减负成效问卷", Questions: []evaluation.QuestionInput{
	{Text: "您认为本年度减负工作成效如何？", Options: []string{"显著", "较好", "一般", "不明显"}, Effect: true},
	{Text: "您所在单位是否面临专业能力和人手不足？", Options: []string{"是", "否"}},
}}

var svgBox = regexp.MustCompile(`viewBox="0 0 (\d+) (\d+)"`)
var svgModule = regexp.MustCompile(`M(\d+) (\d+)h1v1h-1z`)

// decodeQRSVG reads the module squares back out of the (first) SVG, draws them
// as a bitmap (8 px a module) and decodes it with ZXing's QR reader.
func decodeQRSVG(t *testing.T, svg []byte) string {
	t.Helper()
	if end := bytes.Index(svg, []byte("</svg>")); end >= 0 {
		svg = svg[:end] // the first code only
	}
	m := svgBox.FindSubmatch(svg)
	if m == nil {
		t.Fatalf("no viewBox in %.200s", svg)
	}
	n, _ := strconv.Atoi(string(m[1]))
	const px = 8
	img := image.NewGray(image.Rect(0, 0, n*px, n*px))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	for _, mod := range svgModule.FindAllSubmatch(svg, -1) {
		x, _ := strconv.Atoi(string(mod[1]))
		y, _ := strconv.Atoi(string(mod[2]))
		for dy := 0; dy < px; dy++ {
			for dx := 0; dx < px; dx++ {
				img.SetGray(x*px+dx, y*px+dy, color.Gray{})
			}
		}
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := gozxingqr.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		t.Fatalf("decode the QR code: %v", err)
	}
	return res.GetText()
}

// TestUnitQRCodeAndPoster: a unit's QR code decodes to the tip form with
// the unit filled in; the poster carries it with the promises and the
// follow-up address; unknown units are 404.
func TestUnitQRCodeAndPoster(t *testing.T) {
	app := apptest.Start(t, apptest.Options{Backend: testenv.Backends(t)[0], NoWorker: true,
		Env: map[string]string{"JIANFU_BASE_URL": "https://jianfu.example.gov.cn"}})
	app.CreateUnit(t, "T07", "城关镇", models.UnitTownship)
	c := app.Client()

	res := c.JSON(t, "GET", "/qr/T07.svg", nil)
	if res.Status != http.StatusOK || res.Header.Get("Content-Type") != "image/svg+xml" {
		t.Fatalf("GET /qr/T07.svg: %d %s", res.Status, res.Header.Get("Content-Type"))
	}
	if got, want := decodeQRSVG(t, res.Raw), "https://jianfu.example.gov.cn/?unit=T07"; got != want {
		t.Errorf("the QR code reads %q, want %q", got, want)
	}

	res = c.JSON(t, "GET", "/posters/T07", nil)
	page := string(res.Raw)
	for _, want := range []string{"城关镇", "<svg", "我们如何保护您", "https://jianfu.example.gov.cn/track", "https://jianfu.example.gov.cn/rate/T07"} {
		if res.Status != http.StatusOK || !strings.Contains(page, want) {
			t.Errorf("poster: %d, lacks %q", res.Status, want)
		}
	}
	if got := decodeQRSVG(t, []byte(page[strings.Index(page, "<svg"):])); got != "https://jianfu.example.gov.cn/?unit=T07" {
		t.Errorf("the poster's QR code reads %q", got)
	}

	for _, path := range []string{"/qr/NOPE.svg", "/qr/T07.png", "/posters/NOPE", "/rate/NOPE"} {
		if res := c.JSON(t, "GET", path, nil); res.Status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, res.Status)
		}
	}
	if res := c.JSON(t, "GET", "/posters/NOPE", nil); !bytes.Contains(res.Raw, []byte("未找到该单位")) {
		t.Errorf("unknown unit's poster page says %.300s", res.Raw)
	}

	// The tip form opened from the poster has the township chosen.
	res = c.JSON(t, "GET", "/?unit=T07", nil)
	if !bytes.Contains(res.Raw, []byte(`<option value="T07" selected>`)) {
		t.Errorf("tip form from the poster has no township selected")
	}
}

// TestServiceEvaluationAPI: a rating needs no login and stores nothing
// about the person; bad input is refused with the field named; the
// statistics count it beside case satisfaction.
func TestServiceEvaluationAPI(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			app := apptest.Start(t, apptest.Options{Backend: b, NoWorker: true})
			app.CreateUnit(t, "T07", "城关镇", models.UnitTownship)
			app.CreateUser(t, models.UserParams{Username: "leader1", Password: "password-123", Role: models.RoleLeader})
			c := app.Client()
			for _, rating := range []string{"satisfied", "basically_satisfied", "unsatisfied"} {
				res := c.JSON(t, "POST", "/api/v1/evaluations", map[string]string{"unit": "T07", "rating": rating})
				if res.Status != http.StatusCreated || res.Body["offer_tip"] != false {
					t.Fatalf("rate %s: %d %s", rating, res.Status, res.Raw)
				}
			}
			res := c.JSON(t, "POST", "/api/v1/evaluations", map[string]string{"unit": "T07", "rating": "unsatisfied", "comment": "办事要填五张表"})
			if res.Status != http.StatusCreated || res.Body["offer_tip"] != true || res.Body["tip_form"] != "/?unit=T07" {
				t.Fatalf("unsatisfied with comment: %d %s", res.Status, res.Raw)
			}
			bad := []struct {
				body   string
				status int
				field  string
			}{
				{`{"unit":"T07","rating":"good"}`, 400, "rating"},
				{`{"unit":"NOPE","rating":"satisfied"}`, 400, "unit"},
				{`{"unit":"T07","rating":"satisfied","comment":"a\u202eb"}`, 400, "comment"},
				{`{"unit":"T07","rating":"satisfied","comment":"` + strings.Repeat("长", 501) + `"}`, 400, "comment"},
				{`{"unit":"T07","rating":"satisfied","ip":"1.2.3.4"}`, 400, "ip"},
				{`{"unit":"T07","rating":"satisfied","comment":"` + strings.Repeat("x", 9000) + `"}`, 413, ""},
			}
			for _, x := range bad {
				res := c.JSON(t, "POST", "/api/v1/evaluations", x.body)
				fields, _ := res.Body["error"].(map[string]any)["fields"].(map[string]any)
				if res.Status != x.status || (x.field != "" && fields[x.field] == nil) {
					t.Errorf("%.60s: %d %s, want %d naming %q", x.body, res.Status, res.Raw, x.status, x.field)
				}
			}
			if res := c.JSON(t, "POST", "/api/v1/evaluations", "unit=T07", "Content-Type", "application/x-www-form-urlencoded"); res.Status != http.StatusUnsupportedMediaType {
				t.Errorf("form body: %d, want 415", res.Status)
			}

			year := app.Store.Now().In(models.Shanghai()).Year()
			leader := app.Login(t, "leader1", "password-123")
			res = leader.JSON(t, "GET", "/api/v1/stats?year="+strconv.Itoa(year), nil)
			rows, _ := res.Body["service_satisfaction"].([]any)
			if res.Status != http.StatusOK || len(rows) != 1 {
				t.Fatalf("stats: %d, service_satisfaction %v", res.Status, res.Body["service_satisfaction"])
			}
			row := rows[0].(map[string]any)
			rate := row["satisfaction_rate"].(map[string]any)
			if row["code"] != "T07" || row["rated"] != 4.0 || row["unsatisfied"] != 2.0 || rate["percent"] != 50.0 {
				t.Errorf("T07's service satisfaction = %v, want 4 rated, 2 unsatisfied, 50%%", row)
			}
			if _, ok := res.Body["totals"].(map[string]any)["satisfaction_rate"]; !ok {
				t.Error("case satisfaction is gone from the statistics")
			}
		})
	}
}

// TestEvaluationRateLimited: ratings share the tip submission's limit.
func TestEvaluationRateLimited(t *testing.T) {
	app := apptest.Start(t, apptest.Options{Backend: testenv.Backends(t)[0], NoWorker: true,
		Env: map[string]string{"JIANFU_RATE_LIMITS": "submit=2/1h,lookup=60/10m,global_submit=600/1m,global_lookup=1200/1m"}})
	app.CreateUnit(t, "T07", "城关镇", models.UnitTownship)
	c := app.Client()
	var last int
	for i := 0; i < 3; i++ {
		last = c.JSON(t, "POST", "/api/v1/evaluations", map[string]string{"unit": "T07", "rating": "satisfied"}).Status
	}
	if last != http.StatusTooManyRequests {
		t.Errorf("third rating within the limit of 2: %d, want 429", last)
	}
}
