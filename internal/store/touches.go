package store

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// sessionTouches writes sessions' last use and idle expiry behind the requests that caused them. A touch
// only moves the idle expiry, which is hours away, so no request should wait for it; written inline, each was
// a transaction and a commit of its own on the one SQLite writer (a reconnect storm authenticates thousands of
// clients within seconds, each paying a commit) and a round trip and a commit on MySQL. Touches queue by
// session, the latest winning, and a flusher started on demand writes what queued in one transaction per
// touchBatch sessions. A touch that is lost (a failed write, a full queue, a crash) only leaves that session's
// expiry where it was: the session's next request touches it again.
type sessionTouches struct {
	s *Store

	mu      sync.Mutex
	pending map[string]touch // by token hash
	running bool             // a flusher is writing
	closed  bool
	idle    *sync.Cond // signalled when a flusher stops

	beforeWrite func() // tests: runs before each transaction
}

type touch struct {
	hash      []byte
	used, exp int64 // ms
}

const (
	touchBatch   = 256     // sessions a transaction
	touchPending = 100_000 // sessions waiting at most; beyond, touches are dropped until the flusher catches up
)

func newSessionTouches(s *Store) *sessionTouches {
	t := &sessionTouches{s: s, pending: map[string]touch{}}
	t.idle = sync.NewCond(&t.mu)
	return t
}

// add queues a touch and makes sure a flusher runs.
func (t *sessionTouches) add(hash []byte, used, exp time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed || len(t.pending) >= touchPending {
		return
	}
	t.pending[string(hash)] = touch{hash: hash, used: ms(used), exp: ms(exp)}
	if !t.running {
		t.running = true
		go t.flush()
	}
}

// flush writes until nothing is pending.
func (t *sessionTouches) flush() {
	for {
		t.mu.Lock()
		if len(t.pending) == 0 {
			t.running = false
			t.idle.Broadcast()
			t.mu.Unlock()
			return
		}
		batch := make([]touch, 0, min(len(t.pending), touchBatch))
		for k, v := range t.pending {
			batch = append(batch, v)
			delete(t.pending, k)
			if len(batch) == touchBatch {
				break
			}
		}
		t.mu.Unlock()
		if t.beforeWrite != nil {
			t.beforeWrite()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := t.s.tx(ctx, "touch sessions", func(tx *sql.Tx) error {
			for _, v := range batch {
				if _, err := t.s.exec(ctx, tx, touchSQL, v.used, v.exp, v.hash); err != nil {
					return err
				}
			}
			return nil
		})
		cancel()
		if err != nil {
			t.s.log.Warn("record session use (the sessions' idle expiry moves on their next request)", "sessions", len(batch), "err", err)
		}
	}
}

// wait returns when no flusher runs: every touch queued before the call is written (or failed).
func (t *sessionTouches) wait() {
	t.mu.Lock()
	for t.running {
		t.idle.Wait()
	}
	t.mu.Unlock()
}

// close writes what is queued and refuses further touches.
func (t *sessionTouches) close() {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	t.wait()
}

const touchSQL = "UPDATE sessions SET last_used_at = ?, expires_at = ? WHERE token_hash = ?"
