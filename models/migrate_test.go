package models

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"

	"jianfu/testenv"
)

// openEmpty opens a store on a fresh, empty database of backend b.
func openEmpty(t *testing.T, b testenv.Backend) *Store {
	t.Helper()
	url, dir := b.Database(t)
	s, err := Open(context.Background(), OpenParams{DatabaseURL: url, DataDir: dir, Secret: make([]byte, 32),
		Deadlines: mustDeadlines(t)})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustDeadlines(t *testing.T) Deadlines {
	d, err := ParseDeadlines(DefaultDeadlines)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestMigrationsMatchModels(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s := openEmpty(t, b)
			if err := s.CheckSchema(ctx); !errors.Is(err, ErrSchemaBehind) {
				t.Fatalf("empty database: CheckSchema = %v, want ErrSchemaBehind", err)
			}
			ms, err := Migrations(s.dialect)
			if err != nil {
				t.Fatal(err)
			}
			n, err := s.Migrate(ctx)
			if err != nil || n != len(ms) {
				t.Fatalf("Migrate = %d, %v; want %d applied", n, err, len(ms))
			}
			if n, err := s.Migrate(ctx); err != nil || n != 0 {
				t.Fatalf("second Migrate = %d, %v; want 0, nil", n, err)
			}
			if err := s.CheckSchema(ctx); err != nil {
				t.Fatalf("CheckSchema after migrate: %v", err)
			}
			for _, m := range AllModels() {
				checkTable(t, s.db, m)
			}
			if err := s.Bootstrap(ctx); err != nil {
				t.Fatalf("bootstrap: %v", err)
			}
			if err := s.Bootstrap(ctx); err != nil {
				t.Fatalf("second bootstrap: %v", err)
			}
			cats, err := s.Categories(ctx)
			if err != nil || len(cats) != len(DefaultCategories()) {
				t.Fatalf("categories after two bootstraps: %d, %v", len(cats), err)
			}
		})
	}
}

// checkTable compares a model with its migrated table: the same columns,
// and NULL allowed exactly where the Go field is a pointer.
func checkTable(t *testing.T, db *gorm.DB, model any) {
	t.Helper()
	sch, err := schema.Parse(model, &syncMap, db.NamingStrategy)
	if err != nil {
		t.Fatal(err)
	}
	cols, err := db.Migrator().ColumnTypes(model)
	if err != nil {
		t.Fatalf("%s: %v", sch.Table, err)
	}
	have := map[string]gorm.ColumnType{}
	var haveNames, wantNames []string
	for _, c := range cols {
		have[c.Name()] = c
		haveNames = append(haveNames, c.Name())
	}
	for _, f := range sch.Fields {
		if f.DBName == "" {
			continue
		}
		wantNames = append(wantNames, f.DBName)
		c, ok := have[f.DBName]
		if !ok {
			continue
		}
		nullable, known := c.Nullable()
		wantNull := f.FieldType.Kind() == reflect.Pointer || (f.FieldType.Kind() == reflect.Slice && (f.DBName == "contact_enc" || f.DBName == "receipt_seal"))
		if known && nullable != wantNull && !f.PrimaryKey {
			t.Errorf("%s.%s: nullable=%v, model wants %v", sch.Table, f.DBName, nullable, wantNull)
		}
	}
	sort.Strings(haveNames)
	sort.Strings(wantNames)
	if !reflect.DeepEqual(haveNames, wantNames) {
		t.Errorf("table %s columns\n have %v\n want %v", sch.Table, haveNames, wantNames)
	}
}

var syncMap sync.Map

// TestMigrationKilledBetweenDDLAndVersion: a migration whose process dies
// after its DDL and before its version row leaves the schema dirty on
// MySQL: status says so, every start refuses, Migrate runs nothing; force
// recovers, and the remaining steps run, each exactly once. On SQLite the
// step and its row are one transaction, so the step simply runs again.
func TestMigrationKilledBetweenDDLAndVersion(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s := openEmpty(t, b)
			ms, err := Migrations(s.dialect)
			if err != nil {
				t.Fatal(err)
			}
			killed := ms[len(ms)-3] // two steps after it still to run
			ran := map[int]int{}
			s.afterDDL = func(m Migration) error {
				ran[m.Version]++
				if m.Version == killed.Version && ran[m.Version] == 1 {
					return errors.New("killed")
				}
				return nil
			}
			if _, err := s.Migrate(ctx); err == nil {
				t.Fatal("Migrate survived its own death")
			}
			steps, _, err := s.MigrationStatus(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var dirty []int
			for _, st := range steps {
				if st.Dirty {
					dirty = append(dirty, st.Version)
				}
			}
			if b.Embedded() {
				if len(dirty) != 0 {
					t.Fatalf("SQLite: dirty steps %v, want none (the step rolled back)", dirty)
				}
				if n, err := s.Migrate(ctx); err != nil || n != 3 {
					t.Fatalf("Migrate after the rollback = %d, %v; want the last 3 steps", n, err)
				}
				if err := s.CheckSchema(ctx); err != nil {
					t.Fatal(err)
				}
				return
			}
			if !slices.Equal(dirty, []int{killed.Version}) {
				t.Fatalf("dirty steps %v, want [%d]", dirty, killed.Version)
			}
			err = s.CheckSchema(ctx)
			if !errors.Is(err, ErrSchemaDirty) || !strings.Contains(err.Error(), fmt.Sprintf("jianfu migrate force %d", killed.Version)) {
				t.Fatalf("CheckSchema = %v, want dirty naming `jianfu migrate force %d`", err, killed.Version)
			}
			if n, err := s.Migrate(ctx); !errors.Is(err, ErrSchemaDirty) || n != 0 {
				t.Fatalf("Migrate on a dirty schema = %d, %v; want 0 and ErrSchemaDirty", n, err)
			}
			if changed, err := s.ForceMigration(ctx, killed.Version); err != nil || !changed {
				t.Fatalf("force = %v, %v", changed, err)
			}
			if n, err := s.Migrate(ctx); err != nil || n != 2 {
				t.Fatalf("Migrate after force = %d, %v; want the 2 remaining steps", n, err)
			}
			if err := s.CheckSchema(ctx); err != nil {
				t.Fatalf("CheckSchema after force and migrate: %v", err)
			}
			for _, m := range ms {
				if ran[m.Version] != 1 {
					t.Fatalf("step %03d_%s ran %d times, want once", m.Version, m.Name, ran[m.Version])
				}
			}
			if _, err := s.ForceMigration(ctx, 9999); err == nil {
				t.Fatal("force of an unknown version was accepted")
			}
		})
	}
}

// migrateBelow applies the steps before version to s, as an older release
// left its database, for tests of a migration that converts data.
func migrateBelow(t *testing.T, s *Store, version int) {
	t.Helper()
	ctx := context.Background()
	ms, err := Migrations(s.dialect)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.lockMigrations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.release()
	for _, m := range ms {
		if m.Version >= version {
			break
		}
		if err := s.migrateStep(ctx, c, m); err != nil {
			t.Fatalf("%03d_%s: %v", m.Version, m.Name, err)
		}
	}
}

// TestNoticeBatchEntriesMigration: steps 110-113 move the notices of the
// batches not yet sent from the JSON column into rows (the copy is step
// 112), so a batch pending at the upgrade still lists them.
func TestNoticeBatchEntriesMigration(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s := openEmpty(t, b)
			migrateBelow(t, s, 110)
			digest := func(scope, status, items string) uint64 {
				t.Helper()
				if err := s.db.Exec("INSERT INTO digests (scope, week, status, items, created_at) VALUES (?, '2026-W20', ?, ?, ?)",
					scope, status, items, digestNow.UTC()).Error; err != nil {
					t.Fatal(err)
				}
				var id uint64
				s.db.Table("digests").Where("scope = ?", scope).Pluck("id", &id)
				return id
			}
			pending := digest("notice:7:2026-05-13", DigestPending,
				`[{"kind":"reminder","case_id":3,"event_id":11},{"kind":"overdue","case_id":4,"event_id":12,"assignment_id":5}]`)
			digest("notice:7:2026-05-12", DigestSent, `[{"kind":"reminder","case_id":3,"event_id":10}]`)
			digest("unit:T01", DigestPending, "[]")
			if _, err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			var got []NoticeBatchEntry
			if err := s.db.Order("event_id").Find(&got).Error; err != nil {
				t.Fatal(err)
			}
			want := []NoticeBatchEntry{{DigestID: pending, EventID: 11}, {DigestID: pending, EventID: 12, AssignmentID: 5}}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("entries after the migration\n have %+v\n want %+v", got, want)
			}
			var counts []int
			s.db.Model(&Digest{}).Order("id").Pluck("entry_count", &counts)
			if !reflect.DeepEqual(counts, []int{2, 0, 0}) {
				t.Errorf("entry counts %v, want [2 0 0]", counts)
			}
		})
	}
}
