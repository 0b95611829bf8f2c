package models

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Authentication errors.
var (
	// ErrBadCredentials: unknown user, wrong password, disabled or locked
	// account (one error for all, so a caller learns nothing about which).
	ErrBadCredentials = errors.New("bad credentials")
	// ErrOTPRequired: the password was right and the account uses a second
	// factor, but no code came with it.
	ErrOTPRequired = errors.New("otp required")
	// ErrBadOTP: the code or recovery code is wrong or already used.
	ErrBadOTP = errors.New("bad otp")
	// ErrForbidden: the caller may see the thing but not do this to it.
	ErrForbidden = errors.New("forbidden")
)

// ThrottledError refuses a login from a client that failed too often.
type ThrottledError struct{ RetryAfter time.Duration }

func (e *ThrottledError) Error() string { return "login throttled for " + e.RetryAfter.String() }

// Login policy (DESIGN §10.2). Failures count in a window per client (a
// keyed hash of its address) and per username (known or not, so the two
// behave alike). A client is slowed after clientSlowAfter failures and
// refused after clientRefuseAfter; an account stops accepting its password
// only after accountLockAfter failures, which one client cannot reach: a
// stranger needs many addresses to lock somebody out.
const (
	throttleWindow    = 15 * time.Minute
	clientSlowAfter   = 5
	clientRefuseAfter = 20
	accountLockAfter  = 50
	slowStep          = 500 * time.Millisecond
	slowMax           = 5 * time.Second
	// SessionMaxLifetime bounds a session whatever its activity.
	SessionMaxLifetime = 12 * time.Hour
)

// AuthPolicy holds the configured credential lifetimes (JIANFU_SESSION_IDLE,
// JIANFU_TOKEN_TTL, JIANFU_REQUIRE_2FA).
type AuthPolicy struct {
	SessionIdle time.Duration
	TokenTTL    time.Duration
	// Require2FA lists the roles that must use a second factor.
	Require2FA []string
}

// DefaultAuthPolicy is the policy with nothing configured.
func DefaultAuthPolicy() AuthPolicy {
	return AuthPolicy{SessionIdle: 30 * time.Minute, TokenTTL: 90 * 24 * time.Hour, Require2FA: []string{RoleAdmin, RoleAuditor}}
}

// SetAuthPolicy installs the configured policy (main and the API do, from
// config).
func (s *Store) SetAuthPolicy(p AuthPolicy) { s.auth.Store(&p) }

// AuthPolicy is the policy in force.
func (s *Store) AuthPolicy() AuthPolicy {
	if p := s.auth.Load(); p != nil {
		return *p
	}
	return DefaultAuthPolicy()
}

// Principal is the staff user a request acts for.
type Principal struct {
	UserID             uint64
	Username           string
	Role               string
	UnitID             *uint64
	UnitCode           string
	MustChangePassword bool
	// OTPEnabled: the user has a confirmed second factor.
	OTPEnabled bool
	// SessionID or TokenID is the credential of this request.
	SessionID, TokenID uint64
}

// IsOffice reports whether p runs case actions (office staff or admin).
func (p Principal) IsOffice() bool { return p.Role == RoleOffice || p.Role == RoleAdmin }

// NeedsOTPEnrolment reports whether p's role must use a second factor that
// p has not set up yet (only sessions: tokens come from an authenticated
// user or the CLI).
func (p Principal) NeedsOTPEnrolment(required []string) bool {
	if p.OTPEnabled || p.SessionID == 0 {
		return false
	}
	for _, r := range required {
		if r == p.Role {
			return true
		}
	}
	return false
}

// SessionToken is a new login's cookie value and CSRF token.
type SessionToken struct {
	Token     string
	CSRF      string
	ExpiresAt time.Time
}

func randomToken(prefix string) string { return prefix + rand.Text() + rand.Text() }

func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// dummyHash keeps the time of a login for an unknown user equal to a
// wrong password's.
var dummyHash, _ = hashPassword("jianfu-dummy-Password-1")

// LoginParams is one login attempt.
type LoginParams struct {
	Username, Password string
	// OTP is a TOTP code or a recovery code, for accounts with 2FA.
	OTP string
	// Client is the keyed hash of the client's address ("" counts nothing
	// per client: the CLI and tests of the store).
	Client string
}

// Login checks a password and opens a session (see LoginWith).
func (s *Store) Login(ctx context.Context, username, password string) (Principal, SessionToken, error) {
	return s.LoginWith(ctx, LoginParams{Username: username, Password: password})
}

// LoginWith checks credentials and opens a session. Every attempt first
// takes a slot in the client's failure count in one atomic statement, so
// parallel attempts cannot all slip in before the count is read; a
// successful login gives the slot back.
func (s *Store) LoginWith(ctx context.Context, p LoginParams) (Principal, SessionToken, error) {
	now := s.clock()
	clientKey, accountKey := "", s.keyedHash("login-account", UsernameKey(p.Username))
	if p.Client != "" {
		clientKey = s.keyedHash("login-client", p.Client)
		n, start, err := s.countFailure(ctx, clientKey, now)
		if err != nil {
			return Principal{}, SessionToken{}, err
		}
		if n > clientRefuseAfter {
			return Principal{}, SessionToken{}, &ThrottledError{RetryAfter: start.Add(throttleWindow).Sub(now)}
		}
		if n == 1 {
			// A new window: drop the counts of windows that have passed, so
			// usernames sprayed at the login do not pile up.
			if err := s.db.WithContext(ctx).Where("window_start < ?", now.Add(-throttleWindow)).
				Delete(&LoginThrottle{}).Error; err != nil {
				s.log.WarnContext(ctx, "purge login counts", "err", err)
			}
		}
	}
	fail := func(err error) (Principal, SessionToken, error) {
		if _, _, cerr := s.countFailure(ctx, accountKey, now); cerr != nil {
			return Principal{}, SessionToken{}, cerr
		}
		s.slowDown(ctx, clientKey)
		return Principal{}, SessionToken{}, err
	}
	var u User
	err := s.db.WithContext(ctx).Where("username = ?", UsernameKey(p.Username)).First(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		verifyPassword(dummyHash, p.Password)
		return fail(ErrBadCredentials)
	} else if err != nil {
		return Principal{}, SessionToken{}, fmt.Errorf("load user: %w", err)
	}
	locked, err := s.failures(ctx, accountKey, now)
	if err != nil {
		return Principal{}, SessionToken{}, err
	}
	ok, stale := verifyPassword(u.PasswordHash, p.Password)
	if !ok || u.Disabled || locked >= accountLockAfter {
		return fail(ErrBadCredentials)
	}
	err = s.checkSecondFactor(ctx, u.ID, p.OTP, now)
	if errors.Is(err, ErrBadOTP) {
		return fail(err)
	} else if err != nil {
		if errors.Is(err, ErrOTPRequired) {
			s.releaseFailure(ctx, clientKey)
		}
		return Principal{}, SessionToken{}, err
	}
	// The cookie lives as long as a session may (12 h); the server ends
	// the session earlier when it is idle.
	tok := SessionToken{Token: randomToken("s_"), CSRF: rand.Text() + rand.Text(), ExpiresAt: now.Add(SessionMaxLifetime)}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		upd := map[string]any{"failed_logins": 0, "locked_until": nil}
		if stale {
			hash, err := hashPassword(p.Password)
			if err != nil {
				return err
			}
			upd["password_hash"] = hash
		}
		if err := tx.Model(&User{}).Where("id = ?", u.ID).Updates(upd).Error; err != nil {
			return err
		}
		if err := tx.Where("key_hash = ?", accountKey).Delete(&LoginThrottle{}).Error; err != nil {
			return err
		}
		// Expired sessions of this user go when a new one starts.
		if err := tx.Where("user_id = ? AND expires_at < ?", u.ID, now).Delete(&Session{}).Error; err != nil {
			return err
		}
		return tx.Create(&Session{TokenHash: tokenHash(tok.Token), UserID: u.ID, CSRFToken: tok.CSRF,
			ExpiresAt: s.sessionExpiry(now, now), CreatedAt: now}).Error
	})
	if err != nil {
		return Principal{}, SessionToken{}, fmt.Errorf("open session: %w", err)
	}
	s.releaseFailure(ctx, clientKey)
	pr, _, err := s.SessionPrincipal(ctx, tok.Token)
	return pr, tok, err
}

// countFailure adds one to key's count in the current window (starting a
// new window when the old one has passed) and returns the new count, in
// one transaction: the upsert locks the row, so concurrent callers each
// see their own increment.
func (s *Store) countFailure(ctx context.Context, key string, now time.Time) (int, time.Time, error) {
	old := now.Add(-throttleWindow)
	upsert := `INSERT INTO login_throttle (key_hash, window_start, failures) VALUES (?, ?, 1)
ON DUPLICATE KEY UPDATE failures = CASE WHEN window_start < ? THEN 1 ELSE failures + 1 END,
window_start = CASE WHEN window_start < ? THEN VALUES(window_start) ELSE window_start END`
	if s.dialect == "sqlite" {
		upsert = `INSERT INTO login_throttle (key_hash, window_start, failures) VALUES (?, ?, 1)
ON CONFLICT(key_hash) DO UPDATE SET failures = CASE WHEN window_start < ? THEN 1 ELSE failures + 1 END,
window_start = CASE WHEN window_start < ? THEN excluded.window_start ELSE window_start END`
	}
	var row LoginThrottle
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec(upsert, key, now, old, old).Error; err != nil {
			return err
		}
		return tx.Where("key_hash = ?", key).Take(&row).Error
	})
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("count login failure: %w", err)
	}
	return row.Failures, row.WindowStart, nil
}

// failures is key's count in the current window.
func (s *Store) failures(ctx context.Context, key string, now time.Time) (int, error) {
	var rows []LoginThrottle
	err := s.db.WithContext(ctx).Where("key_hash = ? AND window_start >= ?", key, now.Add(-throttleWindow)).Limit(1).Find(&rows).Error
	if err != nil {
		return 0, fmt.Errorf("read login failures: %w", err)
	}
	if len(rows) == 0 {
		return 0, nil
	}
	return rows[0].Failures, nil
}

// releaseFailure gives back the slot a successful attempt took.
func (s *Store) releaseFailure(ctx context.Context, key string) {
	if key == "" {
		return
	}
	err := s.db.WithContext(ctx).Model(&LoginThrottle{}).Where("key_hash = ? AND failures > 0", key).
		Update("failures", gorm.Expr("failures - 1")).Error
	if err != nil {
		s.log.WarnContext(ctx, "release login slot", "err", err)
	}
}

// slowDown makes a client that keeps failing wait before its answer.
func (s *Store) slowDown(ctx context.Context, clientKey string) {
	if clientKey == "" {
		return
	}
	n, err := s.failures(ctx, clientKey, s.clock())
	if err != nil || n <= clientSlowAfter {
		return
	}
	d := min(time.Duration(n-clientSlowAfter)*slowStep, slowMax)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// sessionExpiry is when a session created at created and last used at now
// ends: after the idle time, never past the maximum lifetime.
func (s *Store) sessionExpiry(created, now time.Time) time.Time {
	end := now.Add(s.AuthPolicy().SessionIdle)
	if limit := created.Add(SessionMaxLifetime); end.After(limit) {
		return limit
	}
	return end
}

// SessionPrincipal resolves a session cookie and extends its idle time;
// an expired or unknown one is ErrNotFound.
func (s *Store) SessionPrincipal(ctx context.Context, token string) (Principal, SessionToken, error) {
	now := s.clock()
	row, err := s.credentialOwner(ctx, "sessions", "c.token_hash = ? AND c.expires_at > ?", tokenHash(token), now)
	if err != nil {
		return Principal{}, SessionToken{}, interpret(err, "load session")
	}
	p := row.principal()
	p.SessionID = row.CredentialID
	exp := row.ExpiresAt
	// Sliding expiry, written at most about once a minute per session.
	if next := s.sessionExpiry(row.CredentialCreatedAt, now); next.Sub(exp) > time.Minute {
		if err := s.db.WithContext(ctx).Model(&Session{}).Where("id = ?", row.CredentialID).
			Update("expires_at", next).Error; err != nil {
			return Principal{}, SessionToken{}, fmt.Errorf("extend session: %w", err)
		}
		exp = next
	}
	return p, SessionToken{Token: token, CSRF: row.CSRFToken, ExpiresAt: exp}, nil
}

// Logout ends a session.
func (s *Store) Logout(ctx context.Context, token string) error {
	if err := s.db.WithContext(ctx).Where("token_hash = ?", tokenHash(token)).Delete(&Session{}).Error; err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	return nil
}

// TokenPrincipal resolves a bearer token that is neither expired nor
// revoked, and notes when it was used (at most once a minute).
func (s *Store) TokenPrincipal(ctx context.Context, token string) (Principal, error) {
	now := s.clock()
	row, err := s.credentialOwner(ctx, "api_tokens", "c.token_hash = ? AND c.expires_at > ?", tokenHash(token), now)
	if err != nil {
		return Principal{}, interpret(err, "load token")
	}
	if row.LastUsedAt == nil || now.Sub(*row.LastUsedAt) > time.Minute {
		if err := s.db.WithContext(ctx).Model(&APIToken{}).Where("id = ?", row.CredentialID).
			Update("last_used_at", now).Error; err != nil {
			return Principal{}, fmt.Errorf("note token use: %w", err)
		}
	}
	p := row.principal()
	p.TokenID = row.CredentialID
	return p, nil
}

// ChangePassword replaces p's password after checking the old one, and
// ends every other session and every token of the user: only the
// credential that made the change survives.
func (s *Store) ChangePassword(ctx context.Context, p Principal, oldPassword, newPassword string) error {
	var u User
	if err := s.db.WithContext(ctx).First(&u, p.UserID).Error; err != nil {
		return interpret(err, "load user")
	}
	if ok, _ := verifyPassword(u.PasswordHash, oldPassword); !ok {
		return invalid("old_password", "原密码不正确")
	}
	if err := CheckPassword("new_password", u.Username, newPassword); err != nil {
		return err
	}
	if newPassword == oldPassword {
		return &WeakPasswordError{"new_password", "新密码不能与原密码相同"}
	}
	hash, err := hashPassword(newPassword)
	if err != nil {
		return err
	}
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Model(&User{}).Where("id = ?", u.ID).Updates(map[string]any{
			"password_hash": hash, "must_change_password": false, "updated_at": s.clock()}).Error; err != nil {
			return fmt.Errorf("change password: %w", err)
		}
		return endCredentials(tx, u.ID, p.SessionID, p.TokenID)
	})
}

// endCredentials deletes the user's sessions and tokens but the ones
// named (0: none kept).
func endCredentials(tx *gorm.DB, userID, keepSession, keepToken uint64) error {
	if err := tx.Where("user_id = ? AND id <> ?", userID, keepSession).Delete(&Session{}).Error; err != nil {
		return fmt.Errorf("end sessions: %w", err)
	}
	if err := tx.Where("user_id = ? AND id <> ?", userID, keepToken).Delete(&APIToken{}).Error; err != nil {
		return fmt.Errorf("end tokens: %w", err)
	}
	return nil
}

// credentialOwner loads, in one query, the enabled user (with the unit's
// code and whether 2FA is on) that owns the row of credentials, sessions
// or api_tokens (aliased c), that cond selects.
func (s *Store) credentialOwner(ctx context.Context, credentials, cond string, args ...any) (principalRow, error) {
	cols := "users.*, units.code AS unit_code, c.id AS credential_id, c.created_at AS credential_created_at, " +
		"c.expires_at AS credential_expires_at, user_otp.confirmed_at AS otp_confirmed_at"
	if credentials == "sessions" {
		cols += ", c.csrf_token"
	} else {
		cols += ", c.last_used_at AS credential_last_used_at"
	}
	var row principalRow
	err := s.db.WithContext(ctx).Table(credentials+" c").Select(cols).
		Joins("JOIN users ON users.id = c.user_id AND users.disabled = ?", false).
		Joins("LEFT JOIN units ON units.id = users.unit_id").
		Joins("LEFT JOIN user_otp ON user_otp.user_id = users.id").Where(cond, args...).Take(&row).Error
	row.ExpiresAt, row.LastUsedAt = row.CredentialExpiresAt, row.CredentialLastUsedAt
	return row, err
}

type principalRow struct {
	User
	UnitCode             *string
	CSRFToken            string // a session's
	CredentialID         uint64
	CredentialCreatedAt  time.Time
	CredentialExpiresAt  time.Time
	CredentialLastUsedAt *time.Time
	OTPConfirmedAt       *time.Time
	// The credential's times, copied from the aliased columns.
	ExpiresAt  time.Time  `gorm:"-"`
	LastUsedAt *time.Time `gorm:"-"`
}

func (r principalRow) principal() Principal {
	p := Principal{UserID: r.ID, Username: r.Username, Role: r.Role, UnitID: r.UnitID,
		MustChangePassword: r.MustChangePassword, OTPEnabled: r.OTPConfirmedAt != nil}
	if r.UnitCode != nil {
		p.UnitCode = *r.UnitCode
	}
	return p
}
