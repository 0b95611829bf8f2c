package worker

import (
	"errors"
	"fmt"
	"testing"
	"time"

	mysqldriver "github.com/go-sql-driver/mysql"
	"github.com/hibiken/asynq"
)

// A task that lost a Galera certification conflict (1213 after the store's
// own retries) runs again within seconds and keeps its retry budget; a task
// that failed for its own reasons backs off as asynq does and spends one.
// Without this, the cluster test's contended notice batches waited minutes.
func TestConflictRetriesSoonWithoutSpendingRetries(t *testing.T) {
	task := asynq.NewTask("notice:send", nil)
	conflict := fmt.Errorf("batch overdue notice of case 7: %w", &mysqldriver.MySQLError{Number: 1213, Message: "Deadlock found"})
	for n := range 25 {
		if d := retryDelay(n, conflict, task); d < time.Second || d > 3*time.Second {
			t.Fatalf("conflict, %d retries: delay %v, want 1-3 s", n, d)
		}
	}
	if isFailure(conflict) {
		t.Error("a conflict spends a retry")
	}
	broken := errors.New("template: no such field")
	if !isFailure(broken) {
		t.Error("a real failure does not spend a retry")
	}
	if d := retryDelay(3, broken, task); d < 81*time.Second {
		t.Errorf("a real failure after 3 retries waits %v, want asynq's backoff (≥ 81 s)", d)
	}
}
