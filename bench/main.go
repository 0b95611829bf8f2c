// Command bench measures a running Jianfu beside ceilings measured in the
// same run on the same machine, and writes BENCHMARKS.md. Run it with
// `make bench`; it needs MariaDB and Redis for the production figures
// (JIANFU_TEST_MYSQL_URL, JIANFU_TEST_REDIS_URL) and always measures the
// embedded mode.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

func main() {
	out := flag.String("out", "BENCHMARKS.md", "report file")
	mysqlURL := flag.String("mysql", envOr("JIANFU_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test"), "admin URL of a MariaDB/MySQL server ('' to skip)")
	redisURL := flag.String("redis", envOr("JIANFU_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"), "Redis URL for the production mode")
	duration := flag.Duration("duration", 20*time.Second, "length of each load phase")
	clients := flag.Int("clients", 16, "concurrent clients")
	scale := flag.Int("cases", 1_000_000, "cases generated for the queue, timer and digest scenarios ('0' to skip)")
	only := flag.String("modes", "mysql,embedded", "intake modes to run")
	variants := flag.String("intake", "json,photo", "intake variants to run: json (text only), photo (multipart with a JPEG, encrypted at rest)")
	src := flag.String("src", ".", "directory of the Jianfu source to build and measure (another checkout measures another release with this bench)")
	embedded := flag.Int("embedded-cases", 100_000, "cases generated for the read paths in the embedded mode ('0' to skip)")
	reuse := flag.Bool("reuse", false, "keep the county an earlier run generated in jianfu_bench_scale instead of generating it again (a million cases take a quarter of an hour)")
	flag.Parse()

	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "jianfu-bench")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "jianfu")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = *src
	if out, err := build.CombinedOutput(); err != nil {
		log.Fatalf("build: %v\n%s", err, out)
	}
	r := &report{Started: time.Now(), Machine: machine(), Duration: *duration, Clients: *clients}
	b := &bench{bin: bin, tmp: tmp, duration: *duration, clients: *clients, mysqlURL: *mysqlURL, redisURL: *redisURL, reuse: *reuse}
	if *mysqlURL != "" {
		b.dbPID = listenerPID(urlPort(*mysqlURL, 3306))
	}
	b.redisPID = listenerPID(urlPort(*redisURL, 6379))
	log.Printf("CPU counted for the database server: pid %d, Redis: pid %d (0: every such process)", b.dbPID, b.redisPID)

	for _, mode := range strings.Split(*only, ",") {
		if mode == "mysql" && *mysqlURL == "" || mode == "" {
			continue
		}
		for _, variant := range strings.Split(*variants, ",") {
			if variant != intakeJSON && variant != intakePhoto {
				log.Fatalf("-intake: unknown variant %q (json, photo)", variant)
			}
			log.Printf("intake, %s, %s", mode, variant)
			res, err := b.intake(ctx, mode, variant)
			if err != nil {
				log.Fatalf("intake %s %s: %v", mode, variant, err)
			}
			r.Intake = append(r.Intake, res)
		}
	}
	if *scale > 0 && *mysqlURL != "" {
		log.Printf("scale scenarios at %d cases", *scale)
		res, err := b.atScale(ctx, *scale)
		if err != nil {
			log.Fatalf("scale: %v", err)
		}
		r.Scale = res
	}
	if *embedded > 0 {
		log.Printf("read paths, embedded, at %d cases", *embedded)
		res, err := b.embeddedReads(ctx, *embedded)
		if err != nil {
			log.Fatalf("embedded reads: %v", err)
		}
		r.EmbeddedReads = res
	}
	if notes, err := os.ReadFile(filepath.Join("bench", "notes.md")); err == nil {
		r.Notes = string(notes)
	}
	if err := os.WriteFile(*out, []byte(r.markdown()), 0o644); err != nil {
		log.Fatal(err)
	}
	log.Printf("wrote %s", *out)
}

func envOr(k, def string) string {
	if v, ok := os.LookupEnv(k); ok {
		return v
	}
	return def
}

func machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				cpu = strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		mem = strings.Fields(strings.SplitN(string(b), "\n", 2)[0])[1] + " kB RAM"
	}
	return fmt.Sprintf("%d cores (%s), %s, %s %s/%s", runtime.NumCPU(), cpu, mem, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
