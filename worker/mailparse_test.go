package worker

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/png"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/emersion/go-imap/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
)

var testLimits = mailLimits{maxFiles: 5, maxFileBytes: 1 << 20}

func crlfMail(s string) []byte {
	return []byte(strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n"))
}

func tinyPNG(t testing.TB) string {
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 2, 2))); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

// checkTip asserts what CreateTip's validation needs of an imported mail.
func checkTip(t testing.TB, m *inMail) {
	t.Helper()
	in := m.tipInput("ref")
	n := utf8.RuneCountInString(in.Content)
	if n < 10 || n > maxContent || !utf8.ValidString(in.Content) || utf8.RuneCountInString(in.Title) > 100 ||
		!utf8.ValidString(in.Title) || strings.ContainsAny(in.Content+in.Title, "\x00\r\u202e") {
		t.Fatalf("tip input out of bounds: title %q, content of %d runes %q", in.Title, n, in.Content)
	}
}

func TestReadMail(t *testing.T) {
	gbkBody, _ := simplifiedchinese.GBK.NewEncoder().String("县直部门要求乡镇每周填报同一张表格三次。")
	attachments := ""
	for i := range 6 {
		attachments += fmt.Sprintf("--B\nContent-Type: image/png\nContent-Disposition: attachment; filename=\"p%d.png\"\nContent-Transfer-Encoding: base64\n\n%s\n", i, tinyPNG(t))
	}
	for _, tc := range []struct {
		name string
		raw  string
		env  *imap.Envelope
		// want in the tip's content, and whether the mail is a problem
		want    []string
		not     []string
		problem bool
		files   int
		anon    bool
	}{
		{name: "GBK declared as UTF-8", raw: "From: a@example.com\nContent-Type: text/plain; charset=utf-8\n\n" + gbkBody,
			want: []string{"同一张表格三次"}},
		{name: "forwarded mail", raw: "From: a@example.com\nContent-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: text/plain\n\n请看转发的通知。\n--B\nContent-Type: message/rfc822\n\nFrom: boss@example.gov.cn\nSubject: =?UTF-8?B?5pS25Yiw?=\n\n各乡镇每天上报打卡截图，不得遗漏。\n--B--\n",
			want: []string{"请看转发的通知", "转发的邮件", "主题：收到", "各乡镇每天上报打卡截图"}},
		{name: "forwarded as attachment", raw: "From: a@example.com\nContent-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: text/plain\n\n见附件中的原通知。\n--B\nContent-Type: message/rfc822\nContent-Disposition: attachment; filename=\"tz.eml\"\n\nFrom: boss@example.gov.cn\nSubject: tz\n\n各乡镇每天上报打卡截图，不得遗漏。\n--B--\n",
			want: []string{"转发的邮件", "各乡镇每天上报打卡截图"}},
		{name: "six photos", raw: "From: a@example.com\nContent-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: text/plain\n\n六张现场照片，请查收。\n" + attachments + "--B--\n",
			want: []string{"附件“p5.png”超过每条线索 5 个附件的上限"}, files: 5},
		{name: "unreadable header", raw: "this is not a header\n\nbody", env: &imap.Envelope{Subject: "服务器解析的主题", MessageID: "x@y",
			From: []imap.Address{{Mailbox: "a", Host: "example.com"}}},
			want: []string{"邮件头无法解析"}, problem: true},
		{name: "no boundary", raw: "From: a@example.com\nContent-Type: multipart/mixed\n\n--B\nhello\n",
			want: []string{"缺少分隔符"}, problem: true},
		{name: "unknown charset", raw: "From: a@example.com\nContent-Type: text/plain; charset=x-martian\n\n县里检查太多了，一个月来了九次。",
			want: []string{"字符集“x-martian”无法识别", "一个月来了九次"}, problem: true},
		{name: "too long", raw: "From: a@example.com\n\n" + strings.Repeat("材料", 3500),
			want: []string{"正文过长"}},
		{name: "empty", raw: "From: a@example.com\nSubject: hi\n\n", want: []string{"邮件正文为空或过短"}},
		{name: "bad sender", raw: "From: not an address\n\n镇里每天要求报送三次数据，重复劳动。", want: []string{"发件人地址无法识别"},
			problem: true, anon: true},
		{name: "control characters", raw: "From: a@example.com\nContent-Type: text/plain; charset=utf-8\n\n检查\x00太多\u202e了，一个月来了九次。\x1b[31m",
			want: []string{"检查太多了，一个月来了九次。[31m"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := readMail(crlfMail(tc.raw), testLimits, tc.env, false)
			in := m.tipInput("ref")
			for _, w := range tc.want {
				if !strings.Contains(in.Content, w) {
					t.Errorf("content lacks %q:\n%s", w, in.Content)
				}
			}
			if (len(m.problems) > 0) != tc.problem || len(in.Files) != tc.files || in.Anonymous != tc.anon {
				t.Errorf("problems %v, files %d, anonymous %v", m.problems, len(in.Files), in.Anonymous)
			}
			checkTip(t, m)
		})
	}
}

// FuzzReadMail: whatever arrives, reading it neither panics nor yields a
// tip that validation would refuse.
func FuzzReadMail(f *testing.F) {
	f.Add([]byte("From: a@example.com\r\nSubject: =?GB2312?B?1tC5+g==?=\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/html\r\n\r\n<p>x</p>\r\n--B\r\nContent-Type: message/rfc822\r\n\r\nSubject: y\r\n\r\nz\r\n--B--\r\n"))
	f.Add([]byte("From: \"=?utf-8?q?=E5=BC=A0?=\" <a@b.c>\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=E5=BC=A0=\r\n"))
	f.Add([]byte("Content-Type: multipart/alternative; boundary=\"a\"\r\n\r\n--a\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		checkTip(t, readMail(raw, testLimits, nil, false))
		checkTip(t, readMail(raw, testLimits, nil, true))
	})
}
