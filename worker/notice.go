package worker

import (
	"context"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/hibiken/asynq"

	"jianfu/models"
)

// DefaultNoticeBatchDelay is the JIANFU_NOTICE_BATCH_DELAY default: how long
// a person's first reminder of the day waits for the rest of its burst.
const DefaultNoticeBatchDelay = time.Minute

// noticeHandler mails case notices. Dispatches, escalations and the other
// rare, urgent notices go out one by one; reminders and overdue notices are
// filed into each recipient's daily batch, which its own task sends as one
// mail (models.BatchNotice).
type noticeHandler struct {
	store   *models.Store
	mailer  Mailer
	baseURL string
	// batchDelay is JIANFU_NOTICE_BATCH_DELAY (0: DefaultNoticeBatchDelay).
	batchDelay time.Duration
}

func (h *noticeHandler) Register(mux *asynq.ServeMux) {
	mux.Handle(models.TaskNotify, h)
	mux.HandleFunc(models.TaskNoticeBatch, h.sendBatch)
}

var noticeSubjects = map[string]string{
	models.EventDispatched:             "新交办事项",
	models.NoticeRectificationDue:      "整改任务",
	models.EventRectificationSubmitted: "整改报告待审核",
	models.EventRectificationReturned:  "整改报告被退回",
	models.EventRectificationAccepted:  "整改通过",
	models.EventExtensionRequested:     "延期申请待审批",
	models.EventExtensionApproved:      "延期申请已同意",
	models.EventExtensionRejected:      "延期申请未同意",
	models.EventRated:                  "举报人已评价",
	models.EventVerificationPart:       "核查意见待汇总",
	models.EventTipsterMessage:         "举报人补充信息",
	models.EventReminder:               "办理提醒",
	models.EventOverdue:                "逾期催办",
	models.EventEscalated:              "逾期督办",
}

var noticeHTML = htmltemplate.Must(htmltemplate.New("notice").Parse(`<div style="font-family:sans-serif;font-size:14px;line-height:1.6">
<p>{{.Body}}</p>
<p>案件编号：{{.CaseID}}号<br>标题：{{.CaseTitle}}<br>所处环节：{{.StageName}}{{if .UnitName}}<br>承办单位：{{.UnitName}}{{end}}{{if .Due}}<br>办理时限：{{.Due}}{{end}}</p>
<p><a href="{{.Link}}">在减负直通车中查看</a></p>
</div>`))

var noticeText = texttemplate.Must(texttemplate.New("notice").Parse(`{{.Body}}

案件编号：{{.CaseID}}号
标题：{{.CaseTitle}}
所处环节：{{.StageName}}
{{if .UnitName}}承办单位：{{.UnitName}}
{{end}}{{if .Due}}办理时限：{{.Due}}
{{end}}
在减负直通车中查看：{{.Link}}
`))

func (h *noticeHandler) ProcessTask(ctx context.Context, t *asynq.Task) error {
	var p models.NoticePayload
	if err := decode(t, &p); err != nil {
		return err
	}
	id, err := outboxID(ctx, h.store, t)
	if err != nil {
		return err
	}
	if models.BatchedNotice(p.Kind) {
		delay := h.batchDelay
		if delay <= 0 {
			delay = DefaultNoticeBatchDelay
		}
		return h.store.BatchNotice(ctx, id, p, delay)
	}
	n, done, err := h.store.NoticeFor(ctx, id, p)
	if errors.Is(err, models.ErrNotFound) {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry) // its case or event is gone
	}
	if err != nil || done {
		return err
	}
	if len(n.To) > 0 {
		m, err := renderNotice(n, h.baseURL)
		if err != nil {
			return err
		}
		if err := h.mailer.Send(ctx, m); err != nil {
			return err
		}
	}
	return h.store.CompleteOutbox(ctx, id)
}

func renderNotice(n models.Notice, baseURL string) (Message, error) {
	what := noticeSubjects[n.Kind]
	if what == "" {
		what = "案件通知"
	}
	data := struct {
		models.Notice
		StageName, Due, Link string
	}{Notice: n, StageName: stageName(n.Stage), Link: caseLink(baseURL, n.CaseID)}
	if n.DueAt != nil {
		data.Due = dateText(*n.DueAt)
	}
	text, html, err := execute(noticeText, noticeHTML, data)
	return Message{To: n.To, Subject: fmt.Sprintf("%s%s：%d号 %s", subjectPrefix, what, n.CaseID, n.CaseTitle),
		Text: text, HTML: html}, err
}

// sendBatch mails one person's reminders of one day, once: the batch's
// digests row is claimed, and marked sent together with this task.
func (h *noticeHandler) sendBatch(ctx context.Context, t *asynq.Task) error {
	var p models.NoticeBatchPayload
	if err := decode(t, &p); err != nil {
		return err
	}
	k, err := p.Key()
	if err != nil {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	id, err := outboxID(ctx, h.store, t)
	if err != nil {
		return err
	}
	build := func(ctx context.Context) (Message, bool, error) {
		b, err := h.store.NoticeBatch(ctx, p)
		if err != nil {
			return Message{}, false, err
		}
		m, err := renderBatch(b, h.baseURL)
		return m, b.To != "" && len(b.Items) > 0, err
	}
	dl, err := deliver(ctx, h.store, h.mailer, deliverParams{Key: k, OutboxID: id, Build: build})
	if err != nil {
		return err
	}
	if dl.Outcome == OutcomeBusy {
		return fmt.Errorf("notice batch %s: another process is sending it; will retry", k.Scope)
	}
	return nil
}

type batchView struct {
	Day, Console    string
	Overdue, Coming []line
}

func renderBatch(b models.NoticeBatch, base string) (Message, error) {
	v := batchView{Day: b.Day, Console: base + "/console"}
	if d, err := time.ParseInLocation("2006-01-02", b.Day, models.Shanghai()); err == nil {
		v.Day = d.Format("1月2日")
	}
	for _, it := range b.Items {
		l := line{CaseID: it.CaseID, Title: it.Title, Stage: stageName(it.Stage), Units: it.UnitName,
			Due: dateText(it.DueAt), Link: caseLink(base, it.CaseID)}
		if it.Overdue {
			l.State = lateText(it.WorkdaysOverdue)
			v.Overdue = append(v.Overdue, l)
		} else {
			l.State = soonText(it.DueAt, b.At)
			v.Coming = append(v.Coming, l)
		}
	}
	var parts []string
	if n := len(v.Overdue); n > 0 {
		parts = append(parts, fmt.Sprintf("%d件已逾期", n))
	}
	if n := len(v.Coming); n > 0 {
		parts = append(parts, fmt.Sprintf("%d件临近办理时限", n))
	}
	what := "催办提醒"
	if len(v.Overdue) == 0 {
		what = "办理提醒"
	}
	text, html, err := execute(batchText, batchHTML, v)
	return Message{To: []string{b.To}, Subject: fmt.Sprintf("%s%s（%s）：%s", subjectPrefix, what, v.Day, strings.Join(parts, "，")),
		Text: text, HTML: html}, err
}

var batchText = texttemplate.Must(texttemplate.New("batch").Parse(`您好：

以下事项需要您抓紧办理（{{.Day}}汇总）。
{{if .Overdue}}
已逾期（{{len .Overdue}}件）
{{range .Overdue}}
{{.CaseID}}号 {{.Title}}
  环节：{{.Stage}}{{if .Units}}  承办单位：{{.Units}}{{end}}  办理时限：{{.Due}}  {{.State}}
  {{.Link}}
{{end}}{{end}}{{if .Coming}}
临近办理时限（{{len .Coming}}件）
{{range .Coming}}
{{.CaseID}}号 {{.Title}}
  环节：{{.Stage}}{{if .Units}}  承办单位：{{.Units}}{{end}}  办理时限：{{.Due}}  {{.State}}
  {{.Link}}
{{end}}{{end}}
请登录减负直通车工作台办理：{{.Console}}
同一天的提醒合并为一封邮件发送，请勿直接回复。
`))

var batchHTML = htmltemplate.Must(htmltemplate.New("batch").Parse(`<div style="font-family:sans-serif;font-size:14px;line-height:1.6">
<p>您好：</p>
<p>以下事项需要您抓紧办理（{{.Day}}汇总）。</p>
{{if .Overdue}}<h3>已逾期（{{len .Overdue}}件）</h3>
<table border="1" cellpadding="6" cellspacing="0" style="border-collapse:collapse">
<tr><th>编号</th><th>标题</th><th>环节</th><th>承办单位</th><th>办理时限</th><th>逾期情况</th></tr>
{{range .Overdue}}<tr><td><a href="{{.Link}}">{{.CaseID}}号</a></td><td>{{.Title}}</td><td>{{.Stage}}</td><td>{{.Units}}</td><td>{{.Due}}</td><td style="color:#b00">{{.State}}</td></tr>
{{end}}</table>{{end}}
{{if .Coming}}<h3>临近办理时限（{{len .Coming}}件）</h3>
<table border="1" cellpadding="6" cellspacing="0" style="border-collapse:collapse">
<tr><th>编号</th><th>标题</th><th>环节</th><th>承办单位</th><th>办理时限</th><th>剩余时间</th></tr>
{{range .Coming}}<tr><td><a href="{{.Link}}">{{.CaseID}}号</a></td><td>{{.Title}}</td><td>{{.Stage}}</td><td>{{.Units}}</td><td>{{.Due}}</td><td>{{.State}}</td></tr>
{{end}}</table>{{end}}
<p>请登录<a href="{{.Console}}">减负直通车工作台</a>办理。同一天的提醒合并为一封邮件发送，请勿直接回复。</p>
</div>`))
