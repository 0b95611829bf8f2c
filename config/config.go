// Package config reads Jianfu's settings from JIANFU_* environment variables
// (and an optional file), validates them once at start and hands one struct
// to everything else.
package config

import (
	"bufio"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"jianfu/models"
)

// Config is every setting of a Jianfu process. Each field names its variable
// and default.
type Config struct {
	// Addr is JIANFU_ADDR, the listen address (default 127.0.0.1:8080).
	Addr string
	// DataDir is JIANFU_DATA_DIR (default ./data): SQLite file, generated
	// key, mail outbox in the embedded mode.
	DataDir string
	// DatabaseURL is JIANFU_DATABASE_URL: empty means SQLite in DataDir,
	// mysql://user:pass@host:3306/db for MySQL, MariaDB and TiDB.
	DatabaseURL string
	// RedisURL is JIANFU_REDIS_URL: empty means an in-process Redis;
	// redis://, rediss://, redis-sentinel:// or redis-cluster://.
	RedisURL string
	// SMTP is JIANFU_SMTP_URL: nil means .eml files under DataDir/outbox.
	SMTP *SMTP
	// MailFrom is JIANFU_MAIL_FROM (default "减负直通车 <jianfu@localhost>").
	MailFrom string
	// BaseURL is JIANFU_BASE_URL, the absolute URL in email links
	// (default http:// + Addr).
	BaseURL string
	// SecretKey is JIANFU_SECRET_KEY (base64 of 32 bytes); empty means a key
	// generated once under DataDir.
	SecretKey []byte
	// Deadlines is JIANFU_DEADLINES (default models.DefaultDeadlines).
	Deadlines models.Deadlines
	// DigestCron is JIANFU_DIGEST_CRON (default "0 9 * * 1", Asia/Shanghai).
	DigestCron string
	// RateLimits is JIANFU_RATE_LIMITS (see ParseRateLimits).
	RateLimits RateLimits
	// LogFormat is JIANFU_LOG_FORMAT: text (default) or json.
	LogFormat string
	// LogLevel is JIANFU_LOG_LEVEL: debug, info (default), warn or error.
	LogLevel string
	// MaxFiles is JIANFU_MAX_FILES, attachments per upload (default 5).
	MaxFiles int
	// MaxFileBytes is JIANFU_MAX_FILE_MB, the size limit of one attachment
	// in MiB (default 10).
	MaxFileBytes int64
	// TrustedProxies is JIANFU_TRUSTED_PROXIES, comma-separated CIDRs whose
	// X-Forwarded-For is believed (default none).
	TrustedProxies []string
	// PollInterval is JIANFU_POLL_INTERVAL, how often the outbox relay and
	// asynq's forwarder look for due work (default 2s).
	PollInterval time.Duration
	// NoticeBatchDelay is JIANFU_NOTICE_BATCH_DELAY (default 1m): how long
	// a person's first reminder or overdue notice of a day waits for the
	// rest of its burst before the day's one batched mail goes out.
	NoticeBatchDelay time.Duration
	// IMAP is JIANFU_IMAP_URL: the 举报信箱 whose new mails the worker
	// imports as tips (nil: no mailbox intake). See docs/mailbox.md.
	IMAP *IMAP
	// IMAPReply is JIANFU_IMAP_REPLY: on answers each imported mail's
	// sender with the receipt (default off).
	IMAPReply bool
	// IMAPInterval is JIANFU_IMAP_INTERVAL, how often the mailbox is
	// polled (default 1m).
	IMAPInterval time.Duration
	// IMAPMaxBytes is JIANFU_IMAP_MAX_MB, in MiB (default 25): a larger
	// mail becomes a tip from its headers alone, marked for the office.
	IMAPMaxBytes int64
	// FileKeys is JIANFU_FILE_KEYS, attachment keys beside the one derived
	// from SecretKey, by id (default none; see ParseFileKeys).
	FileKeys map[int][]byte
	// Retention is JIANFU_RETENTION (default contact=365d).
	Retention Retention
	// TokenTTL is JIANFU_TOKEN_TTL (default 90d): the default and maximum
	// lifetime of an API token.
	TokenTTL time.Duration
	// SessionIdle is JIANFU_SESSION_IDLE (default 30m): a console session
	// unused this long ends (12 h at most in any case).
	SessionIdle time.Duration
	// Require2FA is JIANFU_REQUIRE_2FA (default "admin,auditor"): the roles
	// that must use a second factor; "none" for none.
	Require2FA []string
	// AuditRetention is JIANFU_AUDIT_RETENTION (default 365d, at least
	// 180d): how long audit log rows are kept.
	AuditRetention time.Duration
	// MetricsAddr is JIANFU_METRICS_ADDR: when set, /metrics is served
	// there; when empty, the main listener answers /metrics to loopback
	// clients only.
	MetricsAddr string
}

// IMAP is the parsed JIANFU_IMAP_URL.
type IMAP struct {
	Host     string
	Port     int
	Username string
	Password string
	// Mailbox is the folder to import from (default INBOX).
	Mailbox string
	// TLS is "implicit" (imaps://), "starttls" (imap:// default) or "none".
	TLS string
}

// SMTP is the parsed JIANFU_SMTP_URL.
type SMTP struct {
	Host     string
	Port     int
	Username string
	Password string
	// TLS is "starttls", "implicit" or "none".
	TLS string
}

// Embedded reports whether the database is the SQLite file in DataDir.
func (c *Config) Embedded() bool { return c.DatabaseURL == "" }

// Variables lists every variable Config reads; deployment files may use no
// other JIANFU_* name.
var Variables = []string{
	"JIANFU_CONFIG", "JIANFU_ADDR", "JIANFU_DATA_DIR", "JIANFU_DATABASE_URL",
	"JIANFU_REDIS_URL", "JIANFU_SMTP_URL", "JIANFU_MAIL_FROM", "JIANFU_BASE_URL",
	"JIANFU_SECRET_KEY", "JIANFU_DEADLINES", "JIANFU_DIGEST_CRON",
	"JIANFU_RATE_LIMITS", "JIANFU_LOG_FORMAT", "JIANFU_LOG_LEVEL",
	"JIANFU_MAX_FILES", "JIANFU_MAX_FILE_MB", "JIANFU_TRUSTED_PROXIES",
	"JIANFU_POLL_INTERVAL", "JIANFU_NOTICE_BATCH_DELAY",
	"JIANFU_IMAP_URL", "JIANFU_IMAP_REPLY", "JIANFU_IMAP_INTERVAL", "JIANFU_IMAP_MAX_MB",
	"JIANFU_FILE_KEYS", "JIANFU_RETENTION",
	"JIANFU_TOKEN_TTL", "JIANFU_SESSION_IDLE", "JIANFU_REQUIRE_2FA", "JIANFU_AUDIT_RETENTION",
	"JIANFU_METRICS_ADDR",
}

// Load reads the settings from getenv (os.Getenv in main). JIANFU_CONFIG
// may name a file of KEY=VALUE lines; the environment wins over the file.
// The error names the variable at fault.
func Load(getenv func(string) string) (*Config, error) {
	vals := map[string]string{}
	if path := getenv("JIANFU_CONFIG"); path != "" {
		file, err := readFile(path)
		if err != nil {
			return nil, fmt.Errorf("JIANFU_CONFIG: %w", err)
		}
		vals = file
	}
	for _, name := range Variables {
		if v := getenv(name); v != "" {
			vals[name] = v
		}
	}
	get := func(name, def string) string {
		if v := strings.TrimSpace(vals[name]); v != "" {
			return v
		}
		return def
	}

	c := &Config{
		Addr:        get("JIANFU_ADDR", "127.0.0.1:8080"),
		DataDir:     get("JIANFU_DATA_DIR", "./data"),
		DatabaseURL: get("JIANFU_DATABASE_URL", ""),
		RedisURL:    get("JIANFU_REDIS_URL", ""),
		MailFrom:    get("JIANFU_MAIL_FROM", "减负直通车 <jianfu@localhost>"),
		DigestCron:  get("JIANFU_DIGEST_CRON", "0 9 * * 1"),
		LogFormat:   get("JIANFU_LOG_FORMAT", "text"),
		LogLevel:    get("JIANFU_LOG_LEVEL", "info"),
	}
	c.BaseURL = strings.TrimRight(get("JIANFU_BASE_URL", "http://"+c.Addr), "/")

	var errs []error
	bad := func(name string, err error) { errs = append(errs, fmt.Errorf("%s: %w", name, err)) }

	if c.DatabaseURL != "" {
		if err := checkURL(c.DatabaseURL, "mysql"); err != nil {
			bad("JIANFU_DATABASE_URL", err)
		}
	}
	if c.RedisURL != "" {
		if err := checkURL(c.RedisURL, "redis", "rediss", "redis-sentinel", "redis-cluster"); err != nil {
			bad("JIANFU_REDIS_URL", err)
		}
	}
	if s := get("JIANFU_SMTP_URL", ""); s != "" {
		smtp, err := parseSMTP(s)
		if err != nil {
			bad("JIANFU_SMTP_URL", err)
		}
		c.SMTP = smtp
	}
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("JIANFU_BASE_URL", errors.New("want an absolute http(s) URL"))
	}
	if s := get("JIANFU_SECRET_KEY", ""); s != "" {
		key, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(key) != 32 {
			bad("JIANFU_SECRET_KEY", errors.New("want base64 of exactly 32 bytes (openssl rand -base64 32)"))
		}
		c.SecretKey = key
	}
	d, err := models.ParseDeadlines(get("JIANFU_DEADLINES", models.DefaultDeadlines))
	if err != nil {
		bad("JIANFU_DEADLINES", err)
	}
	c.Deadlines = d
	if fields := strings.Fields(c.DigestCron); len(fields) != 5 {
		bad("JIANFU_DIGEST_CRON", errors.New("want 5 cron fields, e.g. \"0 9 * * 1\""))
	}
	rl, err := ParseRateLimits(get("JIANFU_RATE_LIMITS", DefaultRateLimits))
	if err != nil {
		bad("JIANFU_RATE_LIMITS", err)
	}
	c.RateLimits = rl
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("JIANFU_LOG_FORMAT", errors.New("want text or json"))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("JIANFU_LOG_LEVEL", errors.New("want debug, info, warn or error"))
	}
	if c.MaxFiles, err = positiveInt(get("JIANFU_MAX_FILES", "5")); err != nil {
		bad("JIANFU_MAX_FILES", err)
	}
	mb, err := positiveInt(get("JIANFU_MAX_FILE_MB", "10"))
	if err != nil {
		bad("JIANFU_MAX_FILE_MB", err)
	}
	c.MaxFileBytes = int64(mb) << 20
	if s := get("JIANFU_TRUSTED_PROXIES", ""); s != "" {
		c.TrustedProxies = strings.Split(s, ",")
	}
	if c.PollInterval, err = time.ParseDuration(get("JIANFU_POLL_INTERVAL", "2s")); err != nil || c.PollInterval <= 0 {
		bad("JIANFU_POLL_INTERVAL", errors.New("want a positive Go duration such as 2s"))
	}
	if c.NoticeBatchDelay, err = time.ParseDuration(get("JIANFU_NOTICE_BATCH_DELAY", "1m")); err != nil || c.NoticeBatchDelay <= 0 {
		bad("JIANFU_NOTICE_BATCH_DELAY", errors.New("want a positive Go duration such as 1m"))
	}
	if s := get("JIANFU_IMAP_URL", ""); s != "" {
		if c.IMAP, err = parseIMAP(s); err != nil {
			bad("JIANFU_IMAP_URL", err)
		}
	}
	switch get("JIANFU_IMAP_REPLY", "off") {
	case "on":
		c.IMAPReply = true
	case "off":
	default:
		bad("JIANFU_IMAP_REPLY", errors.New("want on or off"))
	}
	if c.IMAPInterval, err = time.ParseDuration(get("JIANFU_IMAP_INTERVAL", "1m")); err != nil || c.IMAPInterval <= 0 {
		bad("JIANFU_IMAP_INTERVAL", errors.New("want a positive Go duration such as 1m"))
	}
	imapMB, err := positiveInt(get("JIANFU_IMAP_MAX_MB", "25"))
	if err != nil {
		bad("JIANFU_IMAP_MAX_MB", err)
	}
	c.IMAPMaxBytes = int64(imapMB) << 20
	if c.FileKeys, err = ParseFileKeys(get("JIANFU_FILE_KEYS", "")); err != nil {
		bad("JIANFU_FILE_KEYS", err)
	}
	if c.Retention, err = ParseRetention(get("JIANFU_RETENTION", DefaultRetention)); err != nil {
		bad("JIANFU_RETENTION", err)
	}
	if c.TokenTTL, err = parseDays(get("JIANFU_TOKEN_TTL", "90d")); err != nil || c.TokenTTL < time.Minute {
		bad("JIANFU_TOKEN_TTL", errors.New("want a lifetime such as 90d or 720h, at least 1m"))
	}
	if c.SessionIdle, err = parseDays(get("JIANFU_SESSION_IDLE", "30m")); err != nil || c.SessionIdle < time.Minute || c.SessionIdle > 12*time.Hour {
		bad("JIANFU_SESSION_IDLE", errors.New("want a duration from 1m to 12h, such as 30m"))
	}
	if v := get("JIANFU_REQUIRE_2FA", "admin,auditor"); v != "none" {
		for _, r := range strings.Split(v, ",") {
			switch r = strings.TrimSpace(r); r {
			case models.RoleAdmin, models.RoleOffice, models.RoleLeader, models.RoleLiaison, models.RoleAuditor:
				c.Require2FA = append(c.Require2FA, r)
			default:
				bad("JIANFU_REQUIRE_2FA", fmt.Errorf("%q is not a role (admin, office, leader, liaison, auditor) or none", r))
			}
		}
	}
	if c.AuditRetention, err = parseDays(get("JIANFU_AUDIT_RETENTION", "365d")); err != nil || c.AuditRetention < 180*24*time.Hour {
		bad("JIANFU_AUDIT_RETENTION", errors.New("want a duration of at least 180d, such as 365d"))
	}
	c.MetricsAddr = get("JIANFU_METRICS_ADDR", "")
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	c.DataDir = filepath.Clean(c.DataDir)
	return c, nil
}

// parseDays reads "90d" as days, anything else as a Go duration.
func parseDays(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		d, err := strconv.Atoi(n)
		if err != nil || d <= 0 || d > 100*365 {
			return 0, fmt.Errorf("bad number of days %q", s)
		}
		return time.Duration(d) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

// AuthPolicy is the credential part of the settings, as the store takes it.
func (c *Config) AuthPolicy() models.AuthPolicy {
	return models.AuthPolicy{SessionIdle: c.SessionIdle, TokenTTL: c.TokenTTL, Require2FA: c.Require2FA}
}

func positiveInt(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("want a positive whole number, got %q", s)
	}
	return n, nil
}

func checkURL(s string, schemes ...string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("not a URL: %v", redact(err))
	}
	for _, scheme := range schemes {
		if u.Scheme == scheme {
			if u.Host == "" {
				return errors.New("the URL has no host")
			}
			return nil
		}
	}
	return fmt.Errorf("scheme %q is not one of %s", u.Scheme, strings.Join(schemes, ", "))
}

// redact keeps passwords in URLs out of error messages.
func redact(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

func parseSMTP(s string) (*SMTP, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("not a URL: %v", redact(err))
	}
	if u.Scheme != "smtp" && u.Scheme != "smtps" {
		return nil, fmt.Errorf("scheme %q is not smtp or smtps", u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, errors.New("the URL has no host")
	}
	m := &SMTP{Host: u.Hostname(), TLS: "starttls", Port: 587}
	if u.Scheme == "smtps" {
		m.TLS, m.Port = "implicit", 465
	}
	if p := u.Port(); p != "" {
		if m.Port, err = strconv.Atoi(p); err != nil {
			return nil, fmt.Errorf("bad port %q", p)
		}
	}
	if u.User != nil {
		m.Username = u.User.Username()
		m.Password, _ = u.User.Password()
	}
	if t := u.Query().Get("tls"); t != "" {
		switch t {
		case "starttls", "implicit", "none":
			m.TLS = t
		default:
			return nil, fmt.Errorf("tls=%q is not starttls, implicit or none", t)
		}
	}
	return m, nil
}

// parseIMAP reads imaps://user:pass@host[:993][/MAILBOX] or
// imap://user:pass@host[:143][/MAILBOX][?tls=starttls|none].
func parseIMAP(s string) (*IMAP, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("not a URL: %v", redact(err))
	}
	m := &IMAP{Host: u.Hostname(), TLS: "starttls", Port: 143}
	switch u.Scheme {
	case "imaps":
		m.TLS, m.Port = "implicit", 993
	case "imap":
	default:
		return nil, fmt.Errorf("scheme %q is not imaps or imap", u.Scheme)
	}
	if m.Host == "" {
		return nil, errors.New("the URL has no host")
	}
	if p := u.Port(); p != "" {
		if m.Port, err = strconv.Atoi(p); err != nil || m.Port <= 0 || m.Port > 65535 {
			return nil, fmt.Errorf("bad port %q", p)
		}
	}
	if u.User == nil || u.User.Username() == "" {
		return nil, errors.New("the URL has no user name (imaps://user:password@host/INBOX)")
	}
	m.Username = u.User.Username()
	m.Password, _ = u.User.Password()
	m.Mailbox = strings.Trim(u.Path, "/")
	if m.Mailbox == "" {
		m.Mailbox = "INBOX"
	}
	if t := u.Query().Get("tls"); t != "" {
		switch {
		case u.Scheme == "imap" && (t == "starttls" || t == "none"):
			m.TLS = t
		case u.Scheme == "imaps" && t == "implicit":
		default:
			return nil, fmt.Errorf("tls=%q is not starttls or none (imap://) or implicit (imaps://)", t)
		}
	}
	return m, nil
}

// readFile parses KEY=VALUE lines; blank lines and # comments are skipped.
func readFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	vals := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || !strings.HasPrefix(k, "JIANFU_") {
			return nil, fmt.Errorf("%s line %d: want JIANFU_NAME=value", path, n)
		}
		vals[k] = strings.Trim(strings.TrimSpace(v), `"`)
	}
	return vals, sc.Err()
}
