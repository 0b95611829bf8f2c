package api_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"jianfu/apptest"
	"jianfu/testenv"
)

// limitedApp runs with the given JIANFU_RATE_LIMITS behind a trusted
// proxy (the test client), so X-Forwarded-For names the client.
func limitedApp(t *testing.T, b testenv.Backend, limits string) *apptest.App {
	t.Helper()
	return apptest.Start(t, apptest.Options{Backend: b, NoWorker: true, Env: map[string]string{
		"JIANFU_RATE_LIMITS": limits, "JIANFU_TRUSTED_PROXIES": "127.0.0.1/32,::1"}})
}

func submitAs(t *testing.T, app *apptest.App, client string) apptest.Response {
	t.Helper()
	return app.Client().JSON(t, http.MethodPost, "/api/v1/tips", validTip(), "X-Forwarded-For", client)
}

func lookupAs(t *testing.T, app *apptest.App, client, receipt string) (apptest.Response, time.Duration) {
	t.Helper()
	start := time.Now()
	res := app.Client().JSON(t, http.MethodPost, "/api/v1/tips/lookup", map[string]string{"receipt": receipt}, "X-Forwarded-For", client)
	return res, time.Since(start)
}

func assertLimited(t *testing.T, res apptest.Response) {
	t.Helper()
	code, msg, _ := apiErr(res)
	if res.Status != http.StatusTooManyRequests || code != "rate_limited" || !han.MatchString(msg) {
		t.Fatalf("got %d %q %q, want 429 rate_limited", res.Status, code, msg)
	}
	if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || s < 1 {
		t.Errorf("Retry-After %q", res.Header.Get("Retry-After"))
	}
}

func TestRateLimitPerClient(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			app := limitedApp(t, b, "submit=2/1m,global_submit=100/1m")
			db := openDB(t, app)
			for i := range 2 {
				if res := submitAs(t, app, "198.51.100.7"); res.Status != http.StatusCreated {
					t.Fatalf("submit %d: %d", i+1, res.Status)
				}
			}
			res := submitAs(t, app, "198.51.100.7")
			assertLimited(t, res)
			if s, _ := strconv.Atoi(res.Header.Get("Retry-After")); s > 31 {
				t.Errorf("Retry-After %ds: one token of 2/1m comes back in 30s", s)
			}
			if n := rowCounts(t, db)["tips"]; n != 2 {
				t.Errorf("%d tips stored, want 2", n)
			}
			// A colleague in another office is not affected.
			if res := submitAs(t, app, "203.0.113.20"); res.Status != http.StatusCreated {
				t.Errorf("another client: %d", res.Status)
			}
			// The form is limited too, with a page rather than JSON.
			req, _ := http.NewRequest(http.MethodPost, app.URL+"/tip", strings.NewReader(""))
			req.Header.Set("Content-Type", "multipart/form-data; boundary=x")
			page := app.Client().Do(t, req, "X-Forwarded-For", "198.51.100.7")
			if page.Status != http.StatusTooManyRequests || !strings.Contains(string(page.Raw), "操作过于频繁") {
				t.Errorf("form over the limit: %d", page.Status)
			}
		})
	}
}

func TestRateLimitGlobal(t *testing.T) {
	app := limitedApp(t, testenv.Backends(t)[0], "submit=5/1m,global_submit=3/1m,lookup=50/1m,global_lookup=4/1m")
	for i, client := range []string{"198.51.100.1", "198.51.100.2", "198.51.100.3"} {
		if res := submitAs(t, app, client); res.Status != http.StatusCreated {
			t.Fatalf("submit %d: %d", i+1, res.Status)
		}
	}
	assertLimited(t, submitAs(t, app, "198.51.100.4"))
	for i := range 4 {
		if res, _ := lookupAs(t, app, "198.51.100.9", "123"); res.Status != http.StatusBadRequest {
			t.Fatalf("lookup %d: %d", i+1, res.Status)
		}
	}
	res, _ := lookupAs(t, app, "198.51.100.10", "123")
	assertLimited(t, res)
}

// TestRateLimitSpoofedForwardedFor: without a trusted proxy,
// X-Forwarded-For is ignored, so inventing addresses does not help.
func TestRateLimitSpoofedForwardedFor(t *testing.T) {
	app := apptest.Start(t, apptest.Options{Backend: testenv.Backends(t)[0], NoWorker: true,
		Env: map[string]string{"JIANFU_RATE_LIMITS": "submit=2/1m"}})
	for i := range 2 {
		if res := submitAs(t, app, "10.0.0."+strconv.Itoa(i)); res.Status != http.StatusCreated {
			t.Fatalf("submit %d: %d", i+1, res.Status)
		}
	}
	assertLimited(t, submitAs(t, app, "10.0.0.99"))
}

// TestWrongReceiptsSlowDown: after a few wrong receipts the same client
// waits before each answer; another client does not.
func TestWrongReceiptsSlowDown(t *testing.T) {
	app := limitedApp(t, testenv.Backends(t)[0], "lookup=100/1m")
	const guesser = "198.51.100.66"
	for i := range 4 {
		res, d := lookupAs(t, app, guesser, "000000000000000"+strconv.Itoa(i))
		if res.Status != http.StatusNotFound {
			t.Fatalf("guess %d: %d", i+1, res.Status)
		}
		if i < 3 && d > 450*time.Millisecond {
			t.Errorf("guess %d took %v before the slowdown", i+1, d)
		}
	}
	_, slow := lookupAs(t, app, guesser, "0000000000000009")
	if slow < 500*time.Millisecond {
		t.Errorf("after 4 wrong receipts the next lookup took %v, want ≥ 500ms", slow)
	}
	_, slower := lookupAs(t, app, guesser, "0000000000000010")
	if slower < time.Second {
		t.Errorf("after 5 wrong receipts the next lookup took %v, want ≥ 1s", slower)
	}
	if _, d := lookupAs(t, app, "198.51.100.67", "0000000000000011"); d > 450*time.Millisecond {
		t.Errorf("another client waited %v", d)
	}
}

// TestRateLimitsOff: "off" lets benchmarks through.
func TestRateLimitsOff(t *testing.T) {
	app := limitedApp(t, testenv.Backends(t)[0], "off")
	for i := range 40 {
		if res := submitAs(t, app, "198.51.100.5"); res.Status != http.StatusCreated {
			t.Fatalf("submit %d: %d", i+1, res.Status)
		}
	}
}

// TestClientAddressNotKept: the client address is neither stored nor
// logged, also when requests are refused or limited.
func TestClientAddressNotKept(t *testing.T) {
	const addr = "203.0.113.77"
	app := limitedApp(t, testenv.Backends(t)[0], "submit=1/1m,lookup=2/1m")
	submitAs(t, app, addr)
	submitAs(t, app, addr) // limited
	lookupAs(t, app, addr, "1234567890123456")
	lookupAs(t, app, addr, "bad")
	lookupAs(t, app, addr, "1234567890123456") // limited
	postMultipart(t, app, "/api/v1/tips", validFields(), []upload{{"x.jpg", exe()}}, "X-Forwarded-For", addr)
	if strings.Contains(app.LogText(), addr) {
		t.Errorf("the logs hold the client address")
	}
	files, _ := filepath.Glob(filepath.Join(app.Config.DataDir, "jianfu.db*"))
	for _, f := range files {
		data, _ := os.ReadFile(f)
		if strings.Contains(string(data), addr) {
			t.Errorf("%s holds the client address", filepath.Base(f))
		}
	}
}
