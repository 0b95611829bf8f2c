package api

import (
	"bytes"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"
)

// 关怀模式 (care mode): larger text and higher contrast on the public
// pages for older and low-vision visitors. It is a display preference in a
// cookie, switched by a plain form POST that redirects back, so it works
// without JavaScript. The page renderer marks <body> and fills the
// switch's slot in the layout, so every public page has it whatever data
// it renders. Nothing about it is stored on the server.

const (
	careCookie = "jianfu_care"
	// careMaxAge keeps the preference a year.
	careMaxAge = 365 * 24 * 3600
)

var (
	careSlot = []byte(`<div id="care-slot"></div>`)
	bodyTag  = []byte(`<body>`)
	// careForm is the switch; its label says what pressing it does.
	careForm = template.Must(template.New("care").Parse(`<form method="post" action="/care" class="care-form">` +
		`<input type="hidden" name="csrf_token" value="{{.CSRF}}"><input type="hidden" name="next" value="{{.Next}}">` +
		`<button type="submit" class="care-toggle" id="care-toggle">` +
		`{{if .On}}退出关怀模式{{else}}开启关怀模式{{end}}<span class="vh">（大字号、高对比度）</span></button></form>`))
)

// careOn reports whether this browser chose 关怀模式.
func careOn(c *gin.Context) bool {
	v, err := c.Cookie(careCookie)
	return err == nil && v == "1"
}

// careChrome marks a rendered public page for 关怀模式 and puts the switch
// in its header. A page answering a POST (a receipt, a case looked up by
// its receipt) gets no switch: going back there would mean resubmitting,
// and the receipt page must never be lost to a display setting.
func (p *publicSite) careChrome(c *gin.Context, page []byte) []byte {
	on := careOn(c)
	if on {
		page = bytes.Replace(page, bodyTag, []byte(`<body class="care">`), 1)
	}
	var form bytes.Buffer
	if c.Request.Method == http.MethodGet {
		data := struct {
			CSRF, Next string
			On         bool
		}{p.csrf.token(c), c.Request.URL.RequestURI(), on}
		if err := careForm.Execute(&form, data); err != nil {
			form.Reset()
		}
	}
	return bytes.Replace(page, careSlot, form.Bytes(), 1)
}

// toggleCare switches 关怀模式 and sends the browser back to the page it
// came from. Cross-site posts and a missing form token are refused like on
// every public form, so another site cannot flip the setting.
func (p *publicSite) toggleCare(c *gin.Context) {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, 4<<10)
	if err := c.Request.ParseForm(); err != nil || !p.csrf.check(c, c.Request.PostForm.Get(csrfField)) {
		p.pages.Render(c, errCSRF.Status, "message", messagePage{pageBase: pageBase{Title: "请刷新页面后重试"},
			Text: "页面已过期或来源不明，关怀模式未切换。请返回页面刷新后再试。"})
		return
	}
	v, age := "1", careMaxAge
	if careOn(c) {
		v, age = "", -1
	}
	c.SetSameSite(http.SameSiteLaxMode)
	c.SetCookie(careCookie, v, age, "/", "", p.csrf.secure, true)
	c.Redirect(http.StatusSeeOther, localPath(c.Request.PostForm.Get("next")))
}

// localPath returns next when it is a path on this site, else "/": the
// switch must not become an open redirect.
func localPath(next string) string {
	u, err := url.Parse(next)
	if err != nil || next == "" || u.Scheme != "" || u.Host != "" || u.User != nil ||
		!strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n\t") {
		return "/"
	}
	return next
}
