package worker

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/prometheus/client_golang/prometheus"

	"jianfu/config"
	"jianfu/models"
)

// The mailbox intake (举报信箱, DESIGN §10.5; docs/mailbox.md). The worker
// polls one IMAP folder; every message without the imported keyword
// becomes a tip through the same CreateTip as the web form, its
// attachments through attach.Check, its sender sealed as the contact. The
// message's Message-ID (or, without one, a hash of its bytes) is stored
// with the tip under a unique index in the same transaction, and the
// message is flagged only after that commit: a worker killed in between
// finds the message again on its next poll, learns the tip is stored, and
// only flags it. A mail that cannot be read in full (too large, broken
// MIME, refused attachments) still becomes a tip with what could be read
// and a note for the office, flagged $JianfuProblem; the original always
// stays in the mailbox.

// IMAP keywords the intake sets. \Seen is set too, but a message is
// chosen by the keyword alone, so a person reading the mailbox in a mail
// client cannot hide a message from the intake.
const (
	FlagImported = "$JianfuImported"
	FlagProblem  = "$JianfuProblem"
)

const (
	// mailboxBatch bounds the messages one poll takes; the rest wait for
	// the next poll, so a flooded mailbox cannot hold a poll for hours.
	mailboxBatch = 50
	// mailboxPollTimeout bounds one poll, a stalled server included.
	mailboxPollTimeout = 10 * time.Minute
)

// MailboxParams configures NewMailbox.
type MailboxParams struct {
	Store *models.Store
	IMAP  *config.IMAP
	// Mailer sends the receipt reply when Reply is set.
	Mailer Mailer
	Reply  bool
	// BaseURL is where the tipster looks the receipt up.
	BaseURL string
	// MailFrom is our own sender: mail from it is never answered.
	MailFrom string
	// Interval is JIANFU_IMAP_INTERVAL (0: one minute).
	Interval time.Duration
	// MaxBytes is JIANFU_IMAP_MAX_MB in bytes: a larger message is
	// imported from its headers alone.
	MaxBytes int64
	// MaxFiles and MaxFileBytes are the web form's attachment limits.
	MaxFiles     int
	MaxFileBytes int64
	Logger       *slog.Logger
	// Registerer receives the intake's metrics (optional).
	Registerer prometheus.Registerer
	// TLSConfig overrides the TLS settings for imaps and starttls (tests
	// with a private CA); nil verifies the server's name with the
	// system's roots.
	TLSConfig *tls.Config
}

// Mailbox imports mails from one IMAP folder as tips.
type Mailbox struct {
	p        MailboxParams
	messages *prometheus.CounterVec
	polls    *prometheus.CounterVec
	// afterCommit runs between a tip's commit and the flagging of its
	// message; a test makes it fail to play a worker killed right there.
	afterCommit func(uid uint32) error
}

// NewMailbox builds the intake; Run or Poll start work.
func NewMailbox(p MailboxParams) *Mailbox {
	if p.Interval <= 0 {
		p.Interval = time.Minute
	}
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	if p.MaxBytes <= 0 {
		p.MaxBytes = 25 << 20
	}
	if p.MaxFiles <= 0 {
		p.MaxFiles = 5
	}
	if p.MaxFileBytes <= 0 {
		p.MaxFileBytes = 10 << 20
	}
	m := &Mailbox{p: p,
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "jianfu_mailbox_messages_total",
			Help: "Mailbox messages handled, by outcome: imported, problem (imported with a note for the office), duplicate (already stored), reply_failed."},
			[]string{"outcome"}),
		polls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "jianfu_mailbox_polls_total",
			Help: "Mailbox polls, by result: ok or error."}, []string{"result"}),
	}
	if p.Registerer != nil {
		p.Registerer.MustRegister(m.messages, m.polls)
	}
	return m
}

// Run polls every Interval until ctx ends.
func (m *Mailbox) Run(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := m.Poll(ctx); err != nil && ctx.Err() == nil {
			m.p.Logger.Warn("mailbox poll failed; the next poll tries again", "err", err)
		}
		t.Reset(m.p.Interval)
	}
}

// PollResult counts what one poll did.
type PollResult struct {
	Imported   int // new tips, problems included
	Problems   int // tips marked for the office
	Duplicates int // messages whose tip was already stored
}

// Poll imports the messages not yet imported (at most mailboxBatch),
// oldest first. An error stops the poll where it is: what was committed
// stays committed, and the next poll resumes.
func (m *Mailbox) Poll(ctx context.Context) (res PollResult, err error) {
	defer func() {
		result := "ok"
		if err != nil {
			result = "error"
		}
		m.polls.WithLabelValues(result).Inc()
	}()
	ctx, cancel := context.WithTimeout(ctx, mailboxPollTimeout)
	defer cancel()
	c, err := m.dial()
	if err != nil {
		return res, err
	}
	defer c.Close()
	// The client honours no context: closing the connection ends a
	// command that waits on a stalled server.
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()

	if err := c.Login(m.p.IMAP.Username, m.p.IMAP.Password).Wait(); err != nil {
		return res, fmt.Errorf("imap login as %s: %w", m.p.IMAP.Username, err)
	}
	sel, err := c.Select(m.p.IMAP.Mailbox, nil).Wait()
	if err != nil {
		return res, fmt.Errorf("imap select %s: %w", m.p.IMAP.Mailbox, err)
	}
	if !slices.Contains(sel.PermanentFlags, imap.FlagWildcard) && !slices.Contains(sel.PermanentFlags, imap.Flag(FlagImported)) {
		return res, fmt.Errorf("imap folder %s does not keep keywords such as %s; the intake cannot mark imported mail", m.p.IMAP.Mailbox, FlagImported)
	}
	found, err := c.UIDSearch(&imap.SearchCriteria{NotFlag: []imap.Flag{FlagImported}}, nil).Wait()
	if err != nil {
		return res, fmt.Errorf("imap search: %w", err)
	}
	uids := found.AllUIDs()
	sort.Slice(uids, func(i, j int) bool { return uids[i] < uids[j] })
	if len(uids) > mailboxBatch {
		uids = uids[:mailboxBatch]
	}
	if len(uids) == 0 {
		return res, c.Logout().Wait()
	}
	metas, err := c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, RFC822Size: true, Envelope: true}).Collect()
	if err != nil {
		return res, fmt.Errorf("imap fetch sizes: %w", err)
	}
	sort.Slice(metas, func(i, j int) bool { return metas[i].UID < metas[j].UID })
	for _, meta := range metas {
		out, err := m.importOne(ctx, c, meta)
		if err != nil {
			return res, err
		}
		switch out {
		case outcomeImported:
			res.Imported++
		case outcomeProblem:
			res.Imported++
			res.Problems++
		case outcomeDuplicate:
			res.Duplicates++
		}
	}
	return res, c.Logout().Wait()
}

func (m *Mailbox) dial() (*imapclient.Client, error) {
	s := m.p.IMAP
	addr := net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if m.p.TLSConfig != nil {
		tc = m.p.TLSConfig.Clone()
	}
	if tc.ServerName == "" {
		tc.ServerName = s.Host
	}
	opts := &imapclient.Options{TLSConfig: tc, Dialer: &net.Dialer{Timeout: 20 * time.Second},
		WordDecoder: wordDecoder}
	var c *imapclient.Client
	var err error
	switch s.TLS {
	case "implicit":
		c, err = imapclient.DialTLS(addr, opts)
	case "none":
		c, err = imapclient.DialInsecure(addr, opts)
	default:
		c, err = imapclient.DialStartTLS(addr, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("imap connect %s: %w", addr, err)
	}
	return c, nil
}

// Outcomes of one message, also the metric's labels.
const (
	outcomeImported  = "imported"
	outcomeProblem   = "problem"
	outcomeDuplicate = "duplicate"
	outcomeGone      = "gone"
)

// importOne turns one message into a tip (or finds its tip stored) and
// flags it. An error leaves the message unflagged for the next poll.
func (m *Mailbox) importOne(ctx context.Context, c *imapclient.Client, meta *imapclient.FetchMessageBuffer) (string, error) {
	uid := uint32(meta.UID)
	oversized := meta.RFC822Size > m.p.MaxBytes
	section := &imap.FetchItemBodySection{Peek: true}
	if oversized {
		section.Specifier = imap.PartSpecifierHeader
	}
	bufs, err := c.Fetch(imap.UIDSetNum(meta.UID), &imap.FetchOptions{UID: true,
		BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	if err != nil {
		return "", fmt.Errorf("imap fetch message %d: %w", uid, err)
	}
	if len(bufs) == 0 {
		return outcomeGone, nil // expunged by someone else meanwhile
	}
	raw := bufs[0].FindBodySection(section)
	mail := readMail(raw, mailLimits{maxFiles: m.p.MaxFiles, maxFileBytes: m.p.MaxFileBytes}, meta.Envelope, oversized)
	if oversized {
		mail.problems = append(mail.problems, fmt.Sprintf("邮件过大（%.1f MB，超过 %d MB 的导入上限），正文和附件均未导入，请登录举报信箱查看原件",
			float64(meta.RFC822Size)/(1<<20), m.p.MaxBytes>>20))
	}
	ref := "message-id:" + mail.messageID
	if mail.messageID == "" {
		h := sha256.New()
		h.Write(raw)
		h.Write([]byte(strconv.FormatInt(meta.RFC822Size, 10)))
		ref = "sha256:" + hex.EncodeToString(h.Sum(nil))
	}

	in := mail.tipInput(ref)
	r, err := m.p.Store.CreateTip(ctx, in)
	var ve *models.ValidationError
	if errors.As(err, &ve) {
		// What we read does not fit a tip; keep the message as a tip the
		// office must look at rather than retrying it forever.
		in = mail.fallbackInput(ref, ve)
		r, err = m.p.Store.CreateTip(ctx, in)
	}
	duplicate := errors.Is(err, models.ErrDuplicateSource)
	if err != nil && !duplicate {
		return "", fmt.Errorf("store mail %d as a tip: %w", uid, err)
	}
	out := outcomeImported
	switch {
	case duplicate:
		out = outcomeDuplicate
	case len(mail.problems) > 0:
		out = outcomeProblem
	}
	if !duplicate {
		m.p.Logger.Info("mailbox message imported", "uid", uid, "case", r.CaseID, "files", len(in.Files),
			"problems", len(mail.problems), "skipped_files", len(mail.skipped))
		if out == outcomeProblem {
			// Counts only: no sender, subject, file name or text in the log;
			// the reasons are in the tip, for the office.
			m.p.Logger.Warn("mailbox message needs the office's attention", "uid", uid, "case", r.CaseID,
				"problems", len(mail.problems))
		}
		if m.p.Reply {
			m.reply(ctx, mail, in, r)
		}
	}
	if m.afterCommit != nil {
		if err := m.afterCommit(uid); err != nil {
			return "", err
		}
	}
	flags := []imap.Flag{imap.FlagSeen, FlagImported}
	if len(mail.problems) > 0 {
		flags = append(flags, FlagProblem)
	}
	if err := c.Store(imap.UIDSetNum(meta.UID), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: flags}, nil).Close(); err != nil {
		return "", fmt.Errorf("imap flag message %d (its tip is stored): %w", uid, err)
	}
	m.messages.WithLabelValues(out).Inc()
	return out, nil
}

// reply sends the receipt to the sender, at most once: it runs only for
// the poll that committed the tip, before the message is flagged. Mail
// that is itself automatic, or that comes from us, is never answered.
func (m *Mailbox) reply(ctx context.Context, mail *inMail, in models.TipInput, r models.TipReceipt) {
	if m.p.Mailer == nil || in.Anonymous || in.Contact.Email == "" || mail.automatic || m.own(in.Contact.Email) {
		return
	}
	grouped := r.Receipt
	if len(grouped) == 16 {
		grouped = grouped[:4] + " " + grouped[4:8] + " " + grouped[8:12] + " " + grouped[12:]
	}
	subject := cleanText(strings.ReplaceAll(mail.subject, "\n", " "))
	if subject == "" {
		subject = "（无主题）"
	}
	lookup := m.p.BaseURL + "/track"
	text := fmt.Sprintf("您好：\n\n您发送到举报信箱的邮件（主题：%s）已登记为问题线索，进入线索收集阶段。\n\n"+
		"查询码：%s\n\n请妥善保存查询码：凭它可以在 %s 查询办理进展、补充材料、回答工作人员的提问并评价办理结果。"+
		"查询码只发送这一次，工作人员也无法替您找回。\n\n我们依规保护反映人信息。本邮件由系统自动发送。\n\n减负直通车\n",
		subject, grouped, lookup)
	body := fmt.Sprintf(`<p>您好：</p><p>您发送到举报信箱的邮件（主题：%s）已登记为问题线索，进入线索收集阶段。</p>`+
		`<p>查询码：<strong style="font-size:1.3em;letter-spacing:.1em">%s</strong></p>`+
		`<p>请妥善保存查询码：凭它可以在 <a href="%s">%s</a> 查询办理进展、补充材料、回答工作人员的提问并评价办理结果。查询码只发送这一次，工作人员也无法替您找回。</p>`+
		`<p>我们依规保护反映人信息。本邮件由系统自动发送。</p><p>减负直通车</p>`,
		html.EscapeString(subject), grouped, html.EscapeString(lookup), html.EscapeString(lookup))
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	msg := Message{To: []string{in.Contact.Email}, Subject: "回执：您的反映已收到（减负直通车）", Text: text, HTML: body,
		AutoSubmitted: true}
	if mail.messageID != "" {
		msg.InReplyTo = "<" + mail.messageID + ">"
	}
	if err := m.p.Mailer.Send(sctx, msg); err != nil {
		// The tip is stored; only the sender's copy of the receipt is lost.
		m.messages.WithLabelValues("reply_failed").Inc()
		m.p.Logger.Warn("mailbox receipt reply not sent", "case", r.CaseID, "err", err)
	}
}

// own reports whether addr is our sender or the mailbox itself.
func (m *Mailbox) own(addr string) bool {
	addr = strings.ToLower(addr)
	if from, err := parseAddress(m.p.MailFrom); err == nil && strings.ToLower(from.Address) == addr {
		return true
	}
	return addr == strings.ToLower(m.p.IMAP.Username)
}
