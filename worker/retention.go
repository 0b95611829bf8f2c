package worker

import (
	"context"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"

	"jianfu/models"
)

// retentionCron runs the retention sweep every hour (at minute 17, away
// from the digest's full hour): idempotency keys older than 24 h are
// forgotten within the hour after, and contacts past JIANFU_RETENTION are
// erased.
const retentionCron = "17 * * * *"

// NewRetentionTask builds the sweep's task (no payload: the settings are
// the worker's).
func NewRetentionTask() *asynq.Task { return asynq.NewTask(models.TaskRetention, []byte("{}")) }

// retentionHandler erases what has been kept long enough. Both steps are
// idempotent, so a second run (at-least-once delivery, two schedulers)
// finds nothing more to do.
type retentionHandler struct {
	store   *models.Store
	contact time.Duration // JIANFU_RETENTION contact=
	logger  *slog.Logger
}

func (h *retentionHandler) Register(mux *asynq.ServeMux) { mux.Handle(models.TaskRetention, h) }

func (h *retentionHandler) ProcessTask(ctx context.Context, _ *asynq.Task) error {
	keys, err := h.store.PurgeIdempotency(ctx)
	if err != nil {
		return err
	}
	contacts, err := h.store.EraseExpiredContacts(ctx, h.contact)
	if keys > 0 || contacts > 0 {
		h.logger.Info("retention sweep", "idempotency_keys", keys, "contacts_erased", contacts)
	}
	return err
}
