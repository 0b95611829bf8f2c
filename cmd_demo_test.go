package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"jianfu/config"
	"jianfu/models"
	"jianfu/models/registry"
	"jianfu/testenv"
)

// TestDemoCommand: `jianfu demo --cases N --seed S` fills an empty
// database with N cases whose statistics (read from the rollups) equal the
// direct count and whose text the search finds; it refuses a database
// that already holds cases, and bad flags.
func TestDemoCommand(t *testing.T) {
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
			for _, bad := range [][]string{{"--cases", "0"}, {"--cases", "10", "--years", "0"}, {"--cases", "x"}} {
				if err := demoCommand(ctx, cfg, logger, bad, io.Discard); err == nil {
					t.Errorf("demo %v was accepted", bad)
				}
			}
			var out bytes.Buffer
			if err := demoCommand(ctx, cfg, logger, []string{"--cases", "400", "--seed", "7"}, &out); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), "400 条线索") || !strings.Contains(out.String(), "演示账号") {
				t.Errorf("output: %s", out.String())
			}
			if err := demoCommand(ctx, cfg, logger, []string{"--cases", "10"}, io.Discard); err == nil {
				t.Error("a second demo into a database with cases was accepted")
			}

			store, err := openCurrentStore(ctx, cfg, logger)
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			now := time.Now().In(models.Shanghai())
			from, to, err := models.PeriodOfDates(now.AddDate(-11, 0, 0).Format("2006-01-02"), now.Format("2006-01-02"))
			if err != nil {
				t.Fatal(err)
			}
			fast, err := store.Stats(ctx, models.StatsParams{From: from, To: to})
			if err != nil {
				t.Fatal(err)
			}
			direct, err := store.Stats(ctx, models.StatsParams{From: from, To: to, Direct: true})
			if err != nil {
				t.Fatal(err)
			}
			fj, _ := json.Marshal(fast.Totals)
			dj, _ := json.Marshal(direct.Totals)
			if fast.Totals.Received != 400 || string(fj) != string(dj) {
				t.Errorf("ten years: rollups %s\ndirect %s\nwant 400 received in both", fj, dj)
			}
			if ws, err := registry.New(store).AllWarnings(ctx); err != nil || len(ws) == 0 {
				t.Errorf("the demo county's registry gives no warnings: %d, %v", len(ws), err)
			}
			page, err := store.ListCases(ctx, models.Principal{Role: models.RoleOffice, Username: "office"},
				models.CaseFilter{Q: "打卡", Limit: 5})
			if err != nil || len(page.Items) != 5 {
				t.Errorf("search 打卡 in the demo county: %d items, %v; want a full page of 5", len(page.Items), err)
			}
		})
	}
}
