package api

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gin-gonic/gin"

	"jianfu/models"
	"jianfu/models/audit"
)

// Console pages of DESIGN §10.2: the user's second factor, and the
// auditor's audit log.

// twoFactorPages stay open to a user who must still set up 2FA.
var twoFactorPages = map[string]bool{"/console/2fa": true, "/console/2fa/setup": true, "/console/2fa/confirm": true}

// auditorPages are all an auditor may open (besides password and logout).
var auditorPages = map[string]bool{"/console": true, "/console/audit": true,
	"/console/2fa": true, "/console/2fa/setup": true, "/console/2fa/confirm": true}

type twoFactorData struct {
	consolePage
	Enabled  bool
	Required bool
	Left     int64
	// Pending enrolment: the QR code (a data: URL drawn here) and the
	// secret for typing in by hand.
	QR     template.URL
	Secret string
	// Codes are the recovery codes, shown once after confirmation.
	Codes []string
}

func (con *console) twoFactorData(c *gin.Context) (twoFactorData, error) {
	d := twoFactorData{consolePage: con.page(c, "两步验证", "2fa")}
	if c.Query("done") == "2fa_setup" {
		d.Notice = "请用手机验证器扫描二维码，再输入验证器显示的6位验证码完成设置。"
	}
	p := *d.User
	d.Enabled = p.OTPEnabled
	d.Required = p.NeedsOTPEnrolment(con.Config.Require2FA)
	if d.Required && d.Notice == "" {
		d.Notice = "您的角色须启用两步验证后才能继续使用工作台。"
	}
	if d.Enabled {
		n, err := con.Store.RecoveryCodesLeft(c.Request.Context(), p.UserID)
		d.Left = n
		return d, err
	}
	en, err := con.Store.PendingOTP(c.Request.Context(), p)
	if errors.Is(err, models.ErrNotFound) {
		return d, nil
	} else if err != nil {
		return d, err
	}
	qr, err := qrDataURL(en)
	if err != nil {
		return d, err
	}
	d.QR, d.Secret = template.URL(qr), en.Secret
	return d, nil
}

func (con *console) twoFactorPage(c *gin.Context) {
	d, err := con.twoFactorData(c)
	if err != nil {
		fail(c, err)
		return
	}
	con.render(c, http.StatusOK, "twofactor", d)
}

func (con *console) twoFactorSetup(c *gin.Context) {
	if _, err := con.Store.BeginOTP(c.Request.Context(), principal(c)); err != nil {
		var ve *models.ValidationError
		if errors.As(err, &ve) {
			d, derr := con.twoFactorData(c)
			if derr != nil {
				fail(c, derr)
				return
			}
			d.Error = firstMessage(ve.Fields)
			con.render(c, http.StatusBadRequest, "twofactor", d)
			return
		}
		fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/console/2fa?done=2fa_setup")
}

// twoFactorConfirm turns 2FA on and shows the recovery codes on the answer
// itself (they exist nowhere else).
func (con *console) twoFactorConfirm(c *gin.Context) {
	p := principal(c)
	codes, err := con.Store.ConfirmOTP(c.Request.Context(), p, c.PostForm("otp"))
	if err != nil {
		var ve *models.ValidationError
		if !errors.As(err, &ve) {
			fail(c, err)
			return
		}
		d, derr := con.twoFactorData(c)
		if derr != nil {
			fail(c, derr)
			return
		}
		d.Error, d.Fields = "未能启用："+firstMessage(ve.Fields), ve.Fields
		con.render(c, http.StatusBadRequest, "twofactor", d)
		return
	}
	con.audit(c, audit.Entry{Action: audit.ActionOTPEnrol, Target: "user:" + p.Username})
	p.OTPEnabled = true
	c.Set(principalKey, p)
	d := twoFactorData{consolePage: con.page(c, "两步验证", "2fa"), Enabled: true, Left: int64(len(codes)), Codes: codes}
	d.Notice = "两步验证已启用。请立即抄下或打印下面的恢复码：每个只能用一次，此页关闭后不再显示。"
	con.render(c, http.StatusOK, "twofactor", d)
}

type auditPageData struct {
	consolePage
	Rows    []audit.Record
	Filter  url.Values
	Next    string // the next page's query
	Export  string // the CSV export's query
	Actions []string
}

var auditActions = []string{audit.ActionLogin, audit.ActionLogout, audit.ActionPasswordChange, audit.ActionPasswordReset,
	audit.ActionOTPEnrol, audit.ActionOTPReset, audit.ActionUserCreate, audit.ActionUserUpdate, audit.ActionTokenCreate,
	audit.ActionTokenRevoke, audit.ActionUnitChange, audit.ActionCategoryChange, audit.ActionRuleChange,
	audit.ActionHolidayChange, audit.ActionDeadlineChange, audit.ActionContactReveal, audit.ActionExport,
	audit.ActionDownload, audit.ActionAuditExport}

// auditPage is the auditor's view of the log: filters, a page of rows,
// the next page, and the CSV export of everything the filters select.
func (con *console) auditPage(c *gin.Context) {
	d := auditPageData{consolePage: con.page(c, "审计日志", "audit"), Actions: auditActions}
	f, err := auditFilter(c)
	if err != nil {
		fail(c, err)
		return
	}
	rows, next, err := con.Audit.List(c.Request.Context(), f)
	if err != nil {
		fail(c, err)
		return
	}
	d.Rows = rows
	q := url.Values{}
	for _, k := range []string{"from", "to", "actor", "action"} {
		if v := c.Query(k); v != "" {
			q.Set(k, v)
		}
	}
	d.Filter, d.Export = q, q.Encode()
	if next != 0 {
		n := url.Values{}
		for k, v := range q {
			n[k] = v
		}
		n.Set("cursor", strconv.FormatUint(next, 10))
		d.Next = n.Encode()
	}
	con.render(c, http.StatusOK, "audit", d)
}
