package httpapi

import "time"

// UseReaderGoroutines has s read each WebSocket connection opened from now on with a goroutine of its own,
// the path of systems without epoll, so that tests cover it on Linux too.
func UseReaderGoroutines(s *Server) {
	s.pollMu.Lock()
	s.noPoller = true
	s.pollMu.Unlock()
}

// SetAuthWait sets how long a new WebSocket connection has to authenticate (default
// protocol.CloseAuthTimeoutSec).
func SetAuthWait(s *Server, d time.Duration) { s.authWait.Store(int64(d)) }

// DelayIdleReads has every poller-started read of s wait d first, as on a server too busy to get to the
// connection at once.
func DelayIdleReads(s *Server, d time.Duration) {
	f := func() { time.Sleep(d) }
	s.testHookServeIdle.Store(&f)
}
