package audit_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"jianfu/models"
	"jianfu/models/audit"
	"jianfu/testenv"
)

// TestAuditLog: rows come back newest first in pages, filtered; long
// fields are cut to their columns; the purge keeps at least 180 days
// whatever it is told.
func TestAuditLog(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			url, dir := b.Database(t)
			s, err := models.Open(ctx, models.OpenParams{DatabaseURL: url, DataDir: dir, Secret: make([]byte, 32)})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if _, err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			now := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
			a := audit.New(s.DB(context.Background()), func() time.Time { return now }, nil)
			for i := range 7 {
				now = now.Add(time.Hour)
				if err := a.Record(ctx, audit.Entry{Actor: fmt.Sprintf("u%d", i%2), Action: audit.ActionLogin,
					Target: "user:" + strings.Repeat("名", 300)}); err != nil {
					t.Fatal(err)
				}
			}
			rows, next, err := a.List(ctx, audit.Filter{Actor: "u0", Limit: 3})
			if err != nil || len(rows) != 3 || next == 0 || !rows[0].At.After(rows[1].At) {
				t.Fatalf("first page: %d rows, next %d, %v", len(rows), next, err)
			}
			if n := len([]rune(rows[0].Target)); n != 200 || rows[0].Outcome != audit.OutcomeOK {
				t.Fatalf("target kept %d runes, outcome %q", n, rows[0].Outcome)
			}
			rest, next, err := a.List(ctx, audit.Filter{Actor: "u0", Limit: 3, Cursor: next})
			if err != nil || len(rest) != 1 || next != 0 {
				t.Fatalf("second page: %d rows, next %d, %v", len(rest), next, err)
			}
			now = now.Add(100 * 24 * time.Hour)
			if n, err := a.Purge(ctx, time.Hour); err != nil || n != 0 {
				t.Fatalf("purge at 100 days with a 1h retention: %d, %v; want nothing (180d at least)", n, err)
			}
			now = now.Add(90 * 24 * time.Hour)
			if n, err := a.Purge(ctx, 0); err != nil || n != 7 {
				t.Fatalf("purge at 190 days: %d, %v; want 7", n, err)
			}
		})
	}
}
