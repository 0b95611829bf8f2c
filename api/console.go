package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"jianfu/models"
	"jianfu/models/audit"
	"jianfu/web"
)

// The staff console: server-rendered pages in zh-CN for the office, unit
// liaisons, leaders and administrators (docs/console.md). It is another
// face of the JSON API, not a second implementation: every page and form
// calls the same models.Store methods, so who may see and do what is
// decided in one place. The console's own work is HTTP: forms, redirects
// (POST, then 303 on success; the form again with the user's input and the
// zh-CN message on a validation error) and pages for errors, where the API
// answers JSON.
//
// Sessions are the API's: the login form opens one with Store.Login and
// sets the same cookie as POST /api/v1/auth/login, and s.authenticate
// admits console requests. Forms that change state carry the session's
// CSRF token in the csrf_token field; the login form, which has no session
// yet, is protected like the public forms (csrfGuard).

// console holds the console's pages.
type console struct {
	*Server
	pages *Pages
	csrf  csrfGuard // the login form's
}

// errorPageKey marks a request whose errors fail() answers as a console
// page instead of JSON.
const errorPageKey = "jianfu.errorPage"

// maxConsoleForm bounds a form without files.
const maxConsoleForm = 64 << 10

func (s *Server) newConsole() *console {
	con := &console{Server: s,
		csrf: csrfGuard{key: s.Store.FormKey(), secure: strings.HasPrefix(s.Config.BaseURL, "https://"), now: time.Now}}
	pages, err := NewPages(web.Templates(), "console", con.funcs())
	if err != nil {
		panic(err) // the templates are embedded: a parse error is a bug caught by every test
	}
	con.pages = pages
	return con
}

// consoleNoRoute lets an unknown /console/ address answer the console's
// not-found page; other addresses keep the JSON answer.
func (con *console) consoleNoRoute(c *gin.Context) {
	if p := c.Request.URL.Path; p == "/console" || strings.HasPrefix(p, "/console/") {
		c.Set(errorPageKey, con.errorPage)
		con.tryPrincipal(c)
	}
	c.Next()
}

// tryPrincipal identifies the user of a request outside the console
// routes (for the header of an error page); a missing or expired session
// is no error here.
func (con *console) tryPrincipal(c *gin.Context) {
	v, err := c.Cookie(sessionCookie)
	if err != nil || v == "" {
		return
	}
	if p, tok, err := con.Store.SessionPrincipal(c.Request.Context(), v); err == nil {
		c.Set(principalKey, p)
		c.Set(csrfKey, tok.CSRF)
	}
}

// enter starts every console request: errors become pages, and the body
// is bounded. A multipart form (a report with evidence) carries its CSRF
// token as its first field; enter reads that field ahead so that
// s.authenticate finds the token without parsing the files, which the
// handler then streams and checks as the API does.
func (con *console) enter(c *gin.Context) {
	c.Set(errorPageKey, con.errorPage)
	if c.Request.Method == http.MethodPost {
		mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
		if mt == "multipart/form-data" {
			if c.GetHeader("X-CSRF-Token") == "" {
				// Without the token first, "-" fails the check before
				// anything parses (and would spool) the files.
				tok := peekMultipartField(c.Request, "csrf_token")
				if tok == "" {
					tok = "-"
				}
				c.Request.Header.Set("X-CSRF-Token", tok)
			}
		} else {
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxConsoleForm)
		}
	}
	c.Next()
}

// peekMultipartField returns the value of the first part of a multipart
// body if that part is the field name, and leaves the body as it was: the
// bytes read ahead are put back in front of the rest.
func peekMultipartField(r *http.Request, name string) string {
	const window = 16 << 10
	var seen bytes.Buffer
	body := r.Body
	defer func() {
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(seen.Bytes()), body), body}
	}()
	probe := *r
	probe.Body = io.NopCloser(io.LimitReader(io.TeeReader(body, &seen), window))
	mr, err := probe.MultipartReader()
	if err != nil {
		return ""
	}
	part, err := mr.NextPart()
	if err != nil || part.FormName() != name || part.FileName() != "" {
		return ""
	}
	v, err := io.ReadAll(io.LimitReader(part, 256))
	if err != nil {
		return ""
	}
	return string(v)
}

// ready sends a user who must change their password to the password page
// first.
func (con *console) ready(c *gin.Context) {
	p := principal(c)
	switch c.FullPath() {
	case "/console/password", "/console/logout":
	default:
		if p.MustChangePassword {
			c.Redirect(http.StatusSeeOther, "/console/password")
			c.Abort()
			return
		}
		if !twoFactorPages[c.FullPath()] && p.NeedsOTPEnrolment(con.Config.Require2FA) {
			c.Redirect(http.StatusSeeOther, "/console/2fa")
			c.Abort()
			return
		}
		if p.Role == models.RoleAuditor && !auditorPages[c.FullPath()] {
			fail(c, errForbidden)
			return
		}
	}
	c.Next()
}

// ------------------------------------------------------------------ pages

// consolePage is what the console layout needs on every page.
type consolePage struct {
	Title string
	Nav   string // the current menu entry: queue, dashboard, admin, password
	User  *models.Principal
	// UnitName is a liaison's unit.
	UnitName string
	CSRF     string
	Error    string
	Notice   string
	Fields   map[string]string
	// CalendarBanner warns admin and office, from 1 November, that next
	// year's holiday arrangement has not been loaded (docs/reliability.md).
	CalendarBanner string
}

// IsOffice: office staff and administrators act on cases.
func (p consolePage) IsOffice() bool { return p.User != nil && p.User.IsOffice() }

// IsLiaison: a unit liaison.
func (p consolePage) IsLiaison() bool { return p.User != nil && p.User.Role == models.RoleLiaison }

// IsAuditor: the security auditor, who reads the audit log only.
func (p consolePage) IsAuditor() bool { return p.User != nil && p.User.Role == models.RoleAuditor }

// IsAdmin: may use the administration pages.
func (p consolePage) IsAdmin() bool { return p.User != nil && p.User.Role == models.RoleAdmin }

// SeesStats: may read the dashboard (the figures cover every unit).
func (p consolePage) SeesStats() bool {
	if p.User == nil {
		return false
	}
	for _, r := range statsRoles {
		if r == p.User.Role {
			return true
		}
	}
	return false
}

// RoleName is the user's role in zh-CN.
func (p consolePage) RoleName() string {
	if p.User == nil {
		return ""
	}
	return roleNames[p.User.Role]
}

var roleNames = map[string]string{
	models.RoleAdmin: "系统管理员", models.RoleOffice: "专项机制办公室", models.RoleLeader: "分管领导",
	models.RoleLiaison: "单位联络员", models.RoleAuditor: "安全审计员",
}

// page starts the data of a page for the signed-in user.
func (con *console) page(c *gin.Context, title, nav string) consolePage {
	pg := consolePage{Title: title, Nav: nav}
	if v, ok := c.Get(principalKey); ok {
		p := v.(models.Principal)
		pg.User = &p
		if p.UnitCode != "" {
			if u, err := con.Store.UnitByCode(c.Request.Context(), p.UnitCode); err == nil {
				pg.UnitName = u.Name
			}
		}
	}
	if v, ok := c.Get(csrfKey); ok {
		pg.CSRF, _ = v.(string)
	}
	if msg := doneMessages[c.Query("done")]; msg != "" {
		pg.Notice = msg
	}
	if pg.IsOffice() {
		if year, unconfirmed, err := con.Store.UnconfirmedYear(c.Request.Context()); err == nil && unconfirmed {
			pg.CalendarBanner = fmt.Sprintf("%d年节假日安排尚未确认：办理时限暂按法定节日推算，未含调休安排。"+
				"国务院办公厅通知发布后，请系统管理员在“系统管理 → 节假日”中录入。", year)
		}
	}
	return pg
}

// doneMessages are the notices after a successful form, by the done=
// parameter of the redirect (a fixed list: no text travels in the URL).
var doneMessages = map[string]string{
	"accept": "已受理，案件进入快速分办阶段。", "reject": "已不予受理，理由将告知举报人。", "merge": "已合并到指定线索。",
	"assign": "已交办，案件进入联合核查阶段。", "verification": "核查结论已记录。", "reply": "答复已发送给举报人。",
	"reopen": "已重新督促整改。", "close": "案件已办结。", "rectification": "整改情况报告已提交，等待专项机制办公室审核。",
	"review": "审核意见已记录。", "extension": "延期申请已提交，等待专项机制办公室审批。", "extension_decision": "延期审批意见已记录。",
	"password": "密码已修改。", "logout": "您已安全退出。", "user": "账号已创建，首次登录须修改密码。", "reset": "密码已重置，该用户下次登录须修改密码。",
	"unit": "单位已保存。", "category": "类别已保存。", "rule": "分办规则已保存。", "rule_deleted": "分办规则已删除。",
	"verification_part": "本单位核查意见已提交，等待专项机制办公室汇总。", "disposal": "处置情况已记录。", "question": "问题已发送，举报人查询进展时可以看到并回答。",
	"holidays": "节假日安排已保存，新的办理时限按此计算。",
	"registry": "已备案。", "registry_import": "文件已全部导入。",
}

// render writes a console page. Every console page may show tip content
// or names, so none is cached anywhere (Pages.Render sets no-store).
func (con *console) render(c *gin.Context, status int, name string, data any) {
	con.pages.Render(c, status, name, data)
}

type errorPageData struct {
	consolePage
	Status  int
	Heading string
	Message string
}

var errorHeadings = map[int]string{
	http.StatusNotFound: "页面不存在", http.StatusForbidden: "没有权限", http.StatusConflict: "当前阶段不能办理",
	http.StatusBadRequest: "提交的内容有误", http.StatusRequestEntityTooLarge: "文件过大",
	http.StatusUnsupportedMediaType: "文件类型不支持", http.StatusTooManyRequests: "请求过于频繁",
	http.StatusMethodNotAllowed: "不支持该请求方法", http.StatusInternalServerError: "系统出错了",
	http.StatusServiceUnavailable: "服务繁忙",
}

// errorPage is fail()'s answer on console routes: a missing or expired
// session goes to the login page, anything else is a zh-CN page with the
// real status.
func (con *console) errorPage(c *gin.Context, ae *apiError) {
	if ae.Status == http.StatusUnauthorized {
		target := "/console/login"
		if c.Request.Method == http.MethodGet {
			target += "?next=" + url.QueryEscape(c.Request.URL.RequestURI())
		}
		c.Redirect(http.StatusSeeOther, target)
		c.Abort()
		return
	}
	pg := con.page(c, errorHeadings[ae.Status], "")
	pg.Notice = ""
	d := errorPageData{consolePage: pg, Status: ae.Status, Heading: errorHeadings[ae.Status], Message: ae.Message}
	if d.Heading == "" {
		d.Heading = "无法完成请求"
		d.Title = d.Heading
	}
	if ae.Status == http.StatusNotFound {
		d.Message = "您要找的页面不存在，或者您没有查看它的权限。"
	}
	con.render(c, ae.Status, "error", d)
	c.Abort()
}

// home sends each role to where its work starts.
func (con *console) home(c *gin.Context) {
	c.Redirect(http.StatusSeeOther, homeOf(principal(c)))
}

func homeOf(p models.Principal) string {
	if p.Role == models.RoleAuditor {
		return "/console/audit"
	}
	if p.Role == models.RoleLeader {
		return "/console/dashboard"
	}
	return "/console/cases"
}

// ------------------------------------------------------------------ login

type loginPageData struct {
	consolePage
	Username string
	Next     string
}

// safeNext keeps a post-login target only if it is a console address on
// this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/console/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return ""
	}
	if u, err := url.Parse(next); err != nil || u.Host != "" || u.Scheme != "" || u.Path == "/console/logout" {
		return ""
	}
	return next
}

func (con *console) loginForm(c *gin.Context) {
	pg := con.page(c, "登录", "")
	pg.CSRF = con.csrf.token(c)
	con.render(c, http.StatusOK, "login", loginPageData{consolePage: pg, Next: safeNext(c.Query("next"))})
}

func (con *console) login(c *gin.Context) {
	d := loginPageData{consolePage: con.page(c, "登录", ""), Username: strings.TrimSpace(c.PostForm("username")),
		Next: safeNext(c.PostForm("next"))}
	d.CSRF = con.csrf.token(c)
	if !con.csrf.check(c, c.PostForm("csrf_token")) {
		d.Error = "登录页面已过期，请重新输入后登录。"
		con.render(c, http.StatusForbidden, "login", d)
		return
	}
	password := c.PostForm("password")
	if d.Username == "" || password == "" {
		d.Error = "请输入用户名和密码。"
		con.render(c, http.StatusBadRequest, "login", d)
		return
	}
	p, tok, err := con.Store.LoginWith(c.Request.Context(), models.LoginParams{Username: d.Username, Password: password,
		OTP: strings.TrimSpace(c.PostForm("otp")), Client: con.clientHash(c)})
	con.auditLogin(c, d.Username, p, err)
	if err != nil {
		var ae *apiError
		if errors.As(loginError(c, err), &ae) {
			d.Error = ae.Message
			con.render(c, ae.Status, "login", d)
			return
		}
		fail(c, err)
		return
	}
	con.setSessionCookie(c, tok.Token, tok.ExpiresAt)
	target := d.Next
	switch {
	case p.MustChangePassword:
		target = "/console/password"
	case target == "":
		target = homeOf(p)
	}
	c.Redirect(http.StatusSeeOther, target)
}

func (con *console) logout(c *gin.Context) {
	con.audit(c, audit.Entry{Action: audit.ActionLogout, Target: "user:" + principal(c).Username})
	if v, err := c.Cookie(sessionCookie); err == nil {
		if err := con.Store.Logout(c.Request.Context(), v); err != nil {
			fail(c, err)
			return
		}
	}
	con.setSessionCookie(c, "", time.Unix(1, 0))
	c.Redirect(http.StatusSeeOther, "/console/login?done=logout")
}

// --------------------------------------------------------------- password

func (con *console) passwordForm(c *gin.Context) {
	pg := con.page(c, "修改密码", "password")
	if pg.User.MustChangePassword {
		pg.Notice = "为了账号安全，首次登录或密码被重置后须先修改密码。"
	}
	con.render(c, http.StatusOK, "password", pg)
}

func (con *console) changePassword(c *gin.Context) {
	pg := con.page(c, "修改密码", "password")
	old, new1, new2 := c.PostForm("old_password"), c.PostForm("new_password"), c.PostForm("confirm_password")
	var err error
	if new1 != new2 {
		err = &models.ValidationError{Fields: map[string]string{"confirm_password": "两次输入的新密码不一致"}}
	} else {
		err = con.Store.ChangePassword(c.Request.Context(), *pg.User, old, new1)
	}
	if err != nil {
		var ve *models.ValidationError
		if !errors.As(err, &ve) {
			fail(c, err)
			return
		}
		pg.Error, pg.Fields = "密码未修改："+firstMessage(ve.Fields), ve.Fields
		con.render(c, http.StatusBadRequest, "password", pg)
		return
	}
	con.audit(c, audit.Entry{Action: audit.ActionPasswordChange, Target: "user:" + pg.User.Username})
	c.Redirect(http.StatusSeeOther, homeOf(*pg.User)+"?done=password")
}
