package models

import "time"

// Stage ids of a case (DESIGN §2).
const (
	StageCollect  = "collect"
	StageAssign   = "assign"
	StageVerify   = "verify"
	StageRectify  = "rectify"
	StageFeedback = "feedback"
	StageClosed   = "closed"
)

// Roles of staff users.
const (
	RoleAdmin   = "admin"
	RoleOffice  = "office"
	RoleLeader  = "leader"
	RoleLiaison = "liaison"
	// RoleAuditor (安全审计员) reads the audit log and nothing else.
	RoleAuditor = "auditor"
)

// Unit kinds and assignment roles.
const (
	UnitTownship = "township" // 乡镇/街道
	UnitCounty   = "county"   // 县直部门

	AssignGrassroots = "grassroots"
	AssignCounty     = "county"
)

// Unit is a township or a county department.
type Unit struct {
	ID        uint64    `gorm:"primaryKey"`
	Code      string    `gorm:"size:32;not null;uniqueIndex"`
	Name      string    `gorm:"size:100;not null"`
	Kind      string    `gorm:"size:16;not null"`
	Active    bool      `gorm:"not null"`
	CreatedAt time.Time `gorm:"not null"`
}

// User is a staff account. A liaison belongs to exactly one unit.
type User struct {
	ID                 uint64 `gorm:"primaryKey"`
	Username           string `gorm:"size:64;not null;uniqueIndex"`
	PasswordHash       string `gorm:"size:255;not null"`
	Role               string `gorm:"size:16;not null"`
	UnitID             *uint64
	Email              string `gorm:"size:254;not null"`
	MustChangePassword bool   `gorm:"not null"`
	FailedLogins       int    `gorm:"not null"`
	LockedUntil        *time.Time
	Disabled           bool      `gorm:"not null"`
	CreatedAt          time.Time `gorm:"not null"`
	UpdatedAt          time.Time `gorm:"not null"`
}

// Session is a console login; only the hash of its cookie value is stored.
type Session struct {
	ID        uint64    `gorm:"primaryKey"`
	TokenHash string    `gorm:"size:64;not null;uniqueIndex"`
	UserID    uint64    `gorm:"not null;index"`
	CSRFToken string    `gorm:"column:csrf_token;size:64;not null"`
	ExpiresAt time.Time `gorm:"not null"`
	CreatedAt time.Time `gorm:"not null"`
}

// APIToken is a bearer token for integrations; only its hash is stored.
type APIToken struct {
	ID         uint64    `gorm:"primaryKey"`
	TokenHash  string    `gorm:"size:64;not null;uniqueIndex"`
	UserID     uint64    `gorm:"not null;index"`
	Name       string    `gorm:"size:100;not null"`
	CreatedAt  time.Time `gorm:"not null"`
	LastUsedAt *time.Time
	// ExpiresAt is always set for new tokens; a token from before expiry
	// existed (NULL) no longer answers.
	ExpiresAt *time.Time
}

// TableName keeps the table name readable.
func (APIToken) TableName() string { return "api_tokens" }

// Category is a kind of burden (DESIGN §3).
type Category struct {
	ID          uint64 `gorm:"primaryKey"`
	Code        string `gorm:"size:32;not null;uniqueIndex"`
	Name        string `gorm:"size:64;not null"`
	Description string `gorm:"size:500;not null"`
	Example     string `gorm:"size:500;not null"`
	Sort        int    `gorm:"not null"`
	Active      bool   `gorm:"not null"`
}

// RoutingRule suggests a unit for new tips (智能分办). Empty conditions match
// anything; all set conditions must hold.
type RoutingRule struct {
	ID         uint64 `gorm:"primaryKey"`
	CategoryID *uint64
	TownshipID *uint64
	Keyword    string    `gorm:"size:64;not null"`
	UnitID     uint64    `gorm:"not null"`
	Role       string    `gorm:"size:16;not null"`
	Priority   int       `gorm:"not null"`
	Active     bool      `gorm:"not null"`
	CreatedAt  time.Time `gorm:"not null"`
	// Auto dispatches a matching case without waiting for the office
	// (系统自动派单); other rules only suggest.
	Auto bool `gorm:"not null;default:false"`
}

// Tip is what the tipster submitted. Contact details are encrypted; the
// receipt exists only as a keyed hash.
type Tip struct {
	ID             uint64  `gorm:"primaryKey"`
	ReceiptHash    string  `gorm:"size:64;not null;uniqueIndex"`
	IdempotencyKey *string `gorm:"size:64;uniqueIndex"`
	// SourceRef is a keyed hash of where an imported tip came from (the
	// mailbox message's Message-ID): unique, so a message committed once
	// is never imported again.
	SourceRef      *string `gorm:"size:64;uniqueIndex"`
	Channel        string  `gorm:"size:16;not null"`
	CategoryID     uint64  `gorm:"not null"`
	Title          string  `gorm:"size:400;not null"`
	Content        string  `gorm:"type:text;not null"`
	TownshipID     *uint64
	ImplicatedUnit string  `gorm:"size:400;not null"`
	OccurredOn     *string `gorm:"size:10"`
	Anonymous      bool    `gorm:"not null"`
	ContactEnc     []byte
	CreatedAt      time.Time `gorm:"not null"`
	// ReceivedAt: when a tip entered by staff reached the office.
	ReceivedAt *time.Time
	// IdempotencyRequest is the keyed hash of the canonical request that
	// first used IdempotencyKey; ReceiptSeal is its receipt sealed under
	// the raw key (models/idempotency.go). All three are cleared after 24 h.
	IdempotencyRequest *string `gorm:"size:64"`
	ReceiptSeal        []byte
	// ContactErasedAt is when the retention sweep erased the contact
	// (models/retention.go).
	ContactErasedAt *time.Time
}

// Case is the tracked life of one tip.
type Case struct {
	ID                   uint64 `gorm:"primaryKey"`
	TipID                uint64 `gorm:"not null;uniqueIndex"`
	CategoryID           uint64 `gorm:"not null"`
	TownshipID           *uint64
	Stage                string    `gorm:"size:16;not null"`
	StageEnteredAt       time.Time `gorm:"not null"`
	DueAt                *time.Time
	DueVersion           int `gorm:"not null"`
	TimerStep            int `gorm:"not null"`
	NextTimerAt          *time.Time
	Finding              string `gorm:"size:16;not null"`
	TransferToDiscipline bool   `gorm:"not null"`
	MergedIntoID         *uint64
	RejectReason         string     `gorm:"type:text;not null"`
	ReopenCount          int        `gorm:"not null"`
	RepliedAt            *time.Time // the office's reply of this round; starts the rating window
	Rating               string     `gorm:"size:24;not null"`
	RatedAt              *time.Time
	Suggestions          string `gorm:"type:text;not null"` // JSON list of suggested units from routing rules
	VerifyTeam           string `gorm:"type:text;not null"` // JSON list of unit codes
	ClosedAt             *time.Time
	CreatedAt            time.Time `gorm:"not null"`
	UpdatedAt            time.Time `gorm:"not null"`

	// UnreadMessages counts the tipster's messages the office has not
	// opened the case page since (the queue marks them).
	UnreadMessages int `gorm:"not null"`
}

// Assignment is one unit's share of a dispatched case (双交办: each unit has
// its own deadline, report, review and status).
type Assignment struct {
	ID              uint64     `gorm:"primaryKey"`
	CaseID          uint64     `gorm:"not null"`
	UnitID          uint64     `gorm:"not null"`
	Role            string     `gorm:"size:16;not null"`
	Status          string     `gorm:"size:16;not null"`
	DueFrom         *time.Time // start of the current rectification period
	DueAt           *time.Time
	DueVersion      int `gorm:"not null"`
	TimerStep       int `gorm:"not null"`
	NextTimerAt     *time.Time
	Report          string `gorm:"type:text;not null"`
	ReviewComment   string `gorm:"type:text;not null"`
	ExtensionDays   int    `gorm:"not null"` // working days granted in this period
	ExtensionAsked  int    `gorm:"not null"` // working days of the latest request
	ExtensionReason string `gorm:"type:text;not null"`
	ExtensionStatus string `gorm:"size:16;not null"` // "", requested, approved, rejected
	SubmittedAt     *time.Time
	AcceptedAt      *time.Time
	CreatedAt       time.Time `gorm:"not null"`
	UpdatedAt       time.Time `gorm:"not null"`
}

// Attachment is a file of a tip, a tipster message or a rectification
// report, checked by content and stored in the database so every API
// replica sees it.
type Attachment struct {
	ID           uint64 `gorm:"primaryKey"`
	CaseID       uint64 `gorm:"not null;index"`
	EventID      *uint64
	AssignmentID *uint64
	Filename     string    `gorm:"size:255;not null"`
	ContentType  string    `gorm:"size:100;not null"`
	Size         int64     `gorm:"not null"`
	SHA256       string    `gorm:"column:sha256;size:64;not null"`
	Data         []byte    `gorm:"not null"`
	CreatedAt    time.Time `gorm:"not null"`
	// KeyID names the key that sealed Data; 0 is a file stored in clear
	// before encryption (filecrypt.go).
	KeyID int `gorm:"not null"`
}

// Event is one entry of a case's append-only timeline.
type Event struct {
	ID           uint64    `gorm:"primaryKey"`
	CaseID       uint64    `gorm:"not null"`
	AssignmentID *uint64   // the assignment the event is about, if any
	At           time.Time `gorm:"not null"`
	Kind         string    `gorm:"size:32;not null"`
	ActorID      *uint64
	Actor        string `gorm:"size:100;not null"` // username, "tipster" or "system"
	FromStage    string `gorm:"size:16;not null"`
	ToStage      string `gorm:"size:16;not null"`
	Public       bool   `gorm:"not null"`
	Body         string `gorm:"type:text;not null"`
	Data         string `gorm:"type:text;not null"` // JSON details
}

// OutboxTask is background work written in the same transaction as the
// state change that causes it (DESIGN §8).
type OutboxTask struct {
	ID         uint64    `gorm:"primaryKey"`
	Type       string    `gorm:"size:64;not null"`
	Payload    []byte    `gorm:"not null"`
	Queue      string    `gorm:"size:32;not null"`
	RunAt      time.Time `gorm:"not null"`
	CreatedAt  time.Time `gorm:"not null"`
	EnqueuedAt *time.Time
	DoneAt     *time.Time
	// DeadAt: the queue archived its task after the last retry; the relay
	// leaves the row alone until `jianfu tasks retry`.
	DeadAt *time.Time
}

// TableName is "outbox".
func (OutboxTask) TableName() string { return "outbox" }

// Digest is one mail that must go out exactly once, claimed in the
// database: a unit's weekly digest (scope "unit:<code>"), the county summary
// ("summary"), or one person's daily batch of reminders
// ("notice:<user id>:<YYYY-MM-DD>"). The unique (scope, week) row is the
// claim; see docs/digest.md.
type Digest struct {
	ID     uint64 `gorm:"primaryKey"`
	Scope  string `gorm:"size:40;not null"`
	Week   string `gorm:"size:8;not null"`  // ISO week in Asia/Shanghai, "2026-W48"
	Status string `gorm:"size:16;not null"` // DigestPending, DigestSending, DigestSent, DigestSkipped
	// EntryCount counts a notice batch's notices (NoticeBatchEntry rows; 0
	// for weekly digests, which are built when they are sent). Filing a
	// notice increments it: that write on the batch row is what makes a
	// filer and the batch's sender conflict, on Galera too.
	EntryCount int       `gorm:"not null"`
	CreatedAt  time.Time `gorm:"not null"`
	ClaimedAt  *time.Time
	SentAt     *time.Time
	// ClaimToken is the current sender's: only it may finish or release
	// the claim (a sender whose lease lapsed has lost it).
	ClaimToken *string `gorm:"size:32"`
}

// NoticeBatchEntry is one notice filed into a notice batch: a row each, so
// filing costs the same however many notices the person's day has had.
type NoticeBatchEntry struct {
	DigestID     uint64 `gorm:"primaryKey;autoIncrement:false"`
	EventID      uint64 `gorm:"primaryKey;autoIncrement:false"`
	AssignmentID uint64 `gorm:"primaryKey;autoIncrement:false"` // 0: the case's own stage
}

// AllModels lists every table's model, for schema checks.
func AllModels() []any {
	return []any{&Unit{}, &User{}, &Session{}, &APIToken{}, &Category{}, &RoutingRule{},
		&Tip{}, &Case{}, &Assignment{}, &Attachment{}, &Event{}, &OutboxTask{}, &Digest{}, &NoticeBatchEntry{}, &Holiday{}, &TypicalCase{}, &CaseSearch{}, &CaseStat{}, &StatsRollup{},
		&ServiceEvaluation{}, &Survey{}, &SurveyQuestion{}, &SurveyCode{}, &SurveyResponse{}, &SurveyAnswer{},
		&Disposal{}, &VerificationPart{},
		&LoginThrottle{}, &UserOTP{}, &RecoveryCode{}}
}

// Assignment statuses.
const (
	AssignmentPending   = "pending"   // the unit is rectifying
	AssignmentSubmitted = "submitted" // report in, awaiting office review
	AssignmentReturned  = "returned"  // office sent the report back
	AssignmentAccepted  = "accepted"  // rectification accepted
	// AssignmentNotRequired: the finding was 不属实, so nothing to rectify;
	// a reopened case puts it back to pending.
	AssignmentNotRequired = "not_required"
)

// LoginThrottle counts failed logins per keyed hash of a client address or
// of a username within a window (models/auth.go).
type LoginThrottle struct {
	KeyHash     string    `gorm:"primaryKey;size:64"`
	WindowStart time.Time `gorm:"not null"`
	Failures    int       `gorm:"not null"`
}

// TableName keeps the table name as migrated.
func (LoginThrottle) TableName() string { return "login_throttle" }

// UserOTP is a user's TOTP secret (encrypted); it counts once confirmed.
type UserOTP struct {
	UserID      uint64 `gorm:"primaryKey"`
	SecretEnc   []byte `gorm:"not null"`
	ConfirmedAt *time.Time
	LastStep    int64     `gorm:"not null"`
	CreatedAt   time.Time `gorm:"not null"`
}

// TableName keeps the table name as migrated.
func (UserOTP) TableName() string { return "user_otp" }

// RecoveryCode is one hashed one-time recovery code of a user's 2FA.
type RecoveryCode struct {
	ID       uint64 `gorm:"primaryKey"`
	UserID   uint64 `gorm:"not null"`
	CodeHash string `gorm:"size:64;not null"`
	UsedAt   *time.Time
}
