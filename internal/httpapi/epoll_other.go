//go:build !linux

package httpapi

import (
	"errors"
	"time"
)

// poller is Linux-only (epoll). Elsewhere every WebSocket connection is read by a goroutine of its own, with
// blocking reads and their deadlines, as before the poller existed.
type poller struct{}

func newPoller(time.Duration, func(time.Time)) (*poller, error) {
	return nil, errors.New("no poller on this system")
}

func socketFD(any) (int, bool)         { return 0, false }
func (*poller) add(*wsConn, int) error { return errors.New("no poller on this system") }
func (*poller) rearm(*wsConn) error    { return nil }
func (*poller) remove(*wsConn)         {}
func (*poller) close()                 {}
