package models

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"jianfu/testenv"
)

// TestBackupRestoreDrill: a backup taken while tips keep arriving restores
// into a working database holding every tip answered before the backup
// began; a damaged file and an existing target are refused. On MariaDB
// the README's procedure (mariadb-dump --single-transaction, then mariadb)
// is run the same way.
func TestBackupRestoreDrill(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f := newFlow(t, b)
			var before []string
			for i := range 5 {
				r, err := f.s.CreateTip(f.ctx, numberedTip(i))
				f.must("tip", err)
				before = append(before, r.Receipt)
			}
			// Tips keep arriving while the backup runs.
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Go(func() {
				for i := 100; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					if _, err := f.s.CreateTip(f.ctx, numberedTip(i)); err != nil {
						t.Error(err)
						return
					}
				}
			})
			restoredURL, restoredDir := "", t.TempDir()
			if b.Embedded() {
				file := filepath.Join(t.TempDir(), "jianfu.bak")
				err := f.s.Backup(f.ctx, file)
				close(stop)
				wg.Wait()
				f.must("backup", err)
				if err := f.s.Backup(f.ctx, file); err == nil {
					t.Fatal("a backup overwrote an existing file")
				}
				bad := filepath.Join(t.TempDir(), "bad.bak")
				f.must("write", os.WriteFile(bad, []byte("SQLite format 3\x00 but not really"), 0o600))
				if _, err := RestoreSQLite(f.ctx, restoredDir, bad); err == nil {
					t.Fatal("a damaged backup was restored")
				}
				if _, err := RestoreSQLite(f.ctx, restoredDir, file); err != nil {
					t.Fatalf("restore: %v", err)
				}
			} else {
				restoredURL, _ = b.Database(t)
				mysqlRestoreProcedure(t, f.dbURL, restoredURL)
				close(stop)
				wg.Wait()
			}
			s, err := Open(context.Background(), OpenParams{DatabaseURL: restoredURL, DataDir: restoredDir, Secret: make([]byte, 32),
				Deadlines: f.s.Deadlines()})
			f.must("open the restored database", err)
			defer s.Close()
			f.must("restored schema", s.CheckSchema(f.ctx))
			for i, receipt := range before {
				if view, err := s.TipView(f.ctx, receipt); err != nil || view.Title != numberedTip(i).Title {
					t.Fatalf("tip %d in the restored copy: %q, %v", i, view.Title, err)
				}
			}
			var tips, cases int64
			s.db.Model(&Tip{}).Count(&tips)
			s.db.Model(&Case{}).Count(&cases)
			if tips != cases || tips < int64(len(before)) {
				t.Fatalf("restored copy has %d tips and %d cases: not one snapshot", tips, cases)
			}
		})
	}
}

// mysqlRestoreProcedure runs the README's MySQL/MariaDB procedure: dump
// the live database in one consistent snapshot, load it into another.
func mysqlRestoreProcedure(t *testing.T, fromURL, toURL string) {
	t.Helper()
	args := func(raw string) []string {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		pass, _ := u.User.Password()
		port := u.Port()
		if port == "" {
			port = "3306"
		}
		a := []string{"-h", u.Hostname(), "-P", port, "-u", u.User.Username()}
		if pass != "" {
			a = append(a, "-p"+pass)
		}
		return append(a, strings.TrimPrefix(u.Path, "/"))
	}
	dumpBin, err := exec.LookPath("mariadb-dump")
	if err != nil {
		if dumpBin, err = exec.LookPath("mysqldump"); err != nil {
			t.Fatal("the MySQL procedure needs mariadb-dump or mysqldump")
		}
	}
	loadBin, err := exec.LookPath("mariadb")
	if err != nil {
		if loadBin, err = exec.LookPath("mysql"); err != nil {
			t.Fatal("the MySQL procedure needs the mariadb or mysql client")
		}
	}
	file := filepath.Join(t.TempDir(), "jianfu.sql")
	out, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	dump := exec.Command(dumpBin, append([]string{"--single-transaction", "--routines", "--triggers", "--hex-blob"}, args(fromURL)...)...)
	var stderr strings.Builder
	dump.Stdout, dump.Stderr = out, &stderr
	if err := dump.Run(); err != nil {
		t.Fatalf("dump: %v\n%s", err, stderr.String())
	}
	out.Close()
	in, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	load := exec.Command(loadBin, args(toURL)...)
	load.Stdin = in
	if b, err := load.CombinedOutput(); err != nil {
		t.Fatalf("load the dump: %v\n%s", err, b)
	}
}
