package api

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"jianfu/models"
)

// Pages renders server-side pages in zh-CN: html/template, parsed once at
// start from an embedded FS. Every page file is parsed together with the
// shared files (names ending in ".part.html": the layout and partials) and runs
// the "layout" template, which calls the page's "title" and "content"
// blocks. html/template escapes every value by context, so whatever a
// tipster typed is shown as text, never as markup.
type Pages struct {
	byName map[string]*template.Template
	// decorate, when set, adjusts every rendered page for its request
	// (the public pages' 关怀模式, api/care.go).
	decorate func(c *gin.Context, page []byte) []byte
}

// NewPages parses the templates in dir of fsys, with the shared helpers
// (templateFuncs) and any extra ones, which may also replace shared ones.
func NewPages(fsys fs.FS, dir string, extra ...template.FuncMap) (*Pages, error) {
	funcs := template.FuncMap{}
	for _, m := range append([]template.FuncMap{templateFuncs}, extra...) {
		for k, f := range m {
			funcs[k] = f
		}
	}
	shared, err := fs.Glob(fsys, path.Join(dir, "*.part.html"))
	if err != nil {
		return nil, err
	}
	all, err := fs.Glob(fsys, path.Join(dir, "*.html"))
	if err != nil {
		return nil, err
	}
	p := &Pages{byName: map[string]*template.Template{}}
	for _, file := range all {
		base := path.Base(file)
		if strings.HasSuffix(base, ".part.html") {
			continue
		}
		name := strings.TrimSuffix(base, ".html")
		t, err := template.New(name).Funcs(funcs).ParseFS(fsys, append(append([]string{}, shared...), file)...)
		if err != nil {
			return nil, fmt.Errorf("parse template %s: %w", file, err)
		}
		if t.Lookup("layout") == nil {
			return nil, fmt.Errorf("template %s: no layout among %v", file, shared)
		}
		p.byName[name] = t
	}
	return p, nil
}

// Render writes page name with data and status. Pages are never cached:
// they carry form tokens, and some a receipt.
func (p *Pages) Render(c *gin.Context, status int, name string, data any) {
	t := p.byName[name]
	var buf bytes.Buffer
	if t == nil {
		fail(c, fmt.Errorf("no page template %q", name))
		return
	}
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		fail(c, fmt.Errorf("render %s: %w", name, err))
		return
	}
	out := buf.Bytes()
	if p.decorate != nil {
		out = p.decorate(c, out)
	}
	h := c.Writer.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	c.Data(status, "text/html; charset=utf-8", out)
}

// templateFuncs are the helpers every page may use.
var templateFuncs = template.FuncMap{
	// date and datetime show a time in Asia/Shanghai.
	"date":      func(t time.Time) string { return t.In(models.Shanghai()).Format("2006年1月2日") },
	"datetime":  func(t time.Time) string { return t.In(models.Shanghai()).Format("2006年1月2日 15:04") },
	"isodate":   func(t time.Time) string { return t.In(models.Shanghai()).Format("2006-01-02") },
	"stageName": func(s string) string { return models.StageNames[s] },
	"ratingName": func(s string) string {
		return models.RatingNames[s]
	},
	// groups splits a receipt into groups of four digits for reading aloud
	// and copying by hand.
	"groups": func(s string) []string {
		var g []string
		for len(s) > 4 {
			g = append(g, s[:4])
			s = s[4:]
		}
		return append(g, s)
	},
	// lines splits text at line breaks, so templates show paragraphs
	// without ever marking text safe.
	"lines": func(s string) []string { return strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") },
}
