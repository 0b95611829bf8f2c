package models

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
)

// Channels a tip can arrive by.
const (
	ChannelWeb     = "web"
	ChannelPhone   = "phone"
	ChannelLetter  = "letter"
	ChannelMailbox = "mailbox"
	ChannelVisit   = "visit" // 来访: told in person at the office
)

// Timeline event kinds.
const (
	EventSubmitted = "submitted"
	EventRouted    = "routed"
	EventReminder  = "reminder"
	EventOverdue   = "overdue"
	EventEscalated = "escalated"
)

// ValidationError carries a zh-CN message per field at fault.
type ValidationError struct {
	Fields map[string]string
}

func (e *ValidationError) Error() string {
	parts := make([]string, 0, len(e.Fields))
	for f, m := range e.Fields {
		parts = append(parts, f+": "+m)
	}
	return "validation failed: " + strings.Join(parts, "; ")
}

// invalid builds a one-field ValidationError.
func invalid(field, msg string) error {
	return &ValidationError{Fields: map[string]string{field: msg}}
}

// FileInput is an attachment that the API has already checked by content
// and stripped of metadata.
type FileInput struct {
	Name        string
	ContentType string
	Data        []byte
	SHA256      string
}

// TipInput is a submitted tip.
type TipInput struct {
	Category       string
	Title          string
	Content        string
	Township       string // unit code, optional
	ImplicatedUnit string
	OccurredOn     string // YYYY-MM-DD, optional
	Anonymous      bool
	Contact        Contact
	Channel        string
	// ReceivedAt is when a tip entered by staff reached the office (the
	// call, the letter's arrival); nil means now. Web tips have none.
	ReceivedAt *time.Time
	// EnteredBy is the username of the staff member who entered a phone,
	// letter, visit or mailbox tip; the submitted event names them.
	EnteredBy      string
	IdempotencyKey string
	Files          []FileInput
	// SourceRef names the tip's origin outside the web form (a mailbox
	// message); a second tip with the same SourceRef is refused with
	// ErrDuplicateSource. Stored only as a keyed hash.
	SourceRef string
}

// ErrDuplicateSource: a tip from this SourceRef is already stored.
var ErrDuplicateSource = errors.New("a tip from this source is already stored")

// TipReceipt is what the tipster gets back once.
type TipReceipt struct {
	Receipt  string
	CaseID   uint64
	Stage    string
	DueAt    time.Time
	Replayed bool // an earlier submission with the same Idempotency-Key
}

var (
	mobileRe   = regexp.MustCompile(`^1[3-9]\d{9}$`)
	landlineRe = regexp.MustCompile(`^0\d{2,3}-?\d{7,8}$`)
)

// validate checks a tip's fields and fills in the derived title.
func (in *TipInput) validate(now time.Time) error {
	f := map[string]string{}
	in.Category = strings.TrimSpace(in.Category)
	in.Title = strings.TrimSpace(in.Title)
	in.Content = strings.TrimSpace(in.Content)
	in.Township = strings.TrimSpace(in.Township)
	in.ImplicatedUnit = strings.TrimSpace(in.ImplicatedUnit)
	in.OccurredOn = strings.TrimSpace(in.OccurredOn)
	if in.Category == "" {
		f["category"] = "请选择问题类别"
	}
	type textField struct {
		field, label, value string
		multiline           bool
	}
	texts := []textField{{"category", "问题类别", in.Category, false}, {"title", "标题", in.Title, false},
		{"content", "问题描述", in.Content, true}, {"township", "乡镇（街道）", in.Township, false},
		{"implicated_unit", "涉及单位", in.ImplicatedUnit, false}, {"occurred_on", "发生日期", in.OccurredOn, false}}
	if !in.Anonymous {
		texts = append(texts, textField{"contact.name", "姓名", in.Contact.Name, false},
			textField{"contact.phone", "电话", in.Contact.Phone, false},
			textField{"contact.email", "电子邮箱", in.Contact.Email, false})
	}
	for _, t := range texts {
		if m := TextProblem(t.label, t.value, t.multiline); m != "" {
			f[t.field] = m
		}
	}
	if n := utf8.RuneCountInString(in.Title); n > 100 && f["title"] == "" {
		f["title"] = fmt.Sprintf("标题不能超过100个字（现在%d个字）", n)
	}
	switch n := utf8.RuneCountInString(in.Content); {
	case f["content"] != "":
	case n < 10:
		f["content"] = "问题描述至少需要10个字，请写清楚发生了什么"
	case n > 5000:
		f["content"] = fmt.Sprintf("问题描述不能超过5000个字（现在%d个字）", n)
	}
	if utf8.RuneCountInString(in.ImplicatedUnit) > 100 {
		f["implicated_unit"] = "涉及单位不能超过100个字"
	}
	if in.OccurredOn != "" {
		d, err := time.ParseInLocation("2006-01-02", in.OccurredOn, Shanghai())
		if err != nil {
			f["occurred_on"] = "发生日期格式应为 2025-03-01"
		} else if d.After(now) {
			f["occurred_on"] = "发生日期不能晚于今天"
		}
	}
	if in.Channel == "" {
		in.Channel = ChannelWeb
	}
	switch in.Channel {
	case ChannelWeb:
		in.ReceivedAt = nil
	case ChannelPhone, ChannelLetter, ChannelMailbox, ChannelVisit:
		if msg := checkReceivedAt(in.ReceivedAt, now); msg != "" {
			f["received_at"] = msg
		}
	default:
		f["channel"] = "来源渠道应为 phone（电话）、letter（来信）、visit（来访）或 mailbox（举报信箱）"
	}
	c := &in.Contact
	c.Name, c.Phone, c.Email = strings.TrimSpace(c.Name), strings.TrimSpace(c.Phone), strings.TrimSpace(c.Email)
	if in.Anonymous {
		*c = Contact{} // never keep what an anonymous tipster typed by mistake
	} else {
		if c.Name == "" {
			f["contact.name"] = "实名反映请填写姓名"
		} else if utf8.RuneCountInString(c.Name) > 50 {
			f["contact.name"] = "姓名不能超过50个字"
		}
		if c.Phone == "" && c.Email == "" {
			f["contact.phone"] = "实名反映请至少留下手机号码或电子邮箱"
		}
		if c.Phone != "" && !mobileRe.MatchString(c.Phone) && !landlineRe.MatchString(c.Phone) {
			f["contact.phone"] = "电话号码格式不正确（手机号11位，座机如 0571-12345678）"
		}
		if c.Email != "" {
			if a, err := mail.ParseAddress(c.Email); err != nil || a.Address != c.Email || len(c.Email) > 254 {
				f["contact.email"] = "电子邮箱格式不正确"
			}
		}
	}
	if len(f) > 0 {
		return &ValidationError{Fields: f}
	}
	if in.Title == "" {
		in.Title = truncateRunes(in.Content, 30)
	}
	return nil
}

// maxReceivedAge bounds how far back a staff-entered tip may be dated: a
// letter found a year late is entered as received today.
const maxReceivedAge = 366 * 24 * time.Hour

// checkReceivedAt returns the zh-CN complaint about a received time, or "".
func checkReceivedAt(at *time.Time, now time.Time) string {
	switch {
	case at == nil:
		return ""
	case at.After(now.Add(5 * time.Minute)):
		return "收到时间不能晚于现在"
	case at.Before(now.Add(-maxReceivedAge)):
		return "收到时间不能早于一年前"
	}
	return ""
}

func truncateRunes(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// CreateTip stores a tip, its case in `collect` with its due time, the first
// timeline event, the routing task and the stage timer, in one transaction
// (shared with the tips that arrive beside it: intake.go).
func (s *Store) CreateTip(ctx context.Context, in TipInput) (TipReceipt, error) {
	now := s.clock()
	if err := in.validate(now); err != nil {
		return TipReceipt{}, err
	}
	var keyHash, reqHash *string
	if in.IdempotencyKey != "" {
		h, rh := s.keyedHash("idempotency", in.IdempotencyKey), s.requestHash(in)
		keyHash, reqHash = &h, &rh
	}
	// A category or township deactivated since a tip was stored must not
	// turn its sender's retry into an error: a keyed request that names
	// one is answered as a replay when it is one.
	unlessReplay := func(refusal error) (TipReceipt, error) {
		if keyHash != nil {
			if r, err := s.replay(ctx, in.IdempotencyKey, *keyHash, *reqHash); !errors.Is(err, ErrNotFound) {
				return r, err
			}
		}
		return TipReceipt{}, refusal
	}
	catID, err := s.activeCategoryID(ctx, in.Category)
	if errors.Is(err, ErrNotFound) {
		return unlessReplay(invalid("category", "问题类别不存在，请从列表中选择"))
	} else if err != nil {
		return TipReceipt{}, err
	}
	var townshipID *uint64
	if in.Township != "" {
		id, err := s.activeTownshipID(ctx, in.Township)
		if errors.Is(err, ErrNotFound) {
			return unlessReplay(invalid("township", "乡镇（街道）不存在，请从列表中选择"))
		} else if err != nil {
			return TipReceipt{}, err
		}
		townshipID = &id
	}
	receipt, err := s.newReceipt()
	if err != nil {
		return TipReceipt{}, err
	}
	var seal []byte
	if keyHash != nil {
		if seal, err = s.sealReceipt(in.IdempotencyKey, *keyHash, receipt); err != nil {
			return TipReceipt{}, fmt.Errorf("seal receipt: %w", err)
		}
	}
	var sourceRef *string
	if in.SourceRef != "" {
		h := s.keyedHash("source", in.SourceRef)
		sourceRef = &h
		if err := s.sourceSeen(ctx, h); err != nil {
			return TipReceipt{}, err
		}
	}
	tip := Tip{SourceRef: sourceRef,
		ReceiptHash: s.receiptHash(receipt), IdempotencyKey: keyHash, IdempotencyRequest: reqHash, ReceiptSeal: seal,
		Channel:    in.Channel,
		CategoryID: catID, Title: in.Title, Content: in.Content, TownshipID: townshipID,
		ImplicatedUnit: in.ImplicatedUnit, Anonymous: in.Anonymous, CreatedAt: now,
	}
	if in.ReceivedAt != nil {
		at := in.ReceivedAt.UTC().Truncate(time.Microsecond)
		tip.ReceivedAt = &at
	}
	if in.OccurredOn != "" {
		tip.OccurredOn = &in.OccurredOn
	}
	if !in.Anonymous {
		if tip.ContactEnc, err = s.sealContact(in.Contact); err != nil {
			return TipReceipt{}, fmt.Errorf("seal contact: %w", err)
		}
	}
	store := func() (*newTip, error) {
		t := &newTip{ctx: ctx, now: now, tip: tip, files: in.Files, enteredBy: in.EnteredBy, done: make(chan intakeSignal, 1)}
		return t, s.storeTip(t)
	}
	t, err := store()
	if errors.Is(err, errKeySeen) {
		// A stored tip holds the key: this is a replay or a reuse, or the
		// key has passed its window, and replay has just forgotten it.
		if r, err := s.replay(ctx, in.IdempotencyKey, *keyHash, *reqHash); !errors.Is(err, ErrNotFound) {
			return r, err
		}
		t, err = store()
	}
	if keyHash != nil && (errors.Is(err, gorm.ErrDuplicatedKey) || errors.Is(err, errKeySeen)) {
		return s.replay(ctx, in.IdempotencyKey, *keyHash, *reqHash) // lost a race with the same key
	}
	if errors.Is(err, gorm.ErrDuplicatedKey) && sourceRef != nil {
		if err := s.sourceSeen(ctx, *sourceRef); err != nil {
			return TipReceipt{}, err // lost a race with another importer
		}
	}
	if err != nil {
		return TipReceipt{}, fmt.Errorf("create tip: %w", err)
	}
	return TipReceipt{Receipt: receipt, CaseID: t.caseID, Stage: StageCollect, DueAt: t.dueAt}, nil
}

// sourceSeen answers ErrDuplicateSource when a tip with this source hash
// is stored, nil when none is.
func (s *Store) sourceSeen(ctx context.Context, hash string) error {
	var n int64
	if err := s.db.WithContext(ctx).Model(&Tip{}).Where("source_ref = ?", hash).Count(&n).Error; err != nil {
		return fmt.Errorf("look up tip source: %w", err)
	}
	if n > 0 {
		return ErrDuplicateSource
	}
	return nil
}

// Actors that are not staff users.
const (
	ActorTipster = "tipster"
	ActorSystem  = "system"
)

// enterStage moves c to stage at now, sets the stage's due time, and bumps
// the due version so timers of the old due time become no-ops.
func (s *Store) enterStage(c *Case, stage string, now time.Time) {
	c.Stage = stage
	c.StageEnteredAt = now
	c.DueVersion++
	c.TimerStep = 0
	c.DueAt, c.NextTimerAt = nil, nil
	if clock, ok := s.deadlines.ForStage(stage); ok {
		due := clock.Due(s.calendar.Load(), now).UTC().Truncate(time.Microsecond)
		c.DueAt = &due
		next := clock.RemindAt(s.calendar.Load(), now, due).UTC().Truncate(time.Microsecond)
		c.NextTimerAt = &next
	}
}

// RouteTipPayload is the TaskRouteTip payload: the new cases of one
// intake batch. CaseID is the form of rows written before intake wrote one
// row a batch: a single case.
type RouteTipPayload struct {
	CaseIDs []uint64 `json:"case_ids,omitempty"`
	CaseID  uint64   `json:"case_id,omitempty"`
}

// Cases are the cases the task routes.
func (p RouteTipPayload) Cases() []uint64 {
	if p.CaseID != 0 {
		return []uint64{p.CaseID}
	}
	return p.CaseIDs
}
