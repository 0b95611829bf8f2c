package worker

import (
	"context"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"jianfu/models"
)

// QueueCollector exports queue sizes and failures from asynq and the
// outbox backlog from the database, read at scrape time.
type QueueCollector struct {
	inspector *asynq.Inspector
	store     *models.Store
	size      *prometheus.Desc
	failed    *prometheus.Desc
	processed *prometheus.Desc
	outbox    *prometheus.Desc
	dead      *prometheus.Desc
	calendar  *prometheus.Desc
}

// NewQueueCollector builds the collector.
func NewQueueCollector(opt asynq.RedisConnOpt, store *models.Store) *QueueCollector {
	return &QueueCollector{
		inspector: asynq.NewInspector(opt),
		store:     store,
		size:      prometheus.NewDesc("jianfu_queue_tasks", "Tasks in a queue by state.", []string{"queue", "state"}, nil),
		failed:    prometheus.NewDesc("jianfu_queue_failed_today", "Task failures today.", []string{"queue"}, nil),
		processed: prometheus.NewDesc("jianfu_queue_processed_today", "Tasks processed today.", []string{"queue"}, nil),
		outbox:    prometheus.NewDesc("jianfu_outbox_pending", "Outbox rows not yet done.", nil, nil),
		dead:      prometheus.NewDesc("jianfu_tasks_dead", "Tasks whose retries are spent (jianfu tasks dead); alert on > 0.", nil, nil),
		calendar: prometheus.NewDesc("jianfu_calendar_unconfirmed_year",
			"From 1 November, next year while its holiday arrangement is not loaded (only the provisional one); 0 otherwise. Alert on > 0.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *QueueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.size
	ch <- c.failed
	ch <- c.processed
	ch <- c.outbox
	ch <- c.dead
	ch <- c.calendar
}

// Collect implements prometheus.Collector; an unreachable Redis just
// leaves the queue series out.
func (c *QueueCollector) Collect(ch chan<- prometheus.Metric) {
	dead, known := 0, false
	for q := range models.Queues {
		info, err := c.inspector.GetQueueInfo(q)
		if err != nil {
			continue
		}
		dead, known = dead+info.Archived, true
		for state, n := range map[string]int{"pending": info.Pending, "active": info.Active, "scheduled": info.Scheduled,
			"retry": info.Retry, "archived": info.Archived} {
			ch <- prometheus.MustNewConstMetric(c.size, prometheus.GaugeValue, float64(n), q, state)
		}
		ch <- prometheus.MustNewConstMetric(c.failed, prometheus.GaugeValue, float64(info.Failed), q)
		ch <- prometheus.MustNewConstMetric(c.processed, prometheus.GaugeValue, float64(info.Processed), q)
	}
	if known {
		ch <- prometheus.MustNewConstMetric(c.dead, prometheus.GaugeValue, float64(dead))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if n, err := c.store.OutboxPending(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(c.outbox, prometheus.GaugeValue, float64(n))
	}
	if year, unconfirmed, err := c.store.UnconfirmedYear(ctx); err == nil {
		if !unconfirmed {
			year = 0
		}
		ch <- prometheus.MustNewConstMetric(c.calendar, prometheus.GaugeValue, float64(year))
	}
}
