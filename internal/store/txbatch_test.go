package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
)

func batchFixture(t *testing.T) (*Store, func() map[string]bool) {
	t.Helper()
	s := openForPlans(t, "sqlite")
	ctx := context.Background()
	if _, err := s.w.ExecContext(ctx, "CREATE TABLE batch_test (k TEXT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	rows := func() map[string]bool {
		t.Helper()
		rs, err := s.r.QueryContext(ctx, "SELECT k FROM batch_test")
		if err != nil {
			t.Fatal(err)
		}
		defer rs.Close()
		m := map[string]bool{}
		for rs.Next() {
			var k string
			if err := rs.Scan(&k); err != nil {
				t.Fatal(err)
			}
			m[k] = true
		}
		return m
	}
	return s, rows
}

// Concurrent units share commits; a failing unit's writes are rolled back alone, the others' are committed
// and visible once their run returns; every caller gets its own outcome.
func TestTxBatcherIsolatesUnits(t *testing.T) {
	s, rows := batchFixture(t)
	ctx := context.Background()
	errBad := errors.New("unit refuses")
	var wg sync.WaitGroup
	results := make([]error, 200)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = s.starts.run(ctx, func(tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, "INSERT INTO batch_test (k) VALUES (?)", fmt.Sprint("k", i)); err != nil {
					return err
				}
				if i%7 == 0 {
					return errBad // after writing: the write must not survive
				}
				return nil
			})
			if results[i] == nil {
				var n int
				if err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM batch_test WHERE k = ?", fmt.Sprint("k", i)).Scan(&n); err != nil || n != 1 {
					t.Errorf("unit %d returned before its row was readable: %d %v", i, n, err)
				}
			}
		}()
	}
	wg.Wait()
	got := rows()
	for i, err := range results {
		want := i%7 != 0
		if (err == nil) != want || got[fmt.Sprint("k", i)] != want {
			t.Errorf("unit %d: err %v, row %v", i, err, got[fmt.Sprint("k", i)])
		}
	}
}

// A unit that ends the batch's transaction itself (as an interrupted SQLite write can) costs the others
// nothing: what ran before it is run again alone.
func TestTxBatcherRecoversFromALostTransaction(t *testing.T) {
	s, rows := batchFixture(t)
	ctx := context.Background()
	insert := func(k string) func(*sql.Tx) error {
		return func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, "INSERT INTO batch_test (k) VALUES (?)", k)
			return err
		}
	}
	breaker := func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "ROLLBACK"); err != nil {
			return err
		}
		return errors.New("transaction gone")
	}
	done := make([]chan error, 3)
	for i := range done {
		done[i] = make(chan error, 1)
	}
	// Run the three as one batch: queue them before the loop starts.
	b := s.starts
	b.mu.Lock()
	b.running = true
	b.queue = []*txUnit{{ctx: ctx, fn: insert("a"), done: done[0]}, {ctx: ctx, fn: breaker, done: done[1]}, {ctx: ctx, fn: insert("c"), done: done[2]}}
	b.mu.Unlock()
	go b.loop()
	for i, want := range []bool{true, false, true} {
		if err := <-done[i]; (err == nil) != want {
			t.Errorf("unit %d: %v", i, err)
		}
	}
	if got := rows(); !got["a"] || !got["c"] || len(got) != 2 {
		t.Fatalf("rows %v, want a and c", got)
	}
}

// A unit whose caller has gone by its turn is not run: an overloaded server sheds the abandoned work.
func TestTxBatcherSkipsAbandonedUnits(t *testing.T) {
	s, rows := batchFixture(t)
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.starts.run(gone, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(context.Background(), "INSERT INTO batch_test (k) VALUES ('late')")
		return err
	})
	if !errors.Is(err, context.Canceled) || len(rows()) != 0 {
		t.Fatalf("abandoned unit: %v, rows %v", err, rows())
	}
}
