package testenv

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/alicebob/miniredis/v2"
	_ "github.com/go-sql-driver/mysql" // the MariaDB/MySQL backend under test
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// Backend is one database + Redis pair the tests run on: "sqlite" (the
// embedded mode, with an in-process Redis) always, and "mysql" (MariaDB or
// MySQL with a real Redis) when JIANFU_TEST_MYSQL_URL is set. Under CI=true
// a missing production backend fails the run instead of skipping.
type Backend struct {
	Name     string
	mysqlURL string // admin URL of the server, e.g. mysql://root@127.0.0.1:3306/test
	redisURL string
}

// Backends returns the backends this run covers.
func Backends(t testing.TB) []Backend {
	t.Helper()
	bs := []Backend{{Name: "sqlite"}}
	my, rd := os.Getenv("JIANFU_TEST_MYSQL_URL"), os.Getenv("JIANFU_TEST_REDIS_URL")
	if my == "" || rd == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but JIANFU_TEST_MYSQL_URL or JIANFU_TEST_REDIS_URL is unset: .ci/run must provide MariaDB and Redis")
		}
		return bs
	}
	return append(bs, Backend{Name: "mysql", mysqlURL: my, redisURL: rd})
}

// MariaDB returns the MariaDB + Redis backend for a test that needs it,
// and skips the test (outside CI) when this run has none.
func MariaDB(t testing.TB) Backend {
	t.Helper()
	for _, b := range Backends(t) {
		if !b.Embedded() {
			return b
		}
	}
	t.Skip("needs JIANFU_TEST_MYSQL_URL and JIANFU_TEST_REDIS_URL")
	return Backend{}
}

// Embedded reports whether this is the SQLite + in-process Redis backend.
func (b Backend) Embedded() bool { return b.Name == "sqlite" }

// Database creates an empty database for one test and returns the
// JIANFU_DATABASE_URL and JIANFU_DATA_DIR to use ("" URL: SQLite in dir).
// A MySQL database is dropped when the test ends.
func (b Backend) Database(t testing.TB) (databaseURL, dataDir string) {
	t.Helper()
	dataDir = t.TempDir()
	if b.Embedded() {
		return "", dataDir
	}
	u, err := url.Parse(b.mysqlURL)
	if err != nil {
		t.Fatalf("JIANFU_TEST_MYSQL_URL: %v", err)
	}
	name := "jianfu_t_" + strings.ToLower(rand.Text()[:12])
	admin := mysqlDSN(u, strings.TrimPrefix(u.Path, "/"))
	db, err := sql.Open("mysql", admin)
	if err != nil {
		t.Fatalf("open mysql: %v", err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("mysql", admin)
		if err == nil {
			db.Exec("DROP DATABASE IF EXISTS " + name)
			db.Close()
		}
	})
	u.Path = "/" + name
	return u.String(), dataDir
}

func mysqlDSN(u *url.URL, db string) string {
	user := u.User.Username()
	pass, _ := u.User.Password()
	return fmt.Sprintf("%s:%s@tcp(%s)/%s?parseTime=true", user, pass, u.Host, db)
}

// Redis gives the test a Redis of its own: a fresh in-process one for the
// embedded backend, or the real server for mysql, flushed and held under a
// machine-wide lock per Redis URL so test binaries running in parallel never
// share one database (give parallel runs different /N databases).
func (b Backend) Redis(t testing.TB) (redisURL string, opt asynq.RedisConnOpt) {
	t.Helper()
	if b.Embedded() {
		m := miniredis.NewMiniRedis()
		if err := m.StartAddr("127.0.0.1:0"); err != nil {
			t.Fatalf("start miniredis: %v", err)
		}
		t.Cleanup(m.Close)
		return "redis://" + m.Addr(), asynq.RedisClientOpt{Addr: m.Addr()}
	}
	sum := sha256.Sum256([]byte(b.redisURL))
	lock, err := os.OpenFile(fmt.Sprintf("%s/jianfu-test-redis-%x.lock", os.TempDir(), sum[:8]), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatalf("redis lock: %v", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatalf("redis lock: %v", err)
	}
	t.Cleanup(func() {
		syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
		lock.Close()
	})
	o, err := asynq.ParseRedisURI(b.redisURL)
	if err != nil {
		t.Fatalf("JIANFU_TEST_REDIS_URL: %v", err)
	}
	c := o.MakeRedisClient().(redis.UniversalClient)
	defer c.Close()
	if err := c.FlushDB(context.Background()).Err(); err != nil {
		t.Fatalf("flush test redis: %v", err)
	}
	return b.redisURL, o
}
