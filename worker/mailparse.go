package worker

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-imap/v2"
	"golang.org/x/net/html"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/simplifiedchinese"

	"jianfu/attach"
	"jianfu/models"
)

// Reading a mail is done with the standard library's parsers (net/mail,
// mime, mime/multipart, quoted-printable, base64) and x/text's WHATWG
// charset table (GBK, GB18030, Big5 …, common in Chinese mail). Nothing
// here fails: whatever cannot be read becomes a line in problems, and the
// rest is kept.

const (
	// mailMaxDepth bounds nested multiparts and forwarded mails.
	mailMaxDepth = 8
	// mailMaxParts bounds the MIME parts read from one mail.
	mailMaxParts = 200
	// mailMaxText bounds the bytes of one text part that are read: a tip
	// holds 5000 characters, at most 4 bytes each in UTF-8.
	mailMaxText = 64 << 10
	// mailCategory is the category of imported tips until the office
	// corrects it.
	mailCategory = "other"
	// maxContent is the tip's content limit (models validate it).
	maxContent = 5000
)

// mailLimits are the attachment limits of the web form.
type mailLimits struct {
	maxFiles     int
	maxFileBytes int64
}

// inMail is what could be read of one mail.
type inMail struct {
	subject   string
	from      *mail.Address // nil: missing or unreadable
	messageID string        // without angle brackets; "" if none
	automatic bool          // an auto-reply, list or bulk mail: never answered
	plain     []string
	html      []string
	files     []models.FileInput
	// problems say what could not be read (zh-CN, for the office); a mail
	// with problems is flagged $JianfuProblem.
	problems []string
	// skipped name attachments that were not kept (zh-CN).
	skipped []string
	parts   int
	lim     mailLimits
}

// wordDecoder decodes RFC 2047 words in any charset x/text knows.
var wordDecoder = &mime.WordDecoder{CharsetReader: func(charset string, input io.Reader) (io.Reader, error) {
	enc, err := htmlindex.Get(charset)
	if err != nil {
		return nil, err
	}
	return enc.NewDecoder().Reader(input), nil
}}

func parseAddress(s string) (*mail.Address, error) {
	return (&mail.AddressParser{WordDecoder: wordDecoder}).Parse(s)
}

// readMail reads raw, a whole message or, with headerOnly, only its
// header (a mail too large to fetch); env is the server's parse of the
// header, used when ours fails.
func readMail(raw []byte, lim mailLimits, env *imap.Envelope, headerOnly bool) *inMail {
	m := &inMail{lim: lim}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		m.problems = append(m.problems, "邮件头无法解析，只导入了邮件服务器识别出的主题和发件人")
		m.fromEnvelope(env)
		return m
	}
	h := msg.Header
	if s, err := wordDecoder.DecodeHeader(h.Get("Subject")); err == nil {
		m.subject = s
	} else {
		m.subject = h.Get("Subject")
	}
	if f := h.Get("From"); f != "" {
		if a, err := parseAddress(f); err == nil {
			m.from = a
		}
	}
	m.messageID = trimID(h.Get("Message-Id"))
	if env != nil {
		if m.from == nil && len(env.From) > 0 && env.From[0].Addr() != "" {
			m.from = &mail.Address{Name: env.From[0].Name, Address: env.From[0].Addr()}
		}
		if m.messageID == "" {
			m.messageID = trimID(env.MessageID)
		}
	}
	auto := strings.ToLower(strings.TrimSpace(h.Get("Auto-Submitted")))
	prec := strings.ToLower(strings.TrimSpace(h.Get("Precedence")))
	m.automatic = (auto != "" && auto != "no") || prec == "bulk" || prec == "junk" || prec == "list" ||
		h.Get("List-Id") != "" || h.Get("List-Unsubscribe") != "" || strings.TrimSpace(h.Get("Return-Path")) == "<>"
	if m.from != nil {
		local, _, _ := strings.Cut(strings.ToLower(m.from.Address), "@")
		if local == "mailer-daemon" || local == "postmaster" || strings.HasPrefix(strings.ReplaceAll(local, "-", ""), "noreply") {
			m.automatic = true
		}
	}
	if !headerOnly {
		m.walk(textproto.MIMEHeader(h), msg.Body, 0)
	}
	return m
}

func (m *inMail) fromEnvelope(env *imap.Envelope) {
	if env == nil {
		return
	}
	m.subject = env.Subject
	m.messageID = trimID(env.MessageID)
	if len(env.From) > 0 && env.From[0].Addr() != "" {
		m.from = &mail.Address{Name: env.From[0].Name, Address: env.From[0].Addr()}
	}
}

func trimID(id string) string {
	return strings.TrimSpace(strings.Trim(strings.TrimSpace(id), "<>"))
}

func (m *inMail) problem(msg string) {
	if !slices.Contains(m.problems, msg) {
		m.problems = append(m.problems, msg)
	}
}

// walk reads one MIME entity: a multipart's parts, a forwarded mail, a
// text, or an attachment.
func (m *inMail) walk(h textproto.MIMEHeader, body io.Reader, depth int) {
	ct := h.Get("Content-Type")
	media, params, err := mime.ParseMediaType(ct)
	if ct == "" {
		media, params = "text/plain", map[string]string{}
	} else if err != nil {
		m.problem("邮件格式有误：有一部分内容的类型（Content-Type）无法识别")
		media, params = "application/octet-stream", map[string]string{}
	}
	disp, dparams, _ := mime.ParseMediaType(h.Get("Content-Disposition"))
	name := dparams["filename"]
	if name == "" {
		name = params["name"]
	}
	if d, err := wordDecoder.DecodeHeader(name); err == nil {
		name = d
	}
	switch {
	case strings.HasPrefix(media, "multipart/"):
		if depth >= mailMaxDepth {
			m.problem("邮件嵌套层数过多，深层内容未导入")
			return
		}
		boundary := params["boundary"]
		if boundary == "" {
			m.problem("邮件格式有误：多段邮件缺少分隔符，正文未能读取")
			return
		}
		mr := multipart.NewReader(body, boundary)
		n := 0
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				m.problem("邮件格式有误：邮件在中途中断或分段损坏，其后的内容未能读取")
				break
			}
			n++
			m.parts++
			if m.parts > mailMaxParts {
				m.problem("邮件分段过多，其余内容未导入")
				return
			}
			m.walk(p.Header, p, depth+1)
		}
		if n == 0 {
			m.problem("邮件格式有误：多段邮件中找不到任何分段，正文未能读取")
		}
	case media == "message/rfc822": // forwarded inline or as an attachment
		if depth >= mailMaxDepth {
			m.problem("邮件嵌套层数过多，深层内容未导入")
			return
		}
		data, err := decodeBody(h, body, mailMaxText*16)
		inner, perr := mail.ReadMessage(bytes.NewReader(data))
		if err != nil || perr != nil {
			m.problem("转发的邮件无法解析")
			return
		}
		subject, _ := wordDecoder.DecodeHeader(inner.Header.Get("Subject"))
		m.plain = append(m.plain, "—— 转发的邮件 ——\n主题："+subject+"\n发件人："+inner.Header.Get("From"))
		m.walk(textproto.MIMEHeader(inner.Header), inner.Body, depth+1)
	case (media == "text/plain" || media == "text/html") && disp != "attachment":
		data, err := decodeBody(h, body, mailMaxText)
		if err != nil && !errors.Is(err, errTooLong) {
			m.problem("邮件格式有误：正文的编码损坏，只导入了能读出的部分")
		}
		text := m.decodeCharset(data, params["charset"])
		if media == "text/plain" {
			m.plain = append(m.plain, text)
		} else {
			m.html = append(m.html, htmlText(text))
		}
	default:
		m.attachment(h, body, name, media)
	}
}

// attachment keeps a file that attach.Check accepts and notes the others.
func (m *inMail) attachment(h textproto.MIMEHeader, body io.Reader, name, media string) {
	shown := attach.CleanFilename(name)
	if name == "" {
		shown = "未命名附件（" + media + "）"
	}
	if len(m.files) >= m.lim.maxFiles {
		m.skipped = append(m.skipped, fmt.Sprintf("附件“%s”超过每条线索 %d 个附件的上限，未保存", shown, m.lim.maxFiles))
		return
	}
	data, err := decodeBody(h, body, m.lim.maxFileBytes)
	switch {
	case errors.Is(err, errTooLong):
		m.skipped = append(m.skipped, fmt.Sprintf("附件“%s”超过 %d MB，未保存", shown, m.lim.maxFileBytes>>20))
		return
	case err != nil:
		m.problem(fmt.Sprintf("邮件格式有误：附件“%s”的编码损坏，未保存", shown))
		return
	}
	f, err := attach.Check(name, data)
	if err != nil {
		m.skipped = append(m.skipped, fmt.Sprintf("附件“%s”不是可接受的文件类型（照片 JPG/PNG、PDF、Word、Excel），未保存", shown))
		return
	}
	m.files = append(m.files, f)
}

var errTooLong = errors.New("part too long")

// decodeBody undoes the part's transfer encoding, reading at most limit
// bytes (errTooLong past it, with the first limit bytes).
func decodeBody(h textproto.MIMEHeader, body io.Reader, limit int64) ([]byte, error) {
	var r io.Reader
	switch strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding"))) {
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, &blankDropper{r: body})
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	default:
		r = body
	}
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if int64(len(data)) > limit {
		return data[:limit], errTooLong
	}
	return data, err
}

// blankDropper removes the spaces and tabs some mailers leave in base64
// lines (the decoder itself skips CR and LF).
type blankDropper struct{ r io.Reader }

func (b *blankDropper) Read(p []byte) (int, error) {
	for {
		n, err := b.r.Read(p)
		k := 0
		for _, c := range p[:n] {
			if c != ' ' && c != '\t' {
				p[k] = c
				k++
			}
		}
		if k > 0 || err != nil {
			return k, err
		}
	}
}

// decodeCharset turns a text part into UTF-8. Undeclared or mislabelled
// Chinese text (GBK bytes declared as UTF-8) is read as GB18030.
func (m *inMail) decodeCharset(data []byte, charset string) string {
	cs := strings.ToLower(strings.TrimSpace(charset))
	if cs != "" && cs != "utf-8" && cs != "utf8" && cs != "us-ascii" {
		enc, err := htmlindex.Get(cs)
		if err != nil {
			m.problem("正文的字符集“" + charset + "”无法识别，可能有乱码")
			return strings.ToValidUTF8(string(data), "\uFFFD")
		}
		out, err := enc.NewDecoder().Bytes(data)
		if err == nil {
			return strings.ToValidUTF8(string(out), "\uFFFD")
		}
	}
	if utf8.Valid(data) {
		return string(data)
	}
	if out, err := simplifiedchinese.GB18030.NewDecoder().Bytes(data); err == nil && utf8.Valid(out) {
		return string(out)
	}
	return strings.ToValidUTF8(string(data), "\uFFFD")
}

// htmlText is the readable text of an HTML body: text nodes, with line
// breaks at block elements; scripts and styles dropped.
func htmlText(s string) string {
	z := html.NewTokenizer(strings.NewReader(s))
	var b strings.Builder
	skip := 0
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return b.String()
		case html.TextToken:
			if skip == 0 {
				b.Write(z.Text())
			}
		case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "script", "style", "head", "title":
				if tt == html.StartTagToken {
					skip++
				} else if tt == html.EndTagToken && skip > 0 {
					skip--
				}
			case "br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table":
				b.WriteByte('\n')
			}
		}
	}
}

// cleanText keeps what a tip may hold: no control characters but tab and
// newline, no bidirectional overrides, LF line ends, at most one blank
// line in a row, no trailing blanks.
func cleanText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\r':
			return '\n'
		case r == '\n' || r == '\t':
			return r
		case r < 0x20 || r == 0x7F || (r >= 0x80 && r < 0xA0):
			return -1
		case (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069) || r == 0xFEFF:
			return -1
		}
		return r
	}, s)
	lines := strings.Split(s, "\n")
	out := lines[:0]
	blank := 0
	for _, l := range lines {
		l = strings.TrimRight(l, " \t\u3000")
		if l == "" {
			blank++
			if blank > 1 {
				continue
			}
		} else {
			blank = 0
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// body is the mail's text: the plain parts, or the HTML ones as text.
func (m *inMail) body() string {
	parts := m.plain
	if len(strings.TrimSpace(strings.Join(parts, ""))) == 0 {
		parts = m.html
	}
	return cleanText(strings.Join(parts, "\n\n"))
}

// contact is the sender as the tip's contact, if it passes the web
// form's rules; ok false makes the tip anonymous.
func (m *inMail) contact() (models.Contact, bool) {
	if m.from == nil {
		return models.Contact{}, false
	}
	addr := strings.TrimSpace(m.from.Address)
	if a, err := mail.ParseAddress(addr); err != nil || a.Address != addr || len(addr) > 254 {
		return models.Contact{}, false
	}
	name := strings.TrimSpace(cleanText(strings.ReplaceAll(m.from.Name, "\n", " ")))
	if name == "" {
		name, _, _ = strings.Cut(addr, "@")
	}
	return models.Contact{Name: truncate(name, 50), Email: addr}, true
}

// tipInput is the tip for this mail; notes for the office follow the
// text, and the whole stays within the content limit.
func (m *inMail) tipInput(ref string) models.TipInput {
	contact, ok := m.contact()
	if !ok {
		m.problem("发件人地址无法识别，无法联系反映人")
	}
	text := m.body()
	lines := append(slices.Clone(m.problems), m.skipped...)
	notes := mailNotes(lines)
	if utf8.RuneCountInString(text)+utf8.RuneCountInString(notes) > maxContent {
		lines = append(lines, "正文过长，只导入了开头部分")
		notes = mailNotes(lines)
		text = truncate(text, maxContent-utf8.RuneCountInString(notes))
	}
	if utf8.RuneCountInString(strings.TrimSpace(text)) < 10 && notes == "" {
		notes = mailNotes([]string{"邮件正文为空或过短"})
	}
	content := strings.TrimSpace(text + notes)
	return models.TipInput{
		Category: mailCategory, Channel: models.ChannelMailbox, SourceRef: ref,
		Title: m.title(), Content: content, Anonymous: !ok, Contact: contact, Files: m.files,
	}
}

// title is the subject, marked when the office must look at the original.
func (m *inMail) title() string {
	subject := cleanText(strings.ReplaceAll(m.subject, "\n", " "))
	if subject == "" {
		subject = "举报信箱来信"
	}
	if len(m.problems) > 0 {
		return truncate("【邮件异常】"+subject, 100)
	}
	return truncate(subject, 100)
}

// mailNotes is the block the office reads under an imported mail's text.
func mailNotes(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	return "\n\n【举报信箱导入说明】\n· " + strings.Join(lines, "\n· ") + "\n· 原邮件保留在举报信箱中，可登录信箱查看。"
}

// fallbackInput is the tip for a mail whose reading the models refused:
// the refusal, and nothing of the text, so it cannot fail the same way.
func (m *inMail) fallbackInput(ref string, ve *models.ValidationError) models.TipInput {
	fields := make([]string, 0, len(ve.Fields))
	contactBad := false
	for f, msg := range ve.Fields {
		fields = append(fields, msg)
		contactBad = contactBad || strings.HasPrefix(f, "contact")
	}
	slices.Sort(fields)
	m.problem("邮件内容不符合线索的格式要求（" + strings.Join(fields, "；") + "），正文未导入")
	in := m.tipInput(ref)
	in.Title = truncate("【邮件异常】举报信箱来信", 100)
	in.Content = strings.TrimSpace("举报信箱收到一封邮件，未能自动导入正文。" + mailNotes(append(slices.Clone(m.problems), m.skipped...)))
	in.Content = truncate(in.Content, maxContent)
	if contactBad {
		in.Anonymous, in.Contact = true, models.Contact{}
	}
	return in
}
