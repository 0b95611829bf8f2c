package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	_ "github.com/glebarez/go-sqlite" // the embedded ceiling
	_ "github.com/go-sql-driver/mysql"

	"jianfu/models"
	"jianfu/testenv"
)

type bench struct {
	bin, tmp           string
	duration           time.Duration
	clients            int
	mysqlURL, redisURL string
	// dbPID and redisPID are the servers at those URLs (0: unknown), whose
	// CPU the scenarios count.
	dbPID, redisPID int
	// reuse keeps the scale database of an earlier run (-reuse).
	reuse bool
}

// backend is one fresh database for a scenario.
type backend struct {
	mode    string // mysql or embedded
	env     []string
	dataDir string
	dbURL   string // mysql:// URL, "" for embedded
	sqlDSN  string // database/sql DSN of the same database
	driver  string
}

// newBackend creates an empty database named for the scenario.
func (b *bench) newBackend(mode, name string) (*backend, error) {
	be := &backend{mode: mode, dataDir: filepath.Join(b.tmp, mode+"_"+name)}
	if err := os.MkdirAll(be.dataDir, 0o700); err != nil {
		return nil, err
	}
	be.env = []string{"JIANFU_DATA_DIR=" + be.dataDir, "JIANFU_RATE_LIMITS=off", "JIANFU_LOG_LEVEL=warn",
		"JIANFU_SECRET_KEY=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
		// A configured attachment key (the highest id seals new files), as
		// a county that rotated once runs; a release without attachment
		// encryption ignores it.
		"JIANFU_FILE_KEYS=2:ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA="}
	if mode == "embedded" {
		be.driver = "sqlite"
		be.sqlDSN = models.SQLiteDSN(be.dataDir)
		return be, nil
	}
	u, err := url.Parse(b.mysqlURL)
	if err != nil {
		return nil, err
	}
	pass, _ := u.User.Password()
	admin := fmt.Sprintf("%s:%s@tcp(%s)/", u.User.Username(), pass, u.Host)
	db, err := sql.Open("mysql", admin)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	dbName := "jianfu_bench_" + name
	if !b.reuse || name != "scale" { // -reuse keeps the generated county
		if _, err := db.Exec("DROP DATABASE IF EXISTS " + dbName); err != nil {
			return nil, err
		}
	}
	if _, err := db.Exec("CREATE DATABASE IF NOT EXISTS " + dbName + " CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"); err != nil {
		return nil, err
	}
	u.Path = "/" + dbName
	be.dbURL = u.String()
	be.driver = "mysql"
	be.sqlDSN = admin + dbName + "?parseTime=true&loc=UTC&interpolateParams=true&time_zone=%27%2B00%3A00%27"
	be.env = append(be.env, "JIANFU_DATABASE_URL="+be.dbURL, "JIANFU_REDIS_URL="+b.redisURL)
	return be, nil
}

func (be *backend) open() (*sql.DB, error) {
	db, err := sql.Open(be.driver, be.sqlDSN)
	if err != nil {
		return nil, err
	}
	if be.driver == "sqlite" {
		db.SetMaxOpenConns(1) // as the store does: one writer
	} else {
		db.SetMaxOpenConns(32)
		db.SetMaxIdleConns(32)
	}
	return db, nil
}

// run executes a jianfu command to completion.
func (b *bench) run(be *backend, args ...string) error {
	cmd := exec.Command(b.bin, args...)
	cmd.Env = append(os.Environ(), be.env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("jianfu %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// server is a running `jianfu serve`.
type server struct {
	cmd    *exec.Cmd
	addr   string
	stderr *testenv.Output
	done   chan struct{}
}

func (b *bench) serve(be *backend, extraEnv ...string) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	s := &server{addr: addr, stderr: &testenv.Output{}, done: make(chan struct{})}
	s.cmd = exec.Command(b.bin, "serve")
	s.cmd.Env = append(append(os.Environ(), be.env...), append(extraEnv, "JIANFU_ADDR="+addr)...)
	s.cmd.Stderr = s.stderr
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { s.cmd.Wait(); close(s.done) }()
	deadline := time.Now().Add(120 * time.Second)
	for time.Now().Before(deadline) {
		res, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return s, nil
			}
		}
		select {
		case <-s.done:
			return nil, fmt.Errorf("serve exited: %s", s.stderr)
		case <-time.After(100 * time.Millisecond):
		}
	}
	s.stop()
	return nil, fmt.Errorf("serve not ready: %s", s.stderr)
}

// peakRSS is the process's high-water resident set (VmHWM) in MiB.
func (s *server) peakRSS() float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			kb, _ := strconv.Atoi(strings.Fields(l)[1])
			return float64(kb) / 1024
		}
	}
	return 0
}

// logs is what the server has logged so far.
func (s *server) logs() string { return s.stderr.String() }

func (s *server) stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
	}
}

// tipText is about 1 KB of Chinese (≈340 characters × 3 bytes).
var tipText = strings.Repeat("县直部门通过微信工作群每天下发通知，要求乡镇干部在多个政务App上重复填报同一组数据并截图留痕，", 7)

// load runs clients goroutines calling do for duration and collects
// latencies of successful calls.
func load(clients int, duration time.Duration, do func(worker, i int) error) (lat []time.Duration, errs int, firstErr error) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	stop := time.Now().Add(duration)
	for w := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			var bad int
			var first error
			for i := 0; time.Now().Before(stop); i++ {
				t0 := time.Now()
				if err := do(w, i); err != nil {
					bad++
					if first == nil {
						first = err
					}
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			errs += bad
			if firstErr == nil {
				firstErr = first
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	sortDurations(lat)
	return lat, errs, firstErr
}

func sortDurations(d []time.Duration) { sort.Slice(d, func(i, j int) bool { return d[i] < d[j] }) }

func pct(lat []time.Duration, p float64) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	return lat[min(len(lat)-1, int(float64(len(lat))*p))]
}

// Intake variants: what each tip of a run carries.
const (
	// intakeJSON: the ~1 KB text as JSON, no attachment.
	intakeJSON = "json"
	// intakePhoto: the same text as multipart/form-data with one small
	// JPEG carrying EXIF GPS (benchPhoto) and a fresh Idempotency-Key, as
	// the public form sends a tip with a photo: the file is checked,
	// cleaned and encrypted, the key and request hashed.
	intakePhoto = "photo"
)

// IntakeResult is scenario 1 for one mode and variant.
type IntakeResult struct {
	Mode, Variant        string
	Accepted, Errors     int
	Rate, CeilingRate    float64
	P50, P95, P99        time.Duration
	CeilP99              time.Duration
	AllStored, AllRouted bool
	// Photo variant: no stored attachment is a readable JPEG or holds the
	// planted GPS text (nil: not checked).
	Encrypted  *bool
	RouteWait  time.Duration
	PeakRSSMiB float64
	FirstError string
	// CPU milliseconds per operation by process: for the ceiling over its
	// load, for Jianfu from the load's start until every tip is routed.
	CeilCPU, CPU map[string]float64
}

func (b *bench) intake(ctx context.Context, mode, variant string) (IntakeResult, error) {
	r := IntakeResult{Mode: mode, Variant: variant}
	var photo []byte
	var photoSHA string
	body, contentType := []byte(nil), "application/json"
	if variant == intakePhoto {
		photo = benchPhoto()
		photoSHA = sha256Hex(photo)
		body, contentType = photoTip(photo)
	} else {
		body, _ = json.Marshal(map[string]any{"category": "digital", "township": "", "content": tipText, "title": "重复填报数据"})
	}
	// Ceiling: the same three rows (and the photo) in one transaction with
	// database/sql.
	ceil, err := b.newBackend(mode, "ceiling_"+variant)
	if err != nil {
		return r, err
	}
	if err := b.run(ceil, "migrate"); err != nil {
		return r, err
	}
	db, err := ceil.open()
	if err != nil {
		return r, err
	}
	var catID int64
	if err := db.QueryRow("SELECT id FROM categories WHERE code = 'digital'").Scan(&catID); err != nil {
		return r, err
	}
	if err := quiesce(ceil); err != nil {
		return r, err
	}
	cpu0 := b.sampleCPU(0)
	lat, errs, first := load(b.clients, b.duration, func(w, i int) error { return rawInsert(db, catID, photo, photoSHA) })
	r.CeilCPU = b.sampleCPU(0).perOp(cpu0, len(lat))
	db.Close()
	if errs > 0 {
		return r, fmt.Errorf("ceiling errors: %d (%v)", errs, first)
	}
	r.CeilingRate = float64(len(lat)) / b.duration.Seconds()
	r.CeilP99 = pct(lat, 0.99)

	// Jianfu.
	be, err := b.newBackend(mode, "intake_"+variant)
	if err != nil {
		return r, err
	}
	srv, err := b.serve(be)
	if err != nil {
		return r, err
	}
	defer srv.stop()
	if err := quiesce(be); err != nil {
		return r, err
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: b.clients}, Timeout: 10 * time.Second}
	cpu0 = b.sampleCPU(srv.cmd.Process.Pid)
	lat, errs, first = load(b.clients, b.duration, func(w, i int) error {
		req, _ := http.NewRequest(http.MethodPost, "http://"+srv.addr+"/api/v1/tips", bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		if variant == intakePhoto {
			req.Header.Set("Idempotency-Key", rand.Text())
		}
		res, err := client.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusCreated {
			return fmt.Errorf("status %d", res.StatusCode)
		}
		return nil
	})
	r.Accepted, r.Errors = len(lat), errs
	if first != nil {
		r.FirstError = first.Error()
	}
	r.Rate = float64(len(lat)) / b.duration.Seconds()
	r.P50, r.P95, r.P99 = pct(lat, 0.5), pct(lat, 0.95), pct(lat, 0.99)

	// Afterwards every accepted tip is stored and its routing task ran.
	check, err := be.open()
	if err != nil {
		return r, err
	}
	defer check.Close()
	var tips int
	check.QueryRow("SELECT COUNT(*) FROM tips").Scan(&tips)
	r.AllStored = tips == r.Accepted
	t0 := time.Now()
	for time.Since(t0) < 5*time.Minute {
		var pending, routed int
		check.QueryRow("SELECT COUNT(*) FROM outbox WHERE type = 'tip:route' AND done_at IS NULL").Scan(&pending)
		check.QueryRow("SELECT COUNT(*) FROM events WHERE kind = 'routed'").Scan(&routed)
		if pending == 0 && routed == tips {
			r.AllRouted = true
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	r.RouteWait = time.Since(t0)
	r.CPU = b.sampleCPU(srv.cmd.Process.Pid).perOp(cpu0, r.Accepted)
	r.PeakRSSMiB = srv.peakRSS()
	if variant == intakePhoto {
		// Every tip kept its photo, and none is stored readable (checked after
		// the CPU sample: these queries read every blob): a cleaned
		// JPEG starts with FF D8 FF, a sealed one with a random nonce.
		var files, clear, leaks int
		for _, q := range []struct {
			n     *int
			query string
			args  []any
		}{
			{&files, "SELECT COUNT(*) FROM attachments", nil},
			{&clear, "SELECT COUNT(*) FROM attachments WHERE substr(data, 1, 3) = ?", []any{[]byte{0xFF, 0xD8, 0xFF}}},
			{&leaks, "SELECT COUNT(*) FROM attachments WHERE instr(data, ?) > 0", []any{[]byte(benchPlace)}},
		} {
			if err := check.QueryRow(q.query, q.args...).Scan(q.n); err != nil {
				return r, fmt.Errorf("check attachments: %w", err)
			}
		}
		log.Printf("intake %s %s: %d tips, %d files, %d readable JPEGs, %d with the planted text", mode, variant, tips, files, clear, leaks)
		r.AllStored = r.AllStored && files == tips
		enc := files > 0 && clear == 0 && leaks == 0
		r.Encrypted = &enc
	}
	return r, nil
}

// quiesce waits (at most two minutes) until MariaDB has written back what
// the run before left in its redo log: the checkpoint age under an eighth
// of its limit, where an idle server keeps it. A load that fills the redo
// log makes InnoDB stop every writer now and then until its page cleaner
// catches up (a photo tip writes ~15 KB of redo, so the default 96 MiB
// log fills in seconds); without the wait the Jianfu run would start with
// the debt the ceiling run left, the ceiling with none. SQLite's runs each
// have their own database file and need no wait.
func quiesce(be *backend) error {
	if be.driver != "mysql" {
		return nil
	}
	db, err := be.open()
	if err != nil {
		return err
	}
	defer db.Close()
	for t0 := time.Now(); time.Since(t0) < 2*time.Minute; time.Sleep(time.Second) {
		age, limit, err := innodbStatus(db, "INNODB_CHECKPOINT_AGE", "INNODB_CHECKPOINT_MAX_AGE")
		if err != nil {
			return err
		}
		if !age.Valid || !limit.Valid {
			return nil // MySQL does not show these (MariaDB does)
		}
		if age.Float64 <= limit.Float64/8 {
			log.Printf("redo log written back (checkpoint age %.0f MiB) after %v", age.Float64/(1<<20), time.Since(t0).Round(time.Second))
			return nil
		}
	}
	log.Printf("redo log not written back after two minutes; measuring anyway")
	return nil
}

// innodbStatus reads two of the server's global status variables; a
// variable the server does not show (MySQL lacks some of MariaDB's) is
// NULL.
func innodbStatus(db *sql.DB, a, b string) (x, y sql.NullFloat64, err error) {
	err = db.QueryRow(`SELECT
		SUM(CASE WHEN variable_name = ? THEN variable_value END),
		SUM(CASE WHEN variable_name = ? THEN variable_value END)
		FROM information_schema.global_status`, a, b).Scan(&x, &y)
	if err != nil {
		err = fmt.Errorf("read InnoDB status: %w", err)
	}
	return x, y, err
}

// rawInsert writes what an accepted tip minimally is: the tip, its case and
// the first event, and photo as its attachment when there is one, in one
// transaction.
func rawInsert(db *sql.DB, catID int64, photo []byte, photoSHA string) error {
	now := time.Now().UTC()
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.Exec(`INSERT INTO tips (receipt_hash, channel, category_id, title, content, implicated_unit, anonymous, created_at)
		VALUES (?, 'web', ?, ?, ?, '', TRUE, ?)`, rand.Text()+rand.Text(), catID, "重复填报数据", tipText, now)
	if err != nil {
		return err
	}
	tipID, _ := res.LastInsertId()
	res, err = tx.Exec(`INSERT INTO cases (tip_id, category_id, stage, stage_entered_at, due_at, due_version, reject_reason, suggestions, verify_team, created_at, updated_at)
		VALUES (?, ?, 'collect', ?, ?, 1, '', '[]', '[]', ?, ?)`, tipID, catID, now, now.Add(48*time.Hour), now, now)
	if err != nil {
		return err
	}
	caseID, _ := res.LastInsertId()
	if _, err := tx.Exec(`INSERT INTO events (case_id, at, kind, actor, to_stage, public, body, data)
		VALUES (?, ?, 'submitted', 'tipster', 'collect', TRUE, '收到反映', '{}')`, caseID, now); err != nil {
		return err
	}
	if photo != nil {
		if _, err := tx.Exec(`INSERT INTO attachments (case_id, filename, content_type, size, sha256, data, created_at)
			VALUES (?, 'IMG_20261127_101500.jpg', 'image/jpeg', ?, ?, ?, ?)`, caseID, len(photo), photoSHA, photo, now); err != nil {
			return err
		}
	}
	return tx.Commit()
}
