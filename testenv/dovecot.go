package testenv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// dovecotInstall is the command the skip message suggests.
const dovecotInstall = "apt-get install -y dovecot-imapd"

// Dovecot is a private Dovecot IMAP server for one test: its own
// configuration, maildir and ports, one user, a certificate of its own.
type Dovecot struct {
	Addr     string // 127.0.0.1:port, IMAP with STARTTLS offered
	TLSAddr  string // 127.0.0.1:port, IMAP over TLS (imaps)
	User     string
	Password string
	// URL is the JIANFU_IMAP_URL of the user's INBOX without TLS;
	// StartTLSURL and TLSURL reach it with STARTTLS and imaps.
	URL, StartTLSURL, TLSURL string
	// RootCAs holds the server's self-signed certificate (for 127.0.0.1).
	RootCAs *x509.CertPool
	dir     string
}

// DovecotMessage is one message in the INBOX as the server holds it.
type DovecotMessage struct {
	UID   uint32
	Size  int64
	Flags []string
}

// Has reports whether the message carries flag.
func (m DovecotMessage) Has(flag string) bool { return slices.Contains(m.Flags, flag) }

// StartDovecot starts `dovecot -F` (found on PATH or in /usr/sbin) with a
// configuration written into a temporary directory: IMAP without TLS on a
// free loopback port, a passwd-file with one user, a maildir. It never
// reads /etc/dovecot. Run as root, mail processes use the uid of nobody;
// otherwise everything runs as the current user. It stops in t.Cleanup.
// When the binary is missing the test fails if CI=true and is skipped
// otherwise.
func StartDovecot(t testing.TB) *Dovecot {
	t.Helper()
	bin := findDovecot()
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("dovecot not found on PATH or in /usr/sbin; install it: %s", dovecotInstall)
		}
		t.Skipf("dovecot not found on PATH or in /usr/sbin; install it to run this test: %s", dovecotInstall)
	}
	var errs []error
	for range 3 {
		d, err := startDovecot(t, bin)
		if err == nil {
			return d
		}
		errs = append(errs, err)
	}
	t.Fatalf("start dovecot: %v", errors.Join(errs...))
	return nil
}

func findDovecot() string {
	if p, err := exec.LookPath("dovecot"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/dovecot"); err == nil {
		return "/usr/sbin/dovecot"
	}
	return ""
}

func startDovecot(t testing.TB, bin string) (*Dovecot, error) {
	t.Helper()
	// Not t.TempDir: its parents are private to the test's user, and
	// Dovecot's mail processes may run as another one.
	dir, err := os.MkdirTemp("", "jianfu-dovecot-")
	if err != nil {
		return nil, err
	}
	cleanDir := func() { os.RemoveAll(dir) }
	if err := os.Chmod(dir, 0o755); err != nil {
		cleanDir()
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		cleanDir()
		return nil, err
	}
	tlsPort, err := freePort()
	if err != nil {
		cleanDir()
		return nil, err
	}
	d := &Dovecot{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), TLSAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(tlsPort)),
		User: "jubao", Password: "jubao-secret", dir: dir}
	userinfo := url.UserPassword(d.User, d.Password)
	d.URL = (&url.URL{Scheme: "imap", User: userinfo, Host: d.Addr, Path: "/INBOX", RawQuery: "tls=none"}).String()
	d.StartTLSURL = (&url.URL{Scheme: "imap", User: userinfo, Host: d.Addr, Path: "/INBOX"}).String()
	d.TLSURL = (&url.URL{Scheme: "imaps", User: userinfo, Host: d.TLSAddr, Path: "/INBOX"}).String()
	if d.RootCAs, err = selfSigned(dir); err != nil {
		cleanDir()
		return nil, err
	}

	me, err := user.Current()
	if err != nil {
		cleanDir()
		return nil, err
	}
	uid, gid := me.Uid, me.Gid
	extra := ""
	if os.Geteuid() == 0 {
		uid, gid = "65534", "65534" // Dovecot refuses mail access as root
	} else {
		// An unprivileged master runs its helpers as itself.
		extra = fmt.Sprintf("default_login_user = %s\ndefault_internal_user = %s\n", me.Username, me.Username)
	}
	mail := filepath.Join(dir, "mail")
	for _, sub := range []string{"run", "state", "mail"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			cleanDir()
			return nil, err
		}
	}
	if os.Geteuid() == 0 {
		n, _ := strconv.Atoi(uid)
		if err := os.Chown(mail, n, n); err != nil {
			cleanDir()
			return nil, err
		}
	}
	passwd := filepath.Join(dir, "passwd")
	if err := os.WriteFile(passwd, []byte(d.User+":{PLAIN}"+d.Password+"\n"), 0o644); err != nil {
		cleanDir()
		return nil, err
	}
	conf := fmt.Sprintf(`base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <%[1]s/cert.pem
ssl_key = <%[1]s/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:%[2]s/%%u
first_valid_uid = 1
%[5]s
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%u %[3]s
}
userdb {
  driver = static
  args = uid=%[4]s gid=%[6]s home=%[2]s/%%u
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = %[7]d
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = %[8]d
  }
}
service anvil {
  chroot =
}
`, dir, mail, passwd, uid, extra, gid, port, tlsPort)
	confPath := filepath.Join(dir, "dovecot.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		cleanDir()
		return nil, err
	}
	out, err := os.Create(filepath.Join(dir, "stderr.log"))
	if err != nil {
		cleanDir()
		return nil, err
	}
	defer out.Close()
	cmd := exec.Command(bin, "-F", "-c", confPath)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its helpers stop with it
	if err := cmd.Start(); err != nil {
		cleanDir()
		return nil, fmt.Errorf("run %s: %w", bin, err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	stop := func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		cleanDir()
	}
	if err := d.waitReady(exited, 20*time.Second); err != nil {
		logs := d.logs()
		stop()
		return nil, fmt.Errorf("%w; dovecot output:\n%s", err, logs)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("dovecot log:\n%s", d.logs())
		}
		stop()
	})
	return d, nil
}

// selfSigned writes cert.pem and key.pem for 127.0.0.1 into dir and
// returns a pool that trusts the certificate.
func selfSigned(dir string) (*x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return nil, err
	}
	// Read by the master before it drops privileges.
	if err := os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool, nil
}

// TLSConfig trusts the server's certificate.
func (d *Dovecot) TLSConfig() *tls.Config {
	return &tls.Config{RootCAs: d.RootCAs, MinVersion: tls.VersionTLS12}
}

func (d *Dovecot) logs() string {
	var b strings.Builder
	for _, name := range []string{"stderr.log", "dovecot.log"} {
		out, _ := os.ReadFile(filepath.Join(d.dir, name))
		b.Write(out)
	}
	return b.String()
}

// waitReady returns once the user can log in and select the INBOX.
func (d *Dovecot) waitReady(exited <-chan struct{}, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-exited:
			return errors.New("dovecot exited before it was ready")
		default:
		}
		c, err := d.dial()
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("dovecot not ready after %s: %w", timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// dial logs in and selects the INBOX.
func (d *Dovecot) dial() (*imapclient.Client, error) {
	c, err := imapclient.DialInsecure(d.Addr, &imapclient.Options{Dialer: &net.Dialer{Timeout: 5 * time.Second}})
	if err != nil {
		return nil, err
	}
	if err := c.Login(d.User, d.Password).Wait(); err != nil {
		c.Close()
		return nil, err
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (d *Dovecot) client(t testing.TB) *imapclient.Client {
	t.Helper()
	c, err := d.dial()
	if err != nil {
		t.Fatalf("dovecot: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Deliver appends raw (a whole RFC 5322 message) to the INBOX, as the
// local delivery agent would, and returns its UID.
func (d *Dovecot) Deliver(t testing.TB, raw []byte) uint32 {
	t.Helper()
	c := d.client(t)
	cmd := c.Append("INBOX", int64(len(raw)), nil)
	if _, err := cmd.Write(raw); err != nil {
		t.Fatalf("dovecot append: %v", err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatalf("dovecot append: %v", err)
	}
	data, err := cmd.Wait()
	if err != nil {
		t.Fatalf("dovecot append: %v", err)
	}
	c.Logout().Wait()
	return uint32(data.UID)
}

// Messages lists the INBOX with each message's size and flags.
func (d *Dovecot) Messages(t testing.TB) []DovecotMessage {
	t.Helper()
	c := d.client(t)
	defer func() { c.Logout().Wait() }()
	// STATUS rather than the client's selected-mailbox state, which a
	// concurrent change (the importer flagging) may leave unset for a moment.
	st, err := c.Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil {
		t.Fatalf("dovecot status: %v", err)
	}
	if st.NumMessages == nil || *st.NumMessages == 0 {
		return nil
	}
	bufs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Flags: true, RFC822Size: true}).Collect()
	if err != nil {
		t.Fatalf("dovecot fetch: %v", err)
	}
	msgs := make([]DovecotMessage, 0, len(bufs))
	for _, b := range bufs {
		m := DovecotMessage{UID: uint32(b.UID), Size: b.RFC822Size}
		for _, f := range b.Flags {
			m.Flags = append(m.Flags, string(f))
		}
		msgs = append(msgs, m)
	}
	slices.SortFunc(msgs, func(a, b DovecotMessage) int { return int(a.UID) - int(b.UID) })
	return msgs
}
