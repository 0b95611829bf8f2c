package api

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"jianfu/models"
	"jianfu/models/evaluation"
)

// Service evaluation by scan (DESIGN §10.6): anyone rates a unit's
// service without logging in; the store keeps the unit, the rating, the
// comment and the day, nothing about the person. The routes are limited
// like a tip submission.

// unitEvaluationRequest is the body of POST /api/v1/evaluations.
type unitEvaluationRequest struct {
	Unit    string `json:"unit"`
	Rating  string `json:"rating"`
	Comment string `json:"comment"`
}

// maxEvaluationBody bounds a rating: 500 characters are at most 2 KB.
const maxEvaluationBody = 8 << 10

// createEvaluation answers POST /api/v1/evaluations.
func (e *evaluationSite) createEvaluation(c *gin.Context) {
	if !isJSON(c) {
		fail(c, newError(http.StatusUnsupportedMediaType, "unsupported_media_type", "请以 application/json 提交"))
		return
	}
	var req unitEvaluationRequest
	if err := decodeJSON(c, &req, maxEvaluationBody); err != nil {
		fail(c, err)
		return
	}
	ev, err := e.ev.AddEvaluation(c.Request.Context(), evaluation.EvaluationInput{Unit: req.Unit, Rating: req.Rating, Comment: req.Comment})
	if err != nil {
		fail(c, err)
		return
	}
	out := gin.H{"unit": ev.Unit.Code, "rating": ev.Rating, "offer_tip": ev.OfferTip, "message": "感谢您的评价，评价结果已记录。"}
	if ev.OfferTip {
		out["tip_form"] = "/?unit=" + url.QueryEscape(ev.Unit.Code)
		out["message"] = "感谢您的评价。您提出的问题如属形式主义、官僚主义加重基层负担，可以转为正式反映，办理结果可凭查询码查看。"
	}
	c.JSON(http.StatusCreated, out)
}

// ratePage is the /rate/{unit} page.
type ratePage struct {
	pageBase
	Unit    models.Unit
	Rating  string
	Comment string
	Done    bool // rated: the thank-you state
	Offer   bool // 不满意 with a comment: offer to file it as a tip
	Max     int
}

func (e *evaluationSite) renderRate(c *gin.Context, status int, d ratePage) {
	d.Title, d.CSRF, d.Max = "评价"+d.Unit.Name+"的服务", e.csrf.token(c), evaluation.MaxComment
	e.pages.Render(c, status, "rate", d)
}

// rateForm answers GET /rate/{unit}.
func (e *evaluationSite) rateForm(c *gin.Context) {
	u, ok := e.unitPage(c)
	if !ok {
		return
	}
	e.renderRate(c, http.StatusOK, ratePage{Unit: u})
}

// unitPage loads the unit of a public page; on failure it has answered.
func (e *evaluationSite) unitPage(c *gin.Context) (models.Unit, bool) {
	u, err := e.ev.UnitByCode(c.Request.Context(), c.Param("unit"))
	switch {
	case errors.Is(err, models.ErrNotFound):
		e.notFoundPage(c)
		return u, false
	case err != nil:
		e.pageFail(c, err)
		return u, false
	}
	return u, true
}

// readForm reads a small urlencoded form and checks its CSRF token; on
// failure it has answered with render.
func (e *evaluationSite) readForm(c *gin.Context, again func(status int, msg string)) bool {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxFormBody)
	if err := c.Request.ParseForm(); err != nil {
		ae := e.asAPIError(c, bodyError(err))
		again(ae.Status, ae.Message)
		return false
	}
	if !e.csrf.check(c, c.Request.PostForm.Get(csrfField)) {
		again(errCSRF.Status, errCSRF.Message)
		return false
	}
	return true
}

// rateSubmit answers POST /rate/{unit}: the thank-you state, with the
// offer to file a tip after an 不满意 with a comment.
func (e *evaluationSite) rateSubmit(c *gin.Context) {
	u, ok := e.unitPage(c)
	if !ok {
		return
	}
	d := ratePage{Unit: u}
	if !e.readForm(c, func(status int, msg string) { d.Error = msg; e.renderRate(c, status, d) }) {
		return
	}
	d.Rating, d.Comment = c.Request.PostForm.Get("rating"), c.Request.PostForm.Get("comment")
	ev, err := e.ev.AddEvaluation(c.Request.Context(), evaluation.EvaluationInput{Unit: u.Code, Rating: d.Rating, Comment: d.Comment})
	if err != nil {
		ae := e.asAPIError(c, err)
		if ae.Status >= 500 {
			e.pageFail(c, err)
			return
		}
		d.Error, d.Fields = ae.Message, ae.Fields
		e.renderRate(c, ae.Status, d)
		return
	}
	d.Done, d.Offer, d.Comment = true, ev.OfferTip, ev.Comment
	d.Notice = "感谢您的评价，评价结果已记录。评价不记录您的身份。"
	e.renderRate(c, http.StatusOK, d)
}

// rateToTip answers POST /rate/{unit}/tip: the tip form with the unit and
// the comment filled in. Nothing is stored until the person submits it.
func (e *evaluationSite) rateToTip(c *gin.Context) {
	u, ok := e.unitPage(c)
	if !ok {
		return
	}
	v := tipFormValues{Content: "", Township: u.Code}
	if !e.readForm(c, func(status int, msg string) { e.renderTipForm(c, status, v, pageBase{Error: msg}) }) {
		return
	}
	v.Content = c.Request.PostForm.Get("comment")
	e.renderTipForm(c, http.StatusOK, v, pageBase{Notice: "已带入您的评价意见，请补充具体情况后提交；提交后才会形成正式反映。"})
}
