package store

import (
	"context"
	"database/sql"
	"math/bits"
	"strconv"
	"sync"
)

// stmtCache prepares each fixed query once per pool and reuses it: on SQLite parsing and planning a statement
// cost more CPU than running most of them (a quarter of the server's CPU in the S5 profile); on MySQL a
// prepared statement saves the prepare round trip the driver makes for every query with arguments. Queries
// built with a variable number of placeholders do not go through it.
type stmtCache struct {
	db *sql.DB
	// wait says a missing statement may be prepared in the caller: only where no caller holds a connection
	// of the pool while asking (SQLite's read pool). Elsewhere — SQLite's single writer connection, held by the
	// caller's transaction; MySQL's shared pool, which a burst of transactions can exhaust — preparing would
	// wait for a connection the caller itself holds, so it is done in the background and the caller runs the
	// query unprepared this once.
	wait    bool
	mu      sync.RWMutex
	m       map[string]*sql.Stmt
	pending map[string]bool
}

// maxCachedStmts bounds the cache; a query past it runs unprepared.
const maxCachedStmts = 256

func newStmtCache(db *sql.DB, wait bool) *stmtCache {
	return &stmtCache{db: db, wait: wait, m: map[string]*sql.Stmt{}, pending: map[string]bool{}}
}

// get returns the prepared statement of q, or nil when it cannot be prepared or the cache is full.
func (c *stmtCache) get(q string) *sql.Stmt {
	c.mu.RLock()
	st, closed := c.m[q], c.m == nil
	c.mu.RUnlock()
	if st != nil || closed {
		return st
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		return nil // closed
	}
	if st = c.m[q]; st != nil || len(c.m)+len(c.pending) >= maxCachedStmts || c.pending[q] {
		return st
	}
	if !c.wait {
		c.pending[q] = true
		go c.prepare(q)
		return nil
	}
	// Prepared without the caller's context: the statement outlives the request that first needs it.
	st, err := c.db.Prepare(q)
	if err != nil {
		return nil // the caller runs q directly and reports the error
	}
	c.m[q] = st
	return st
}

// prepare prepares q in the background and adds it to the cache.
func (c *stmtCache) prepare(q string) {
	st, err := c.db.Prepare(q)
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.pending, q)
	if err == nil {
		if c.m == nil { // closed meanwhile
			st.Close()
			return
		}
		c.m[q] = st
	}
}

func (c *stmtCache) close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		st.Close()
	}
	c.m = nil
}

// query runs a fixed read query on the read pool.
func (s *Store) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := s.rc.get(q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return s.r.QueryContext(ctx, q, args...)
}

// queryRow runs a fixed single-row read query on the read pool.
func (s *Store) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	if st := s.rc.get(q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return s.r.QueryRowContext(ctx, q, args...)
}

// exec runs a fixed statement in tx.
func (s *Store) exec(ctx context.Context, tx *sql.Tx, q string, args ...any) (sql.Result, error) {
	if st := s.wc.get(q); st != nil {
		return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, q, args...)
}

// queryTx runs a fixed query in tx.
func (s *Store) queryTx(ctx context.Context, tx *sql.Tx, q string, args ...any) (*sql.Rows, error) {
	if st := s.wc.get(q); st != nil {
		return tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return tx.QueryContext(ctx, q, args...)
}

// queryRowTx runs a fixed single-row query in tx.
func (s *Store) queryRowTx(ctx context.Context, tx *sql.Tx, q string, args ...any) *sql.Row {
	if st := s.wc.get(q); st != nil {
		return tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return tx.QueryRowContext(ctx, q, args...)
}

// limitClause returns " LIMIT n" with n a literal, the smallest power of two not below want (1 at least), and
// n: the caller reads at most want of the rows. SQLite plans a statement with the value bound to its LIMIT
// parameter and marks it to be planned again whenever that parameter is bound anew, which database/sql does on
// every execution: a prepared "… LIMIT ?" was parsed and planned again each time it ran (27.6 µs against
// 12.1 µs with a literal for an empty history read, BenchmarkLimitLiteral). Rounding up to a power of two keeps
// the statements few, so a client choosing its page size cannot fill the statement cache.
func limitClause(want int) (string, int) {
	n := 1
	if want > 1 {
		n = 1 << bits.Len(uint(want-1))
	}
	return " LIMIT " + strconv.Itoa(n), n
}
