package models

import (
	"context"
	"errors"
	"reflect"
	"sort"
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
