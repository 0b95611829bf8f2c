package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"jianfu/models"
	"jianfu/testenv"
)

// The binary under test, built once.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "jianfu-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "jianfu")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build jianfu: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running jianfu subprocess.
type proc struct {
	cmd    *exec.Cmd
	stdout *testenv.Output
	stderr *testenv.Output
	done   chan error
}

// start runs `jianfu args…` in dir with exactly env (no inherited JIANFU_*).
func start(t *testing.T, dir string, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	p := &proc{cmd: cmd, stdout: &testenv.Output{}, stderr: &testenv.Output{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() { p.stop(t) })
	return p
}

// stop sends SIGTERM and waits for a graceful exit.
func (p *proc) stop(t *testing.T) {
	if p.cmd.ProcessState != nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		t.Errorf("%v did not stop within 20s of SIGTERM", p.cmd.Args)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitHTTP(t *testing.T, url string, within time.Duration, p *proc) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		res, err := http.Get(url)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not 200 within %v\nstdout: %s\nstderr: %s", url, within, p.stdout, p.stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Acceptance: `jianfu serve` with no settings answers /healthz and /readyz;
// a restart keeps the data and creates no second admin.
func TestServeEmbeddedFirstRun(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	env := []string{"JIANFU_ADDR=" + addr}
	p := start(t, dir, env, "serve")
	waitHTTP(t, "http://"+addr+"/healthz", 30*time.Second, p)
	waitHTTP(t, "http://"+addr+"/readyz", 30*time.Second, p)
	if !strings.Contains(p.stdout.String(), "一次性密码") {
		t.Fatalf("first start printed no admin password:\n%s", p.stdout)
	}
	p.stop(t)
	if _, err := os.Stat(filepath.Join(dir, "data", "jianfu.db")); err != nil {
		t.Fatalf("no SQLite file under ./data: %v", err)
	}
	p = start(t, dir, env, "serve")
	waitHTTP(t, "http://"+addr+"/readyz", 30*time.Second, p)
	p.stop(t)
	if strings.Contains(p.stdout.String(), "一次性密码") {
		t.Errorf("second start created another admin:\n%s", p.stdout)
	}
	list := exec.Command(binary, "user", "list")
	list.Dir = dir
	list.Env = []string{"PATH=" + os.Getenv("PATH")}
	out, err := list.CombinedOutput()
	if err != nil || strings.Count(string(out), "\n") != 2 { // header + one admin
		t.Errorf("user list after two starts should show one user: %v\n%s", err, out)
	}
}

// Acceptance: an unreachable database stops `jianfu api` quickly with one
// line that names JIANFU_DATABASE_URL.
func TestUnreachableDatabaseNamesTheSetting(t *testing.T) {
	begin := time.Now()
	p := start(t, t.TempDir(), []string{"JIANFU_DATABASE_URL=mysql://nobody@127.0.0.1:1/x"}, "api")
	select {
	case err := <-p.done:
		if err == nil {
			t.Fatal("exited 0")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("still running after 10s")
	}
	lines := strings.Split(strings.TrimSpace(p.stderr.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "JIANFU_DATABASE_URL") {
		t.Errorf("want one line naming JIANFU_DATABASE_URL, got %q", p.stderr.String())
	}
	if d := time.Since(begin); d > 10*time.Second {
		t.Errorf("took %v", d)
	}
}

// Acceptance: on MariaDB + Redis, `migrate`, then `api` and `worker` as two
// processes; a tip submitted through the api is routed by the worker. An
// api on an unmigrated database refuses to start and names the fix.
func TestSplitProcesses(t *testing.T) {
	b := testenv.MariaDB(t)
	dbURL, dir := b.Database(t)
	redisURL, _ := b.Redis(t)
	addr := freeAddr(t)
	env := []string{"JIANFU_DATABASE_URL=" + dbURL, "JIANFU_REDIS_URL=" + redisURL, "JIANFU_ADDR=" + addr,
		"JIANFU_SECRET_KEY=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "JIANFU_POLL_INTERVAL=500ms", "JIANFU_RATE_LIMITS=off"}

	early := start(t, dir, env, "api")
	select {
	case <-early.done:
		if !strings.Contains(early.stderr.String(), "jianfu migrate") {
			t.Errorf("api on an empty database should name `jianfu migrate`: %q", early.stderr)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("api started on an unmigrated database")
	}

	mig := start(t, dir, env, "migrate")
	if err := <-mig.done; err != nil {
		t.Fatalf("migrate: %v\n%s", err, mig.stderr)
	}
	apiProc := start(t, dir, env, "api")
	waitHTTP(t, "http://"+addr+"/readyz", 30*time.Second, apiProc)
	body := `{"category":"digital","content":"每天要在5个政务App上打卡签到，数据重复录入"}`
	res, err := http.Post("http://"+addr+"/api/v1/tips", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var receipt struct{ Receipt string }
	json.NewDecoder(res.Body).Decode(&receipt)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("submit: %d", res.StatusCode)
	}

	store, err := models.Open(context.Background(), models.OpenParams{DatabaseURL: dbURL, DataDir: dir,
		Secret: []byte("0123456789abcdef0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	caseID, err := store.CaseIDByReceipt(context.Background(), receipt.Receipt)
	if err != nil {
		t.Fatal(err)
	}
	routed := func() bool {
		evs, _ := store.Events(context.Background(), caseID)
		for _, e := range evs {
			if e.Kind == models.EventRouted {
				return true
			}
		}
		return false
	}
	time.Sleep(time.Second)
	if routed() {
		t.Fatal("routed with no worker running")
	}
	wp := start(t, dir, env, "worker")
	deadline := time.Now().Add(20 * time.Second)
	for !routed() {
		if time.Now().After(deadline) {
			t.Fatalf("the worker process did not route the tip\nworker stderr: %s", wp.stderr)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
