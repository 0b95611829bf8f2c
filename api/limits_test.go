package api_test

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"jianfu/apptest"
	"jianfu/testenv"
)

// rssBytes is this process's resident set size (Linux).
func rssBytes(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err) // not Linux
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// hostileBody streams size bytes of multipart, written 64 KB at a time by
// part(i, w), without holding them: the request is chunked, so only the
// server's own limits stop it.
func hostileBody(size int64, part func(i int, mw *multipart.Writer) error) (io.Reader, string) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		var err error
		for i := 0; err == nil && int64(i)*(64<<10) < size; i++ {
			err = part(i, mw)
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	return pr, mw.FormDataContentType()
}

// growingFile is one file part that grows by 64 KB per call.
func growingFile() func(int, *multipart.Writer) error {
	var w io.Writer
	chunk := bytes.Repeat([]byte{0x89, 'P', 'N', 'G'}, 16<<10)
	return func(_ int, mw *multipart.Writer) error {
		if w == nil {
			var err error
			if w, err = mw.CreateFormFile("files", "big.png"); err != nil {
				return err
			}
		}
		_, err := w.Write(chunk)
		return err
	}
}

// TestHostileBodiesBounded: six 46 MB hostile multipart requests at once
// (many unknown fields, one field repeated, a file to the login form, a
// file to a staff upload route without login) keep the process under
// 150 MB (growing it by less than 64 MB) and write no temporary file; each
// is refused with the JSON error naming what was wrong.
func TestHostileBodiesBounded(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // where Go's form parser would spool files
	b := testenv.Backends(t)[0]
	app := apptest.Start(t, apptest.Options{Backend: b, NoWorker: true})
	const size = 46 << 20
	value := strings.Repeat("填", (60<<10)/3)
	fields := func(name func(i int) string) func(int, *multipart.Writer) error {
		return func(i int, mw *multipart.Writer) error { return mw.WriteField(name(i), value) }
	}
	cases := []struct {
		path   string
		part   func(int, *multipart.Writer) error
		status int
	}{
		{"/api/v1/tips", fields(func(i int) string { return fmt.Sprintf("unknown%d", i) }), http.StatusBadRequest},
		{"/api/v1/tips", fields(func(int) string { return "content" }), http.StatusRequestEntityTooLarge},
		{"/api/v1/tips/messages", fields(func(i int) string { return fmt.Sprintf("x%d", i) }), http.StatusBadRequest},
		{"/tip", fields(func(i int) string { return fmt.Sprintf("field%d", i) }), http.StatusRequestEntityTooLarge},
		{"/console/login", growingFile(), 0}, // answered as a page; any status but 2xx
		{"/api/v1/assignments/1/rectification", growingFile(), http.StatusUnauthorized},
	}
	runtime.GC()
	base := rssBytes(t)
	var peak atomic.Int64
	peak.Store(base)
	stop := make(chan struct{})
	var watch sync.WaitGroup
	var bigTemp atomic.Int64
	watch.Go(func() {
		for {
			if r := rssBytes(t); r > peak.Load() {
				peak.Store(r)
			}
			filepath.WalkDir(tmp, func(p string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					if info, err := d.Info(); err == nil && info.Size() > bigTemp.Load() {
						bigTemp.Store(info.Size())
					}
				}
				return nil
			})
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	})
	var wg sync.WaitGroup
	for _, tc := range cases {
		wg.Go(func() {
			body, ct := hostileBody(size, tc.part)
			req, _ := http.NewRequest(http.MethodPost, app.URL+tc.path, body)
			req.Header.Set("Content-Type", ct)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				return // the server cut the upload short: also a refusal
			}
			raw, _ := io.ReadAll(res.Body)
			res.Body.Close()
			switch {
			case tc.status == 0 && res.StatusCode < 300:
				t.Errorf("%s: %d, want a refusal", tc.path, res.StatusCode)
			case tc.status != 0 && res.StatusCode != tc.status:
				t.Errorf("%s: %d %s, want %d", tc.path, res.StatusCode, trim(raw), tc.status)
			case strings.HasPrefix(tc.path, "/api/") && !bytes.Contains(raw, []byte(`"error"`)):
				t.Errorf("%s: not the JSON error: %s", tc.path, trim(raw))
			}
		})
	}
	wg.Wait()
	close(stop)
	watch.Wait()
	t.Logf("RSS %d MB before, peak %d MB; largest temporary file %d bytes", base>>20, peak.Load()>>20, bigTemp.Load())
	// Held whole, the six bodies would add 276 MB. The growth is bounded
	// always; the absolute 150 MB only where the process starts small
	// (run alone and without -race, whose shadow memory and earlier tests
	// of the package raise the base).
	if grew := peak.Load() - base; grew > 64<<20 {
		t.Errorf("RSS grew by %d MB under hostile bodies, want under 64 MB", grew>>20)
	}
	if base < 90<<20 && peak.Load() > 150<<20 {
		t.Errorf("peak RSS %d MB, want under 150 MB", peak.Load()>>20)
	}
	if bigTemp.Load() > 1<<20 {
		t.Errorf("a temporary file grew to %d bytes", bigTemp.Load())
	}
	if n := rowCounts(t, openDB(t, app))["tips"]; n != 0 {
		t.Errorf("%d tips stored from hostile bodies", n)
	}
}

// TestBodyLimitNamesLimit: a declared body over a route's limit is refused
// before it is read, naming the limit; every tipster API answer is
// no-store.
func TestBodyLimitNamesLimit(t *testing.T) {
	app := apptest.Start(t, apptest.Options{Backend: testenv.Backends(t)[0], NoWorker: true})
	req, _ := http.NewRequest(http.MethodPost, app.URL+"/api/v1/tips/lookup", bytes.NewReader(make([]byte, 2<<20)))
	req.Header.Set("Content-Type", "application/json")
	res := app.Client().Do(t, req)
	code, msg, fields := apiErr(res)
	if res.Status != http.StatusRequestEntityTooLarge || code != "too_large" || !strings.Contains(msg, "1MB") || fields["body"] == "" {
		t.Errorf("2 MB lookup: %d %s", res.Status, trim(res.Raw))
	}
	for _, call := range []struct {
		path string
		body any
	}{{"/api/v1/tips", validTip()}, {"/api/v1/tips", map[string]any{}}, {"/api/v1/tips/lookup", map[string]string{"receipt": "1"}},
		{"/api/v1/tips/messages", map[string]string{}}, {"/api/v1/tips/evaluation", map[string]string{}}} {
		res := app.Client().JSON(t, http.MethodPost, call.path, call.body)
		if got := res.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("%s answered %d with Cache-Control %q", call.path, res.Status, got)
		}
	}
}
