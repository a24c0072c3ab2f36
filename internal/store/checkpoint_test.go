package store

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// TestCheckpointerFoldsTheLog: the writer checkpoints only past 16,384 log pages, so when a few hundred pages of
// writes reach the database file itself, the background checkpointer put them there — off the commit path —
// and it synced the file after it wrote them.
func TestCheckpointerFoldsTheLog(t *testing.T) {
	s := openForPlans(t, "sqlite")
	ctx := context.Background()
	db := s.info.Path
	size := func(p string) int64 {
		st, err := os.Stat(p)
		if err != nil {
			return 0
		}
		return st.Size()
	}
	if _, err := s.w.ExecContext(ctx, "CREATE TABLE ckpt_test (b TEXT NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	// Let the migrations' log fold in first, then measure from there.
	time.Sleep(3 * checkpointEvery)
	before, syncs := size(db), s.ckpt.syncs.Load()
	body := strings.Repeat("x", 3000)
	for i := 0; i < 600; i++ { // ~600 pages: far below the writer's own threshold
		if _, err := s.w.ExecContext(ctx, "INSERT INTO ckpt_test (b) VALUES (?)", body); err != nil {
			t.Fatal(err)
		}
	}
	if wal := size(db + "-wal"); wal < 600*3000 {
		t.Fatalf("the log holds %d bytes after 1.8 MB of writes: the test does not write what it thinks", wal)
	}
	deadline := time.Now().Add(10 * time.Second)
	for size(db) < before+600*3000 {
		if time.Now().After(deadline) {
			t.Fatalf("the database file stayed at %d bytes (from %d) for 10 s: nothing checkpointed the log", size(db), before)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for s.ckpt.syncs.Load() == syncs {
		if time.Now().After(deadline) {
			t.Fatal("the checkpointer copied the log into the database file but never synced the file")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
