// Package apptest runs a whole Jianfu (store, queue, worker, HTTP API) on a
// real backend for end-to-end tests.
package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"jianfu/api"
	"jianfu/config"
	"jianfu/models"
	"jianfu/models/registry"
	"jianfu/testenv"
	"jianfu/worker"
)

// Options shapes one test app.
type Options struct {
	Backend testenv.Backend
	// Env overrides JIANFU_* settings (e.g. JIANFU_DEADLINES for short
	// clocks). Rate limits are off unless set here.
	Env map[string]string
	// NoWorker leaves background processing off; call StartWorker later.
	NoWorker bool
	// Mailpit sends mail to a fresh mailpit instead of .eml files.
	Mailpit bool
	// RedisProxy puts a cuttable TCP proxy between the app and Redis
	// (App.RedisProxy) to simulate an outage.
	RedisProxy bool
	// DatabaseProxy does the same for MariaDB (App.DatabaseProxy); it
	// needs the mysql backend.
	DatabaseProxy bool
}

// App is a running Jianfu.
type App struct {
	t       testing.TB
	Store   *models.Store
	Config  *config.Config
	Redis   asynq.RedisConnOpt
	Queue   *worker.Queue
	Mailer  worker.Mailer
	Mailpit *testenv.Mailpit
	// RedisProxy and DatabaseProxy are set with the options of their names.
	RedisProxy    *testenv.Proxy
	DatabaseProxy *testenv.Proxy
	Server        *httptest.Server
	URL           string
	logs          *testenv.Output
	worker        *worker.Worker
	cancel        context.CancelFunc
}

// Start builds and starts the app; everything stops when the test ends.
func Start(t testing.TB, o Options) *App {
	t.Helper()
	dbURL, dataDir := o.Backend.Database(t)
	redisURL, redisOpt := o.Backend.Redis(t)
	env := map[string]string{
		"JIANFU_DATA_DIR": dataDir, "JIANFU_DATABASE_URL": dbURL, "JIANFU_REDIS_URL": redisURL,
		"JIANFU_RATE_LIMITS": "off", "JIANFU_POLL_INTERVAL": "200ms",
		"JIANFU_SECRET_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
		// Tests log in as admin without a second factor unless they set it.
		"JIANFU_REQUIRE_2FA": "none",
	}
	a := &App{t: t, Redis: redisOpt, logs: &testenv.Output{}}
	if o.RedisProxy {
		direct, ok := redisOpt.(asynq.RedisClientOpt)
		if !ok {
			t.Fatalf("RedisProxy needs a plain redis:// backend, have %T", redisOpt)
		}
		a.RedisProxy = testenv.NewProxy(t, direct.Addr)
		direct.Addr = a.RedisProxy.Addr
		a.Redis = direct
		redisOpt = direct
	}
	if o.DatabaseProxy {
		u, err := url.Parse(dbURL)
		if err != nil || u.Scheme != "mysql" {
			t.Fatalf("DatabaseProxy needs the mysql backend, have %q", o.Backend.Name)
		}
		a.DatabaseProxy = testenv.NewProxy(t, u.Host)
		u.Host = a.DatabaseProxy.Addr
		env["JIANFU_DATABASE_URL"] = u.String()
	}
	if o.Mailpit {
		a.Mailpit = testenv.StartMailpit(t)
		env["JIANFU_SMTP_URL"] = "smtp://test:test@" + a.Mailpit.SMTPHost + ":" + itoa(a.Mailpit.SMTPPort) + "?tls=none"
	}
	for k, v := range o.Env {
		env[k] = v
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	a.Config = cfg
	logger := slog.New(slog.NewTextHandler(a.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	store, err := models.Open(ctx, models.OpenParams{DatabaseURL: cfg.DatabaseURL, DataDir: cfg.DataDir,
		Secret: cfg.SecretKey, Deadlines: cfg.Deadlines, Logger: logger, FileKeys: cfg.FileKeys})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	if _, err := store.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if err := store.Bootstrap(ctx); err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	a.Store = store
	store.SetDigestExtras(registry.New(store))
	a.Queue = worker.NewQueue(redisOpt)
	store.SetEnqueuer(a.Queue)
	a.Mailer, err = worker.NewMailer(worker.MailerParams{SMTP: cfg.SMTP, From: cfg.MailFrom,
		OutboxDir: filepath.Join(cfg.DataDir, "outbox"), Logger: logger})
	if err != nil {
		t.Fatalf("mailer: %v", err)
	}
	reg := prometheus.NewRegistry()
	a.Server = httptest.NewServer(api.New(api.Deps{Store: store, Config: cfg, Logger: logger, Registry: reg,
		RedisReady: func(ctx context.Context) error { return worker.PingRedis(ctx, redisOpt) }}))
	a.URL = a.Server.URL
	t.Cleanup(a.stop)
	if !o.NoWorker {
		a.StartWorker()
	}
	return a
}

// StartWorker starts background processing (rebuilding from the database
// as a restarted worker does).
func (a *App) StartWorker() { a.StartWorkerWith(WorkerOptions{}) }

// StopWorker stops background processing, as a killed worker would.
func (a *App) StopWorker() {
	if a.worker != nil {
		a.worker.Shutdown()
		a.worker = nil
	}
}

func (a *App) stop() {
	a.Server.Close()
	a.StopWorker()
	a.cancel()
	a.Queue.Close()
	a.Store.Close()
	if a.t.Failed() {
		a.t.Logf("app logs:\n%s", a.LogText())
	}
}

// Response is a decoded JSON answer.
type Response struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    []byte
}

// Client is an HTTP client with its own cookie jar (one browser, one user).
type Client struct {
	app  *App
	http *http.Client
	// Header is sent with every request (e.g. X-CSRF-Token, Authorization).
	Header http.Header
}

// Client returns a new client.
func (a *App) Client() *Client {
	jar, _ := cookiejar.New(nil)
	return &Client{app: a, http: &http.Client{Jar: jar, Timeout: 30 * time.Second}, Header: http.Header{}}
}

// JSON sends body (marshalled unless it is a string or []byte) as
// application/json and decodes the answer.
func (c *Client) JSON(t testing.TB, method, path string, body any, headers ...string) Response {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, c.app.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.Do(t, req, headers...)
}

// Do sends req with the client's headers plus name/value pairs.
func (c *Client) Do(t testing.TB, req *http.Request, headers ...string) Response {
	t.Helper()
	for k, vs := range c.Header {
		for _, v := range vs {
			req.Header.Set(k, v)
		}
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	contract := checkRequest(t, req) // api/openapi.yaml (apptest/openapi.go)
	res, err := c.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	contract.checkResponse(t, res.StatusCode, res.Header, raw)
	out := Response{Status: res.StatusCode, Header: res.Header, Raw: raw}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out.Body); err != nil {
			t.Fatalf("%s %s: bad JSON %q: %v", req.Method, req.URL.Path, raw, err)
		}
	}
	return out
}

// Eventually polls cond until it holds or timeout passes.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
