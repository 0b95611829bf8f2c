package api_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"jianfu/models"
	"jianfu/testenv"
)

// TestStaffEntry: the office takes a phone call, enters the tip and reads
// the receipt to the caller, who can then follow it like a web tipster;
// the contact is stored encrypted and revealed only on request. Every bad
// entry is refused with the field named, and stores nothing.
func TestStaffEntry(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			w := newCounty(t, b, wfDeadlines)
			received := time.Now().Add(-2 * time.Hour).Truncate(time.Second)
			res := w.do("office", http.MethodPost, "/api/v1/cases", map[string]any{
				"channel": "phone", "received_at": received.Format(time.RFC3339), "want_receipt": true,
				"category": "meetings_documents", "township": "T1", "title": "周末开会",
				"content": "来电反映：镇里连续三个周末召开视频会议，要求村干部全员在线签到。",
				"contact": map[string]string{"name": "李四", "phone": "13900001111"},
			}, http.StatusCreated)
			receipt, _ := res.Body["receipt"].(string)
			if !regexp.MustCompile(`^\d{16}$`).MatchString(receipt) {
				t.Fatalf("receipt %q, want 16 digits to read to the caller", receipt)
			}
			id := uint64(res.Body["id"].(float64))

			d := w.detail("office", id)
			if d.Channel != models.ChannelPhone || d.Stage != models.StageCollect || d.Anonymous == nil || *d.Anonymous {
				t.Errorf("case: channel %q stage %q anonymous %v", d.Channel, d.Stage, d.Anonymous)
			}
			if d.ReceivedAt == nil || !d.ReceivedAt.Equal(received) {
				t.Errorf("received_at %v, want %v", d.ReceivedAt, received)
			}
			if len(d.Timeline) == 0 || d.Timeline[0].Actor != "office1" {
				t.Errorf("the first event should name who entered the tip: %+v", d.Timeline)
			}
			// The caller follows the tip with the receipt read to them.
			l := w.lookup(receipt)
			first := l.Body["timeline"].([]any)[0].(map[string]any)
			if l.Body["stage"] != models.StageCollect || !strings.Contains(first["text"].(string), "电话") {
				t.Errorf("lookup: %s", l.Raw)
			}
			// The contact is sealed at rest and revealed to the office only.
			var enc []byte
			if err := w.a.DB(t).Raw("SELECT contact_enc FROM tips JOIN cases ON cases.tip_id = tips.id WHERE cases.id = ?", id).
				Row().Scan(&enc); err != nil {
				t.Fatal(err)
			}
			if len(enc) == 0 || strings.Contains(string(enc), "13900001111") || strings.Contains(string(enc), "李四") {
				t.Errorf("contact stored as %q", enc)
			}
			rv := w.do("office", http.MethodPost, "/api/v1/cases/"+itoa(id)+"/contact-reveal",
				map[string]string{"reason": "回访来电人"}, http.StatusOK)
			if !strings.Contains(string(rv.Raw), "13900001111") {
				t.Errorf("reveal: %s", rv.Raw)
			}

			// A visitor who leaves no name: anonymous, no receipt asked for.
			res = w.do("office", http.MethodPost, "/api/v1/cases", map[string]any{
				"channel": "visit", "category": "digital",
				"content": "来访反映：政务App每天要求截图打卡，否则通报。"}, http.StatusCreated)
			if _, ok := res.Body["receipt"]; ok {
				t.Errorf("a receipt nobody asked for: %s", res.Raw)
			}
			d = w.detail("office", uint64(res.Body["id"].(float64)))
			if d.Channel != models.ChannelVisit || d.Anonymous == nil || !*d.Anonymous || d.ReceivedAt == nil {
				t.Errorf("visit: channel %q anonymous %v received %v", d.Channel, d.Anonymous, d.ReceivedAt)
			}

			before := caseCount(t, w)
			good := func() map[string]any {
				return map[string]any{"channel": "letter", "category": "digital",
					"content": "来信反映：同一组数据要在三个系统重复录入。"}
			}
			for _, c := range []struct {
				name, field string
				edit        func(m map[string]any)
			}{
				{"web is not a staff channel", "channel", func(m map[string]any) { m["channel"] = "web" }},
				{"no channel", "channel", func(m map[string]any) { delete(m, "channel") }},
				{"unknown channel", "channel", func(m map[string]any) { m["channel"] = "fax" }},
				{"received tomorrow", "received_at", func(m map[string]any) {
					m["received_at"] = time.Now().Add(24 * time.Hour).Format(time.RFC3339)
				}},
				{"received two years ago", "received_at", func(m map[string]any) {
					m["received_at"] = time.Now().AddDate(-2, 0, 0).Format(time.RFC3339)
				}},
				{"received garbled", "received_at", func(m map[string]any) { m["received_at"] = "昨天下午" }},
				{"content too short", "content", func(m map[string]any) { m["content"] = "太多会" }},
				{"real name without contact", "contact.name", func(m map[string]any) { m["anonymous"] = false }},
				{"bad phone", "contact.phone", func(m map[string]any) {
					m["contact"] = map[string]string{"name": "王五", "phone": "12345"}
				}},
				{"unknown field", "ip", func(m map[string]any) { m["ip"] = "10.0.0.1" }},
			} {
				m := good()
				c.edit(m)
				res := w.c["office"].JSON(t, http.MethodPost, "/api/v1/cases", m)
				fields, _ := res.Body["error"].(map[string]any)["fields"].(map[string]any)
				if res.Status != http.StatusBadRequest || fields[c.field] == nil {
					t.Errorf("%s: %d %s, want 400 naming %s", c.name, res.Status, res.Raw, c.field)
				}
			}
			for _, who := range []string{"leader", "liaison-t1"} {
				if res := w.c[who].JSON(t, http.MethodPost, "/api/v1/cases", good()); res.Status != http.StatusForbidden {
					t.Errorf("%s entered a tip: %d %s", who, res.Status, res.Raw)
				}
			}
			if n := caseCount(t, w); n != before {
				t.Errorf("refused entries stored %d cases", n-before)
			}
		})
	}
}

func caseCount(t *testing.T, w *wfCounty) int64 {
	t.Helper()
	var n int64
	if err := w.a.DB(t).Model(&models.Case{}).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}
