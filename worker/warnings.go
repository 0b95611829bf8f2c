package worker

import (
	"context"
	"fmt"
	htmltemplate "html/template"
	texttemplate "text/template"
	"time"

	"github.com/hibiken/asynq"

	"jianfu/models"
	"jianfu/models/registry"
)

// The monthly warning mail (每月一警示): on the first working day of each
// month the county's leaders get every early warning (智能预警) of the
// registry and the tips. It goes out once per month through the digest's
// claim rows (scope "warnings", the month in the week column), so a
// second scheduler, a rerun or a restart never sends it twice.

// TaskWarningMail is the scheduler's daily check; it sends the month's mail
// on the month's first working day, or on the first run after it.
const TaskWarningMail = "warnings:monthly"

// WarningMailCron runs the check every day at 09:00 Asia/Shanghai.
const WarningMailCron = "0 9 * * *"

// ScopeWarnings is the digests row scope of the monthly warning mail.
const ScopeWarnings = "warnings"

// WarningMailer sends the monthly warning mail.
type WarningMailer struct {
	p DigesterParams
}

// NewWarningMailer builds a WarningMailer.
func NewWarningMailer(p DigesterParams) *WarningMailer {
	return &WarningMailer{p: p.withDefaults()}
}

// Register handles the daily check.
func (m *WarningMailer) Register(mux *asynq.ServeMux) {
	mux.HandleFunc(TaskWarningMail, m.check)
}

func (m *WarningMailer) check(ctx context.Context, _ *asynq.Task) error {
	now := m.p.Store.Now()
	if !OnOrAfterFirstWorkday(m.p.Store.Calendar(), now) {
		return nil
	}
	dl, err := m.SendMonth(ctx, now.In(models.Shanghai()).Format("2006-01"))
	if err != nil {
		return err
	}
	if dl.Outcome == OutcomeBusy {
		return fmt.Errorf("warning mail: another process is sending it; will retry")
	}
	if dl.Outcome == OutcomeSent {
		m.p.Logger.Info("monthly warning mail sent", "to", len(dl.To))
	}
	return nil
}

// OnOrAfterFirstWorkday reports whether now (Asia/Shanghai) is on or after
// the first working day of its month, by the holiday calendar (a 1 May
// holiday week moves it to the first make-up or ordinary workday).
func OnOrAfterFirstWorkday(cal *models.Calendar, now time.Time) bool {
	t := now.In(models.Shanghai())
	for d := time.Date(t.Year(), t.Month(), 1, 12, 0, 0, 0, models.Shanghai()); d.Day() <= t.Day() && d.Month() == t.Month(); d = d.AddDate(0, 0, 1) {
		if cal.IsWorkday(d) {
			return true
		}
	}
	return false
}

// SendMonth sends month's ("2026-12") warning mail now unless it went out
// already (OutcomeDone) or another process holds it (OutcomeBusy).
func (m *WarningMailer) SendMonth(ctx context.Context, month string) (Delivery, error) {
	if _, err := time.Parse("2006-01", month); err != nil {
		return Delivery{}, fmt.Errorf("warning mail month %q: want YYYY-MM", month)
	}
	k := models.DigestKey{Scope: ScopeWarnings, Week: month}
	return deliver(ctx, m.p.Store, m.p.Mailer, deliverParams{Key: k, Build: func(ctx context.Context) (Message, bool, error) {
		return m.build(ctx, month)
	}})
}

// build renders the month's mail; false when there is no warning or no
// leader with an email.
func (m *WarningMailer) build(ctx context.Context, month string) (Message, bool, error) {
	ws, err := registry.New(m.p.Store).AllWarnings(ctx)
	if err != nil {
		return Message{}, false, err
	}
	users, err := m.p.Store.Users(ctx)
	if err != nil {
		return Message{}, false, err
	}
	var to []string
	for _, u := range users {
		if u.Role == models.RoleLeader && !u.Disabled && u.Email != "" {
			to = append(to, u.Email)
		}
	}
	t, _ := time.Parse("2006-01", month)
	v := warningView{Month: fmt.Sprintf("%d年%d月", t.Year(), int(t.Month())), Console: m.p.BaseURL + "/console/warnings",
		At: m.p.Store.Now().In(models.Shanghai()).Format("2006年1月2日 15:04")}
	for _, w := range ws {
		unit := w.UnitName
		if unit == "" {
			unit = "全县"
		}
		level := "提示"
		if w.Level == registry.LevelAlert {
			level = "警示"
			v.Alerts++
		}
		v.Items = append(v.Items, warningLine{Rule: registry.RuleNames[w.Rule], Level: level, Unit: unit, Reason: w.Reason,
			Evidence: w.Evidence.Text()})
	}
	text, html, err := execute(warningText, warningHTML, v)
	msg := Message{To: to,
		Subject: fmt.Sprintf("%s每月一警示（%s）：预警%d条，其中警示%d条", subjectPrefix, v.Month, len(v.Items), v.Alerts),
		Text:    text, HTML: html}
	if len(ws) > 0 && len(to) == 0 {
		m.p.Logger.Warn("warnings to report but no leader with an email; monthly warning mail not sent", "month", month)
	}
	return msg, err == nil && len(ws) > 0 && len(to) > 0, err
}

type warningLine struct{ Rule, Level, Unit, Reason, Evidence string }

type warningView struct {
	Month, At, Console string
	Alerts             int
	Items              []warningLine
}

var warningText = texttemplate.Must(texttemplate.New("warnings").Parse(`各位领导：

截至{{.At}}，基层减负在线监管系统本月（{{.Month}}）共有预警{{len .Items}}条，其中警示{{.Alerts}}条：
{{range $i, $w := .Items}}
{{$w.Level}}｜{{$w.Rule}}｜{{$w.Unit}}
  {{$w.Reason}}
  依据：{{$w.Evidence}}
{{end}}
详情请登录减负直通车工作台查看：{{.Console}}
本邮件每月第一个工作日自动发送，请勿直接回复。
`))

var warningHTML = htmltemplate.Must(htmltemplate.New("warnings").Parse(`<div style="font-family:sans-serif;font-size:14px;line-height:1.6">
<p>各位领导：</p>
<p>截至{{.At}}，基层减负在线监管系统本月（{{.Month}}）共有预警{{len .Items}}条，其中警示{{.Alerts}}条。</p>
<table border="1" cellpadding="6" cellspacing="0" style="border-collapse:collapse">
<tr><th>级别</th><th>预警</th><th>单位</th><th>原因</th><th>依据</th></tr>
{{range .Items}}<tr><td>{{.Level}}</td><td>{{.Rule}}</td><td>{{.Unit}}</td><td>{{.Reason}}</td><td>{{.Evidence}}</td></tr>
{{end}}</table>
<p>详情请登录<a href="{{.Console}}">减负直通车工作台</a>查看。本邮件每月第一个工作日自动发送，请勿直接回复。</p>
</div>`))
