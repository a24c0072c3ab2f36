package store

import (
	"context"
	"database/sql"
	"log/slog"
	"os"
	"sync/atomic"
	"time"
)

// checkpointer copies SQLite's write-ahead log into the database file on its own connection, beside the
// writer. With SQLite's automatic checkpoint at its default 1,000 pages, the commit that crossed it copied the
// log and fsynced the database file inside the group commit — at S1's rate nearly every commit did (7 % of
// the server's CPU, all of it on the serial path, and the fsync's wait on top).
//
// A PASSIVE checkpoint never blocks the writer or the readers. It cannot, though, end the log: SQLite starts
// the log again from its beginning only after a checkpoint copied every frame, and under a steady load the
// writer appends while this connection copies. So the writer keeps an automatic checkpoint, at 16,384 pages
// (64 MiB): when it runs, the frames before the last background pass are copied already, it copies the few
// after them, syncs the database file, and the log restarts. journal_size_limit trims the file back after a
// restart. That checkpoint runs on the commit path, so it should run seldom: at 2,048 pages (8 MiB) a machine
// whose writer was near saturation (S1 on a 2-vCPU AMD EPYC, ~10,000 log pages a second) ran it five times a
// second, and each time the commits queued behind it: interleaved pairs, commits 9.2 and 9.9 ms on average →
// 5.3 and 5.1 ms, p50 195 and 52 → 24 and 21 ms, p99 1,779 and 887 → 523 and 460 ms (docs/benchmarks.md,
// History). A larger log costs the readers nothing measurable: a read transaction looks a page up only among
// the frames not yet copied (SQLite's minFrame), which the background passes keep few.
//
// A pass that cannot end the log does not sync the database file either (SQLite syncs it only when a pass
// copied every frame), so the pages it wrote stay dirty in the OS's cache, and the writer's next commit paid
// for them (our reading: on ext4 with data=ordered an fsync of the log commits the file system's journal,
// which first writes out the dirty blocks newly allocated in any file, here the growing database file's; the
// slow commits came right after the checkpointer's passes). So after a pass that
// copied frames the checkpointer syncs the database file itself, off the commit path. S1 on SQLite, two
// interleaved pairs: commits over 4 ms 602 and 602 → 415 and 466 a minute, p99 37.2 and 35.9 → 28.3 and
// 21.0 ms (docs/benchmarks.md, History).
type checkpointer struct {
	db     *sql.DB
	path   string
	file   *os.File // the database file, synced after a pass that copied frames; opened at the first
	syncs  atomic.Int64
	log    *slog.Logger
	cancel context.CancelFunc
	done   chan struct{}
}

const (
	checkpointEvery = 100 * time.Millisecond
)

func startCheckpointer(db *sql.DB, path string, log *slog.Logger) *checkpointer {
	ctx, cancel := context.WithCancel(context.Background())
	c := &checkpointer{db: db, path: path, log: log, cancel: cancel, done: make(chan struct{})}
	go c.run(ctx)
	return c
}

func (c *checkpointer) run(ctx context.Context) {
	defer close(c.done)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	lastDone := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		_, _, done, err := c.checkpoint(ctx, "PASSIVE")
		if err != nil {
			if ctx.Err() == nil {
				c.log.Warn("sqlite checkpoint", "err", err)
			}
			continue
		}
		// done counts the frames copied since the log began again: a change means this pass wrote pages.
		if done != lastDone && done > 0 {
			if err := c.syncFile(); err != nil {
				c.log.Warn("sqlite checkpoint: sync the database file", "err", err)
			} else {
				c.syncs.Add(1)
			}
		}
		lastDone = done
	}
}

// syncFile syncs the database file, opening it the first time (it exists once a pass copied frames into it).
func (c *checkpointer) syncFile() error {
	if c.file == nil {
		f, err := os.Open(c.path)
		if err != nil {
			return err
		}
		c.file = f
	}
	return c.file.Sync()
}

// checkpoint runs one checkpoint and returns SQLite's answer: whether it was blocked, the log's size in
// pages and how many of them are now in the database file.
func (c *checkpointer) checkpoint(ctx context.Context, mode string) (busy, pages, done int, err error) {
	err = c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &pages, &done)
	return busy, pages, done, err
}

// stop ends the loop and closes its connection; the writer's final TRUNCATE checkpoint happens after.
func (c *checkpointer) stop() {
	if c == nil {
		return
	}
	c.cancel()
	<-c.done
	_ = c.db.Close()
	if c.file != nil {
		_ = c.file.Close()
	}
}
