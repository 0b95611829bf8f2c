package worker

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"time"

	gomail "github.com/wneessen/go-mail"

	"jianfu/config"
)

// Message is one email; Text and HTML are both sent (multipart/alternative), zh-CN.
type Message struct {
	To      []string
	Subject string
	Text    string
	HTML    string
	// InReplyTo threads an answer under the mail it answers ("<id>").
	InReplyTo string
	// AutoSubmitted marks an automatic answer (RFC 3834), so the other
	// side's auto-responders do not answer it back.
	AutoSubmitted bool
}

// Mailer sends one message. Implementations are safe for concurrent use.
type Mailer interface {
	Send(ctx context.Context, m Message) error
}

// MailerParams configures NewMailer.
type MailerParams struct {
	SMTP      *config.SMTP // nil: write .eml files into OutboxDir
	From      string       // "减负直通车 <jianfu@example.gov.cn>" style; the display name must be encoded correctly
	OutboxDir string       // used when SMTP is nil; created if missing
	Logger    *slog.Logger // nil: slog.Default()
}

// NewMailer returns an SMTP mailer, or an outbox mailer that writes .eml
// files when no relay is configured (the embedded mode). Bad settings fail
// here rather than on the first Send.
func NewMailer(p MailerParams) (Mailer, error) {
	from, err := mail.ParseAddress(p.From)
	if err != nil {
		return nil, fmt.Errorf("mail sender %q: %w", p.From, err)
	}
	logger := p.Logger
	if logger == nil {
		logger = slog.Default()
	}
	if p.SMTP == nil {
		if p.OutboxDir == "" {
			return nil, errors.New("mail outbox: no directory given")
		}
		if err := os.MkdirAll(p.OutboxDir, 0o700); err != nil {
			return nil, fmt.Errorf("mail outbox: %w", err)
		}
		return &outboxMailer{dir: p.OutboxDir, from: from, logger: logger}, nil
	}
	return newSMTPMailer(p.SMTP, from)
}

// smtpMailer opens a fresh connection per Send, so it holds no connection
// state and concurrent sends never share a go-mail client.
type smtpMailer struct {
	host string
	opts []gomail.Option
	// implicit dials TLS directly (smtps, port 465).
	implicit bool
	from     *mail.Address
}

func newSMTPMailer(s *config.SMTP, from *mail.Address) (*smtpMailer, error) {
	if s.Host == "" {
		return nil, errors.New("smtp: no host")
	}
	opts := []gomail.Option{gomail.WithPort(s.Port)}
	m := &smtpMailer{host: s.Host, from: from}
	// Preferred mechanisms when the server offers them; otherwise go-mail
	// picks the strongest one it supports (SCRAM, CRAM-MD5).
	preferred := []gomail.SMTPAuthType{gomail.SMTPAuthPlain, gomail.SMTPAuthLogin}
	switch s.TLS {
	case "starttls":
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case "implicit":
		m.implicit = true
		opts = append(opts, gomail.WithSSL())
	case "none":
		// A local relay or mailpit: credentials travel in the clear, which
		// go-mail only allows for the explicit -NOENC mechanisms.
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
		preferred = []gomail.SMTPAuthType{gomail.SMTPAuthPlainNoEnc, gomail.SMTPAuthLoginNoEnc}
	default:
		return nil, fmt.Errorf("smtp: tls=%q is not starttls, implicit or none", s.TLS)
	}
	if s.Username != "" {
		opts = append(opts,
			gomail.WithUsername(s.Username),
			gomail.WithPassword(s.Password),
			gomail.WithOpportunisticSMTPAuth(preferred...),
		)
	}
	// Validate the options once, so a bad port fails at start.
	if _, err := gomail.NewClient(s.Host, opts...); err != nil {
		return nil, fmt.Errorf("smtp: %w", err)
	}
	m.opts = opts
	return m, nil
}

func (s *smtpMailer) Send(ctx context.Context, m Message) error {
	msg, err := buildMsg(s.from, m)
	if err != nil {
		return fmt.Errorf("send mail to %d recipients: %w", len(m.To), err)
	}

	// go-mail uses ctx only while dialling; closing the connection when ctx
	// ends makes a cancelled task stop mid-conversation too, and closing it
	// afterwards frees it when go-mail gives up after a failed HELO or AUTH.
	var conns []net.Conn
	var stops []func() bool
	defer func() {
		for _, stop := range stops {
			stop()
		}
		for _, c := range conns {
			c.Close()
		}
	}()
	dial := func(dctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		var err error
		if s.implicit {
			d := &tls.Dialer{Config: &tls.Config{ServerName: s.host, MinVersion: gomail.DefaultTLSMinVersion}}
			c, err = d.DialContext(dctx, network, addr)
		} else {
			var d net.Dialer
			c, err = d.DialContext(dctx, network, addr)
		}
		if err != nil {
			return nil, err
		}
		conns = append(conns, c)
		stops = append(stops, context.AfterFunc(ctx, func() { c.Close() }))
		return c, nil
	}

	// Clip so concurrent Sends never append into a shared backing array.
	opts := append(slices.Clip(s.opts), gomail.WithDialContextFunc(dial))
	client, err := gomail.NewClient(s.host, opts...)
	if err == nil {
		err = client.DialAndSendWithContext(ctx, msg)
	}
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("send mail to %d recipients: %w: %w", len(m.To), ctxErr, err)
		}
		return fmt.Errorf("send mail to %d recipients: %w", len(m.To), err)
	}
	return nil
}

// outboxMailer writes each message as an .eml file, the same bytes SMTP
// would carry, so a first run needs no relay and operators can open them.
type outboxMailer struct {
	dir    string
	from   *mail.Address
	logger *slog.Logger
}

func (o *outboxMailer) Send(ctx context.Context, m Message) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("send mail to %d recipients: %w", len(m.To), err)
	}
	msg, err := buildMsg(o.from, m)
	if err != nil {
		return fmt.Errorf("send mail to %d recipients: %w", len(m.To), err)
	}
	name, err := o.write(msg)
	if err != nil {
		return fmt.Errorf("send mail to %d recipients: %w", len(m.To), err)
	}
	o.logger.InfoContext(ctx, "mail written to outbox",
		slog.Any("to", m.To), slog.String("subject", m.Subject), slog.String("file", name))
	return nil
}

// write stores msg under a fresh name via a temporary file and a rename, so
// a reader of the directory never sees half a message.
func (o *outboxMailer) write(msg *gomail.Msg) (string, error) {
	// CreateTemp makes the file 0600; the name does not end in .eml, so a
	// glob for *.eml never matches it.
	tmp, err := os.CreateTemp(o.dir, ".outbox-*.tmp")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	if _, err := msg.WriteTo(tmp); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	var random [6]byte
	rand.Read(random[:])
	name := time.Now().UTC().Format("20060102T150405.000000Z") + "-" + hex.EncodeToString(random[:]) + ".eml"
	path := filepath.Join(o.dir, name)
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", err
	}
	return path, nil
}

// buildMsg turns m into a go-mail message: UTF-8, quoted-printable bodies,
// RFC 2047 encoded subject and display name.
func buildMsg(from *mail.Address, m Message) (*gomail.Msg, error) {
	if len(m.To) == 0 {
		return nil, errors.New("no recipients")
	}
	if m.Text == "" && m.HTML == "" {
		return nil, errors.New("empty body")
	}
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(from)
	if err := msg.To(m.To...); err != nil {
		return nil, err
	}
	msg.Subject(m.Subject)
	if m.InReplyTo != "" {
		msg.SetGenHeader(gomail.HeaderInReplyTo, m.InReplyTo)
		msg.SetGenHeader(gomail.HeaderReferences, m.InReplyTo)
	}
	if m.AutoSubmitted {
		msg.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-replied")
	}
	switch {
	case m.Text != "" && m.HTML != "":
		msg.SetBodyString(gomail.TypeTextPlain, m.Text)
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	case m.Text != "":
		msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	default:
		msg.SetBodyString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}
