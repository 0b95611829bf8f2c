package api

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"
	qrcode "github.com/skip2/go-qrcode"

	"jianfu/models"
	"jianfu/models/evaluation"
)

// 码上评议 (DESIGN §10.6): a QR code and an A4 poster per unit. The code
// opens the tip form with the unit filled in; the poster also points to
// the unit's service rating page and the follow-up page.

// qrSVG draws content as a QR code (medium error correction, with the
// quiet zone) in SVG: one path of unit squares on a white square, sized
// by the container.
func qrSVG(content string) (string, error) {
	q, err := qrcode.New(content, qrcode.Medium)
	if err != nil {
		return "", fmt.Errorf("qr code: %w", err)
	}
	bits := q.Bitmap()
	n := len(bits)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" shape-rendering="crispEdges" role="img" aria-label="二维码">`, n, n)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, n, n)
	for y, row := range bits {
		for x, dark := range row {
			if dark {
				fmt.Fprintf(&b, "M%d %dh1v1h-1z", x, y)
			}
		}
	}
	b.WriteString(`"/></svg>`)
	return b.String(), nil
}

// unitTipURL is what a unit's poster code opens: the tip form with the
// unit filled in.
func (s *Server) unitTipURL(code string) string {
	return s.Config.BaseURL + "/?unit=" + url.QueryEscape(code)
}

// evaluationSite holds the 码上评议 pages and endpoints.
type evaluationSite struct {
	*publicSite
	ev  *evaluation.Store
	con *console // the administrator's pages
}

func (p *publicSite) newEvaluationSite(con *console) *evaluationSite {
	return &evaluationSite{publicSite: p, ev: evaluation.New(p.Store), con: con}
}

// unitQR answers GET /qr/{unit}.svg.
func (e *evaluationSite) unitQR(c *gin.Context) {
	code, ok := strings.CutSuffix(c.Param("file"), ".svg")
	if !ok {
		fail(c, errNotFound)
		return
	}
	u, err := e.ev.UnitByCode(c.Request.Context(), code)
	if err != nil {
		fail(c, err)
		return
	}
	svg, err := qrSVG(e.unitTipURL(u.Code))
	if err != nil {
		fail(c, err)
		return
	}
	c.Header("Cache-Control", "public, max-age=300")
	c.Data(http.StatusOK, "image/svg+xml", []byte(svg))
}

// posterPage is one unit's A4 poster, or all of them (console).
type posterPage struct {
	pageBase
	Posters []poster
	Console bool
}

type poster struct {
	Unit    models.Unit
	QR      template.HTML // drawn by qrSVG from our own URL: no user text
	TipURL  string
	RateURL string
	Track   string
}

func (e *evaluationSite) poster(u models.Unit) (poster, error) {
	svg, err := qrSVG(e.unitTipURL(u.Code))
	if err != nil {
		return poster{}, err
	}
	return poster{Unit: u, QR: template.HTML(svg), TipURL: e.unitTipURL(u.Code),
		RateURL: e.Config.BaseURL + "/rate/" + url.PathEscape(u.Code), Track: e.Config.BaseURL + "/track"}, nil
}

// unitPoster answers GET /posters/{unit}: a printable A4 poster.
func (e *evaluationSite) unitPoster(c *gin.Context) {
	u, err := e.ev.UnitByCode(c.Request.Context(), c.Param("unit"))
	if errors.Is(err, models.ErrNotFound) {
		e.notFoundPage(c)
		return
	}
	if err != nil {
		e.pageFail(c, err)
		return
	}
	p, err := e.poster(u)
	if err != nil {
		e.pageFail(c, err)
		return
	}
	e.pages.Render(c, http.StatusOK, "poster", posterPage{pageBase: pageBase{Title: u.Name + " · 码上评议海报"}, Posters: []poster{p}})
}

// allPosters answers GET /console/admin/posters: every active unit's
// poster, one per printed page.
func (e *evaluationSite) allPosters(c *gin.Context) {
	units, err := e.Store.Units(c.Request.Context(), "")
	if err != nil {
		fail(c, err)
		return
	}
	page := posterPage{pageBase: pageBase{Title: "全部单位码上评议海报"}, Console: true}
	for _, u := range units {
		p, err := e.poster(u)
		if err != nil {
			fail(c, err)
			return
		}
		page.Posters = append(page.Posters, p)
	}
	e.pages.Render(c, http.StatusOK, "poster", page)
}

// notFoundPage answers an unknown unit on a public page.
func (e *evaluationSite) notFoundPage(c *gin.Context) {
	e.pages.Render(c, http.StatusNotFound, "message", messagePage{pageBase: pageBase{Title: "未找到该单位"},
		Text: "没有找到这个单位，它可能已经停用。请核对二维码或网址，或直接在首页反映问题。"})
}
