package worker_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"log/slog"
	"mime"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"jianfu/apptest"
	"jianfu/models"
	"jianfu/testenv"
	"jianfu/worker"
)

// mailTip is an imported tip as the database holds it.
type mailTip struct {
	CaseID    uint64
	Title     string
	Content   string
	Anonymous bool
}

func mailboxTips(t *testing.T, app *apptest.App) []mailTip {
	t.Helper()
	var rows []mailTip
	err := app.DB(t).Table("tips").Select("cases.id AS case_id, tips.title, tips.content, tips.anonymous").
		Joins("JOIN cases ON cases.tip_id = tips.id").Where("tips.channel = ?", models.ChannelMailbox).
		Order("tips.id").Scan(&rows).Error
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func newMailbox(t *testing.T, app *apptest.App, reply bool) *worker.Mailbox {
	return worker.NewMailbox(worker.MailboxParams{Store: app.Store, IMAP: app.Config.IMAP, Mailer: app.Mailer,
		Reply: reply, BaseURL: app.Config.BaseURL, MailFrom: app.Config.MailFrom, MaxBytes: app.Config.IMAPMaxBytes,
		MaxFiles: app.Config.MaxFiles, MaxFileBytes: app.Config.MaxFileBytes,
		Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
}

// b64 wraps base64 at 76 columns, as mailers do.
func b64(data []byte) string {
	s := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	return b.String() + s + "\r\n"
}

func gbk(t *testing.T, s string) []byte {
	t.Helper()
	out, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// photoWithGPS is a real JPEG carrying an EXIF segment with a position.
func photoWithGPS(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 16, 16))
	for i := range 16 {
		img.Set(i, i, color.RGBA{200, 30, 30, 255})
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	exif := []byte("Exif\x00\x00GPS-SECRET 30.2741N 120.1551E")
	seg := append([]byte{0xFF, 0xE1, byte((len(exif) + 2) >> 8), byte(len(exif) + 2)}, exif...)
	out := append([]byte{}, buf.Bytes()[:2]...)
	return append(append(out, seg...), buf.Bytes()[2:]...)
}

// crlf turns a readable template into a mail's line ends.
func crlf(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
}

// TestMailboxIntake: mails sent to the 举报信箱 become tips exactly once,
// also when the worker dies between a tip's commit and the flagging of
// its message; a GBK mail reads right, its photo loses its position, an
// .exe is refused with a note; a 30 MB mail and a mail with a broken MIME
// body become tips marked for the office, never lost and never retried
// forever; every sender but an auto-responder gets one receipt.
func TestMailboxIntake(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			dc := testenv.StartDovecot(t)
			app := apptest.Start(t, apptest.Options{Backend: b, Mailpit: true, NoWorker: true,
				Env: map[string]string{"JIANFU_IMAP_URL": dc.URL, "JIANFU_IMAP_REPLY": "on"}})
			ctx := context.Background()
			enc := func(s string) string { return mime.BEncoding.Encode("UTF-8", s) }

			// A: GB2312 headers and body, a photo with GPS, an .exe.
			photo := photoWithGPS(t)
			gbWord := func(s string) string { return "=?GB2312?B?" + base64.StdEncoding.EncodeToString(gbk(t, s)) + "?=" }
			mailA := crlf(fmt.Sprintf(`From: %s <zhangsan@example.com>
To: jubao@example.gov.cn
Subject: %s
Message-ID: <a-1@example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="XX"

--XX
Content-Type: text/plain; charset=GB2312
Content-Transfer-Encoding: base64

%s
--XX
Content-Type: image/jpeg; name="p.jpg"
Content-Disposition: attachment; filename="%s"
Content-Transfer-Encoding: base64

%s
--XX
Content-Type: application/octet-stream
Content-Disposition: attachment; filename="tool.exe"
Content-Transfer-Encoding: base64

%s
--XX--
`, gbWord("张三"), gbWord("镇里每天要求在五个App打卡"),
				b64(gbk(t, "城关镇要求每名干部每天在五个政务App上打卡签到，同一组数据还要重复录入三次。")),
				enc("现场照片.jpg"), b64(photo), b64([]byte("MZ\x90\x00\x03\x00\x00\x00 not a document"))))
			// B: a PDF part with broken base64, and the mail ends mid-way.
			mailB := crlf(fmt.Sprintf(`From: %s <lisi@example.com>
Subject: %s
Message-ID: <b-1@example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="BB"

--BB
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

县里要求每周报送三套重复材料，占用大量工作时间。
--BB
Content-Type: application/pdf; name="a.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQK!!!!@@@@####$$$$
`, enc("李四"), enc("乡镇材料报送")))
			// C: 30 MB.
			line := strings.Repeat("QUJD", 19) + "\r\n"
			var big strings.Builder
			big.WriteString(crlf(fmt.Sprintf(`From: %s <wangwu@example.com>
Subject: %s
Message-ID: <c-1@example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="CC"

--CC
Content-Type: text/plain; charset=utf-8

会议全程录像，证明一天开了六个会。
--CC
Content-Type: video/mp4; name="meeting.mp4"
Content-Transfer-Encoding: base64

`, enc("王五"), enc("会议视频证据"))))
			for big.Len() < 30<<20 {
				big.WriteString(line)
			}
			big.WriteString("--CC--\r\n")
			mailC := big.String()
			// D: HTML only, no Message-ID, no display name.
			mailD := crlf(`From: zhao@example.com
Subject: Daily check-in
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8

<html><head><style>p{color:red}</style></head><body><p>每天在工作群里截图留痕，晚上十点还要报数。</p><script>evil()</script></body></html>
`)
			// E: an auto-reply: imported, never answered.
			mailE := crlf(`From: robot@example.com
Subject: Auto: out of office
Message-ID: <e-1@example.com>
Auto-Submitted: auto-replied
Content-Type: text/plain; charset=utf-8

这是一封自动回复邮件，我正在休假中。
`)
			for _, m := range []string{mailA, mailB, mailC, mailD, mailE} {
				dc.Deliver(t, []byte(m))
			}

			// The first worker dies right after committing the first tip.
			first := newMailbox(t, app, true)
			killed := errors.New("killed")
			worker.SetAfterCommit(first, func(uint32) error { return killed })
			if _, err := first.Poll(ctx); !errors.Is(err, killed) {
				t.Fatalf("first poll: %v, want the simulated kill", err)
			}
			if tips := mailboxTips(t, app); len(tips) != 1 {
				t.Fatalf("after the kill: %d tips, want 1", len(tips))
			}
			if msgs := dc.Messages(t); msgs[0].Has(worker.FlagImported) {
				t.Fatal("the message was flagged although the worker died before flagging")
			}

			// A restarted worker imports the rest and only flags the first.
			res, err := newMailbox(t, app, true).Poll(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if res != (worker.PollResult{Imported: 4, Problems: 2, Duplicates: 1}) {
				t.Fatalf("second poll: %+v", res)
			}
			if res, err := newMailbox(t, app, true).Poll(ctx); err != nil || res != (worker.PollResult{}) {
				t.Fatalf("third poll: %+v, %v; want nothing left", res, err)
			}

			tips := mailboxTips(t, app)
			if len(tips) != 5 {
				t.Fatalf("%d tips, want 5 (one per mail): %+v", len(tips), tips)
			}
			a, bad, large, d, e := tips[0], tips[1], tips[2], tips[3], tips[4]
			if a.Title != "镇里每天要求在五个App打卡" || !strings.Contains(a.Content, "同一组数据还要重复录入三次") ||
				!strings.Contains(a.Content, "附件“tool.exe”不是可接受的文件类型") || a.Anonymous {
				t.Errorf("GBK mail: %+v", a)
			}
			if !strings.HasPrefix(bad.Title, "【邮件异常】乡镇材料报送") || !strings.Contains(bad.Content, "占用大量工作时间") ||
				!strings.Contains(bad.Content, "编码损坏") || !strings.Contains(bad.Content, "原邮件保留在举报信箱中") {
				t.Errorf("broken mail: %+v", bad)
			}
			if !strings.HasPrefix(large.Title, "【邮件异常】会议视频证据") || !strings.Contains(large.Content, "邮件过大") ||
				strings.Contains(large.Content, "分段") {
				t.Errorf("30 MB mail: %+v", large)
			}
			if d.Title != "Daily check-in" || !strings.Contains(d.Content, "晚上十点还要报数") || strings.Contains(d.Content, "evil") ||
				strings.Contains(d.Content, "color") {
				t.Errorf("HTML mail: %+v", d)
			}
			if !strings.Contains(e.Content, "正在休假") {
				t.Errorf("auto-reply mail: %+v", e)
			}

			// The photo is kept without its position; nothing else of A.
			var files []models.Attachment
			if err := app.DB(t).Where("case_id = ?", a.CaseID).Find(&files).Error; err != nil {
				t.Fatal(err)
			}
			if len(files) != 1 || files[0].Filename != "现场照片.jpg" || files[0].ContentType != "image/jpeg" ||
				bytes.Contains(files[0].Data, []byte("GPS-SECRET")) {
				t.Errorf("attachments of the GBK mail: %d files %+v", len(files), files)
			}
			var n int64
			if err := app.DB(t).Model(&models.Attachment{}).Where("case_id IN ?", []uint64{bad.CaseID, large.CaseID}).Count(&n).Error; err != nil || n != 0 {
				t.Errorf("broken and large mails stored %d attachments (%v), want 0", n, err)
			}

			// The sender is the sealed contact.
			office := app.CreateUser(t, models.UserParams{Username: "office1", Password: "Office-pass-2026", Role: models.RoleOffice})
			got, err := app.Store.RevealContact(ctx, models.Principal{UserID: office.ID, Username: office.Username, Role: office.Role},
				models.RevealParams{CaseID: a.CaseID, Reason: "核实来信"})
			if err != nil || got.Anonymous || got.Contact == nil || got.Contact.Email != "zhangsan@example.com" || got.Contact.Name != "张三" {
				t.Errorf("contact of the GBK mail: %+v %v", got, err)
			}

			// Every message is kept, flagged once; the two problems marked.
			msgs := dc.Messages(t)
			if len(msgs) != 5 {
				t.Fatalf("%d messages left in the mailbox, want all 5", len(msgs))
			}
			for i, m := range msgs {
				problem := i == 1 || i == 2
				if !m.Has(worker.FlagImported) || !m.Has(`\Seen`) || m.Has(worker.FlagProblem) != problem {
					t.Errorf("message %d flags %v (problem %v)", i, m.Flags, problem)
				}
			}

			// One receipt per sender, none to the auto-responder; each
			// receipt finds its case.
			var replies []testenv.MailpitMessage
			apptest.Eventually(t, 10*time.Second, "four receipts", func() bool {
				replies = app.Mailpit.Messages(t)
				return len(replies) >= 4
			})
			receiptRe := regexp.MustCompile(`查询码：(\d{4}) (\d{4}) (\d{4}) (\d{4})`)
			want := map[string]uint64{"zhangsan@example.com": a.CaseID, "lisi@example.com": bad.CaseID,
				"wangwu@example.com": large.CaseID, "zhao@example.com": d.CaseID}
			if len(replies) != 4 {
				t.Fatalf("%d replies, want 4", len(replies))
			}
			for _, r := range replies {
				m := receiptRe.FindStringSubmatch(r.Text)
				if len(r.To) != 1 || m == nil {
					t.Errorf("reply to %v: no receipt in %q", r.To, r.Text)
					continue
				}
				id, err := app.Store.CaseIDByReceipt(ctx, m[1]+m[2]+m[3]+m[4])
				if err != nil || id != want[r.To[0]] {
					t.Errorf("receipt sent to %s finds case %d (%v), want %d", r.To[0], id, err, want[r.To[0]])
				}
				delete(want, r.To[0])
			}
			if len(want) != 0 {
				t.Errorf("no receipt for %v", want)
			}
		})
	}
}

// TestMailboxTLS: imaps:// and imap:// with STARTTLS (the production
// forms) import mail from a server whose certificate is trusted, and
// refuse one whose certificate is not.
func TestMailboxTLS(t *testing.T) {
	dc := testenv.StartDovecot(t)
	for _, tc := range []struct{ name, url string }{{"imaps", dc.TLSURL}, {"starttls", dc.StartTLSURL}} {
		t.Run(tc.name, func(t *testing.T) {
			app := apptest.Start(t, apptest.Options{Backend: testenv.Backends(t)[0], NoWorker: true,
				Env: map[string]string{"JIANFU_IMAP_URL": tc.url}})
			params := worker.MailboxParams{Store: app.Store, IMAP: app.Config.IMAP, Logger: slog.New(slog.NewTextHandler(t.Output(), nil))}
			if _, err := worker.NewMailbox(params).Poll(context.Background()); err == nil ||
				!strings.Contains(err.Error(), "certificate") {
				t.Fatalf("poll with the system's roots: %v, want a certificate error", err)
			}
			dc.Deliver(t, []byte(crlf(fmt.Sprintf(`From: zhangsan@example.com
Subject: %s
Message-ID: <tls-%s@example.com>
Content-Type: text/plain; charset=utf-8

每天要在五个政务App上打卡签到，数据还要重复录入。
`, tc.name, tc.name))))
			params.TLSConfig = dc.TLSConfig()
			res, err := worker.NewMailbox(params).Poll(context.Background())
			if err != nil || res.Imported != 1 {
				t.Fatalf("poll over %s: %+v, %v; want one import", tc.name, res, err)
			}
			if tips := mailboxTips(t, app); len(tips) != 1 || tips[0].Title != tc.name {
				t.Fatalf("tips: %+v", tips)
			}
		})
	}
}
