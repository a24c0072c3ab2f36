package store

import (
	"database/sql/driver"
	"errors"
	"net"
	"strings"

	"github.com/go-sql-driver/mysql"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dialect isolates what differs between SQLite and MySQL: upserts, row locks and error classification.
type dialect interface {
	name() string
	// forUpdate is appended to a SELECT that must lock the rows it reads. SQLite needs none: BEGIN IMMEDIATE
	// already holds the database's single write lock.
	forUpdate() string
	// insertIgnore returns an INSERT that silently skips rows whose key exists.
	insertIgnore(table, cols, values string) string
	isDuplicate(err error) bool
	isRetryable(err error) bool
	isUnavailable(err error) bool
}

type sqliteDialect struct{}

func (sqliteDialect) name() string      { return "sqlite" }
func (sqliteDialect) forUpdate() string { return "" }
func (sqliteDialect) insertIgnore(t, c, v string) string {
	return "INSERT OR IGNORE INTO " + t + " (" + c + ") VALUES (" + v + ")"
}

func sqliteCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()
	}
	return -1
}

func (sqliteDialect) isDuplicate(err error) bool {
	c := sqliteCode(err)
	return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

func (sqliteDialect) isRetryable(err error) bool {
	c := sqliteCode(err) & 0xff
	return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
}

func (d sqliteDialect) isUnavailable(err error) bool {
	c := sqliteCode(err) & 0xff
	switch c {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR,
		sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN:
		return true
	}
	return errors.Is(err, driver.ErrBadConn)
}

type mysqlDialect struct{}

func (mysqlDialect) name() string      { return "mysql" }
func (mysqlDialect) forUpdate() string { return " FOR UPDATE" }
func (mysqlDialect) insertIgnore(t, c, v string) string {
	return "INSERT IGNORE INTO " + t + " (" + c + ") VALUES (" + v + ")"
}

func mysqlNumber(err error) uint16 {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number
	}
	return 0
}

func (mysqlDialect) isDuplicate(err error) bool { return mysqlNumber(err) == 1062 }

// isRetryable: 1213 deadlock, 1205 lock wait timeout. InnoDB rolled the transaction back; re-running it is safe.
func (mysqlDialect) isRetryable(err error) bool {
	n := mysqlNumber(err)
	return n == 1213 || n == 1205
}

func (mysqlDialect) isUnavailable(err error) bool {
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysql.ErrInvalidConn) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	switch mysqlNumber(err) {
	case 1040, 1053, 1205, 1213, 1290, 2002, 2003, 2006, 2013, 1927, 1317:
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "connection refused") || strings.Contains(msg, "broken pipe") ||
		strings.Contains(msg, "connection reset")
}
