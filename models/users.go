package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// UserParams creates a staff account.
type UserParams struct {
	Username, Password, Role, UnitCode, Email string
	MustChangePassword                        bool
}

// CreateUser adds a staff account; a liaison needs a unit.
func (s *Store) CreateUser(ctx context.Context, p UserParams) (User, error) {
	f := map[string]string{}
	p.Username = UsernameKey(p.Username)
	if p.Username == "" || len(p.Username) > 64 {
		f["username"] = "用户名不能为空且不超过64个字符"
	}
	switch p.Role {
	case RoleAdmin, RoleOffice, RoleLeader, RoleLiaison, RoleAuditor:
	default:
		f["role"] = "角色应为 admin、office、leader、liaison 或 auditor"
	}
	if p.Role == RoleLiaison && p.UnitCode == "" {
		f["unit"] = "单位联络员必须指定所属单位"
	}
	if len(f) > 0 {
		return User{}, &ValidationError{Fields: f}
	}
	if err := CheckPassword("password", p.Username, p.Password); err != nil {
		return User{}, err
	}
	hash, err := hashPassword(p.Password)
	if err != nil {
		return User{}, err
	}
	u := User{Username: p.Username, PasswordHash: hash, Role: p.Role, Email: p.Email, MustChangePassword: p.MustChangePassword}
	if p.UnitCode != "" {
		unit, err := s.UnitByCode(ctx, p.UnitCode)
		if errors.Is(err, ErrNotFound) {
			return User{}, invalid("unit", "单位代码不存在")
		} else if err != nil {
			return User{}, err
		}
		u.UnitID = &unit.ID
	}
	if err := s.db.WithContext(ctx).Create(&u).Error; err != nil {
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			return User{}, invalid("username", "用户名已存在")
		}
		return User{}, fmt.Errorf("create user: %w", err)
	}
	return u, nil
}

// EnsureAdmin creates the first administrator with a random one-time
// password when there is no user at all, and returns that password; ""
// means an account existed already.
func (s *Store) EnsureAdmin(ctx context.Context) (string, error) {
	var n int64
	if err := s.db.WithContext(ctx).Model(&User{}).Count(&n).Error; err != nil {
		return "", fmt.Errorf("count users: %w", err)
	}
	if n > 0 {
		return "", nil
	}
	pw := GeneratePassword()
	_, err := s.CreateUser(ctx, UserParams{Username: "admin", Password: pw, Role: RoleAdmin, MustChangePassword: true})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return "", nil // another process won the race
	}
	return pw, err
}

// UserRow is a user as listed for administrators.
type UserRow struct {
	User
	UnitCode string
}

// Users lists every account with its unit code.
func (s *Store) Users(ctx context.Context) ([]UserRow, error) {
	var rows []UserRow
	err := s.db.WithContext(ctx).Table("users").Select("users.*, units.code AS unit_code").
		Joins("LEFT JOIN units ON units.id = users.unit_id").Order("users.username").Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return rows, nil
}

// ResetPassword sets a new password that must be changed at next login,
// lifts a lock-out, and ends every session and token of the user.
func (s *Store) ResetPassword(ctx context.Context, username, password string) error {
	if err := CheckPassword("password", username, password); err != nil {
		return err
	}
	hash, err := hashPassword(password)
	if err != nil {
		return err
	}
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var u User
		if err := tx.Where("username = ?", UsernameKey(username)).Take(&u).Error; err != nil {
			return interpret(err, fmt.Sprintf("user %q", username))
		}
		if err := tx.Model(&User{}).Where("id = ?", u.ID).Updates(map[string]any{
			"password_hash": hash, "must_change_password": true, "failed_logins": 0, "locked_until": nil,
			"updated_at": s.clock()}).Error; err != nil {
			return fmt.Errorf("reset password: %w", err)
		}
		if err := tx.Where("key_hash = ?", s.keyedHash("login-account", UsernameKey(username))).Delete(&LoginThrottle{}).Error; err != nil {
			return fmt.Errorf("reset password: %w", err)
		}
		return endCredentials(tx, u.ID, 0, 0)
	})
}

// UserRole is the role of the named account (ErrNotFound when none).
func (s *Store) UserRole(ctx context.Context, username string) (string, error) {
	var u User
	if err := s.db.WithContext(ctx).Select("role").Where("username = ?", UsernameKey(username)).Take(&u).Error; err != nil {
		return "", interpret(err, fmt.Sprintf("user %q", username))
	}
	return u.Role, nil
}

// UserUpdate changes an account; nil fields stay as they are.
type UserUpdate struct {
	Disabled *bool
	Role     *string
	// Unit is a unit code; "" removes the unit (not for a liaison).
	Unit *string
}

// UpdateUser applies an administrator's change. Disabling ends every
// session and token of the user at once.
func (s *Store) UpdateUser(ctx context.Context, username string, p UserUpdate) (UserRow, error) {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var u User
		if err := tx.Where("username = ?", UsernameKey(username)).Take(&u).Error; err != nil {
			return interpret(err, fmt.Sprintf("user %q", username))
		}
		upd := map[string]any{"updated_at": s.clock()}
		if p.Role != nil {
			switch *p.Role {
			case RoleAdmin, RoleOffice, RoleLeader, RoleLiaison, RoleAuditor:
				upd["role"] = *p.Role
				u.Role = *p.Role
			default:
				return invalid("role", "角色应为 admin、office、leader、liaison 或 auditor")
			}
		}
		if p.Unit != nil {
			if *p.Unit == "" {
				upd["unit_id"] = nil
				u.UnitID = nil
			} else {
				var unit Unit
				if err := tx.Where("code = ?", UnitCodeKey(*p.Unit)).Take(&unit).Error; errors.Is(err, gorm.ErrRecordNotFound) {
					return invalid("unit", "单位代码不存在")
				} else if err != nil {
					return fmt.Errorf("load unit: %w", err)
				}
				upd["unit_id"] = unit.ID
				u.UnitID = &unit.ID
			}
		}
		if u.Role == RoleLiaison && u.UnitID == nil {
			return invalid("unit", "单位联络员必须指定所属单位")
		}
		if p.Disabled != nil {
			upd["disabled"] = *p.Disabled
		}
		if err := tx.Model(&User{}).Where("id = ?", u.ID).Updates(upd).Error; err != nil {
			return fmt.Errorf("update user: %w", err)
		}
		if p.Disabled != nil && *p.Disabled {
			return endCredentials(tx, u.ID, 0, 0)
		}
		return nil
	})
	if err != nil {
		return UserRow{}, err
	}
	var row UserRow
	err = s.db.WithContext(ctx).Table("users").Select("users.*, units.code AS unit_code").
		Joins("LEFT JOIN units ON units.id = users.unit_id").Where("users.username = ?", UsernameKey(username)).Take(&row).Error
	if err != nil {
		return UserRow{}, interpret(err, "load user")
	}
	return row, nil
}

// TokenParams creates an API token.
type TokenParams struct {
	Username, Name string
	// TTL is the token's lifetime: 0 means the policy's default; more
	// than the policy's maximum is refused.
	TTL time.Duration
}

// TokenView is a token as listed (never its value).
type TokenView struct {
	ID         uint64     `json:"id"`
	Username   string     `json:"username"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

// CreateAPIToken makes a bearer token with the default lifetime.
func (s *Store) CreateAPIToken(ctx context.Context, username, name string) (string, error) {
	tok, _, err := s.CreateToken(ctx, TokenParams{Username: username, Name: name})
	return tok, err
}

// CreateToken makes a bearer token for an integration acting as the user;
// only its hash is kept, so it is shown once.
func (s *Store) CreateToken(ctx context.Context, p TokenParams) (string, TokenView, error) {
	max := s.AuthPolicy().TokenTTL
	switch {
	case p.TTL == 0:
		p.TTL = max
	case p.TTL < 0 || p.TTL > max:
		return "", TokenView{}, invalid("ttl", "令牌有效期应大于0且不超过"+max.String())
	}
	if len([]rune(p.Name)) > 100 {
		return "", TokenView{}, invalid("name", "令牌名称不超过100个字符")
	}
	var u User
	if err := s.db.WithContext(ctx).Where("username = ? AND disabled = ?", UsernameKey(p.Username), false).Take(&u).Error; err != nil {
		return "", TokenView{}, interpret(err, "load user "+p.Username)
	}
	now := s.clock()
	exp := now.Add(p.TTL)
	tok := randomToken("jf_")
	row := APIToken{TokenHash: tokenHash(tok), UserID: u.ID, Name: p.Name, CreatedAt: now, ExpiresAt: &exp}
	if err := s.db.WithContext(ctx).Create(&row).Error; err != nil {
		return "", TokenView{}, fmt.Errorf("create token: %w", err)
	}
	return tok, TokenView{ID: row.ID, Username: u.Username, Name: p.Name, CreatedAt: now, ExpiresAt: exp}, nil
}

// Tokens lists the live tokens, of one user when username is set.
func (s *Store) Tokens(ctx context.Context, username string) ([]TokenView, error) {
	q := s.db.WithContext(ctx).Table("api_tokens").
		Select("api_tokens.id, users.username, api_tokens.name, api_tokens.created_at, api_tokens.expires_at, api_tokens.last_used_at").
		Joins("JOIN users ON users.id = api_tokens.user_id").Where("api_tokens.expires_at > ?", s.clock())
	if username != "" {
		q = q.Where("users.username = ?", UsernameKey(username))
	}
	var rows []TokenView
	if err := q.Order("api_tokens.id").Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return rows, nil
}

// RevokeToken deletes a token; it answers 401 from then on.
func (s *Store) RevokeToken(ctx context.Context, id uint64) (TokenView, error) {
	var v TokenView
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		err := tx.Table("api_tokens").Select("api_tokens.id, users.username, api_tokens.name, api_tokens.created_at, api_tokens.expires_at").
			Joins("JOIN users ON users.id = api_tokens.user_id").Where("api_tokens.id = ?", id).Take(&v).Error
		if err != nil {
			return interpret(err, "load token")
		}
		return tx.Where("id = ?", id).Delete(&APIToken{}).Error
	})
	return v, err
}
