//go:build linux

package httpapi

import (
	"errors"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// poller tells which WebSocket connections have something to read, so that an idle connection needs no
// goroutine: each connection's socket is in an epoll set, armed one-shot, and when it becomes readable the
// poller starts a goroutine that reads and handles what arrived and re-arms the socket when its buffer is
// empty. One-shot arming also keeps a connection's frames in order: until it is re-armed, nothing else
// starts for that connection. The loop also calls sweep every interval, for the deadlines an idle connection
// has without a blocking read (the pong and auth deadlines).
//
// Go's runtime has the same sockets in its own epoll set (edge-triggered) for the reads and writes
// themselves; a second, level-triggered registration does not disturb it. The sockets stay the net.Conn's:
// reads and writes go through it, with its deadlines.
type poller struct {
	epfd     int
	wake     int // an eventfd in the set: written by close to end the loop
	interval time.Duration
	sweep    func(now time.Time)

	mu    sync.Mutex
	conns []*wsConn // by file descriptor
	gen   uint32    // registration counter: an event from a registration that ended is ignored
	done  bool
}

const pollEvents = unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT

func newPoller(interval time.Duration, sweep func(time.Time)) (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, err
	}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wake, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wake)}); err != nil {
		unix.Close(wake)
		unix.Close(epfd)
		return nil, err
	}
	p := &poller{epfd: epfd, wake: wake, interval: interval, sweep: sweep}
	go p.loop()
	return p, nil
}

// socketFD returns the descriptor of a connection the poller can watch: a socket whose reads go straight to
// the kernel (a *net.TCPConn; not a TLS connection, which buffers inside the process and has no SyscallConn).
func socketFD(c any) (int, bool) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return 0, false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, false
	}
	fd := -1
	if rc.Control(func(f uintptr) { fd = int(f) }) != nil || fd < 0 {
		return 0, false
	}
	return fd, true
}

// add watches c's socket. The caller holds c.mu.
func (p *poller) add(c *wsConn, fd int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return errors.New("poller closed")
	}
	p.gen++
	c.fd, c.pollGen = int32(fd), p.gen
	for fd >= len(p.conns) {
		p.conns = append(p.conns, nil)
	}
	p.conns[fd] = c
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, p.event(c)); err != nil {
		p.conns[fd] = nil
		return err
	}
	return nil
}

func (p *poller) event(c *wsConn) *unix.EpollEvent {
	return &unix.EpollEvent{Events: pollEvents, Fd: c.fd, Pad: int32(c.pollGen)}
}

// rearm watches c's socket again after its reader ended. The caller holds c.mu and the socket is open: a
// connection's socket is closed only after remove, which also runs under c.mu.
func (p *poller) rearm(c *wsConn) error {
	return unix.EpollCtl(p.epfd, unix.EPOLL_CTL_MOD, int(c.fd), p.event(c))
}

// remove stops watching c's socket, before it is closed (a closed descriptor's number is reused by the next
// connection). The caller holds c.mu.
func (p *poller) remove(c *wsConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fd := int(c.fd)
	if fd < len(p.conns) && p.conns[fd] == c {
		p.conns[fd] = nil
		_ = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, fd, nil)
	}
}

// close ends the loop; the epoll set is released when it returns.
func (p *poller) close() {
	p.mu.Lock()
	p.done = true
	p.mu.Unlock()
	var one [8]byte
	one[0] = 1
	_, _ = unix.Write(p.wake, one[:])
}

func (p *poller) loop() {
	defer func() {
		unix.Close(p.wake)
		unix.Close(p.epfd)
	}()
	events := make([]unix.EpollEvent, 128)
	ms := int(p.interval / time.Millisecond)
	next := time.Now().Add(p.interval)
	var ready []*wsConn
	for {
		n, err := unix.EpollWait(p.epfd, events, ms)
		if err != nil && !errors.Is(err, unix.EINTR) {
			return // only a bad epoll descriptor fails this way
		}
		ready = ready[:0]
		p.mu.Lock()
		if p.done {
			p.mu.Unlock()
			return
		}
		for _, ev := range events[:max(n, 0)] {
			fd := int(ev.Fd)
			if fd == p.wake || fd >= len(p.conns) {
				continue
			}
			if c := p.conns[fd]; c != nil && c.pollGen == uint32(ev.Pad) {
				ready = append(ready, c)
			}
		}
		p.mu.Unlock()
		// Outside p.mu: readable takes c.mu, and remove is called with c.mu held.
		for i, c := range ready {
			c.readable()
			ready[i] = nil
		}
		if now := time.Now(); !now.Before(next) {
			p.sweep(now)
			next = now.Add(p.interval)
		}
	}
}
