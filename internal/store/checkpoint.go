package store

import (
	"context"
	"database/sql"
	"log/slog"
	"time"
)

// checkpointer copies SQLite's write-ahead log into the database file on its own connection, beside the
// writer. With SQLite's automatic checkpoint at its default 1,000 pages, the commit that crossed it copied the
// log and fsynced the database file inside the group commit — at S1's rate nearly every commit did (7 % of
// the server's CPU, all of it on the serial path, and the fsync's wait on top).
//
// A PASSIVE checkpoint never blocks the writer or the readers. It cannot, though, end the log: SQLite starts
// the log again from its beginning only after a checkpoint copied every frame, and under a steady load the
// writer appends while this connection copies. So the writer keeps an automatic checkpoint, at 2,048 pages
// (8 MiB; a larger log sends more of the readers' page reads to it instead of the mapped database file):
// when it runs, the frames before the last background pass are copied already, it copies the few after
// them, and the log restarts. journal_size_limit trims the file back after a restart.
type checkpointer struct {
	db     *sql.DB
	log    *slog.Logger
	cancel context.CancelFunc
	done   chan struct{}
}

const (
	checkpointEvery = 100 * time.Millisecond
)

func startCheckpointer(db *sql.DB, log *slog.Logger) *checkpointer {
	ctx, cancel := context.WithCancel(context.Background())
	c := &checkpointer{db: db, log: log, cancel: cancel, done: make(chan struct{})}
	go c.run(ctx)
	return c
}

func (c *checkpointer) run(ctx context.Context) {
	defer close(c.done)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, _, _, err := c.checkpoint(ctx, "PASSIVE"); err != nil && ctx.Err() == nil {
			c.log.Warn("sqlite checkpoint", "err", err)
		}
	}
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
}
