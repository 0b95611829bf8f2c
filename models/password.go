package models

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Passwords are hashed with argon2id (RFC 9106) at the parameters OWASP
// recommends for a server (19 MiB, 2 passes, 1 lane): argon2id takes any
// length, where bcrypt stops at 72 bytes. bcrypt hashes of older releases
// still verify and are replaced at the next successful login.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024 // KiB
	argonThreads = 1
	argonKeyLen  = 32
	argonPrefix  = "$argon2id$"
)

// Password length bounds: the policy's minimum, and a maximum that keeps a
// hostile body from buying unbounded hashing work.
const (
	MinPasswordLen = 10
	MaxPasswordLen = 256
)

// ErrWeakPassword is wrapped by a WeakPasswordError.
var ErrWeakPassword = errors.New("weak password")

// WeakPasswordError says which field's password fails the policy and why
// (zh-CN); the API answers it as 400 weak_password.
type WeakPasswordError struct{ Field, Message string }

func (e *WeakPasswordError) Error() string { return "weak password: " + e.Field }
func (e *WeakPasswordError) Unwrap() error { return ErrWeakPassword }

// CheckPassword applies the password policy of DESIGN §10.2: at least 10
// characters, at most 256, three of the four classes (lower case, upper
// case, digits, others; CJK and other letters count as "others"), and not
// containing the username.
func CheckPassword(field, username, pw string) error {
	n := len([]rune(pw))
	if n < MinPasswordLen || n > MaxPasswordLen {
		return &WeakPasswordError{field, fmt.Sprintf("密码长度应为%d至%d个字符", MinPasswordLen, MaxPasswordLen)}
	}
	var lower, upper, digit, other int
	for _, r := range pw {
		switch {
		case r < 0x80 && unicode.IsLower(r):
			lower = 1
		case r < 0x80 && unicode.IsUpper(r):
			upper = 1
		case r < 0x80 && unicode.IsDigit(r):
			digit = 1
		default:
			other = 1
		}
	}
	if lower+upper+digit+other < 3 {
		return &WeakPasswordError{field, "密码须包含小写字母、大写字母、数字、其他字符中的至少三类"}
	}
	if username != "" && strings.Contains(strings.ToLower(pw), strings.ToLower(username)) {
		return &WeakPasswordError{field, "密码不能包含用户名"}
	}
	return nil
}

// GeneratePassword draws a one-time password that meets the policy.
func GeneratePassword() string {
	t := rand.Text() // 26 characters of A-Z and 2-7
	return strings.ToLower(t[:6]) + "-" + t[6:12] + "-" + t[12:16] + "9"
}

// hashPassword stores pw as argon2id with a random salt.
func hashPassword(pw string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("%sv=%d$m=%d,t=%d,p=%d$%s$%s", argonPrefix, argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// verifyPassword checks pw against an argon2id or bcrypt hash; stale says
// the hash should be replaced by a current one.
func verifyPassword(hash, pw string) (ok, stale bool) {
	if !strings.HasPrefix(hash, argonPrefix) {
		// bcrypt ignores nothing silently: over 72 bytes it errors, which
		// is a mismatch here (no such password could have been stored).
		return bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw)) == nil, true
	}
	parts := strings.Split(hash, "$") // "", argon2id, v=19, m=..,t=..,p=.., salt, key
	if len(parts) != 6 {
		return false, false
	}
	var v int
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil {
		return false, false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m > 1<<20 || t > 16 || p == 0 {
		return false, false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	key, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(key) == 0 {
		return false, false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(key)))
	ok = subtle.ConstantTimeCompare(got, key) == 1
	return ok, m != argonMemory || t != argonTime || p != argonThreads || v != argon2.Version
}

// As lets callers that handle field errors (console forms) treat a weak
// password as one.
func (e *WeakPasswordError) As(target any) bool {
	if ve, ok := target.(**ValidationError); ok {
		*ve = &ValidationError{Fields: map[string]string{e.Field: e.Message}}
		return true
	}
	return false
}
