package worker

import (
	"context"
	"encoding/json"
	"errors"

	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/hibiken/asynq"

	"jianfu/models"
)

// Params wires a Worker.
type Params struct {
	Store  *models.Store
	Redis  asynq.RedisConnOpt
	Mailer Mailer
	// BaseURL is the console's absolute URL for links in mail.
	BaseURL string
	Logger  *slog.Logger
	// PollInterval is how often the relay and asynq's forwarder look for
	// due work.
	PollInterval time.Duration
	Concurrency  int
	// NoticeBatchDelay is JIANFU_NOTICE_BATCH_DELAY: how long a person's
	// first reminder of a day waits for the rest (0: one minute).
	NoticeBatchDelay time.Duration
	// ContactRetention is JIANFU_RETENTION's contact=: how long after
	// closing a tipster's contact is kept (0 keeps it).
	ContactRetention time.Duration
}

// Worker processes tasks and relays the outbox.
type Worker struct {
	p   Params
	srv *asynq.Server
	mux *asynq.ServeMux
}

// New builds a Worker with every task handler registered.
func New(p Params) *Worker {
	if p.Concurrency == 0 {
		p.Concurrency = 8
	}
	if p.PollInterval == 0 {
		p.PollInterval = 2 * time.Second
	}
	w := &Worker{p: p, mux: asynq.NewServeMux()}
	w.srv = asynq.NewServer(p.Redis, asynq.Config{
		Concurrency:              p.Concurrency,
		Queues:                   models.Queues,
		DelayedTaskCheckInterval: p.PollInterval,
		Logger:                   asynqLogger{p.Logger},
		LogLevel:                 asynq.WarnLevel,
		// New tips are routed in batches: their tasks wait up to a second
		// for more (two under a steady stream) and run as one task.
		GroupGracePeriod: time.Second,
		GroupMaxDelay:    2 * time.Second,
		GroupAggregator:  asynq.GroupAggregatorFunc(aggregate),
		RetryDelayFunc:   retryDelay,
		IsFailure:        isFailure,
		ErrorHandler: asynq.ErrorHandlerFunc(func(ctx context.Context, t *asynq.Task, err error) {
			id, _ := asynq.GetTaskID(ctx)
			if !isFailure(err) {
				p.Logger.Warn("task runs again shortly: database or Redis busy or failing over", "type", t.Type(), "task_id", id, "err", err)
				return
			}
			p.Logger.Error("task failed", "type", t.Type(), "task_id", id, "err", err)
		}),
	})
	(&routeHandler{store: p.Store}).Register(w.mux)
	(&timerHandler{store: p.Store}).Register(w.mux)
	(&noticeHandler{store: p.Store, mailer: p.Mailer, baseURL: p.BaseURL, batchDelay: p.NoticeBatchDelay}).Register(w.mux)
	mail := DigesterParams{Store: p.Store, Mailer: p.Mailer, BaseURL: p.BaseURL, Logger: p.Logger}
	NewDigester(mail).Register(w.mux)
	NewWarningMailer(mail).Register(w.mux)
	NewCalendarNotice(mail).Register(w.mux)
	(&retentionHandler{store: p.Store, contact: p.ContactRetention, logger: p.Logger}).Register(w.mux)
	return w
}

// Start rebuilds the queue from the database (unconfirmed outbox rows and
// every open timer), starts processing, and runs the relay until ctx ends.
func (w *Worker) Start(ctx context.Context) error {
	if n, err := w.p.Store.RelayOutbox(ctx, models.RelayParams{All: true}); err != nil {
		w.p.Logger.Warn("outbox rebuild incomplete", "relayed", n, "err", err)
	}
	began := time.Now()
	if n, err := w.p.Store.SweepTimers(ctx, models.SweepParams{}); err != nil {
		w.p.Logger.Warn("timer rebuild incomplete", "queued", n, "err", err)
	} else {
		w.p.Logger.Info("timers rebuilt from the database", "open_due_times", n, "took", time.Since(began).Round(time.Millisecond))
	}
	if err := w.srv.Start(w.mux); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	go w.relay(ctx)
	return nil
}

// Shutdown waits for running tasks to finish.
func (w *Worker) Shutdown() { w.srv.Shutdown() }

// relay re-enqueues what an API process committed but could not hand to
// Redis, and re-arms timers due soon: the safety nets of DESIGN §8.
func (w *Worker) relay(ctx context.Context) {
	tick := time.NewTicker(w.p.PollInterval)
	defer tick.Stop()
	lastSweep := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if _, err := w.p.Store.RelayOutbox(ctx, models.RelayParams{OlderThan: w.p.PollInterval}); err != nil && ctx.Err() == nil {
			w.p.Logger.Warn("outbox relay", "err", err)
		}
		if time.Since(lastSweep) >= models.TimerSweepInterval {
			lastSweep = time.Now()
			if _, err := w.p.Store.SweepTimers(ctx, models.SweepParams{Horizon: models.TimerSweepHorizon}); err != nil && ctx.Err() == nil {
				w.p.Logger.Warn("timer sweep", "err", err)
			}
		}
	}
}

// decode reads a task payload; one that cannot decode will never succeed.
func decode(t *asynq.Task, v any) error {
	if err := json.Unmarshal(t.Payload(), v); err != nil {
		return fmt.Errorf("decode %s payload: %v: %w", t.Type(), err, asynq.SkipRetry)
	}
	return nil
}

// outboxID reads the outbox row id from the task id; a task that is not
// this database's own is dropped without retries.
func outboxID(ctx context.Context, store *models.Store, t *asynq.Task) (uint64, error) {
	id, _ := asynq.GetTaskID(ctx)
	n, err := store.OutboxIDOfTask(ctx, id)
	if errors.Is(err, models.ErrForeignTask) {
		return 0, fmt.Errorf("%s: %w: %w", t.Type(), err, asynq.SkipRetry)
	}
	return n, err
}

// taskIDHeader carries a grouped task's own id into its batch: asynq
// hands the aggregator the tasks' payloads and headers, not their ids.
const taskIDHeader = "jianfu-task-id"

// batchSuffix names the task type a group's batch runs as.
const batchSuffix = ":batch"

// batch is the payload of an aggregated task: the ids of its tasks.
type batch struct {
	TaskIDs []string `json:"task_ids"`
}

// aggregate turns a group's tasks into one batch task.
func aggregate(group string, tasks []*asynq.Task) *asynq.Task {
	b := batch{TaskIDs: make([]string, 0, len(tasks))}
	for _, t := range tasks {
		b.TaskIDs = append(b.TaskIDs, t.Headers()[taskIDHeader])
	}
	payload, _ := json.Marshal(b)
	return asynq.NewTask(group+batchSuffix, payload, asynq.MaxRetry(20), asynq.Timeout(5*time.Minute))
}

// routeHandler applies routing rules to new tips: a batch, or a single
// task queued before batches existed.
type routeHandler struct{ store *models.Store }

func (h *routeHandler) Register(mux *asynq.ServeMux) {
	mux.Handle(models.TaskRouteTip, h)
	mux.Handle(models.TaskRouteTip+batchSuffix, h)
}

func (h *routeHandler) ProcessTask(ctx context.Context, t *asynq.Task) error {
	var b batch
	if t.Type() == models.TaskRouteTip {
		id, _ := asynq.GetTaskID(ctx)
		b.TaskIDs = []string{id}
	} else if err := decode(t, &b); err != nil {
		return err
	}
	return h.store.RouteTips(ctx, b.TaskIDs)
}

// timerHandler performs reminders, overdue marks and escalations.
type timerHandler struct{ store *models.Store }

func (h *timerHandler) Register(mux *asynq.ServeMux) { mux.Handle(models.TaskTimer, h) }

func (h *timerHandler) ProcessTask(ctx context.Context, t *asynq.Task) error {
	var p models.TimerPayload
	if err := decode(t, &p); err != nil {
		return err
	}
	return h.store.FireTimer(ctx, p)
}

// asynqLogger routes asynq's own logging through slog.
type asynqLogger struct{ l *slog.Logger }

func (a asynqLogger) Debug(args ...any) { a.l.Debug(fmt.Sprint(args...)) }
func (a asynqLogger) Info(args ...any)  { a.l.Info(fmt.Sprint(args...)) }
func (a asynqLogger) Warn(args ...any)  { a.l.Warn(fmt.Sprint(args...)) }
func (a asynqLogger) Error(args ...any) { a.l.Error(fmt.Sprint(args...)) }
func (a asynqLogger) Fatal(args ...any) { a.l.Error(fmt.Sprint(args...)) }

// isFailure tells asynq whether err spends one of the task's retries. A
// task that lost a race with another node's commit (Galera certification
// conflict, after the store's own retries) or found the database or Redis
// down or failing over did nothing wrong: it runs again, and enough such
// losses in a row must not make it dead (docs/scale-out.md).
func isFailure(err error) bool { return !models.Unavailable(err) }

// retryDelay runs such a task again within seconds, with jitter so the
// contenders spread out, instead of asynq's n⁴ backoff for tasks that
// fail: under cross-node contention on one row (a person's notice batch)
// that backoff left notices waiting for minutes.
func retryDelay(n int, err error, t *asynq.Task) time.Duration {
	if !isFailure(err) {
		return time.Second + rand.N(2*time.Second)
	}
	return asynq.DefaultRetryDelayFunc(n, err, t)
}
