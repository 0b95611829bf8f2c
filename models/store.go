// Package models owns Jianfu's data: the schema and its migrations, the case
// state machine, deadline and calendar rules, and all database access.
package models

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/glebarez/sqlite"
	mysqldriver "github.com/go-sql-driver/mysql"
	"gorm.io/driver/mysql"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Sentinel errors; callers match them with errors.Is.
var (
	// ErrNotFound: the row does not exist or is not visible to the caller.
	ErrNotFound = errors.New("not found")
	// ErrWrongStage: the action is not allowed in the case's current stage.
	ErrWrongStage = errors.New("wrong stage")
	// ErrSchemaBehind: the database needs `jianfu migrate`.
	ErrSchemaBehind = errors.New("database schema is behind: run `jianfu migrate`")
)

// Enqueuer hands committed outbox tasks to the queue. main injects the asynq
// implementation; models never imports the worker.
type Enqueuer interface {
	Enqueue(ctx context.Context, t Task) error
}

// Store is the only way into the database.
type Store struct {
	db        *gorm.DB
	dialect   string // "mysql" or "sqlite"
	enq       Enqueuer
	log       *slog.Logger
	secret    []byte
	deadlines Deadlines
	calendar  atomic.Pointer[Calendar]
	now       atomic.Pointer[func() time.Time] // SetClock may swap it while in use
	queries   atomic.Int64
	retries   atomic.Int64 // transactions run again (commit)
	// capture, when set, collects the statements sent (benchmark plans).
	capture atomic.Pointer[[]string]
	// refs remembers active category and township ids for intake.
	refs refCache
	// intake groups concurrent tips into shared transactions (intake.go).
	intake intakeQueue
	// sections are the statistics added by domain packages.
	sections statsSections
	// extras adds other domains' lines to the weekly digest (digest.go).
	extras DigestExtras
	// files are the attachment keys (filecrypt.go).
	files fileKeys
	// afterDDL, when set, runs between a migration step's DDL and its
	// version row (tests: a process killed right there).
	afterDDL func(Migration) error
	// auth is the credential policy (auth.go); nil means the default.
	auth atomic.Pointer[AuthPolicy]
	// searchWindow is how many of the newest cases a search reads before
	// asking the full-text index (recentWindow; tests make it small).
	searchWindow uint64
}

// OpenParams configures Open.
type OpenParams struct {
	// DatabaseURL is mysql://user:pass@host:port/db, or empty for SQLite.
	DatabaseURL string
	// DataDir holds the SQLite file in the embedded mode.
	DataDir string
	// Secret keys receipt hashes and encrypts contact details (32 bytes).
	Secret    []byte
	Deadlines Deadlines
	Logger    *slog.Logger
	// FileKeys are attachment keys beside the one derived from Secret, by
	// key id (JIANFU_FILE_KEYS; filecrypt.go).
	FileKeys map[int][]byte
}

// Open connects to the database and checks that it answers.
func Open(ctx context.Context, p OpenParams) (*Store, error) {
	if len(p.Secret) != 32 {
		return nil, errors.New("open store: secret key must be 32 bytes")
	}
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	s := &Store{log: p.Logger, secret: p.Secret, deadlines: p.Deadlines, searchWindow: recentWindow}
	s.SetClock(time.Now)
	var err error
	if s.files, err = newFileKeys(s.subkey("attachment/1"), p.FileKeys); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	gcfg := &gorm.Config{
		Logger: logger.Discard,
		// Writes that need a transaction open one explicitly (s.write).
		SkipDefaultTransaction: true,
		NowFunc:                func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) },
		// Foreign keys and indexes come from the migrations, never from gorm.
		DisableForeignKeyConstraintWhenMigrating: true,
		TranslateError:                           true,
	}
	if p.DatabaseURL == "" {
		s.dialect = "sqlite"
		if err := os.MkdirAll(p.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("create data dir: %w", err)
		}
		s.db, err = gorm.Open(sqlite.Open(SQLiteDSN(p.DataDir)), gcfg)
		if err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		sqlDB, _ := s.db.DB()
		// One connection serialises writes: SQLite allows one writer, and
		// a single connection avoids "database is locked" under load.
		sqlDB.SetMaxOpenConns(1)
		s.intake.max = 1
	} else {
		dsn, err := MySQLDSN(p.DatabaseURL)
		if err != nil {
			return nil, err
		}
		s.dialect = "mysql"
		// Without RETURNING, MariaDB takes the path of MySQL 8 and TiDB:
		// one behaviour to test (a multi-row insert reads its ids back).
		s.db, err = gorm.Open(mysql.New(mysql.Config{DSN: dsn, DisableWithReturning: true}), gcfg)
		if err != nil {
			return nil, fmt.Errorf("connect: %w", err)
		}
		sqlDB, _ := s.db.DB()
		sqlDB.SetMaxOpenConns(32)
		sqlDB.SetMaxIdleConns(32)
		sqlDB.SetConnMaxLifetime(30 * time.Minute)
		s.intake.max = intakeWriters
	}
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("connect: %w", err)
	}
	if err := s.countQueries(); err != nil {
		return nil, err
	}
	if err := s.registerFileSealing(); err != nil {
		return nil, fmt.Errorf("register file sealing: %w", err)
	}
	if err := s.registerReadModelHook(); err != nil {
		return nil, err
	}
	s.calendar.Store(NewCalendar(nil))
	return s, nil
}

// SQLiteDSN is the embedded database in dataDir with the settings the
// store opens it with: WAL, so another process's reader (`jianfu report`)
// runs beside the store's one connection; foreign keys on; fsync at
// checkpoints only (synchronous NORMAL); and temporary data in memory
// (temp_store). The last keeps each multi-row INSERT's statement journal,
// the undo SQLite holds in case the statement fails half-way, in small
// heap chunks: otherwise it takes one 64 KiB chunk, which the driver's
// allocator maps and unmaps for every such statement (bench/notes.md
// §15). Temporary tables and sorts stay in memory too.
func SQLiteDSN(dataDir string) string {
	return filepath.Join(dataDir, "jianfu.db") +
		"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_pragma=temp_store(memory)"
}

// MySQLDSN turns mysql://user:pass@host:port/db?params into the driver's
// DSN with UTC times and utf8mb4.
func MySQLDSN(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "mysql" || u.Host == "" {
		return "", errors.New("want mysql://user:pass@host:port/db")
	}
	cfg := mysqldriver.NewConfig()
	cfg.Net = "tcp"
	cfg.Addr = u.Host
	if u.Port() == "" {
		cfg.Addr = u.Host + ":3306"
	}
	if u.User != nil {
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
	}
	cfg.DBName = strings.TrimPrefix(u.Path, "/")
	if cfg.DBName == "" {
		return "", errors.New("the URL names no database")
	}
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	cfg.Collation = "utf8mb4_unicode_ci"
	cfg.Timeout = 5 * time.Second
	// Send statements with their arguments in one round trip instead of
	// prepare, execute and close (safe with utf8mb4).
	cfg.InterpolateParams = true
	cfg.Params = map[string]string{"time_zone": "'+00:00'"}
	for k, v := range u.Query() {
		cfg.Params[k] = v[0]
	}
	return cfg.FormatDSN(), nil
}

// SetEnqueuer installs the queue that committed outbox tasks go to.
func (s *Store) SetEnqueuer(e Enqueuer) { s.enq = e }

// Dialect is "mysql" or "sqlite".
func (s *Store) Dialect() string { return s.dialect }

// Deadlines returns the configured stage clocks.
func (s *Store) Deadlines() Deadlines { return s.deadlines }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

// Close releases the connections.
func (s *Store) Close() error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// SetClock replaces the time source (tests with short clocks).
func (s *Store) SetClock(now func() time.Time) { s.now.Store(&now) }

func (s *Store) clock() time.Time { return (*s.now.Load())().UTC().Truncate(time.Microsecond) }

// interpret maps driver errors to the store's sentinels.
func interpret(err error, what string) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// countQueries counts every statement the store sends, for metrics and for
// benchmarks that bound the queries a job may take.
func (s *Store) countQueries() error {
	inc := func(db *gorm.DB) {
		s.queries.Add(1)
		if c := s.capture.Load(); c != nil {
			*c = append(*c, db.Dialector.Explain(db.Statement.SQL.String(), db.Statement.Vars...))
		}
	}
	cb := s.db.Callback()
	for _, err := range []error{
		cb.Create().After("gorm:create").Register("jianfu:count", inc),
		cb.Query().After("gorm:query").Register("jianfu:count", inc),
		cb.Update().After("gorm:update").Register("jianfu:count", inc),
		cb.Delete().After("gorm:delete").Register("jianfu:count", inc),
		cb.Row().After("gorm:row").Register("jianfu:count", inc),
		cb.Raw().After("gorm:raw").Register("jianfu:count", inc),
	} {
		if err != nil {
			return fmt.Errorf("register query counter: %w", err)
		}
	}
	return nil
}

// Queries is how many statements the store has sent since it opened.
func (s *Store) Queries() int64 { return s.queries.Load() }
