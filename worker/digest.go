package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"log/slog"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/hibiken/asynq"

	"jianfu/models"
)

// The weekly digest (DESIGN §4 Email): the scheduler's TaskDigest plans one
// TaskDigestSend per unit with something to report plus one for the
// summary (models.PlanDigests); each send claims its digests row, mails,
// and marks the row sent. See docs/digest.md.

// NewDigestTask is the weekly run for week ("" is the current week), as the
// scheduler queues it.
func NewDigestTask(week string) *asynq.Task {
	return asynq.NewTask(models.TaskDigest, mustJSON(models.DigestPayload{Week: week}), asynq.Queue(models.QueueMail))
}

// DigesterParams wires a Digester.
type DigesterParams struct {
	Store  *models.Store
	Mailer Mailer // nil: previews only
	// BaseURL is the console's absolute URL (JIANFU_BASE_URL) for links.
	BaseURL string
	Logger  *slog.Logger
}

// withDefaults fills what p leaves out: the default logger, and BaseURL
// without a trailing slash.
func (p DigesterParams) withDefaults() DigesterParams {
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	p.BaseURL = strings.TrimRight(p.BaseURL, "/")
	return p
}

// Digester builds, renders and sends the weekly digests. The task handlers
// and `jianfu digest` share it, so both send through the same claims.
type Digester struct {
	p DigesterParams
}

// NewDigester builds a Digester.
func NewDigester(p DigesterParams) *Digester {
	return &Digester{p: p.withDefaults()}
}

// Register handles the weekly run and the sends it fans out to.
func (d *Digester) Register(mux *asynq.ServeMux) {
	mux.HandleFunc(models.TaskDigest, d.fanOut)
	mux.HandleFunc(models.TaskDigestSend, d.sendTask)
}

// fanOut plans the week's digests; the outbox queues them after commit. A
// second scheduler, or a rerun, plans nothing twice.
func (d *Digester) fanOut(ctx context.Context, t *asynq.Task) error {
	var p models.DigestPayload
	if err := decode(t, &p); err != nil {
		return err
	}
	plan, err := d.p.Store.PlanDigests(ctx, p.Week)
	if errors.As(err, new(*models.ValidationError)) {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	if err != nil {
		return err
	}
	d.p.Logger.Info("weekly digest planned", "week", plan.Week, "queued", len(plan.Queued))
	return nil
}

func (d *Digester) sendTask(ctx context.Context, t *asynq.Task) error {
	var p models.DigestPayload
	if err := decode(t, &p); err != nil {
		return err
	}
	id, err := outboxID(ctx, d.p.Store, t)
	if err != nil {
		return err
	}
	k := models.DigestKey{Scope: p.Scope, Week: p.Week}
	dl, err := deliver(ctx, d.p.Store, d.p.Mailer, deliverParams{Key: k, OutboxID: id, Build: d.build(k)})
	if err != nil {
		return err
	}
	if dl.Outcome == OutcomeBusy {
		return fmt.Errorf("digest %s %s: another process is sending it; will retry", k.Scope, k.Week)
	}
	return nil
}

// Outcome says what happened to one digest.
type Outcome string

// Outcomes of a delivery.
const (
	OutcomeSent    Outcome = "sent"
	OutcomeSkipped Outcome = "skipped" // nothing to report, or nobody to tell
	OutcomeDone    Outcome = "done"    // sent or skipped before
	OutcomeBusy    Outcome = "busy"    // another process holds the claim
)

// Delivery is the result of one digest.
type Delivery struct {
	Scope   string
	Outcome Outcome
	To      []string
}

// Send sends one digest of week now, unless it went out already.
func (d *Digester) Send(ctx context.Context, week, scope string) (Delivery, error) {
	k := models.DigestKey{Scope: scope, Week: week}
	return deliver(ctx, d.p.Store, d.p.Mailer, deliverParams{Key: k, Build: d.build(k)})
}

// SendWeek plans week ("" the current one) and sends, from this process,
// every digest of it that has not gone out; those already sent are
// reported as done.
func (d *Digester) SendWeek(ctx context.Context, week string) ([]Delivery, error) {
	plan, err := d.p.Store.PlanDigests(ctx, week)
	if err != nil {
		return nil, err
	}
	rows, err := d.p.Store.WeekDigests(ctx, plan.Week)
	if err != nil {
		return nil, err
	}
	var out []Delivery
	for _, r := range rows {
		if r.Status == models.DigestSent || r.Status == models.DigestSkipped {
			out = append(out, Delivery{Scope: r.Scope, Outcome: OutcomeDone})
			continue
		}
		dl, err := d.Send(ctx, plan.Week, r.Scope)
		if err != nil {
			return out, fmt.Errorf("digest %s: %w", r.Scope, err)
		}
		out = append(out, dl)
	}
	return out, nil
}

// Preview renders the digest of unit code ("" the summary) as it would go
// out now. The second result is false when it would not be sent.
func (d *Digester) Preview(ctx context.Context, code string) (Message, bool, error) {
	scope := models.ScopeSummary
	if code != "" {
		scope = models.UnitScope(code)
	}
	return d.build(models.DigestKey{Scope: scope, Week: d.p.Store.CurrentWeek()})(ctx)
}

// build returns the function that renders digest k from the database as
// it stands; it reports false when there is nothing to send.
func (d *Digester) build(k models.DigestKey) func(ctx context.Context) (Message, bool, error) {
	return func(ctx context.Context) (Message, bool, error) {
		if k.Scope == models.ScopeSummary {
			s, err := d.p.Store.SummaryDigest(ctx)
			if err != nil {
				return Message{}, false, err
			}
			m, err := renderSummary(s, k.Week, d.p.BaseURL)
			return m, len(s.To) > 0, err
		}
		code, ok := strings.CutPrefix(k.Scope, "unit:")
		if !ok {
			return Message{}, false, fmt.Errorf("digest scope %q: %w", k.Scope, asynq.SkipRetry)
		}
		u, err := d.p.Store.UnitDigest(ctx, code)
		if err != nil {
			return Message{}, false, err
		}
		if !u.Empty() && len(u.To) == 0 {
			d.p.Logger.Warn("unit has overdue or due-soon assignments but no liaison with an email; digest not sent",
				"unit", code, "week", k.Week)
		}
		m, err := renderUnitDigest(u, k.Week, d.p.BaseURL)
		return m, !u.Empty() && len(u.To) > 0, err
	}
}

// deliverParams is one claimed mail.
type deliverParams struct {
	Key models.DigestKey
	// OutboxID is the task sending it, marked done with the row; 0 for
	// `jianfu digest send`.
	OutboxID uint64
	Build    func(ctx context.Context) (Message, bool, error)
}

// deliver sends one claimed mail at most once: claim the row, build the
// mail from the database as it is now, send, mark it sent. A failed send
// gives the claim back so a retry can take it at once.
func deliver(ctx context.Context, store *models.Store, mailer Mailer, p deliverParams) (Delivery, error) {
	dl := Delivery{Scope: p.Key.Scope}
	claim, token, err := store.ClaimDigest(ctx, p.Key)
	if err != nil {
		return dl, err
	}
	switch claim {
	case models.ClaimBusy:
		dl.Outcome = OutcomeBusy
		return dl, nil
	case models.ClaimDone:
		dl.Outcome = OutcomeDone
		if p.OutboxID != 0 {
			return dl, store.CompleteOutbox(ctx, p.OutboxID)
		}
		return dl, nil
	}
	// Past this point the claim must end in the database even if ctx ends:
	// a mail accepted by the server but not recorded would go out again.
	after := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	}
	finish := func(status string) error {
		fctx, cancel := after()
		defer cancel()
		return store.FinishDigest(fctx, models.FinishParams{Key: p.Key, Token: token, Status: status, OutboxID: p.OutboxID})
	}
	release := func(cause error) error {
		rctx, cancel := after()
		defer cancel()
		if err := store.ReleaseDigest(rctx, p.Key, token); err != nil {
			return errors.Join(cause, err)
		}
		return cause
	}
	msg, send, err := p.Build(ctx)
	if errors.Is(err, models.ErrNotFound) {
		send = false // its unit or user is gone: nobody to tell
	} else if err != nil {
		return dl, release(err)
	}
	if !send {
		dl.Outcome = OutcomeSkipped
		return dl, finish(models.DigestSkipped)
	}
	if mailer == nil {
		return dl, release(errors.New("no mailer configured"))
	}
	// A sender that stalled past its lease (a long GC pause, a frozen VM)
	// has lost the digest to another sender: it must not send a second
	// mail.
	if err := store.ConfirmDigest(ctx, p.Key, token); errors.Is(err, models.ErrClaimLost) {
		dl.Outcome = OutcomeBusy
		return dl, nil
	} else if err != nil {
		return dl, release(err)
	}
	if err := mailer.Send(ctx, msg); err != nil {
		return dl, release(err)
	}
	dl.Outcome, dl.To = OutcomeSent, msg.To
	return dl, finish(models.DigestSent)
}

// Rendering. Every mail is zh-CN with a plain-text and an HTML part; links
// point at the console under JIANFU_BASE_URL.

const subjectPrefix = "【减负直通车】"

// line is one case or assignment as a digest shows it.
type line struct {
	CaseID uint64
	Title  string
	Stage  string
	Units  string
	Due    string
	State  string
	Link   string
}

func caseLink(base string, id uint64) string {
	return base + "/console/cases/" + strconv.FormatUint(id, 10)
}

// weekName turns "2026-W20" into "2026年第20周".
func weekName(week string) string {
	y, w, ok := strings.Cut(week, "-W")
	if !ok {
		return week
	}
	n, _ := strconv.Atoi(w)
	return fmt.Sprintf("%s年第%d周", y, n)
}

// dateText is a Beijing date; a time of 23:59:59, the end of a working-day
// deadline, shows as the date alone.
func dateText(t time.Time) string {
	l := t.In(models.Shanghai())
	if l.Hour() == 23 && l.Minute() == 59 {
		return l.Format("2006年1月2日")
	}
	return l.Format("2006年1月2日 15:04")
}

func stageName(s string) string {
	if n := models.StageNames[s]; n != "" {
		return n
	}
	return s
}

// lateText says how long ago a due time passed.
func lateText(workdays int) string {
	if workdays <= 0 {
		return "已逾期"
	}
	return fmt.Sprintf("逾期%d个工作日", workdays)
}

// soonText says when a due time comes, in calendar days on the Beijing
// clock.
func soonText(due, now time.Time) string {
	d := due.In(models.Shanghai())
	n := now.In(models.Shanghai())
	days := int(time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC).
		Sub(time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, time.UTC)).Hours() / 24)
	switch days {
	case 0:
		return "今日到期"
	case 1:
		return "明日到期"
	}
	return fmt.Sprintf("%d天后到期", days)
}

type unitView struct {
	Unit, Week, At, Console string
	Overdue, DueSoon        []line
	Warnings                []string // 智能预警 of the unit (models/registry)
}

func renderUnitDigest(u models.UnitDigest, week, base string) (Message, error) {
	v := unitView{Unit: u.Unit.Name, Week: weekName(week), At: u.At.In(models.Shanghai()).Format("2006年1月2日 15:04"),
		Console: base + "/console", Warnings: u.Warnings}
	for _, it := range u.Overdue {
		v.Overdue = append(v.Overdue, line{CaseID: it.CaseID, Title: it.Title, Stage: stageName(it.Stage),
			Due: dateText(it.DueAt), State: lateText(it.WorkdaysOverdue), Link: caseLink(base, it.CaseID)})
	}
	for _, it := range u.DueSoon {
		v.DueSoon = append(v.DueSoon, line{CaseID: it.CaseID, Title: it.Title, Stage: stageName(it.Stage),
			Due: dateText(it.DueAt), State: soonText(it.DueAt, u.At), Link: caseLink(base, it.CaseID)})
	}
	var parts []string
	if n := len(u.Overdue); n > 0 {
		parts = append(parts, fmt.Sprintf("逾期%d件", n))
	}
	if n := len(u.DueSoon); n > 0 {
		parts = append(parts, fmt.Sprintf("7日内到期%d件", n))
	}
	if n := len(u.Warnings); n > 0 {
		parts = append(parts, fmt.Sprintf("预警%d条", n))
	}
	if len(parts) == 0 {
		parts = append(parts, "暂无待办")
	}
	text, html, err := execute(unitText, unitHTML, v)
	return Message{
		To:      u.To,
		Subject: fmt.Sprintf("%s每周待办（%s）：%s%s", subjectPrefix, v.Week, u.Unit.Name, strings.Join(parts, "、")),
		Text:    text,
		HTML:    html,
	}, err
}

type summaryView struct {
	Week, At, Console          string
	Units                      []models.UnitCount
	OverdueAssignments         int
	OverdueStages              int
	Oldest                     []line
	Year                       int
	Received, Accepted, Closed int64
	Rate                       string
	HasOverdue, HasUnitWaiting bool
}

func renderSummary(s models.SummaryDigest, week, base string) (Message, error) {
	v := summaryView{Week: weekName(week), At: s.At.In(models.Shanghai()).Format("2006年1月2日 15:04"),
		Console: base + "/console", Units: s.Units, OverdueAssignments: s.OverdueAssignments,
		OverdueStages: s.OverdueStages, Year: s.Year, Received: s.Received, Accepted: s.Accepted, Closed: s.Closed,
		Rate: s.ClosureRate.Text(), HasOverdue: len(s.Oldest) > 0,
		HasUnitWaiting: len(s.Units) > 0}
	for _, c := range s.Oldest {
		v.Oldest = append(v.Oldest, line{CaseID: c.CaseID, Title: c.Title, Stage: stageName(c.Stage),
			Units: strings.Join(c.Units, "、"), Due: dateText(c.DueAt), State: lateText(c.WorkdaysOverdue),
			Link: caseLink(base, c.CaseID)})
	}
	text, html, err := execute(summaryText, summaryHTML, v)
	return Message{
		To: s.To,
		Subject: fmt.Sprintf("%s每周汇总（%s）：逾期交办事项%d件，%d年办结率%s",
			subjectPrefix, v.Week, s.OverdueAssignments, s.Year, v.Rate),
		Text: text,
		HTML: html,
	}, err
}

// execute renders both parts of a mail from v.
func execute(t *texttemplate.Template, h *htmltemplate.Template, v any) (text, html string, err error) {
	var tb, hb strings.Builder
	if err := t.Execute(&tb, v); err != nil {
		return "", "", fmt.Errorf("render %s text: %w", t.Name(), err)
	}
	if err := h.Execute(&hb, v); err != nil {
		return "", "", fmt.Errorf("render %s HTML: %w", h.Name(), err)
	}
	return tb.String(), hb.String(), nil
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only called with plain payload structs
	}
	return b
}

var unitText = texttemplate.Must(texttemplate.New("unit").Parse(`{{.Unit}}联络员：

截至{{.At}}，贵单位在减负直通车中有以下交办事项需要办理（{{.Week}}）。
{{if .Overdue}}
一、已逾期（{{len .Overdue}}件）
{{range $i, $l := .Overdue}}
{{$l.CaseID}}号 {{$l.Title}}
  环节：{{$l.Stage}}  办理时限：{{$l.Due}}  {{$l.State}}
  {{$l.Link}}
{{end}}{{end}}{{if .DueSoon}}
{{if .Overdue}}二{{else}}一{{end}}、7日内到期（{{len .DueSoon}}件）
{{range $i, $l := .DueSoon}}
{{$l.CaseID}}号 {{$l.Title}}
  环节：{{$l.Stage}}  办理时限：{{$l.Due}}  {{$l.State}}
  {{$l.Link}}
{{end}}{{end}}{{if not (or .Overdue .DueSoon)}}
贵单位目前没有逾期或7日内到期的交办事项。
{{end}}{{if .Warnings}}
减负预警（{{len .Warnings}}条）：
{{range .Warnings}}  {{.}}
{{end}}{{end}}
请登录减负直通车工作台办理：{{.Console}}
本邮件每周自动发送，请勿直接回复。
`))

var unitHTML = htmltemplate.Must(htmltemplate.New("unit").Parse(`<div style="font-family:sans-serif;font-size:14px;line-height:1.6">
<p>{{.Unit}}联络员：</p>
<p>截至{{.At}}，贵单位在减负直通车中有以下交办事项需要办理（{{.Week}}）。</p>
{{if .Overdue}}<h3>一、已逾期（{{len .Overdue}}件）</h3>
<table border="1" cellpadding="6" cellspacing="0" style="border-collapse:collapse">
<tr><th>编号</th><th>标题</th><th>环节</th><th>办理时限</th><th>逾期情况</th></tr>
{{range .Overdue}}<tr><td><a href="{{.Link}}">{{.CaseID}}号</a></td><td>{{.Title}}</td><td>{{.Stage}}</td><td>{{.Due}}</td><td style="color:#b00">{{.State}}</td></tr>
{{end}}</table>{{end}}
{{if .DueSoon}}<h3>{{if .Overdue}}二{{else}}一{{end}}、7日内到期（{{len .DueSoon}}件）</h3>
<table border="1" cellpadding="6" cellspacing="0" style="border-collapse:collapse">
<tr><th>编号</th><th>标题</th><th>环节</th><th>办理时限</th><th>剩余时间</th></tr>
{{range .DueSoon}}<tr><td><a href="{{.Link}}">{{.CaseID}}号</a></td><td>{{.Title}}</td><td>{{.Stage}}</td><td>{{.Due}}</td><td>{{.State}}</td></tr>
{{end}}</table>{{end}}
{{if not (or .Overdue .DueSoon)}}<p>贵单位目前没有逾期或7日内到期的交办事项。</p>{{end}}
{{if .Warnings}}<h3>减负预警（{{len .Warnings}}条）</h3><ul>{{range .Warnings}}<li>{{.}}</li>{{end}}</ul>{{end}}
<p>请登录<a href="{{.Console}}">减负直通车工作台</a>办理。本邮件每周自动发送，请勿直接回复。</p>
</div>`))

var summaryText = texttemplate.Must(texttemplate.New("summary").Parse(`各位领导、同志：

截至{{.At}}，减负直通车本周（{{.Week}}）情况如下。

{{.Year}}年以来共收到问题线索{{.Received}}件，受理{{.Accepted}}件，已办结{{.Closed}}件，办结率{{.Rate}}。
交办单位逾期未办事项{{.OverdueAssignments}}件；办理环节逾期的案件{{.OverdueStages}}件。
{{if .HasUnitWaiting}}
一、各单位待办情况（逾期 / 7日内到期 / 在办）
{{range .Units}}  {{.Name}}：{{.Overdue}} / {{.DueSoon}} / {{.Waiting}}
{{end}}{{end}}{{if .HasOverdue}}
{{if .HasUnitWaiting}}二{{else}}一{{end}}、逾期时间最长的案件（{{len .Oldest}}件）
{{range .Oldest}}
{{.CaseID}}号 {{.Title}}
  环节：{{.Stage}}{{if .Units}}  承办单位：{{.Units}}{{end}}  办理时限：{{.Due}}  {{.State}}
  {{.Link}}
{{end}}{{end}}
详情请登录减负直通车工作台查看：{{.Console}}
本邮件每周自动发送，请勿直接回复。
`))

var summaryHTML = htmltemplate.Must(htmltemplate.New("summary").Parse(`<div style="font-family:sans-serif;font-size:14px;line-height:1.6">
<p>各位领导、同志：</p>
<p>截至{{.At}}，减负直通车本周（{{.Week}}）情况如下。</p>
<p>{{.Year}}年以来共收到问题线索<strong>{{.Received}}</strong>件，受理<strong>{{.Accepted}}</strong>件，已办结<strong>{{.Closed}}</strong>件，办结率<strong>{{.Rate}}</strong>。<br>
交办单位逾期未办事项<strong>{{.OverdueAssignments}}</strong>件；办理环节逾期的案件<strong>{{.OverdueStages}}</strong>件。</p>
{{if .HasUnitWaiting}}<h3>一、各单位待办情况</h3>
<table border="1" cellpadding="6" cellspacing="0" style="border-collapse:collapse">
<tr><th>单位</th><th>逾期</th><th>7日内到期</th><th>在办</th></tr>
{{range .Units}}<tr><td>{{.Name}}</td><td>{{.Overdue}}</td><td>{{.DueSoon}}</td><td>{{.Waiting}}</td></tr>
{{end}}</table>{{end}}
{{if .HasOverdue}}<h3>{{if .HasUnitWaiting}}二{{else}}一{{end}}、逾期时间最长的案件（{{len .Oldest}}件）</h3>
<table border="1" cellpadding="6" cellspacing="0" style="border-collapse:collapse">
<tr><th>编号</th><th>标题</th><th>环节</th><th>承办单位</th><th>办理时限</th><th>逾期情况</th></tr>
{{range .Oldest}}<tr><td><a href="{{.Link}}">{{.CaseID}}号</a></td><td>{{.Title}}</td><td>{{.Stage}}</td><td>{{.Units}}</td><td>{{.Due}}</td><td style="color:#b00">{{.State}}</td></tr>
{{end}}</table>{{end}}
<p>详情请登录<a href="{{.Console}}">减负直通车工作台</a>查看。本邮件每周自动发送，请勿直接回复。</p>
</div>`))
