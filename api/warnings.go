package api

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"jianfu/models/registry"
)

// listWarnings answers GET /api/v1/warnings?unit=&rule=&limit=&cursor=:
// the early warnings (智能预警) as of now, most urgent first, each with its
// reason and evidence, a page at a time (limit 1–100, 50 by default), with
// the total of all pages. A liaison gets their own unit's, without case
// numbers.
func (s *Server) listWarnings(c *gin.Context) {
	wp := registry.WarningParams{Unit: strings.TrimSpace(c.Query("unit")), Rule: c.Query("rule")}
	if _, ok := registry.RuleNames[wp.Rule]; wp.Rule != "" && !ok {
		fail(c, fieldError("rule", "rule 应为 quota_near、quota_exceeded、unplanned_inspection、forbidden_demand、hotspot 或 repeat_during_rectification"))
		return
	}
	limit, err := queryInt(c, "limit", 50, 1, 100, "limit 应为 1 到 100")
	if err != nil {
		fail(c, err)
		return
	}
	ws, err := s.registry().Warnings(c.Request.Context(), principal(c), wp)
	if err != nil {
		fail(c, err)
		return
	}
	page, next, err := registry.WarningsPage(ws, c.Query("cursor"), limit)
	if err != nil {
		fail(c, fieldError("cursor", "cursor 无效：请用上一页答复中的 next_cursor，或从第一页重新翻页"))
		return
	}
	if page == nil {
		page = []registry.Warning{}
	}
	c.JSON(http.StatusOK, gin.H{"items": page, "next_cursor": next, "total": len(ws)})
}
