package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"jianfu/attach"
	"jianfu/models"
	"jianfu/models/audit"
)

// The console's queue, case page and case actions. Each form calls the
// store method its JSON endpoint calls (api/staff.go); the store decides
// visibility (404), role (403) and stage (409), and the page only offers
// the actions the store lists as allowed now.

// ------------------------------------------------------------------ queue

// queueFilter is the queue's filter form as typed.
type queueFilter struct {
	Stage, Overdue, Unit, Category, Q, From, To, Sort string
}

func readQueueFilter(c *gin.Context) queueFilter {
	f := queueFilter{Stage: c.DefaultQuery("stage", "open"), Overdue: c.Query("overdue"), Unit: c.Query("unit"),
		Category: c.Query("category"), Q: strings.TrimSpace(c.Query("q")), From: c.Query("from"), To: c.Query("to"),
		Sort: c.DefaultQuery("sort", "due")}
	if f.Sort != "id" {
		f.Sort = "due"
	}
	if f.Stage == "all" {
		f.Stage = ""
	}
	return f
}

// caseFilter is the store's filter; closed cases have no due time, so they
// are listed newest first.
func (f queueFilter) caseFilter(cursor string) models.CaseFilter {
	cf := models.CaseFilter{Stage: f.Stage, Unit: f.Unit, Category: f.Category, Q: f.Q, From: f.From, To: f.To,
		Sort: f.effectiveSort(), Cursor: cursor, Limit: 25}
	if f.Overdue == "1" {
		yes := true
		cf.Overdue = &yes
	}
	return cf
}

func (f queueFilter) effectiveSort() string {
	if f.Stage == models.StageClosed {
		return "id"
	}
	return f.Sort
}

// URL is the queue with this filter (and a page cursor).
func (f queueFilter) URL(cursor string) string {
	q := url.Values{}
	stage := f.Stage
	if stage == "" {
		stage = "all"
	}
	for k, v := range map[string]string{"stage": stage, "overdue": f.Overdue, "unit": f.Unit, "category": f.Category,
		"q": f.Q, "from": f.From, "to": f.To, "sort": f.Sort, "cursor": cursor} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return "/console/cases?" + q.Encode()
}

// StageURL is the queue of one stage ("all" for every stage), the other
// filters kept.
func (f queueFilter) StageURL(stage string) string {
	g := f
	g.Stage = stage
	if stage == "all" {
		g.Stage = ""
	}
	return g.URL("")
}

// NewestURL is this filter's queue, newest first.
func (f queueFilter) NewestURL() string {
	g := f
	g.Sort = "id"
	return g.URL("")
}

// OverdueURL is the queue of overdue cases in this filter.
func (f queueFilter) OverdueURL() string {
	g := f
	g.Overdue = "1"
	return g.URL("")
}

type queuePageData struct {
	consolePage
	Filter     queueFilter
	Counts     models.StageCounts
	Items      []models.CaseSummary
	NextURL    string
	Paged      bool // not the first page
	Undated    []models.CaseSummary
	UndatedAll bool // Undated is complete
	Units      []models.Unit
	Categories []models.Category
	UnitNames  map[string]string
	Stages     []string
}

func (con *console) queue(c *gin.Context) {
	ctx := c.Request.Context()
	p := principal(c)
	d := queuePageData{consolePage: con.page(c, "我的待办", "queue"), Filter: readQueueFilter(c), Stages: models.Stages}
	switch p.Role {
	case models.RoleLiaison:
		d.Title = "本单位承办事项"
		d.Filter.Unit = ""
	case models.RoleLeader:
		d.Title = "案件一览"
	}
	var err error
	if d.Counts, err = con.Store.StageCounts(ctx, p); err != nil {
		fail(c, err)
		return
	}
	if d.Units, err = con.Store.Units(ctx, ""); err != nil {
		fail(c, err)
		return
	}
	if d.Categories, err = con.Store.Categories(ctx); err != nil {
		fail(c, err)
		return
	}
	d.UnitNames = unitNames(d.Units)
	cursor := c.Query("cursor")
	d.Paged = cursor != ""
	status := http.StatusOK
	page, err := con.Store.ListCases(ctx, p, d.Filter.caseFilter(cursor))
	var ve *models.ValidationError
	switch {
	case errors.As(err, &ve):
		d.Error, d.Fields = "筛选条件有误："+firstMessage(ve.Fields), ve.Fields
		status = http.StatusBadRequest
	case err != nil:
		fail(c, err)
		return
	}
	d.Items = page.Items
	if d.IsLiaison() {
		ownDue(d.Items)
	}
	if page.NextCursor != "" {
		d.NextURL = d.Filter.URL(page.NextCursor)
	}
	// Sorted by due time the store lists only cases that have one; open
	// cases without one (every report under review, say) follow on the
	// last page, so that nothing waiting for the office drops out of sight.
	if err == nil && page.NextCursor == "" && d.Filter.effectiveSort() == "due" && d.Filter.Overdue != "1" {
		f := d.Filter.caseFilter("")
		f.Sort, f.Limit = "id", 100
		rest, err := con.Store.ListCases(ctx, p, f)
		if err != nil {
			fail(c, err)
			return
		}
		if d.IsLiaison() {
			ownDue(rest.Items)
		}
		for _, it := range rest.Items {
			if it.DueAt == nil && it.Stage != models.StageClosed {
				d.Undated = append(d.Undated, it)
			}
		}
		d.UndatedAll = rest.NextCursor == ""
	}
	con.render(c, status, "queue", d)
}

// ownDue shows a liaison their own assignment's due time for a case in
// 督促整改: the case's is the earliest of all its units', which may be
// another unit's.
func ownDue(items []models.CaseSummary) {
	for i, it := range items {
		if it.Stage == models.StageRectify && len(it.Assignments) == 1 {
			items[i].DueAt, items[i].Overdue = it.Assignments[0].DueAt, it.Assignments[0].Overdue
		}
	}
}

func unitNames(us []models.Unit) map[string]string {
	m := make(map[string]string, len(us))
	for _, u := range us {
		m[u.Code] = u.Name
	}
	return m
}

// -------------------------------------------------------------- case page

// formState is a submitted case form shown again with its errors.
type formState struct {
	Action       string // the action the form takes
	AssignmentID uint64 // for assignment actions
	Values       url.Values
	Fields       map[string]string
	Error        string
}

// Is reports whether this is the form of action (on assignment a).
func (f formState) Is(action string, a uint64) bool { return f.Action == action && f.AssignmentID == a }

// Value is what the user typed in field name of the form action.
func (f formState) Value(action string, a uint64, name string) string {
	if !f.Is(action, a) {
		return ""
	}
	return f.Values.Get(name)
}

// Checked reports whether a checkbox or radio value was chosen.
func (f formState) Checked(action string, a uint64, name, value string) bool {
	if !f.Is(action, a) {
		return false
	}
	for _, v := range f.Values[name] {
		if v == value {
			return true
		}
	}
	return false
}

// Messages lists the form's field messages (for forms whose fields the
// store names by position, such as the dispatch).
func (f formState) Messages(action string, a uint64) []string {
	if !f.Is(action, a) {
		return nil
	}
	var out []string
	for _, m := range f.Fields {
		out = append(out, m)
	}
	return out
}

// Field is the message of field name, if the form is action's.
func (f formState) Field(action string, a uint64, name string) string {
	if !f.Is(action, a) {
		return ""
	}
	return f.Fields[name]
}

// timelineItem is one timeline entry as the console shows it.
type timelineItem struct {
	models.TimelineEntry
	Label   string
	ActorIs string
	Unit    string
	Details []detailText
}

type detailText struct{ Label, Text string }

type casePageData struct {
	consolePage
	Case      models.CaseDetail
	Form      formState
	Contact   *models.RevealedContact
	TipFiles  bool
	Dual      bool
	Townships []models.Unit
	Counties  []models.Unit
	UnitNames map[string]string
	Suggested map[string]bool // unit codes the routing rules suggest
	Timeline  []timelineItem
	// The dispatch form's choices: as typed, or the routing suggestions.
	DispatchTownship string
	DispatchCounties [3]string
	DispatchTeam     map[string]bool
	// Measures are the disposal form's choices.
	Measures []channelOption
}

// Anonymous says 匿名 or 实名 to those who may know (never a liaison).
func (d casePageData) Anonymous() string {
	switch {
	case d.Case.Anonymous == nil:
		return ""
	case *d.Case.Anonymous:
		return "匿名"
	}
	return "实名"
}

// Has reports whether the viewer may take case action a now.
func (d casePageData) Has(a string) bool {
	for _, x := range d.Case.Actions {
		if x == a {
			return true
		}
	}
	return false
}

// TownshipName is the name of the tip's township.
func (d casePageData) TownshipName() string { return d.UnitNames[d.Case.Township] }

func (con *console) casePage(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	con.showCase(c, http.StatusOK, id, formState{}, nil)
}

// showCase renders case id as the user sees it now, with a form shown
// again or a revealed contact.
func (con *console) showCase(c *gin.Context, status int, id uint64, form formState, contact *models.RevealedContact) {
	ctx := c.Request.Context()
	p := principal(c)
	det, err := con.Store.CaseDetail(ctx, p, id)
	if err != nil {
		fail(c, err)
		return
	}
	d := casePageData{consolePage: con.page(c, fmt.Sprintf("案件 %d", det.ID), "queue"), Case: det, Form: form,
		Contact: contact, TipFiles: models.SeesTipFiles(p), Dual: len(det.Assignments) > 1}
	for _, m := range models.Measures {
		d.Measures = append(d.Measures, channelOption{Code: m, Name: models.MeasureNames[m]})
	}
	if !d.TipFiles {
		d.Case.Attachments = nil
	}
	if form.Error != "" {
		d.Error = form.Error
	}
	units, err := con.Store.Units(ctx, "")
	if err != nil {
		fail(c, err)
		return
	}
	d.UnitNames = unitNames(units)
	if d.Has(models.ActionAssign) {
		for _, u := range units {
			if u.Kind == models.UnitTownship {
				d.Townships = append(d.Townships, u)
			} else {
				d.Counties = append(d.Counties, u)
			}
		}
		d.Suggested = map[string]bool{}
		var counties []string
		for _, s := range det.Suggestions {
			d.Suggested[s.Unit] = true
			switch {
			case s.Role == models.AssignGrassroots && d.DispatchTownship == "":
				d.DispatchTownship = s.Unit
			case s.Role == models.AssignCounty:
				counties = append(counties, s.Unit)
			}
		}
		d.DispatchTeam = map[string]bool{}
		if det.Stage == models.StageVerify { // 改派 starts from the current dispatch
			d.DispatchTownship, counties = "", nil
			for _, a := range det.Assignments {
				if a.Role == models.AssignGrassroots {
					d.DispatchTownship = a.Unit
				} else {
					counties = append(counties, a.Unit)
				}
			}
			for _, u := range det.VerifyTeam {
				d.DispatchTeam[u] = true
			}
		}
		if form.Is(models.ActionAssign, 0) {
			d.DispatchTownship, counties = form.Values.Get("township"), form.Values["county"]
			for _, u := range form.Values["verify_team"] {
				d.DispatchTeam[u] = true
			}
		}
		copy(d.DispatchCounties[:], counties)
	}
	for _, e := range det.Timeline {
		d.Timeline = append(d.Timeline, timelineView(e, d.UnitNames))
	}
	// Newest first: what happened last is what the reader needs first.
	for i, j := 0, len(d.Timeline)-1; i < j; i, j = i+1, j-1 {
		d.Timeline[i], d.Timeline[j] = d.Timeline[j], d.Timeline[i]
	}
	con.render(c, status, "case", d)
}

// eventLabels name the timeline's event kinds.
var eventLabels = map[string]string{
	models.EventSubmitted: "收到反映", models.EventRouted: "智能分办建议", models.EventReminder: "到期提醒",
	models.EventOverdue: "逾期催办", models.EventEscalated: "督办", models.EventAccepted: "受理",
	models.EventRejected: "不予受理", models.EventMerged: "合并办理", models.EventMergeReceived: "并入线索",
	models.EventDispatched: "交办", models.EventVerified: "核查结论", models.EventTransferred: "移送审查调查",
	models.EventRectificationSubmitted: "提交整改报告", models.EventRectificationReturned: "整改报告退回",
	models.EventRectificationAccepted: "整改通过审核", models.EventRectified: "整改完成",
	models.EventExtensionRequested: "申请延期", models.EventExtensionApproved: "同意延期",
	models.EventExtensionRejected: "不同意延期", models.EventReplied: "答复举报人", models.EventRated: "举报人评价",
	models.EventReopened: "重新整改", models.EventClosed: "办结", models.EventContactRevealed: "查看联系方式",
	models.EventTipsterMessage: "举报人补充", models.EventQuestion: "向举报人询问",
	models.EventTypicalPublished: "发布典型案例",
}

// detailLabels are the event details worth reading on the page.
var detailLabels = []struct{ key, label string }{
	{"report", "核查情况"}, {"note", "备注"}, {"reason", "事由"}, {"comment", "意见"},
}

func timelineView(e models.TimelineEntry, names map[string]string) timelineItem {
	it := timelineItem{TimelineEntry: e, Label: eventLabels[e.Kind], ActorIs: e.Actor, Unit: names[e.Unit]}
	if it.Label == "" {
		it.Label = e.Kind
	}
	switch e.Actor {
	case models.ActorTipster:
		it.ActorIs = "举报人"
	case models.ActorSystem:
		it.ActorIs = "系统"
	}
	if it.Unit == "" {
		it.Unit = e.Unit
	}
	if len(e.Data) > 0 {
		var data map[string]any
		if json.Unmarshal(e.Data, &data) == nil {
			for _, l := range detailLabels {
				if s, ok := data[l.key].(string); ok && s != "" && !strings.Contains(e.Body, s) {
					it.Details = append(it.Details, detailText{l.label, s})
				}
			}
		}
	}
	return it
}

// ---------------------------------------------------------------- actions

// caseForm runs one case action from its form: on success back to the
// case page (303) with a notice, on a refusal the page again with the
// form as typed and the reason.
func (con *console) caseForm(action string, run func(c *gin.Context, p models.Principal, id uint64) error) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, ok := pathID(c)
		if !ok {
			return
		}
		if err := run(c, principal(c), id); err != nil {
			con.formFailed(c, id, formState{Action: action, Values: c.Request.PostForm}, err)
			return
		}
		c.Redirect(http.StatusSeeOther, fmt.Sprintf("/console/cases/%d?done=%s", id, action))
	}
}

// assignmentForm runs one assignment action; case_id in the form names
// the page to show again when the action is refused before the store
// found the case.
func (con *console) assignmentForm(action string, run func(c *gin.Context, p models.Principal, id uint64) (uint64, url.Values, error)) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, ok := pathID(c)
		if !ok {
			return
		}
		caseID, values, err := run(c, principal(c), id)
		if err != nil {
			if caseID == 0 {
				caseID, _ = strconv.ParseUint(values.Get("case_id"), 10, 64)
			}
			if caseID == 0 {
				fail(c, err)
				return
			}
			con.formFailed(c, caseID, formState{Action: action, AssignmentID: id, Values: values}, err)
			return
		}
		c.Redirect(http.StatusSeeOther, fmt.Sprintf("/console/cases/%d?done=%s#a%d", caseID, action, id))
	}
}

// formFailed shows the case page again after a refused form: input errors
// (400, 413, 415) with the form as typed, a stage that has moved on (409)
// with the page as it is now; anything else is an error page.
func (con *console) formFailed(c *gin.Context, caseID uint64, form formState, err error) {
	var ve *models.ValidationError
	var ae *apiError
	switch {
	case errors.As(err, &ve):
		form.Fields = ve.Fields
		form.Error = "未能提交：" + firstMessage(ve.Fields)
		con.showCase(c, http.StatusBadRequest, caseID, form, nil)
	case errors.As(err, &ae) && ae.Status != http.StatusForbidden && ae.Status != http.StatusNotFound:
		form.Fields = ae.Fields
		form.Error = "未能提交：" + ae.Message
		con.showCase(c, ae.Status, caseID, form, nil)
	case errors.Is(err, models.ErrWrongStage):
		con.showCase(c, http.StatusConflict, caseID, formState{
			Error: "案件状态已经变化（可能已由他人办理），当前不能进行该操作。下面是案件的最新情况。"}, nil)
	default:
		fail(c, err)
	}
}

func (con *console) acceptCase() gin.HandlerFunc {
	return con.caseForm(models.ActionAccept, func(c *gin.Context, p models.Principal, id uint64) error {
		return con.Store.AcceptCase(c.Request.Context(), p, models.AcceptParams{CaseID: id, Note: c.PostForm("note")})
	})
}

func (con *console) rejectCase() gin.HandlerFunc {
	return con.caseForm(models.ActionReject, func(c *gin.Context, p models.Principal, id uint64) error {
		return con.Store.RejectCase(c.Request.Context(), p, models.RejectParams{CaseID: id, Reason: c.PostForm("reason")})
	})
}

func (con *console) mergeCase() gin.HandlerFunc {
	return con.caseForm(models.ActionMerge, func(c *gin.Context, p models.Principal, id uint64) error {
		into, err := strconv.ParseUint(strings.TrimSpace(c.PostForm("into")), 10, 64)
		if err != nil {
			return &models.ValidationError{Fields: map[string]string{"into": "请填写要并入的线索编号（数字）"}}
		}
		return con.Store.MergeCase(c.Request.Context(), p, models.MergeParams{CaseID: id, Into: into})
	})
}

// assignCase dispatches from the form: the township chosen is the
// grassroots assignment, each county department chosen a county one; the
// store decides whether that is a valid single or dual assignment.
func (con *console) assignCase() gin.HandlerFunc {
	return con.caseForm(models.ActionAssign, func(c *gin.Context, p models.Principal, id uint64) error {
		in := models.AssignParams{CaseID: id, VerifyTeam: c.PostFormArray("verify_team"), Note: c.PostForm("note")}
		if t := strings.TrimSpace(c.PostForm("township")); t != "" {
			in.Assignments = append(in.Assignments, models.AssignmentInput{Unit: t, Role: models.AssignGrassroots})
		}
		seen := map[string]bool{}
		for _, u := range c.PostFormArray("county") {
			if u = strings.TrimSpace(u); u != "" && !seen[u] {
				seen[u] = true
				in.Assignments = append(in.Assignments, models.AssignmentInput{Unit: u, Role: models.AssignCounty})
			}
		}
		return con.Store.AssignCase(c.Request.Context(), p, in)
	})
}

func (con *console) recordVerification() gin.HandlerFunc {
	return con.caseForm(models.ActionVerify, func(c *gin.Context, p models.Principal, id uint64) error {
		return con.Store.RecordVerification(c.Request.Context(), p, models.VerificationParams{CaseID: id,
			Finding: c.PostForm("finding"), Report: c.PostForm("report"), TransferToDiscipline: c.PostForm("transfer") == "1"})
	})
}

// askTipster sends the office's question to the tipster.
func (con *console) askTipster() gin.HandlerFunc {
	return con.caseForm("question", func(c *gin.Context, p models.Principal, id uint64) error {
		_, err := con.Store.AskTipster(c.Request.Context(), p, models.QuestionParams{CaseID: id, Text: c.PostForm("text")})
		return err
	})
}

// addDisposal records a disposal from the case page.
func (con *console) addDisposal() gin.HandlerFunc {
	return con.caseForm("disposal", func(c *gin.Context, p models.Principal, id uint64) error {
		in := models.DisposalParams{CaseID: id, Measure: c.PostForm("measure"), Note: c.PostForm("note")}
		f := map[string]string{}
		for _, n := range []struct {
			name string
			to   *int
		}{{"persons", &in.Persons}, {"units", &in.Units}} {
			v := strings.TrimSpace(c.PostForm(n.name))
			if v == "" {
				continue
			}
			x, err := strconv.Atoi(v)
			if err != nil {
				f[n.name] = "请填写整数"
			}
			*n.to = x
		}
		if len(f) > 0 {
			return &models.ValidationError{Fields: f}
		}
		_, err := con.Store.AddDisposal(c.Request.Context(), p, in)
		return err
	})
}

// submitVerificationPart is a liaison's part of the joint verification.
func (con *console) submitVerificationPart() gin.HandlerFunc {
	return con.caseForm(models.ActionVerificationPart, func(c *gin.Context, p models.Principal, id uint64) error {
		return con.Store.SubmitVerificationPart(c.Request.Context(), p, models.VerificationPartParams{CaseID: id,
			Finding: c.PostForm("finding"), Report: c.PostForm("report")})
	})
}

func (con *console) replyToTipster() gin.HandlerFunc {
	return con.caseForm(models.ActionReply, func(c *gin.Context, p models.Principal, id uint64) error {
		return con.Store.ReplyToTipster(c.Request.Context(), p, models.ReplyParams{CaseID: id, Text: c.PostForm("text")})
	})
}

func (con *console) reopenCase() gin.HandlerFunc {
	return con.caseForm(models.ActionReopen, func(c *gin.Context, p models.Principal, id uint64) error {
		return con.Store.ReopenCase(c.Request.Context(), p, models.ReopenParams{CaseID: id, Reason: c.PostForm("reason")})
	})
}

func (con *console) closeCase() gin.HandlerFunc {
	return con.caseForm(models.ActionClose, func(c *gin.Context, p models.Principal, id uint64) error {
		return con.Store.CloseCase(c.Request.Context(), p, models.CloseParams{CaseID: id, Note: c.PostForm("note")})
	})
}

// revealContact shows a real-name tipster's contact on the case page
// itself, once, in answer to the form with the reason: it is never put
// in a URL, a redirect or a cache. The store logs who and why.
func (con *console) revealContact(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	out, err := con.Store.RevealContact(c.Request.Context(), principal(c), models.RevealParams{CaseID: id, Reason: c.PostForm("reason")})
	if err != nil {
		con.formFailed(c, id, formState{Action: models.ActionRevealContact, Values: c.Request.PostForm}, err)
		return
	}
	con.audit(c, audit.Entry{Action: audit.ActionContactReveal, Target: "case:" + strconv.FormatUint(id, 10)})
	con.showCase(c, http.StatusOK, id, formState{}, &out)
}

// submitRectification takes a unit's report with its evidence files,
// checked by content like the API's (readMultipart).
func (con *console) submitRectification() gin.HandlerFunc {
	return con.assignmentForm(models.ActionRectify, func(c *gin.Context, p models.Principal, id uint64) (uint64, url.Values, error) {
		values := url.Values{}
		in := models.RectificationParams{AssignmentID: id}
		mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
		if mt == "multipart/form-data" {
			form, err := readMultipart(c, con.fileRules())
			for k, v := range form.Values {
				values.Set(k, v)
			}
			if err != nil {
				return 0, values, err
			}
			in.Files = form.Files
		} else {
			values = formValues(c)
		}
		in.Report = values.Get("report")
		caseID, err := con.Store.SubmitRectification(c.Request.Context(), p, in)
		return caseID, values, err
	})
}

// formValues parses a urlencoded form.
func formValues(c *gin.Context) url.Values {
	_ = c.Request.ParseForm()
	return c.Request.PostForm
}

func (con *console) reviewRectification() gin.HandlerFunc {
	return con.assignmentForm(models.ActionReview, func(c *gin.Context, p models.Principal, id uint64) (uint64, url.Values, error) {
		v := formValues(c)
		caseID, err := con.Store.ReviewRectification(c.Request.Context(), p, models.ReviewParams{AssignmentID: id,
			Decision: v.Get("decision"), Comment: v.Get("comment")})
		return caseID, v, err
	})
}

func (con *console) requestExtension() gin.HandlerFunc {
	return con.assignmentForm(models.ActionRequestExtension, func(c *gin.Context, p models.Principal, id uint64) (uint64, url.Values, error) {
		v := formValues(c)
		days, err := strconv.Atoi(strings.TrimSpace(v.Get("working_days")))
		if err != nil {
			return 0, v, &models.ValidationError{Fields: map[string]string{"working_days": "延期天数应为1至30的整数"}}
		}
		caseID, err := con.Store.RequestExtension(c.Request.Context(), p, models.ExtensionParams{AssignmentID: id,
			WorkingDays: days, Reason: v.Get("reason")})
		return caseID, v, err
	})
}

func (con *console) decideExtension() gin.HandlerFunc {
	return con.assignmentForm(models.ActionDecideExtension, func(c *gin.Context, p models.Principal, id uint64) (uint64, url.Values, error) {
		v := formValues(c)
		caseID, err := con.Store.DecideExtension(c.Request.Context(), p, models.ExtensionDecisionParams{AssignmentID: id,
			Decision: v.Get("decision"), Comment: v.Get("comment")})
		return caseID, v, err
	})
}

// ------------------------------------------------------------- downloads

// downloadAttachment serves a stored file to a viewer the store allows
// (models.AttachmentFile: the tipster's files never to a liaison, evidence
// only to its own unit). Images open in the browser; other kinds download.
// The console and the API share it; only the error answers differ.
func (s *Server) downloadAttachment(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	f, err := s.Store.AttachmentFile(c.Request.Context(), principal(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	disposition := "attachment"
	if f.ContentType == attach.JPEG || f.ContentType == attach.PNG {
		disposition = "inline"
	}
	h := c.Writer.Header()
	h.Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": f.Filename}))
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox")
	s.audit(c, audit.Entry{Action: audit.ActionDownload, Target: "attachment:" + strconv.FormatUint(id, 10)})
	c.Data(http.StatusOK, f.ContentType, f.Data)
}

// dueView is a due time as the console shows it.
type dueView struct {
	Date  string // "3月5日"
	Text  string // "逾期2个工作日", "剩3个工作日", "今日到期"
	Class string // due-over, due-soon, due-ok
}

// due describes a due time against the store's clock, in working days.
func (con *console) due(at *time.Time, overdue bool) dueView {
	if at == nil {
		return dueView{Text: "—", Class: "due-none"}
	}
	now := con.Store.Now()
	cal := con.Store.Calendar()
	v := dueView{Date: at.In(models.Shanghai()).Format("1月2日")}
	switch {
	case overdue:
		n := cal.WorkdaysBetween(*at, now)
		v.Text, v.Class = "已逾期", "due-over"
		if n > 0 {
			v.Text = fmt.Sprintf("逾期%d个工作日", n)
		}
	case now.After(*at):
		// Past, but not overdue: the report is in, or the work is done.
		v.Class = "due-past"
	default:
		n := cal.WorkdaysBetween(now, *at)
		v.Class = "due-ok"
		if n <= 2 {
			v.Class = "due-soon"
		}
		v.Text = fmt.Sprintf("剩%d个工作日", n)
		if n == 0 {
			v.Text = "今日到期"
		}
	}
	return v
}
