package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"

	"jianfu/config"
	"jianfu/models"
	"jianfu/worker"
)

// digestCommand runs `jianfu digest send [--week 2026-W48]` and
// `jianfu digest preview [--unit CODE] [--html]`. Send goes through the same
// database claims as the scheduler, so it never repeats a digest that went
// out, even while workers are sending the same week.
func digestCommand(ctx context.Context, cfg *config.Config, logger *slog.Logger, args []string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: jianfu digest send [--week 2026-W48] | preview [--unit CODE] [--html]")
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("digest "+sub, flag.ContinueOnError)
	week := fs.String("week", "", "ISO week such as 2026-W48 (default: this week, Asia/Shanghai)")
	unit := fs.String("unit", "", "unit code (preview); without it, the summary for leaders and the office")
	html := fs.Bool("html", false, "print the HTML part instead of the text (preview)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if sub != "send" && sub != "preview" {
		return fmt.Errorf("unknown command digest %s (want send or preview)", sub)
	}
	if *week != "" {
		if _, err := models.ParseWeek(*week); err != nil {
			return fmt.Errorf("--week %q: want an ISO week such as 2026-W48", *week)
		}
	}
	store, err := openCurrentStore(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer store.Close()
	p := worker.DigesterParams{Store: store, BaseURL: cfg.BaseURL, Logger: logger}

	if sub == "preview" {
		m, send, err := worker.NewDigester(p).Preview(ctx, *unit)
		if errors.Is(err, models.ErrNotFound) {
			return fmt.Errorf("--unit %q: no such unit", *unit)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "收件人：%s\n主题：%s\n", strings.Join(m.To, ", "), m.Subject)
		if !send {
			fmt.Fprintln(out, "（本周无需发送：没有逾期或7日内到期的事项，或没有填写邮箱的收件人）")
		}
		fmt.Fprintln(out)
		if *html {
			fmt.Fprintln(out, m.HTML)
		} else {
			fmt.Fprint(out, m.Text)
		}
		return nil
	}

	p.Mailer, err = worker.NewMailer(worker.MailerParams{SMTP: cfg.SMTP, From: cfg.MailFrom,
		OutboxDir: filepath.Join(cfg.DataDir, "outbox"), Logger: logger})
	if err != nil {
		return fmt.Errorf("JIANFU_SMTP_URL: %w", err)
	}
	if *week == "" {
		*week = store.CurrentWeek()
	}
	ds, err := worker.NewDigester(p).SendWeek(ctx, *week)
	for _, d := range ds {
		switch d.Outcome {
		case worker.OutcomeSent:
			fmt.Fprintf(out, "%s\t已发送（%d位收件人）\n", d.Scope, len(d.To))
		case worker.OutcomeSkipped:
			fmt.Fprintf(out, "%s\t无需发送\n", d.Scope)
		case worker.OutcomeDone:
			fmt.Fprintf(out, "%s\t本周已发送过\n", d.Scope)
		case worker.OutcomeBusy:
			fmt.Fprintf(out, "%s\t另一进程正在发送\n", d.Scope)
		}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s：共%d份周报\n", *week, len(ds))
	return nil
}
