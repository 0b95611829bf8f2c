package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"jianfu/models"
)

// ScaleResult holds the scenarios run on a generated county.
type ScaleResult struct {
	Cases, Units, OpenDue int
	Generate, Settle      time.Duration

	ListFirst, ListPage50, Detail latency
	// ListSteady is the first page again once the worker's start-up work
	// is done; ListCPU and SteadyCPU are CPU ms per request by process and
	// disk reads of the buffer pool per request ("disk reads").
	ListSteady         latency
	ListCPU, SteadyCPU map[string]float64
	// ListOpenLast is the last page of the unit's open cases (OpenPages
	// pages).
	ListOpenLast               latency
	OpenPages                  int
	OpenLastCPU                map[string]float64
	ListPlan, DetailPlan       string
	TimerRebuild               time.Duration
	TimersQueued               int
	OverdueLags                []time.Duration
	DigestBuild                time.Duration
	DigestQueries, DigestUnits int
	DigestNonEmpty             int
	PeakRSSMiB                 float64
	// ClosedPage is the page of closed cases measured (50, fewer on a
	// smaller county).
	ClosedPage int
	// Reads are the read paths of DESIGN §10.3 (reads.go).
	Reads *ReadsResult
}

type latency struct{ P50, P95 time.Duration }

func measure(n int, do func() error) (latency, error) {
	var lat []time.Duration
	for range n {
		t0 := time.Now()
		if err := do(); err != nil {
			return latency{}, err
		}
		lat = append(lat, time.Since(t0))
	}
	sortDurations(lat)
	return latency{P50: pct(lat, 0.5), P95: pct(lat, 0.95)}, nil
}

const secret = "0123456789abcdef0123456789abcdef" // matches JIANFU_SECRET_KEY in newBackend

func (b *bench) atScale(ctx context.Context, n int) (*ScaleResult, error) {
	r := &ScaleResult{Cases: n, OpenDue: min(100_000, n/10)}
	be, err := b.newBackend("mysql", "scale")
	if err != nil {
		return nil, err
	}
	if err := b.run(be, "migrate"); err != nil {
		return nil, err
	}
	store, err := models.Open(ctx, models.OpenParams{DatabaseURL: be.dbURL, DataDir: be.dataDir, Secret: []byte(secret),
		Deadlines: mustDeadlines(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, err
	}
	defer store.Close()
	token, codes, took, err := b.generate(ctx, store, n)
	if err != nil {
		return nil, err
	}
	r.Generate, r.Units = took, len(codes)
	if took == 0 { // a kept county: fresh statistics, as the generator leaves them
		if err := analyze(be); err != nil {
			return nil, err
		}
	}
	// A county's database grew over years; one loaded a moment ago still
	// has InnoDB flushing and purging the load in the background, which
	// the first runs measured instead of Jianfu. Wait until that settles.
	if r.Settle, err = settle(be); err != nil {
		return nil, err
	}
	// Digest: every unit's digest and the summary, with the statements
	// counted.
	q0 := store.Queries()
	t0 := time.Now()
	for _, code := range codes {
		d, err := store.UnitDigest(ctx, code)
		if err != nil {
			return nil, err
		}
		if !d.Empty() {
			r.DigestNonEmpty++
		}
	}
	if _, err := store.SummaryDigest(ctx); err != nil {
		return nil, err
	}
	r.DigestBuild, r.DigestQueries, r.DigestUnits = time.Since(t0), int(store.Queries()-q0), len(codes)

	// Timers: a handful of open cases fall due 20 s after the server starts.
	dueSoon, err := store.BenchDueSoon(ctx, 20, 20*time.Second)
	if err != nil {
		return nil, err
	}

	// Queue and timers, against `jianfu serve` on this database.
	srv, err := b.serve(be, "JIANFU_LOG_LEVEL=info")
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	r.TimerRebuild, r.TimersQueued = rebuildTime(srv)

	base := "http://" + srv.addr
	get := func(path string) (map[string]any, error) {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: %d %s", path, res.StatusCode, body)
		}
		var m map[string]any
		return m, json.Unmarshal(body, &m)
	}
	unit, err := store.BenchBusiestUnit(ctx)
	if err != nil {
		return nil, err
	}
	filter := "/api/v1/cases?unit=" + unit + "&stage=rectify&overdue=true&limit=20"
	open := "/api/v1/cases?unit=" + unit + "&stage=open&limit=20"
	for range 20 { // warm the connection pools and caches first
		if _, err := get(filter); err != nil {
			return nil, err
		}
	}
	if r.ListFirst, r.ListCPU, err = b.measureWithCPU(be, srv, func() error { _, err := get(filter); return err }); err != nil {
		return nil, err
	}
	// Page 50 of the unit's closed cases (its history), reached by
	// following cursors; and the last page of its open cases, where the
	// list has to show that nothing older is open.
	lastPage := func(list string, pages int) (string, int, error) {
		cursor := ""
		for page := 1; page < pages; page++ {
			m, err := get(list + "&cursor=" + url.QueryEscape(cursor))
			if err != nil {
				return "", 0, err
			}
			next, _ := m["next_cursor"].(string)
			if next == "" {
				return cursor, page, nil
			}
			cursor = next
		}
		return cursor, pages, nil
	}
	closed := "/api/v1/cases?unit=" + unit + "&stage=closed&limit=20"
	cursor, page, err := lastPage(closed, 50)
	if err != nil {
		return nil, err
	}
	if page < 50 { // a county smaller than the bench's million
		log.Printf("unit %s has only %d pages of closed cases: measuring page %d", unit, page, page)
	}
	r.ClosedPage = page
	if r.ListPage50, err = measure(200, func() error { _, err := get(closed + "&cursor=" + url.QueryEscape(cursor)); return err }); err != nil {
		return nil, err
	}
	if cursor, r.OpenPages, err = lastPage(open, 1000); err != nil {
		return nil, err
	}
	if r.ListOpenLast, r.OpenLastCPU, err = b.measureWithCPU(be, srv, func() error { _, err := get(open + "&cursor=" + url.QueryEscape(cursor)); return err }); err != nil {
		return nil, err
	}
	m, err := get(filter)
	if err != nil {
		return nil, err
	}
	items, _ := m["items"].([]any)
	if len(items) == 0 {
		return nil, fmt.Errorf("the filtered list is empty: the generator made no overdue rectification for %s", unit)
	}
	id := fmt.Sprint(int64(items[0].(map[string]any)["id"].(float64)))
	if r.Detail, err = measure(200, func() error { _, err := get("/api/v1/cases/" + id); return err }); err != nil {
		return nil, err
	}
	if r.ListPlan, r.DetailPlan, err = store.BenchExplain(ctx, unit); err != nil {
		return nil, err
	}
	r.PeakRSSMiB = srv.peakRSS()

	// Overdue marks for the cases due 20 s after start.
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if r.OverdueLags, err = store.BenchOverdueLags(ctx, dueSoon); err != nil {
			return nil, err
		}
		if len(r.OverdueLags) == len(dueSoon) {
			break
		}
		time.Sleep(time.Second)
	}
	if r.ListSteady, r.SteadyCPU, err = b.measureWithCPU(be, srv, func() error { _, err := get(filter); return err }); err != nil {
		return nil, err
	}
	if r.Reads, err = b.reads(ctx, be, srv, store, token); err != nil {
		return nil, err
	}
	r.PeakRSSMiB = max(r.PeakRSSMiB, srv.peakRSS())
	return r, nil
}

// measureWithCPU measures 200 calls of do, with the CPU each process spent
// and the pages InnoDB read from disk per call.
func (b *bench) measureWithCPU(be *backend, srv *server, do func() error) (latency, map[string]float64, error) {
	return b.measureN(be, srv, 200, do)
}

// measureN is measureWithCPU with n calls.
func (b *bench) measureN(be *backend, srv *server, n int, do func() error) (latency, map[string]float64, error) {
	if be.mode == "embedded" {
		// The database and Redis live in serve: MariaDB's and Redis's
		// CPU would be someone else's work.
		cpu0 := b.sampleCPU(srv.cmd.Process.Pid)
		lat, err := measure(n, do)
		cpu := b.sampleCPU(srv.cmd.Process.Pid).perOp(cpu0, n)
		delete(cpu, "database")
		delete(cpu, "redis")
		return lat, cpu, err
	}
	db, err := be.open()
	if err != nil {
		return latency{}, nil, err
	}
	defer db.Close()
	diskReads := func() float64 {
		var v float64
		db.QueryRow("SELECT variable_value FROM information_schema.global_status WHERE variable_name = 'INNODB_BUFFER_POOL_READS'").Scan(&v)
		return v
	}
	r0, cpu0 := diskReads(), b.sampleCPU(srv.cmd.Process.Pid)
	lat, err := measure(n, do)
	cpu := b.sampleCPU(srv.cmd.Process.Pid).perOp(cpu0, n)
	cpu["disk reads"] = (diskReads() - r0) / float64(n)
	return lat, cpu, err
}

// settle waits (at most two minutes) until InnoDB has done with what the
// bulk load left: the purge history short and the page cleaner idle (the
// dirty page count no longer falling for five seconds; MariaDB leaves some
// dirty pages in place when idle).
func settle(be *backend) (time.Duration, error) {
	db, err := be.open()
	if err != nil {
		return 0, err
	}
	defer db.Close()
	t0 := time.Now()
	last, steady := -1.0, 0
	for time.Since(t0) < 2*time.Minute && steady < 5 {
		d, h, err := innodbStatus(db, "INNODB_BUFFER_POOL_PAGES_DIRTY", "INNODB_HISTORY_LIST_LENGTH")
		if err != nil {
			return 0, err
		}
		if !d.Valid || !h.Valid {
			return 0, errors.New("read InnoDB status: the server shows no dirty pages or history list length")
		}
		dirty, history := d.Float64, h.Float64
		if history < 1000 && last >= 0 && dirty >= last {
			steady++
		} else {
			steady = 0
		}
		last = dirty
		time.Sleep(time.Second)
	}
	return time.Since(t0), nil
}

// analyze refreshes MariaDB's statistics after a bulk load, as the
// generator does at its end.
func analyze(be *backend) error {
	db, err := be.open()
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.Exec("ANALYZE TABLE units, users, tips, cases, assignments, events, case_search, case_stats, stats_rollups")
	return err
}

// rebuildTime reads the worker's "timers rebuilt" log line.
func rebuildTime(srv *server) (time.Duration, int) {
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		sc := bufio.NewScanner(strings.NewReader(srv.logs()))
		for sc.Scan() {
			line := sc.Text()
			if !strings.Contains(line, "timers rebuilt") {
				continue
			}
			var n int
			var took string
			for _, f := range strings.Fields(line) {
				if v, ok := strings.CutPrefix(f, "open_due_times="); ok {
					fmt.Sscan(v, &n)
				}
				if v, ok := strings.CutPrefix(f, "took="); ok {
					took = v
				}
			}
			d, _ := time.ParseDuration(took)
			return d, n
		}
		time.Sleep(200 * time.Millisecond)
	}
	return 0, 0
}

func mustDeadlines() models.Deadlines {
	d, err := models.ParseDeadlines(models.DefaultDeadlines)
	if err != nil {
		panic(err)
	}
	return d
}

func (s *ScaleResult) markdown(w func(string, ...any)) {
	w("\n## 2–5. At scale (MariaDB + Redis)\n\n")
	made := fmt.Sprintf("generated through the store with multi-row inserts in %v", s.Generate.Round(time.Second))
	if s.Generate == 0 {
		made = "generated by an earlier run and kept (`-reuse`; the time passed since has made more of the open cases overdue)"
	}
	w("Data: %d cases over %d units and 10 years, %s (`models.GenerateCounty`: tips, cases, events, single and dual assignments; the newest %d cases open with a due time, a fifth of them overdue). ",
		s.Cases, s.Units, made, s.OpenDue)
	w("The bench then waited %v for InnoDB to flush and purge the load (purge history < 1000, dirty pages no longer falling) before measuring, and warms the list with 20 requests; each figure is 200 requests in a row over HTTP with a bearer token while the worker runs beside the API.\n\n", s.Settle.Round(time.Second))
	w("| scenario | measured | target |\n|---|---|---|\n")
	w("| staff list, unit + stage + overdue, first page (200 requests, HTTP, bearer token) | p50 %s, p95 %s %s | p95 ≤ 20 ms |\n", ms(s.ListFirst.P50), ms(s.ListFirst.P95), mark(s.ListFirst.P95 <= 20*time.Millisecond))
	w("| the same first page once the worker's start-up work is done (after scenario 3) | p50 %s, p95 %s %s | p95 ≤ 20 ms |\n", ms(s.ListSteady.P50), ms(s.ListSteady.P95), mark(s.ListSteady.P95 <= 20*time.Millisecond))
	w("| staff list, unit + stage (the unit's closed cases), page %d by cursor | p50 %s, p95 %s %s | p95 ≤ 20 ms |\n", s.ClosedPage, ms(s.ListPage50.P50), ms(s.ListPage50.P95), mark(s.ListPage50.P95 <= 20*time.Millisecond))
	w("| not a target: the last page (page %d) of the unit's open cases, where the walk back through the unit's history ends | p50 %s, p95 %s | – |\n", s.OpenPages, ms(s.ListOpenLast.P50), ms(s.ListOpenLast.P95))
	w("| case detail | p50 %s, p95 %s %s | p95 ≤ 10 ms |\n", ms(s.Detail.P50), ms(s.Detail.P95), mark(s.Detail.P95 <= 10*time.Millisecond))
	w("| timers rebuilt on start (%d open due times read; those due within the sweep's minute queued, the rest armed by the sweep as they come near) | %v %s | ≤ 30 s |\n", s.TimersQueued, s.TimerRebuild.Round(time.Millisecond), mark(s.TimerRebuild > 0 && s.TimerRebuild <= 30*time.Second))
	worst := time.Duration(0)
	for _, l := range s.OverdueLags {
		worst = max(worst, l)
	}
	w("| overdue mark after the due time, under that load (%d cases) | worst %v %s | ≤ 10 s |\n", len(s.OverdueLags), worst.Round(time.Millisecond), mark(len(s.OverdueLags) > 0 && worst <= 10*time.Second))
	w("| all digests: %d units + the summary | %v, %d queries (%d units with something to report) %s | ≤ 5 s, bounded queries |\n", s.DigestUnits, s.DigestBuild.Round(time.Millisecond), s.DigestQueries, s.DigestNonEmpty, mark(s.DigestBuild <= 5*time.Second))
	w("| peak RSS of `jianfu serve` during the queue and read-path scenarios | %.0f MiB %s | ≤ 200 MB |\n", s.PeakRSSMiB, mark(s.PeakRSSMiB <= 200))
	w("\nCPU ms per list request by process, and InnoDB pages read from disk per request: first page at start %s; once settled %s; last page of open cases %s. MariaDB runs with its default 128 MiB buffer pool, far smaller than this database, so pages a request needs for the first time come from disk.\n",
		cpuText(s.ListCPU), cpuText(s.SteadyCPU), cpuText(s.OpenLastCPU))
	if s.Reads != nil {
		s.Reads.markdown(w)
	}

	w("\nQuery plans (MariaDB `EXPLAIN`):\n\nList, unit + stage + overdue:\n\n```\n%s\n```\n\nCase detail (assignments of a case):\n\n```\n%s\n```\n", s.ListPlan, s.DetailPlan)
}
