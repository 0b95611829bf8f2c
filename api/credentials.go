package api

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image/png"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"jianfu/models"
	"jianfu/models/audit"
)

// Credentials (DESIGN §10.2): the user's own second factor, and the
// administrator's view of users and API tokens.

// otpSetup starts (or restarts) TOTP enrolment: the secret, its otpauth://
// address and the QR code as a PNG data URL, all made here (no external
// service ever sees the secret).
func (s *Server) otpSetup(c *gin.Context) {
	en, err := s.Store.BeginOTP(c.Request.Context(), principal(c))
	if err != nil {
		fail(c, err)
		return
	}
	qr, err := qrDataURL(en)
	if err != nil {
		fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{"secret": en.Secret, "otpauth_url": en.URL, "qr": qr})
}

// qrDataURL draws the enrolment's QR code as a PNG data URL (the console's
// CSP allows data: images).
func qrDataURL(en models.OTPEnrolment) (string, error) {
	img, err := en.Key.Image(240, 240)
	if err != nil {
		return "", fmt.Errorf("draw otp qr: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", err
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

// otpConfirm turns 2FA on with a first code and answers the ten recovery
// codes, once.
func (s *Server) otpConfirm(c *gin.Context) {
	var req struct {
		OTP string `json:"otp"`
	}
	if err := decodeJSON(c, &req, 1<<10); err != nil {
		fail(c, err)
		return
	}
	p := principal(c)
	codes, err := s.Store.ConfirmOTP(c.Request.Context(), p, req.OTP)
	if err != nil {
		fail(c, err)
		return
	}
	s.audit(c, audit.Entry{Action: audit.ActionOTPEnrol, Target: "user:" + p.Username})
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{"recovery_codes": codes})
}

// errAuditorAccount keeps the administrator away from auditor accounts
// (三员分立): whoever could create, reset or re-role an auditor could read
// the log of their own actions. The operator manages them with `jianfu user`.
var errAuditorAccount = newError(http.StatusForbidden, "auditor_account",
	"安全审计员账号只能由运维人员在服务器上用 jianfu user 命令管理")

// touchesAuditor refuses an administrator's change to an auditor account
// or one that would make an auditor; an unknown user is ErrNotFound.
func (s *Server) touchesAuditor(c *gin.Context, username string, newRole string) error {
	if newRole == models.RoleAuditor {
		return errAuditorAccount
	}
	if username == "" {
		return nil
	}
	role, err := s.Store.UserRole(c.Request.Context(), username)
	if err != nil {
		return err
	}
	if role == models.RoleAuditor {
		return errAuditorAccount
	}
	return nil
}

// maxAdminJSON bounds the body of token and user changes.
const maxAdminJSON = 4 << 10

// createOwnToken lets a signed-in user make a bearer token for an
// integration acting as themselves: {"name", "ttl_days"}.
func (s *Server) createOwnToken(c *gin.Context) {
	var req struct {
		Name    string `json:"name"`
		TTLDays int    `json:"ttl_days"`
	}
	if err := decodeJSON(c, &req, maxAdminJSON); err != nil {
		fail(c, err)
		return
	}
	p := principal(c)
	if req.TTLDays < 0 || req.TTLDays > 100*365 {
		fail(c, fieldError("ttl_days", "有效期天数不正确"))
		return
	}
	tok, v, err := s.Store.CreateToken(c.Request.Context(), models.TokenParams{Username: p.Username, Name: req.Name,
		TTL: time.Duration(req.TTLDays) * 24 * time.Hour})
	if err != nil {
		fail(c, err)
		return
	}
	s.audit(c, audit.Entry{Action: audit.ActionTokenCreate, Target: "token:" + strconv.FormatUint(v.ID, 10), Detail: "user:" + p.Username})
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, gin.H{"token": tok, "id": v.ID, "name": v.Name, "expires_at": v.ExpiresAt})
}

func (s *Server) adminTokens(c *gin.Context) {
	items, err := s.Store.Tokens(c.Request.Context(), c.Query("username"))
	if err != nil {
		fail(c, err)
		return
	}
	if items == nil {
		items = []models.TokenView{}
	}
	c.JSON(http.StatusOK, gin.H{"items": items})
}

func (s *Server) adminRevokeToken(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	v, err := s.Store.RevokeToken(c.Request.Context(), id)
	if err != nil {
		fail(c, err)
		return
	}
	s.audit(c, audit.Entry{Action: audit.ActionTokenRevoke, Target: "token:" + strconv.FormatUint(id, 10), Detail: "user:" + v.Username})
	c.Status(http.StatusNoContent)
}

// adminUpdateUser changes a user's role, unit or disabled flag:
// {"disabled", "role", "unit"}. Disabling ends the user's sessions and
// tokens at once.
func (s *Server) adminUpdateUser(c *gin.Context) {
	var req struct {
		Disabled *bool   `json:"disabled"`
		Role     *string `json:"role"`
		Unit     *string `json:"unit"`
	}
	if err := decodeJSON(c, &req, maxAdminJSON); err != nil {
		fail(c, err)
		return
	}
	name := c.Param("username")
	newRole := ""
	if req.Role != nil {
		newRole = *req.Role
	}
	if err := s.touchesAuditor(c, name, newRole); err != nil {
		fail(c, err)
		return
	}
	if req.Disabled != nil && *req.Disabled && name == principal(c).Username {
		fail(c, fieldError("disabled", "不能停用自己的账号"))
		return
	}
	u, err := s.Store.UpdateUser(c.Request.Context(), name, models.UserUpdate{Disabled: req.Disabled, Role: req.Role, Unit: req.Unit})
	if err != nil {
		fail(c, err)
		return
	}
	var changes []string
	if req.Role != nil {
		changes = append(changes, "role="+*req.Role)
	}
	if req.Unit != nil {
		changes = append(changes, "unit="+*req.Unit)
	}
	if req.Disabled != nil {
		changes = append(changes, "disabled="+strconv.FormatBool(*req.Disabled))
	}
	s.audit(c, audit.Entry{Action: audit.ActionUserUpdate, Target: "user:" + u.Username, Detail: strings.Join(changes, " ")})
	c.JSON(http.StatusOK, gin.H{"username": u.Username, "role": u.Role, "unit": u.UnitCode, "email": u.Email,
		"disabled": u.Disabled, "created_at": u.CreatedAt})
}

// adminResetPassword sets a one-time password ({"password"}, or one drawn
// here and answered once); the user must change it at next login, and
// every session and token of theirs ends.
func (s *Server) adminResetPassword(c *gin.Context) {
	var req struct {
		Password string `json:"password"`
	}
	if !readJSON(c, &req) {
		return
	}
	name := c.Param("username")
	if err := s.touchesAuditor(c, name, ""); err != nil {
		fail(c, err)
		return
	}
	pw := req.Password
	if pw == "" {
		pw = models.GeneratePassword()
	}
	if err := s.Store.ResetPassword(c.Request.Context(), name, pw); err != nil {
		fail(c, err)
		return
	}
	s.audit(c, audit.Entry{Action: audit.ActionPasswordReset, Target: "user:" + name})
	c.Header("Cache-Control", "no-store")
	if req.Password != "" {
		c.Status(http.StatusNoContent)
		return
	}
	c.JSON(http.StatusOK, gin.H{"password": pw})
}

// adminResetOTP removes a user's second factor (a lost phone).
func (s *Server) adminResetOTP(c *gin.Context) {
	name := c.Param("username")
	if err := s.touchesAuditor(c, name, ""); err != nil {
		fail(c, err)
		return
	}
	if err := s.Store.ResetOTP(c.Request.Context(), name); err != nil {
		fail(c, err)
		return
	}
	s.audit(c, audit.Entry{Action: audit.ActionOTPReset, Target: "user:" + name})
	c.Status(http.StatusNoContent)
}
