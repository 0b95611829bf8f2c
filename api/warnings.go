package api

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"jianfu/models/registry"
)

// listWarnings answers GET /api/v1/warnings?unit=&rule=: the early
// warnings (智能预警) as of now, most urgent first, each with its reason
// and evidence. A liaison gets their own unit's, without case numbers.
func (s *Server) listWarnings(c *gin.Context) {
	wp := registry.WarningParams{Unit: strings.TrimSpace(c.Query("unit")), Rule: c.Query("rule")}
	if _, ok := registry.RuleNames[wp.Rule]; wp.Rule != "" && !ok {
		fail(c, fieldError("rule", "rule 应为 quota_near、quota_exceeded、unplanned_inspection、forbidden_demand、hotspot 或 repeat_during_rectification"))
		return
	}
	ws, err := s.registry().Warnings(c.Request.Context(), principal(c), wp)
	if err != nil {
		fail(c, err)
		return
	}
	if ws == nil {
		ws = []registry.Warning{}
	}
	c.JSON(http.StatusOK, gin.H{"items": ws})
}
