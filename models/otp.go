package models

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"gorm.io/gorm"
)

// The second factor is TOTP (RFC 6238: SHA-1, 6 digits, 30 s), generated
// and checked by github.com/pquerna/otp against the store's clock. The
// secret is kept encrypted under a key derived from JIANFU_SECRET_KEY; a
// code is accepted one step early or late, and never twice (last_step).
// Ten recovery codes are issued on enrolment, stored as keyed hashes, and
// each works once.

const (
	otpIssuer      = "减负直通车"
	otpPeriod      = 30
	recoveryCodes  = 10
	maxOTPInputLen = 32
)

var otpOpts = totp.ValidateOpts{Period: otpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// OTPEnrolment is a started, unconfirmed enrolment.
type OTPEnrolment struct {
	Secret string
	// URL is the otpauth:// address the QR code carries.
	URL string
	Key *otp.Key
}

// BeginOTP draws a new secret for the user (replacing an unconfirmed one);
// a user whose 2FA is on must have it reset first.
func (s *Store) BeginOTP(ctx context.Context, p Principal) (OTPEnrolment, error) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: otpIssuer, AccountName: p.Username, Period: otpPeriod,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return OTPEnrolment{}, fmt.Errorf("generate otp key: %w", err)
	}
	sealed, err := s.sealWith("otp", []byte(key.Secret()))
	if err != nil {
		return OTPEnrolment{}, err
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var rows []UserOTP
		if err := tx.Where("user_id = ?", p.UserID).Limit(1).Find(&rows).Error; err != nil {
			return err
		}
		if len(rows) > 0 && rows[0].ConfirmedAt != nil {
			return invalid("otp", "两步验证已启用；如需更换，请先由管理员重置")
		}
		if err := tx.Where("user_id = ?", p.UserID).Delete(&UserOTP{}).Error; err != nil {
			return err
		}
		return tx.Create(&UserOTP{UserID: p.UserID, SecretEnc: sealed, CreatedAt: s.clock()}).Error
	})
	if err != nil {
		return OTPEnrolment{}, fmt.Errorf("begin otp: %w", err)
	}
	return OTPEnrolment{Secret: key.Secret(), URL: key.URL(), Key: key}, nil
}

// PendingOTP is the user's unconfirmed enrolment, to show its QR code
// again; ErrNotFound when there is none.
func (s *Store) PendingOTP(ctx context.Context, p Principal) (OTPEnrolment, error) {
	var row UserOTP
	if err := s.db.WithContext(ctx).Where("user_id = ? AND confirmed_at IS NULL", p.UserID).Take(&row).Error; err != nil {
		return OTPEnrolment{}, interpret(err, "load otp")
	}
	secret, err := s.openWith("otp", row.SecretEnc)
	if err != nil {
		return OTPEnrolment{}, err
	}
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(string(secret))
	if err != nil {
		return OTPEnrolment{}, fmt.Errorf("otp secret: %w", err)
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: otpIssuer, AccountName: p.Username, Period: otpPeriod,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1, Secret: raw})
	if err != nil {
		return OTPEnrolment{}, fmt.Errorf("otp key: %w", err)
	}
	return OTPEnrolment{Secret: string(secret), URL: key.URL(), Key: key}, nil
}

// ConfirmOTP turns the pending enrolment on when code matches it, and
// returns the ten recovery codes (shown once).
func (s *Store) ConfirmOTP(ctx context.Context, p Principal, code string) ([]string, error) {
	now := s.clock()
	var codes []string
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var row UserOTP
		if err := tx.Where("user_id = ? AND confirmed_at IS NULL", p.UserID).Take(&row).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return invalid("otp", "请先开始设置两步验证")
			}
			return err
		}
		secret, err := s.openWith("otp", row.SecretEnc)
		if err != nil {
			return err
		}
		step, ok := matchTOTP(string(secret), strings.TrimSpace(code), now)
		if !ok {
			return invalid("otp", "验证码不正确，请核对手机上的验证器和时间")
		}
		if err := tx.Model(&UserOTP{}).Where("user_id = ?", p.UserID).
			Updates(map[string]any{"confirmed_at": now, "last_step": step}).Error; err != nil {
			return err
		}
		if err := tx.Where("user_id = ?", p.UserID).Delete(&RecoveryCode{}).Error; err != nil {
			return err
		}
		for range recoveryCodes {
			c := strings.ToLower(rand.Text()[:10])
			c = c[:5] + "-" + c[5:]
			codes = append(codes, c)
			if err := tx.Create(&RecoveryCode{UserID: p.UserID, CodeHash: s.keyedHash("recovery", c)}).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		var ve *ValidationError
		if errors.As(err, &ve) {
			return nil, err
		}
		return nil, fmt.Errorf("confirm otp: %w", err)
	}
	return codes, nil
}

// ResetOTP removes a user's second factor and recovery codes (an
// administrator's action, for a lost phone); their sessions end.
func (s *Store) ResetOTP(ctx context.Context, username string) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var u User
		if err := tx.Where("username = ?", UsernameKey(username)).Take(&u).Error; err != nil {
			return interpret(err, fmt.Sprintf("user %q", username))
		}
		if err := tx.Where("user_id = ?", u.ID).Delete(&UserOTP{}).Error; err != nil {
			return err
		}
		if err := tx.Where("user_id = ?", u.ID).Delete(&RecoveryCode{}).Error; err != nil {
			return err
		}
		return tx.Where("user_id = ?", u.ID).Delete(&Session{}).Error
	})
}

// RecoveryCodesLeft counts the user's unused recovery codes.
func (s *Store) RecoveryCodesLeft(ctx context.Context, userID uint64) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&RecoveryCode{}).Where("user_id = ? AND used_at IS NULL", userID).Count(&n).Error
	return n, err
}

// checkSecondFactor passes users without 2FA; others need a fresh TOTP
// code or an unused recovery code, each spent atomically.
func (s *Store) checkSecondFactor(ctx context.Context, userID uint64, code string, now time.Time) error {
	var rows []UserOTP
	if err := s.db.WithContext(ctx).Where("user_id = ? AND confirmed_at IS NOT NULL", userID).Limit(1).Find(&rows).Error; err != nil {
		return fmt.Errorf("load otp: %w", err)
	}
	if len(rows) == 0 {
		return nil
	}
	code = strings.ToLower(strings.TrimSpace(code))
	if code == "" {
		return ErrOTPRequired
	}
	if len(code) > maxOTPInputLen {
		return ErrBadOTP
	}
	if len(code) == 6 {
		secret, err := s.openWith("otp", rows[0].SecretEnc)
		if err != nil {
			return err
		}
		step, ok := matchTOTP(string(secret), code, now)
		if !ok {
			return ErrBadOTP
		}
		res := s.db.WithContext(ctx).Model(&UserOTP{}).Where("user_id = ? AND last_step < ?", userID, step).
			Update("last_step", step)
		if res.Error != nil {
			return fmt.Errorf("spend otp: %w", res.Error)
		}
		if res.RowsAffected != 1 {
			return ErrBadOTP // this code (or a later one) was used already
		}
		return nil
	}
	res := s.db.WithContext(ctx).Model(&RecoveryCode{}).
		Where("user_id = ? AND code_hash = ? AND used_at IS NULL", userID, s.keyedHash("recovery", code)).
		Update("used_at", now)
	if res.Error != nil {
		return fmt.Errorf("spend recovery code: %w", res.Error)
	}
	if res.RowsAffected != 1 {
		return ErrBadOTP
	}
	return nil
}

// matchTOTP finds the step, within one step of now, whose code is code.
func matchTOTP(secret, code string, now time.Time) (int64, bool) {
	if len(code) != 6 {
		return 0, false
	}
	for _, skew := range []int64{0, -1, 1} {
		at := now.Add(time.Duration(skew*otpPeriod) * time.Second)
		want, err := totp.GenerateCodeCustom(secret, at, otpOpts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return at.Unix() / otpPeriod, true
		}
	}
	return 0, false
}

// OTPCode is the current code of secret at the store's clock (tests and
// the enrolment check).
func (s *Store) OTPCode(secret string) (string, error) {
	return totp.GenerateCodeCustom(secret, s.clock(), otpOpts)
}

// sealWith encrypts plain with AES-256-GCM under the purpose key.
func (s *Store) sealWith(purpose string, plain []byte) ([]byte, error) {
	aead, err := s.aeadFor(purpose)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := io.ReadFull(rand.Reader, nonce); err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce, plain, []byte(purpose)), nil
}

func (s *Store) openWith(purpose string, sealed []byte) ([]byte, error) {
	aead, err := s.aeadFor(purpose)
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize() {
		return nil, errors.New(purpose + " ciphertext too short")
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(purpose))
	if err != nil {
		return nil, fmt.Errorf("decrypt %s (wrong JIANFU_SECRET_KEY?): %w", purpose, err)
	}
	return plain, nil
}

func (s *Store) aeadFor(purpose string) (cipher.AEAD, error) {
	block, err := aes.NewCipher(s.subkey(purpose))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
