package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"jianfu/config"
	"jianfu/models"
	"jianfu/models/audit"
)

const tokenUsage = "usage: jianfu token create --username U [--ttl 90d] [--name NAME] | token list [--username U] | token revoke ID"

// tokenCommand is `jianfu token create|list|revoke`: create prints a bearer
// API token once; its lifetime defaults to, and may not exceed,
// JIANFU_TOKEN_TTL.
func tokenCommand(ctx context.Context, cfg *config.Config, logger *slog.Logger, args []string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New(tokenUsage)
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("token "+sub, flag.ContinueOnError)
	username := fs.String("username", "", "the user the token acts as")
	name := fs.String("name", "api", "what the token is for")
	ttl := fs.String("ttl", "", "lifetime such as 30d or 12h (default and maximum: JIANFU_TOKEN_TTL)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var lifetime time.Duration
	if *ttl != "" {
		var err error
		if lifetime, err = parseTTL(*ttl); err != nil {
			return fmt.Errorf("token create --ttl: %w", err)
		}
	}
	store, err := openCurrentStore(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer store.Close()
	log := cliAudit(store, logger)
	switch sub {
	case "create":
		if *username == "" {
			return errors.New("token create: --username is required")
		}
		tok, v, err := store.CreateToken(ctx, models.TokenParams{Username: *username, Name: *name, TTL: lifetime})
		if err != nil {
			return err
		}
		log(ctx, audit.Entry{Action: audit.ActionTokenCreate, Target: "token:" + strconv.FormatUint(v.ID, 10), Detail: "user:" + v.Username})
		fmt.Fprintln(out, tok)
	case "list":
		items, err := store.Tokens(ctx, *username)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tUSERNAME\tNAME\tCREATED\tEXPIRES\tLAST USED")
		for _, t := range items {
			last := "-"
			if t.LastUsedAt != nil {
				last = t.LastUsedAt.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Username, t.Name, t.CreatedAt.Format(time.RFC3339),
				t.ExpiresAt.Format(time.RFC3339), last)
		}
		return tw.Flush()
	case "revoke":
		if fs.NArg() != 1 {
			return errors.New(tokenUsage)
		}
		id, err := strconv.ParseUint(fs.Arg(0), 10, 63)
		if err != nil {
			return fmt.Errorf("token revoke: %q is not a token id", fs.Arg(0))
		}
		v, err := store.RevokeToken(ctx, id)
		if err != nil {
			return err
		}
		log(ctx, audit.Entry{Action: audit.ActionTokenRevoke, Target: "token:" + fs.Arg(0), Detail: "user:" + v.Username})
		fmt.Fprintf(out, "token %d of %s revoked\n", id, v.Username)
	default:
		return errors.New(tokenUsage)
	}
	return nil
}

// parseTTL reads "30d" as days, anything else as a Go duration.
func parseTTL(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		d, err := strconv.Atoi(n)
		if err != nil || d <= 0 {
			return 0, fmt.Errorf("bad number of days %q", s)
		}
		return time.Duration(d) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("want a lifetime such as 30d or 12h, got %q", s)
	}
	return d, nil
}

// cliAudit records a command's action in the audit log, as the operator
// at the console of the server ("cli").
func cliAudit(store *models.Store, logger *slog.Logger) func(context.Context, audit.Entry) {
	a := audit.New(store.DB(context.Background()), store.Now, logger)
	return func(ctx context.Context, e audit.Entry) {
		e.Actor, e.ActorRole, e.Client = "cli", "operator", "cli"
		a.Record(ctx, e)
	}
}
