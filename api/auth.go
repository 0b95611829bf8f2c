package api

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"jianfu/models"
)

// sessionCookie holds the console session; its value is only ever stored
// hashed.
const sessionCookie = "jianfu_session"

const principalKey = "jianfu.principal"

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

func (s *Server) login(c *gin.Context) {
	var req loginRequest
	if err := decodeJSON(c, &req, 4<<10); err != nil {
		fail(c, err)
		return
	}
	if req.Username == "" || req.Password == "" {
		fail(c, fieldError("username", "请输入用户名和密码"))
		return
	}
	p, tok, err := s.Store.Login(c.Request.Context(), req.Username, req.Password)
	if err != nil {
		fail(c, loginError(c, err))
		return
	}
	s.setSessionCookie(c, tok.Token, tok.ExpiresAt)
	c.JSON(http.StatusOK, gin.H{"csrf_token": tok.CSRF, "user": principalJSON(p)})
}

// loginError turns a failed login into the answer the user sees.
func loginError(c *gin.Context, err error) error {
	var locked *models.LockedError
	switch {
	case errors.As(err, &locked):
		c.Header("Retry-After", strconv.Itoa(int(time.Until(locked.Until).Seconds())+1))
		return newError(http.StatusTooManyRequests, "account_locked",
			"登录失败次数过多，账号已临时锁定，请于"+locked.Until.In(models.Shanghai()).Format("15:04")+"后再试")
	case errors.Is(err, models.ErrBadCredentials):
		return newError(http.StatusUnauthorized, "bad_credentials", "用户名或密码错误（连续错误5次将锁定15分钟）")
	}
	return err
}

func (s *Server) setSessionCookie(c *gin.Context, value string, expires time.Time) {
	http.SetCookie(c.Writer, &http.Cookie{
		Name: sessionCookie, Value: value, Path: "/", Expires: expires, HttpOnly: true,
		Secure: strings.HasPrefix(s.Config.BaseURL, "https://"), SameSite: http.SameSiteLaxMode,
	})
}

func (s *Server) logout(c *gin.Context) {
	if v, err := c.Cookie(sessionCookie); err == nil {
		if err := s.Store.Logout(c.Request.Context(), v); err != nil {
			fail(c, err)
			return
		}
	}
	s.setSessionCookie(c, "", time.Unix(1, 0))
	c.Status(http.StatusNoContent)
}

func (s *Server) me(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"user": principalJSON(principal(c))})
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
	if err := s.Store.ChangePassword(c.Request.Context(), principal(c).UserID, req.OldPassword, req.NewPassword); err != nil {
		fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func principalJSON(p models.Principal) gin.H {
	return gin.H{"username": p.Username, "role": p.Role, "unit": p.UnitCode, "must_change_password": p.MustChangePassword}
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
				err = newError(http.StatusUnauthorized, "bad_token", "API 令牌无效")
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
	p, csrf, err := s.Store.SessionPrincipal(ctx, v)
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
		if subtle.ConstantTimeCompare([]byte(sent), []byte(csrf)) != 1 {
			fail(c, newError(http.StatusForbidden, "csrf_failed", "页面已过期或请求来源不可信，请刷新页面后重试"))
			return
		}
	}
	c.Set(principalKey, p)
	c.Set(csrfKey, csrf)
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
