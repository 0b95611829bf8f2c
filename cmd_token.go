package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"jianfu/config"
)

// tokenCommand is `jianfu token create --username U [--name N]`: it prints
// a bearer API token once.
func tokenCommand(ctx context.Context, cfg *config.Config, logger *slog.Logger, args []string, out io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: jianfu token create --username U [--name NAME]")
	}
	fs := flag.NewFlagSet("token create", flag.ContinueOnError)
	username := fs.String("username", "", "the user the token acts as")
	name := fs.String("name", "api", "what the token is for")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *username == "" {
		return errors.New("token create: --username is required")
	}
	store, err := openCurrentStore(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer store.Close()
	tok, err := store.CreateAPIToken(ctx, *username, *name)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, tok)
	return nil
}
