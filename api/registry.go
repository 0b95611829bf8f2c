package api

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"jianfu/models"
	"jianfu/models/registry"
)

// The registry (备案) of the online monitoring of burdens (DESIGN §10.6):
// a liaison registers for their own unit, the office for any; leaders
// read. The store decides who may do what; these handlers decode, bound
// and answer. See docs/monitoring.md.

func (s *Server) registry() *registry.Store { return registry.New(s.Store) }

// kindParam is the {kind} of the path; an unknown kind is 404.
func kindParam(c *gin.Context) (string, bool) {
	k := c.Param("kind")
	if !registry.ValidKind(k) {
		fail(c, errNotFound)
		return "", false
	}
	return k, true
}

// entryJSON is an entry with the fields of its kind (DESIGN §10.6).
func entryJSON(e registry.EntryView) gin.H {
	h := gin.H{"id": e.ID, "kind": e.Kind, "unit": e.UnitCode, "unit_name": e.UnitName,
		"created_at": e.CreatedAt.UTC().Format("2006-01-02T15:04:05Z")}
	switch e.Kind {
	case registry.KindDocuments:
		h["number"], h["title"], h["level"], h["issued_on"] = e.Number, e.Title, e.Level, e.StartsOn
	case registry.KindMeetings:
		h["title"], h["held_on"], h["minutes"], h["level"], h["video"] = e.Title, e.StartsOn, e.Minutes, e.Level, e.Video
	case registry.KindInspections:
		h["title"], h["start_on"], h["end_on"], h["targets"] = e.Title, e.StartsOn, e.EndsOn, e.Targets
		h["planned"], h["merged"] = e.Planned, e.Merged
	default:
		demands := e.DemandList()
		if demands == nil {
			demands = []string{}
		}
		h["name"], h["owner"], h["status"], h["demands"], h["registered_on"] = e.Title, e.Owner, e.Status, demands, e.StartsOn
		if e.EndsOn != "" {
			h["closed_on"] = e.EndsOn
		}
	}
	return h
}

// listRegistry answers GET /api/v1/registry/{kind}?unit=&year=&status=&demand=1.
func (s *Server) listRegistry(c *gin.Context) {
	kind, ok := kindParam(c)
	if !ok {
		return
	}
	lp, err := registryListParams(c, kind)
	if err != nil {
		fail(c, err)
		return
	}
	es, err := s.registry().List(c.Request.Context(), principal(c), lp)
	if err != nil {
		fail(c, err)
		return
	}
	items := make([]gin.H, len(es))
	for i, e := range es {
		items[i] = entryJSON(e)
	}
	c.JSON(http.StatusOK, gin.H{"items": items})
}

func registryListParams(c *gin.Context, kind string) (registry.ListParams, error) {
	lp := registry.ListParams{Kind: kind, Unit: strings.TrimSpace(c.Query("unit")), Status: c.Query("status"),
		Demand: c.Query("demand") == "1" || c.Query("demand") == "true"}
	var err error
	if lp.Year, err = queryInt(c, "year", 0, 2000, 2100, "年份应为四位数字，如 2026"); err != nil {
		return lp, err
	}
	if lp.Status != "" {
		if _, ok := registry.StatusNames[lp.Status]; !ok {
			return lp, fieldError("status", "status 应为 active、closed 或 merged")
		}
	}
	return lp, nil
}

// createRegistry answers POST /api/v1/registry/{kind} → 201 with the entry.
func (s *Server) createRegistry(c *gin.Context) {
	kind, ok := kindParam(c)
	if !ok {
		return
	}
	var in registry.EntryInput
	if err := decodeJSON(c, &in, maxJSONBody); err != nil {
		fail(c, err)
		return
	}
	if len(in.Demands) > 10 {
		fail(c, fieldError("demands", "demands 最多3项"))
		return
	}
	e, err := s.registry().Create(c.Request.Context(), principal(c), kind, in)
	if err != nil {
		fail(c, err)
		return
	}
	v, err := s.registry().Get(c.Request.Context(), principal(c), e.ID)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, entryJSON(v))
}

// readImportFile reads the upload of an import: a multipart body with the
// file in "file" (the console form), or the file itself as the body (text/csv
// or the xlsx type). The body is bounded before any parsing.
func readImportFile(c *gin.Context) ([]byte, error) {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, registry.MaxImportBytes+64<<10)
	mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	switch mt {
	case "text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/octet-stream":
		b, err := io.ReadAll(c.Request.Body)
		if err != nil {
			return nil, bodyError(err)
		}
		return b, nil
	case "multipart/form-data":
	default:
		return nil, newError(http.StatusUnsupportedMediaType, "unsupported_media_type", "请以 multipart/form-data（字段 file）或 text/csv、xlsx 文件提交")
	}
	mr, err := multipartReader(c)
	if err != nil {
		return nil, err
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, fieldError("file", "请选择要导入的 xlsx 或 csv 文件")
		}
		if err != nil {
			return nil, bodyError(err)
		}
		if part.FormName() != "file" {
			_, _ = io.Copy(io.Discard, io.LimitReader(part, 64<<10))
			part.Close()
			continue
		}
		b, err := io.ReadAll(io.LimitReader(part, registry.MaxImportBytes+1))
		part.Close()
		if err != nil {
			return nil, bodyError(err)
		}
		if len(b) > registry.MaxImportBytes {
			return nil, errTooLarge
		}
		if len(b) == 0 {
			return nil, fieldError("file", "请选择要导入的 xlsx 或 csv 文件")
		}
		return b, nil
	}
}

// importError maps the import's own errors to answers.
func importError(err error) error {
	switch {
	case errors.Is(err, registry.ErrImportFormat):
		return newError(http.StatusUnsupportedMediaType, "unsupported_media_type", "文件不是可读取的 xlsx 或 UTF-8 编码的 csv")
	case errors.Is(err, registry.ErrTooManyRows):
		return newError(http.StatusRequestEntityTooLarge, "too_many_rows",
			fmt.Sprintf("一次最多导入%d行，请分批导入", registry.MaxImportRows))
	}
	return err
}

// importJSON is the row-by-row report of an import.
func importJSON(rep registry.ImportReport) gin.H {
	return gin.H{"kind": rep.Kind, "rows": rep.Rows, "accepted": rep.Accepted, "stored": rep.Stored, "refused": rep.Refused}
}

// importRegistry answers POST /api/v1/registry/{kind}/import[?dry_run=1]:
// 201 with the report when every row was stored; 200 with it for a dry
// run; 400 import_refused with it, and nothing stored, when any row is bad
// (fields name "第N行.column").
func (s *Server) importRegistry(c *gin.Context) {
	kind, ok := kindParam(c)
	if !ok {
		return
	}
	data, err := readImportFile(c)
	if err != nil {
		fail(c, err)
		return
	}
	dry := c.Query("dry_run") == "1" || c.Query("dry_run") == "true"
	rep, err := s.registry().Import(c.Request.Context(), principal(c), registry.ImportParams{Kind: kind, Data: data, DryRun: dry})
	if err != nil {
		fail(c, importError(err))
		return
	}
	switch {
	case len(rep.Refused) > 0:
		c.AbortWithStatusJSON(http.StatusBadRequest, gin.H{"error": refusedError(rep), "report": importJSON(rep)})
	case dry:
		c.JSON(http.StatusOK, importJSON(rep))
	default:
		c.JSON(http.StatusCreated, importJSON(rep))
	}
}

// refusedError names every refused cell as 第N行.column.
func refusedError(rep registry.ImportReport) *apiError {
	fields := map[string]string{}
	for _, r := range rep.Refused {
		for k, v := range r.Fields {
			fields[fmt.Sprintf("第%d行.%s", r.Line, k)] = v
		}
	}
	first := rep.Refused[0]
	keys := make([]string, 0, len(first.Fields))
	for k := range first.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	msg := fmt.Sprintf("有%d行未通过检查，整个文件均未导入；第%d行：%s", len(rep.Refused), first.Line, first.Fields[keys[0]])
	return &apiError{Status: http.StatusBadRequest, Code: "import_refused", Message: msg, Fields: fields}
}

// quotasRequest is the body of PUT /api/v1/admin/quotas/{year}.
type quotasRequest struct {
	Quotas []registry.QuotaInput `json:"quotas"`
}

func yearParam(c *gin.Context) (int, bool) {
	y, err := strconv.Atoi(c.Param("year"))
	if err != nil || y < 2000 || y > 2100 {
		fail(c, errNotFound)
		return 0, false
	}
	return y, true
}

// adminQuotas answers GET /api/v1/admin/quotas/{year}.
func (s *Server) adminQuotas(c *gin.Context) {
	y, ok := yearParam(c)
	if !ok {
		return
	}
	qs, err := s.registry().Quotas(c.Request.Context(), y)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"year": y, "quotas": qs})
}

// adminReplaceQuotas answers PUT /api/v1/admin/quotas/{year}: the year's
// quotas are replaced by the body's, or nothing changes.
func (s *Server) adminReplaceQuotas(c *gin.Context) {
	y, ok := yearParam(c)
	if !ok {
		return
	}
	var req quotasRequest
	if err := decodeJSON(c, &req, maxJSONBody); err != nil {
		fail(c, err)
		return
	}
	if err := s.registry().ReplaceQuotas(c.Request.Context(), y, req.Quotas); err != nil {
		fail(c, err)
		return
	}
	s.adminQuotas(c)
}

// getMonitoring answers GET /api/v1/stats/monitoring?year=: the registry's
// figures of a year (压减率 and the rest), the numbers the report prints.
func (s *Server) getMonitoring(c *gin.Context) {
	y, err := queryInt(c, "year", s.Store.Now().In(models.Shanghai()).Year(), 2000, 2100, "年份应为四位数字，如 2026")
	if err != nil {
		fail(c, err)
		return
	}
	f, err := s.registry().Figures(c.Request.Context(), y)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, f)
}

// loadReport is loadStats plus the registry's part of the report (yearly,
// county-wide reports only): the report, its page and the exports use it;
// GET /api/v1/stats stays on the tip figures alone.
func (s *Server) loadReport(c *gin.Context) (*models.Stats, bool) {
	st, ok := s.loadStats(c)
	if !ok {
		return nil, false
	}
	if err := s.registry().AnnotateReport(c.Request.Context(), st); err != nil {
		fail(c, err)
		return nil, false
	}
	return st, true
}

// setRegistryStatus answers PUT /api/v1/registry/{apps|groups}/{id}
// {"status", "closed_on"}: an app closed or a group dissolved.
func (s *Server) setRegistryStatus(c *gin.Context) {
	kind, ok := kindParam(c)
	if !ok {
		return
	}
	id, err := strconv.ParseUint(c.Param("id"), 10, 64)
	if err != nil {
		fail(c, errNotFound)
		return
	}
	var in registry.StatusInput
	if err := decodeJSON(c, &in, maxJSONBody); err != nil {
		fail(c, err)
		return
	}
	v, err := s.registry().SetStatus(c.Request.Context(), principal(c), kind, id, in)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, entryJSON(v))
}
