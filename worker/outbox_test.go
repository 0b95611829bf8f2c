package worker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"jianfu/apptest"
	"jianfu/models"
	"jianfu/testenv"
	"jianfu/worker"
)

// validTip is a tip every test backend accepts.
var validTip = map[string]any{"category": "digital", "content": "每天要在5个政务App上打卡签到，同一组数据重复录入三次"}

// submitTip posts a valid tip and returns its case id.
func submitTip(t *testing.T, app *apptest.App) uint64 {
	t.Helper()
	id, err := postTip(&http.Client{Timeout: 30 * time.Second}, app, validTip)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// postTip posts a tip and returns its case id; unlike the test client it
// may run on any goroutine.
func postTip(client *http.Client, app *apptest.App, tip map[string]any) (uint64, error) {
	body, err := json.Marshal(tip)
	if err != nil {
		return 0, err
	}
	res, err := client.Post(app.URL+"/api/v1/tips", "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	var out struct {
		Receipt string `json:"receipt"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != http.StatusCreated {
		return 0, fmt.Errorf("submit tip: status %d (%v)", res.StatusCode, err)
	}
	id, err := app.Store.CaseIDByReceipt(context.Background(), out.Receipt)
	if err != nil {
		return 0, fmt.Errorf("find case: %w", err)
	}
	return id, nil
}

// routedEvents counts the routing notes on a case's timeline: the visible
// effect of the tip:route task.
func routedEvents(t *testing.T, app *apptest.App, caseID uint64) int {
	t.Helper()
	evs, err := app.Store.Events(context.Background(), caseID)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range evs {
		if e.Kind == models.EventRouted {
			n++
		}
	}
	return n
}

func TestOutbox(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Run("redis outage", func(t *testing.T) {
				app := apptest.Start(t, apptest.Options{Backend: b, RedisProxy: true})
				app.RedisProxy.Cut()
				start := time.Now()
				caseID := submitTip(t, app) // commits although Redis is gone
				if d := time.Since(start); d > 5*time.Second {
					t.Errorf("submit during a Redis outage took %v", d)
				}
				if n := routedEvents(t, app, caseID); n != 0 {
					t.Fatalf("routed before Redis came back: %d", n)
				}
				app.RedisProxy.Restore(t)
				apptest.Eventually(t, 20*time.Second, "routing after Redis is back", func() bool {
					return routedEvents(t, app, caseID) == 1
				})
			})
			t.Run("redis that stops answering", func(t *testing.T) {
				// Tips stored in one shared transaction are answered
				// after one wait for Redis, not one per tip.
				app := apptest.Start(t, apptest.Options{Backend: b, RedisProxy: true})
				app.RedisProxy.Stall(t)
				const n = 16
				ids := make([]uint64, n)
				errs := make([]error, n)
				took := make([]time.Duration, n)
				client := &http.Client{Timeout: time.Minute}
				var wg sync.WaitGroup
				for i := range n {
					wg.Go(func() {
						start := time.Now()
						ids[i], errs[i] = postTip(client, app, validTip)
						took[i] = time.Since(start)
					})
				}
				wg.Wait()
				if err := errors.Join(errs...); err != nil {
					t.Fatalf("tips while Redis does not answer: %v", err)
				}
				if slowest := slices.Max(took); slowest > 12*time.Second {
					t.Errorf("with Redis not answering, the slowest of %d tips took %v to be answered", n, slowest)
				}
				app.RedisProxy.Restore(t)
				apptest.Eventually(t, 30*time.Second, "routing after Redis answers again", func() bool {
					for _, id := range ids {
						if routedEvents(t, app, id) != 1 {
							return false
						}
					}
					return true
				})
			})
			t.Run("duplicate enqueue runs once", func(t *testing.T) {
				app := apptest.Start(t, apptest.Options{Backend: b})
				caseID := submitTip(t, app)
				apptest.Eventually(t, 10*time.Second, "routing", func() bool { return routedEvents(t, app, caseID) == 1 })
				tasks, err := app.Store.OutboxTasks(context.Background(), models.TaskRouteTip)
				if err != nil || len(tasks) != 1 {
					t.Fatalf("outbox rows: %v %v", tasks, err)
				}
				// The same row again, twice: once more after it completed
				// (Redis forgot it) and once as a plain duplicate.
				for range 2 {
					if err := app.Queue.Enqueue(context.Background(), tasks[0].Task()); err != nil {
						t.Fatalf("re-enqueue: %v", err)
					}
				}
				app.Drain(t, 10*time.Second) // both have run (or were refused) by now
				if n := routedEvents(t, app, caseID); n != 1 {
					t.Fatalf("routing ran %d times", n)
				}
			})
			t.Run("crash between commit and enqueue", func(t *testing.T) {
				app := apptest.Start(t, apptest.Options{Backend: b, NoWorker: true})
				app.Store.SetEnqueuer(nil) // the process dies right after commit
				caseID := submitTip(t, app)
				app.Store.SetEnqueuer(app.Queue) // a new process starts
				app.StartWorker()
				apptest.Eventually(t, 10*time.Second, "routing after restart", func() bool {
					return routedEvents(t, app, caseID) == 1
				})
				if n, _ := app.Store.OutboxPending(context.Background()); n != 0 {
					t.Errorf("outbox rows left undone: %d", n)
				}
			})
		})
	}
}

func TestRedisURLForms(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"redis://127.0.0.1:6379/2", "RedisClientOpt"},
		{"redis-sentinel://:pw@10.0.0.1:26379,10.0.0.2:26379?master=mymaster", "RedisFailoverClientOpt"},
		{"redis-cluster://10.0.0.1:7000,10.0.0.2:7000", "RedisClusterClientOpt"},
	} {
		opt, err := worker.RedisOpt(tc.url)
		if err != nil {
			t.Fatalf("%s: %v", tc.url, err)
		}
		if got := strings.TrimPrefix(fmt.Sprintf("%T", opt), "asynq."); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.url, got, tc.want)
		}
	}
	// The Sentinel form keeps the database and gives the password to Redis
	// (deploy/cluster runs it against real Sentinels).
	opt, err := worker.RedisOpt("redis-sentinel://:pw@10.0.0.1:26379,10.0.0.2:26379/3?master=jianfu&sentinel_password=sp")
	if err != nil {
		t.Fatal(err)
	}
	want := asynq.RedisFailoverClientOpt{MasterName: "jianfu", SentinelAddrs: []string{"10.0.0.1:26379", "10.0.0.2:26379"},
		Password: "pw", SentinelPassword: "sp", DB: 3}
	if got := opt.(asynq.RedisFailoverClientOpt); !reflect.DeepEqual(got, want) {
		t.Errorf("sentinel URL:\n got %+v\nwant %+v", got, want)
	}
	for _, bad := range []string{"redis-sentinel://10.0.0.1:26379", "redis-sentinel://10.0.0.1:26379/x?master=m"} {
		if _, err := worker.RedisOpt(bad); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}

// TestForeignTaskIsDropped: a task left in a shared Redis by another (or an
// earlier, reset) database names an outbox id this database also has; it
// must not claim that row, and the row's own task still runs.
func TestForeignTaskIsDropped(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			app := apptest.Start(t, apptest.Options{Backend: b, NoWorker: true})
			app.Store.SetEnqueuer(nil) // the row's own task is not queued yet
			caseID := submitTip(t, app)
			tasks, err := app.Store.OutboxTasks(context.Background(), models.TaskRouteTip)
			if err != nil || len(tasks) != 1 {
				t.Fatalf("outbox rows: %v %v", tasks, err)
			}
			stale := tasks[0]
			stale.CreatedAt = stale.CreatedAt.Add(-time.Hour) // same id, another database's row
			stale.Payload = []byte(`{"case_id":999999}`)
			if err := app.Queue.Enqueue(context.Background(), stale.Task()); err != nil {
				t.Fatal(err)
			}
			app.Store.SetEnqueuer(app.Queue)
			app.StartWorker() // re-enqueues the real row on start
			apptest.Eventually(t, 10*time.Second, "routing of the real row", func() bool {
				return routedEvents(t, app, caseID) == 1
			})
		})
	}
}
