package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"jianfu/testenv"
)

func TestPasswordPolicy(t *testing.T) {
	for _, c := range []struct {
		pw   string
		weak bool
	}{
		{"Short-1", true},             // under 10
		{"alllowercaseletters", true}, // one class
		{"lowercase-only-two", true},  // two classes
		{"Lower-and-Upper", false},    // three classes
		{"password-123", false},       // lower, digit, other
		{"my-alice-Pass1", true},      // contains the username
		{"MY-ALICE-pass1", true},      // in any case
		{"减负直通车减负直通车减负直通车减负直通车减负直通车abc1", false}, // CJK counts as "other"; 29 runes, 78 bytes
		{strings.Repeat("Aa1-", 65), true}, // 260 characters: over the bound
	} {
		err := CheckPassword("password", "alice", c.pw)
		if (err != nil) != c.weak || (err != nil && !errors.Is(err, ErrWeakPassword)) {
			t.Errorf("CheckPassword(%q) = %v, want weak=%v", c.pw, err, c.weak)
		}
	}
	for range 20 {
		if pw := GeneratePassword(); CheckPassword("password", "admin", pw) != nil {
			t.Fatalf("generated password %q fails the policy", pw)
		}
	}
}

// TestPasswordHashes: passwords past bcrypt's 72 bytes work, new hashes are
// argon2id, and a bcrypt hash of an older release upgrades at the next
// login.
func TestPasswordHashes(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s := openEmpty(t, b)
			if _, err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			long := strings.Repeat("减负", 20) + "Ab1" // 43 runes, 123 bytes
			if _, err := s.CreateUser(ctx, UserParams{Username: "long", Password: long, Role: RoleOffice}); err != nil {
				t.Fatalf("create user with a 123-byte password: %v", err)
			}
			if _, _, err := s.Login(ctx, "long", long); err != nil {
				t.Fatalf("login with a 123-byte password: %v", err)
			}
			if _, _, err := s.Login(ctx, "long", long[:72]); !errors.Is(err, ErrBadCredentials) {
				t.Fatalf("login with the first 72 bytes: %v, want bad credentials", err)
			}
			legacy, _ := bcrypt.GenerateFromPassword([]byte("Old-password-1"), bcrypt.MinCost)
			if _, err := s.CreateUser(ctx, UserParams{Username: "old", Password: "Temporary-pw-1", Role: RoleOffice}); err != nil {
				t.Fatal(err)
			}
			if err := s.db.Model(&User{}).Where("username = ?", "old").Update("password_hash", string(legacy)).Error; err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.Login(ctx, "old", "Old-password-1"); err != nil {
				t.Fatalf("login with a bcrypt hash: %v", err)
			}
			var u User
			if err := s.db.Where("username = ?", "old").Take(&u).Error; err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
				t.Fatalf("hash after login: %.12s…, want argon2id", u.PasswordHash)
			}
			if _, _, err := s.Login(ctx, "old", "Old-password-1"); err != nil {
				t.Fatalf("login after the upgrade: %v", err)
			}
		})
	}
}

// TestLoginThrottle: one client is refused after clientRefuseAfter
// failures, whether the username exists or not; the account itself still
// opens for its owner; many clients together do lock it, and then the
// right password answers exactly like a wrong one.
func TestLoginThrottle(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s := openEmpty(t, b)
			if _, err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
			s.SetClock(func() time.Time { return now })
			if _, err := s.CreateUser(ctx, UserParams{Username: "real", Password: "Right-pass-1", Role: RoleOffice}); err != nil {
				t.Fatal(err)
			}
			for _, user := range []string{"real", "ghost"} {
				client := "client-" + user
				for i := 1; i <= clientRefuseAfter+2; i++ {
					_, _, err := s.LoginWith(ctx, LoginParams{Username: user, Password: "wrong", Client: client})
					var th *ThrottledError
					if i <= clientRefuseAfter && !errors.Is(err, ErrBadCredentials) {
						t.Fatalf("%s attempt %d: %v, want bad credentials", user, i, err)
					}
					if i > clientRefuseAfter && !errors.As(err, &th) {
						t.Fatalf("%s attempt %d: %v, want throttled", user, i, err)
					}
				}
			}
			if _, _, err := s.LoginWith(ctx, LoginParams{Username: "real", Password: "Right-pass-1", Client: "office"}); err != nil {
				t.Fatalf("owner from another client: %v", err)
			}
			// Enough clients to pass the account's limit.
			for i := range accountLockAfter + 1 {
				s.LoginWith(ctx, LoginParams{Username: "real", Password: "wrong", Client: fmt.Sprintf("bot-%d", i)})
			}
			if _, _, err := s.LoginWith(ctx, LoginParams{Username: "real", Password: "Right-pass-1", Client: "office"}); !errors.Is(err, ErrBadCredentials) {
				t.Fatalf("locked account, right password: %v, want the same bad credentials", err)
			}
			now = now.Add(throttleWindow + time.Second)
			if _, _, err := s.LoginWith(ctx, LoginParams{Username: "real", Password: "Right-pass-1", Client: "office"}); err != nil {
				t.Fatalf("after the window: %v", err)
			}
		})
	}
}

// TestAuditorRoleMigration upgrades a database that has users, sessions,
// tokens and events to the schema that knows the auditor role: the users
// and their events survive, and an auditor can be created.
func TestAuditorRoleMigration(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s := openEmpty(t, b)
			migrateBelow(t, s, 40)
			now := time.Now().UTC()
			if err := s.db.Exec("INSERT INTO users (id, username, password_hash, role, email, created_at, updated_at) VALUES (7, 'office1', 'x', 'office', '', ?, ?)", now, now).Error; err != nil {
				t.Fatal(err)
			}
			if err := s.db.Exec("INSERT INTO api_tokens (token_hash, user_id, name, created_at) VALUES ('h', 7, 'old', ?)", now).Error; err != nil {
				t.Fatal(err)
			}
			if _, err := s.Migrate(ctx); err != nil {
				t.Fatalf("migrate: %v", err)
			}
			var n int64
			s.db.Model(&User{}).Where("id = 7 AND username = 'office1'").Count(&n)
			if n != 1 {
				t.Fatal("the user did not survive the migration")
			}
			if _, err := s.CreateUser(ctx, UserParams{Username: "audit1", Password: "Audit-pass-1", Role: RoleAuditor}); err != nil {
				t.Fatalf("create auditor after migration: %v", err)
			}
			if _, err := s.CreateUser(ctx, UserParams{Username: "bad1", Password: "Audit-pass-1", Role: "root"}); err == nil {
				t.Fatal("an unknown role was accepted")
			}
		})
	}
}
