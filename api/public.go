package api

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"jianfu/attach"
	"jianfu/models"
	"jianfu/web"
)

// The public side (no login): the tip form and follow-up pages, and the
// public JSON API of DESIGN §4. A receipt never travels in a URL: it goes
// in request bodies only, and pages that show it are never cached.

// publicSite holds what the public pages and endpoints share.
type publicSite struct {
	*Server
	pages  *Pages
	csrf   csrfGuard
	guard  *guard
	static http.Handler
}

// newPublicSite parses the page templates once; they are embedded, so a
// failure is a build defect and stops the start.
func (s *Server) newPublicSite() *publicSite {
	pages, err := NewPages(web.Templates(), ".")
	if err != nil {
		panic(err)
	}
	guard, bad := newGuard(s.Config.RateLimits, s.Config.TrustedProxies, s.Store.ClientHash)
	if len(bad) > 0 {
		s.Logger.Warn("JIANFU_TRUSTED_PROXIES: ignoring entries that are not an address or CIDR", "entries", bad)
	}
	p := &publicSite{
		Server: s,
		pages:  pages,
		csrf: csrfGuard{key: s.Store.FormKey(), secure: strings.HasPrefix(s.Config.BaseURL, "https://"),
			now: time.Now},
		guard:  guard,
		static: http.FileServerFS(web.Static()),
	}
	pages.decorate = p.careChrome
	return p
}

// lookupFloor is the least time a receipt request takes, so that a known
// and an unknown receipt answer alike even where their database work
// differs a little.
const lookupFloor = 150 * time.Millisecond

// maxFormBody bounds a form or JSON body without files.
const maxFormBody = 64 << 10

// ---------------------------------------------------------------- JSON API

// tipRequest is the JSON body of POST /api/v1/tips.
type tipRequest struct {
	Category       string          `json:"category"`
	Title          string          `json:"title"`
	Content        string          `json:"content"`
	Township       string          `json:"township"`
	ImplicatedUnit string          `json:"implicated_unit"`
	OccurredOn     string          `json:"occurred_on"`
	Anonymous      *bool           `json:"anonymous"`
	Contact        *models.Contact `json:"contact"`
}

// maxJSONBody bounds a JSON tip: 5000 characters of content are at most
// 20 KB of UTF-8; the rest is headroom.
const maxJSONBody = 64 << 10

// tipFields are the multipart fields of POST /api/v1/tips besides files.
var tipFields = map[string]bool{"category": true, "title": true, "content": true, "township": true,
	"implicated_unit": true, "occurred_on": true, "anonymous": true,
	"contact.name": true, "contact.phone": true, "contact.email": true}

// tipFieldNames lists tipFields, for readMultipart.
var tipFieldNames = []string{"category", "title", "content", "township", "implicated_unit", "occurred_on",
	"anonymous", "contact.name", "contact.phone", "contact.email"}

// idempotencyKeyRe is the Idempotency-Key a client may send (DESIGN
// §10.1): long enough that a random key is not guessed.
var idempotencyKeyRe = regexp.MustCompile(`^[A-Za-z0-9_-]{16,200}$`)

// errKeyReused answers an Idempotency-Key already used for a different
// tip: no receipt, nothing stored.
var errKeyReused = &apiError{Status: http.StatusUnprocessableEntity, Code: "idempotency_key_reused",
	Message: "该 Idempotency-Key 已用于另一份不同的反映，本次提交未保存；请换用新的 Idempotency-Key 重新提交",
	Fields:  map[string]string{"Idempotency-Key": "该 Idempotency-Key 已用于另一份不同的反映，请换用新的值"}}

// submitTip takes a tip as JSON, or as multipart/form-data with the same
// fields (contact.name, contact.phone, contact.email) and attachments.
func (s *Server) submitTip(c *gin.Context) {
	in := models.TipInput{Anonymous: true, Channel: models.ChannelWeb, IdempotencyKey: c.GetHeader("Idempotency-Key")}
	if in.IdempotencyKey != "" && !idempotencyKeyRe.MatchString(in.IdempotencyKey) {
		fail(c, fieldError("Idempotency-Key", "Idempotency-Key 应为16至200个字符，只能包含字母、数字、下划线和连字符"))
		return
	}
	mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	switch mt {
	case "application/json":
		var req tipRequest
		if err := decodeJSON(c, &req, maxJSONBody); err != nil {
			fail(c, err)
			return
		}
		in.Category, in.Title, in.Content, in.Township = req.Category, req.Title, req.Content, req.Township
		in.ImplicatedUnit, in.OccurredOn = req.ImplicatedUnit, req.OccurredOn
		if req.Anonymous != nil {
			in.Anonymous = *req.Anonymous
		}
		if req.Contact != nil {
			in.Contact = *req.Contact
		}
	case "multipart/form-data":
		form, err := readMultipart(c, s.fileRules().only(tipFieldNames...))
		if err != nil {
			fail(c, err)
			return
		}
		v := form.Values
		for k := range v {
			if !tipFields[k] {
				fail(c, fieldError(k, "未知字段："+k))
				return
			}
		}
		in.Category, in.Title, in.Content, in.Township = v["category"], v["title"], v["content"], v["township"]
		in.ImplicatedUnit, in.OccurredOn = v["implicated_unit"], v["occurred_on"]
		in.Contact = models.Contact{Name: v["contact.name"], Phone: v["contact.phone"], Email: v["contact.email"]}
		if a, ok := v["anonymous"]; ok {
			b, ok := parseBool(a)
			if !ok {
				fail(c, fieldError("anonymous", "anonymous 应为 true 或 false"))
				return
			}
			in.Anonymous = b
		}
		in.Files = form.Files
	default:
		fail(c, errMediaType)
		return
	}
	r, err := s.Store.CreateTip(c.Request.Context(), in)
	if err != nil {
		fail(c, err)
		return
	}
	status := http.StatusCreated
	if r.Replayed {
		status = http.StatusOK
	}
	c.JSON(status, gin.H{"receipt": r.Receipt, "stage": r.Stage, "stage_name": models.StageNames[r.Stage],
		"due_at": r.DueAt.Format(time.RFC3339), "attachments": len(in.Files),
		"message": "反映已收到。请牢记查询码，它只显示这一次，凭它查询办理进展。"})
}

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1", "on", "yes":
		return true, true
	case "false", "0", "off", "no":
		return false, true
	}
	return false, false
}

// decodeJSON reads one JSON object of at most limit bytes; unknown fields
// are errors so a typo in a field name does not pass silently.
func decodeJSON(c *gin.Context, v any, limit int64) error {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
	dec := json.NewDecoder(c.Request.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge(mbe.Limit)
		}
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) && ute.Field != "" {
			return fieldError(ute.Field, "字段类型不正确："+ute.Field)
		}
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			f = strings.Trim(f, `"`)
			return fieldError(f, "未知字段："+f)
		}
		return errBadJSON
	}
	if dec.More() {
		return errBadJSON
	}
	return nil
}

func (s *Server) listCategories(c *gin.Context) {
	cats, err := s.Store.Categories(c.Request.Context())
	if err != nil {
		fail(c, err)
		return
	}
	items := make([]gin.H, len(cats))
	for i, k := range cats {
		items[i] = gin.H{"code": k.Code, "name": k.Name, "description": k.Description, "example": k.Example}
	}
	c.JSON(http.StatusOK, gin.H{"items": items})
}

func (s *Server) listUnits(c *gin.Context) {
	kind := c.Query("kind")
	if kind != "" && kind != models.UnitTownship && kind != models.UnitCounty {
		fail(c, fieldError("kind", "kind 应为 township 或 county"))
		return
	}
	units, err := s.Store.Units(c.Request.Context(), kind)
	if err != nil {
		fail(c, err)
		return
	}
	items := make([]gin.H, len(units))
	for i, u := range units {
		items[i] = gin.H{"code": u.Code, "name": u.Name, "kind": u.Kind}
	}
	c.JSON(http.StatusOK, gin.H{"items": items})
}

// receiptRequest is the JSON body of POST /api/v1/tips/lookup.
type receiptRequest struct {
	Receipt string `json:"receipt"`
}

// errNoReceipt is the answer to a receipt that does not exist.
var errNoReceipt = newError(http.StatusNotFound, "not_found", "未找到该查询码对应的反映，请核对后重新输入")

// lookupTip answers the tipster's view of their case.
func (p *publicSite) lookupTip(c *gin.Context) {
	defer p.floor(time.Now())
	if !isJSON(c) {
		fail(c, errMediaType)
		return
	}
	var req receiptRequest
	if err := decodeJSON(c, &req, maxFormBody); err != nil {
		fail(c, err)
		return
	}
	v, err := p.Store.TipView(c.Request.Context(), req.Receipt)
	if err != nil {
		fail(c, p.receiptError(c, err))
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, publicCaseJSON(v))
}

func publicCaseJSON(v models.PublicCase) gin.H {
	events := func(evs []models.PublicEvent) []gin.H {
		out := make([]gin.H, len(evs))
		for i, e := range evs {
			out[i] = gin.H{"at": e.At.Format(time.RFC3339), "kind": e.Kind, "stage": e.Stage,
				"stage_name": models.StageNames[e.Stage], "text": e.Text, "from": e.From, "files": e.Files}
		}
		return out
	}
	return gin.H{"stage": v.Stage, "stage_name": v.StageName, "submitted_at": v.SubmittedAt.Format(time.RFC3339),
		"category": gin.H{"code": v.CategoryCode, "name": v.Category}, "title": v.Title,
		"timeline": events(v.Timeline), "replies": events(v.Replies), "questions": questionsJSON(v.Questions),
		"open": v.Open, "can_rate": v.CanRate, "rating": v.Rating}
}

// messageRequest is the JSON body of POST /api/v1/tips/messages.
type messageRequest struct {
	Receipt string `json:"receipt"`
	Text    string `json:"text"`
	// QuestionID names the office's question this message answers.
	QuestionID uint64 `json:"question_id"`
}

// addTipMessage takes the tipster's supplementary information, as JSON
// or as multipart (receipt, text, files).
func (p *publicSite) addTipMessage(c *gin.Context) {
	defer p.floor(time.Now())
	var req messageRequest
	var files []models.FileInput
	mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	switch mt {
	case "application/json":
		if err := decodeJSON(c, &req, maxJSONBody); err != nil {
			fail(c, err)
			return
		}
	case "multipart/form-data":
		form, err := readMultipart(c, p.fileRules().only("receipt", "text"))
		if err != nil {
			fail(c, err)
			return
		}
		for k := range form.Values {
			if k != "receipt" && k != "text" && k != "question_id" {
				fail(c, fieldError(k, "未知字段："+k))
				return
			}
		}
		req.Receipt, req.Text, files = form.Values["receipt"], form.Values["text"], form.Files
		if v := form.Values["question_id"]; v != "" {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				fail(c, fieldError("question_id", "question_id 应为问题编号"))
				return
			}
			req.QuestionID = n
		}
	default:
		fail(c, errMediaType)
		return
	}
	if err := p.Store.AddTipAnswer(c.Request.Context(), req.Receipt, req.QuestionID, req.Text, files); err != nil {
		fail(c, p.receiptError(c, err))
		return
	}
	c.JSON(http.StatusCreated, gin.H{"attachments": len(files), "message": "补充材料已收到，办理人员会一并核查。"})
}

// receiptError notes a wrong receipt against the client (they slow down)
// and words the store's errors for a tipster.
func (p *publicSite) receiptError(c *gin.Context, err error) error {
	switch {
	case errors.Is(err, models.ErrNotFound):
		p.guard.missed(c.GetString(ctxClientKey))
		return errNoReceipt
	case errors.Is(err, models.ErrWrongStage):
		return newError(http.StatusConflict, "wrong_stage", "该反映已办结，不能再补充材料")
	}
	return err
}

// floor waits out the rest of lookupFloor after start.
func (p *publicSite) floor(start time.Time) {
	if d := lookupFloor - time.Since(start); d > 0 {
		time.Sleep(d)
	}
}

func isJSON(c *gin.Context) bool {
	mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	return mt == "application/json"
}

// refuse answers a refused request as JSON on the API and as a page
// elsewhere.
func (p *publicSite) refuse(c *gin.Context, e *apiError) {
	if strings.HasPrefix(c.Request.URL.Path, "/api/") {
		fail(c, e)
		return
	}
	p.pages.Render(c, e.Status, "message", messagePage{pageBase: pageBase{Title: "请稍后再试"}, Text: e.Message})
	c.Abort()
}

// serveStatic serves the embedded CSS and script; directories are not
// listed.
func (p *publicSite) serveStatic(c *gin.Context) {
	name := strings.TrimPrefix(path.Clean(c.Param("filepath")), "/")
	if st, err := fs.Stat(web.Static(), name); err != nil || st.IsDir() {
		fail(c, errNotFound)
		return
	}
	c.Header("Cache-Control", "public, max-age=3600")
	c.Request.URL.Path = "/" + name
	p.static.ServeHTTP(c.Writer, c.Request)
}

// ------------------------------------------------------------------ pages

// pageBase is what the layout needs on every page.
type pageBase struct {
	Title  string
	Nav    string // "tip" or "track": the current menu entry
	CSRF   string
	Error  string            // shown above the form
	Fields map[string]string // messages next to fields, by field name
	Notice string            // a success message
	// ErrorList repeats the field messages above the form, in form order,
	// each linking to its field.
	ErrorList []errorItem
}

type errorItem struct{ Anchor, Message string }

// formOrder lists the tip form's fields top to bottom, with the element
// each error links to.
var formOrder = [][2]string{{"category", "category-error"}, {"content", "content"}, {"title", "title"},
	{"township", "township"}, {"occurred_on", "occurred_on"}, {"implicated_unit", "implicated_unit"},
	{"files", "files"}, {"contact_name", "contact_name"}, {"contact_phone", "contact_phone"},
	{"contact_email", "contact_email"}}

func errorList(fields map[string]string) []errorItem {
	var out []errorItem
	for _, f := range formOrder {
		if m, ok := fields[f[0]]; ok {
			out = append(out, errorItem{Anchor: f[1], Message: m})
		}
	}
	return out
}

type messagePage struct {
	pageBase
	Text string
}

// tipFormValues is what the tipster typed, to show it again on an error.
type tipFormValues struct {
	Category, Title, Content, Township, ImplicatedUnit, OccurredOn string
	RealName                                                       bool
	Name, Phone, Email                                             string
}

type tipFormPage struct {
	pageBase
	Categories   []models.Category
	Townships    []models.Unit
	Departments  []models.Unit
	Form         tipFormValues
	Today        string
	FileHint     string
	Accept       string
	SubmissionID string
}

type receiptPage struct {
	pageBase
	Receipt  string
	Stage    string
	DueAt    time.Time
	Replayed bool
}

type trackPage struct {
	pageBase
	Receipt string
}

type casePage struct {
	pageBase
	Receipt  string
	Case     models.PublicCase
	Steps    []stageStep
	FileHint string
	Accept   string
	Message  string // the supplement text, kept on an error
	Rating   string // the chosen rating, kept on an error
	Comment  string
}

// stageStep is one stage in the progress bar.
type stageStep struct {
	Name  string
	State string // "done", "current" or "todo"
}

func stageSteps(stage string) []stageStep {
	order := []string{models.StageCollect, models.StageAssign, models.StageVerify, models.StageRectify,
		models.StageFeedback, models.StageClosed}
	steps := make([]stageStep, len(order))
	state := "done"
	for i, st := range order {
		if st == stage {
			state = "current"
		}
		steps[i] = stageStep{Name: models.StageNames[st], State: state}
		if state == "current" {
			state = "todo"
		}
	}
	if stage == models.StageClosed {
		steps[len(steps)-1].State = "done"
	}
	return steps
}

// honeypotField is a form field hidden from people; only a bot fills it.
const honeypotField = "homepage"

// tipForm shows the tip form.
func (p *publicSite) tipForm(c *gin.Context) {
	// ?unit=CODE: opened from a unit's poster (api/qr.go), the unit is filled in.
	p.renderTipForm(c, http.StatusOK, tipFormValues{Township: c.Query("unit")}, pageBase{})
}

func (p *publicSite) renderTipForm(c *gin.Context, status int, v tipFormValues, base pageBase) {
	ctx := c.Request.Context()
	cats, err := p.Store.Categories(ctx)
	if err != nil {
		p.pageFail(c, err)
		return
	}
	units, err := p.Store.Units(ctx, "")
	if err != nil {
		p.pageFail(c, err)
		return
	}
	base.ErrorList = errorList(base.Fields)
	for i := range base.ErrorList {
		// The category error links to the first choice, so following the
		// link puts focus where the answer is given.
		if base.ErrorList[i].Anchor == "category-error" && len(cats) > 0 {
			base.ErrorList[i].Anchor = "category-" + cats[0].Code
		}
	}
	page := tipFormPage{pageBase: base, Categories: cats, Form: v, Accept: attach.Accept,
		FileHint: p.fileRules().describe(), SubmissionID: randomID(),
		Today: time.Now().In(models.Shanghai()).Format("2006-01-02")}
	for _, u := range units {
		if u.Kind == models.UnitTownship {
			page.Townships = append(page.Townships, u)
		} else {
			page.Departments = append(page.Departments, u)
			if u.Code == v.Township { // a county department's poster
				page.Form.Township, page.Form.ImplicatedUnit = "", u.Name
			}
		}
	}
	page.Title, page.Nav, page.CSRF = "我要反映", "tip", p.csrf.token(c)
	p.pages.Render(c, status, "tip_form", page)
}

// submitTipForm takes the form: the receipt page on success, the form
// again with the tipster's input and the error otherwise. It answers
// directly instead of redirecting, because the receipt must not travel in
// a URL.
func (p *publicSite) submitTipForm(c *gin.Context) {
	mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if mt != "multipart/form-data" {
		p.renderTipForm(c, http.StatusUnsupportedMediaType, tipFormValues{}, pageBase{Error: errMediaType.Message})
		return
	}
	form, ferr := readMultipart(c, p.fileRules())
	v := form.Values
	vals := tipFormValues{Category: v["category"], Title: v["title"], Content: v["content"], Township: v["township"],
		ImplicatedUnit: v["implicated_unit"], OccurredOn: v["occurred_on"], RealName: v["identity"] == "real",
		Name: v["contact_name"], Phone: v["contact_phone"], Email: v["contact_email"]}
	if ferr != nil {
		ae := p.asAPIError(c, ferr)
		p.renderTipForm(c, ae.Status, vals, pageBase{Error: ae.Message + "（附件需要重新选择）", Fields: ae.Fields})
		return
	}
	if !p.csrf.check(c, v[csrfField]) {
		p.renderTipForm(c, errCSRF.Status, vals, pageBase{Error: errCSRF.Message})
		return
	}
	if v[honeypotField] != "" {
		p.Logger.Info("tip form honeypot filled; not stored", "client", c.GetString(ctxClientKey))
		p.renderTipForm(c, http.StatusBadRequest, vals, pageBase{Error: "提交未通过校验，请刷新页面后重新提交"})
		return
	}
	in := models.TipInput{Category: vals.Category, Title: vals.Title, Content: vals.Content, Township: vals.Township,
		ImplicatedUnit: vals.ImplicatedUnit, OccurredOn: vals.OccurredOn, Anonymous: !vals.RealName,
		Contact: models.Contact{Name: vals.Name, Phone: vals.Phone, Email: vals.Email},
		Channel: models.ChannelWeb, Files: form.Files, IdempotencyKey: formIdempotencyKey(v)}
	r, err := p.Store.CreateTip(c.Request.Context(), in)
	if err != nil {
		ae := p.asAPIError(c, err)
		if ae.Status == http.StatusServiceUnavailable && in.IdempotencyKey != "" {
			p.renderResend(c, v, vals, len(form.Files) > 0)
			return
		}
		if ae.Status >= 500 {
			p.pageFail(c, err)
			return
		}
		msg := "请按提示修改后重新提交"
		if len(form.Files) > 0 {
			msg += "（附件需要重新选择）"
		}
		if len(ae.Fields) == 0 {
			msg = ae.Message
		}
		p.renderTipForm(c, ae.Status, vals, pageBase{Error: msg, Fields: formFieldNames(ae.Fields)})
		return
	}
	p.Logger.Info("tip received", "case", r.CaseID, "channel", models.ChannelWeb, "files", len(form.Files), "replayed", r.Replayed)
	p.pages.Render(c, http.StatusOK, "receipt", receiptPage{pageBase: pageBase{Title: "反映已提交", Nav: "tip"},
		Receipt: r.Receipt, Stage: r.Stage, DueAt: r.DueAt, Replayed: r.Replayed})
}

// tipFormFields are the tip form's text fields in form order: what its
// idempotency key digests (formIdempotencyKey) and what a resend page
// carries back with the submission id (renderResend), so that a resent
// form makes the same key.
var tipFormFields = []string{"category", "title", "content", "township", "implicated_unit", "occurred_on",
	"identity", "contact_name", "contact_phone", "contact_email"}

type hiddenField struct{ Name, Value string }

type tipResendPage struct {
	pageBase
	Hidden   []hiddenField
	Form     tipFormValues
	HadFiles bool
	Accept   string
}

// renderResend answers a tip the database could not confirm: it is down
// or failing over, and the tip may even be stored with its acknowledgement
// lost. The form cannot be shown again (its lists come from the database),
// so this page keeps what the tipster typed in hidden fields with the same
// submission id: sending it again stores the tip once, or answers the
// receipt of the one already stored (formIdempotencyKey). Attachments must
// be chosen again; the same files make the same request.
func (p *publicSite) renderResend(c *gin.Context, v map[string]string, form tipFormValues, hadFiles bool) {
	msg := "系统繁忙或正在恢复，您的反映还没有确认收到。填写的内容保留在本页，请稍候片刻再点“重新提交”；同一份反映多次提交只会登记一次。"
	if hadFiles {
		msg += "附件需要重新选择，请选原来的文件。"
	}
	page := tipResendPage{pageBase: pageBase{Title: "暂时无法确认收到", Nav: "tip", CSRF: p.csrf.token(c), Error: msg},
		Form: form, HadFiles: hadFiles, Accept: attach.Accept}
	for _, k := range tipFormFields {
		page.Hidden = append(page.Hidden, hiddenField{k, v[k]})
	}
	page.Hidden = append(page.Hidden, hiddenField{"submission_id", v["submission_id"]})
	p.pages.Render(c, http.StatusServiceUnavailable, "tip_resend", page)
}

// formFieldNames maps the store's field names to the form's.
func formFieldNames(f map[string]string) map[string]string {
	out := map[string]string{}
	for k, m := range f {
		out[strings.ReplaceAll(k, ".", "_")] = m
	}
	return out
}

// formIdempotencyKey makes a resent form (double click, reload after a
// lost answer) return the first receipt, while a different tip written in
// the same form page is a new tip: the key is the form's one-time id plus
// a digest of what was submitted.
func formIdempotencyKey(v map[string]string) string {
	id := v["submission_id"]
	if len(id) != 22 {
		return ""
	}
	h := sha256.New()
	for _, k := range tipFormFields {
		h.Write([]byte(k + "\x00" + v[k] + "\x00"))
	}
	return "form:" + id + ":" + hex.EncodeToString(h.Sum(nil)[:16])
}

func randomID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// trackForm asks for the receipt.
func (p *publicSite) trackForm(c *gin.Context) {
	p.pages.Render(c, http.StatusOK, "track", trackPage{pageBase: pageBase{Title: "查询进展", Nav: "track", CSRF: p.csrf.token(c)}})
}

// trackLookup shows the case behind the receipt in the form body.
func (p *publicSite) trackLookup(c *gin.Context) {
	defer p.floor(time.Now())
	receipt, ok := p.readSmallForm(c)
	if !ok {
		return
	}
	p.showCase(c, http.StatusOK, receipt, casePage{})
}

// showCase renders the case page, or the receipt form with the error.
func (p *publicSite) showCase(c *gin.Context, status int, receipt string, page casePage) {
	v, err := p.Store.TipView(c.Request.Context(), receipt)
	if err != nil {
		ae := p.asAPIError(c, p.receiptError(c, err))
		if ae.Status >= 500 {
			p.pageFail(c, err)
			return
		}
		p.renderTrack(c, ae.Status, receipt, ae.Message)
		return
	}
	norm, _ := models.NormalizeReceipt(receipt)
	page.Title, page.Nav, page.CSRF = "办理进展", "track", p.csrf.token(c)
	page.Receipt, page.Case, page.Steps = norm, v, stageSteps(v.Stage)
	page.FileHint, page.Accept = p.fileRules().describe(), attach.Accept
	p.pages.Render(c, status, "case", page)
}

// renderTrack shows the receipt form with an error.
func (p *publicSite) renderTrack(c *gin.Context, status int, receipt, msg string) {
	p.pages.Render(c, status, "track", trackPage{pageBase: pageBase{Title: "查询进展", Nav: "track",
		CSRF: p.csrf.token(c), Error: msg}, Receipt: receipt})
}

// readSmallForm reads a urlencoded form without files, checks its CSRF
// token and returns the receipt in it; on failure it has answered.
func (p *publicSite) readSmallForm(c *gin.Context) (string, bool) {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxFormBody)
	if err := c.Request.ParseForm(); err != nil {
		ae := p.asAPIError(c, bodyError(err))
		p.pages.Render(c, ae.Status, "track", trackPage{pageBase: pageBase{Title: "查询进展", Nav: "track",
			CSRF: p.csrf.token(c), Error: ae.Message}})
		return "", false
	}
	receipt := c.Request.PostForm.Get("receipt")
	if !p.csrf.check(c, c.Request.PostForm.Get(csrfField)) {
		p.pages.Render(c, errCSRF.Status, "track", trackPage{pageBase: pageBase{Title: "查询进展", Nav: "track",
			CSRF: p.csrf.token(c), Error: errCSRF.Message}, Receipt: receipt})
		return "", false
	}
	return receipt, true
}

// trackMessage takes supplementary information from the case page.
func (p *publicSite) trackMessage(c *gin.Context) {
	defer p.floor(time.Now())
	mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if mt != "multipart/form-data" {
		p.pages.Render(c, http.StatusUnsupportedMediaType, "track", trackPage{pageBase: pageBase{Title: "查询进展",
			Nav: "track", CSRF: p.csrf.token(c), Error: errMediaType.Message}})
		return
	}
	form, ferr := readMultipart(c, p.fileRules())
	receipt, text := form.Values["receipt"], form.Values["text"]
	again := func(status int, msg string, fields map[string]string) {
		p.showCase(c, status, receipt, casePage{pageBase: pageBase{Error: msg, Fields: fields}, Message: text})
	}
	if ferr != nil {
		ae := p.asAPIError(c, ferr)
		again(ae.Status, ae.Message+"（附件需要重新选择）", ae.Fields)
		return
	}
	if !p.csrf.check(c, form.Values[csrfField]) {
		again(errCSRF.Status, errCSRF.Message, nil)
		return
	}
	err := p.Store.AddTipMessage(c.Request.Context(), receipt, text, form.Files)
	if err != nil {
		ae := p.asAPIError(c, p.receiptError(c, err))
		if ae.Status >= 500 {
			p.pageFail(c, err)
			return
		}
		if ae == errNoReceipt || ae.Fields["receipt"] != "" {
			p.renderTrack(c, ae.Status, receipt, ae.Message)
			return
		}
		again(ae.Status, ae.Message, ae.Fields)
		return
	}
	p.showCase(c, http.StatusOK, receipt, casePage{pageBase: pageBase{Notice: "补充材料已提交，办理人员会一并核查。"}})
}

// asAPIError words any error as the JSON API would; 5xx are logged by
// pageFail.
func (p *publicSite) asAPIError(c *gin.Context, err error) *apiError {
	var ae *apiError
	var ve *models.ValidationError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &ve):
		return &apiError{Status: http.StatusBadRequest, Code: "validation_failed", Message: firstMessage(ve.Fields), Fields: ve.Fields}
	case errors.Is(err, models.ErrNotFound):
		return errNotFound
	case errors.Is(err, models.ErrIdempotencyKeyReused):
		return &apiError{Status: http.StatusUnprocessableEntity, Code: "idempotency_key_reused",
			Message: "这张表单已经提交过不同的内容，本次提交未保存。请刷新页面后重新填写提交。"}
	case errors.Is(err, models.ErrWrongStage):
		return newError(http.StatusConflict, "wrong_stage", "该反映当前所处阶段不能进行此操作")
	case errors.As(err, &mbe):
		return tooLarge(mbe.Limit)
	}
	if ae := unavailable(c, err); ae != nil {
		return ae
	}
	return newError(http.StatusInternalServerError, "internal", "服务器内部错误，请稍后重试")
}

// pageFail logs an unexpected error once and shows an error page.
func (p *publicSite) pageFail(c *gin.Context, err error) {
	if ae := unavailable(c, err); ae != nil {
		p.pages.Render(c, ae.Status, "message", messagePage{pageBase: pageBase{Title: "系统繁忙"}, Text: ae.Message + "。"})
		return
	}
	p.Logger.ErrorContext(c.Request.Context(), "request failed", "method", c.Request.Method, "route", c.FullPath(), "err", err)
	p.pages.Render(c, http.StatusInternalServerError, "message", messagePage{pageBase: pageBase{Title: "出错了"},
		Text: "服务器内部错误，请稍后重试。您填写的内容没有保存。"})
}

// trackEvaluation takes the tipster's rating from the case page.
func (p *publicSite) trackEvaluation(c *gin.Context) {
	defer p.floor(time.Now())
	receipt, ok := p.readSmallForm(c)
	if !ok {
		return
	}
	rating, comment := c.Request.PostForm.Get("rating"), c.Request.PostForm.Get("comment")
	norm, err := models.NormalizeReceipt(receipt)
	if err == nil {
		err = p.Store.EvaluateTip(c.Request.Context(), norm, rating, comment)
	}
	if err != nil {
		ae := p.asAPIError(c, p.receiptError(c, err))
		switch {
		case ae.Status >= 500:
			p.pageFail(c, err)
		case ae == errNoReceipt || ae.Fields["receipt"] != "":
			p.renderTrack(c, ae.Status, receipt, ae.Message)
		case errors.Is(err, models.ErrWrongStage):
			p.showCase(c, ae.Status, receipt, casePage{pageBase: pageBase{Error: "当前不能评价：办理答复尚未作出，或已经评价过、评价期已过"}})
		default:
			p.showCase(c, ae.Status, receipt, casePage{pageBase: pageBase{Error: ae.Message, Fields: ae.Fields},
				Rating: rating, Comment: comment})
		}
		return
	}
	p.showCase(c, http.StatusOK, receipt, casePage{pageBase: pageBase{Notice: "感谢您的评价，评价结果已记录。"}})
}
