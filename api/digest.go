package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"jianfu/models"
)

// digestRoles may preview digests: the office and leaders read them, and
// administrators set units and users up.
var digestRoles = []string{models.RoleOffice, models.RoleAdmin, models.RoleLeader}

// previewDigest answers GET /api/v1/digests/preview?unit=CODE with what that
// unit's weekly digest would list now, and without unit with the summary
// for leaders and the office. The mail itself is rendered by the worker;
// this is the same data as JSON.
func (s *Server) previewDigest(c *gin.Context) {
	ctx := c.Request.Context()
	week := s.Store.CurrentWeek()
	code := c.Query("unit")
	if code == "" {
		d, err := s.Store.SummaryDigest(ctx)
		if err != nil {
			fail(c, err)
			return
		}
		units := make([]gin.H, 0, len(d.Units))
		for _, u := range d.Units {
			units = append(units, gin.H{"unit": u.Code, "name": u.Name, "overdue": u.Overdue, "due_soon": u.DueSoon, "waiting": u.Waiting})
		}
		oldest := make([]gin.H, 0, len(d.Oldest))
		for _, o := range d.Oldest {
			oldest = append(oldest, gin.H{"case_id": o.CaseID, "title": o.Title, "stage": o.Stage, "due_at": o.DueAt,
				"workdays_overdue": o.WorkdaysOverdue, "units": nonNil(o.Units), "link": s.caseLink(o.CaseID)})
		}
		c.JSON(http.StatusOK, gin.H{
			"scope": models.ScopeSummary, "week": week, "at": d.At, "recipients": nonNil(d.To),
			"units": units, "oldest_overdue": oldest,
			"overdue_assignments": d.OverdueAssignments, "overdue_stages": d.OverdueStages,
			"year": d.Year, "received": d.Received, "accepted": d.Accepted, "closed": d.Closed, "closure_rate": d.ClosureRate,
			"would_send": len(d.To) > 0,
		})
		return
	}
	d, err := s.Store.UnitDigest(ctx, code)
	if err != nil {
		fail(c, err)
		return
	}
	items := func(its []models.DigestItem) []gin.H {
		out := make([]gin.H, 0, len(its))
		for _, it := range its {
			out = append(out, gin.H{"case_id": it.CaseID, "assignment_id": it.AssignmentID, "title": it.Title,
				"stage": it.Stage, "role": it.Role, "status": it.Status, "due_at": it.DueAt,
				"workdays_overdue": it.WorkdaysOverdue, "link": s.caseLink(it.CaseID)})
		}
		return out
	}
	c.JSON(http.StatusOK, gin.H{
		"scope": models.UnitScope(d.Unit.Code), "week": week, "at": d.At,
		"unit": gin.H{"code": d.Unit.Code, "name": d.Unit.Name, "kind": d.Unit.Kind}, "recipients": nonNil(d.To),
		"overdue": items(d.Overdue), "due_soon": items(d.DueSoon), "due_soon_days": int(models.DueSoonWindow / (24 * time.Hour)),
		"would_send": !d.Empty() && len(d.To) > 0,
	})
}

func (s *Server) caseLink(id uint64) string {
	return s.Config.BaseURL + "/console/cases/" + strconv.FormatUint(id, 10)
}

// nonNil keeps empty lists as [] in JSON.
func nonNil(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}
