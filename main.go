// Command jianfu is the 减负直通车 server: tip intake, case tracking,
// timers and digests. See README.md.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"jianfu/api"
	"jianfu/config"
	"jianfu/models"
	"jianfu/models/audit"
	"jianfu/models/registry"
	"jianfu/worker"
)

const usage = `jianfu — 减负直通车

Usage:
  jianfu serve [--demo]     API, workers and scheduler in one process (default)
  jianfu api                HTTP API only
  jianfu worker             background workers only
  jianfu scheduler          cron scheduler only (run exactly one)
  jianfu migrate            apply database migrations
  jianfu migrate status     list the steps: applied, pending, or dirty (started, not finished)
  jianfu migrate force V    record step V as applied and clear its dirty mark, after checking it by hand
  jianfu user add --username U --password P --role admin|office|leader|liaison|auditor [--unit CODE] [--email E]
  jianfu user list
  jianfu user reset --username U [--password P]  one-time password, to be changed at next login
  jianfu user disable|enable --username U        disabling ends every session and token
  jianfu user reset-2fa --username U             remove a lost second factor
  jianfu token create --username U [--ttl 90d] [--name N]   print a bearer API token
  jianfu token list [--username U]
  jianfu token revoke ID
  jianfu digest send [--week 2026-W48]          send this week's digests now (each at most once)
  jianfu digest preview [--unit CODE] [--html]  print a unit's digest, or the summary without --unit
  jianfu report --year 2025 [--unit CODE]       the annual report section on tips (Markdown)
  jianfu tasks dead                             list tasks whose retries are spent
  jianfu tasks retry --all|ID                   run dead tasks again
  jianfu backup --out FILE                      consistent copy of the embedded database, while it runs
  jianfu restore --in FILE                      put a backup in place of the embedded database (jianfu stopped)
  jianfu demo --cases N [--seed S]              fill an empty database with a generated county of N cases

Settings come from JIANFU_* environment variables; see README.md.
`

func main() {
	args := os.Args[1:]
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cmd, args, os.Stdout); err != nil {
		// One line that names the setting or the command to fix.
		fmt.Fprintln(os.Stderr, "jianfu: "+strings.ReplaceAll(err.Error(), "\n", "; "))
		os.Exit(1)
	}
}

func run(ctx context.Context, cmd string, args []string, out io.Writer) error {
	switch cmd {
	case "help", "-h", "--help":
		fmt.Fprint(out, usage)
		return nil
	}
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		return err
	}
	logger := newLogger(cfg)
	slog.SetDefault(logger)
	switch cmd {
	case "serve":
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		demo := fs.Bool("demo", false, "load a demo county (townships, departments, rules, a user of each role)")
		if err := fs.Parse(args); err != nil {
			return err
		}
		return serve(ctx, cfg, logger, roles{api: true, worker: true, scheduler: true, migrate: true, demo: *demo}, out)
	case "api":
		return serve(ctx, cfg, logger, roles{api: true}, out)
	case "worker":
		return serve(ctx, cfg, logger, roles{worker: true}, out)
	case "scheduler":
		return serve(ctx, cfg, logger, roles{scheduler: true}, out)
	case "migrate":
		store, err := openStore(ctx, cfg, logger)
		if err != nil {
			return err
		}
		defer store.Close()
		if len(args) > 0 {
			return migrateCommand(ctx, store, args, out)
		}
		n, err := migrate(ctx, store)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "applied %d migrations; schema is current\n", n)
		return nil
	case "user":
		return userCommand(ctx, cfg, logger, args, out)
	case "token":
		return tokenCommand(ctx, cfg, logger, args, out)
	case "digest":
		return digestCommand(ctx, cfg, logger, args, out)
	case "report":
		return reportCommand(ctx, cfg, logger, args, out)
	case "tasks":
		return tasksCommand(ctx, cfg, logger, args, out)
	case "backup":
		return backupCommand(ctx, cfg, logger, args, out)
	case "restore":
		return restoreCommand(ctx, cfg, args, out)
	case "demo":
		return demoCommand(ctx, cfg, logger, args, out)
	}
	return fmt.Errorf("unknown command %q (see jianfu help)", cmd)
}

func newLogger(cfg *config.Config) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

// secretKey returns JIANFU_SECRET_KEY, or the key generated once in the data
// directory (fromFile). Every process of one deployment must use the same
// key.
func secretKey(cfg *config.Config) (key []byte, fromFile bool, err error) {
	if cfg.SecretKey != nil {
		return cfg.SecretKey, false, nil
	}
	path := filepath.Join(cfg.DataDir, "secret.key")
	if b, err := os.ReadFile(path); err == nil {
		key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(key) != 32 {
			return nil, false, fmt.Errorf("JIANFU_SECRET_KEY: %s is not base64 of 32 bytes", path)
		}
		return key, true, nil
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, false, fmt.Errorf("JIANFU_DATA_DIR: %w", err)
	}
	key = make([]byte, 32)
	rand.Read(key)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("JIANFU_DATA_DIR: write %s: %w", path, err)
	}
	defer f.Close()
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n"); err != nil {
		return nil, false, fmt.Errorf("JIANFU_DATA_DIR: write %s: %w", path, err)
	}
	return key, true, nil
}

func openStore(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*models.Store, error) {
	key, fromFile, err := secretKey(cfg)
	if err != nil {
		return nil, err
	}
	octx, cancel := context.WithTimeout(ctx, 8*time.Second)
	defer cancel()
	store, err := models.Open(octx, models.OpenParams{DatabaseURL: cfg.DatabaseURL, DataDir: cfg.DataDir,
		Secret: key, Deadlines: cfg.Deadlines, Logger: logger, FileKeys: cfg.FileKeys})
	if err == nil {
		store.SetAuthPolicy(cfg.AuthPolicy())
	}
	if err != nil {
		if cfg.Embedded() {
			return nil, fmt.Errorf("JIANFU_DATA_DIR: %w", err)
		}
		return nil, fmt.Errorf("JIANFU_DATABASE_URL: %w", err)
	}
	// The weekly digest carries the registry's warnings (models/registry).
	store.SetDigestExtras(registry.New(store))
	if fromFile && !cfg.Embedded() {
		logger.Warn("using a secret key from the data dir; set JIANFU_SECRET_KEY so every process shares it",
			"file", filepath.Join(cfg.DataDir, "secret.key"))
	}
	return store, nil
}

// openCurrentStore opens the database for a command that needs the current
// schema (it names `jianfu migrate` otherwise) and the holiday calendar.
func openCurrentStore(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*models.Store, error) {
	store, err := openStore(ctx, cfg, logger)
	if err != nil {
		return nil, err
	}
	if err := store.CheckSchema(ctx); err != nil {
		store.Close()
		return nil, err
	}
	if err := store.LoadCalendar(ctx); err != nil {
		store.Close()
		return nil, err
	}
	return store, nil
}

func migrate(ctx context.Context, store *models.Store) (int, error) {
	n, err := store.Migrate(ctx)
	if err != nil {
		return n, err
	}
	return n, store.Bootstrap(ctx)
}

type roles struct{ api, worker, scheduler, migrate, demo bool }

// serve runs the chosen roles until ctx ends, then shuts down HTTP first
// and the workers after it.
func serve(ctx context.Context, cfg *config.Config, logger *slog.Logger, r roles, out io.Writer) error {
	open := openCurrentStore
	if r.migrate {
		open = openStore
	}
	store, err := open(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer store.Close()
	if r.migrate {
		if _, err := migrate(ctx, store); err != nil {
			return err
		}
	}

	var redisOpt asynq.RedisConnOpt
	if cfg.RedisURL == "" {
		if !r.migrate {
			return errors.New("JIANFU_REDIS_URL: required when api, worker and scheduler run as separate processes")
		}
		mr, opt, err := worker.EmbeddedRedis()
		if err != nil {
			return err
		}
		defer mr.Close()
		redisOpt = opt
	} else if redisOpt, err = worker.RedisOpt(cfg.RedisURL); err != nil {
		return fmt.Errorf("JIANFU_REDIS_URL: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	err = worker.PingRedis(pctx, redisOpt)
	cancel()
	if err != nil {
		// Not fatal: the outbox keeps every task until Redis is back.
		logger.Warn("redis does not answer; tasks wait in the outbox", "err", err)
	}
	queue := worker.NewQueue(redisOpt)
	defer queue.Close()
	store.SetEnqueuer(queue)

	if r.migrate {
		pw, err := store.EnsureAdmin(ctx)
		if err != nil {
			return err
		}
		if pw != "" {
			fmt.Fprintf(out, "\n首次启动：已创建管理员账号 admin，一次性密码 %s（登录后请立即修改）\n\n", pw)
		}
	}
	if r.demo {
		if err := loadDemo(ctx, store, out); err != nil {
			return err
		}
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(worker.NewQueueCollector(redisOpt, store))
	if cfg.MetricsAddr != "" {
		msrv := &http.Server{Addr: cfg.MetricsAddr, Handler: api.MetricsHandler(reg), ReadHeaderTimeout: 10 * time.Second}
		mln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			return fmt.Errorf("JIANFU_METRICS_ADDR: %w", err)
		}
		go msrv.Serve(mln)
		defer msrv.Close()
	}
	if r.scheduler {
		// One process purges the audit log past JIANFU_AUDIT_RETENTION.
		go audit.New(store.DB(ctx), store.Now, logger).RunRetention(ctx, cfg.AuditRetention)
	}

	var w *worker.Worker
	if r.worker {
		mailer, err := worker.NewMailer(worker.MailerParams{SMTP: cfg.SMTP, From: cfg.MailFrom,
			OutboxDir: filepath.Join(cfg.DataDir, "outbox"), Logger: logger})
		if err != nil {
			return fmt.Errorf("JIANFU_SMTP_URL: %w", err)
		}
		w = worker.New(worker.Params{Store: store, Redis: redisOpt, Mailer: mailer, BaseURL: cfg.BaseURL,
			Logger: logger, PollInterval: cfg.PollInterval, NoticeBatchDelay: cfg.NoticeBatchDelay,
			ContactRetention: cfg.Retention.Contact})
		if err := w.Start(ctx); err != nil {
			return err
		}
		defer w.Shutdown()
		if cfg.IMAP != nil {
			// The 举报信箱: polled until shutdown, which waits for the poll
			// under way (its tip may be committing).
			mb := worker.NewMailbox(worker.MailboxParams{Store: store, IMAP: cfg.IMAP, Mailer: mailer,
				Reply: cfg.IMAPReply, BaseURL: cfg.BaseURL, MailFrom: cfg.MailFrom, Interval: cfg.IMAPInterval,
				MaxBytes: cfg.IMAPMaxBytes, MaxFiles: cfg.MaxFiles, MaxFileBytes: cfg.MaxFileBytes,
				Logger: logger, Registerer: reg})
			mctx, mcancel := context.WithCancel(ctx)
			mdone := make(chan struct{})
			go func() {
				defer close(mdone)
				mb.Run(mctx)
			}()
			defer func() {
				mcancel()
				<-mdone
			}()
			logger.Info("mailbox intake on", "mailbox", cfg.IMAP.Mailbox, "host", cfg.IMAP.Host, "interval", cfg.IMAPInterval)
		}
	}
	if r.scheduler {
		sch, err := worker.NewScheduler(worker.SchedulerParams{Redis: redisOpt, DigestCron: cfg.DigestCron, Logger: logger})
		if err != nil {
			return fmt.Errorf("JIANFU_DIGEST_CRON: %w", err)
		}
		if err := sch.Start(); err != nil {
			return err
		}
		defer sch.Shutdown()
	}
	if !r.api {
		logger.Info("running", "roles", fmt.Sprintf("%+v", r))
		<-ctx.Done()
		return nil
	}
	srv := &http.Server{
		Addr: cfg.Addr,
		Handler: api.New(api.Deps{Store: store, Config: cfg, Logger: logger, Registry: reg,
			RedisReady: func(ctx context.Context) error { return worker.PingRedis(ctx, redisOpt) }}),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	logger.Info("listening", "addr", cfg.Addr, "url", cfg.BaseURL, "embedded", cfg.Embedded())
	select {
	case err := <-errc:
		return fmt.Errorf("JIANFU_ADDR: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down: HTTP first, then workers")
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

func userCommand(ctx context.Context, cfg *config.Config, logger *slog.Logger, args []string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: jianfu user add|list|reset|disable|enable|reset-2fa …")
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("user "+sub, flag.ContinueOnError)
	var p models.UserParams
	fs.StringVar(&p.Username, "username", "", "login name")
	fs.StringVar(&p.Password, "password", "", "password (10+ characters, 3 of: lower, upper, digit, other)")
	fs.StringVar(&p.Role, "role", "", "admin, office, leader, liaison or auditor")
	fs.StringVar(&p.UnitCode, "unit", "", "unit code (liaisons)")
	fs.StringVar(&p.Email, "email", "", "email for notices and digests")
	if err := fs.Parse(args); err != nil {
		return err
	}
	store, err := openCurrentStore(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer store.Close()
	log := cliAudit(store, logger)
	switch sub {
	case "add":
		u, err := store.CreateUser(ctx, p)
		if err != nil {
			return err
		}
		log(ctx, audit.Entry{Action: audit.ActionUserCreate, Target: "user:" + u.Username, Detail: "role=" + u.Role})
		fmt.Fprintf(out, "created user %s (%s)\n", u.Username, u.Role)
	case "disable", "enable":
		off := sub == "disable"
		if _, err := store.UpdateUser(ctx, p.Username, models.UserUpdate{Disabled: &off}); err != nil {
			return err
		}
		log(ctx, audit.Entry{Action: audit.ActionUserUpdate, Target: "user:" + p.Username, Detail: "disabled=" + strconv.FormatBool(off)})
		fmt.Fprintf(out, "user %s %sd\n", p.Username, sub)
	case "reset-2fa":
		if err := store.ResetOTP(ctx, p.Username); err != nil {
			return err
		}
		log(ctx, audit.Entry{Action: audit.ActionOTPReset, Target: "user:" + p.Username})
		fmt.Fprintf(out, "second factor of %s removed\n", p.Username)
	case "list":
		users, err := store.Users(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "USERNAME\tROLE\tUNIT\tEMAIL\tDISABLED")
		for _, u := range users {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\n", u.Username, u.Role, u.UnitCode, u.Email, u.Disabled)
		}
		return tw.Flush()
	case "reset":
		pw := p.Password
		if pw == "" {
			pw = models.GeneratePassword()
		}
		if err := store.ResetPassword(ctx, p.Username, pw); err != nil {
			return err
		}
		log(ctx, audit.Entry{Action: audit.ActionPasswordReset, Target: "user:" + p.Username})
		fmt.Fprintf(out, "password of %s reset; one-time password: %s\n", p.Username, pw)
	default:
		return fmt.Errorf("unknown command user %s", sub)
	}
	return nil
}
