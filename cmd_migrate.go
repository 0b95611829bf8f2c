package main

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"jianfu/models"
)

// migrateCommand runs `jianfu migrate status` and `jianfu migrate force V`.
func migrateCommand(ctx context.Context, store *models.Store, args []string, out io.Writer) error {
	switch args[0] {
	case "status":
		if len(args) != 1 {
			return fmt.Errorf("usage: jianfu migrate status")
		}
		steps, unknown, err := store.MigrationStatus(ctx)
		if err != nil {
			return err
		}
		dirty := false
		for _, st := range steps {
			state := "pending"
			switch {
			case st.Dirty:
				state, dirty = "DIRTY (started, not finished)", true
			case st.Applied:
				state = "applied " + st.AppliedAt.UTC().Format("2006-01-02 15:04:05Z")
			}
			fmt.Fprintf(out, "%03d  %-32s %s\n", st.Version, st.Name, state)
		}
		for _, v := range unknown {
			fmt.Fprintf(out, "%03d  %-32s applied by a newer jianfu\n", v, "?")
		}
		if dirty {
			fmt.Fprintln(out, "\nThe schema is dirty: check the step's change in the database, complete it by hand if needed, then run `jianfu migrate force V`.")
		}
		return nil
	case "force":
		if len(args) != 2 {
			return fmt.Errorf("usage: jianfu migrate force V")
		}
		v, err := strconv.Atoi(args[1])
		if err != nil || v <= 0 {
			return fmt.Errorf("migrate force: %q is not a migration version (see `jianfu migrate status`)", args[1])
		}
		changed, err := store.ForceMigration(ctx, v)
		if err != nil {
			return err
		}
		if changed {
			fmt.Fprintf(out, "step %03d recorded as applied; run `jianfu migrate` for the rest\n", v)
		} else {
			fmt.Fprintf(out, "step %03d was already applied and clean; nothing changed\n", v)
		}
		return nil
	}
	return fmt.Errorf("unknown migrate command %q: want status or force V", args[0])
}
