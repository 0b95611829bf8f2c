package worker

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"jianfu/models"
	"jianfu/testenv"
)

// TestDeadTaskListedAndRetried: a task whose handler always fails spends
// its retries and is dead: `jianfu tasks dead` lists it with its error,
// jianfu_tasks_dead counts it, offering it again is answered ErrTaskDead
// (not a silent success), and after the handler is mended `jianfu tasks
// retry` runs it once.
func TestDeadTaskListedAndRetried(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			url, dir := b.Database(t)
			store, err := models.Open(ctx, models.OpenParams{DatabaseURL: url, DataDir: dir, Secret: make([]byte, 32)})
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			if _, err := store.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			_, opt := b.Redis(t)
			logger := slog.New(slog.NewTextHandler(io.Discard, nil))
			var mended atomic.Bool
			var ran atomic.Int32
			w := New(Params{Store: store, Redis: opt, Logger: logger, PollInterval: 100 * time.Millisecond})
			w.mux.HandleFunc("test:always-fails", func(context.Context, *asynq.Task) error {
				if !mended.Load() {
					return errors.New("the handler is broken")
				}
				ran.Add(1)
				return nil
			})
			if err := w.srv.Start(w.mux); err != nil {
				t.Fatal(err)
			}
			defer w.Shutdown()
			q := NewQueue(opt)
			defer q.Close()
			q.maxRetry = 0 // the first failure spends them
			task := models.Task{ID: "test:dead:1", Type: "test:always-fails", Queue: models.QueueDefault, Payload: []byte("{}")}
			if err := q.Enqueue(ctx, task); err != nil {
				t.Fatal(err)
			}
			reg := prometheus.NewRegistry()
			reg.MustRegister(NewQueueCollector(opt, store))

			waitFor(t, "the task to die", func() bool {
				dead, err := DeadTasks(opt)
				return err == nil && len(dead) == 1
			})
			dead, _ := DeadTasks(opt)
			if dead[0].ID != task.ID || !strings.Contains(dead[0].Err, "broken") {
				t.Fatalf("dead tasks %+v, want %s with its error", dead, task.ID)
			}
			if got := deadMetric(t, reg); got != 1 {
				t.Fatalf("jianfu_tasks_dead = %v, want 1", got)
			}
			if err := q.Enqueue(ctx, task); !errors.Is(err, models.ErrTaskDead) {
				t.Fatalf("offering the dead task again: %v, want ErrTaskDead", err)
			}

			mended.Store(true)
			if _, err := RetryDeadTasks(ctx, opt, store, "no-such-task"); err == nil {
				t.Fatal("retry of an unknown task succeeded")
			}
			if n, err := RetryDeadTasks(ctx, opt, store, task.ID); err != nil || n != 1 {
				t.Fatalf("retry = %d, %v; want 1", n, err)
			}
			waitFor(t, "the retried task to run", func() bool { return ran.Load() == 1 })
			if dead, err := DeadTasks(opt); err != nil || len(dead) != 0 {
				t.Fatalf("dead tasks after the retry: %+v, %v", dead, err)
			}
			if got := deadMetric(t, reg); got != 0 {
				t.Fatalf("jianfu_tasks_dead after the retry = %v, want 0", got)
			}
		})
	}
}

// waitFor polls cond until it holds, for at most 20 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// deadMetric reads jianfu_tasks_dead from reg.
func deadMetric(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "jianfu_tasks_dead" {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatal("no jianfu_tasks_dead metric")
	return 0
}
