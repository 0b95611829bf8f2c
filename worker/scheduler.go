package worker

import (
	"fmt"
	"log/slog"

	"github.com/hibiken/asynq"

	"jianfu/models"
)

// SchedulerParams wires the cron scheduler.
type SchedulerParams struct {
	Redis      asynq.RedisConnOpt
	DigestCron string // JIANFU_DIGEST_CRON, in Asia/Shanghai
	Logger     *slog.Logger
}

// NewScheduler registers the cron work. Run one scheduler per deployment;
// a second one is harmless because each digest is claimed in the database.
func NewScheduler(p SchedulerParams) (*asynq.Scheduler, error) {
	s := asynq.NewScheduler(p.Redis, &asynq.SchedulerOpts{
		Location: models.Shanghai(),
		Logger:   asynqLogger{p.Logger},
		LogLevel: asynq.WarnLevel,
	})
	if _, err := s.Register(p.DigestCron, asynq.NewTask(models.TaskDigest, []byte("{}")), asynq.Queue(models.QueueMail)); err != nil {
		return nil, fmt.Errorf("register digest cron %q: %w", p.DigestCron, err)
	}
	// The monthly warning mail checks daily and goes out once per month.
	if _, err := s.Register(WarningMailCron, asynq.NewTask(TaskWarningMail, []byte("{}")), asynq.Queue(models.QueueMail)); err != nil {
		return nil, fmt.Errorf("register warning mail cron: %w", err)
	}
	// The calendar notice checks daily and goes out once per year.
	if _, err := s.Register(CalendarNoticeCron, asynq.NewTask(TaskCalendarNotice, []byte("{}")), asynq.Queue(models.QueueMail)); err != nil {
		return nil, fmt.Errorf("register calendar notice cron: %w", err)
	}
	if _, err := s.Register(retentionCron, NewRetentionTask(), asynq.Queue(models.QueueDefault)); err != nil {
		return nil, fmt.Errorf("register retention cron: %w", err)
	}
	return s, nil
}
