package apptest

import (
	"strconv"
)

func itoa(n int) string { return strconv.Itoa(n) }

// LogText returns everything the app has logged so far.
func (a *App) LogText() string { return a.logs.String() }
