package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"os/exec"
	"strings"
	"time"

	"jianfu/models"
)

// ReadsResult holds the read paths of DESIGN §10.3 on the generated
// county: what staff and leaders open every day.
type ReadsResult struct {
	Mode                             string // mysql or embedded
	Cases                            int
	PeakRSSMiB                       float64
	Rows                             []readRow
	SearchPlan, DatesPlan, StatsPlan string
}

type readRow struct {
	What, Target string
	Limit        time.Duration
	Lat          latency
	CPU          map[string]float64
	Runs         int
}

// reads measures the six read paths against the running server (and the
// report command against the same database).
func (b *bench) reads(ctx context.Context, be *backend, srv *server, store *models.Store, token string) (*ReadsResult, error) {
	base := "http://" + srv.addr
	fetch := func(path string) error {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %d %.200s", path, res.StatusCode, body)
		}
		return nil
	}
	year := time.Now().In(models.Shanghai()).Year()
	last := year - 1
	out := &ReadsResult{Mode: be.mode}
	for _, c := range []struct {
		path, target string
		limit        time.Duration
		runs         int
	}{
		{"/api/v1/cases?q=" + "%E6%89%93%E5%8D%A1", "p95 ≤ 100 ms", 100 * time.Millisecond, 200},
		{fmt.Sprintf("/api/v1/cases?from=%d-01-01&to=%d-12-31", last, last), "p95 ≤ 20 ms", 20 * time.Millisecond, 200},
		{fmt.Sprintf("/api/v1/stats?year=%d", year), "p95 ≤ 300 ms", 300 * time.Millisecond, 100},
		{fmt.Sprintf("/api/v1/stats?from=%d-01-01&to=%d-12-31", year-10, year), "≤ 1 s", time.Second, 20},
		{fmt.Sprintf("/api/v1/stats/export.xlsx?year=%d", year), "≤ 1 s", time.Second, 20},
		{"/console/dashboard", "≤ 500 ms", 500 * time.Millisecond, 20},
	} {
		for range 3 { // warm caches and pools
			if err := fetch(c.path); err != nil {
				return nil, err
			}
		}
		lat, cpu, err := b.measureN(be, srv, c.runs, func() error { return fetch(c.path) })
		if err != nil {
			return nil, err
		}
		what := "`GET " + strings.ReplaceAll(c.path, "%E6%89%93%E5%8D%A1", "打卡") + "`"
		if strings.HasPrefix(c.path, "/console/") {
			what += " (the leaders' dashboard page: stage counts, the year's statistics, the summary, the trend, the warnings)"
		}
		out.Rows = append(out.Rows, readRow{What: what,
			Target: c.target, Limit: c.limit, Lat: lat, CPU: cpu, Runs: c.runs})
	}
	// The report command: a new process each time, as an operator runs it.
	lat, err := measure(5, func() error {
		cmd := exec.Command(b.bin, "report", "--year", fmt.Sprint(last))
		cmd.Env = append(cmd.Environ(), be.env...)
		if o, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("jianfu report: %v\n%s", err, o)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out.Rows = append(out.Rows, readRow{What: fmt.Sprintf("`jianfu report --year %d` (a new process each run)", last),
		Target: "≤ 2 s", Limit: 2 * time.Second, Lat: lat, Runs: 5})
	var err2 error
	out.SearchPlan, out.DatesPlan, out.StatsPlan, err2 = store.BenchExplainReads(ctx, "打卡", year)
	return out, err2
}

func (r *ReadsResult) markdown(w func(string, ...any)) {
	if r.Mode == "embedded" {
		w("\n### Read paths in the embedded mode (SQLite + in-process Redis), %d cases\n\n", r.Cases)
		w("The same requests on a county of %d cases generated into SQLite by the same generator (a million takes SQLite too long for the bench's budget), against `jianfu serve` without MariaDB or Redis; peak RSS of serve %.0f MiB. The targets are MariaDB's at a million, shown for comparison.\n\n", r.Cases, r.PeakRSSMiB)
	} else {
		w("\n### Read paths at scale (DESIGN §10.3)\n\n")
		if r.PeakRSSMiB > 0 {
			w("Peak RSS of `jianfu serve` during these requests: %.0f MiB %s (≤ 200 MB).\n\n", r.PeakRSSMiB, mark(r.PeakRSSMiB <= 200))
		}
	}
	w("Each row: the stated number of requests in a row over HTTP with a bearer token, against `jianfu serve` on the generated county, after three warm-up requests. CPU is ms per request by process.\n\n")
	w("| request | runs | measured | target | CPU per request |\n|---|---|---|---|---|\n")
	for _, row := range r.Rows {
		cpu := "–"
		if row.CPU != nil {
			cpu = cpuText(row.CPU)
		}
		w("| %s | %d | p50 %s, p95 %s %s | %s | %s |\n", row.What, row.Runs, ms(row.Lat.P50), ms(row.Lat.P95),
			mark(row.Lat.P95 <= row.Limit), row.Target, cpu)
	}
	plans := "MariaDB `EXPLAIN`"
	if r.Mode == "embedded" {
		plans = "SQLite `EXPLAIN QUERY PLAN`"
	}
	w("\nQuery plans ("+plans+"):\n\nKeyword search (打卡):\n\n```\n%s\n```\n\nList by submission date, one year:\n\n```\n%s\n```\n\nStatistics of a year (rollups, live overdue counts, units, categories, typical cases):\n\n```\n%s\n```\n",
		r.SearchPlan, r.DatesPlan, r.StatsPlan)
}

// embeddedReads measures the read paths in the embedded mode (SQLite and
// the in-process Redis) on a generated county of n cases.
func (b *bench) embeddedReads(ctx context.Context, n int) (*ReadsResult, error) {
	be, err := b.newBackend("embedded", "reads")
	if err != nil {
		return nil, err
	}
	if err := b.run(be, "migrate"); err != nil {
		return nil, err
	}
	store, err := models.Open(ctx, models.OpenParams{DataDir: be.dataDir, Secret: []byte(secret), Deadlines: mustDeadlines(),
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, err
	}
	defer store.Close()
	token, _, _, err := b.generate(ctx, store, n)
	if err != nil {
		return nil, err
	}
	srv, err := b.serve(be)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	r, err := b.reads(ctx, be, srv, store, token)
	if err != nil {
		return nil, err
	}
	r.Cases, r.PeakRSSMiB = n, srv.peakRSS()
	return r, nil
}

// generate fills the store with the bench's county of n cases, or with
// -reuse keeps the county an earlier run left (took is then zero), and
// returns a bearer token of an office account and the units' codes.
func (b *bench) generate(ctx context.Context, store *models.Store, n int) (token string, codes []string, took time.Duration, err error) {
	if err := store.Bootstrap(ctx); err != nil {
		return "", nil, 0, err
	}
	has, err := store.HasCases(ctx)
	if err != nil {
		return "", nil, 0, err
	}
	if has {
		// -reuse: finish what an interrupted run left, as serve would.
		if _, err := store.BackfillReadModels(ctx, func(done int) {
			if done%100_000 == 0 {
				log.Printf("read models of %d more cases", done)
			}
		}); err != nil {
			return "", nil, 0, err
		}
		units, err := store.Units(ctx, "")
		if err != nil {
			return "", nil, 0, err
		}
		for _, u := range units {
			codes = append(codes, u.Code)
		}
	} else {
		t0 := time.Now()
		codes, err = store.GenerateCounty(ctx, models.GenerateParams{Cases: n, Townships: 60, Departments: 240, Years: 10,
			OpenDue: min(100_000, n/10), Now: t0, Seed: 1, Progress: func(done int) {
				if done%100_000 == 0 || done == n {
					log.Printf("generated %d cases (%v)", done, time.Since(t0).Round(time.Second))
				}
			}, ReadModels: func(done int) {
				if done%100_000 == 0 || done == n {
					log.Printf("read models of %d cases (%v)", done, time.Since(t0).Round(time.Second))
				}
			}})
		if err != nil {
			return "", nil, 0, err
		}
		took = time.Since(t0)
	}
	if _, err := store.UserRole(ctx, "bench_office"); err != nil {
		if _, err := store.CreateUser(ctx, models.UserParams{Username: "bench_office", Password: "Bench-office-pw1", Role: models.RoleOffice}); err != nil {
			return "", nil, 0, err
		}
	}
	token, err = store.CreateAPIToken(ctx, "bench_office", "bench")
	return token, codes, took, err
}
