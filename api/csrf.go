package api

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// The public forms have no login and no session, so CSRF protection is a
// signed double submit: the first page view sets a random nonce in an
// HttpOnly, SameSite=Strict cookie, and every form carries a token that is
// an HMAC of that nonce and the time it was issued, under a key derived
// from JIANFU_SECRET_KEY. A forged cross-site POST has neither the cookie
// (SameSite) nor a token matching it (the key). Browsers that announce a
// cross-site request (Sec-Fetch-Site, Origin) are refused outright. The
// nonce identifies nothing and nothing about it is stored on the server.

const (
	csrfCookie = "jianfu_form"
	csrfField  = "csrf_token"
	// csrfTTL is how long a form stays valid: long enough to write a tip
	// slowly, short enough that an old token is worth nothing.
	csrfTTL = 24 * time.Hour
)

type csrfGuard struct {
	key    []byte
	secure bool // set the Secure flag (JIANFU_BASE_URL is https)
	now    func() time.Time
}

// token returns the form token for this browser, setting its nonce cookie
// when it has none yet.
// A page may ask more than once (its form and the 关怀模式 switch): the
// nonce set for this response is reused, so every form matches the cookie.
func (g csrfGuard) token(c *gin.Context) string {
	nonce, err := c.Cookie(csrfCookie)
	if set := c.GetString(csrfNonceKey); set != "" {
		nonce, err = set, nil
	}
	if err != nil || !validNonce(nonce) {
		b := make([]byte, 18)
		rand.Read(b)
		nonce = base64.RawURLEncoding.EncodeToString(b)
		http.SetCookie(c.Writer, &http.Cookie{Name: csrfCookie, Value: nonce, Path: "/", HttpOnly: true,
			Secure: g.secure || c.Request.TLS != nil, SameSite: http.SameSiteStrictMode})
		c.Set(csrfNonceKey, nonce)
	}
	return g.sign(nonce, g.now())
}

// csrfNonceKey holds, in the request's context, a nonce set by this response.
const csrfNonceKey = "jianfu.csrf_nonce"

func (g csrfGuard) sign(nonce string, at time.Time) string {
	ts := make([]byte, 8)
	binary.BigEndian.PutUint64(ts, uint64(at.Unix()))
	return base64.RawURLEncoding.EncodeToString(append(ts, g.mac(nonce, ts)...))
}

func (g csrfGuard) mac(nonce string, ts []byte) []byte {
	m := hmac.New(sha256.New, g.key)
	m.Write([]byte("csrf\x00"))
	m.Write(ts)
	m.Write([]byte(nonce))
	return m.Sum(nil)[:20]
}

// check verifies a submitted form: a same-origin request, the nonce cookie,
// and a fresh token signed for that nonce.
func (g csrfGuard) check(c *gin.Context, token string) bool {
	r := c.Request
	if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" || site == "same-site" {
		return false
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		u, err := url.Parse(o)
		if err != nil || !strings.EqualFold(u.Host, r.Host) {
			return false
		}
	}
	nonce, err := c.Cookie(csrfCookie)
	if err != nil || !validNonce(nonce) {
		return false
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != 28 {
		return false
	}
	ts := raw[:8]
	at := time.Unix(int64(binary.BigEndian.Uint64(ts)), 0)
	now := g.now()
	if at.After(now.Add(time.Minute)) || now.Sub(at) > csrfTTL {
		return false
	}
	return hmac.Equal(raw[8:], g.mac(nonce, ts))
}

func validNonce(s string) bool {
	b, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil && len(b) == 18
}

var errCSRF = newError(http.StatusForbidden, "csrf_failed", "页面已过期或来源无法确认，请刷新页面后重新提交（您填写的内容已保留）")
