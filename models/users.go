package models

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"
)

// hashPassword uses bcrypt, a slow KDF made for passwords.
func hashPassword(pw string) (string, error) {
	b, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
	return string(b), err
}

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
	if len([]rune(p.Password)) < 8 {
		f["password"] = "密码至少8位"
	}
	switch p.Role {
	case RoleAdmin, RoleOffice, RoleLeader, RoleLiaison:
	default:
		f["role"] = "角色应为 admin、office、leader 或 liaison"
	}
	if p.Role == RoleLiaison && p.UnitCode == "" {
		f["unit"] = "单位联络员必须指定所属单位"
	}
	if len(f) > 0 {
		return User{}, &ValidationError{Fields: f}
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
	pw := rand.Text()[:16]
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

// ResetPassword sets a new password that must be changed at next login and
// lifts a lock-out.
func (s *Store) ResetPassword(ctx context.Context, username, password string) error {
	if len([]rune(password)) < 8 {
		return invalid("password", "密码至少8位")
	}
	hash, err := hashPassword(password)
	if err != nil {
		return err
	}
	res := s.db.WithContext(ctx).Model(&User{}).Where("username = ?", UsernameKey(username)).Updates(map[string]any{
		"password_hash": hash, "must_change_password": true, "failed_logins": 0, "locked_until": nil,
		"updated_at": s.clock()})
	if res.Error != nil {
		return fmt.Errorf("reset password: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("user %q: %w", username, ErrNotFound)
	}
	return nil
}
