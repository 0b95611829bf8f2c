package api

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestTogether: the dashboard's reads run at once (a part that waits for
// another finishes only if both run), the first error in argument order
// wins, and a panic in one is an error, not a crashed server.
func TestTogether(t *testing.T) {
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- together(
			func() error {
				select {
				case <-started:
					return nil
				case <-time.After(10 * time.Second):
					return errors.New("the second part never ran beside the first")
				}
			},
			func() error { close(started); return nil },
		)
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	first, second := errors.New("first"), errors.New("second")
	if err := together(func() error { return nil }, func() error { return first }, func() error { return second }); !errors.Is(err, first) {
		t.Errorf("error = %v, want the first in argument order", err)
	}
	err := together(func() error { return nil }, func() error { panic("boom") })
	if err == nil || !strings.Contains(err.Error(), "panic: boom") {
		t.Errorf("panic became %v", err)
	}
}
