package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"jianfu/testenv"
	"jianfu/worker"
)

// TestServeImportsMailbox: `jianfu serve` with JIANFU_IMAP_URL polls the
// 举报信箱 on its own, imports a mail and counts it in /metrics.
func TestServeImportsMailbox(t *testing.T) {
	dc := testenv.StartDovecot(t)
	dc.Deliver(t, []byte("From: =?UTF-8?B?5byg5LiJ?= <zhangsan@example.com>\r\nSubject: =?UTF-8?B?5omT5Y2h?=\r\n"+
		"Message-ID: <serve-1@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"+
		"每天要在五个政务App上打卡签到，数据还要重复录入。\r\n"))
	dir := t.TempDir()
	addr := freeAddr(t)
	p := start(t, dir, []string{"JIANFU_ADDR=" + addr, "JIANFU_IMAP_URL=" + dc.URL, "JIANFU_IMAP_INTERVAL=200ms"}, "serve")
	waitHTTP(t, "http://"+addr+"/readyz", 30*time.Second, p)
	deadline := time.Now().Add(30 * time.Second)
	for {
		msgs := dc.Messages(t)
		if len(msgs) == 1 && msgs[0].Has(worker.FlagImported) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the mail was not imported within 30s: %+v\nstderr: %s", msgs, p.stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
	res, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(body), `jianfu_mailbox_messages_total{outcome="imported"} 1`) {
		t.Errorf("/metrics does not count the imported mail:\n%s", body)
	}
	p.stop(t)
}
