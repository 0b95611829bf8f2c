package apptest

import (
	"bytes"
	"io"
	"strconv"
	"sync"
)

func itoa(n int) string { return strconv.Itoa(n) }

// lockedWriter lets the app's goroutines share one log buffer.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// LogText returns everything the app has logged so far.
func (a *App) LogText() string {
	a.logs.mu.Lock()
	defer a.logs.mu.Unlock()
	return a.logs.w.(*bytes.Buffer).String()
}
