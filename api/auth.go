package api

import (
	"crypto/subtle"
	"errors"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"jianfu/models"
	"jianfu/models/audit"
)

// sessionCookie holds the console session; its value is only ever stored
// hashed.
const sessionCookie = "jianfu_session"

const principalKey = "jianfu.principal"

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
	OTP      string `json:"otp"`
}

// errLoginMediaType: a login is JSON only, so a cross-site HTML form
// (text/plain, urlencoded) cannot post one.
var errLoginMediaType = newError(http.StatusUnsupportedMediaType, "unsupported_media_type", "登录请求须以 application/json 提交")

var errCrossOrigin = newError(http.StatusForbidden, "cross_origin", "不接受来自其他网站的请求")

// login takes JSON only and refuses cross-site requests (the standard
// library's CrossOriginProtection reads Sec-Fetch-Site and Origin), so no
// other site can log a browser into an account of its choosing.
func (s *Server) login(c *gin.Context) {
	if err := s.cop.Check(c.Request); err != nil {
		fail(c, errCrossOrigin)
		return
	}
	if mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type")); mt != "application/json" {
		fail(c, errLoginMediaType)
		return
	}
	var req loginRequest
	if err := decodeJSON(c, &req, 4<<10); err != nil {
		fail(c, err)
		return
	}
	if req.Username == "" || req.Password == "" {
		fail(c, fieldError("username", "请输入用户名和密码"))
		return
	}
	p, tok, err := s.Store.LoginWith(c.Request.Context(), models.LoginParams{Username: req.Username,
		Password: req.Password, OTP: req.OTP, Client: s.clientHash(c)})
	s.auditLogin(c, req.Username, p, err)
	if err != nil {
		fail(c, loginError(c, err))
		return
	}
	s.setSessionCookie(c, tok.Token, tok.ExpiresAt)
	c.JSON(http.StatusOK, gin.H{"csrf_token": tok.CSRF, "user": s.principalJSON(p)})
}

// auditLogin records one login attempt: ok, failed or refused. The
// username tried is kept (it may be a mistyped password: only the name
// field goes in).
func (s *Server) auditLogin(c *gin.Context, username string, p models.Principal, err error) {
	e := audit.Entry{Actor: username, ActorRole: p.Role, Action: audit.ActionLogin, Target: "user:" + username}
	var th *models.ThrottledError
	switch {
	case err == nil:
	case errors.As(err, &th):
		e.Outcome, e.Detail = audit.OutcomeRefused, "too many failures from this client"
	case errors.Is(err, models.ErrOTPRequired):
		e.Outcome, e.Detail = audit.OutcomeFailed, "otp required"
	case errors.Is(err, models.ErrBadOTP):
		e.Outcome, e.Detail = audit.OutcomeFailed, "bad otp"
	case errors.Is(err, models.ErrBadCredentials):
		e.Outcome, e.Detail = audit.OutcomeFailed, "bad credentials"
	default:
		return // a server error: logged by fail
	}
	s.audit(c, e)
}

// loginError turns a failed login into the answer the user sees. Unknown
// user, wrong password, disabled and locked accounts answer alike.
func loginError(c *gin.Context, err error) error {
	var th *models.ThrottledError
	switch {
	case errors.As(err, &th):
		c.Header("Retry-After", strconv.Itoa(int(th.RetryAfter.Seconds())+1))
		return newError(http.StatusTooManyRequests, "too_many_attempts", "登录失败次数过多，请稍后再试")
	case errors.Is(err, models.ErrBadCredentials):
		return newError(http.StatusUnauthorized, "bad_credentials", "用户名或密码错误")
	case errors.Is(err, models.ErrOTPRequired):
		return &apiError{Status: http.StatusUnauthorized, Code: "otp_required", Message: "请输入手机验证器上的6位动态验证码或一个恢复码",
			Fields: map[string]string{"otp": "请输入动态验证码"}}
	case errors.Is(err, models.ErrBadOTP):
		return &apiError{Status: http.StatusUnauthorized, Code: "bad_otp", Message: "动态验证码不正确或已使用过",
			Fields: map[string]string{"otp": "动态验证码不正确或已使用过"}}
	}
	return err
}

// setSessionCookie sets the session cookie to live until expires by the
// store's clock. It is sent as Max-Age, a lifetime the browser counts on
// its own clock, so the two clocks need not agree (a test's fixed clock).
func (s *Server) setSessionCookie(c *gin.Context, value string, expires time.Time) {
	maxAge := int(expires.Sub(s.Store.Now()).Seconds())
	if maxAge <= 0 {
		maxAge = -1 // delete it now
	}
	http.SetCookie(c.Writer, &http.Cookie{
		Name: sessionCookie, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		Secure: strings.HasPrefix(s.Config.BaseURL, "https://"), SameSite: http.SameSiteLaxMode,
	})
}

func (s *Server) logout(c *gin.Context) {
	if err := s.cop.Check(c.Request); err != nil {
		fail(c, errCrossOrigin)
		return
	}
	if v, err := c.Cookie(sessionCookie); err == nil && v != "" {
		if p, _, err := s.Store.SessionPrincipal(c.Request.Context(), v); err == nil {
			c.Set(principalKey, p)
			s.audit(c, audit.Entry{Action: audit.ActionLogout, Target: "user:" + p.Username})
		}
		if err := s.Store.Logout(c.Request.Context(), v); err != nil {
			fail(c, err)
			return
		}
	}
	s.setSessionCookie(c, "", time.Unix(1, 0))
	c.Status(http.StatusNoContent)
}

func (s *Server) me(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"user": s.principalJSON(principal(c))})
}

type passwordRequest struct {
	OldPassword string `json:"old_password"`
	NewPassword string `json:"new_password"`
}

func (s *Server) changePassword(c *gin.Context) {
	var req passwordRequest
	if err := decodeJSON(c, &req, 4<<10); err != nil {
		fail(c, err)
		return
	}
	p := principal(c)
	if err := s.Store.ChangePassword(c.Request.Context(), p, req.OldPassword, req.NewPassword); err != nil {
		fail(c, err)
		return
	}
	s.audit(c, audit.Entry{Action: audit.ActionPasswordChange, Target: "user:" + p.Username})
	c.Status(http.StatusNoContent)
}

func (s *Server) principalJSON(p models.Principal) gin.H {
	return gin.H{"username": p.Username, "role": p.Role, "unit": p.UnitCode, "must_change_password": p.MustChangePassword,
		"otp_enabled": p.OTPEnabled, "otp_enrolment_required": p.NeedsOTPEnrolment(s.Config.Require2FA)}
}

// authenticate admits a staff request by bearer token or session cookie.
// Cookie-authenticated requests that change state must carry the session's
// CSRF token in X-CSRF-Token (or the csrf_token form field of console
// pages); bearer tokens are not sent by browsers, so they need none.
func (s *Server) authenticate(c *gin.Context) {
	ctx := c.Request.Context()
	if h := c.GetHeader("Authorization"); h != "" {
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			fail(c, errUnauthorized)
			return
		}
		p, err := s.Store.TokenPrincipal(ctx, strings.TrimSpace(tok))
		if err != nil {
			if errors.Is(err, models.ErrNotFound) {
				err = newError(http.StatusUnauthorized, "bad_token", "API 令牌无效、已过期或已吊销")
			}
			fail(c, err)
			return
		}
		c.Set(principalKey, p)
		c.Next()
		return
	}
	v, err := c.Cookie(sessionCookie)
	if err != nil || v == "" {
		fail(c, errUnauthorized)
		return
	}
	p, tok, err := s.Store.SessionPrincipal(ctx, v)
	if err != nil {
		if errors.Is(err, models.ErrNotFound) {
			err = newError(http.StatusUnauthorized, "session_expired", "登录已过期，请重新登录")
		}
		fail(c, err)
		return
	}
	switch c.Request.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
	default:
		sent := c.GetHeader("X-CSRF-Token")
		if sent == "" {
			sent = c.PostForm("csrf_token")
		}
		if subtle.ConstantTimeCompare([]byte(sent), []byte(tok.CSRF)) != 1 {
			fail(c, newError(http.StatusForbidden, "csrf_failed", "页面已过期或请求来源不可信，请刷新页面后重试"))
			return
		}
	}
	c.Set(principalKey, p)
	c.Set(csrfKey, tok.CSRF)
	c.Next()
}

const csrfKey = "jianfu.csrf"

// principal is the authenticated staff user of the request.
func principal(c *gin.Context) models.Principal {
	p, _ := c.Get(principalKey)
	return p.(models.Principal)
}

// requireRole admits only the given roles.
func requireRole(roles ...string) gin.HandlerFunc {
	return func(c *gin.Context) {
		role := principal(c).Role
		for _, r := range roles {
			if r == role {
				c.Next()
				return
			}
		}
		fail(c, errForbidden)
	}
}

// Staff API routes a user may call before anything else is settled.
var (
	// passwordChangeRoutes: all a user with must_change_password may use
	// (and /auth/logout, which needs no login).
	passwordChangeRoutes = map[string]bool{"/api/v1/auth/me": true, "/api/v1/auth/password": true}
	// enrolmentRoutes: all a user who must set up 2FA may use.
	enrolmentRoutes = map[string]bool{"/api/v1/auth/me": true, "/api/v1/auth/password": true,
		"/api/v1/auth/2fa/setup": true, "/api/v1/auth/2fa/confirm": true}
)

// gate holds a staff API request to what the user may do now: a user whose
// password must change may only change it; a user whose role requires a
// second factor that is not set up may only set it up; an auditor reads
// the audit log and nothing else (三员分立).
func (s *Server) gate(c *gin.Context) {
	p, route := principal(c), c.FullPath()
	switch {
	case p.MustChangePassword && !passwordChangeRoutes[route]:
		fail(c, newError(http.StatusForbidden, "password_change_required", "请先修改密码（首次登录或密码被重置后须修改）"))
	case p.NeedsOTPEnrolment(s.Config.Require2FA) && !enrolmentRoutes[route]:
		fail(c, newError(http.StatusForbidden, "otp_enrolment_required", "您的角色须启用两步验证，请先在控制台完成设置"))
	case p.Role == models.RoleAuditor && !strings.HasPrefix(route, "/api/v1/auth/") && !strings.HasPrefix(route, "/api/v1/audit"):
		fail(c, errForbidden)
	default:
		c.Next()
	}
}

// checkIDs answers 404 for an :id that is not a number from 1 to 2^63-1
// (the range every database column of ids holds), before any handler
// parses it.
func checkIDs(c *gin.Context) {
	if v := c.Param("id"); v != "" {
		if n, err := strconv.ParseUint(v, 10, 63); err != nil || n == 0 {
			fail(c, errNotFound)
			return
		}
	}
	c.Next()
}

// clientHash is the keyed hash of the request's client address.
func (s *Server) clientHash(c *gin.Context) string {
	return s.Store.ClientHash(s.addrs.clientAddr(c.Request))
}

// audit records e for the request's user and client.
func (s *Server) audit(c *gin.Context, e audit.Entry) {
	if e.Actor == "" {
		if v, ok := c.Get(principalKey); ok {
			p := v.(models.Principal)
			e.Actor, e.ActorRole = p.Username, p.Role
		}
	}
	e.Client = s.clientHash(c)
	s.Audit.Record(c.Request.Context(), e)
}
