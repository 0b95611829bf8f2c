package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"jianfu/config"
	"jianfu/models"
)

// demoCommand is `jianfu demo --cases N [--seed S]` (DESIGN §10.3): the
// benchmark's generator as a command. It fills the configured, empty
// database with a county of N cases received over the last years — a mix
// of categories, channels, single and dual assignments, findings and
// ratings, the newest tenth still open and a fifth of those overdue — with
// their search documents and statistics, for load tests and training.
func demoCommand(ctx context.Context, cfg *config.Config, logger *slog.Logger, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	cases := fs.Int("cases", 0, "number of cases to generate (1 to 10000000)")
	seed := fs.Uint64("seed", 1, "random seed: the same seed gives the same county")
	years := fs.Int("years", 10, "years the cases are spread over, ending now")
	towns := fs.Int("townships", 15, "townships to create")
	depts := fs.Int("departments", 30, "county departments to create")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case *cases < 1 || *cases > 10_000_000:
		return errors.New("demo: --cases must be 1 to 10000000")
	case *years < 1 || *years > 30:
		return errors.New("demo: --years must be 1 to 30")
	case *towns < 1 || *towns > 999 || *depts < 1 || *depts > 999:
		return errors.New("demo: --townships and --departments must be 1 to 999")
	}
	store, err := openStore(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer store.Close()
	if _, err := migrate(ctx, store); err != nil {
		return err
	}
	if has, err := store.HasCases(ctx); err != nil {
		return err
	} else if has {
		return errors.New("demo: the database already holds cases; jianfu demo fills an empty database only")
	}
	// The demo county first (its units, accounts, routing rules and
	// registry), so the generated cases come with accounts to log in with
	// and the dashboard's warnings and the report's 压减率 are alive.
	if err := loadDemo(ctx, store, out); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	t0 := time.Now()
	codes, err := store.GenerateCounty(ctx, models.GenerateParams{Cases: *cases, Townships: *towns, Departments: *depts,
		Years: *years, OpenDue: min(100_000, *cases/10), Now: time.Now(), Seed: *seed, Progress: func(done int) {
			if done%100_000 == 0 || done == *cases {
				logger.Info("demo: generating", "cases", done, "elapsed", time.Since(t0).Round(time.Second))
			}
		}})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	fmt.Fprintf(out, "已生成演示数据：%d 条线索，%d 个单位（每个单位一名联络员），用时 %s。\n"+
		"用上面的演示账号登录查看。\n", *cases, len(codes), time.Since(t0).Round(time.Second))
	return nil
}
