package apptest

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/mysql"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"jianfu/models"
	"jianfu/worker"
)

// WorkerOptions changes the worker StartWorkerWith starts.
type WorkerOptions struct {
	// Mailer replaces the app's mailer, e.g. with one that stalls.
	Mailer worker.Mailer
}

// StartWorkerWith starts background processing as StartWorker does, with
// the app's JIANFU_NOTICE_BATCH_DELAY and the options applied.
func (a *App) StartWorkerWith(o WorkerOptions) {
	a.t.Helper()
	mailer := o.Mailer
	if mailer == nil {
		mailer = a.Mailer
	}
	a.worker = worker.New(worker.Params{Store: a.Store, Redis: a.Redis, Mailer: mailer, BaseURL: a.Config.BaseURL,
		Logger: slog.New(slog.NewTextHandler(a.logs, nil)), PollInterval: a.Config.PollInterval, Concurrency: 4,
		NoticeBatchDelay: a.Config.NoticeBatchDelay, ContactRetention: a.Config.Retention.Contact})
	ctx, cancel := context.WithCancel(context.Background())
	if err := a.worker.Start(ctx); err != nil {
		a.t.Fatalf("start worker: %v", err)
	}
	w := a.worker
	a.t.Cleanup(func() { cancel(); w.Shutdown() })
}

// DB opens a second connection to the app's database, for fixtures the
// workflow would take many steps to reach (an assignment overdue since
// last month). It is closed when the test ends.
func (a *App) DB(t testing.TB) *gorm.DB {
	t.Helper()
	cfg := &gorm.Config{Logger: logger.Discard, TranslateError: true}
	var dial gorm.Dialector
	if a.Config.DatabaseURL == "" {
		dial = sqlite.Open(filepath.Join(a.Config.DataDir, "jianfu.db") + "?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)")
	} else {
		dsn, err := models.MySQLDSN(a.Config.DatabaseURL)
		if err != nil {
			t.Fatal(err)
		}
		dial = mysql.Open(dsn)
	}
	db, err := gorm.Open(dial, cfg)
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(func() {
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
	})
	return db
}
