package api_test

import (
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"jianfu/apptest"
	"jianfu/models"
	"jianfu/testenv"
)

// victimTip and attackerTip are two different tips sent with the same key.
func victimTip() map[string]any {
	m := validTip()
	m["title"], m["content"] = "乡镇每周报三张表", "县里各部门每周要乡镇填报三张内容重复的统计表，占用大量时间。"
	return m
}

func attackerTip() map[string]any {
	m := validTip()
	m["title"] = "攻击者的内容"
	return m
}

var sixteenDigits = regexp.MustCompile(`\d{16}`)

// assertKeyReused checks a 422 idempotency_key_reused that carries no
// receipt.
func assertKeyReused(t *testing.T, what string, res apptest.Response) {
	t.Helper()
	code, msg, fields := apiErr(res)
	if res.Status != http.StatusUnprocessableEntity || code != "idempotency_key_reused" {
		t.Fatalf("%s: %d %s, want 422 idempotency_key_reused", what, res.Status, trim(res.Raw))
	}
	if !han.MatchString(msg) || fields["Idempotency-Key"] == "" {
		t.Errorf("%s: message %q fields %v: want zh-CN naming Idempotency-Key", what, msg, fields)
	}
	if _, ok := res.Body["receipt"]; ok || sixteenDigits.Match(res.Raw) {
		t.Errorf("%s: the answer carries a receipt: %s", what, res.Raw)
	}
}

// TestIdempotencyKeyReuse: a key used by someone else never hands out
// their receipt, in either order, and never stores a tip under another
// tipster's receipt; a real replay still gets its own receipt back.
func TestIdempotencyKeyReuse(t *testing.T) {
	const key = "1000000000000001" // a guessable counter value
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			app := apptest.Start(t, apptest.Options{Backend: b, NoWorker: true})
			db := openDB(t, app)
			victim, attacker := app.Client(), app.Client()
			lookupTitle := func(receipt string) string {
				t.Helper()
				res := app.Client().JSON(t, http.MethodPost, "/api/v1/tips/lookup", map[string]string{"receipt": receipt})
				if res.Status != http.StatusOK {
					t.Fatalf("lookup: %d %s", res.Status, trim(res.Raw))
				}
				return res.Body["title"].(string)
			}

			// Victim first: the attacker's different tip with the key is
			// refused and learns nothing; the victim's retry still works.
			first := victim.JSON(t, http.MethodPost, "/api/v1/tips", victimTip(), "Idempotency-Key", key)
			if first.Status != http.StatusCreated {
				t.Fatalf("victim: %d %s", first.Status, trim(first.Raw))
			}
			receipt := first.Body["receipt"].(string)
			assertKeyReused(t, "attacker after the victim", attacker.JSON(t, http.MethodPost, "/api/v1/tips", attackerTip(), "Idempotency-Key", key))
			// A multipart body with the victim's fields but a file is a different request too.
			ct, body := multipartBody(t, validFields(), []upload{{"a.png", pngWithText(t)}})
			req, _ := http.NewRequest(http.MethodPost, app.URL+"/api/v1/tips", strings.NewReader(string(body)))
			req.Header.Set("Content-Type", ct)
			assertKeyReused(t, "multipart with a file", attacker.Do(t, req, "Idempotency-Key", key))
			if n := rowCounts(t, db)["tips"]; n != 1 {
				t.Fatalf("%d tips after refused reuses, want 1", n)
			}
			again := victim.JSON(t, http.MethodPost, "/api/v1/tips", victimTip(), "Idempotency-Key", key)
			if again.Status != http.StatusOK || again.Body["receipt"] != receipt {
				t.Fatalf("victim's replay: %d %v, want 200 with %s", again.Status, again.Body["receipt"], receipt)
			}
			if got := lookupTitle(receipt); got != "乡镇每周报三张表" {
				t.Errorf("victim's receipt shows %q", got)
			}

			// Attacker first: the victim's tip with the taken key is
			// refused out loud (422, so the client resends with a new key),
			// never answered with the attacker's receipt.
			const key2 = "20261202T000000Z" // a timestamp
			at := attacker.JSON(t, http.MethodPost, "/api/v1/tips", attackerTip(), "Idempotency-Key", key2)
			if at.Status != http.StatusCreated {
				t.Fatalf("attacker: %d %s", at.Status, trim(at.Raw))
			}
			assertKeyReused(t, "victim after the attacker", victim.JSON(t, http.MethodPost, "/api/v1/tips", victimTip(), "Idempotency-Key", key2))
			if got := lookupTitle(at.Body["receipt"].(string)); got != "攻击者的内容" {
				t.Errorf("attacker's receipt shows %q", got)
			}
			fresh := victim.JSON(t, http.MethodPost, "/api/v1/tips", victimTip(), "Idempotency-Key", "victim-new-key-5b1f0e")
			if fresh.Status != http.StatusCreated || fresh.Body["receipt"] == at.Body["receipt"] {
				t.Fatalf("victim with a new key: %d %v", fresh.Status, fresh.Body["receipt"])
			}
			if n := rowCounts(t, db)["tips"]; n != 3 {
				t.Fatalf("%d tips, want 3 (victim, attacker, victim again)", n)
			}
		})
	}
}

// TestIdempotencyRace: the same key sent at once with the same tip and
// with different tips: exactly one tip per key is stored, the same
// requests share its receipt and the different ones get 422.
func TestIdempotencyRace(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			app := apptest.Start(t, apptest.Options{Backend: b, NoWorker: true})
			const key = "race-key-0000000000000001"
			var wg sync.WaitGroup
			res := make([]apptest.Response, 8)
			for i := range res {
				wg.Go(func() {
					tip := victimTip()
					if i%2 == 1 {
						tip = attackerTip()
					}
					res[i] = app.Client().JSON(t, http.MethodPost, "/api/v1/tips", tip, "Idempotency-Key", key)
				})
			}
			wg.Wait()
			receipts := map[any]bool{}
			var refused int
			for _, r := range res {
				switch r.Status {
				case http.StatusCreated, http.StatusOK:
					receipts[r.Body["receipt"]] = true
				case http.StatusUnprocessableEntity:
					refused++
				default:
					t.Fatalf("status %d %s", r.Status, trim(r.Raw))
				}
			}
			if len(receipts) != 1 || refused != 4 {
				t.Fatalf("%d receipts and %d refusals, want 1 and 4", len(receipts), refused)
			}
			if n := rowCounts(t, openDB(t, app))["tips"]; n != 1 {
				t.Fatalf("%d tips, want 1", n)
			}
		})
	}
}

// TestIdempotencyWindow: after 24 h the key is forgotten (a new tip with a
// new random receipt); before, the replay holds. Keys of the wrong shape
// are refused.
func TestIdempotencyWindow(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			app := apptest.Start(t, apptest.Options{Backend: b, NoWorker: true})
			now := time.Now()
			var mu sync.Mutex
			app.Store.SetClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
			advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
			c := app.Client()
			const key = "window-key-00000000000001"
			first := c.JSON(t, http.MethodPost, "/api/v1/tips", validTip(), "Idempotency-Key", key)
			advance(23 * time.Hour)
			again := c.JSON(t, http.MethodPost, "/api/v1/tips", validTip(), "Idempotency-Key", key)
			if first.Status != 201 || again.Status != 200 || again.Body["receipt"] != first.Body["receipt"] {
				t.Fatalf("within 24 h: %d %v, %d %v", first.Status, first.Body["receipt"], again.Status, again.Body["receipt"])
			}
			advance(time.Hour)
			later := c.JSON(t, http.MethodPost, "/api/v1/tips", validTip(), "Idempotency-Key", key)
			if later.Status != 201 || later.Body["receipt"] == first.Body["receipt"] {
				t.Fatalf("after 24 h: %d %v, want a new tip with a new receipt", later.Status, later.Body["receipt"])
			}
			// The purge forgets the second key's hashes and seal after its window.
			advance(25 * time.Hour)
			if n, err := app.Store.PurgeIdempotency(t.Context()); err != nil || n != 1 {
				t.Fatalf("purge: %d, %v; want 1", n, err)
			}
			var left int
			if err := openDB(t, app).QueryRow("SELECT COUNT(*) FROM tips WHERE idempotency_key IS NOT NULL OR idempotency_request IS NOT NULL OR receipt_seal IS NOT NULL").Scan(&left); err != nil || left != 0 {
				t.Fatalf("%d tips keep idempotency data after the purge (%v)", left, err)
			}
			for _, bad := range []string{"short-key", strings.Repeat("k", 201), "key with spaces 0000", "ключ-ключ-ключ-ключ"} {
				res := c.JSON(t, http.MethodPost, "/api/v1/tips", validTip(), "Idempotency-Key", bad)
				code, _, fields := apiErr(res)
				if res.Status != 400 || code != "validation_failed" || !han.MatchString(fields["Idempotency-Key"]) {
					t.Errorf("key %q: %d %s", bad, res.Status, trim(res.Raw))
				}
			}
		})
	}
}

// TestReplayAfterDeactivation: a tip's township deactivated within the
// key's window does not turn its sender's retry into an error: the retry
// gets its receipt back, while a new tip naming that township is refused.
func TestReplayAfterDeactivation(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			app := apptest.Start(t, apptest.Options{Backend: b, NoWorker: true})
			app.CreateUnit(t, "T02", "东坝镇", models.UnitTownship)
			c := app.Client()
			tip := validTip()
			tip["township"] = "T02"
			first := c.JSON(t, http.MethodPost, "/api/v1/tips", tip, "Idempotency-Key", "retry-after-deactivation-1")
			if first.Status != http.StatusCreated {
				t.Fatalf("first: %d %s", first.Status, trim(first.Raw))
			}
			off := false
			if _, err := app.Store.UpdateUnit(t.Context(), "T02", models.UnitUpdate{Active: &off}); err != nil {
				t.Fatal(err)
			}
			again := c.JSON(t, http.MethodPost, "/api/v1/tips", tip, "Idempotency-Key", "retry-after-deactivation-1")
			if again.Status != http.StatusOK || again.Body["receipt"] != first.Body["receipt"] {
				t.Fatalf("retry: %d %s, want 200 with the first receipt", again.Status, trim(again.Raw))
			}
			other := attackerTip()
			other["township"] = "T02"
			assertKeyReused(t, "another tip with the key", c.JSON(t, http.MethodPost, "/api/v1/tips", other, "Idempotency-Key", "retry-after-deactivation-1"))
			res := c.JSON(t, http.MethodPost, "/api/v1/tips", tip, "Idempotency-Key", "retry-after-deactivation-2")
			if code, _, fields := apiErr(res); res.Status != http.StatusBadRequest || code != "validation_failed" || !han.MatchString(fields["township"]) {
				t.Fatalf("new tip naming the deactivated township: %d %s", res.Status, trim(res.Raw))
			}
			if n := rowCounts(t, openDB(t, app))["tips"]; n != 1 {
				t.Fatalf("%d tips, want 1", n)
			}
		})
	}
}
