package models

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
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

// createDirtyTable holds the step under way. MySQL commits every DDL
// statement on its own, so a step that dies between its DDL and its
// version row leaves its row here: the schema is dirty and every process
// refuses to start until an operator has looked (`jianfu migrate force`).
const createDirtyTable = `CREATE TABLE IF NOT EXISTS schema_dirty (
  version INT NOT NULL PRIMARY KEY,
  name VARCHAR(100) NOT NULL,
  started_at DATETIME NOT NULL
)`

// ErrSchemaDirty: a migration step started and did not finish.
var ErrSchemaDirty = errors.New("database schema is dirty")

// dirtyError names the step and the commands that repair it.
func dirtyError(version int, name string) error {
	return fmt.Errorf("migration %03d_%s started and did not finish: check that its change is in the database "+
		"(see `jianfu migrate status`), complete it by hand if needed, then run `jianfu migrate force %d`: %w",
		version, name, version, ErrSchemaDirty)
}

// MigrationStep is one known step and its state in the database.
type MigrationStep struct {
	Migration
	Applied   bool
	AppliedAt time.Time
	Dirty     bool // started, not finished
}

// MigrationStatus lists every known step with its state, and applied
// versions this binary does not know (a newer binary ran).
func (s *Store) MigrationStatus(ctx context.Context) (steps []MigrationStep, unknown []int, err error) {
	ms, err := Migrations(s.dialect)
	if err != nil {
		return nil, nil, err
	}
	applied, dirty, err := s.schemaState(ctx)
	if err != nil {
		return nil, nil, err
	}
	known := map[int]bool{}
	for _, m := range ms {
		known[m.Version] = true
		at, ok := applied[m.Version]
		_, d := dirty[m.Version]
		steps = append(steps, MigrationStep{Migration: m, Applied: ok, AppliedAt: at, Dirty: d})
	}
	for v := range applied {
		if !known[v] {
			unknown = append(unknown, v)
		}
	}
	sort.Ints(unknown)
	return steps, unknown, nil
}

// schemaState reads the applied versions and the dirty steps.
func (s *Store) schemaState(ctx context.Context) (applied map[int]time.Time, dirty map[int]string, err error) {
	applied, dirty = map[int]time.Time{}, map[int]string{}
	m := s.db.WithContext(ctx).Migrator()
	if m.HasTable("schema_migrations") {
		var rows []struct {
			Version   int
			AppliedAt time.Time
		}
		if err := s.db.WithContext(ctx).Raw("SELECT version, applied_at FROM schema_migrations").Scan(&rows).Error; err != nil {
			return nil, nil, fmt.Errorf("read schema version: %w", err)
		}
		for _, r := range rows {
			applied[r.Version] = r.AppliedAt
		}
	}
	if m.HasTable("schema_dirty") {
		var rows []struct {
			Version int
			Name    string
		}
		if err := s.db.WithContext(ctx).Raw("SELECT version, name FROM schema_dirty").Scan(&rows).Error; err != nil {
			return nil, nil, fmt.Errorf("read dirty migrations: %w", err)
		}
		for _, r := range rows {
			dirty[r.Version] = r.Name
		}
	}
	return applied, dirty, nil
}

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
	applied, _, err := s.schemaState(ctx)
	if err != nil {
		return 0, latest, 0, err
	}
	for v := range applied {
		current = max(current, v)
	}
	for _, m := range ms {
		if _, ok := applied[m.Version]; !ok {
			missing++
		}
	}
	return current, latest, missing, nil
}

// CheckSchema returns ErrSchemaDirty after an unfinished step, and
// ErrSchemaBehind unless every migration is applied.
func (s *Store) CheckSchema(ctx context.Context) error {
	_, dirty, err := s.schemaState(ctx)
	if err != nil {
		return err
	}
	for v, name := range dirty {
		return dirtyError(v, name)
	}
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

// migrationConn is one connection that holds the migration lock; every
// statement of a run goes through it.
type migrationConn struct {
	*sql.Conn
	release func()
}

// lockMigrations takes a connection of its own and, on MySQL, the named
// lock that keeps two processes from migrating at once (it belongs to the
// connection, so the statements must run on the same one). SQLite has one
// connection: holding it is the lock.
func (s *Store) lockMigrations(ctx context.Context) (*migrationConn, error) {
	pool, err := s.db.DB()
	if err != nil {
		return nil, err
	}
	c, err := pool.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	mc := &migrationConn{Conn: c, release: func() { c.Close() }}
	if s.dialect == "mysql" {
		var got sql.NullInt64
		if err := c.QueryRowContext(ctx, "SELECT GET_LOCK('jianfu_migrate', 60)").Scan(&got); err != nil || got.Int64 != 1 {
			c.Close()
			return nil, fmt.Errorf("migrate: could not take the migration lock within 60s (another process is migrating): %v", err)
		}
		mc.release = func() {
			c.ExecContext(context.Background(), "SELECT RELEASE_LOCK('jianfu_migrate')")
			c.Close()
		}
	}
	for _, ddl := range []string{createVersionTable, createDirtyTable} {
		if _, err := c.ExecContext(ctx, ddl); err != nil {
			mc.release()
			return nil, fmt.Errorf("create migration tables: %w", err)
		}
	}
	return mc, nil
}

// state reads the applied versions and the first dirty step on the
// locked connection.
func (c *migrationConn) state(ctx context.Context) (map[int]bool, *Migration, error) {
	rows, err := c.QueryContext(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return nil, nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	defer rows.Close()
	done := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, nil, err
		}
		done[v] = true
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	var d Migration
	err = c.QueryRowContext(ctx, "SELECT version, name FROM schema_dirty ORDER BY version LIMIT 1").Scan(&d.Version, &d.Name)
	if errors.Is(err, sql.ErrNoRows) {
		return done, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read schema_dirty: %w", err)
	}
	return done, &d, nil
}

// Migrate applies the missing migrations and returns how many ran. All of
// a run goes through one connection that holds the migration lock. On
// SQLite a step and its version row are one transaction. On MySQL, where
// DDL commits by itself, a step is first marked dirty, then its DDL runs,
// then its version row and the end of the mark are committed together: a
// process killed in between leaves the step dirty, and Migrate refuses to
// go on (running the DDL again would fail or do it twice) until `jianfu
// migrate force V`.
func (s *Store) Migrate(ctx context.Context) (int, error) {
	ms, err := Migrations(s.dialect)
	if err != nil {
		return 0, err
	}
	c, err := s.lockMigrations(ctx)
	if err != nil {
		return 0, err
	}
	defer c.release()
	done, dirty, err := c.state(ctx)
	if err != nil {
		return 0, err
	}
	if dirty != nil {
		return 0, dirtyError(dirty.Version, dirty.Name)
	}
	n := 0
	for _, m := range ms {
		if done[m.Version] {
			continue
		}
		if err := s.migrateStep(ctx, c, m); err != nil {
			return n, fmt.Errorf("migration %03d_%s: %w", m.Version, m.Name, err)
		}
		n++
	}
	return n, nil
}

// statements splits a step's file into its statements.
func (m Migration) statements() []string {
	var out []string
	for _, stmt := range strings.Split(m.SQL, ";\n") {
		if strings.TrimSpace(stmt) != "" {
			out = append(out, stmt)
		}
	}
	return out
}

// migrateStep runs one step on the locked connection.
func (s *Store) migrateStep(ctx context.Context, c *migrationConn, m Migration) error {
	now := time.Now().UTC().Truncate(time.Second)
	record := func(ex interface {
		ExecContext(context.Context, string, ...any) (sql.Result, error)
	}) error {
		if _, err := ex.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
			m.Version, m.Name, now); err != nil {
			return err
		}
		_, err := ex.ExecContext(ctx, "DELETE FROM schema_dirty WHERE version = ?", m.Version)
		return err
	}
	if s.dialect == "sqlite" { // SQLite DDL is transactional: all or nothing
		tx, err := c.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		for _, stmt := range m.statements() {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return err
			}
		}
		if s.afterDDL != nil {
			if err := s.afterDDL(m); err != nil {
				return err
			}
		}
		if err := record(tx); err != nil {
			return err
		}
		return tx.Commit()
	}
	if _, err := c.ExecContext(ctx, "INSERT INTO schema_dirty (version, name, started_at) VALUES (?, ?, ?)",
		m.Version, m.Name, now); err != nil {
		return fmt.Errorf("mark dirty: %w", err)
	}
	for _, stmt := range m.statements() {
		if _, err := c.ExecContext(ctx, stmt); err != nil {
			return err // dirty: the operator checks what ran
		}
	}
	if s.afterDDL != nil {
		if err := s.afterDDL(m); err != nil {
			return err
		}
	}
	tx, err := c.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := record(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// ForceMigration records step version as applied and clears its dirty
// mark, after an operator has checked (or completed by hand) what the
// step changes. It reports whether anything changed.
func (s *Store) ForceMigration(ctx context.Context, version int) (bool, error) {
	ms, err := Migrations(s.dialect)
	if err != nil {
		return false, err
	}
	i := slices.IndexFunc(ms, func(m Migration) bool { return m.Version == version })
	if i < 0 {
		return false, fmt.Errorf("force: this binary has no migration %d (see `jianfu migrate status`)", version)
	}
	m := ms[i]
	c, err := s.lockMigrations(ctx)
	if err != nil {
		return false, err
	}
	defer c.release()
	tx, err := c.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, "DELETE FROM schema_dirty WHERE version = ?", version)
	if err != nil {
		return false, fmt.Errorf("force %d: %w", version, err)
	}
	cleared, _ := res.RowsAffected()
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations WHERE version = ?", version).Scan(&n); err != nil {
		return false, fmt.Errorf("force %d: %w", version, err)
	}
	if n == 0 {
		if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
			m.Version, m.Name, time.Now().UTC().Truncate(time.Second)); err != nil {
			return false, fmt.Errorf("force %d: %w", version, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("force %d: %w", version, err)
	}
	return cleared > 0 || n == 0, nil
}
