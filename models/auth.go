package models

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"
)

// Authentication errors.
var (
	// ErrBadCredentials: unknown user, wrong password or disabled account
	// (one error for all, so a caller learns nothing about which).
	ErrBadCredentials = errors.New("bad credentials")
	// ErrForbidden: the caller may see the thing but not do this to it.
	ErrForbidden = errors.New("forbidden")
)

// LockedError says an account is locked after repeated failures.
type LockedError struct{ Until time.Time }

func (e *LockedError) Error() string { return "account locked until " + e.Until.Format(time.RFC3339) }

// Login policy.
const (
	maxFailedLogins = 5
	lockDuration    = 15 * time.Minute
	sessionLifetime = 12 * time.Hour
)

// Principal is the staff user a request acts for.
type Principal struct {
	UserID             uint64
	Username           string
	Role               string
	UnitID             *uint64
	UnitCode           string
	MustChangePassword bool
}

// IsOffice reports whether p runs case actions (office staff or admin).
func (p Principal) IsOffice() bool { return p.Role == RoleOffice || p.Role == RoleAdmin }

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
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("jianfu-dummy-password"), bcrypt.DefaultCost)

// Login checks a password and opens a session. Five failures in a row lock
// the account for 15 minutes.
func (s *Store) Login(ctx context.Context, username, password string) (Principal, SessionToken, error) {
	now := s.clock()
	var u User
	err := s.db.WithContext(ctx).Where("username = ?", UsernameKey(username)).First(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		return Principal{}, SessionToken{}, ErrBadCredentials
	} else if err != nil {
		return Principal{}, SessionToken{}, fmt.Errorf("load user: %w", err)
	}
	if u.LockedUntil != nil && u.LockedUntil.After(now) {
		return Principal{}, SessionToken{}, &LockedError{Until: *u.LockedUntil}
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) != nil || u.Disabled {
		upd := map[string]any{"failed_logins": gorm.Expr("failed_logins + 1")}
		if u.FailedLogins+1 >= maxFailedLogins {
			until := now.Add(lockDuration)
			upd = map[string]any{"failed_logins": 0, "locked_until": until}
			err = &LockedError{Until: until}
		} else {
			err = ErrBadCredentials
		}
		if uerr := s.db.WithContext(ctx).Model(&User{}).Where("id = ?", u.ID).Updates(upd).Error; uerr != nil {
			return Principal{}, SessionToken{}, fmt.Errorf("record failed login: %w", uerr)
		}
		return Principal{}, SessionToken{}, err
	}
	tok := SessionToken{Token: randomToken("s_"), CSRF: rand.Text() + rand.Text(), ExpiresAt: now.Add(sessionLifetime)}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Model(&User{}).Where("id = ?", u.ID).
			Updates(map[string]any{"failed_logins": 0, "locked_until": nil}).Error; err != nil {
			return err
		}
		// Expired sessions of this user go when a new one starts.
		if err := tx.Where("user_id = ? AND expires_at < ?", u.ID, now).Delete(&Session{}).Error; err != nil {
			return err
		}
		return tx.Create(&Session{TokenHash: tokenHash(tok.Token), UserID: u.ID, CSRFToken: tok.CSRF,
			ExpiresAt: tok.ExpiresAt, CreatedAt: now}).Error
	})
	if err != nil {
		return Principal{}, SessionToken{}, fmt.Errorf("open session: %w", err)
	}
	p, err := s.principal(ctx, u.ID)
	return p, tok, err
}

// SessionPrincipal resolves a session cookie; an expired or unknown one is
// ErrNotFound.
func (s *Store) SessionPrincipal(ctx context.Context, token string) (Principal, string, error) {
	row, err := s.credentialOwner(ctx, "sessions", "c.token_hash = ? AND c.expires_at > ?", tokenHash(token), s.clock())
	if err != nil {
		return Principal{}, "", interpret(err, "load session")
	}
	return row.principal(), row.CSRFToken, nil
}

// Logout ends a session.
func (s *Store) Logout(ctx context.Context, token string) error {
	if err := s.db.WithContext(ctx).Where("token_hash = ?", tokenHash(token)).Delete(&Session{}).Error; err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	return nil
}

// CreateAPIToken makes a bearer token for an integration acting as
// username; only its hash is kept, so it is shown once.
func (s *Store) CreateAPIToken(ctx context.Context, username, name string) (string, error) {
	var u User
	if err := s.db.WithContext(ctx).Where("username = ?", UsernameKey(username)).First(&u).Error; err != nil {
		return "", interpret(err, "load user "+username)
	}
	tok := randomToken("jf_")
	err := s.db.WithContext(ctx).Create(&APIToken{TokenHash: tokenHash(tok), UserID: u.ID, Name: name, CreatedAt: s.clock()}).Error
	if err != nil {
		return "", fmt.Errorf("create token: %w", err)
	}
	return tok, nil
}

// TokenPrincipal resolves a bearer token.
func (s *Store) TokenPrincipal(ctx context.Context, token string) (Principal, error) {
	row, err := s.credentialOwner(ctx, "api_tokens", "c.token_hash = ?", tokenHash(token))
	if err != nil {
		return Principal{}, interpret(err, "load token")
	}
	return row.principal(), nil
}

// ChangePassword replaces a user's password after checking the old one.
func (s *Store) ChangePassword(ctx context.Context, userID uint64, oldPassword, newPassword string) error {
	var u User
	if err := s.db.WithContext(ctx).First(&u, userID).Error; err != nil {
		return interpret(err, "load user")
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(oldPassword)) != nil {
		return invalid("old_password", "原密码不正确")
	}
	if len([]rune(newPassword)) < 8 {
		return invalid("new_password", "新密码至少8位")
	}
	if newPassword == oldPassword {
		return invalid("new_password", "新密码不能与原密码相同")
	}
	hash, err := hashPassword(newPassword)
	if err != nil {
		return err
	}
	return s.db.WithContext(ctx).Model(&User{}).Where("id = ?", u.ID).Updates(map[string]any{
		"password_hash": hash, "must_change_password": false, "updated_at": s.clock()}).Error
}

// principal loads a user as a Principal; disabled users have none.
func (s *Store) principal(ctx context.Context, userID uint64) (Principal, error) {
	var row principalRow
	err := s.db.WithContext(ctx).Table("users").Select("users.*, units.code AS unit_code").
		Joins("LEFT JOIN units ON units.id = users.unit_id").Where("users.id = ? AND users.disabled = ?", userID, false).
		Take(&row).Error
	if err != nil {
		return Principal{}, interpret(err, "load principal")
	}
	return row.principal(), nil
}

// credentialOwner loads, in one query, the enabled user (with the unit's
// code) that owns the row of credentials, sessions or api_tokens (aliased
// c), that cond selects; a session's CSRF token comes along.
func (s *Store) credentialOwner(ctx context.Context, credentials, cond string, args ...any) (principalRow, error) {
	cols := "users.*, units.code AS unit_code"
	if credentials == "sessions" {
		cols += ", c.csrf_token"
	}
	var row principalRow
	err := s.db.WithContext(ctx).Table(credentials+" c").Select(cols).
		Joins("JOIN users ON users.id = c.user_id AND users.disabled = ?", false).
		Joins("LEFT JOIN units ON units.id = users.unit_id").Where(cond, args...).Take(&row).Error
	return row, err
}

type principalRow struct {
	User
	UnitCode  *string
	CSRFToken string // a session's, from credentialOwner
}

func (r principalRow) principal() Principal {
	p := Principal{UserID: r.ID, Username: r.Username, Role: r.Role, UnitID: r.UnitID,
		MustChangePassword: r.MustChangePassword}
	if r.UnitCode != nil {
		p.UnitCode = *r.UnitCode
	}
	return p
}
