package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"jianfu/config"
	"jianfu/models"
)

// backupCommand runs `jianfu backup --out FILE` while the service runs.
func backupCommand(ctx context.Context, cfg *config.Config, logger *slog.Logger, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	file := fs.String("out", "", "file to write the backup to (must not exist)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *file == "" {
		return errors.New("usage: jianfu backup --out FILE")
	}
	if cfg.DatabaseURL != "" {
		return models.ErrBackupMySQL
	}
	store, err := openStore(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.Backup(ctx, *file); err != nil {
		return err
	}
	fmt.Fprintf(out, "backup written to %s; keep the secret key (%s/secret.key or JIANFU_SECRET_KEY) with it: without it contact details cannot be read\n", *file, cfg.DataDir)
	return nil
}

// restoreCommand runs `jianfu restore --in FILE` with jianfu stopped.
func restoreCommand(ctx context.Context, cfg *config.Config, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	file := fs.String("in", "", "backup file written by jianfu backup")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *file == "" {
		return errors.New("usage: jianfu restore --in FILE (with jianfu stopped)")
	}
	if cfg.DatabaseURL != "" {
		return models.ErrBackupMySQL
	}
	previous, err := models.RestoreSQLite(ctx, cfg.DataDir, *file)
	if err != nil {
		return err
	}
	if previous != "" {
		fmt.Fprintf(out, "the database it replaced is kept as %s\n", previous)
	}
	fmt.Fprintln(out, "restored; run `jianfu migrate` (or start `jianfu serve`) to bring its schema up to date")
	return nil
}
