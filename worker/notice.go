package worker

import (
	"context"
	"fmt"
	"html/template"
	"strings"

	"github.com/hibiken/asynq"

	"jianfu/models"
)

// noticeHandler mails one case notice (reminder, overdue, escalation).
type noticeHandler struct {
	store   *models.Store
	mailer  Mailer
	baseURL string
}

func (h *noticeHandler) Register(mux *asynq.ServeMux) { mux.Handle(models.TaskNotify, h) }

var noticeSubjects = map[string]string{
	models.EventReminder:  "【减负直通车】办理提醒",
	models.EventOverdue:   "【减负直通车】逾期催办",
	models.EventEscalated: "【减负直通车】逾期督办",
}

var noticeHTML = template.Must(template.New("notice").Parse(`<p>{{.Body}}</p>
<p>线索编号：{{.CaseID}}<br>标题：{{.CaseTitle}}{{if .UnitName}}<br>承办单位：{{.UnitName}}{{end}}{{if .Due}}<br>办理时限：{{.Due}}{{end}}</p>
<p><a href="{{.Link}}">在减负直通车中查看</a></p>`))

func (h *noticeHandler) ProcessTask(ctx context.Context, t *asynq.Task) error {
	var p models.NoticePayload
	if err := decode(t, &p); err != nil {
		return err
	}
	id, err := outboxID(ctx, t)
	if err != nil {
		return err
	}
	n, done, err := h.store.NoticeFor(ctx, id, p)
	if err != nil || done {
		return err
	}
	if len(n.To) > 0 {
		if err := h.mailer.Send(ctx, renderNotice(n, h.baseURL)); err != nil {
			return err
		}
	}
	return h.store.CompleteOutbox(ctx, id)
}

func renderNotice(n models.Notice, baseURL string) Message {
	subject := noticeSubjects[n.Kind]
	if subject == "" {
		subject = "【减负直通车】案件通知"
	}
	data := struct {
		models.Notice
		Due, Link string
	}{Notice: n, Link: fmt.Sprintf("%s/console/cases/%d", baseURL, n.CaseID)}
	if n.DueAt != nil {
		data.Due = n.DueAt.In(models.Shanghai()).Format("2006年1月2日 15:04")
	}
	var html strings.Builder
	_ = noticeHTML.Execute(&html, data)
	text := fmt.Sprintf("%s\n\n线索编号：%d\n标题：%s\n", n.Body, n.CaseID, n.CaseTitle)
	if n.UnitName != "" {
		text += "承办单位：" + n.UnitName + "\n"
	}
	if data.Due != "" {
		text += "办理时限：" + data.Due + "\n"
	}
	text += "\n在减负直通车中查看：" + data.Link + "\n"
	return Message{To: n.To, Subject: fmt.Sprintf("%s 线索%d：%s", subject, n.CaseID, n.CaseTitle), Text: text, HTML: html.String()}
}
