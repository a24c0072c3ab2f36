package store

import "time"

// DelayTouchWrites makes each of s's session-touch transactions start d late, so that a test can close the
// store while touches are still queued.
func DelayTouchWrites(s *Store, d time.Duration) {
	s.touches.beforeWrite = func() { time.Sleep(d) }
}

// PcacheRenames is how many times SQLite parked a page under the lock-byte page's number, which the page-cache
// shim files under key 0 (pcache.go); PcacheShimErr why the shim is not installed, or nil.
func PcacheRenames() int64 { return pcacheRenames.Load() }
func PcacheShimErr() error { return pcacheShimErr }

// WALWrites is how many log writes the log-gathering VFS took into a buffer and how many writes it made of
// its buffers (walvfs.go); WALVFSFor the DSN parameter a connection with that synchronous setting gets.
func WALWrites() (gathered, flushes int64) { return walGathered.Load(), walFlushes.Load() }
func WALVFSFor(sync string) string         { return walVFSFor(sync) }
