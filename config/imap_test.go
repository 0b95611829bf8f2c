package config

import (
	"strings"
	"testing"
	"time"
)

func TestIMAPSettings(t *testing.T) {
	c, err := Load(env())
	if err != nil {
		t.Fatal(err)
	}
	if c.IMAP != nil || c.IMAPReply || c.IMAPInterval != time.Minute || c.IMAPMaxBytes != 25<<20 {
		t.Fatalf("defaults: IMAP=%+v reply=%v interval=%s max=%d", c.IMAP, c.IMAPReply, c.IMAPInterval, c.IMAPMaxBytes)
	}
	for _, tc := range []struct {
		url  string
		want IMAP
	}{
		{"imaps://jubao%40example.gov.cn:p%40ss@mail.example.gov.cn/INBOX",
			IMAP{Host: "mail.example.gov.cn", Port: 993, Username: "jubao@example.gov.cn", Password: "p@ss", Mailbox: "INBOX", TLS: "implicit"}},
		{"imap://u:p@127.0.0.1:1143/%E4%B8%BE%E6%8A%A5?tls=none",
			IMAP{Host: "127.0.0.1", Port: 1143, Username: "u", Password: "p", Mailbox: "举报", TLS: "none"}},
		{"imap://u:p@mail.example.gov.cn",
			IMAP{Host: "mail.example.gov.cn", Port: 143, Username: "u", Password: "p", Mailbox: "INBOX", TLS: "starttls"}},
	} {
		c, err := Load(env("JIANFU_IMAP_URL", tc.url, "JIANFU_IMAP_REPLY", "on", "JIANFU_IMAP_INTERVAL", "30s", "JIANFU_IMAP_MAX_MB", "40"))
		if err != nil {
			t.Fatalf("%s: %v", tc.url, err)
		}
		if *c.IMAP != tc.want || !c.IMAPReply || c.IMAPInterval != 30*time.Second || c.IMAPMaxBytes != 40<<20 {
			t.Errorf("%s: %+v reply=%v interval=%s max=%d", tc.url, *c.IMAP, c.IMAPReply, c.IMAPInterval, c.IMAPMaxBytes)
		}
	}
	for _, tc := range []struct{ name, value string }{
		{"JIANFU_IMAP_URL", "pop3://u:secret@mail"},
		{"JIANFU_IMAP_URL", "imaps://mail.example.gov.cn/INBOX"},
		{"JIANFU_IMAP_URL", "imaps://u:secret@/INBOX"},
		{"JIANFU_IMAP_URL", "imaps://u:secret@mail?tls=none"},
		{"JIANFU_IMAP_URL", "imap://u:secret@mail?tls=maybe"},
		{"JIANFU_IMAP_URL", "imap://u:secret@mail:99999"},
		{"JIANFU_IMAP_REPLY", "yes"},
		{"JIANFU_IMAP_INTERVAL", "0s"},
		{"JIANFU_IMAP_MAX_MB", "big"},
	} {
		_, err := Load(env(tc.name, tc.value))
		if err == nil {
			t.Errorf("%s=%q: accepted", tc.name, tc.value)
			continue
		}
		if !strings.HasPrefix(err.Error(), tc.name+": ") || strings.Contains(err.Error(), "secret") {
			t.Errorf("%s=%q: error %q should name the variable and not show the password", tc.name, tc.value, err)
		}
	}
}
