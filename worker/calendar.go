package worker

import (
	"context"
	"fmt"
	htmltemplate "html/template"
	"strconv"
	texttemplate "text/template"

	"github.com/hibiken/asynq"

	"jianfu/models"
)

// The calendar notice (DESIGN §10.4): from 1 November, while next year's
// holiday arrangement is only the computed provisional one, every active
// administrator with an email is told once to load the State Council's
// arrangement. It goes out once per year through a digests claim row
// (scope "calendar", the year in the week column), so two schedulers, a
// rerun or a restart never send it twice. The console banner and the
// metric jianfu_calendar_unconfirmed_year say the same until the year is
// loaded.

// TaskCalendarNotice is the scheduler's daily check.
const TaskCalendarNotice = "calendar:notice"

// CalendarNoticeCron runs the check every day at 09:00 Asia/Shanghai.
const CalendarNoticeCron = "0 9 * * *"

// ScopeCalendar is the digests row scope of the calendar notice.
const ScopeCalendar = "calendar"

// CalendarNotice mails the administrators about an unconfirmed next year.
type CalendarNotice struct {
	p DigesterParams
}

// NewCalendarNotice builds a CalendarNotice.
func NewCalendarNotice(p DigesterParams) *CalendarNotice {
	return &CalendarNotice{p: p.withDefaults()}
}

// Register handles the daily check.
func (n *CalendarNotice) Register(mux *asynq.ServeMux) {
	mux.HandleFunc(TaskCalendarNotice, func(ctx context.Context, _ *asynq.Task) error {
		dl, err := n.Check(ctx)
		if err != nil {
			return err
		}
		if dl.Outcome == OutcomeBusy {
			return fmt.Errorf("calendar notice: another process is sending it; will retry")
		}
		return nil
	})
}

// Check sends the notice for next year when it is unconfirmed on the
// store's clock (from 1 November) and has not gone out yet. An empty
// Outcome means there is nothing to tell.
func (n *CalendarNotice) Check(ctx context.Context) (Delivery, error) {
	year, unconfirmed, err := n.p.Store.UnconfirmedYear(ctx)
	if err != nil || !unconfirmed {
		return Delivery{}, err
	}
	k := models.DigestKey{Scope: ScopeCalendar, Week: strconv.Itoa(year)}
	dl, err := deliver(ctx, n.p.Store, n.p.Mailer, deliverParams{Key: k, Build: func(ctx context.Context) (Message, bool, error) {
		return n.build(ctx, year)
	}})
	if err == nil && dl.Outcome == OutcomeSent {
		n.p.Logger.Info("calendar notice sent", "year", year, "to", len(dl.To))
	}
	return dl, err
}

// build renders the notice; false when no active administrator has an
// email (then the banner and the metric remain).
func (n *CalendarNotice) build(ctx context.Context, year int) (Message, bool, error) {
	users, err := n.p.Store.Users(ctx)
	if err != nil {
		return Message{}, false, err
	}
	var to []string
	for _, u := range users {
		if u.Role == models.RoleAdmin && !u.Disabled && u.Email != "" {
			to = append(to, u.Email)
		}
	}
	if len(to) == 0 {
		n.p.Logger.Warn("next year's calendar is unconfirmed but no active admin has an email; calendar notice not sent", "year", year)
		return Message{}, false, nil
	}
	v := calendarView{Year: year, Console: n.p.BaseURL + "/console/admin/holidays"}
	text, html, err := execute(calendarText, calendarHTML, v)
	return Message{To: to, Subject: fmt.Sprintf("%s%d年节假日安排尚未确认，请及时录入", subjectPrefix, year),
		Text: text, HTML: html}, err == nil, err
}

type calendarView struct {
	Year    int
	Console string
}

var calendarText = texttemplate.Must(texttemplate.New("calendar").Parse(`各位管理员：

{{.Year}}年的节假日安排尚未确认。系统目前按法定节假日（元旦、春节、清明节、劳动节、端午节、中秋节、国庆节）推算的临时日历计算办理时限，不含国务院办公厅通知中的调休放假日和调休上班日。

国务院办公厅发布{{.Year}}年部分节假日安排的通知后，请登录工作台录入：{{.Console}}
录入前，工作台将持续显示提示；本邮件每年只发送一次，请勿直接回复。
`))

var calendarHTML = htmltemplate.Must(htmltemplate.New("calendar").Parse(`<div style="font-family:sans-serif;font-size:14px;line-height:1.6">
<p>各位管理员：</p>
<p>{{.Year}}年的节假日安排尚未确认。系统目前按法定节假日（元旦、春节、清明节、劳动节、端午节、中秋节、国庆节）推算的临时日历计算办理时限，不含国务院办公厅通知中的调休放假日和调休上班日。</p>
<p>国务院办公厅发布{{.Year}}年部分节假日安排的通知后，请登录<a href="{{.Console}}">减负直通车工作台</a>录入。录入前，工作台将持续显示提示；本邮件每年只发送一次，请勿直接回复。</p>
</div>`))
