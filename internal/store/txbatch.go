package store

import (
	"context"
	"database/sql"
	"sync"
)

// txBatcher runs the transactions of concurrent callers on SQLite's single writer as savepoints of one
// transaction, committed (and fsynced) once: a group commit for use cases that are not messages (the start of a
// conversation). Each caller's work is its own savepoint, so its failure rolls back only its own changes; the
// others see the database as if the earlier ones had committed one by one, in the order they ran. A caller
// returns only after the commit that holds its work. A batch forms from the callers that arrived while the
// previous one was committing, so a lone caller waits for nobody.
//
// If the batch's transaction fails as a whole (its commit, or a savepoint that can no longer be rolled back to),
// every unit not yet answered runs again in a transaction of its own, as without batching: the units must be
// safe to run again (they reset their results at their start, as a retried transaction's must).
type txBatcher struct {
	s *Store

	mu      sync.Mutex
	queue   []*txUnit
	running bool
}

type txUnit struct {
	ctx  context.Context // the caller's: a unit whose caller has gone by its turn is skipped
	fn   func(*sql.Tx) error
	done chan error
}

// run runs fn in the next batch and returns its outcome once that batch committed. fn's statements should
// not use a context that can end mid-batch (SQLite may then end the whole transaction); ctx says whether the
// caller still waits when fn's turn comes, so that an overloaded server sheds the work of callers that gave up
// instead of doing all of it late.
func (b *txBatcher) run(ctx context.Context, fn func(*sql.Tx) error) error {
	u := &txUnit{ctx: ctx, fn: fn, done: make(chan error, 1)}
	b.mu.Lock()
	b.queue = append(b.queue, u)
	if !b.running {
		b.running = true
		go b.loop()
	}
	b.mu.Unlock()
	return <-u.done
}

// runRetry is run with the transient-conflict retries of tryTxRetry, returning the raw error.
func (b *txBatcher) runRetry(ctx context.Context, fn func(*sql.Tx) error) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if err = b.run(ctx, fn); err == nil || !b.s.d.isRetryable(err) {
			return err
		}
	}
	return err
}

func (b *txBatcher) loop() {
	for {
		b.mu.Lock()
		batch := b.queue
		b.queue = nil
		if len(batch) == 0 {
			b.running = false
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		b.commit(batch)
	}
}

// maxBatch bounds a batch, so one commit does not hold the writer for too long.
const maxBatch = 64

func (b *txBatcher) commit(batch []*txUnit) {
	for len(batch) > maxBatch {
		b.commit(batch[:maxBatch])
		batch = batch[maxBatch:]
	}
	live := batch[:0]
	for _, u := range batch {
		if err := u.ctx.Err(); err != nil {
			u.done <- err
		} else {
			live = append(live, u)
		}
	}
	batch = live
	if len(batch) <= 1 {
		b.alone(batch)
		return
	}
	// The batch's transaction must outlive any one caller's context; each unit's statements use its own.
	ctx := context.Background()
	tx, err := b.s.w.BeginTx(ctx, nil)
	if err != nil {
		for _, u := range batch {
			u.done <- err
		}
		return
	}
	var ok []*txUnit
	for i, u := range batch {
		if _, err := tx.ExecContext(ctx, "SAVEPOINT unit"); err != nil {
			tx.Rollback()
			b.alone(append(ok, batch[i:]...))
			return
		}
		if err := u.fn(tx); err != nil {
			if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO unit"); rerr != nil {
				// SQLite ended the whole transaction (an interrupted write can): what ran before is gone.
				tx.Rollback()
				b.alone(append(ok, batch[i:]...))
				return
			}
			u.done <- err
		} else {
			ok = append(ok, u)
		}
		if _, err := tx.ExecContext(ctx, "RELEASE unit"); err != nil {
			tx.Rollback()
			b.alone(append(ok, batch[i+1:]...))
			return
		}
	}
	if err := tx.Commit(); err != nil {
		b.alone(ok)
		return
	}
	for _, u := range ok {
		u.done <- nil
	}
}

// alone runs each unit in a transaction of its own.
func (b *txBatcher) alone(units []*txUnit) {
	for _, u := range units {
		u.done <- b.s.tryTx(context.Background(), u.fn)
	}
}
