package faults

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
)

// suite is what every scenario shares: the binary and the tools. Each
// scenario starts its own MariaDB and redis-server (it may kill them), so
// the scenarios run in parallel.
type suite struct {
	dir           string
	mariaTemplate string // a data directory mariadb-install-db made
	bin           string
	tools         map[string]string
	failed        error
}

var (
	shared    *suite
	setupOnce sync.Once
)

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.close()
	}
	os.Exit(code)
}

// need returns the shared suite, starting it on first use; without
// JIANFU_FAULTS=1 the test is skipped, and so it is when a tool is missing
// outside CI (under CI=true a missing tool fails).
func need(t *testing.T) *suite {
	t.Helper()
	if os.Getenv("JIANFU_FAULTS") != "1" {
		t.Skip("fault suite: run it with `make faults` (JIANFU_FAULTS=1)")
	}
	tools := map[string]string{}
	var missing []string
	for _, tool := range []string{"mariadb-install-db", "mariadbd", "redis-server"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			if _, serr := os.Stat("/usr/sbin/" + tool); serr == nil {
				p, err = "/usr/sbin/"+tool, nil
			}
		}
		if err != nil {
			missing = append(missing, tool)
		}
		tools[tool] = p
	}
	if len(missing) > 0 {
		msg := fmt.Sprintf("fault suite needs %s (apt-get install mariadb-server redis-server)", strings.Join(missing, ", "))
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	setupOnce.Do(func() { shared = &suite{}; shared.failed = shared.start(tools) })
	if shared.failed != nil {
		t.Fatalf("fault suite setup: %v", shared.failed)
	}
	return shared
}

func (s *suite) start(tools map[string]string) error {
	dir, err := os.MkdirTemp("", "jianfu-faults-")
	if err != nil {
		return err
	}
	s.dir = dir
	s.bin = filepath.Join(dir, "jianfu")
	build := exec.Command("go", "build", "-o", s.bin, ".")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	s.tools = tools
	// One mariadb-install-db per run (parallel ones collide in their
	// temporary tables); each scenario copies the fresh data directory.
	s.mariaTemplate = filepath.Join(dir, "mariadb-template")
	out, err := exec.Command(tools["mariadb-install-db"], "--no-defaults", "--datadir="+s.mariaTemplate, "--user=root",
		"--auth-root-authentication-method=normal", "--skip-test-db", "--tmpdir="+dir).CombinedOutput()
	if err != nil {
		return fmt.Errorf("mariadb-install-db: %v\n%s", err, out)
	}
	return nil
}

func (s *suite) close() {
	if s.dir != "" && os.Getenv("JIANFU_FAULTS_KEEP") == "" {
		os.RemoveAll(s.dir)
	}
}

// proc is one child process with its output in a log file.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

func spawn(name, logPath string, env []string, bin string, args ...string) (*proc, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { cmd.Wait(); f.Close(); close(p.done) }()
	return p, nil
}

// kill sends SIGKILL and waits until the process is gone.
func (p *proc) kill() {
	if p == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stacks stops a Go process with SIGQUIT, which makes it print every
// goroutine's stack, and returns the stacks that pass through Jianfu's own
// packages (at most ~8 KB), for a failure that looks like a hang.
func (p *proc) stacks() string {
	from, _ := os.Stat(p.log)
	p.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.kill()
	}
	b, _ := os.ReadFile(p.log)
	if from != nil && int64(len(b)) >= from.Size() {
		b = b[from.Size():]
	}
	var out strings.Builder
	for _, g := range strings.Split(string(b), "\n\n") {
		if strings.HasPrefix(g, "goroutine ") && strings.Contains(g, "jianfu/") && out.Len() < 8000 {
			if len(g) > 1500 {
				g = g[:1500] + "\n\t..."
			}
			out.WriteString(g + "\n\n")
		}
	}
	return out.String()
}

// tail is the end of the process's log, for failure messages.
func (p *proc) tail() string {
	b, _ := os.ReadFile(p.log)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// freePortIn returns a port of [lo, hi] nobody listens on, or a free port
// chosen by the kernel when lo is 0.
var (
	portsMu sync.Mutex
	taken   = map[int]bool{}
)

func freePortIn(lo, hi int) (int, error) {
	if lo == 0 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port, nil
	}
	portsMu.Lock()
	defer portsMu.Unlock()
	for p := lo; p <= hi; p++ {
		if taken[p] {
			continue
		}
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err == nil {
			l.Close()
			taken[p] = true
			return p, nil
		}
	}
	return 0, fmt.Errorf("no free port in %d-%d", lo, hi)
}

// waitUntil polls cond every 50 ms until it holds or within passes.
func waitUntil(within time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(within); ; time.Sleep(50 * time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// mariadb is the suite's own MariaDB server.
type mariadb struct {
	bin, dir string
	port     int
	proc     *proc
}

func startMariaDB(template, bin, dir string) (*mariadb, error) {
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o700); err != nil {
		return nil, err
	}
	if out, err := exec.Command("cp", "-a", template, filepath.Join(dir, "data")).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("copy the MariaDB data directory: %v\n%s", err, out)
	}
	port, err := freePortIn(3330, 3339)
	if err != nil {
		return nil, err
	}
	m := &mariadb{bin: bin, dir: dir, port: port}
	return m, m.start()
}

// start runs mariadbd (again, after a kill: InnoDB recovers) and waits
// until it answers.
func (m *mariadb) start() error {
	p, err := spawn("mariadbd", filepath.Join(m.dir, "mariadbd.log"), os.Environ(), m.bin, "--no-defaults",
		"--datadir="+filepath.Join(m.dir, "data"), "--port="+strconv.Itoa(m.port), "--bind-address=127.0.0.1",
		"--socket="+filepath.Join(m.dir, "mariadb.sock"), "--tmpdir="+filepath.Join(m.dir, "tmp"), "--pid-file="+filepath.Join(m.dir, "mariadbd.pid"),
		"--user=root", "--skip-grant-tables", "--skip-log-bin", "--innodb-buffer-pool-size=64M",
		"--max-connections=300", "--character-set-server=utf8mb4", "--collation-server=utf8mb4_unicode_ci")
	if err != nil {
		return err
	}
	m.proc = p
	if !waitUntil(60*time.Second, func() bool { return p.exited() || m.ping() == nil }) || p.exited() {
		return fmt.Errorf("mariadbd did not start:\n%s", p.tail())
	}
	return nil
}

func (m *mariadb) ping() error {
	db, err := sql.Open("mysql", fmt.Sprintf("root@tcp(127.0.0.1:%d)/?timeout=1s", m.port))
	if err != nil {
		return err
	}
	defer db.Close()
	return db.Ping()
}

// restart kills the server (SIGKILL, no shutdown) and starts it again
// after down has passed; it returns when the server answers.
func (m *mariadb) restart(down time.Duration) error {
	m.proc.kill()
	time.Sleep(down)
	return m.start()
}

// database creates a fresh database and returns its JIANFU_DATABASE_URL
// and a connection for the checks.
func (m *mariadb) database(t *testing.T, name string) (string, *sql.DB) {
	t.Helper()
	root, err := sql.Open("mysql", fmt.Sprintf("root@tcp(127.0.0.1:%d)/", m.port))
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	if _, err := root.Exec("DROP DATABASE IF EXISTS " + name); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("mysql", fmt.Sprintf("root@tcp(127.0.0.1:%d)/%s?parseTime=true", m.port, name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return fmt.Sprintf("mysql://root@127.0.0.1:%d/%s", m.port, name), db
}

// redisServer is the suite's own redis-server, without persistence: a
// killed Redis comes back empty, the worst case the outbox must cover.
type redisServer struct {
	bin, dir string
	port     int
	proc     *proc
}

func startRedis(bin, dir string) (*redisServer, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	port, err := freePortIn(6385, 6389)
	if err != nil {
		return nil, err
	}
	r := &redisServer{bin: bin, dir: dir, port: port}
	return r, r.start()
}

func (r *redisServer) start() error {
	p, err := spawn("redis-server", filepath.Join(r.dir, "redis.log"), os.Environ(), r.bin, "--port", strconv.Itoa(r.port),
		"--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", r.dir, "--maxmemory-policy", "noeviction")
	if err != nil {
		return err
	}
	r.proc = p
	if !waitUntil(20*time.Second, func() bool { return p.exited() || r.ping() == nil }) || p.exited() {
		return fmt.Errorf("redis-server did not start:\n%s", p.tail())
	}
	return nil
}

func (r *redisServer) ping() error {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(r.port), time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	buf := make([]byte, 16)
	n, err := c.Read(buf)
	if err != nil || !strings.HasPrefix(string(buf[:n]), "+PONG") {
		return fmt.Errorf("redis ping: %q %v", buf[:n], err)
	}
	return nil
}

func (r *redisServer) url(db int) string {
	return fmt.Sprintf("redis://127.0.0.1:%d/%d", r.port, db)
}

// app is one deployment of jianfu on the suite's servers: one database,
// one Redis database, an api and a worker process.
type app struct {
	t      *testing.T
	s      *suite
	maria  *mariadb
	redis  *redisServer
	name   string
	env    []string
	addr   string
	db     *sql.DB
	api    *proc
	worker *proc
}

const (
	staffUser     = "faults_office"
	staffPassword = "Faults-Office-2026"
)

// newApp starts a MariaDB and a redis-server of its own, migrates a fresh
// database, adds an office account, and starts `jianfu api` and `jianfu
// worker`.
func (s *suite) newApp(t *testing.T, name string, extraEnv ...string) *app {
	t.Helper()
	maria, err := startMariaDB(s.mariaTemplate, s.tools["mariadbd"], filepath.Join(s.dir, name, "mariadb"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { maria.proc.kill() })
	redis, err := startRedis(s.tools["redis-server"], filepath.Join(s.dir, name, "redis"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { redis.proc.kill() })
	dbURL, db := maria.database(t, "jianfu")
	port, err := freePortIn(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(s.dir, name, "data")
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	a := &app{t: t, s: s, maria: maria, redis: redis, name: name, addr: "127.0.0.1:" + strconv.Itoa(port), db: db}
	a.env = append(os.Environ(),
		"JIANFU_DATABASE_URL="+dbURL, "JIANFU_REDIS_URL="+redis.url(0), "JIANFU_ADDR="+a.addr,
		"JIANFU_DATA_DIR="+dataDir, "JIANFU_RATE_LIMITS=off", "JIANFU_POLL_INTERVAL=200ms",
		"JIANFU_SECRET_KEY=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "JIANFU_REQUIRE_2FA=none",
		"JIANFU_BASE_URL=http://"+a.addr)
	a.env = append(a.env, extraEnv...)
	for _, args := range [][]string{{"migrate"},
		{"user", "add", "--username", staffUser, "--password", staffPassword, "--role", "office"}} {
		cmd := exec.Command(s.bin, args...)
		cmd.Env = a.env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("jianfu %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	a.startAPI()
	a.startWorker()
	t.Cleanup(func() {
		a.api.kill()
		a.worker.kill()
		if t.Failed() {
			t.Logf("api log:\n%s\nworker log:\n%s", a.api.tail(), a.worker.tail())
		}
	})
	return a
}

func (a *app) startAPI() {
	a.t.Helper()
	p, err := spawn("api", filepath.Join(a.s.dir, a.name, "api.log"), a.env, a.s.bin, "api")
	if err != nil {
		a.t.Fatal(err)
	}
	a.api = p
	ok := waitUntil(60*time.Second, func() bool {
		if p.exited() {
			return true
		}
		res, err := http.Get("http://" + a.addr + "/healthz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
	if !ok || p.exited() {
		a.t.Fatalf("jianfu api did not start:\n%s", p.tail())
	}
}

func (a *app) startWorker() {
	a.t.Helper()
	p, err := spawn("worker", filepath.Join(a.s.dir, a.name, "worker.log"), a.env, a.s.bin, "worker")
	if err != nil {
		a.t.Fatal(err)
	}
	a.worker = p
}

// answer is one HTTP exchange as the client saw it.
type answer struct {
	status     int
	retryAfter string
	body       map[string]any
	err        error // no answer at all (connection refused or reset, timeout)
}

// clientTimeout bounds every request: an answer later than this is a hang.
const clientTimeout = 20 * time.Second

type client struct {
	base string
	http *http.Client
	csrf string
}

func (a *app) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{base: "http://" + a.addr, http: &http.Client{Timeout: clientTimeout, Jar: jar,
		Transport: &http.Transport{MaxIdleConnsPerHost: 4}}}
}

func (c *client) do(method, path string, body any, header ...string) answer {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequestWithContext(context.Background(), method, c.base+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := c.http.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return answer{err: err}
	}
	ans := answer{status: res.StatusCode, retryAfter: res.Header.Get("Retry-After")}
	json.Unmarshal(raw, &ans.body)
	return ans
}

func (c *client) login(t *testing.T) {
	t.Helper()
	ans := c.do(http.MethodPost, "/api/v1/auth/login", map[string]string{"username": staffUser, "password": staffPassword})
	if ans.status != http.StatusOK {
		t.Fatalf("login: %d %v %v", ans.status, ans.body, ans.err)
	}
	c.csrf, _ = ans.body["csrf_token"].(string)
}

// tally counts answers by status ("none" for no answer) and keeps the
// receipts handed out.
type tally struct {
	mu        sync.Mutex
	statuses  map[string]int
	receipts  []string
	bad       []string  // 500s, 503s without Retry-After, hangs
	firstOKAt time.Time // the first tip accepted after the latest refusal
	lastBadAt time.Time // the latest 503 or request without an answer
	retried   int       // tips sent again after a 503 or no answer
	replays   int       // of those, answered 200: stored by an earlier try
}

func newTally() *tally { return &tally{statuses: map[string]int{}} }

func (y *tally) add(what string, a answer) {
	y.mu.Lock()
	defer y.mu.Unlock()
	key := strconv.Itoa(a.status)
	if a.err != nil {
		key = "none"
		var ne net.Error
		if errors.As(a.err, &ne) && ne.Timeout() {
			key = "timeout"
			y.bad = append(y.bad, fmt.Sprintf("%s: no answer within %s", what, clientTimeout))
		}
	}
	y.statuses[key]++
	switch {
	case a.status >= 500 && a.status != http.StatusServiceUnavailable:
		y.bad = append(y.bad, fmt.Sprintf("%s: %d %v", what, a.status, a.body))
	case a.status == http.StatusServiceUnavailable && a.retryAfter == "":
		y.bad = append(y.bad, fmt.Sprintf("%s: 503 without Retry-After", what))
	}
	if a.status == http.StatusServiceUnavailable || a.err != nil {
		y.lastBadAt = time.Now()
	}
}

// retries says how many tips were sent again and how many of those had
// been stored by an earlier try.
func (y *tally) retries() string {
	y.mu.Lock()
	defer y.mu.Unlock()
	return fmt.Sprintf("%d tips sent again with their key after a 503 or no answer, %d of them stored by an earlier try", y.retried, y.replays)
}

func (y *tally) summary() string {
	y.mu.Lock()
	defer y.mu.Unlock()
	keys := make([]string, 0, len(y.statuses))
	total := 0
	for k, n := range y.statuses {
		keys = append(keys, fmt.Sprintf("%s×%d", k, n))
		total += n
	}
	slices.Sort(keys)
	return fmt.Sprintf("%d requests: %s", total, strings.Join(keys, ", "))
}

// category is a category code the tips use.
func (a *app) category(t *testing.T) string {
	t.Helper()
	ans := a.client().do(http.MethodGet, "/api/v1/categories", nil)
	items, _ := ans.body["items"].([]any)
	if ans.status != http.StatusOK || len(items) == 0 {
		t.Fatalf("categories: %d %v", ans.status, ans.body)
	}
	code, _ := items[0].(map[string]any)["code"].(string)
	return code
}

// intake runs n clients, each posting tips until stop is closed; every
// tip has a unique title. A client does what the web form does: it sends
// each tip with its own Idempotency-Key and, after a 503 or no answer,
// sends it again with the same key until it is answered (a stored tip is
// replayed: 200 and its receipt), for at most a minute after stop.
func (a *app) intake(t *testing.T, n int, y *tally, stop <-chan struct{}) *sync.WaitGroup {
	cat := a.category(t)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c := a.client()
			var stoppedAt time.Time
			stopped := func() bool {
				select {
				case <-stop:
					if stoppedAt.IsZero() {
						stoppedAt = time.Now()
					}
					return true
				default:
					return false
				}
			}
			for j := 0; !stopped(); j++ {
				title := fmt.Sprintf("故障演练%s-%d-%d", a.name, i, j)
				key := rand.Text()
				for retry := false; ; retry = true {
					ans := c.do(http.MethodPost, "/api/v1/tips", map[string]any{"category": cat, "title": title,
						"content": "某单位要求基层每天在多个政务App打卡并截图上报，占用大量工作时间。", "anonymous": true},
						"Idempotency-Key", key)
					y.add("POST /api/v1/tips", ans)
					unsure := ans.status == http.StatusServiceUnavailable || ans.err != nil
					y.mu.Lock()
					switch {
					case ans.status == http.StatusCreated || ans.status == http.StatusOK:
						r, _ := ans.body["receipt"].(string)
						y.receipts = append(y.receipts, r)
						if ans.status == http.StatusOK {
							y.replays++
						}
						if y.firstOKAt.IsZero() || y.firstOKAt.Before(y.lastBadAt) {
							y.firstOKAt = time.Now()
						}
					case unsure && !retry:
						y.retried++
					case ans.status < 500 && !unsure:
						y.bad = append(y.bad, fmt.Sprintf("POST /api/v1/tips %q: %d %v", title, ans.status, ans.body))
					}
					y.mu.Unlock()
					if !unsure {
						break
					}
					if stopped() && time.Since(stoppedAt) > time.Minute {
						y.mu.Lock()
						y.bad = append(y.bad, fmt.Sprintf("POST /api/v1/tips %q: no answer but 503s or silence for a minute after the load stopped", title))
						y.mu.Unlock()
						break
					}
					time.Sleep(200 * time.Millisecond) // a client backs off
				}
				time.Sleep(50 * time.Millisecond) // and types the next tip
			}
		})
	}
	return &wg
}

// staffLoad runs an office client listing cases, opening one and
// accepting it, until stop is closed.
func (a *app) staffLoad(t *testing.T, y *tally, stop <-chan struct{}) *sync.WaitGroup {
	c := a.client()
	c.login(t)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			ans := c.do(http.MethodGet, "/api/v1/cases?stage=collect&limit=5", nil)
			y.add("GET /api/v1/cases", ans)
			items, _ := ans.body["items"].([]any)
			if len(items) > 0 {
				id := fmt.Sprint(items[0].(map[string]any)["id"])
				y.add("GET /api/v1/cases/{id}", c.do(http.MethodGet, "/api/v1/cases/"+id, nil))
				y.add("POST /api/v1/cases/{id}/accept", c.do(http.MethodPost, "/api/v1/cases/"+id+"/accept", map[string]any{}))
			}
			if ans.status != http.StatusOK {
				time.Sleep(200 * time.Millisecond)
			}
		}
	})
	return &wg
}

// checkIntegrity asserts that no case is half-written: every tip has its
// case, its submitted event and its routing outbox row, and no case lacks
// its tip. It returns the number of tips.
func (a *app) checkIntegrity(t *testing.T) int {
	t.Helper()
	defer took(t, "integrity check", time.Now())
	count := func(q string) int {
		var n int
		if err := a.db.QueryRow(q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	tips := count("SELECT COUNT(*) FROM tips")
	for what, q := range map[string]string{
		"tips without a case":           "SELECT COUNT(*) FROM tips t WHERE NOT EXISTS (SELECT 1 FROM cases c WHERE c.tip_id = t.id)",
		"cases without a tip":           "SELECT COUNT(*) FROM cases c WHERE NOT EXISTS (SELECT 1 FROM tips t WHERE t.id = c.tip_id)",
		"cases without submitted event": "SELECT COUNT(*) FROM cases c WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.case_id = c.id AND e.kind = 'submitted')",
		"cases with two submitted":      "SELECT COUNT(*) FROM (SELECT case_id FROM events WHERE kind = 'submitted' GROUP BY case_id HAVING COUNT(*) > 1) x",
	} {
		if n := count(q); n != 0 {
			t.Errorf("%s: %d", what, n)
		}
	}
	// Every case is in exactly one routing task in the outbox.
	routes := map[uint64]int{}
	rows, err := a.db.Query("SELECT payload FROM outbox WHERE type = 'tip:route'")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var raw []byte
		var p struct { // one intake batch's cases
			CaseIDs []uint64 `json:"case_ids"`
		}
		if err := rows.Scan(&raw); err != nil || json.Unmarshal(raw, &p) != nil {
			t.Fatalf("outbox payload %q: %v", raw, err)
		}
		for _, id := range p.CaseIDs {
			routes[id]++
		}
	}
	rows.Close()
	ids, err := a.db.Query("SELECT id FROM cases")
	if err != nil {
		t.Fatal(err)
	}
	missing := 0
	for ids.Next() {
		var id uint64
		ids.Scan(&id)
		if routes[id] != 1 {
			missing++
		}
	}
	ids.Close()
	if missing != 0 {
		t.Errorf("cases without exactly one routing task in the outbox: %d", missing)
	}
	return tips
}

// waitRouted waits until every case's routing ran, then asserts it ran
// exactly once per case; it returns the seconds it took.
func (a *app) waitRouted(t *testing.T, within time.Duration) float64 {
	t.Helper()
	start := time.Now()
	var routed, cases, pending int
	ok := waitUntil(within, func() bool {
		a.db.QueryRow("SELECT COUNT(*) FROM cases").Scan(&cases)
		a.db.QueryRow("SELECT COUNT(DISTINCT case_id) FROM events WHERE kind = 'routed'").Scan(&routed)
		// Routing tasks not done yet could still run: wait for none.
		a.db.QueryRow("SELECT COUNT(*) FROM outbox WHERE type = 'tip:route' AND done_at IS NULL").Scan(&pending)
		return routed == cases && pending == 0
	})
	if !ok {
		t.Fatalf("routing ran for %d of %d cases within %s, %d routing tasks not done", routed, cases, within, pending)
	}
	var twice int
	a.db.QueryRow("SELECT COUNT(*) FROM (SELECT case_id FROM events WHERE kind = 'routed' GROUP BY case_id HAVING COUNT(*) > 1) x").Scan(&twice)
	if twice != 0 {
		t.Errorf("routing ran more than once for %d cases", twice)
	}
	return time.Since(start).Seconds()
}

// took logs how long a phase took.
func took(t *testing.T, what string, start time.Time) {
	t.Logf("%s took %.1f s", what, time.Since(start).Seconds())
}

// checkTips runs checkIntegrity, asserts that each tip the clients sent is
// stored once (one receipt a tip: retries replayed, never stored twice)
// and looks every receipt up. It returns the number of tips.
func (a *app) checkTips(t *testing.T, y *tally) int {
	t.Helper()
	tips := a.checkIntegrity(t)
	if tips != len(y.receipts) {
		t.Errorf("%d tips stored, %d receipts handed out (%s)", tips, len(y.receipts), y.retries())
	}
	a.checkReceipts(t, y.receipts)
	return tips
}

// checkReceipts looks every receipt up as the tipster would.
func (a *app) checkReceipts(t *testing.T, receipts []string) {
	t.Helper()
	defer took(t, fmt.Sprintf("looking up %d receipts", len(receipts)), time.Now())
	var mu sync.Mutex
	lost := 0
	work := make(chan string)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			c := a.client()
			for r := range work {
				ans := c.do(http.MethodPost, "/api/v1/tips/lookup", map[string]string{"receipt": r})
				if ans.status != http.StatusOK {
					mu.Lock()
					lost++
					if lost <= 5 {
						t.Errorf("receipt %s: lookup %d %v %v", r, ans.status, ans.body, ans.err)
					}
					mu.Unlock()
				}
			}
		})
	}
	for _, r := range receipts {
		work <- r
	}
	close(work)
	wg.Wait()
	if lost > 0 {
		t.Errorf("%d of %d receipts not found", lost, len(receipts))
	}
}
