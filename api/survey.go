package api

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"jianfu/models"
	"jianfu/models/evaluation"
)

// The cadre survey (干部问卷, DESIGN §10.6). An administrator defines the
// questions and prints one-time codes on slips; a cadre opens /survey
// from the slip's QR code (or types the code) and answers once. The code
// travels only to open the form; the store keeps no link from a code to
// the answers.

var (
	errCodeUnknown = newError(http.StatusNotFound, "survey_code_unknown", "答卷码不存在，请核对纸条上的答卷码后重新输入")
	errCodeUsed    = newError(http.StatusConflict, "survey_code_used", "该答卷码已经使用过，每个答卷码只能作答一次")
)

// codeError words the store's code errors; an unknown code counts as a
// miss against the client, like a wrong receipt.
func (e *evaluationSite) codeError(c *gin.Context, err error) error {
	switch {
	case errors.Is(err, evaluation.ErrCodeUnknown):
		e.guard.missed(c.GetString(ctxClientKey))
		return errCodeUnknown
	case errors.Is(err, evaluation.ErrCodeUsed):
		return errCodeUsed
	}
	return err
}

// surveyAnswersRequest is the body of POST /api/v1/surveys/answers:
// answers maps a question id to the 0-based option chosen.
type surveyAnswersRequest struct {
	Code    string         `json:"code"`
	Answers map[string]int `json:"answers"`
}

// answerSurvey answers POST /api/v1/surveys/answers.
func (e *evaluationSite) answerSurvey(c *gin.Context) {
	defer e.floor(time.Now())
	if !isJSON(c) {
		fail(c, newError(http.StatusUnsupportedMediaType, "unsupported_media_type", "请以 application/json 提交"))
		return
	}
	var req surveyAnswersRequest
	if err := decodeJSON(c, &req, maxFormBody); err != nil {
		fail(c, err)
		return
	}
	if len(req.Answers) > evaluation.MaxQuestions {
		fail(c, fieldError("answers", "答案数量超过了问卷的题目数"))
		return
	}
	answers := make(map[uint64]int, len(req.Answers))
	for k, v := range req.Answers {
		id, err := strconv.ParseUint(k, 10, 64)
		if err != nil {
			fail(c, fieldError("answers."+k, "问卷中没有这道题："+k))
			return
		}
		answers[id] = v
	}
	if err := e.ev.Answer(c.Request.Context(), req.Code, answers); err != nil {
		fail(c, e.codeError(c, err))
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, gin.H{"message": "感谢您参与问卷，答卷已匿名记录。"})
}

// surveyPage is the cadre's page: the code form, or the questions.
type surveyPage struct {
	pageBase
	Code    string
	Survey  *evaluation.SurveyView
	Chosen  map[uint64]int // kept on an error
	Done    bool
	Answers map[string]string // field errors by question id
}

// Picked reports whether option i of question q was chosen before.
func (d surveyPage) Picked(q uint64, i int) bool {
	v, ok := d.Chosen[q]
	return ok && v == i
}

// QuestionError is the message on question q, if any.
func (d surveyPage) QuestionError(q uint64) string {
	return d.Fields["answers."+strconv.FormatUint(q, 10)]
}

func (e *evaluationSite) renderSurvey(c *gin.Context, status int, d surveyPage) {
	d.Title, d.CSRF = "干部问卷", e.csrf.token(c)
	e.pages.Render(c, status, "survey", d)
}

// surveyForm answers GET /survey[?code=]: the code form, or the
// questions the code opens.
func (e *evaluationSite) surveyForm(c *gin.Context) {
	code := strings.TrimSpace(c.Query("code"))
	if code == "" {
		e.renderSurvey(c, http.StatusOK, surveyPage{})
		return
	}
	defer e.floor(time.Now())
	e.openSurvey(c, http.StatusOK, code, surveyPage{})
}

// openSurvey shows the questions of code with status, or the code form
// with the error.
func (e *evaluationSite) openSurvey(c *gin.Context, status int, code string, d surveyPage) {
	sv, err := e.ev.SurveyForCode(c.Request.Context(), code)
	if err != nil {
		ae := e.asAPIError(c, e.codeError(c, err))
		if ae.Status >= 500 {
			e.pageFail(c, err)
			return
		}
		e.renderSurvey(c, ae.Status, surveyPage{pageBase: pageBase{Error: ae.Message}, Code: code})
		return
	}
	d.Code, d.Survey = evaluation.NormalizeCode(code), &sv
	e.renderSurvey(c, status, d)
}

// surveySubmit answers POST /survey: the code form (field "code" only)
// opens the questions; with answers (fields q<ID>) it records them.
func (e *evaluationSite) surveySubmit(c *gin.Context) {
	defer e.floor(time.Now())
	if !e.readForm(c, func(status int, msg string) {
		e.renderSurvey(c, status, surveyPage{pageBase: pageBase{Error: msg}})
	}) {
		return
	}
	form := c.Request.PostForm
	code := strings.TrimSpace(form.Get("code"))
	if code == "" {
		e.renderSurvey(c, http.StatusBadRequest, surveyPage{pageBase: pageBase{Error: "请输入答卷码",
			Fields: map[string]string{"code": "请输入答卷码"}}})
		return
	}
	if form.Get("answering") == "" {
		e.openSurvey(c, http.StatusOK, code, surveyPage{})
		return
	}
	chosen := map[uint64]int{}
	for k, vs := range form {
		idText, ok := strings.CutPrefix(k, "q")
		if !ok {
			continue
		}
		id, err1 := strconv.ParseUint(idText, 10, 64)
		v, err2 := strconv.Atoi(vs[0])
		if err1 != nil || err2 != nil {
			continue // an unknown field: the question stays unanswered
		}
		chosen[id] = v
	}
	err := e.ev.Answer(c.Request.Context(), code, chosen)
	if err != nil {
		ae := e.asAPIError(c, e.codeError(c, err))
		if ae.Status >= 500 {
			e.pageFail(c, err)
			return
		}
		if len(ae.Fields) > 0 {
			e.openSurvey(c, ae.Status, code, surveyPage{pageBase: pageBase{Error: "还有题目未作答或选项无效，请按提示修改后提交",
				Fields: ae.Fields}, Chosen: chosen})
			return
		}
		e.renderSurvey(c, ae.Status, surveyPage{pageBase: pageBase{Error: ae.Message}, Code: code})
		return
	}
	e.renderSurvey(c, http.StatusOK, surveyPage{pageBase: pageBase{Notice: "感谢您参与问卷，答卷已匿名记录。"}, Done: true})
}

// ----------------------------------------------------------- staff API

// maxSurveyBody bounds a survey definition: 30 questions of 200
// characters and 10 options of 50 characters are under 64 KB.
const maxSurveyBody = 64 << 10

// adminCreateSurvey answers POST /api/v1/admin/surveys.
func (e *evaluationSite) adminCreateSurvey(c *gin.Context) {
	var in evaluation.SurveyInput
	if err := decodeJSON(c, &in, maxSurveyBody); err != nil {
		fail(c, err)
		return
	}
	sv, err := e.ev.CreateSurvey(c.Request.Context(), in)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, sv)
}

// adminSurveys answers GET /api/v1/admin/surveys.
func (e *evaluationSite) adminSurveys(c *gin.Context) {
	svs, err := e.ev.Surveys(c.Request.Context())
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"items": svs})
}

// surveyID reads the :id parameter; out of range is 404.
func surveyID(c *gin.Context) (uint64, bool) {
	id, err := strconv.ParseUint(c.Param("id"), 10, 63)
	if err != nil || id == 0 {
		fail(c, errNotFound)
		return 0, false
	}
	return id, true
}

// adminIssueCodes answers POST /api/v1/admin/surveys/{id}/codes
// {"count": N}: the codes, shown this once, and the address each opens.
func (e *evaluationSite) adminIssueCodes(c *gin.Context) {
	id, ok := surveyID(c)
	if !ok {
		return
	}
	var req struct {
		Count int `json:"count"`
	}
	if err := decodeJSON(c, &req, 1<<10); err != nil {
		fail(c, err)
		return
	}
	codes, err := e.ev.IssueCodes(c.Request.Context(), id, req.Count)
	if err != nil {
		fail(c, err)
		return
	}
	items := make([]gin.H, len(codes))
	for i, code := range codes {
		items[i] = gin.H{"code": code, "url": e.surveyURL(code)}
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, gin.H{"codes": items})
}

func (e *evaluationSite) surveyURL(code string) string {
	return e.Config.BaseURL + "/survey?code=" + url.QueryEscape(code)
}

// surveyResults answers GET /api/v1/surveys/{id}/results[?from=&to=]:
// counts and shares per question and option.
func (e *evaluationSite) surveyResults(c *gin.Context) {
	id, ok := surveyID(c)
	if !ok {
		return
	}
	from, to := c.Query("from"), c.Query("to")
	if from != "" || to != "" {
		if _, _, err := models.PeriodOfDates(from, to); err != nil {
			fail(c, err)
			return
		}
	}
	r, err := e.ev.Results(c.Request.Context(), id, from, to)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, r)
}
