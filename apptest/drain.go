package apptest

import (
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"jianfu/models"
)

// Drain waits until the worker has nothing left to do now: no task
// pending, running, waiting to retry or being grouped into a batch, in any
// queue. Scheduled tasks (timers, batched mail due later) do not count.
// Tests use it to show that "nothing more happens" instead of sleeping and
// hoping a second run would have come by then.
func (a *App) Drain(t testing.TB, within time.Duration) {
	t.Helper()
	in := asynq.NewInspector(a.Redis)
	defer in.Close()
	Eventually(t, within, "the queues drained", func() bool {
		for q := range models.Queues {
			info, err := in.GetQueueInfo(q)
			if err != nil {
				continue // a queue nobody has used yet
			}
			if info.Pending+info.Active+info.Retry+info.Aggregating > 0 {
				return false
			}
			groups, err := in.Groups(q)
			if err != nil {
				return false
			}
			for _, g := range groups {
				if g.Size > 0 {
					return false
				}
			}
		}
		return true
	})
}
