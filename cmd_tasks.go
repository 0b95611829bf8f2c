package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"

	"jianfu/config"
	"jianfu/worker"
)

// tasksCommand runs `jianfu tasks dead` and `jianfu tasks retry --all|ID`.
func tasksCommand(ctx context.Context, cfg *config.Config, logger *slog.Logger, args []string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: jianfu tasks dead | jianfu tasks retry --all|ID")
	}
	if cfg.RedisURL == "" {
		return errors.New("JIANFU_REDIS_URL: the embedded queue lives inside `jianfu serve`; dead tasks there are counted by the jianfu_tasks_dead metric and run again after a restart")
	}
	opt, err := worker.RedisOpt(cfg.RedisURL)
	if err != nil {
		return fmt.Errorf("JIANFU_REDIS_URL: %w", err)
	}
	switch args[0] {
	case "dead":
		dead, err := worker.DeadTasks(opt)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tQUEUE\tTYPE\tRETRIED\tFAILED AT\tERROR")
		for _, d := range dead {
			fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\t%s\n", d.ID, d.Queue, d.Type, d.Retried,
				d.FailedAt.UTC().Format("2006-01-02 15:04:05Z"), d.Err)
		}
		return w.Flush()
	case "retry":
		fs := flag.NewFlagSet("tasks retry", flag.ContinueOnError)
		all := fs.Bool("all", false, "run every dead task again")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		id := fs.Arg(0)
		if *all == (id != "") || fs.NArg() > 1 {
			return errors.New("usage: jianfu tasks retry --all|ID")
		}
		store, err := openCurrentStore(ctx, cfg, logger)
		if err != nil {
			return err
		}
		defer store.Close()
		n, err := worker.RetryDeadTasks(ctx, opt, store, id)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%d dead tasks put back to run\n", n)
		return nil
	}
	return fmt.Errorf("unknown tasks command %q: want dead or retry", args[0])
}
