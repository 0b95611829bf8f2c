package worker_test

import (
	"context"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"jianfu/config"
	"jianfu/testenv"
	"jianfu/worker"
)

const (
	mailFrom     = "减负直通车 <jianfu@example.gov.cn>"
	mailSubject  = "【减负直通车】逾期提醒：3件"
	mailTextLine = "您单位有3件问题线索已逾期，请尽快办理。"
	mailHTMLLine = "请登录减负直通车工作台查看详情。"
)

func overdueNotice(to ...string) worker.Message {
	return worker.Message{
		To:      to,
		Subject: mailSubject,
		Text:    mailTextLine + "\n\nhttp://127.0.0.1:8080/cases?overdue=true\n",
		HTML:    "<p>" + mailTextLine + "</p><p><a href=\"http://127.0.0.1:8080/cases?overdue=true\">" + mailHTMLLine + "</a></p>",
	}
}

func TestMailerSMTP(t *testing.T) {
	mp := testenv.StartMailpit(t)
	mailer, err := worker.NewMailer(worker.MailerParams{
		SMTP: &config.SMTP{
			Host: mp.SMTPHost, Port: mp.SMTPPort,
			Username: "jianfu", Password: "s3cret", TLS: "none",
		},
		From: mailFrom,
	})
	if err != nil {
		t.Fatalf("NewMailer: %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	to := []string{"liaison-a@town.example.gov.cn", "liaison-b@town.example.gov.cn"}
	if err := mailer.Send(ctx, overdueNotice(to...)); err != nil {
		t.Fatalf("Send: %v", err)
	}

	msgs := mp.Messages(t)
	if len(msgs) != 1 {
		t.Fatalf("mailpit received %d messages, want 1", len(msgs))
	}
	got := msgs[0]
	if got.Subject != mailSubject {
		t.Errorf("subject = %q, want %q", got.Subject, mailSubject)
	}
	if got.From != mailFrom {
		t.Errorf("from = %q, want %q", got.From, mailFrom)
	}
	if !slices.Equal(got.To, to) {
		t.Errorf("to = %q, want %q", got.To, to)
	}
	if !strings.Contains(got.Text, mailTextLine) {
		t.Errorf("text part lacks %q:\n%s", mailTextLine, got.Text)
	}
	if !strings.Contains(got.HTML, mailHTMLLine) {
		t.Errorf("HTML part lacks %q:\n%s", mailHTMLLine, got.HTML)
	}
}

func TestMailerOutbox(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox") // does not exist yet
	var logged strings.Builder
	mailer, err := worker.NewMailer(worker.MailerParams{
		From:      mailFrom,
		OutboxDir: dir,
		Logger:    slog.New(slog.NewTextHandler(&logged, nil)),
	})
	if err != nil {
		t.Fatalf("NewMailer: %v", err)
	}
	if err := mailer.Send(context.Background(), overdueNotice("office@county.example.gov.cn")); err != nil {
		t.Fatalf("Send: %v", err)
	}

	if info, err := os.Stat(dir); err != nil || info.Mode().Perm() != 0o700 {
		t.Errorf("outbox dir: %v, mode %v; want 0700", err, info.Mode().Perm())
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || !strings.HasSuffix(entries[0].Name(), ".eml") {
		t.Fatalf("outbox holds %v, want one .eml file", entries)
	}
	info, _ := entries[0].Info()
	if info.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, want 0600", info.Mode().Perm())
	}

	f, err := os.Open(filepath.Join(dir, entries[0].Name()))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	msg, err := mail.ReadMessage(f)
	if err != nil {
		t.Fatalf("parse .eml: %v", err)
	}
	var dec mime.WordDecoder
	subject, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil || subject != mailSubject {
		t.Errorf("subject = %q (%v), want %q", subject, err, mailSubject)
	}
	from, err := msg.Header.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Name != "减负直通车" || from[0].Address != "jianfu@example.gov.cn" {
		t.Errorf("from = %v (%v), want 减负直通车 <jianfu@example.gov.cn>", from, err)
	}

	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/alternative" {
		t.Fatalf("content type %q (%v), want multipart/alternative", mediaType, err)
	}
	bodies := map[string]string{}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextPart() // decodes quoted-printable
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("read part: %v", err)
		}
		partType, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		b, err := io.ReadAll(part)
		if err != nil {
			t.Fatalf("read %s part: %v", partType, err)
		}
		bodies[partType] = string(b)
	}
	if !strings.Contains(bodies["text/plain"], mailTextLine) {
		t.Errorf("text/plain part lacks %q: %q", mailTextLine, bodies["text/plain"])
	}
	if !strings.Contains(bodies["text/html"], mailHTMLLine) {
		t.Errorf("text/html part lacks %q: %q", mailHTMLLine, bodies["text/html"])
	}

	for _, want := range []string{"office@county.example.gov.cn", mailSubject} {
		if !strings.Contains(logged.String(), want) {
			t.Errorf("log line lacks %q: %s", want, logged.String())
		}
	}
}

func TestMailerGivesUp(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T) (port int) // a port where no SMTP server answers
	}{
		{"connection refused", func(t *testing.T) int {
			l := listenLoopback(t)
			l.Close()
			return l.Addr().(*net.TCPAddr).Port
		}},
		{"server never greets", func(t *testing.T) int {
			// Accepts the connection (the kernel does) but never says 220,
			// so only the context can end the wait.
			return listenLoopback(t).Addr().(*net.TCPAddr).Port
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mailer, err := worker.NewMailer(worker.MailerParams{
				SMTP: &config.SMTP{Host: "127.0.0.1", Port: tt.setup(t), TLS: "none"},
				From: mailFrom,
			})
			if err != nil {
				t.Fatalf("NewMailer: %v", err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			start := time.Now()
			err = mailer.Send(ctx, overdueNotice("a@example.gov.cn", "b@example.gov.cn"))
			if err == nil {
				t.Fatal("Send succeeded")
			}
			if elapsed := time.Since(start); elapsed > 3*time.Second {
				t.Errorf("Send took %s, want it to give up soon after the context's 500ms", elapsed)
			}
			if !strings.Contains(err.Error(), "send mail to 2 recipients") {
				t.Errorf("error %q does not say what failed", err)
			}
		})
	}
}

func listenLoopback(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}
