package models

import (
	"database/sql"
	"errors"
	"fmt"
	"testing"

	mysqldriver "github.com/go-sql-driver/mysql"
)

func TestUnavailable(t *testing.T) {
	// A database that is not there: the driver's own dial error.
	db, err := sql.Open("mysql", "root@tcp(127.0.0.1:1)/x?timeout=1s")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	down := db.Ping()
	if down == nil {
		t.Fatal("ping of a closed port succeeded")
	}
	for _, c := range []struct {
		err  error
		want bool
	}{
		{down, true},
		{fmt.Errorf("create tip: %w", down), true},
		{&mysqldriver.MySQLError{Number: 1213}, true},                      // deadlock / Galera conflict after the retries
		{&mysqldriver.MySQLError{Number: 1047}, true},                      // Galera node not primary
		{&mysqldriver.MySQLError{Number: 1062}, false},                     // duplicate key: a bug or a race, not an outage
		{&ValidationError{Fields: map[string]string{"title": "x"}}, false}, // the request's fault
		{ErrNotFound, false},
		{errors.New("boom"), false},
		{nil, false},
	} {
		if got := Unavailable(c.err); got != c.want {
			t.Errorf("Unavailable(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
