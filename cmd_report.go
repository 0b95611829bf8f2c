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
	"jianfu/models/evaluation"
	"jianfu/models/registry"
)

// reportCommand is `jianfu report --year 2025 [--unit CODE]` (or
// --from/--to dates): the report section on tip handling as Markdown on
// stdout, every figure filled in, followed by the tables. The numbers are
// those of GET /api/v1/stats for the same period.
func reportCommand(ctx context.Context, cfg *config.Config, logger *slog.Logger, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	year := fs.Int("year", 0, "calendar year (Asia/Shanghai), e.g. 2025")
	from := fs.String("from", "", "first day YYYY-MM-DD (instead of --year)")
	to := fs.String("to", "", "last day YYYY-MM-DD, included (instead of --year)")
	unit := fs.String("unit", "", "only the cases assigned to this unit code")
	if err := fs.Parse(args); err != nil {
		return err
	}
	p := models.StatsParams{UnitCode: *unit}
	switch {
	case *year != 0 && (*from != "" || *to != ""):
		return errors.New("report: use --year or --from/--to, not both")
	case *year != 0:
		if *year < 2000 || *year > 2100 {
			return fmt.Errorf("report: --year %d is not a year", *year)
		}
		p.From, p.To = models.YearPeriod(*year)
	case *from != "" && *to != "":
		var err error
		if p.From, p.To, err = models.PeriodOfDates(*from, *to); err != nil {
			return fmt.Errorf("report: %w", err)
		}
	case *from != "" || *to != "":
		return errors.New("report: --from and --to go together")
	default:
		p.From, p.To = models.YearPeriod(time.Now().In(models.Shanghai()).Year())
	}
	store, err := openCurrentStore(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer store.Close()
	evaluation.New(store) // adds service ratings and the cadre survey to the figures
	st, err := store.Stats(ctx, p)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := registry.New(store).AnnotateReport(ctx, st); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return models.WriteReportMarkdown(out, st)
}
