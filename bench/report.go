package main

import (
	"fmt"
	"strings"
	"time"
)

type report struct {
	Started  time.Time
	Machine  string
	Duration time.Duration
	Clients  int
	Intake   []IntakeResult
	Scale    *ScaleResult
	// EmbeddedReads are the read paths in the embedded mode.
	EmbeddedReads *ReadsResult
	// Notes is bench/notes.md: the profiles behind the figures and what
	// was changed because of them, kept by hand.
	Notes string
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func sizeText(n int) string { return fmt.Sprintf("%.1f KB", float64(n)/1000) }

func mark(ok bool) string {
	if ok {
		return "✅"
	}
	return "❌"
}

func (r *report) markdown() string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	w("# Benchmarks\n\n")
	w("Written by `make bench` (`go run ./bench`) on %s.\n\n", r.Started.UTC().Format("2006-01-02 15:04 MST"))
	w("Machine: %s. Shared 2-core machines drift, so every figure stands beside a ceiling measured in the same run; compare the ratios, not the absolute numbers across runs.\n\n", r.Machine)
	w("## 1. Intake\n\n")
	w("Method: `POST /api/v1/tips` with ~1 KB of Chinese text from %d concurrent clients for %v against `jianfu serve` (rate limits off). ", r.Clients, r.Duration)
	w("Two variants: *json*, the text alone; *photo*, the same text as `multipart/form-data` with one 320×240 JPEG (%s) whose EXIF holds GPS coordinates and whose APP0 holds text, and a fresh `Idempotency-Key` on each request, as the public form sends a tip with a photo: Jianfu checks the file, cleans its metadata, encrypts it (AES-256-GCM, `JIANFU_FILE_KEYS` set) and hashes the key and the request. ", sizeText(len(benchPhoto())))
	w("Ceiling: the same three rows (tip, case, first event), and for *photo* the file as an attachment row, inserted in one transaction with plain `database/sql` at the same concurrency, on a fresh database of the same schema. ")
	w("On MariaDB each run, the ceiling's and Jianfu's, starts once InnoDB has written back the redo log the run before it filled (checkpoint age under an eighth of its limit), so neither inherits the other's flushing. ")
	w("Jianfu does more per tip than the ceiling (validation, HMACs, cleaning and encryption, the outbox row, the read models, the enqueue to Redis, the routing), which is the point of the comparison. ")
	w("It also stores the tips that arrive while a transaction runs together in the next one (group commit, `models/intake.go`), where the ceiling commits each row set alone as a plain client would; the CPU table below shows what each side spends per tip. ")
	w("Afterwards the bench checks that every accepted tip is in the database (with its photo) and that its routing task ran, and for *photo* that no stored attachment is a readable JPEG or holds the planted GPS text. Target: ≥ 60%% of the ceiling, p99 ≤ 50 ms, zero errors.\n\n")
	w("| mode | tips | tips/s | ceiling tx/s | ratio | p50 | p95 | p99 | ceiling p99 | errors | all stored | all routed (wait) | files sealed | peak RSS |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, in := range r.Intake {
		ratio := in.Rate / in.CeilingRate
		sealed := "–"
		if in.Encrypted != nil {
			sealed = mark(*in.Encrypted)
		}
		w("| %s | %s | %.0f | %.0f | %.0f%% %s | %s | %s | %s %s | %s | %d | %s | %s (%.1fs) | %s | %.0f MiB %s |\n", in.Mode, in.Variant, in.Rate, in.CeilingRate, ratio*100,
			mark(ratio >= 0.6), ms(in.P50), ms(in.P95), ms(in.P99), mark(in.P99 <= 50*time.Millisecond), ms(in.CeilP99), in.Errors,
			mark(in.AllStored), mark(in.AllRouted), in.RouteWait.Seconds(), sealed, in.PeakRSSMiB, mark(in.PeakRSSMiB <= 200))
	}
	for _, in := range r.Intake {
		if in.FirstError != "" {
			w("\nFirst error (%s, %s): `%s`\n", in.Mode, in.Variant, in.FirstError)
		}
	}
	w("\nCPU time per tip (ms), by process: for the ceiling over its load; for Jianfu from the load's start until every tip is routed. With both cores busy, throughput follows the sum. *Stolen* is the machine's steal time over the same span, per tip: CPU the virtual machine's host gave to others while it wanted it; a run with much of it was slowed by the machine, and its ratio says less.\n\n")
	w("| mode | tips | run | %s | sum | stolen |\n|---|---|---|---|---|---|---|---|---|\n", strings.Join(cpuRoles, " | "))
	for _, in := range r.Intake {
		for _, run := range []struct {
			name string
			cpu  map[string]float64
		}{{"ceiling", in.CeilCPU}, {"jianfu", in.CPU}} {
			w("| %s | %s | %s |", in.Mode, in.Variant, run.name)
			sum := 0.0
			for _, role := range cpuRoles {
				if v, ok := run.cpu[role]; ok {
					w(" %.2f |", v)
					sum += v
				} else {
					w(" – |")
				}
			}
			w(" %.2f | %.2f |\n", sum, run.cpu[stolen])
		}
	}
	if r.Scale != nil {
		r.Scale.markdown(w)
	}
	if r.EmbeddedReads != nil {
		r.EmbeddedReads.markdown(w)
	}
	if r.Notes != "" {
		w("\n%s", r.Notes)
	}
	return b.String()
}
