package store

import "time"

// DelayTouchWrites makes each of s's session-touch transactions start d late, so that a test can close the
// store while touches are still queued.
func DelayTouchWrites(s *Store, d time.Duration) {
	s.touches.beforeWrite = func() { time.Sleep(d) }
}
