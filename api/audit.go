package api

import (
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"jianfu/models"
	"jianfu/models/audit"
)

// The audit log (DESIGN §10.2) is read by the auditor alone: not even the
// administrator, whose actions it records, may read it (三员分立).

var auditRoles = []string{models.RoleAuditor}

// auditFilter reads from, to (dates in Asia/Shanghai, to inclusive, or
// RFC 3339 times), actor, action, cursor and limit.
func auditFilter(c *gin.Context) (audit.Filter, error) {
	var f audit.Filter
	var err error
	if f.From, err = auditTime(c.Query("from"), false); err != nil {
		return f, fieldError("from", "起始时间应为 2026-01-02 这样的日期")
	}
	if f.To, err = auditTime(c.Query("to"), true); err != nil {
		return f, fieldError("to", "截止时间应为 2026-01-31 这样的日期")
	}
	f.Actor = strings.TrimSpace(c.Query("actor"))
	f.Action = strings.TrimSpace(c.Query("action"))
	if len(f.Actor) > 64 || len(f.Action) > 48 {
		return f, fieldError("actor", "筛选条件过长")
	}
	if v := c.Query("cursor"); v != "" {
		if f.Cursor, err = strconv.ParseUint(v, 10, 63); err != nil {
			return f, fieldError("cursor", "翻页参数不正确")
		}
	}
	if f.Limit, err = queryInt(c, "limit", f.Limit, 1, 500, "每页条数应为1至500"); err != nil {
		return f, err
	}
	return f, nil
}

func auditTime(v string, end bool) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseInLocation("2006-01-02", v, models.Shanghai()); err == nil {
		if end {
			d = d.AddDate(0, 0, 1)
		}
		return d, nil
	}
	return time.Parse(time.RFC3339, v)
}

func (s *Server) listAudit(c *gin.Context) {
	f, err := auditFilter(c)
	if err != nil {
		fail(c, err)
		return
	}
	rows, next, err := s.Audit.List(c.Request.Context(), f)
	if err != nil {
		fail(c, err)
		return
	}
	out := gin.H{"items": rows, "next_cursor": ""}
	if next != 0 {
		out["next_cursor"] = strconv.FormatUint(next, 10)
	}
	if rows == nil {
		out["items"] = []audit.Record{}
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, out)
}

// exportAudit streams the selected rows as CSV (UTF-8 with a BOM, for
// Excel); the export itself is audited first, so it lists itself.
func (s *Server) exportAudit(c *gin.Context) {
	f, err := auditFilter(c)
	if err != nil {
		fail(c, err)
		return
	}
	f.Cursor, f.Limit = 0, 0
	s.audit(c, audit.Entry{Action: audit.ActionAuditExport, Target: "audit_log",
		Detail: "from=" + c.Query("from") + " to=" + c.Query("to") + " actor=" + f.Actor + " action=" + f.Action})
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", `attachment; filename="audit-log.csv"`)
	c.Header("Cache-Control", "no-store")
	c.Status(http.StatusOK)
	c.Writer.WriteString("\ufeff")
	w := csv.NewWriter(c.Writer)
	w.Write([]string{"id", "时间（北京时间）", "操作人", "角色", "客户端", "操作", "对象", "结果", "说明"})
	err = s.Audit.Each(c.Request.Context(), f, func(r audit.Record) error {
		return w.Write([]string{strconv.FormatUint(r.ID, 10), r.At.In(models.Shanghai()).Format("2006-01-02 15:04:05"),
			csvCell(r.Actor), r.ActorRole, r.Client, r.Action, csvCell(r.Target), r.Outcome, csvCell(r.Detail)})
	})
	w.Flush()
	if err != nil {
		s.Logger.ErrorContext(c.Request.Context(), "audit export cut short", "err", err)
	}
}

// csvCell keeps a spreadsheet from reading a cell as a formula (a
// username tried at the login can be anything).
func csvCell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}
