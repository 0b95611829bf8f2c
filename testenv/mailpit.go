// Package testenv starts the real services Jianfu's tests run against.
package testenv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/build"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// mailpitInstall is the command the skip message suggests.
const mailpitInstall = "go install github.com/axllent/mailpit@v1.33.1"

// Mailpit is a running mailpit server for one test.
type Mailpit struct {
	SMTPHost string
	SMTPPort int
	APIURL   string // e.g. http://127.0.0.1:54321, no trailing slash
}

// MailpitMessage is one received message as mailpit decoded it.
type MailpitMessage struct {
	ID      string
	Subject string
	From    string   // "Name <addr>", or addr alone when there is no display name
	To      []string // addresses only
	Text    string
	HTML    string
}

// StartMailpit starts `mailpit` (found on PATH or in $(go env GOPATH)/bin) on
// two free loopback ports with a temporary database, waits until its HTTP
// API answers, and stops it in t.Cleanup. SMTP accepts any credentials, also
// without TLS, so the AUTH path of a client is exercised. When the binary is
// missing the test fails if CI=true and is skipped otherwise.
func StartMailpit(t testing.TB) *Mailpit {
	t.Helper()
	bin := findMailpit()
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("mailpit not found on PATH or in GOPATH/bin; install it: %s", mailpitInstall)
		}
		t.Skipf("mailpit not found on PATH or in GOPATH/bin; install it to run this test: %s", mailpitInstall)
	}
	// A free port can be taken by someone else before mailpit binds it;
	// try a few pairs before giving up.
	var errs []error
	for range 3 {
		m, err := startMailpit(t, bin)
		if err == nil {
			return m
		}
		errs = append(errs, err)
	}
	t.Fatalf("start mailpit: %v", errors.Join(errs...))
	return nil
}

func startMailpit(t testing.TB, bin string) (*Mailpit, error) {
	t.Helper()
	dir := t.TempDir()
	smtpPort, err := freePort()
	if err != nil {
		return nil, err
	}
	httpPort, err := freePort()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "mailpit.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child keeps its own descriptor

	smtpAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(smtpPort))
	httpAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(httpPort))
	cmd := exec.Command(bin,
		"--listen", httpAddr,
		"--smtp", smtpAddr,
		"--database", filepath.Join(dir, "mailpit.db"),
		"--smtp-auth-accept-any",
		"--smtp-auth-allow-insecure",
		"--smtp-disable-rdns",
		"--disable-version-check",
		// Keep every message: by default mailpit drops the oldest past
		// 500, and a load test (deploy/cluster) counts mails among thousands.
		"--max", "0",
	)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("run %s: %w", bin, err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	stop := func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}

	m := &Mailpit{SMTPHost: "127.0.0.1", SMTPPort: smtpPort, APIURL: "http://" + httpAddr}
	if err := m.waitReady(exited, 20*time.Second); err != nil {
		stop()
		out, _ := os.ReadFile(logPath)
		return nil, fmt.Errorf("%w; mailpit output:\n%s", err, out)
	}
	t.Cleanup(stop)
	return m, nil
}

// waitReady returns once /readyz answers 200 and the SMTP port accepts.
func (m *Mailpit) waitReady(exited <-chan struct{}, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: time.Second}
	smtpAddr := net.JoinHostPort(m.SMTPHost, strconv.Itoa(m.SMTPPort))
	for {
		select {
		case <-exited:
			return errors.New("mailpit exited before it was ready")
		default:
		}
		if resp, err := client.Get(m.APIURL + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				if c, err := net.DialTimeout("tcp", smtpAddr, time.Second); err == nil {
					c.Close()
					return nil
				}
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("mailpit not ready after %s", timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Messages returns the received messages, oldest first, via mailpit's HTTP
// API: the list for the headers, then one request per message for bodies.
func (m *Mailpit) Messages(t testing.TB) []MailpitMessage {
	t.Helper()
	type address struct{ Name, Address string }
	type summary struct {
		ID      string
		Subject string
		From    *address
		To      []address
	}
	var summaries []summary
	for {
		var page struct {
			Total    int       `json:"total"`
			Messages []summary `json:"messages"`
		}
		q := url.Values{"start": {strconv.Itoa(len(summaries))}, "limit": {"200"}}
		m.getJSON(t, "/api/v1/messages?"+q.Encode(), &page)
		summaries = append(summaries, page.Messages...)
		if len(page.Messages) == 0 || len(summaries) >= page.Total {
			break
		}
	}

	msgs := make([]MailpitMessage, 0, len(summaries))
	// The API lists newest first; report them in the order they arrived.
	for i := len(summaries) - 1; i >= 0; i-- {
		s := summaries[i]
		var body struct{ Text, HTML string }
		m.getJSON(t, "/api/v1/message/"+url.PathEscape(s.ID), &body)
		msg := MailpitMessage{ID: s.ID, Subject: s.Subject, Text: body.Text, HTML: body.HTML}
		if s.From != nil {
			msg.From = s.From.Address
			if s.From.Name != "" {
				msg.From = s.From.Name + " <" + s.From.Address + ">"
			}
		}
		for _, to := range s.To {
			msg.To = append(msg.To, to.Address)
		}
		msgs = append(msgs, msg)
	}
	return msgs
}

func (m *Mailpit) getJSON(t testing.TB, path string, v any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.APIURL+path, nil)
	if err != nil {
		t.Fatalf("mailpit GET %s: %v", path, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("mailpit GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("mailpit GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("mailpit GET %s: decode: %v", path, err)
	}
}

// findMailpit looks on PATH, then where `go install` puts binaries.
func findMailpit() string {
	if p, err := exec.LookPath("mailpit"); err == nil {
		return p
	}
	var dirs []string
	if out, err := exec.Command("go", "env", "GOBIN", "GOPATH").Output(); err == nil {
		// One line per variable; GOBIN is usually empty.
		lines := strings.Split(strings.TrimRight(string(out), "\r\n"), "\n")
		if len(lines) == 2 {
			if gobin := strings.TrimSpace(lines[0]); gobin != "" {
				dirs = append(dirs, gobin)
			}
			for _, gp := range filepath.SplitList(strings.TrimSpace(lines[1])) {
				dirs = append(dirs, filepath.Join(gp, "bin"))
			}
		}
	}
	if gp := build.Default.GOPATH; gp != "" {
		dirs = append(dirs, filepath.Join(filepath.SplitList(gp)[0], "bin"))
	}
	for _, dir := range dirs {
		if p, err := exec.LookPath(filepath.Join(dir, "mailpit")); err == nil {
			return p
		}
	}
	return ""
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
