package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gobwas/ws"

	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/hub"
	"github.com/parley-chat/parley/internal/messaging"
	"github.com/parley-chat/parley/internal/ratelimit"
	"github.com/parley-chat/parley/internal/store"
	"github.com/parley-chat/parley/protocol"
)

// Per-connection limits. The send queue bounds what the server holds for a client that does not read: past it
// the client is disconnected (close 4008) and resumes from its last sequence number, losing nothing.
const (
	maxQueueFrames  = 512
	maxQueueBytes   = 1 << 20
	maxPending      = 2048    // live frames buffered per subscription while its history replays
	maxPendingBytes = 8 << 20 // and their bytes, all of a connection's subscriptions together
	writeWait       = 10 * time.Second
	maxBadFrames    = 10  // consecutive malformed frames before the connection is closed
	framesPerSecond = 200 // a guard against floods; the business limits are the per-principal message rates
	frameBurst      = 1000
	maxWriteBatch   = 64 << 10 // bytes of queued frames written in one system call (writev), past the first frame
	readBufferSize  = 1024     // the pooled read buffer a connection borrows while it has something to read

	closeProtocolError = 1002 // a frame breaking RFC 6455 (unmasked, reserved bits or opcode, a bad close frame)
	closeNoStatus      = 1005 // a client's close frame without a code: echoed with an empty body
)

// outFrame is one queued WebSocket frame: a protocol frame (text), or a ping or pong.
type outFrame struct {
	op ws.OpCode
	b  []byte
}

// pingFrame is the heartbeat's WebSocket ping.
var pingFrame = outFrame{op: ws.OpPing}

// closeFrame is a queued close: the writer sends the frames before it, then the close frame, then closes.
type closeFrame struct {
	code   int
	reason string
}

// upgrader answers the handshake once checkHandshake has accepted the request: no subprotocol and no
// extension, so compression stays off.
var upgrader = ws.HTTPUpgrader{Timeout: writeWait}

// readers are the read buffers of connections that are reading now. An idle connection holds none: it
// borrows one when its socket becomes readable and gives it back when everything that arrived is handled.
var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, readBufferSize) }}

// writeBuffers hold the frames of one write while a writer runs: copied into one buffer, a batch of frames
// costs one system call.
var writeBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// wsConn is one WebSocket client. It has no goroutine while idle: where the server has a poller (Linux), a
// goroutine starts when the socket is readable and ends when what arrived is handled; elsewhere a reader
// goroutine per connection waits in a blocking read. A writer goroutine exists only while there is
// something to write. Its fields are what an idle connection costs, so they are kept few and small.
type wsConn struct {
	s      *Server
	hbSlot int // which of the heartbeat's slots this connection is in (Server.Run)
	conn   net.Conn
	site   *chat.Site // the site named at upgrade (customers)
	origin string

	// deadline is when a silent connection is closed (Unix nanoseconds): the auth deadline until the
	// connection is authenticated, then the last frame or pong plus pongWait.
	deadline atomic.Int64
	// heard is when the poller last saw bytes arrive (Unix nanoseconds), until the first frame read after it
	// takes it (see readDeadline).
	heard atomic.Int64

	// Touched only by the goroutine reading the connection (one at a time).
	limit ratelimit.Pace // frames per second, whatever they are
	bad   uint8          // consecutive malformed frames

	wmu       sync.Mutex // one writer on the socket at a time: the data frames' writer or the close
	closeSent bool       // under wmu

	mu         sync.Mutex
	authed     bool
	writing    bool
	reading    bool // a goroutine is reading or handling this connection's frames
	closed     bool
	cleaned    bool
	fd         int32    // the socket's descriptor in the poller
	pollGen    uint32   // the poller's registration number
	poll       *poller  // the poller watching the socket; nil when a goroutine of its own reads it
	who        identity // set once authenticated
	queue      []outFrame
	queueBytes int
	room       chan struct{}      // closed when the writer takes the queue (a replay waiting for room, see replayRoomLocked)
	pendingB   int                // bytes of the live frames held in subscriptions' pending while they replay
	closing    *closeFrame        // set by closeAfter: written after the queue drains
	cancelOp   context.CancelFunc // cancels the frame being handled when the connection closes
	subs       subscriptions
}

// identity is who an authenticated connection is, in few bytes: the agent (whose record the rules read: role,
// teams), or the customer's id, name and site. principal builds from it the auth.Principal that handling a
// frame needs; keeping the whole principal (the customer's profile and context, the session's token hash,
// user agent and times) would hold several times as much for as long as the connection idles.
type identity struct {
	agent            *chat.Agent
	id, name, siteID string // customers
}

func identityOf(p *auth.Principal) identity {
	if p.Agent != nil {
		return identity{agent: p.Agent}
	}
	return identity{id: p.Customer.ID, name: p.Customer.Name, siteID: p.Session.SiteID}
}

func (w identity) principalID() string {
	if w.agent != nil {
		return w.agent.ID
	}
	return w.id
}

// principal returns the principal the frames' handling works with: everything it reads (the agent; the
// customer's id, site and name; the session's kind and site).
func (w identity) principal() *auth.Principal {
	if w.agent != nil {
		return &auth.Principal{Kind: chat.PrincipalAgent, Agent: w.agent,
			Session: &chat.Session{Kind: chat.PrincipalAgent, PrincipalID: w.agent.ID}}
	}
	return &auth.Principal{Kind: chat.PrincipalCustomer,
		Customer: &chat.Customer{ID: w.id, SiteID: w.siteID, Name: w.name},
		Session:  &chat.Session{Kind: chat.PrincipalCustomer, PrincipalID: w.id, SiteID: w.siteID}}
}

// subscriptions are a connection's subscriptions by key, the first held inline: a customer's connection has
// one, and a map for it would cost more than the rest of the record.
type subscriptions struct {
	key  string
	one  *subscription
	more map[string]*subscription
}

func (ss *subscriptions) get(k string) *subscription {
	if ss.one != nil && ss.key == k {
		return ss.one
	}
	return ss.more[k]
}

func (ss *subscriptions) set(k string, sub *subscription) {
	switch {
	case ss.one != nil && ss.key == k, ss.one == nil && ss.more[k] == nil:
		ss.key, ss.one = k, sub
	default:
		if ss.more == nil {
			ss.more = map[string]*subscription{}
		}
		ss.more[k] = sub
	}
}

// del removes k and reports whether it was there.
func (ss *subscriptions) del(k string) bool {
	if ss.one != nil && ss.key == k {
		ss.key, ss.one = "", nil
		return true
	}
	_, ok := ss.more[k]
	delete(ss.more, k)
	return ok
}

func (ss *subscriptions) len() int {
	n := len(ss.more)
	if ss.one != nil {
		n++
	}
	return n
}

// all yields every subscription with its key.
func (ss *subscriptions) all(yield func(string, *subscription) bool) {
	if ss.one != nil && !yield(ss.key, ss.one) {
		return
	}
	for k, sub := range ss.more {
		if !yield(k, sub) {
			return
		}
	}
}

// subscription is a connection's position in one conversation or stream.
type subscription struct {
	conv      bool   // a conversation (else an event stream)
	lastSent  uint64 // highest seq queued to the client
	replaying bool   // history is being replayed: live frames wait in pending
	pending   []*hub.Delivery
}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	markHeld(r)
	var site *chat.Site
	if key := r.URL.Query().Get("site"); key != "" {
		st, err := s.store.SiteByKey(r.Context(), key)
		if err != nil {
			s.writeError(w, r, chat.Errorf(chat.CodeNotFound, "unknown site"))
			return
		}
		site = st
	}
	origin := r.Header.Get("Origin")
	if !s.originAllowed(origin, site) {
		s.log.Warn("websocket origin refused", "origin", origin, "ip", maskIP(s.clientIP(r)))
		s.writeError(w, r, chat.Errorf(chat.CodeOriginRefused, "this origin may not open a chat connection"))
		return
	}
	// The console authenticates with its cookie at the upgrade; everyone else with a first "auth" frame.
	var p *auth.Principal
	if c, err := r.Cookie(SessionCookie); err == nil && site == nil && origin != "" {
		if pr, err := s.auth.AuthenticateAgent(r.Context(), c.Value); err == nil {
			p = pr
		}
	}
	if !checkHandshake(w, r) {
		return
	}
	conn, rw, _, err := upgrader.Upgrade(r, w)
	if err != nil {
		if conn != nil {
			conn.Close() // the upgrader has answered on it
		}
		return
	}
	if rw.Reader.Buffered() > 0 {
		// A client may send frames only once it has the handshake's answer (RFC 6455, 4.1).
		conn.Close()
		return
	}
	c := &wsConn{s: s, conn: conn, site: site, origin: origin, fd: -1}
	c.deadline.Store(time.Now().Add(time.Duration(s.authWait.Load())).UnixNano())
	s.track(c, true)
	if p != nil {
		c.authenticated(r.Context(), p, "")
	}
	// The HTTP handler returns; the connection lives on in the poller (or its reader goroutine), so the
	// server's per-request state (buffers, the handler's stack) is released while the connection is idle.
	c.start()
}

// checkHandshake checks that r asks for a WebSocket (RFC 6455, 4.2.1) and answers it if not, as
// gorilla/websocket did: 400 (405 for a method other than GET) with the version the server speaks.
func checkHandshake(w http.ResponseWriter, r *http.Request) bool {
	status := 0
	key, err := base64.StdEncoding.DecodeString(r.Header.Get("Sec-Websocket-Key"))
	switch {
	case !headerHasToken(r.Header, "Connection", "upgrade"), !headerHasToken(r.Header, "Upgrade", "websocket"):
		status = http.StatusBadRequest
	case r.Method != http.MethodGet:
		status = http.StatusMethodNotAllowed
	case !headerHasToken(r.Header, "Sec-Websocket-Version", "13"), err != nil || len(key) != 16:
		status = http.StatusBadRequest
	default:
		return true
	}
	w.Header().Set("Sec-Websocket-Version", "13")
	http.Error(w, http.StatusText(status), status)
	return false
}

// headerHasToken reports whether one of the comma-separated values of the header is token (any case).
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

func (s *Server) pongWait() time.Duration { return s.heartbeat*5/2 + 500*time.Millisecond }

// sweepInterval is how often the poller looks for connections past their deadline: often enough that a
// deadline is kept within a fraction of the shortest one (the pong deadline of a 1 s heartbeat is 3 s), and
// no more than once a second, which costs little even at tens of thousands of connections.
func (s *Server) sweepInterval() time.Duration {
	return min(max(s.heartbeat/4, 100*time.Millisecond), time.Second)
}

// acquirePoller returns the server's poller, started with the first connection, or nil when connections
// must be read by goroutines of their own (no epoll on this system, or turned off).
func (s *Server) acquirePoller() *poller {
	s.pollMu.Lock()
	defer s.pollMu.Unlock()
	if s.noPoller {
		return nil
	}
	if s.epoll == nil {
		p, err := newPoller(s.sweepInterval(), s.sweep)
		if err != nil {
			s.log.Debug("websocket poller unavailable; a goroutine reads each connection", "err", err)
			return nil
		}
		s.epoll = p
	}
	s.pollUsers++
	return s.epoll
}

// releasePoller is called when a connection the poller watched has ended; the poller stops with the last.
func (s *Server) releasePoller(p *poller) {
	s.pollMu.Lock()
	defer s.pollMu.Unlock()
	if p != s.epoll {
		return
	}
	if s.pollUsers--; s.pollUsers == 0 {
		p.close()
		s.epoll = nil
	}
}

// sweep closes the connections past their deadline that have no reading goroutine (whose read deadline
// would close them): with the poller, an idle connection has no blocking read to time out.
func (s *Server) sweep(now time.Time) {
	t := now.UnixNano()
	var late []*wsConn
	s.connMu.Lock()
	for c := range s.conns {
		if c.deadline.Load() < t {
			late = append(late, c)
		}
	}
	s.connMu.Unlock()
	for _, c := range late {
		c.mu.Lock()
		if !c.reading {
			c.timedOutLocked()
		}
		c.mu.Unlock()
	}
}

// originAllowed applies the Origin rules: no Origin (a native app or server) is allowed, since only browsers
// send ambient credentials; "null" never is; the console's socket only from the console's own origin; a
// site's widget socket only from that site's allowed origins.
func (s *Server) originAllowed(origin string, site *chat.Site) bool {
	if origin == "" {
		return true
	}
	if origin == "null" {
		return false
	}
	if site == nil {
		return origin == s.cfg.Origin()
	}
	return siteAllows(site, origin)
}

// siteAllows reports whether origin matches one of the site's allowed origins. An entry may start with a
// wildcard label: "https://*.example.com" allows every subdomain of example.com over https.
func siteAllows(site *chat.Site, origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	for _, a := range site.AllowedOrigins {
		if a == origin {
			return true
		}
		if scheme, rest, ok := strings.Cut(a, "://*."); ok && u.Scheme == scheme && strings.HasSuffix(u.Host, "."+rest) {
			return true
		}
	}
	return false
}

// track adds or removes a connection from the server's set (heartbeats, deadlines, shutdown).
func (s *Server) track(c *wsConn, add bool) {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	if add {
		s.connSeq++
		c.hbSlot = s.connSeq % maxHeartbeatSlots
		s.conns[c] = struct{}{}
		s.metrics.Connections.WithLabelValues("websocket").Inc()
	} else if _, ok := s.conns[c]; ok {
		delete(s.conns, c)
		s.metrics.Connections.WithLabelValues("websocket").Dec()
	}
}

func (c *wsConn) authenticated(ctx context.Context, p *auth.Principal, ref string) {
	pr := &protocol.Principal{Kind: string(p.Kind), ID: p.ID()}
	if p.Agent != nil {
		pr.Name, pr.Role = p.Agent.Name, string(p.Agent.Role)
	} else {
		pr.Name, pr.SiteID = p.Customer.Name, p.Session.SiteID
	}
	hello := messaging.Marshal(protocol.ServerFrame{Type: protocol.TypeHello, Ref: ref, Epoch: c.s.msg.Epoch(), Principal: pr,
		HeartbeatS: int(c.s.heartbeat / time.Second)})
	c.s.hub.Register(p.ID(), c)
	if p.Agent != nil {
		// Presence follows the agent's connections; recorded before the hello, so a client that has its hello
		// is online for the router.
		c.s.msg.AgentConnected(ctx, p.Agent)
	}
	// The principal and the hello in one step: nothing for an authenticated connection (a heartbeat) can be
	// queued before the hello.
	c.mu.Lock()
	c.who, c.authed = identityOf(p), true
	if c.site != nil && c.site.ID == c.who.siteID {
		c.who.siteID = c.site.ID // one string for all the site's connections
	}
	c.deadline.Store(time.Now().Add(c.s.pongWait()).UnixNano())
	c.enqueueLocked(hello)
	c.mu.Unlock()
}

// principal returns the connection's principal, nil before authentication.
func (c *wsConn) principal() *auth.Principal {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.authed {
		return nil
	}
	return c.who.principal()
}

// start has the connection read: through the poller where there is one, else by a goroutine of its own.
func (c *wsConn) start() {
	pl := c.s.acquirePoller()
	fd, ok := socketFD(c.conn)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		// Closed already (a shutdown, a full queue): the close has cleaned up, or will.
		if pl != nil {
			c.s.releasePoller(pl)
		}
		return
	}
	if pl != nil && ok && pl.add(c, fd) == nil {
		c.poll = pl
		return
	}
	if pl != nil {
		c.s.releasePoller(pl)
	}
	c.reading = true
	go c.serve(false)
}

// readable is called by the poller when the socket has something to read, or was closed by the peer.
func (c *wsConn) readable() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.reading {
		return
	}
	c.reading = true
	c.heard.Store(time.Now().UnixNano())
	c.s.work.run(c.serveIdle)
}

// serveIdle is serve as the poller starts it, on one of the server's workers.
func (c *wsConn) serveIdle() {
	if h := c.s.testHookServeIdle.Load(); h != nil {
		(*h)()
	}
	c.serve(true)
}

// readDeadline is the read deadline for the next frame: the connection's deadline, except for the first frame
// after the poller saw bytes arrive before that deadline. An overloaded server may get to them only after it,
// and must not close as silent a client that spoke in time (a client closed with "no auth frame in time"
// after sending it comes back, and adds to the load that closed it): that frame gets the auth wait again from
// now. Only the first frame: a client cannot stretch its deadline by trickling bytes.
func (c *wsConn) readDeadline(idle bool) time.Time {
	dl := c.deadline.Load()
	if heard := c.heard.Swap(0); idle && heard != 0 && heard <= dl {
		dl = max(dl, time.Now().Add(time.Duration(c.s.authWait.Load())).UnixNano())
	}
	return time.Unix(0, dl)
}

// serve reads frames and handles them, in order, one at a time. With idle set (the poller started it) it
// returns once what arrived is handled and nothing more is buffered, in the middle of no message; the poller
// watches the socket again. Otherwise it reads until the connection ends.
func (c *wsConn) serve(idle bool) {
	defer c.doneReading()
	defer func() {
		if v := recover(); v != nil {
			c.s.metrics.Panics.Inc()
			c.s.log.Error("panic in websocket connection", "panic", v)
			c.Kick(protocol.CloseInternal, "internal error")
		}
	}()
	br := readers.Get().(*bufio.Reader)
	br.Reset(c.conn)
	defer func() {
		br.Reset(nil)
		readers.Put(br)
	}()
	var m message
	for c.readFrame(br, &m, idle) {
		if idle && !m.fragmented && br.Buffered() == 0 {
			return
		}
		// Frames already buffered are not handled once the connection is closed (a full queue, a revoke).
		c.mu.Lock()
		closed := c.closed
		c.mu.Unlock()
		if closed {
			return
		}
	}
}

// doneReading runs when serve returns: the poller watches the socket again, or the connection has ended.
func (c *wsConn) doneReading() {
	c.mu.Lock()
	c.reading = false
	if !c.closed && c.closing == nil {
		if c.poll != nil && c.poll.rearm(c) == nil {
			c.mu.Unlock()
			return
		}
		c.kickLocked(protocol.CloseNormal, "")
	}
	c.mu.Unlock()
	c.maybeCleanup()
}

// message is the data message being read: its opcode and its fragments' payload so far.
type message struct {
	op         ws.OpCode
	data       []byte
	fragmented bool // a fragment without FIN was read: the message continues
}

// readFrame reads one frame and acts on it: a control frame at once, a data frame added to m, and a complete
// message handled. It returns false when the connection must end (it has been closed with the right code).
func (c *wsConn) readFrame(br *bufio.Reader, m *message, idle bool) bool {
	if !m.fragmented {
		// A frame's bytes may come in several pieces; the wait for them is bounded by the deadline.
		c.conn.SetReadDeadline(c.readDeadline(idle))
	}
	h, err := ws.ReadHeader(br)
	if err != nil {
		c.readFailed(err)
		return false
	}
	state := ws.StateServerSide
	if m.fragmented {
		state |= ws.StateFragmented
	}
	if err := ws.CheckHeader(h, state); err != nil {
		c.Kick(closeProtocolError, err.Error())
		return false
	}
	if h.OpCode.IsControl() {
		return c.control(br, h)
	}
	if int64(len(m.data))+h.Length > protocol.MaxFrameBytes {
		c.Kick(protocol.CloseTooBig, "")
		return false
	}
	n := len(m.data)
	m.data = slices.Grow(m.data, int(h.Length))[:n+int(h.Length)]
	if _, err := io.ReadFull(br, m.data[n:]); err != nil {
		c.readFailed(err)
		return false
	}
	ws.Cipher(m.data[n:], h.Mask, 0)
	c.touch()
	if h.OpCode != ws.OpContinuation {
		m.op = h.OpCode
	}
	if m.fragmented = !h.Fin; m.fragmented {
		return true
	}
	op, data := m.op, m.data
	*m = message{}
	if op != ws.OpText {
		c.Kick(protocol.CloseUnsupported, "frames must be JSON text")
		return false
	}
	if !utf8.Valid(data) {
		c.Kick(protocol.CloseInvalidUTF8, "text frame is not valid UTF-8")
		return false
	}
	if idle {
		return c.frame(data)
	}
	return c.process(data)
}

// control acts on a control frame: a ping is answered with a pong, a pong keeps the connection alive, a close
// is answered with a close carrying the same code, and ends the connection.
func (c *wsConn) control(br *bufio.Reader, h ws.Header) bool {
	var buf [ws.MaxControlFramePayloadSize]byte
	p := buf[:h.Length]
	if _, err := io.ReadFull(br, p); err != nil {
		c.readFailed(err)
		return false
	}
	ws.Cipher(p, h.Mask, 0)
	c.touch()
	switch h.OpCode {
	case ws.OpPing:
		c.mu.Lock()
		c.enqueueFrameLocked(outFrame{op: ws.OpPong, b: append([]byte{}, p...)})
		c.mu.Unlock()
	case ws.OpClose:
		switch code, reason := ws.ParseCloseFrameData(p); {
		case len(p) == 0:
			c.Kick(closeNoStatus, "")
		case len(p) == 1:
			c.Kick(closeProtocolError, "close frame with a one-byte payload")
		default:
			if err := ws.CheckCloseFrameData(code, reason); err != nil {
				c.Kick(closeProtocolError, err.Error())
			} else {
				c.Kick(int(code), "")
			}
		}
		return false
	}
	return true
}

// touch records that the client spoke: an authenticated connection's deadline moves to pongWait from now.
// Until it authenticates, the auth deadline stays.
func (c *wsConn) touch() {
	c.mu.Lock()
	if c.authed {
		c.deadline.Store(time.Now().Add(c.s.pongWait()).UnixNano())
	}
	c.mu.Unlock()
}

// process decodes and handles one frame on a goroutine of its own that ends with the frame, while the reader
// waits (goroutine readers only: the poller's goroutines end anyway). The work (JSON, authentication, the
// store, a replay) grows a goroutine's stack to 8 KiB and more, and a parked goroutine keeps the stack it
// grew: done on the reader, every idle connection would hold that much. Frames are still handled one at a
// time, in order.
func (c *wsConn) process(data []byte) bool {
	done := make(chan bool, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				c.s.metrics.Panics.Inc()
				c.s.log.Error("panic in websocket connection", "panic", v)
				c.Kick(protocol.CloseInternal, "internal error")
				done <- false
			}
		}()
		done <- c.frame(data)
	}()
	return <-done
}

// frame decodes one frame and dispatches it. It returns false when the connection must end.
func (c *wsConn) frame(data []byte) bool {
	var f protocol.ClientFrame
	var err error
	if !protocol.DecodeClientFrame(data, &f) {
		f = protocol.ClientFrame{}
		err = unmarshalStrict(data, &f)
	}
	if !c.limit.Allow(time.Now(), framesPerSecond, frameBurst) {
		// Answer with the frame's ids so a client retries exactly what was refused.
		c.send(errorFrame(f.ID, chat.Errorf(chat.CodeRateLimited, "too many frames; slow down"), f.ConversationID, f.ClientMsgID))
		return true
	}
	if err != nil {
		c.bad++
		c.sendErr(refOf(data), err)
		if c.bad >= maxBadFrames {
			c.Kick(protocol.CloseTooManyErrors, "too many malformed frames")
			return false
		}
		return true
	}
	c.bad = 0
	ctx, done := c.opContext()
	defer done()
	return c.handle(ctx, &f)
}

// opContext returns the context for handling one frame: it ends with the frame, or when the connection
// closes. (One context for the connection's whole life would hold its memory while the connection idles.)
func (c *wsConn) opContext() (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	c.mu.Lock()
	if c.closed {
		cancel()
	} else {
		c.cancelOp = cancel
	}
	c.mu.Unlock()
	return ctx, func() {
		c.mu.Lock()
		c.cancelOp = nil
		c.mu.Unlock()
		cancel()
	}
}

// refOf digs the id out of a frame that failed strict decoding, so the error can say which request it was.
func refOf(data []byte) string {
	var v struct {
		ID any `json:"id"`
	}
	if json.Unmarshal(data, &v) == nil {
		if s, ok := v.ID.(string); ok && len(s) <= 64 {
			return s
		}
	}
	return ""
}

// readFailed closes the connection after a failed read: a timeout is the pong (or auth) deadline, a header
// no WebSocket can have is a protocol error, anything else (the peer went away) a normal close.
func (c *wsConn) readFailed(err error) {
	var ne interface{ Timeout() bool }
	switch {
	case errors.Is(err, ws.ErrHeaderLengthMSB), errors.Is(err, ws.ErrHeaderLengthUnexpected):
		c.Kick(closeProtocolError, err.Error())
	case errors.As(err, &ne) && ne.Timeout():
		c.mu.Lock()
		c.timedOutLocked()
		c.mu.Unlock()
	default:
		c.Kick(protocol.CloseNormal, "")
	}
}

// timedOutLocked closes a connection past its deadline: no auth frame in time, or no pong.
func (c *wsConn) timedOutLocked() {
	if !c.authed {
		c.kickLocked(protocol.CloseUnauthorized, "no auth frame in time")
	} else {
		c.kickLocked(protocol.ClosePingTimeout, "no pong in time")
	}
}

// handle dispatches one frame. It returns false when the connection must end.
func (c *wsConn) handle(ctx context.Context, f *protocol.ClientFrame) bool {
	p := c.principal()
	if f.Type == protocol.TypeAuth {
		if p != nil {
			c.sendErr(f.ID, chat.Errorf(chat.CodeConflict, "already authenticated"))
			return true
		}
		return c.auth(ctx, f)
	}
	if p == nil {
		c.sendErr(f.ID, chat.Errorf(chat.CodeUnauthorized, "send an auth frame first"))
		c.closeAfter(protocol.CloseUnauthorized, "not authenticated")
		return false
	}
	switch f.Type {
	case protocol.TypeSubscribe:
		c.subscribe(ctx, p, f)
	case protocol.TypeUnsubscribe:
		for _, cur := range f.Subscriptions {
			c.unsubscribe(cur.Key())
		}
	case protocol.TypeSend:
		c.sendMessage(ctx, p, f)
	case protocol.TypeRead:
		if _, err := c.s.msg.MarkRead(ctx, p, f.ConversationID, f.Seq); err != nil {
			c.sendErr(f.ID, err)
		}
	case protocol.TypeTyping:
		if err := c.s.msg.Typing(ctx, p, f.ConversationID); err != nil {
			c.sendErr(f.ID, err)
		}
	case protocol.TypePing:
		c.send(protocol.ServerFrame{Type: protocol.TypePong, Ref: f.ID})
	default:
		c.sendErr(f.ID, chat.Invalid("type", "unknown frame type %q", f.Type))
	}
	return true
}

func (c *wsConn) auth(ctx context.Context, f *protocol.ClientFrame) bool {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var p *auth.Principal
	var err error
	switch {
	case strings.HasPrefix(f.Token, auth.AgentTokenPrefix):
		// Agents connect from the console's origin (or from no browser at all), never through a site.
		if c.site != nil {
			err = chat.Errorf(chat.CodeUnauthorized, "agents connect without a site")
			break
		}
		p, err = c.s.auth.AuthenticateAgent(ctx, f.Token)
	case strings.HasPrefix(f.Token, auth.CustomerTokenPrefix):
		p, err = c.s.auth.AuthenticateCustomer(ctx, c.s.store, f.Token)
		// A browser must have named the customer's site at the upgrade, and passed its origin check.
		if err == nil && ((c.origin != "" && c.site == nil) || (c.site != nil && c.site.ID != p.Session.SiteID)) {
			err = chat.Errorf(chat.CodeUnauthorized, "the visitor token belongs to another site")
		}
	default:
		err = chat.Errorf(chat.CodeUnauthorized, "unknown token")
	}
	if err != nil {
		c.sendErr(f.ID, err)
		if chat.IsCode(err, chat.CodeUnavailable) {
			c.closeAfter(protocol.CloseGoingAway, "database unavailable; retry")
		} else {
			c.closeAfter(protocol.CloseUnauthorized, "authentication failed")
		}
		return false
	}
	c.authenticated(ctx, p, f.ID)
	return true
}

func (c *wsConn) sendMessage(ctx context.Context, p *auth.Principal, f *protocol.ClientFrame) {
	w := &sendWait{c: c, ref: f.ID, convID: f.ConversationID, clientID: f.ClientMsgID}
	c.s.sendWaits.add(w, time.Now())
	// The answer comes from the committer right after the commit, off the reading goroutine, so a client can
	// pipeline sends; they were queued in order. An ack that comes after the connection closed is dropped by
	// send.
	c.s.msg.SendThen(ctx, p, messaging.SendInput{ConversationID: f.ConversationID, ClientMsgID: f.ClientMsgID,
		Body: f.Body, Type: f.MsgType}, w.answer)
}

// ackWait is how long a send waits for its commit before the server gives up and answers unavailable
// (docs/protocol.md, 10.3); the client retries with the same client_msg_id.
const ackWait = 30 * time.Second

// sendWait is a send waiting for its outcome: answered by the committer's callback, or given up by the
// sweep of sendWaits, whichever comes first; the other finds it done and does nothing.
type sendWait struct {
	done                  atomic.Bool
	c                     *wsConn
	ref, convID, clientID string
}

// answer queues the send's acknowledgement or error, unless the wait was given up.
func (w *sendWait) answer(res store.SendResult, err error) {
	if !w.done.CompareAndSwap(false, true) {
		return
	}
	if err != nil {
		w.c.send(errorFrame(w.ref, err, w.convID, w.clientID))
		return
	}
	w.c.send(w.c.s.msg.Ack(w.ref, res))
}

func (w *sendWait) expire() {
	w.answer(store.SendResult{}, chat.Errorf(chat.CodeUnavailable, "no acknowledgement in time; retry with the same client_msg_id"))
}

// sendWaits holds the sends in flight by the second their wait ends, swept once a second: a timer and a
// waiting goroutine per message cost more CPU than the rest of the send's handling outside the store. A send
// is given up between ackWait and ackWait plus a second after it was queued.
type sendWaits struct {
	mu      sync.Mutex
	buckets map[int64][]*sendWait
}

func (ws *sendWaits) add(w *sendWait, now time.Time) {
	sec := now.Add(ackWait).Unix() + 1
	ws.mu.Lock()
	if ws.buckets == nil {
		ws.buckets = map[int64][]*sendWait{}
	}
	ws.buckets[sec] = append(ws.buckets[sec], w)
	ws.mu.Unlock()
}

// sweep gives up the sends whose wait ended by now; those answered already are just forgotten.
func (ws *sendWaits) sweep(now time.Time) {
	var late [][]*sendWait
	ws.mu.Lock()
	for sec, b := range ws.buckets {
		if sec <= now.Unix() {
			late = append(late, b)
			delete(ws.buckets, sec)
		}
	}
	ws.mu.Unlock()
	for _, b := range late {
		for _, w := range b {
			w.expire()
		}
	}
}

func errorFrame(ref string, err error, convID, clientID string) protocol.ServerFrame {
	f := protocol.ServerFrame{Type: protocol.TypeError, Ref: ref, Code: string(chat.ErrorCode(err)), Error: chat.ErrorMessage(err),
		ConversationID: convID, ClientMsgID: clientID}
	var de *chat.Error
	if errors.As(err, &de) {
		f.Field = de.Field
	}
	return f
}

func (c *wsConn) sendErr(ref string, err error) {
	if chat.ErrorCode(err) == chat.CodeInternal {
		c.s.log.Error("websocket request failed", "err", err)
	}
	c.send(errorFrame(ref, err, "", ""))
}

// subscribe registers each subscription, then replays what the client missed from the database, then releases
// the live frames that arrived meanwhile: subscribe first, read second, so nothing can slip between the two.
// The frame's conversations are read for their access checks in one query before any is registered, and
// the heads of its subscriptions in one query once all of them are: a reconnecting agent resumes every
// followed conversation in one frame (120 in S10), and a read of each conversation and of each head were two
// thirds of the resume's queries (docs/benchmarks.md, History 2026-12-07 night). A cursor named twice in one
// frame is registered again only after the first was answered, as if in a frame of its own.
func (c *wsConn) subscribe(ctx context.Context, p *auth.Principal, f *protocol.ClientFrame) {
	if len(f.Subscriptions) == 0 || len(f.Subscriptions) > 500 {
		c.sendErr(f.ID, chat.Invalid("subscriptions", "give 1 to 500 subscriptions"))
		return
	}
	defer func(start time.Time) { c.s.metrics.SubscribeDuration.Observe(time.Since(start).Seconds()) }(time.Now())
	// The access check of every conversation cursor, in one read.
	var ids []string
	for _, cur := range f.Subscriptions {
		if cur.ConversationID != "" {
			ids = append(ids, cur.ConversationID)
		}
	}
	var convs map[string]*chat.Conversation
	var convsErr error
	if len(ids) > 0 {
		convs, convsErr = c.s.msg.Conversations(ctx, p, ids)
	}
	var batch []*resuming
	keys := map[string]bool{}
	for _, cur := range f.Subscriptions {
		if keys[cur.Key()] {
			c.replayAll(ctx, p, f.ID, batch)
			batch, keys = nil, map[string]bool{}
		}
		keys[cur.Key()] = true
		if r := c.register(p, f.ID, cur, convs, convsErr); r != nil {
			batch = append(batch, r)
		}
	}
	c.replayAll(ctx, p, f.ID, batch)
}

// resuming is a subscription registered and not yet replayed.
type resuming struct {
	key  string
	cur  protocol.Cursor
	conv *chat.Conversation // nil for a stream
	sub  *subscription
}

// replayAll reads the heads of registered subscriptions in one query and replays each of them, in order.
func (c *wsConn) replayAll(ctx context.Context, p *auth.Principal, ref string, batch []*resuming) {
	if len(batch) == 0 {
		return
	}
	keys := make([]string, len(batch))
	for i, r := range batch {
		keys[i] = r.key
	}
	heads, err := c.s.headsOf(ctx, keys)
	for _, r := range batch {
		if err != nil {
			c.unsubscribe(r.key)
			c.sendErr(ref, err)
			continue
		}
		c.replay(ctx, p, ref, r, heads[r.key])
		if p.Customer != nil && r.conv != nil {
			// A customer waiting in the queue learns their place at once (from the conversation as it is now,
			// after the replay); later changes are pushed.
			if conv, err := c.s.msg.Conversation(ctx, p, r.conv.ID); err == nil {
				if qf := c.s.msg.QueueFrame(ctx, conv); qf != nil {
					c.send(*qf)
				}
			}
		}
	}
}

// register checks a cursor and registers its subscription (answering the client itself when the cursor is
// invalid or names what p may not follow, and returning nil then). convs holds the frame's conversations p may
// access (messaging.Service.Conversations), or convsErr why they could not be read.
func (c *wsConn) register(p *auth.Principal, ref string, cur protocol.Cursor, convs map[string]*chat.Conversation, convsErr error) *resuming {
	key := cur.Key()
	notFound := func() {
		fr := errorFrame(ref, chat.ErrNotFound("subscription"), cur.ConversationID, "")
		fr.Stream = cur.Stream
		c.send(fr)
	}
	if (cur.ConversationID == "") == (cur.Stream == "") || !chat.ValidSeqCursor(int64(min(cur.LastSeq, 1<<62))) {
		c.sendErr(ref, chat.Invalid("subscriptions", "each subscription names a conversation_id or a stream, with last_seq"))
		return nil
	}
	var conv *chat.Conversation // kept until the replay; the subscription itself needs only its id
	if cur.ConversationID != "" {
		if convsErr != nil {
			c.sendErr(ref, convsErr)
			return nil
		}
		if conv = convs[cur.ConversationID]; conv == nil {
			notFound()
			return nil
		}
	} else if !messaging.CanSubscribeStream(p, cur.Stream) {
		notFound()
		return nil
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	if c.subs.len() >= 1000 && c.subs.get(key) == nil {
		c.mu.Unlock()
		c.sendErr(ref, chat.Invalid("subscriptions", "a connection may hold at most 1000 subscriptions"))
		return nil
	}
	sub := &subscription{conv: conv != nil, lastSent: cur.LastSeq, replaying: true}
	c.subs.set(key, sub)
	c.mu.Unlock()
	c.s.hub.Subscribe(key, c)
	return &resuming{key: key, cur: cur, conv: conv, sub: sub}
}

// replay sends a registered subscription what its client missed, from the database, given its head (read after
// the subscription was registered), then the live frames held meanwhile.
func (c *wsConn) replay(ctx context.Context, p *auth.Principal, ref string, r *resuming, head uint64) {
	key, cur, conv, sub := r.key, r.cur, r.conv, r.sub

	epoch := c.s.msg.Epoch()
	resumed := protocol.ServerFrame{Type: protocol.TypeResumed, Ref: ref, Epoch: epoch, ConversationID: cur.ConversationID, Stream: cur.Stream}
	var replay [][]byte
	var lastSeq uint64
	resumed.HeadSeq = head
	if (cur.Epoch != "" && cur.Epoch != epoch) || cur.LastSeq > head {
		// The client's position is from another store (a restore) or beyond anything we have: it must drop
		// its cache and reload. Live frames continue from the current head.
		resumed.Reset = true
		lastSeq = head
	} else {
		lastSeq = cur.LastSeq
		recovered := true
		if conv != nil {
			msgs, err := c.s.msg.After(ctx, p, conv, cur.LastSeq, protocol.ResumeLimit+1)
			if err != nil {
				c.unsubscribe(key)
				c.sendErr(ref, err)
				return
			}
			if len(msgs) > protocol.ResumeLimit {
				msgs, recovered = msgs[:protocol.ResumeLimit], false
			}
			for _, m := range msgs {
				replay = append(replay, messaging.Marshal(protocol.ServerFrame{Type: protocol.TypeMessage, Epoch: epoch, Message: m}))
				lastSeq = m.Seq
			}
		} else {
			evs, err := c.s.msg.Events(ctx, cur.Stream, cur.LastSeq, protocol.ResumeLimit+1)
			if err != nil {
				c.unsubscribe(key)
				c.sendErr(ref, err)
				return
			}
			if len(evs) > protocol.ResumeLimit {
				evs, recovered = evs[:protocol.ResumeLimit], false
			}
			for _, ev := range evs {
				replay = append(replay, messaging.Marshal(protocol.ServerFrame{Type: protocol.TypeEvent, Epoch: epoch, Event: messaging.WireEvent(ev)}))
				lastSeq = ev.Seq
			}
		}
		resumed.Recovered = &recovered
		if !recovered {
			resumed.NextSeq = lastSeq + 1
		}
	}
	fr := messaging.Marshal(resumed)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.subs.get(key) != sub || c.closed {
		return
	}
	for _, b := range replay {
		if !c.replayRoomLocked(ctx, len(b)) || c.subs.get(key) != sub || !c.enqueueLocked(b) {
			return
		}
	}
	sub.lastSent = lastSeq
	if !c.enqueueLocked(fr) {
		return
	}
	c.releasePendingLocked(sub)
	for _, d := range sub.pending {
		c.deliverLocked(sub, d)
	}
	sub.pending, sub.replaying = nil, false
	c.s.metrics.Resumes.WithLabelValues(resumeOutcome(resumed)).Inc()
}

// replayRoomLocked waits, with c.mu held (released while it waits), until the send queue can take a replayed
// frame of n bytes within half of its bounds, the other half being left to live frames. So a replay goes at the
// pace the client reads it (a resume of a hundred conversations can be megabytes) instead of overflowing the
// queue while the client reads as fast as it can; a client that stops reading is closed by the writer's
// deadline (writeWait), as any other. It reports false when the connection closed or ctx ended meanwhile.
func (c *wsConn) replayRoomLocked(ctx context.Context, n int) bool {
	for !c.closed && c.closing == nil && len(c.queue) > 0 &&
		(len(c.queue) >= maxQueueFrames/2 || c.queueBytes+n > maxQueueBytes/2) {
		if c.room == nil {
			c.room = make(chan struct{})
		}
		room := c.room
		c.mu.Unlock()
		select {
		case <-room:
		case <-ctx.Done():
		}
		c.mu.Lock()
		if ctx.Err() != nil {
			return false
		}
	}
	return !c.closed && c.closing == nil
}

// roomLocked wakes a replay waiting for room in the queue.
func (c *wsConn) roomLocked() {
	if c.room != nil {
		close(c.room)
		c.room = nil
	}
}

func resumeOutcome(f protocol.ServerFrame) string {
	switch {
	case f.Reset:
		return "reset"
	case f.Recovered != nil && !*f.Recovered:
		return "more"
	default:
		return "recovered"
	}
}

func (c *wsConn) unsubscribe(key string) {
	c.mu.Lock()
	if sub := c.subs.get(key); sub != nil {
		c.releasePendingLocked(sub)
	}
	ok := c.subs.del(key)
	c.mu.Unlock()
	if ok {
		c.s.hub.Unsubscribe(key, c)
	}
}

// Deliver implements hub.Subscriber. It never blocks: the frame is queued (or held while the subscription
// replays), duplicates of what was already queued are dropped, and a client whose queue is full is disconnected,
// as is one for which more than maxPending frames of a subscription, or maxPendingBytes of all together, wait
// for replays to end: a replay goes at the client's pace, and what arrives meanwhile is bounded too.
func (c *wsConn) Deliver(d *hub.Delivery) {
	c.mu.Lock()
	defer c.mu.Unlock()
	sub := c.subs.get(d.Topic)
	if sub == nil || c.closed {
		return
	}
	if sub.replaying && d.Seq > 0 {
		n := len(c.frameFor(d))
		if len(sub.pending) >= maxPending || c.pendingB+n > maxPendingBytes {
			c.s.metrics.SlowConsumers.Inc()
			c.kickLocked(protocol.CloseSlowConsumer, "too far behind")
			return
		}
		sub.pending = append(sub.pending, d)
		c.pendingB += n
		return
	}
	c.deliverLocked(sub, d)
}

// releasePendingLocked takes the bytes of sub's held live frames off the connection's count (maxPendingBytes),
// as they are delivered or dropped with the subscription.
func (c *wsConn) releasePendingLocked(sub *subscription) {
	for _, d := range sub.pending {
		c.pendingB -= len(c.frameFor(d))
	}
}

// frameFor is the frame of d this connection's client gets: the agents' or the customers' (nil for none).
func (c *wsConn) frameFor(d *hub.Delivery) []byte {
	if c.authed && c.who.agent == nil {
		return d.Customer
	}
	return d.Agent
}

func (c *wsConn) deliverLocked(sub *subscription, d *hub.Delivery) {
	frame := c.frameFor(d)
	if frame == nil {
		return
	}
	if d.Seq > 0 {
		if d.Seq <= sub.lastSent {
			return // already sent by the replay, or a duplicate publication
		}
		sub.lastSent = d.Seq
	}
	c.enqueueLocked(frame)
}

// send queues a frame built by this connection.
func (c *wsConn) send(f protocol.ServerFrame) {
	b := messaging.Marshal(f)
	c.mu.Lock()
	c.enqueueLocked(b)
	c.mu.Unlock()
}

// enqueueLocked appends a protocol frame to the send queue and makes sure a writer runs. It reports false (and
// closes the connection as a slow consumer) when the queue is full.
func (c *wsConn) enqueueLocked(b []byte) bool {
	return c.enqueueFrameLocked(outFrame{op: ws.OpText, b: b})
}

func (c *wsConn) enqueueFrameLocked(f outFrame) bool {
	if c.closed || c.closing != nil {
		return false
	}
	if len(c.queue) >= maxQueueFrames || c.queueBytes+len(f.b) > maxQueueBytes {
		c.s.metrics.SlowConsumers.Inc()
		c.kickLocked(protocol.CloseSlowConsumer, "the client is not reading fast enough; resume")
		return false
	}
	c.queue = append(c.queue, f)
	c.queueBytes += len(f.b)
	if !c.writing {
		c.writing = true
		c.s.writers.Add(1)
		c.s.work.run(c.writeLoop)
	}
	return true
}

// closeAfter closes the connection once the frames queued so far (an error explaining why) are written.
func (c *wsConn) closeAfter(code int, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.closing != nil {
		return
	}
	c.closing = &closeFrame{code, reason}
	if !c.writing {
		c.writing = true
		c.s.writers.Add(1)
		c.s.work.run(c.writeLoop)
	}
}

// writeLoop writes queued frames in order and exits when the queue is empty: an idle connection has no writer
// goroutine. It is the only goroutine that writes data frames.
func (c *wsConn) writeLoop() {
	defer c.s.writers.Add(-1)
	for {
		c.mu.Lock()
		if len(c.queue) == 0 && c.closing != nil && !c.closed {
			cf := c.closing
			c.writing = false
			c.kickLocked(cf.code, cf.reason)
			c.mu.Unlock()
			return
		}
		if len(c.queue) == 0 || c.closed {
			c.writing = false
			c.mu.Unlock()
			return
		}
		frames := c.queue
		c.queue, c.queueBytes = nil, 0
		c.roomLocked()
		c.mu.Unlock()
		if err := c.writeFrames(frames); err != nil {
			c.Kick(protocol.CloseNormal, "")
			c.mu.Lock()
			c.writing = false
			c.mu.Unlock()
			return
		}
	}
}

// writeFrames writes frames in order, as many in one system call as fit in maxWriteBatch bytes (a frame
// larger than that alone), each call bounded by writeWait. It stops once the close frame is out.
func (c *wsConn) writeFrames(frames []outFrame) error {
	buf := writeBuffers.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 4*maxWriteBatch {
			writeBuffers.Put(buf)
		}
	}()
	scratch := make([]byte, ws.MaxHeaderSize)
	for len(frames) > 0 {
		buf.Reset()
		n, texts := 0, 0
		for ; n < len(frames) && (n == 0 || buf.Len()+len(frames[n].b) <= maxWriteBatch); n++ {
			f := frames[n]
			_ = ws.WriteHeaderBuffer(buf, ws.Header{Fin: true, OpCode: f.op, Length: int64(len(f.b))}, scratch)
			buf.Write(f.b)
			if f.op == ws.OpText {
				texts++
			}
		}
		frames = frames[n:]
		c.wmu.Lock()
		if c.closeSent {
			c.wmu.Unlock()
			return net.ErrClosed
		}
		c.conn.SetWriteDeadline(time.Now().Add(writeWait))
		_, err := c.conn.Write(buf.Bytes())
		c.wmu.Unlock()
		if err != nil {
			return err
		}
		c.s.metrics.FramesSent.Add(float64(texts))
	}
	return nil
}

// Kick implements hub.Kickable: it closes the connection with a close code the client acts on.
func (c *wsConn) Kick(code int, reason string) {
	c.mu.Lock()
	c.kickLocked(code, reason)
	c.mu.Unlock()
}

func (c *wsConn) kickLocked(code int, reason string) {
	if c.closed {
		return
	}
	c.closed = true
	c.queue, c.queueBytes = nil, 0
	c.roomLocked()
	if c.cancelOp != nil {
		c.cancelOp()
	}
	if c.poll != nil {
		c.poll.remove(c) // before the socket is closed: its number is free for the next connection after that
	}
	go c.closeSocket(code, reason)
}

// closeSocket sends the close frame and closes the socket. The close waits for a write in progress, which
// the one-second deadline cuts short for a peer that does not read.
func (c *wsConn) closeSocket(code int, reason string) {
	c.conn.SetWriteDeadline(time.Now().Add(time.Second))
	c.wmu.Lock()
	sent := false
	if !c.closeSent {
		c.closeSent = true
		body := []byte(nil)
		if code != closeNoStatus {
			body = ws.NewCloseFrameBody(ws.StatusCode(code), reason)
		}
		_, err := c.conn.Write(ws.MustCompileFrame(ws.NewCloseFrame(body)))
		sent = err == nil
	}
	c.wmu.Unlock()
	if sent {
		c.linger()
	}
	c.conn.Close()
	c.maybeCleanup()
}

// closeLinger bounds how long a closed connection's socket stays open for its peer to read up to the close
// frame; closeLingerBytes how much of the peer's input it discards meanwhile.
const (
	closeLinger      = 5 * time.Second
	closeLingerBytes = 64 << 10
)

// linger lets the peer read everything up to the close frame before the socket goes. Closing a socket whose
// input holds unread bytes makes the kernel answer with a reset, and a reset makes the peer's kernel drop
// what the peer had not read yet: a slow consumer kicked with 4008, still reading its backlog, answers a
// ping from it with a pong, and the reset that pong met took the close frame away (the client then saw
// "connection reset" instead of why it was dropped). So the server half-closes (its FIN follows the close
// frame) and reads and discards what the peer still sends, until the peer closes its side, closeLinger passes
// or closeLingerBytes arrived. Only when no reader owns the socket's input: a frame reader in progress ends
// soon on its own (the connection is closed), and the socket is closed at once then, as before.
func (c *wsConn) linger() {
	hc, ok := c.conn.(interface{ CloseWrite() error })
	if !ok {
		return
	}
	c.mu.Lock()
	busy := c.reading
	if !busy {
		c.reading = true // keeps the cleanup and the deadline sweep away until the socket is closed
	}
	c.mu.Unlock()
	if busy {
		return
	}
	defer func() {
		c.mu.Lock()
		c.reading = false
		c.mu.Unlock()
	}()
	if hc.CloseWrite() != nil {
		return
	}
	c.conn.SetReadDeadline(time.Now().Add(closeLinger))
	_, _ = io.CopyN(io.Discard, c.conn, closeLingerBytes)
}

// maybeCleanup forgets a closed connection once no goroutine reads it: unsubscribe everything, unregister it.
// It runs once, after the close and after the last frame's handling, so no subscription can come after it.
func (c *wsConn) maybeCleanup() {
	c.mu.Lock()
	if !c.closed || c.reading || c.cleaned {
		c.mu.Unlock()
		return
	}
	c.cleaned = true
	keys := make([]string, 0, c.subs.len())
	for k := range c.subs.all {
		keys = append(keys, k)
	}
	c.subs = subscriptions{}
	who, authed, pl := c.who, c.authed, c.poll
	c.mu.Unlock()
	for _, k := range keys {
		c.s.hub.Unsubscribe(k, c)
	}
	if authed {
		c.s.hub.Unregister(who.principalID(), c)
		if who.agent != nil {
			c.s.msg.AgentDisconnected(who.agent)
		}
	}
	c.s.track(c, false)
	if pl != nil {
		c.s.releasePoller(pl)
	}
}

// heartbeatTargets returns the ids of the connection's conversation and stream subscriptions.
func (c *wsConn) heartbeatTargets() (convs, streams []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, sub := range c.subs.all {
		if sub.conv {
			convs = append(convs, k)
		} else {
			streams = append(streams, k)
		}
	}
	return convs, streams
}

// heartbeat queues a ping and the heads of the connection's subscriptions.
func (c *wsConn) heartbeat(heads map[string]uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || !c.authed {
		if !c.closed {
			c.enqueueFrameLocked(pingFrame)
		}
		return
	}
	mine := make(map[string]uint64, c.subs.len())
	for k := range c.subs.all {
		if h, ok := heads[k]; ok {
			mine[k] = h
		}
	}
	c.enqueueFrameLocked(pingFrame)
	c.enqueueLocked(messaging.Marshal(protocol.ServerFrame{Type: protocol.TypeHeartbeat, Heads: mine}))
}
