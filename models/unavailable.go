package models

import (
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"syscall"

	sqlite "github.com/glebarez/go-sqlite"
	mysqldriver "github.com/go-sql-driver/mysql"
)

// Unavailable reports whether err says a service the request needs (the
// database or Redis) is down, restarting, failing over or too busy right
// now, rather than that the request or the code is wrong. Such a request
// wrote nothing (the transaction did not commit), so the client may send it
// again: the API answers 503 with Retry-After instead of 500.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	var me *mysqldriver.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1040, // too many connections
			1047, // WSREP has not yet prepared node for application use (Galera non-primary)
			1053, // server shutdown in progress
			1205, // lock wait timeout, after the store's retries
			1213, // deadlock or Galera certification conflict, after the store's retries
			1927: // connection was killed
			return true
		}
		return false
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		code := se.Code() & 0xff      // primary result code
		return code == 5 || code == 6 // SQLITE_BUSY, SQLITE_LOCKED past busy_timeout
	}
	var ne net.Error
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysqldriver.ErrInvalidConn) ||
		errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.As(err, &ne)
}
