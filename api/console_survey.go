package api

import (
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"jianfu/models"
	"jianfu/models/evaluation"
)

// Console pages of 码上评议 for the administrator: define surveys, print
// one-time code slips, read the results; print every unit's poster.

type adminSurveysData struct {
	consolePage
	Section string
	Surveys []surveyResult
	// Form keeps the definition as typed on an error.
	FormTitle, FormQuestions string
}

type surveyResult struct {
	evaluation.SurveyView
	Results evaluation.Results
}

func (e *evaluationSite) adminSurveysPage(c *gin.Context, status int, d adminSurveysData) {
	ctx := c.Request.Context()
	svs, err := e.ev.Surveys(ctx)
	if err != nil {
		fail(c, err)
		return
	}
	for _, sv := range svs {
		r, err := e.ev.Results(ctx, sv.ID, "", "")
		if err != nil {
			fail(c, err)
			return
		}
		d.Surveys = append(d.Surveys, surveyResult{SurveyView: sv, Results: r})
	}
	e.con.render(c, status, "admin_surveys", d)
}

// consoleSurveys answers GET /console/admin/surveys.
func (e *evaluationSite) consoleSurveys(c *gin.Context) {
	d := adminSurveysData{consolePage: e.con.page(c, "干部问卷", "admin"), Section: "surveys"}
	if c.Query("done") == "survey" {
		d.Notice = "问卷已创建，可以生成答卷码。"
	}
	e.adminSurveysPage(c, http.StatusOK, d)
}

// parseQuestions reads the console's definition: one question a line,
// "题目|选项1|选项2…" (| or ｜), a leading * marks the effect question.
func parseQuestions(text string) []evaluation.QuestionInput {
	var qs []evaluation.QuestionInput
	for _, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		var q evaluation.QuestionInput
		if rest, ok := strings.CutPrefix(line, "*"); ok {
			q.Effect, line = true, rest
		} else if rest, ok := strings.CutPrefix(line, "＊"); ok {
			q.Effect, line = true, rest
		}
		parts := strings.FieldsFunc(line, func(r rune) bool { return r == '|' || r == '｜' })
		if len(parts) > 0 {
			q.Text, q.Options = parts[0], parts[1:]
		}
		qs = append(qs, q)
		if len(qs) > evaluation.MaxQuestions {
			break
		}
	}
	return qs
}

// consoleCreateSurvey answers POST /console/admin/surveys.
func (e *evaluationSite) consoleCreateSurvey(c *gin.Context) {
	d := adminSurveysData{consolePage: e.con.page(c, "干部问卷", "admin"), Section: "surveys",
		FormTitle: c.PostForm("title"), FormQuestions: c.PostForm("questions")}
	_, err := e.ev.CreateSurvey(c.Request.Context(), evaluation.SurveyInput{Title: d.FormTitle, Questions: parseQuestions(d.FormQuestions)})
	var ve *models.ValidationError
	switch {
	case errors.As(err, &ve):
		d.Error, d.Fields = "问卷未创建："+firstMessage(ve.Fields), ve.Fields
		e.adminSurveysPage(c, http.StatusBadRequest, d)
	case err != nil:
		fail(c, err)
	default:
		c.Redirect(http.StatusSeeOther, "/console/admin/surveys?done=survey")
	}
}

type slipsPage struct {
	pageBase
	Survey    string
	SurveyURL string
	Slips     []slip
}

type slip struct {
	Code string
	QR   template.HTML // drawn by qrSVG from our own URL and a generated code
}

// consoleIssueCodes answers POST /console/admin/surveys/{id}/codes: the
// printable slips, shown once.
func (e *evaluationSite) consoleIssueCodes(c *gin.Context) {
	id, ok := surveyID(c)
	if !ok {
		return
	}
	sv, err := e.ev.Survey(c.Request.Context(), id)
	if err != nil {
		fail(c, err)
		return
	}
	n, _ := strconv.Atoi(strings.TrimSpace(c.PostForm("count")))
	codes, err := e.ev.IssueCodes(c.Request.Context(), id, n)
	var ve *models.ValidationError
	if errors.As(err, &ve) {
		d := adminSurveysData{consolePage: e.con.page(c, "干部问卷", "admin"), Section: "surveys"}
		d.Error = "未生成答卷码：" + firstMessage(ve.Fields)
		e.adminSurveysPage(c, http.StatusBadRequest, d)
		return
	}
	if err != nil {
		fail(c, err)
		return
	}
	page := slipsPage{pageBase: pageBase{Title: "答卷码纸条 · " + sv.Title}, Survey: sv.Title,
		SurveyURL: e.Config.BaseURL + "/survey"}
	for _, code := range codes {
		svg, err := qrSVG(e.surveyURL(code))
		if err != nil {
			fail(c, err)
			return
		}
		page.Slips = append(page.Slips, slip{Code: code, QR: template.HTML(svg)})
	}
	e.pages.Render(c, http.StatusOK, "survey_slips", page)
}
