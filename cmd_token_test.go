package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"jianfu/config"
	"jianfu/testenv"
)

// TestTokenAndUserCommands: `jianfu token create|list|revoke` and `jianfu
// user disable|enable` do what they say, a --ttl past JIANFU_TOKEN_TTL is
// refused, and each change lands in the audit log as the operator's.
func TestTokenAndUserCommands(t *testing.T) {
	b := testenv.Backends(t)[0]
	ctx := context.Background()
	dbURL, dir := b.Database(t)
	env := map[string]string{"JIANFU_DATA_DIR": dir, "JIANFU_DATABASE_URL": dbURL, "JIANFU_TOKEN_TTL": "30d",
		"JIANFU_SECRET_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := openStore(ctx, cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if _, err := migrate(ctx, store); err != nil {
		t.Fatal(err)
	}
	run := func(cmd func(context.Context, *config.Config, *slog.Logger, []string, io.Writer) error, args ...string) (string, error) {
		var out bytes.Buffer
		err := cmd(ctx, cfg, logger, args, &out)
		return out.String(), err
	}
	if out, err := run(userCommand, "add", "--username", "office1", "--password", "weak", "--role", "office"); err == nil {
		t.Fatalf("a weak password was accepted: %s", out)
	}
	if _, err := run(userCommand, "add", "--username", "office1", "--password", "Office-pass-1", "--role", "office"); err != nil {
		t.Fatal(err)
	}
	if _, err := run(tokenCommand, "create", "--username", "office1", "--ttl", "31d"); err == nil {
		t.Fatal("a token past JIANFU_TOKEN_TTL was created")
	}
	tok, err := run(tokenCommand, "create", "--username", "office1", "--ttl", "7d", "--name", "接口")
	if err != nil || !strings.HasPrefix(tok, "jf_") {
		t.Fatalf("token create: %q %v", tok, err)
	}
	if _, err := store.TokenPrincipal(ctx, strings.TrimSpace(tok)); err != nil {
		t.Fatalf("the new token does not answer: %v", err)
	}
	list, err := run(tokenCommand, "list", "--username", "office1")
	if err != nil || !strings.Contains(list, "接口") || strings.Contains(list, strings.TrimSpace(tok)) {
		t.Fatalf("token list: %v\n%s", err, list)
	}
	id := strings.Fields(strings.Split(list, "\n")[1])[0]
	if _, err := run(tokenCommand, "revoke", id); err != nil {
		t.Fatal(err)
	}
	if _, err := store.TokenPrincipal(ctx, strings.TrimSpace(tok)); err == nil {
		t.Fatal("a revoked token still answers")
	}
	if _, err := run(userCommand, "disable", "--username", "office1"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := store.Login(ctx, "office1", "Office-pass-1"); err == nil {
		t.Fatal("a disabled user logged in")
	}
	if _, err := run(userCommand, "enable", "--username", "office1"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := store.Login(ctx, "office1", "Office-pass-1"); err != nil {
		t.Fatalf("re-enabled user: %v", err)
	}
	var n int64
	store.DB(context.Background()).Raw("SELECT COUNT(*) FROM audit_log WHERE actor = 'cli'").Scan(&n)
	if n != 5 { // user add, token create, token revoke, disable, enable
		t.Fatalf("audit rows of the commands: %d, want 5", n)
	}
}
