package faults

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestRedisKilledUnderIntake: 8 clients post tips while redis-server is
// SIGKILLed and, 3 s later, started again empty (no persistence). Intake
// answers every tip (the database is the source of truth; routing waits
// in the outbox); every receipt is found; once Redis is back every tip's
// routing ran exactly once.
func TestRedisKilledUnderIntake(t *testing.T) {
	s := need(t)
	t.Parallel()
	a := s.newApp(t, "redis")
	y := newTally()
	stop := make(chan struct{})
	wg := a.intake(t, 8, y, stop)
	time.Sleep(3 * time.Second)
	a.redis.proc.kill()
	killedAt := time.Now()
	time.Sleep(3 * time.Second)
	if err := a.redis.start(); err != nil {
		t.Fatal(err)
	}
	restartedAt := time.Now()
	time.Sleep(3 * time.Second)
	close(stop)
	wg.Wait()

	for _, b := range y.bad {
		t.Error(b)
	}
	if y.statuses["201"] == 0 {
		t.Fatal("no tip accepted")
	}
	tips := a.checkTips(t, y)
	routed := a.waitRouted(t, 90*time.Second)
	t.Logf("FAULT redis: %s; Redis down %.1f s; %d tips, each routed once, all routed %.1f s after the intake stopped (%.1f s after Redis came back)",
		y.summary(), restartedAt.Sub(killedAt).Seconds(), tips, routed, time.Since(restartedAt).Seconds())
}

// TestMariaDBRestartedUnderLoad: 8 intake clients and an office client
// work while the suite's mariadbd is SIGKILLed and started again (InnoDB
// crash recovery). Clients get 503 with Retry-After, never 500, never
// silence; no case is half-written; every receipt handed out is found.
func TestMariaDBRestartedUnderLoad(t *testing.T) {
	s := need(t)
	t.Parallel()
	a := s.newApp(t, "mariadb")
	y := newTally()
	stop := make(chan struct{})
	wg := a.intake(t, 8, y, stop)
	sw := a.staffLoad(t, y, stop)
	time.Sleep(3 * time.Second)
	killedAt := time.Now()
	if err := a.maria.restart(2 * time.Second); err != nil {
		t.Fatal(err)
	}
	up := time.Now()
	// Load goes on until the service answers again: a tip accepted after
	// the kill and after the last refusal. That tip may come before
	// restart returns, since the API can reach the server as soon as the
	// restart's own probe does.
	back := waitUntil(60*time.Second, func() bool {
		y.mu.Lock()
		defer y.mu.Unlock()
		return y.firstOKAt.After(killedAt) && !y.firstOKAt.Before(y.lastBadAt)
	})
	if !back {
		t.Errorf("no tip accepted within 60 s of MariaDB's restart; answers %s; the API's goroutines:\n%s", y.summary(), a.api.stacks())
	}
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()
	sw.Wait()
	if !back {
		t.FailNow()
	}
	for _, b := range y.bad {
		t.Error(b)
	}
	if y.statuses["none"] > 0 {
		t.Errorf("%d requests got no answer at all", y.statuses["none"])
	}
	if y.statuses["503"] == 0 {
		t.Error("no 503 while MariaDB was down: the outage was not seen")
	}
	tips := a.checkTips(t, y)
	a.waitRouted(t, 90*time.Second)
	y.mu.Lock()
	recovered := y.firstOKAt.Sub(killedAt).Seconds()
	y.mu.Unlock()
	t.Logf("FAULT mariadb: %s; MariaDB down %.1f s (kill to answering again); first tip accepted %.1f s after the kill; %s; %d tips, none half-written, every receipt found, each routed once",
		y.summary(), up.Sub(killedAt).Seconds(), recovered, y.retries(), tips)
}

// TestWorkerKilledWithPendingTimers: tips open cases whose collect stage
// is due in 12 s (reminder at 9 s). The worker is SIGKILLed before any
// timer is due; a new worker starts after every due time has passed and is
// itself SIGKILLed as soon as the first overdue mark appears; a third one
// finishes. Every case has exactly one reminder and one overdue mark.
func TestWorkerKilledWithPendingTimers(t *testing.T) {
	s := need(t)
	t.Parallel()
	a := s.newApp(t, "timers", "JIANFU_DEADLINES=collect=12s,escalation=1h")
	c := a.client()
	cat := a.category(t)
	const n = 20
	var receipts []string
	for i := range n {
		ans := c.do(http.MethodPost, "/api/v1/tips", map[string]any{"category": cat, "title": fmt.Sprintf("时限演练-%d", i),
			"content": "某单位要求基层每天在多个政务App打卡并截图上报，占用大量工作时间。", "anonymous": true})
		if ans.status != http.StatusCreated {
			t.Fatalf("tip %d: %d %v %v", i, ans.status, ans.body, ans.err)
		}
		receipts = append(receipts, ans.body["receipt"].(string))
	}
	created := time.Now()
	a.waitRouted(t, 30*time.Second)
	a.worker.kill()
	if time.Since(created) > 8*time.Second {
		t.Logf("routing took %.1f s: some reminders may have fired before the kill", time.Since(created).Seconds())
	}
	count := func(kind string) (events, cases int) {
		a.db.QueryRow("SELECT COUNT(*), COUNT(DISTINCT case_id) FROM events WHERE kind = ?", kind).Scan(&events, &cases)
		return
	}
	before, _ := count("reminder")
	time.Sleep(time.Until(created.Add(13 * time.Second)))
	a.startWorker()
	second := time.Now()
	if !waitUntil(30*time.Second, func() bool { e, _ := count("overdue"); return e > 0 }) {
		t.Fatalf("no overdue mark within 30 s of the second worker's start:\n%s", a.worker.tail())
	}
	a.worker.kill()
	midway, _ := count("overdue")
	a.startWorker()
	third := time.Now()
	// The timers the killed worker had taken stay in asynq's active
	// list until their lease (30 s) lapses and its recoverer (every
	// minute) hands them back for a retry.
	if !waitUntil(4*time.Minute, func() bool { _, c := count("overdue"); return c == n }) {
		_, c := count("overdue")
		t.Fatalf("%d of %d cases marked overdue within 4 minutes of the third worker's start", c, n)
	}
	done := time.Since(third).Seconds()
	// Nothing is due any more: every case's timer has done its overdue
	// step and waits for the escalation an hour away.
	var open int
	a.db.QueryRow("SELECT COUNT(*) FROM cases WHERE timer_step < 2 OR next_timer_at < ?", time.Now().Add(30*time.Minute).UTC()).Scan(&open)
	if open != 0 {
		t.Errorf("%d cases still have a timer due", open)
	}
	for _, kind := range []string{"reminder", "overdue"} {
		if e, c := count(kind); e != n || c != n {
			t.Errorf("%s: %d events on %d cases, want exactly one on each of %d", kind, e, c, n)
		}
	}
	if e, _ := count("escalated"); e != 0 {
		t.Errorf("%d escalations, want none (an hour away)", e)
	}
	a.checkIntegrity(t)
	a.checkReceipts(t, receipts)
	t.Logf("FAULT timers: %d cases with due times 12 s out; worker killed before any was due (%d reminders then); second worker killed after its first marks (%d of %d overdue, %.1f s after its start); third worker finished in %.1f s; exactly one reminder and one overdue mark per case",
		n, before, midway, n, time.Since(second).Seconds()-done, done)
}

// TestAPIKilledMidIntake: 16 clients post tips (the group commit writes
// them in shared transactions) while `jianfu api` is SIGKILLed twice and
// started again. A tip whose request got no answer is sent again with its
// Idempotency-Key: stored once, by the first try (replayed) or by a later
// one. Every receipt is found; every stored tip is routed exactly once.
func TestAPIKilledMidIntake(t *testing.T) {
	s := need(t)
	t.Parallel()
	a := s.newApp(t, "api")
	y := newTally()
	stop := make(chan struct{})
	wg := a.intake(t, 16, y, stop)
	var down []float64
	for range 2 {
		time.Sleep(2 * time.Second)
		a.api.kill()
		killed := time.Now()
		a.startAPI()
		down = append(down, time.Since(killed).Seconds())
	}
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()

	for _, b := range y.bad {
		t.Error(b)
	}
	tips := a.checkTips(t, y)
	a.waitRouted(t, 90*time.Second)
	t.Logf("FAULT api: %s; api killed twice, answering again after %s s; %s; %d tips, none half-written, every receipt found, each routed once",
		y.summary(), fmtSeconds(down), y.retries(), tips)
}

func fmtSeconds(s []float64) string {
	parts := make([]string, len(s))
	for i, v := range s {
		parts[i] = fmt.Sprintf("%.1f", v)
	}
	return strings.Join(parts, " and ")
}
