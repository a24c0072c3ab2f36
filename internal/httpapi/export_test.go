package httpapi

// UseReaderGoroutines has s read each WebSocket connection opened from now on with a goroutine of its own,
// the path of systems without epoll, so that tests cover it on Linux too.
func UseReaderGoroutines(s *Server) {
	s.pollMu.Lock()
	s.noPoller = true
	s.pollMu.Unlock()
}
