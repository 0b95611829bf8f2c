package api

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"jianfu/models"
	"jianfu/models/registry"
)

// Console pages of the online monitoring of burdens: the registry (list
// with filters, the entry form of each kind, import with a preview) and
// the warnings. They call the same registry store as the JSON API.

type registryPageData struct {
	consolePage
	Kind      string
	Kinds     []string
	KindNames map[string]string
	Filter    registry.ListParams
	Items     []registry.EntryView
	Units     []models.Unit
	Form      url.Values        // the entry form as typed, after an error
	Fields    map[string]string // its field errors
	Import    *registry.ImportReport
	CanWrite  bool
	pageError string // shown above the page after a refused form
}

// LevelName, StatusName and DemandNames spell enumerations in zh-CN.
func (registryPageData) LevelName(v string) string  { return registry.LevelNames[v] }
func (registryPageData) StatusName(v string) string { return registry.StatusNames[v] }
func (registryPageData) DemandNames(e registry.EntryView) string {
	var out []string
	for _, d := range e.DemandList() {
		out = append(out, registry.DemandNames[d])
	}
	return strings.Join(out, "、")
}

// Checked reports whether a checkbox of the typed form was on.
func (d registryPageData) Checked(name, value string) bool {
	for _, v := range d.Form[name] {
		if v == value {
			return true
		}
	}
	return false
}

func (con *console) registryPage(c *gin.Context, status int, d registryPageData) {
	ctx := c.Request.Context()
	p := principal(c)
	d.consolePage = con.page(c, "备案管理", "registry")
	if d.pageError != "" {
		d.consolePage.Error = d.pageError
	}
	d.Kinds, d.KindNames = registry.Kinds, registry.KindNames
	d.CanWrite = p.IsOffice() || p.Role == models.RoleLiaison
	if d.Kind == "" {
		d.Kind = c.DefaultQuery("kind", registry.KindDocuments)
	}
	if !registry.ValidKind(d.Kind) {
		fail(c, errNotFound)
		return
	}
	lp, err := registryListParams(c, d.Kind)
	if err != nil {
		fail(c, err)
		return
	}
	lp.Limit = 200
	d.Filter = lp
	if d.Items, err = con.registry().List(ctx, p, lp); err != nil {
		fail(c, err)
		return
	}
	if p.IsOffice() || p.Role == models.RoleLeader {
		if d.Units, err = con.Store.Units(ctx, ""); err != nil {
			fail(c, err)
			return
		}
	}
	d.Fields = mergeFields(d.Fields, nil)
	con.render(c, status, "registry", d)
}

func mergeFields(a, b map[string]string) map[string]string {
	if a == nil {
		a = map[string]string{}
	}
	for k, v := range b {
		a[k] = v
	}
	return a
}

// registryList is GET /console/registry?kind=&unit=&year=&status=.
func (con *console) registryList(c *gin.Context) {
	con.registryPage(c, http.StatusOK, registryPageData{})
}

// entryInputOf reads the entry form.
func entryInputOf(v url.Values) (registry.EntryInput, map[string]string) {
	f := map[string]string{}
	in := registry.EntryInput{Unit: strings.TrimSpace(v.Get("unit")), Number: v.Get("number"), Title: v.Get("title"),
		Level: v.Get("level"), IssuedOn: v.Get("issued_on"), HeldOn: v.Get("held_on"), Video: v.Get("video") == "1",
		StartOn: v.Get("start_on"), EndOn: v.Get("end_on"), Targets: v.Get("targets"), Planned: v.Get("planned") == "1",
		Merged: v.Get("merged") == "1", Name: v.Get("name"), Owner: v.Get("owner"), Status: v.Get("status"),
		Demands: v["demands"], RegisteredOn: v.Get("registered_on"), ClosedOn: v.Get("closed_on")}
	if m := strings.TrimSpace(v.Get("minutes")); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil {
			f["minutes"] = "会议时长应为整数（分钟）"
		}
		in.Minutes = n
	}
	return in, f
}

// registryCreate is POST /console/registry/{kind}: 303 back to the list,
// or the page again with the form as typed and the errors.
func (con *console) registryCreate(c *gin.Context) {
	kind := c.Param("kind")
	if !registry.ValidKind(kind) {
		fail(c, errNotFound)
		return
	}
	v := formValues(c)
	in, f := entryInputOf(v)
	var err error
	if len(f) == 0 {
		_, err = con.registry().Create(c.Request.Context(), principal(c), kind, in)
	} else {
		err = &models.ValidationError{Fields: f}
	}
	var ve *models.ValidationError
	switch {
	case err == nil:
		c.Redirect(http.StatusSeeOther, "/console/registry?kind="+kind+"&done=registry")
	case errors.As(err, &ve):
		con.registryPage(c, http.StatusBadRequest, registryPageData{Kind: kind, Form: v, Fields: ve.Fields,
			pageError: "未能备案：" + firstMessage(ve.Fields)})
	default:
		fail(c, err)
	}
}

// registryImport is POST /console/registry/{kind}/import: "preview"
// checks every row and shows what would be stored and what is refused;
// "import" stores the file whole, or nothing.
func (con *console) registryImport(c *gin.Context) {
	kind := c.Param("kind")
	if !registry.ValidKind(kind) {
		fail(c, errNotFound)
		return
	}
	data, action, err := readConsoleImport(c)
	if err != nil {
		fail(c, err)
		return
	}
	rep, err := con.registry().Import(c.Request.Context(), principal(c), registry.ImportParams{Kind: kind, Data: data,
		DryRun: action != "import"})
	var ve *models.ValidationError
	switch {
	case err == nil && action == "import" && rep.Stored > 0:
		c.Redirect(http.StatusSeeOther, "/console/registry?kind="+kind+"&done=registry_import")
		return
	case errors.As(err, &ve):
		con.registryPage(c, http.StatusBadRequest, registryPageData{Kind: kind, pageError: "未能导入：" + firstMessage(ve.Fields)})
		return
	case err != nil:
		fail(c, importError(err))
		return
	}
	status := http.StatusOK
	if len(rep.Refused) > 0 {
		status = http.StatusBadRequest
	}
	con.registryPage(c, status, registryPageData{Kind: kind, Import: &rep})
}

// readConsoleImport streams the console's import form: the CSRF token
// (checked already), the action, and the file, bounded as the API's.
func readConsoleImport(c *gin.Context) ([]byte, string, error) {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, registry.MaxImportBytes+64<<10)
	mr, err := multipartReader(c)
	if err != nil {
		return nil, "", err
	}
	var data []byte
	action := "preview"
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			if len(data) == 0 {
				return nil, "", fieldError("file", "请选择要导入的 xlsx 或 csv 文件")
			}
			return data, action, nil
		}
		if err != nil {
			return nil, "", bodyError(err)
		}
		switch part.FormName() {
		case "action":
			b, err := io.ReadAll(io.LimitReader(part, 16))
			if err != nil {
				return nil, "", bodyError(err)
			}
			action = strings.TrimSpace(string(b))
		case "file":
			if data, err = io.ReadAll(io.LimitReader(part, registry.MaxImportBytes+1)); err != nil {
				return nil, "", bodyError(err)
			}
			if len(data) > registry.MaxImportBytes {
				return nil, "", errTooLarge
			}
		default:
			_, _ = io.Copy(io.Discard, io.LimitReader(part, 64<<10))
		}
		part.Close()
	}
}

type warningsPageData struct {
	consolePage
	Warnings []registry.Warning
	Total    int
	// NextURL and FirstURL lead to the next page and back to the first
	// ("" where there is none).
	NextURL, FirstURL string
	Unit              string
	Rule              string
	Rules             map[string]string
}

// warningsPerPage is how many warnings the console lists on a page.
const warningsPerPage = 100

// warningsPage is GET /console/warnings?unit=&rule=&cursor=: every warning,
// or a unit's (the unit's page of warnings), a hundred a page; a liaison
// sees their own unit's. A cursor no page gave out starts at the first.
func (con *console) warningsPage(c *gin.Context) {
	wp := registry.WarningParams{Unit: strings.TrimSpace(c.Query("unit")), Rule: c.Query("rule")}
	if _, ok := registry.RuleNames[wp.Rule]; wp.Rule != "" && !ok {
		wp.Rule = ""
	}
	ws, err := con.registry().Warnings(c.Request.Context(), principal(c), wp)
	if err != nil {
		fail(c, err)
		return
	}
	cursor := c.Query("cursor")
	page, next, err := registry.WarningsPage(ws, cursor, warningsPerPage)
	if err != nil {
		cursor = ""
		page, next, _ = registry.WarningsPage(ws, "", warningsPerPage)
	}
	pageURL := func(cursor string) string {
		q := url.Values{}
		for k, v := range map[string]string{"unit": wp.Unit, "rule": wp.Rule, "cursor": cursor} {
			if v != "" {
				q.Set(k, v)
			}
		}
		return "/console/warnings?" + q.Encode()
	}
	d := warningsPageData{Warnings: page, Total: len(ws), Unit: wp.Unit, Rule: wp.Rule, Rules: registry.RuleNames}
	if next != "" {
		d.NextURL = pageURL(next)
	}
	if cursor != "" {
		d.FirstURL = pageURL("")
	}
	title := "智能预警"
	if wp.Unit != "" && len(ws) > 0 {
		title = ws[0].UnitName + "的预警"
	}
	d.consolePage = con.page(c, title, "warnings")
	con.render(c, http.StatusOK, "warnings", d)
}
