package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"jianfu/config"
	"jianfu/models"
	"jianfu/models/registry"
	"jianfu/testenv"
)

// TestReportCommandDemoCounty: `jianfu report --year Y` on the demo
// county (serve --demo) prints no 〔*〕 blank, and its registry figures are
// those GET /api/v1/stats/monitoring answers (registry.Figures).
func TestReportCommandDemoCounty(t *testing.T) {
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
			if err := loadDemo(ctx, store, io.Discard); err != nil {
				t.Fatal(err)
			}
			year := store.Now().In(models.Shanghai()).Year()
			var out bytes.Buffer
			if err := reportCommand(ctx, cfg, logger, []string{"--year", fmt.Sprint(year)}, &out); err != nil {
				t.Fatal(err)
			}
			text := out.String()
			if strings.Contains(text, "〔") || strings.Contains(text, "*〕") {
				t.Errorf("the report has a blank:\n%s", text)
			}
			f, err := registry.New(store).Figures(ctx, year)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{
				fmt.Sprintf("%d年全县发文%d件，同比下降%s", year, f.Documents.This, registry.PercentText(f.Documents.Percent)),
				fmt.Sprintf("召开全县性会议%d次，同比减少%s", f.Meetings.This, registry.PercentText(f.Meetings.Percent)),
				fmt.Sprintf("整合清理各类政务APP%d个、网络工作群%d个，清理整合率分别为%s、%s", f.Apps.Closed, f.Groups.Closed,
					registry.PercentText(f.Apps.Percent), registry.PercentText(f.Groups.Percent)),
				fmt.Sprintf("对全县%d项督查检查考核事项进行统筹规范，合并开展%d项", f.Inspections.This, f.InspectionsMerged),
				"#### 在线监管", "#### 智能预警",
				// The demo's hand-computed figures.
				"全县发文96件，同比下降20.0%", "召开全县性会议30次，同比减少25.0%", "同比压减33.3%",
			} {
				if !strings.Contains(text, want) {
					t.Errorf("report lacks %q", want)
				}
			}
		})
	}
}
