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
