package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"jianfu/config"
	"jianfu/models"
	"jianfu/testenv"
)

// TestReportCommand: `jianfu report --year Y` prints the report with the
// numbers of the store's statistics (the ones GET /api/v1/stats answers).
func TestReportCommand(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			dbURL, dir := b.Database(t)
			env := map[string]string{"JIANFU_DATA_DIR": dir, "JIANFU_DATABASE_URL": dbURL,
				"JIANFU_SECRET_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}
			cfg, err := config.Load(func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			logger := slog.New(slog.NewTextHandler(io.Discard, nil))
			store, err := openStore(ctx, cfg, logger)
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			if _, err := migrate(ctx, store); err != nil {
				t.Fatal(err)
			}
			// The tips arrive on the store's clock in a fixed year, so the
			// report of that year holds them whatever today's date is.
			const year = 2025
			store.SetClock(func() time.Time { return time.Date(year, 6, 16, 2, 0, 0, 0, time.UTC) })
			u, err := store.CreateUser(ctx, models.UserParams{Username: "office1", Password: "password-123", Role: models.RoleOffice})
			if err != nil {
				t.Fatal(err)
			}
			office := models.Principal{UserID: u.ID, Username: u.Username, Role: u.Role}
			for i := 0; i < 3; i++ {
				r, err := store.CreateTip(ctx, models.TipInput{Category: "meetings_documents",
					Content: "一周内被要求参加4个内容相近的视频会议。", Anonymous: true})
				if err != nil {
					t.Fatal(err)
				}
				if i == 0 {
					if err := store.AcceptCase(ctx, office, models.AcceptParams{CaseID: r.CaseID}); err != nil {
						t.Fatal(err)
					}
				}
			}
			// No worker here to route the tips, which indexes them: the
			// backfill every start runs does the same.
			if _, err := store.BackfillReadModels(ctx, nil); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := reportCommand(ctx, cfg, logger, []string{"--year", fmt.Sprint(year)}, &out); err != nil {
				t.Fatal(err)
			}
			from, to := models.YearPeriod(year)
			st, err := store.Stats(ctx, models.StatsParams{From: from, To: to})
			if err != nil {
				t.Fatal(err)
			}
			// 3 received, 1 accepted, none closed: 0 / 1 = 0.0%.
			text := out.String()
			for _, want := range []string{
				fmt.Sprintf("## %d年度为基层减负问题线索办理情况", year),
				fmt.Sprintf("年内，共收到并核查处理相关线索%d条，办结率%s。", st.Totals.Received, st.Totals.ClosureRate.Text()),
				"年内，共收到并核查处理相关线索3条，办结率0.0%。",
				"#### 总体情况", "| 收到线索 | received | 3 | 条 |  |  |", "#### 指标说明",
			} {
				if !strings.Contains(text, want) {
					t.Errorf("report lacks %q:\n%s", want, text)
				}
			}
			if err := reportCommand(ctx, cfg, logger, []string{"--year", "2025", "--from", "2025-01-01"}, &out); err == nil {
				t.Error("--year with --from was accepted")
			}
		})
	}
}
