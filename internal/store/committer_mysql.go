package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// On MySQL a batch through database/sql's transaction took five round trips: START TRANSACTION, the locking
// SELECT, the INSERT, the UPDATE of the heads and COMMIT, each a wake-up of the server's thread and of ours on
// two cores shared with everything else. The committer's own pool runs with autocommit off, so the locking
// SELECT opens the transaction, and with several statements a round trip, so the writes and the COMMIT go
// together: two round trips. The rest of the store keeps the shared pool, which allows one statement a
// round trip (an injection could not chain a second one there).

// openCommitPool opens the committer's pool: one connection per shard, autocommit off, several statements a
// round trip (the arguments are interpolated by the driver and escaped, as on the shared pool).
func openCommitPool(cfg *mysql.Config, life time.Duration, shards int) (*sql.DB, error) {
	c := cfg.Clone()
	c.MultiStatements = true
	c.Params = maps.Clone(c.Params)
	c.Params["autocommit"] = "0"
	db, err := mysqlConnect(c)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(shards + 1)
	db.SetMaxIdleConns(shards + 1)
	db.SetConnMaxLifetime(life)
	db.SetConnMaxIdleTime(5 * time.Minute)
	return db, nil
}

// commitMySQL runs one batch on a connection of the committer's pool: the locking SELECT (which opens the
// transaction), then its writes and COMMIT in one round trip. Any error ends the transaction with a ROLLBACK
// before the connection goes back to the pool; one that cannot be rolled back is discarded, so no connection
// is left holding a transaction and its row locks.
func (c *Committer) commitMySQL(ctx context.Context, batch []*SendRequest, lookup bool) ([]SendResult, error) {
	conn, err := c.my.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	results, writes, err := c.apply(ctx, conn, nil, batch, lookup)
	if err == nil {
		if err = writeAndCommit(ctx, conn, writes); err == nil {
			return results, nil
		}
	}
	if _, rerr := conn.ExecContext(ctx, "ROLLBACK"); rerr != nil {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn }) // discard the connection
	}
	return nil, err
}

// writeAndCommit sends a batch's writes and COMMIT as one multi-statement. The server stops at the first
// statement that fails, before the COMMIT, and returns its error. Each UPDATE of heads must have changed every
// row it names, which the server's count for each statement shows; unlike on the general path that check
// comes after the COMMIT, but the rows are locked by the transaction, so it can only catch a bug of ours.
func writeAndCommit(ctx context.Context, conn *sql.Conn, writes []write) error {
	var b strings.Builder
	var args []driver.NamedValue
	for _, w := range writes {
		b.WriteString(w.q)
		b.WriteString(";\n")
		for _, a := range w.args {
			v, err := driver.DefaultParameterConverter.ConvertValue(a)
			if err != nil {
				return fmt.Errorf("commit messages: argument %T: %w", a, err)
			}
			args = append(args, driver.NamedValue{Ordinal: len(args) + 1, Value: v})
		}
	}
	b.WriteString("COMMIT")
	return conn.Raw(func(dc any) error {
		ex, ok := dc.(driver.ExecerContext)
		if !ok {
			return fmt.Errorf("commit messages: the MySQL driver's connection (%T) cannot execute directly", dc)
		}
		res, err := ex.ExecContext(ctx, b.String(), args)
		if err != nil {
			return err
		}
		all := res.(mysql.Result).AllRowsAffected()
		if len(all) != len(writes)+1 {
			return fmt.Errorf("commit messages: %d results for %d statements", len(all), len(writes)+1)
		}
		for i, w := range writes {
			if w.rows >= 0 && all[i] != w.rows {
				return headsMissed(all[i], w.rows)
			}
		}
		return nil
	})
}
