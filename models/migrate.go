package models

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

//go:embed migrations
var migrationFiles embed.FS

// Migration is one forward-only schema step.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations returns the embedded steps for a dialect, in order.
func Migrations(dialect string) ([]Migration, error) {
	dir := path.Join("migrations", dialect)
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var out []Migration
	for _, e := range entries {
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration file %q: want NNN_name.sql", e.Name())
		}
		b, err := migrationFiles.ReadFile(path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: name, SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	// Versions may leave gaps (work developed side by side reserves ranges),
	// but never repeat.
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("migration %03d_%s: version %d is used twice", out[i].Version, out[i].Name, out[i].Version)
		}
	}
	return out, nil
}

const createVersionTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version INT NOT NULL PRIMARY KEY,
  name VARCHAR(100) NOT NULL,
  applied_at DATETIME NOT NULL
)`

// SchemaVersion returns the highest applied and the latest known schema
// version, and how many known steps are not applied yet.
func (s *Store) SchemaVersion(ctx context.Context) (current, latest, missing int, err error) {
	ms, err := Migrations(s.dialect)
	if err != nil {
		return 0, 0, 0, err
	}
	if len(ms) > 0 {
		latest = ms[len(ms)-1].Version
	}
	if !s.db.WithContext(ctx).Migrator().HasTable("schema_migrations") {
		return 0, latest, len(ms), nil
	}
	var applied []int
	if err := s.db.WithContext(ctx).Raw("SELECT version FROM schema_migrations").Scan(&applied).Error; err != nil {
		return 0, latest, 0, fmt.Errorf("read schema version: %w", err)
	}
	done := map[int]bool{}
	for _, v := range applied {
		done[v] = true
		current = max(current, v)
	}
	for _, m := range ms {
		if !done[m.Version] {
			missing++
		}
	}
	return current, latest, missing, nil
}

// CheckSchema returns ErrSchemaBehind unless every migration is applied.
func (s *Store) CheckSchema(ctx context.Context) error {
	cur, latest, missing, err := s.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if missing > 0 {
		return fmt.Errorf("schema version %d, this binary needs %d (%d steps missing): %w", cur, latest, missing, ErrSchemaBehind)
	}
	if cur > latest {
		return fmt.Errorf("schema version %d is newer than this binary (%d): upgrade jianfu", cur, latest)
	}
	return nil
}

// Migrate applies the missing migrations and returns how many ran. On MySQL
// a named lock keeps two processes from migrating at once; each step is one
// DDL statement (MySQL commits DDL implicitly) recorded right after it runs.
func (s *Store) Migrate(ctx context.Context) (int, error) {
	ms, err := Migrations(s.dialect)
	if err != nil {
		return 0, err
	}
	db := s.db.WithContext(ctx)
	if s.dialect == "mysql" {
		// The lock belongs to one connection: run everything on it.
		conn, err := s.db.DB()
		if err != nil {
			return 0, err
		}
		c, err := conn.Conn(ctx)
		if err != nil {
			return 0, fmt.Errorf("migrate: %w", err)
		}
		defer c.Close()
		var got int
		if err := c.QueryRowContext(ctx, "SELECT GET_LOCK('jianfu_migrate', 60)").Scan(&got); err != nil || got != 1 {
			return 0, fmt.Errorf("migrate: could not take the migration lock: %v", err)
		}
		defer c.ExecContext(context.Background(), "SELECT RELEASE_LOCK('jianfu_migrate')")
		db, err = gorm.Open(s.db.Dialector, &gorm.Config{ConnPool: c, Logger: s.db.Logger})
		if err != nil {
			return 0, err
		}
		db = db.WithContext(ctx)
	}
	if err := db.Exec(createVersionTable).Error; err != nil {
		return 0, fmt.Errorf("create schema_migrations: %w", err)
	}
	var applied []int
	if err := db.Raw("SELECT version FROM schema_migrations").Scan(&applied).Error; err != nil {
		return 0, fmt.Errorf("read schema_migrations: %w", err)
	}
	done := map[int]bool{}
	for _, v := range applied {
		done[v] = true
	}
	n := 0
	for _, m := range ms {
		if done[m.Version] {
			continue
		}
		step := func(tx *gorm.DB) error {
			for _, stmt := range strings.Split(m.SQL, ";\n") {
				if strings.TrimSpace(stmt) == "" {
					continue
				}
				if err := tx.Exec(stmt).Error; err != nil {
					return err
				}
			}
			return tx.Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
				m.Version, m.Name, time.Now().UTC()).Error
		}
		if s.dialect == "sqlite" {
			err = db.Transaction(step) // SQLite DDL is transactional
		} else {
			err = step(db)
		}
		if err != nil {
			return n, fmt.Errorf("migration %03d_%s: %w", m.Version, m.Name, err)
		}
		n++
	}
	return n, nil
}
