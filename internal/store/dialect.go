package store

import (
	"context"
	"database/sql"
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
	// openPredicate selects open conversations in a way the one-open-conversation unique index serves.
	openPredicate() string
	// useIndex follows a table name in FROM to make the query read that index, where the planner might take
	// another one that only looks cheaper on a small table.
	useIndex(index string) string
	// bumpStream increments a stream's head inside tx, creating the stream at 1, and returns the new head. It
	// runs its statement through run (the store's prepared statements): every start, assignment and transfer
	// appends events, and parsing the upsert anew cost 9 % of the server's CPU in the S5 profile.
	bumpStream(ctx context.Context, run txRunner, tx *sql.Tx, stream string) (uint64, error)
	// bumpStreamBy advances a stream's head by n (creating the stream at n) and returns the new head: the
	// events head-n+1 … head are the caller's to write (a batch of starts appends all of its events at once).
	bumpStreamBy(ctx context.Context, run txRunner, tx *sql.Tx, stream string, n uint64) (uint64, error)
	// raiseCursor moves a read cursor forward to seq (never back).
	raiseCursor() string
	isDuplicate(err error) bool
	isRetryable(err error) bool
	isUnavailable(err error) bool
}

// txRunner runs fixed statements in a transaction on prepared statements (*Store).
type txRunner interface {
	exec(ctx context.Context, tx *sql.Tx, q string, args ...any) (sql.Result, error)
	queryRowTx(ctx context.Context, tx *sql.Tx, q string, args ...any) *sql.Row
}

type sqliteDialect struct{}

func (sqliteDialect) name() string      { return "sqlite" }
func (sqliteDialect) forUpdate() string { return "" }
func (sqliteDialect) insertIgnore(t, c, v string) string {
	return "INSERT OR IGNORE INTO " + t + " (" + c + ") VALUES (" + v + ")"
}

// The partial unique index conversations_one_open is declared WHERE status <> 'closed'; SQLite uses it only
// for a query with that very predicate.
func (sqliteDialect) openPredicate() string { return "status <> 'closed'" }

func (sqliteDialect) useIndex(index string) string { return " INDEXED BY " + index }

func (sqliteDialect) bumpStream(ctx context.Context, run txRunner, tx *sql.Tx, stream string) (uint64, error) {
	var seq uint64
	err := run.queryRowTx(ctx, tx, "INSERT INTO streams (id, last_seq) VALUES (?, 1) ON CONFLICT(id) DO UPDATE SET last_seq = last_seq + 1 RETURNING last_seq", stream).Scan(&seq)
	return seq, err
}

func (sqliteDialect) bumpStreamBy(ctx context.Context, run txRunner, tx *sql.Tx, stream string, n uint64) (uint64, error) {
	var seq uint64
	err := run.queryRowTx(ctx, tx, "INSERT INTO streams (id, last_seq) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET last_seq = last_seq + excluded.last_seq RETURNING last_seq", stream, n).Scan(&seq)
	return seq, err
}

func (sqliteDialect) raiseCursor() string {
	return "INSERT INTO read_cursors (conversation_id, side, seq, updated_at) VALUES (?, ?, ?, ?) " +
		"ON CONFLICT(conversation_id, side) DO UPDATE SET seq = max(seq, excluded.seq), updated_at = excluded.updated_at"
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

// open_flag is 1 exactly when status <> 'closed', and is the last column of the unique key.
func (mysqlDialect) openPredicate() string { return "open_flag = 1" }

func (mysqlDialect) useIndex(index string) string { return " FORCE INDEX (" + index + ")" }

// bumpStream uses LAST_INSERT_ID(expr) to read the incremented value back in the same statement. A new
// stream is inserted at 1 (one affected row); an existing one is updated (two affected rows).
func (mysqlDialect) bumpStream(ctx context.Context, run txRunner, tx *sql.Tx, stream string) (uint64, error) {
	res, err := run.exec(ctx, tx, "INSERT INTO streams (id, last_seq) VALUES (?, 1) ON DUPLICATE KEY UPDATE last_seq = LAST_INSERT_ID(last_seq + 1)", stream)
	if err != nil {
		return 0, err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return 1, nil
	}
	id, err := res.LastInsertId()
	return uint64(id), err
}

func (mysqlDialect) bumpStreamBy(ctx context.Context, run txRunner, tx *sql.Tx, stream string, n uint64) (uint64, error) {
	res, err := run.exec(ctx, tx, "INSERT INTO streams (id, last_seq) VALUES (?, ?) ON DUPLICATE KEY UPDATE last_seq = LAST_INSERT_ID(last_seq + VALUES(last_seq))", stream, n)
	if err != nil {
		return 0, err
	}
	if r, _ := res.RowsAffected(); r == 1 {
		return n, nil
	}
	id, err := res.LastInsertId()
	return uint64(id), err
}

func (mysqlDialect) raiseCursor() string {
	return "INSERT INTO read_cursors (conversation_id, side, seq, updated_at) VALUES (?, ?, ?, ?) " +
		"ON DUPLICATE KEY UPDATE seq = GREATEST(seq, VALUES(seq)), updated_at = VALUES(updated_at)"
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
