package worker

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/hibiken/asynq"

	"jianfu/models"
)

// A task that fails on every one of its retries is archived by asynq: it
// is dead, and nothing runs it again until an operator has looked. These
// functions are `jianfu tasks dead` and `jianfu tasks retry`, and the
// relay's view of it (docs/reliability.md).

// DeadTask is one archived task.
type DeadTask struct {
	ID       string
	Queue    string
	Type     string
	Retried  int
	FailedAt time.Time
	Err      string
}

// DeadTasks lists the archived tasks of every queue, oldest failure first.
func DeadTasks(opt asynq.RedisConnOpt) ([]DeadTask, error) {
	in := asynq.NewInspector(opt)
	defer in.Close()
	var out []DeadTask
	for q := range models.Queues {
		for page := 1; ; page++ {
			infos, err := in.ListArchivedTasks(q, asynq.PageSize(500), asynq.Page(page))
			if errors.Is(err, asynq.ErrQueueNotFound) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("list dead tasks of %s: %w", q, err)
			}
			for _, ti := range infos {
				out = append(out, DeadTask{ID: ti.ID, Queue: ti.Queue, Type: ti.Type, Retried: ti.Retried,
					FailedAt: ti.LastFailedAt, Err: ti.LastErr})
			}
			if len(infos) < 500 {
				break
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].FailedAt.Before(out[j].FailedAt) })
	return out, nil
}

// RetryDeadTasks runs dead tasks again: the one with id, or every one when
// id is "". It returns how many it put back. A dead outbox task keeps its
// id, so the relay, which left its row alone while it was dead, takes the
// row up again through the store.
func RetryDeadTasks(ctx context.Context, opt asynq.RedisConnOpt, store *models.Store, id string) (int, error) {
	dead, err := DeadTasks(opt)
	if err != nil {
		return 0, err
	}
	in := asynq.NewInspector(opt)
	defer in.Close()
	n := 0
	var revived []string
	for _, d := range dead {
		if id != "" && d.ID != id {
			continue
		}
		if err := in.RunTask(d.Queue, d.ID); err != nil {
			return n, fmt.Errorf("retry %s: %w", d.ID, err)
		}
		n++
		revived = append(revived, d.ID)
	}
	if id != "" && n == 0 {
		return 0, fmt.Errorf("no dead task %q (see `jianfu tasks dead`)", id)
	}
	if store != nil {
		if err := store.ReviveOutbox(ctx, revived); err != nil {
			return n, err
		}
	}
	return n, nil
}

// isDead reports whether the task with id sits in the archive of queue.
func isDead(in *asynq.Inspector, queue, id string) bool {
	ti, err := in.GetTaskInfo(queue, id)
	return err == nil && ti.State == asynq.TaskStateArchived
}
