package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"jianfu/models"
)

// disposalRequest is the body of POST /api/v1/cases/{id}/disposals.
type disposalRequest struct {
	Measure string `json:"measure"`
	Persons *int   `json:"persons"`
	Units   *int   `json:"units"`
	Note    string `json:"note"`
}

// addDisposal answers POST /api/v1/cases/{id}/disposals (office, admin):
// 201 {"id"}. The store decides 404, 403 and 409 as for every case action.
func (s *Server) addDisposal(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	var req disposalRequest
	if !readJSON(c, &req) {
		return
	}
	in := models.DisposalParams{CaseID: id, Measure: req.Measure, Note: req.Note}
	if req.Persons != nil {
		in.Persons = *req.Persons
	}
	if req.Units != nil {
		in.Units = *req.Units
	}
	did, err := s.Store.AddDisposal(c.Request.Context(), principal(c), in)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"id": did})
}

// verificationPartRequest is the body of POST /api/v1/cases/{id}/verification-parts.
type verificationPartRequest struct {
	Finding string `json:"finding"`
	Report  string `json:"report"`
}

// submitVerificationPart answers POST /api/v1/cases/{id}/verification-parts
// (a liaison of a unit of the verification team): 201 with the case page.
func (s *Server) submitVerificationPart(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	var req verificationPartRequest
	if !readJSON(c, &req) {
		return
	}
	err := s.Store.SubmitVerificationPart(c.Request.Context(), principal(c),
		models.VerificationPartParams{CaseID: id, Finding: req.Finding, Report: req.Report})
	if err != nil {
		fail(c, err)
		return
	}
	d, err := s.Store.CaseDetail(c.Request.Context(), principal(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, d)
}

// questionRequest is the body of POST /api/v1/cases/{id}/questions.
type questionRequest struct {
	Text string `json:"text"`
}

// askTipster answers POST /api/v1/cases/{id}/questions (office, admin; in
// collect or verify): 201 {"id"}.
func (s *Server) askTipster(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	var req questionRequest
	if !readJSON(c, &req) {
		return
	}
	qid, err := s.Store.AskTipster(c.Request.Context(), principal(c), models.QuestionParams{CaseID: id, Text: req.Text})
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"id": qid})
}

// questionsJSON is the lookup's questions: [{"id", "text", "answered", "at"}].
func questionsJSON(qs []models.PublicEvent) []gin.H {
	out := make([]gin.H, len(qs))
	for i, q := range qs {
		out[i] = gin.H{"id": q.ID, "text": q.Text, "answered": q.Answered, "at": q.At.Format(time.RFC3339)}
	}
	return out
}
