package models

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// ErrBackupMySQL: backup and restore cover the embedded database; MySQL and
// MariaDB are backed up with their own tools (README, "Backup").
var ErrBackupMySQL = errors.New("jianfu backup/restore cover the embedded SQLite database; for MySQL/MariaDB use mysqldump --single-transaction (see README, Backup)")

// Backup writes a consistent copy of the embedded database to path while
// the service runs: SQLite's VACUUM INTO reads one snapshot (writes wait
// for it on the single connection) and writes a compact file. The copy is
// checked before it takes its name, and an existing file is never
// overwritten.
func (s *Store) Backup(ctx context.Context, path string) error {
	if s.dialect != "sqlite" {
		return ErrBackupMySQL
	}
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("backup: %s exists already; name a new file", path)
	}
	tmp := path + ".partial"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("backup: %w", err)
	}
	if err := s.db.WithContext(ctx).Exec("VACUUM INTO ?", tmp).Error; err != nil {
		os.Remove(tmp)
		return fmt.Errorf("backup: %w", err)
	}
	if _, err := CheckBackup(ctx, tmp); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}

// CheckBackup opens a backup read-only, runs SQLite's integrity check and
// returns its schema version.
func CheckBackup(ctx context.Context, path string) (int, error) {
	if _, err := os.Stat(path); err != nil {
		return 0, fmt.Errorf("backup %s: %w", path, err)
	}
	db, err := gorm.Open(sqlite.Open("file:"+path+"?mode=ro"), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		return 0, fmt.Errorf("backup %s: %w", path, err)
	}
	if sqlDB, err := db.DB(); err == nil {
		defer sqlDB.Close()
	}
	var result string
	if err := db.WithContext(ctx).Raw("PRAGMA integrity_check").Scan(&result).Error; err != nil || result != "ok" {
		return 0, fmt.Errorf("backup %s is not a sound SQLite database: %v %s", path, err, result)
	}
	var version int
	if err := db.WithContext(ctx).Raw("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&version).Error; err != nil || version == 0 {
		return 0, fmt.Errorf("backup %s holds no jianfu schema: %v", path, err)
	}
	return version, nil
}

// RestoreSQLite puts the backup src in place of the embedded database in
// dataDir, which no process may be using (stop jianfu first). The database
// it replaces, with its WAL, is kept beside it under a dated name, which
// it returns ("" when there was none). The backup is checked first; its
// schema may be older (run `jianfu migrate` after), never newer.
func RestoreSQLite(ctx context.Context, dataDir, src string) (previous string, err error) {
	version, err := CheckBackup(ctx, src)
	if err != nil {
		return "", err
	}
	ms, err := Migrations("sqlite")
	if err != nil {
		return "", err
	}
	if latest := ms[len(ms)-1].Version; version > latest {
		return "", fmt.Errorf("restore: the backup's schema (%d) is newer than this jianfu (%d): restore with a newer jianfu", version, latest)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", fmt.Errorf("restore: %w", err)
	}
	dst := filepath.Join(dataDir, "jianfu.db")
	tmp := dst + ".restoring"
	if err := copyFile(src, tmp); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("restore: %w", err)
	}
	if _, err := os.Stat(dst); err == nil {
		previous = dst + ".before-restore-" + time.Now().UTC().Format("20060102T150405Z")
		for _, suffix := range []string{"", "-wal", "-shm"} {
			if err := os.Rename(dst+suffix, previous+suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
				return "", fmt.Errorf("restore: keep the old database: %w", err)
			}
		}
	}
	if err := os.Rename(tmp, dst); err != nil {
		return previous, fmt.Errorf("restore: %w", err)
	}
	return previous, nil
}

// copyFile copies src to dst and flushes it to disk.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
