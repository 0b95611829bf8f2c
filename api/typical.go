package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"jianfu/models"
)

// Typical-case publication (典型问题通报): the office publishes a sanitized
// summary of a closed case; anyone can read the published summaries. The
// public answers carry only what the office wrote for publication, the
// category and the date: never the tip, the tipster or internal notes.

// typicalRoles may publish typical cases: the office (and administrators,
// who act as the office everywhere in the workflow).
var typicalRoles = []string{models.RoleOffice, models.RoleAdmin}

// typicalRequest is the body of POST /api/v1/cases/{id}/typical.
type typicalRequest struct {
	Title   string `json:"title"`
	Summary string `json:"summary"`
}

// publishTypical publishes (201) or revises (200) a closed case's summary.
func (s *Server) publishTypical(c *gin.Context) {
	id, err := strconv.ParseUint(c.Param("id"), 10, 64)
	if err != nil {
		fail(c, errNotFound)
		return
	}
	var req typicalRequest
	if err := decodeJSON(c, &req, maxJSONBody); err != nil {
		fail(c, err)
		return
	}
	tc, created, err := s.Store.PublishTypical(c.Request.Context(), principal(c),
		models.TypicalParams{CaseID: id, Title: req.Title, Summary: req.Summary})
	if err != nil {
		fail(c, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	c.JSON(status, gin.H{"id": tc.ID, "case_id": tc.CaseID, "title": tc.Title, "summary": tc.Summary,
		"published_at": tc.PublishedAt.Format(time.RFC3339)})
}

// typicalJSON is a published summary as the public sees it.
func typicalJSON(t models.PublicTypical) gin.H {
	return gin.H{"id": t.ID, "title": t.Title, "summary": t.Summary,
		"category":     gin.H{"code": t.CategoryCode, "name": t.CategoryName},
		"published_on": t.PublishedAt.In(models.Shanghai()).Format("2006-01-02")}
}

func typicalListParams(c *gin.Context) (models.TypicalListParams, error) {
	var p models.TypicalListParams
	if v := c.Query("cursor"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return p, fieldError("cursor", "cursor 无效")
		}
		p.Before = n
	}
	var err error
	if p.Limit, err = queryInt(c, "limit", p.Limit, 1, 100, "limit 应为 1 到 100"); err != nil {
		return p, err
	}
	return p, nil
}

// listTypical answers GET /api/v1/typical-cases (public), newest first,
// with cursor pagination.
func (s *Server) listTypical(c *gin.Context) {
	p, err := typicalListParams(c)
	if err != nil {
		fail(c, err)
		return
	}
	items, next, err := s.Store.TypicalCases(c.Request.Context(), p)
	if err != nil {
		fail(c, err)
		return
	}
	out := make([]gin.H, len(items))
	for i, t := range items {
		out[i] = typicalJSON(t)
	}
	cursor := ""
	if next != 0 {
		cursor = strconv.FormatUint(next, 10)
	}
	c.JSON(http.StatusOK, gin.H{"items": out, "next_cursor": cursor})
}

type typicalPage struct {
	pageBase
	Items      []models.PublicTypical
	NextCursor string
}

// typicalList is the public page of published summaries (GET /typical).
func (p *publicSite) typicalList(c *gin.Context) {
	q, err := typicalListParams(c)
	if err != nil {
		q = models.TypicalListParams{}
	}
	items, next, err := p.Store.TypicalCases(c.Request.Context(), q)
	if err != nil {
		fail(c, err)
		return
	}
	page := typicalPage{pageBase: pageBase{Title: "典型问题通报"}, Items: items}
	if next != 0 {
		page.NextCursor = strconv.FormatUint(next, 10)
	}
	p.pages.Render(c, http.StatusOK, "typical", page)
}
