package registry

import (
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"testing"
)

// TestWarningsPage: walking the pages gives every warning once, in order;
// a page goes on after the place of a warning that ended meanwhile; a
// cursor no page gave out is refused.
func TestWarningsPage(t *testing.T) {
	var ws []Warning
	for i := range 8 {
		level := LevelWarn
		if i%3 == 0 {
			level = LevelAlert
		}
		ws = append(ws, Warning{ID: fmt.Sprintf("w%d", i), Level: level, Unit: fmt.Sprintf("T%02d", i%4)})
	}
	slices.SortStableFunc(ws, func(a, b Warning) int { return a.place().compare(b.place()) })

	var walked []string
	cursor := ""
	for pages := 1; ; pages++ {
		page, next, err := WarningsPage(ws, cursor, 3)
		if err != nil || len(page) == 0 || len(page) > 3 || pages > 3 {
			t.Fatalf("page %d: %d warnings, next %q, %v", pages, len(page), next, err)
		}
		for _, w := range page {
			walked = append(walked, w.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	var want []string
	for _, w := range ws {
		want = append(want, w.ID)
	}
	if !slices.Equal(walked, want) {
		t.Fatalf("pages gave %v, want %v", walked, want)
	}

	// The last warning of the first page ends before the second is asked for.
	_, next, _ := WarningsPage(ws, "", 3)
	rest := slices.Delete(slices.Clone(ws), 2, 3)
	page, _, err := WarningsPage(rest, next, 3)
	if err != nil || len(page) == 0 || page[0].ID != ws[3].ID {
		t.Fatalf("after an ended warning: %v, %v; want it to start at %s", page, err, ws[3].ID)
	}

	b64 := base64.RawURLEncoding.EncodeToString
	for _, bad := range []string{"%%%", b64([]byte("0\nT01")), b64([]byte("x\nT01\nw1"))} {
		if _, _, err := WarningsPage(ws, bad, 3); !errors.Is(err, ErrBadCursor) {
			t.Errorf("cursor %q: %v, want ErrBadCursor", bad, err)
		}
	}
}
