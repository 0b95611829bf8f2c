package api

import (
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"jianfu/models"
	"jianfu/models/audit"
)

// The staff JSON API of the case workflow (DESIGN §4). Who may see and do
// what is decided in models (404 for what the user may not see, 403 for
// what they may see but not do, 409 for the wrong stage), so the console
// and the API cannot disagree. Every action answers the case page as the
// user now sees it.

// maxStaffJSON bounds a staff JSON body: a 5000-character report is at
// most 20 KB of UTF-8.
const maxStaffJSON = 64 << 10

// pathID reads the :id path parameter; anything but a positive number is
// a case that does not exist.
func pathID(c *gin.Context) (uint64, bool) {
	id, err := strconv.ParseUint(c.Param("id"), 10, 64)
	if err != nil || id == 0 {
		fail(c, errNotFound)
		return 0, false
	}
	return id, true
}

// readJSON decodes an optional JSON body: an empty body leaves v as it is.
func readJSON(c *gin.Context, v any) bool {
	if c.Request.ContentLength == 0 {
		return true
	}
	if !isJSON(c) {
		fail(c, errMediaType)
		return false
	}
	if err := decodeJSON(c, v, maxStaffJSON); err != nil {
		fail(c, err)
		return false
	}
	return true
}

// respondCase answers with case id as p now sees it.
func (s *Server) respondCase(c *gin.Context, id uint64) {
	d, err := s.Store.CaseDetail(c.Request.Context(), principal(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, d)
}

func (s *Server) listCases(c *gin.Context) {
	f := models.CaseFilter{Stage: c.Query("stage"), Unit: c.Query("unit"), Category: c.Query("category"),
		Q: c.Query("q"), From: c.Query("from"), To: c.Query("to"), Sort: c.Query("sort"), Cursor: c.Query("cursor")}
	if v := c.Query("overdue"); v != "" {
		b, ok := parseBool(v)
		if !ok {
			fail(c, fieldError("overdue", "overdue 应为 true 或 false"))
			return
		}
		f.Overdue = &b
	}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			fail(c, fieldError("limit", "limit 应为数字"))
			return
		}
		f.Limit = n
	}
	page, err := s.Store.ListCases(c.Request.Context(), principal(c), f)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, page)
}

func (s *Server) caseDetail(c *gin.Context) {
	if id, ok := pathID(c); ok {
		s.respondCase(c, id)
	}
}

// caseAction runs one case action with its JSON body req, then answers the
// case page.
func caseAction[T any](s *Server, run func(*gin.Context, models.Principal, uint64, T) error) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, ok := pathID(c)
		if !ok {
			return
		}
		var req T
		if !readJSON(c, &req) {
			return
		}
		if err := run(c, principal(c), id, req); err != nil {
			fail(c, err)
			return
		}
		s.respondCase(c, id)
	}
}

// assignmentAction runs one assignment action, then answers the page of
// the assignment's case.
func assignmentAction[T any](s *Server, run func(*gin.Context, models.Principal, uint64, T) (uint64, error)) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, ok := pathID(c)
		if !ok {
			return
		}
		var req T
		if !readJSON(c, &req) {
			return
		}
		caseID, err := run(c, principal(c), id, req)
		if err != nil {
			fail(c, err)
			return
		}
		s.respondCase(c, caseID)
	}
}

type noteRequest struct {
	Note string `json:"note"`
}

type reasonRequest struct {
	Reason string `json:"reason"`
}

type mergeRequest struct {
	Into uint64 `json:"into"`
}

type assignRequest struct {
	Assignments []struct {
		Unit string `json:"unit"`
		Role string `json:"role"`
	} `json:"assignments"`
	VerifyTeam []string `json:"verify_team"`
	Note       string   `json:"note"`
}

type verificationRequest struct {
	Finding              string `json:"finding"`
	Report               string `json:"report"`
	TransferToDiscipline bool   `json:"transfer_to_discipline"`
}

type textRequest struct {
	Text string `json:"text"`
}

type reviewRequest struct {
	Decision string `json:"decision"`
	Comment  string `json:"comment"`
}

type extensionRequest struct {
	WorkingDays int    `json:"working_days"`
	Reason      string `json:"reason"`
}

func (s *Server) acceptCase() gin.HandlerFunc {
	return caseAction(s, func(c *gin.Context, p models.Principal, id uint64, r noteRequest) error {
		return s.Store.AcceptCase(c.Request.Context(), p, models.AcceptParams{CaseID: id, Note: r.Note})
	})
}

func (s *Server) rejectCase() gin.HandlerFunc {
	return caseAction(s, func(c *gin.Context, p models.Principal, id uint64, r reasonRequest) error {
		return s.Store.RejectCase(c.Request.Context(), p, models.RejectParams{CaseID: id, Reason: r.Reason})
	})
}

func (s *Server) mergeCase() gin.HandlerFunc {
	return caseAction(s, func(c *gin.Context, p models.Principal, id uint64, r mergeRequest) error {
		return s.Store.MergeCase(c.Request.Context(), p, models.MergeParams{CaseID: id, Into: r.Into})
	})
}

func (s *Server) assignCase() gin.HandlerFunc {
	return caseAction(s, func(c *gin.Context, p models.Principal, id uint64, r assignRequest) error {
		in := models.AssignParams{CaseID: id, VerifyTeam: r.VerifyTeam, Note: r.Note}
		for _, a := range r.Assignments {
			in.Assignments = append(in.Assignments, models.AssignmentInput{Unit: a.Unit, Role: a.Role})
		}
		return s.Store.AssignCase(c.Request.Context(), p, in)
	})
}

func (s *Server) recordVerification() gin.HandlerFunc {
	return caseAction(s, func(c *gin.Context, p models.Principal, id uint64, r verificationRequest) error {
		return s.Store.RecordVerification(c.Request.Context(), p, models.VerificationParams{CaseID: id,
			Finding: r.Finding, Report: r.Report, TransferToDiscipline: r.TransferToDiscipline})
	})
}

func (s *Server) replyToTipster() gin.HandlerFunc {
	return caseAction(s, func(c *gin.Context, p models.Principal, id uint64, r textRequest) error {
		return s.Store.ReplyToTipster(c.Request.Context(), p, models.ReplyParams{CaseID: id, Text: r.Text})
	})
}

func (s *Server) reopenCase() gin.HandlerFunc {
	return caseAction(s, func(c *gin.Context, p models.Principal, id uint64, r reasonRequest) error {
		return s.Store.ReopenCase(c.Request.Context(), p, models.ReopenParams{CaseID: id, Reason: r.Reason})
	})
}

func (s *Server) closeCase() gin.HandlerFunc {
	return caseAction(s, func(c *gin.Context, p models.Principal, id uint64, r noteRequest) error {
		return s.Store.CloseCase(c.Request.Context(), p, models.CloseParams{CaseID: id, Note: r.Note})
	})
}

// revealContact answers the tipster's contact details (office and admin
// only; the store logs who and why on the timeline). The answer must not
// be cached anywhere.
func (s *Server) revealContact(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	var req reasonRequest
	if !readJSON(c, &req) {
		return
	}
	out, err := s.Store.RevealContact(c.Request.Context(), principal(c), models.RevealParams{CaseID: id, Reason: req.Reason})
	if err != nil {
		fail(c, err)
		return
	}
	s.audit(c, audit.Entry{Action: audit.ActionContactReveal, Target: "case:" + strconv.FormatUint(id, 10)})
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, out)
}

// submitRectification takes a unit's report as JSON {"report"} or as
// multipart (report + evidence files, checked like the tipster's).
func (s *Server) submitRectification(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	in := models.RectificationParams{AssignmentID: id}
	mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	switch mt {
	case "application/json":
		var req struct {
			Report string `json:"report"`
		}
		if err := decodeJSON(c, &req, maxStaffJSON); err != nil {
			fail(c, err)
			return
		}
		in.Report = req.Report
	case "multipart/form-data":
		form, err := readMultipart(c, s.fileRules())
		if err != nil {
			fail(c, err)
			return
		}
		for k := range form.Values {
			if k != "report" && k != "csrf_token" {
				fail(c, fieldError(k, "未知字段："+k))
				return
			}
		}
		in.Report, in.Files = form.Values["report"], form.Files
	default:
		fail(c, errMediaType)
		return
	}
	caseID, err := s.Store.SubmitRectification(c.Request.Context(), principal(c), in)
	if err != nil {
		fail(c, err)
		return
	}
	s.respondCase(c, caseID)
}

func (s *Server) reviewRectification() gin.HandlerFunc {
	return assignmentAction(s, func(c *gin.Context, p models.Principal, id uint64, r reviewRequest) (uint64, error) {
		return s.Store.ReviewRectification(c.Request.Context(), p, models.ReviewParams{AssignmentID: id,
			Decision: strings.TrimSpace(r.Decision), Comment: r.Comment})
	})
}

func (s *Server) requestExtension() gin.HandlerFunc {
	return assignmentAction(s, func(c *gin.Context, p models.Principal, id uint64, r extensionRequest) (uint64, error) {
		return s.Store.RequestExtension(c.Request.Context(), p, models.ExtensionParams{AssignmentID: id,
			WorkingDays: r.WorkingDays, Reason: r.Reason})
	})
}

func (s *Server) decideExtension() gin.HandlerFunc {
	return assignmentAction(s, func(c *gin.Context, p models.Principal, id uint64, r reviewRequest) (uint64, error) {
		return s.Store.DecideExtension(c.Request.Context(), p, models.ExtensionDecisionParams{AssignmentID: id,
			Decision: strings.TrimSpace(r.Decision), Comment: r.Comment})
	})
}
