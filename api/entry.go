package api

import (
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"jianfu/models"
)

// Staff entry of tips received by phone, letter, visit or the paper
// mailbox (DESIGN §10.5): POST /api/v1/cases, office and admin only. The
// body is the web form's plus channel, received_at and want_receipt; the
// store applies the web form's checks, encrypts the contact and makes a
// receipt, which is shown only when asked for (to read to the caller).

// entryRequest is the JSON body of POST /api/v1/cases.
type entryRequest struct {
	tipRequest
	Channel     string `json:"channel"`
	ReceivedAt  string `json:"received_at"`
	WantReceipt bool   `json:"want_receipt"`
}

// entryFields are the multipart fields of POST /api/v1/cases besides files.
var entryFields = map[string]bool{"channel": true, "received_at": true, "want_receipt": true}

// parseReceivedAt reads an RFC 3339 time, or a Beijing wall-clock time as
// a datetime-local input sends it ("2026-03-01T09:30") or as people type
// it ("2026-03-01 09:30"). Empty means now.
func parseReceivedAt(v string) (*time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return &t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02T15:04:05", "2006-01-02 15:04:05"} {
		if t, err := time.ParseInLocation(layout, v, models.Shanghai()); err == nil {
			return &t, nil
		}
	}
	return nil, fieldError("received_at", "收到时间格式应为 2026-03-01 09:30")
}

// entryInput reads a staff entry as JSON or multipart (with attachments).
func (s *Server) entryInput(c *gin.Context) (in models.TipInput, wantReceipt bool, err error) {
	in = models.TipInput{IdempotencyKey: c.GetHeader("Idempotency-Key")}
	if len(in.IdempotencyKey) > 200 {
		return in, false, fieldError("Idempotency-Key", "Idempotency-Key 不能超过200个字符")
	}
	var anonymous *bool
	var receivedAt string
	mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	switch mt {
	case "application/json":
		var req entryRequest
		if err := decodeJSON(c, &req, maxJSONBody); err != nil {
			return in, false, err
		}
		in.Category, in.Title, in.Content, in.Township = req.Category, req.Title, req.Content, req.Township
		in.ImplicatedUnit, in.OccurredOn, in.Channel = req.ImplicatedUnit, req.OccurredOn, req.Channel
		anonymous, receivedAt, wantReceipt = req.Anonymous, req.ReceivedAt, req.WantReceipt
		if req.Contact != nil {
			in.Contact = *req.Contact
		}
	case "multipart/form-data":
		form, err := readMultipart(c, s.fileRules())
		if err != nil {
			return in, false, err
		}
		return entryFromValues(in, form.Values, form.Files)
	default:
		return in, false, errMediaType
	}
	return finishEntry(in, anonymous, receivedAt, wantReceipt)
}

// entryFromValues reads a staff entry from form fields (multipart, or
// the console's urlencoded form).
func entryFromValues(in models.TipInput, v map[string]string, files []models.FileInput) (models.TipInput, bool, error) {
	for k := range v {
		if !tipFields[k] && !entryFields[k] {
			return in, false, fieldError(k, "未知字段："+k)
		}
	}
	in.Category, in.Title, in.Content, in.Township = v["category"], v["title"], v["content"], v["township"]
	in.ImplicatedUnit, in.OccurredOn, in.Channel = v["implicated_unit"], v["occurred_on"], v["channel"]
	in.Contact = models.Contact{Name: v["contact.name"], Phone: v["contact.phone"], Email: v["contact.email"]}
	in.Files = files
	var anonymous *bool
	wantReceipt := false
	for _, f := range []struct {
		name string
		to   *bool
	}{{"anonymous", nil}, {"want_receipt", &wantReceipt}} {
		raw, ok := v[f.name]
		if !ok {
			continue
		}
		b, ok := parseBool(raw)
		if !ok {
			return in, false, fieldError(f.name, f.name+" 应为 true 或 false")
		}
		if f.to == nil {
			anonymous = &b
		} else {
			*f.to = b
		}
	}
	return finishEntry(in, anonymous, v["received_at"], wantReceipt)
}

// finishEntry applies the defaults: a caller who leaves no contact is
// anonymous unless the office says otherwise (then the contact is
// required, as on the web form); received_at is parsed.
func finishEntry(in models.TipInput, anonymous *bool, receivedAt string, wantReceipt bool) (models.TipInput, bool, error) {
	in.Anonymous = in.Contact == (models.Contact{})
	if anonymous != nil {
		in.Anonymous = *anonymous
	}
	at, err := parseReceivedAt(receivedAt)
	if err != nil {
		return in, false, err
	}
	in.ReceivedAt = at
	return in, wantReceipt, nil
}

// enterTip answers POST /api/v1/cases: 201 {"id", "receipt"?, ...}.
func (s *Server) enterTip(c *gin.Context) {
	if !principal(c).IsOffice() {
		fail(c, models.ErrForbidden) // before reading a body the caller may not send
		return
	}
	in, wantReceipt, err := s.entryInput(c)
	if err != nil {
		fail(c, err)
		return
	}
	r, err := s.Store.EnterTip(c.Request.Context(), principal(c), in)
	if err != nil {
		fail(c, err)
		return
	}
	status := http.StatusCreated
	if r.Replayed {
		status = http.StatusOK
	}
	body := gin.H{"id": r.CaseID, "stage": r.Stage, "stage_name": models.StageNames[r.Stage],
		"due_at": r.DueAt.Format(time.RFC3339), "attachments": len(in.Files), "message": "反映已登记。"}
	if wantReceipt {
		body["receipt"] = r.Receipt
		body["message"] = "反映已登记。请将查询码告知反映人，它只显示这一次，凭它查询办理进展。"
	}
	c.JSON(status, body)
}
