package config

import (
	"os"
	"strings"
	"testing"
	"time"
)

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestDefaults(t *testing.T) {
	c, err := Load(env())
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8080" || c.DataDir != "data" || !c.Embedded() || c.RedisURL != "" || c.SMTP != nil {
		t.Errorf("defaults: %+v", c)
	}
	if c.BaseURL != "http://127.0.0.1:8080" || c.DigestCron != "0 9 * * 1" || c.MaxFiles != 5 || c.MaxFileBytes != 10<<20 {
		t.Errorf("defaults: %+v", c)
	}
	if c.Deadlines.Verify.Workdays != 15 || c.Deadlines.Evaluation.Days != 10 {
		t.Errorf("deadlines: %+v", c.Deadlines)
	}
	if c.RateLimits.Off || c.RateLimits.Submit.Count == 0 {
		t.Errorf("rate limits: %+v", c.RateLimits)
	}
}

func TestBadSettingsNameTheVariable(t *testing.T) {
	for _, tc := range []struct{ name, value string }{
		{"JIANFU_DATABASE_URL", "postgres://x@y/z"},
		{"JIANFU_DATABASE_URL", "mysql://"},
		{"JIANFU_REDIS_URL", "http://127.0.0.1:6379"},
		{"JIANFU_SMTP_URL", "smtp://relay:25?tls=maybe"},
		{"JIANFU_SMTP_URL", "ftp://relay"},
		{"JIANFU_SECRET_KEY", "c2hvcnQ="},
		{"JIANFU_DEADLINES", "verify=15x"},
		{"JIANFU_DEADLINES", "lunch=1h"},
		{"JIANFU_DIGEST_CRON", "every monday"},
		{"JIANFU_RATE_LIMITS", "submit=many"},
		{"JIANFU_LOG_FORMAT", "xml"},
		{"JIANFU_MAX_FILES", "0"},
		{"JIANFU_MAX_FILE_MB", "-3"},
		{"JIANFU_BASE_URL", "jianfu.example"},
		{"JIANFU_POLL_INTERVAL", "soon"},
	} {
		_, err := Load(env(tc.name, tc.value))
		if err == nil {
			t.Errorf("%s=%q: accepted", tc.name, tc.value)
			continue
		}
		if !strings.HasPrefix(err.Error(), tc.name+": ") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s=%q: error %q should be one line starting with the variable", tc.name, tc.value, err)
		}
	}
}

func TestSMTPURL(t *testing.T) {
	c, err := Load(env("JIANFU_SMTP_URL", "smtp://u%40x:p%3Aw@mail.example.gov.cn:2525?tls=none"))
	if err != nil {
		t.Fatal(err)
	}
	want := SMTP{Host: "mail.example.gov.cn", Port: 2525, Username: "u@x", Password: "p:w", TLS: "none"}
	if *c.SMTP != want {
		t.Errorf("got %+v, want %+v", *c.SMTP, want)
	}
	c, _ = Load(env("JIANFU_SMTP_URL", "smtps://relay"))
	if c.SMTP.TLS != "implicit" || c.SMTP.Port != 465 {
		t.Errorf("smtps default: %+v", *c.SMTP)
	}
}

func TestRateLimitsFormat(t *testing.T) {
	rl, err := ParseRateLimits("submit=5/1m")
	if err != nil {
		t.Fatal(err)
	}
	if rl.Submit != (Rate{Count: 5, Period: time.Minute}) || rl.Lookup.Count == 0 {
		t.Errorf("partial override should keep other defaults: %+v", rl)
	}
	if rl, _ := ParseRateLimits("off"); !rl.Off {
		t.Error("off not honoured")
	}
}

func TestConfigFileAndEnvPrecedence(t *testing.T) {
	path := t.TempDir() + "/jianfu.env"
	if err := writeFile(path, "# comment\nJIANFU_ADDR=0.0.0.0:9000\nJIANFU_LOG_FORMAT=json\n"); err != nil {
		t.Fatal(err)
	}
	c, err := Load(env("JIANFU_CONFIG", path, "JIANFU_LOG_FORMAT", "text"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "0.0.0.0:9000" || c.LogFormat != "text" {
		t.Errorf("file value or env precedence wrong: addr=%s format=%s", c.Addr, c.LogFormat)
	}
}

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o600) }
