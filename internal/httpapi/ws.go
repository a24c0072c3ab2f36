package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/hub"
	"github.com/parley-chat/parley/internal/messaging"
	"github.com/parley-chat/parley/internal/ratelimit"
	"github.com/parley-chat/parley/protocol"
)

// Per-connection limits. The send queue bounds what the server holds for a client that does not read: past it
// the client is disconnected (close 4008) and resumes from its last sequence number, losing nothing.
const (
	maxQueueFrames  = 512
	maxQueueBytes   = 1 << 20
	maxPending      = 2048 // live frames buffered per subscription while its history replays
	writeWait       = 10 * time.Second
	maxBadFrames    = 10  // consecutive malformed frames before the connection is closed
	framesPerSecond = 200 // a guard against floods; the business limits are the per-principal message rates
	frameBurst      = 1000
)

// pingFrame marks a queue slot that the writer turns into a WebSocket ping.
var pingFrame = []byte{}

// closeFrame is a queued close: the writer sends the frames before it, then the close frame, then closes.
type closeFrame struct {
	code   int
	reason string
}

// upgrader keeps per-connection memory small: 1 KiB buffers, and write buffers pooled so an idle connection
// holds none.
var upgrader = websocket.Upgrader{
	ReadBufferSize:  1024,
	WriteBufferSize: 1024,
	WriteBufferPool: &sync.Pool{},
	// Origin is checked by originAllowed before the upgrade, with the rules of the surface (console or site).
	CheckOrigin: func(*http.Request) bool { return true },
}

// wsConn is one WebSocket client: a reader goroutine, and a writer goroutine that exists only while there is
// something to write.
type wsConn struct {
	s      *Server
	ws     *websocket.Conn
	site   *chat.Site // the site named at upgrade (customers)
	origin string
	ip     string
	limit  *ratelimit.Keyed

	mu         sync.Mutex
	p          *auth.Principal
	queue      [][]byte
	queueBytes int
	writing    bool
	closed     bool
	closing    *closeFrame // set by closeAfter: written after the queue drains
	subs       map[string]*subscription
	sendCtx    context.Context
	cancelSend context.CancelFunc
}

// subscription is a connection's position in one conversation or stream.
type subscription struct {
	conv      *chat.Conversation // nil for event streams
	lastSent  uint64             // highest seq queued to the client
	replaying bool               // history is being replayed: live frames wait in pending
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
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	c := &wsConn{s: s, ws: ws, site: site, origin: origin, ip: s.clientIP(r), subs: map[string]*subscription{},
		limit: ratelimit.New(framesPerSecond, frameBurst)}
	c.sendCtx, c.cancelSend = context.WithCancel(context.Background())
	s.track(c, true)
	if p != nil {
		c.authenticated(p, "")
	}
	// The HTTP handler returns; the connection lives on in its reader goroutine, so the server's per-request
	// state (buffers, the handler's stack) is released while the connection is idle.
	go c.readLoop()
}

func (s *Server) pongWait() time.Duration { return s.heartbeat*5/2 + 500*time.Millisecond }

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

// track adds or removes a connection from the server's set (heartbeats, shutdown).
func (s *Server) track(c *wsConn, add bool) {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	if add {
		s.conns[c] = struct{}{}
		s.metrics.Connections.WithLabelValues("websocket").Inc()
	} else if _, ok := s.conns[c]; ok {
		delete(s.conns, c)
		s.metrics.Connections.WithLabelValues("websocket").Dec()
	}
}

func (c *wsConn) authenticated(p *auth.Principal, ref string) {
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
		c.s.msg.AgentConnected(c.sendCtx, p.Agent)
	}
	// The principal and the hello in one step: nothing for an authenticated connection (a heartbeat) can be
	// queued before the hello.
	c.mu.Lock()
	c.p = p
	c.enqueueLocked(hello)
	c.mu.Unlock()
}

func (c *wsConn) principal() *auth.Principal {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.p
}

// readLoop reads frames until the connection ends, then cleans up. Every frame is handled here, in order.
func (c *wsConn) readLoop() {
	defer c.cleanup()
	defer func() {
		if v := recover(); v != nil {
			c.s.metrics.Panics.Inc()
			c.s.log.Error("panic in websocket connection", "panic", v)
			c.Kick(protocol.CloseInternal, "internal error")
		}
	}()
	c.ws.SetReadLimit(protocol.MaxFrameBytes)
	// A live client answers every heartbeat's ping; two and a half intervals without a word means the
	// connection is half-open (a vanished phone, a dead NAT entry), and it is closed.
	deadline := c.s.pongWait()
	c.ws.SetReadDeadline(time.Now().Add(deadline))
	c.ws.SetPongHandler(func(string) error {
		c.ws.SetReadDeadline(time.Now().Add(deadline))
		return nil
	})
	authDeadline := time.Now().Add(protocol.CloseAuthTimeoutSec * time.Second)
	if c.principal() == nil {
		c.ws.SetReadDeadline(authDeadline)
	}
	bad := 0
	for {
		mt, data, err := c.ws.ReadMessage()
		if err != nil {
			c.readFailed(err, authDeadline)
			return
		}
		c.ws.SetReadDeadline(time.Now().Add(deadline))
		if mt != websocket.TextMessage {
			c.Kick(protocol.CloseUnsupported, "frames must be JSON text")
			return
		}
		if !utf8.Valid(data) {
			c.Kick(protocol.CloseInvalidUTF8, "text frame is not valid UTF-8")
			return
		}
		if !c.process(data, &bad) {
			return
		}
	}
}

// process decodes and handles one frame on a goroutine of its own that ends with the frame, while the reader
// waits. The work (JSON, authentication, the store, a replay) grows a goroutine's stack to 8 KiB and more, and
// a parked goroutine keeps the stack it grew: done on the reader, every idle connection would hold that much
// (S3 measured 9.2 KB of stack per idle connection). The reader, parked in ReadMessage between frames, stays
// at its first few KiB. Frames are still handled one at a time, in order.
func (c *wsConn) process(data []byte, bad *int) bool {
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
		done <- c.frame(data, bad)
	}()
	return <-done
}

// frame decodes one frame and dispatches it. It returns false when the connection must end.
func (c *wsConn) frame(data []byte, bad *int) bool {
	var f protocol.ClientFrame
	err := unmarshalStrict(data, &f)
	if ok, _ := c.limit.Allow(""); !ok {
		// Answer with the frame's ids so a client retries exactly what was refused.
		c.send(errorFrame(f.ID, chat.Errorf(chat.CodeRateLimited, "too many frames; slow down"), f.ConversationID, f.ClientMsgID))
		return true
	}
	if err != nil {
		*bad++
		c.sendErr(refOf(data), err)
		if *bad >= maxBadFrames {
			c.Kick(protocol.CloseTooManyErrors, "too many malformed frames")
			return false
		}
		return true
	}
	*bad = 0
	return c.handle(&f)
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

func (c *wsConn) readFailed(err error, authDeadline time.Time) {
	var ne interface{ Timeout() bool }
	switch {
	case errors.Is(err, websocket.ErrReadLimit):
		c.Kick(protocol.CloseTooBig, "frame larger than 16 KiB")
	case errors.As(err, &ne) && ne.Timeout():
		if c.principal() == nil && !time.Now().Before(authDeadline) {
			c.Kick(protocol.CloseUnauthorized, "no auth frame in time")
		} else {
			c.Kick(protocol.ClosePingTimeout, "no pong in time")
		}
	default:
		c.Kick(protocol.CloseNormal, "")
	}
}

// handle dispatches one frame. It returns false when the connection must end.
func (c *wsConn) handle(f *protocol.ClientFrame) bool {
	p := c.principal()
	if f.Type == protocol.TypeAuth {
		if p != nil {
			c.sendErr(f.ID, chat.Errorf(chat.CodeConflict, "already authenticated"))
			return true
		}
		return c.auth(f)
	}
	if p == nil {
		c.sendErr(f.ID, chat.Errorf(chat.CodeUnauthorized, "send an auth frame first"))
		c.closeAfter(protocol.CloseUnauthorized, "not authenticated")
		return false
	}
	ctx := c.sendCtx
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

func (c *wsConn) auth(f *protocol.ClientFrame) bool {
	ctx, cancel := context.WithTimeout(c.sendCtx, 10*time.Second)
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
	c.ws.SetReadDeadline(time.Now().Add(c.s.pongWait()))
	c.authenticated(p, f.ID)
	return true
}

func (c *wsConn) sendMessage(ctx context.Context, p *auth.Principal, f *protocol.ClientFrame) {
	pending := c.s.msg.SendAsync(ctx, p, messaging.SendInput{ConversationID: f.ConversationID,
		ClientMsgID: f.ClientMsgID, Body: f.Body, Type: f.MsgType})
	ref := f.ID
	clientID, convID := f.ClientMsgID, f.ConversationID
	// Wait for the commit off the reader goroutine, so a client can pipeline sends; they were queued in order.
	go func() {
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		res, err := pending.Wait(wctx)
		if err != nil {
			c.send(errorFrame(ref, err, convID, clientID))
			return
		}
		c.send(c.s.msg.Ack(ref, res))
	}()
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
func (c *wsConn) subscribe(ctx context.Context, p *auth.Principal, f *protocol.ClientFrame) {
	if len(f.Subscriptions) == 0 || len(f.Subscriptions) > 500 {
		c.sendErr(f.ID, chat.Invalid("subscriptions", "give 1 to 500 subscriptions"))
		return
	}
	for _, cur := range f.Subscriptions {
		c.resume(ctx, p, f.ID, cur)
		if p.Customer != nil && cur.ConversationID != "" {
			// A customer waiting in the queue learns their place at once; later changes are pushed.
			if conv, err := c.s.msg.Conversation(ctx, p, cur.ConversationID); err == nil {
				if qf := c.s.msg.QueueFrame(ctx, conv); qf != nil {
					c.send(*qf)
				}
			}
		}
	}
}

func (c *wsConn) resume(ctx context.Context, p *auth.Principal, ref string, cur protocol.Cursor) {
	key := cur.Key()
	notFound := func() {
		fr := errorFrame(ref, chat.ErrNotFound("subscription"), cur.ConversationID, "")
		fr.Stream = cur.Stream
		c.send(fr)
	}
	if (cur.ConversationID == "") == (cur.Stream == "") || !chat.ValidSeqCursor(int64(min(cur.LastSeq, 1<<62))) {
		c.sendErr(ref, chat.Invalid("subscriptions", "each subscription names a conversation_id or a stream, with last_seq"))
		return
	}
	var conv *chat.Conversation
	if cur.ConversationID != "" {
		cv, err := c.s.msg.Conversation(ctx, p, cur.ConversationID)
		if err != nil {
			if chat.IsCode(err, chat.CodeNotFound) {
				notFound()
			} else {
				c.sendErr(ref, err)
			}
			return
		}
		conv = cv
	} else if !messaging.CanSubscribeStream(p, cur.Stream) {
		notFound()
		return
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	if len(c.subs) >= 1000 && c.subs[key] == nil {
		c.mu.Unlock()
		c.sendErr(ref, chat.Invalid("subscriptions", "a connection may hold at most 1000 subscriptions"))
		return
	}
	sub := &subscription{conv: conv, lastSent: cur.LastSeq, replaying: true}
	c.subs[key] = sub
	c.mu.Unlock()
	c.s.hub.Subscribe(key, c)

	epoch := c.s.msg.Epoch()
	resumed := protocol.ServerFrame{Type: protocol.TypeResumed, Ref: ref, Epoch: epoch, ConversationID: cur.ConversationID, Stream: cur.Stream}
	var replay [][]byte
	var lastSeq uint64
	heads, err := c.s.msg.Heads(ctx, idsIf(conv != nil, key), idsIf(conv == nil, key))
	if err != nil {
		c.unsubscribe(key)
		c.sendErr(ref, err)
		return
	}
	head := heads[key]
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
	if c.subs[key] != sub || c.closed {
		return
	}
	for _, b := range replay {
		if !c.enqueueLocked(b) {
			return
		}
	}
	sub.lastSent = lastSeq
	if !c.enqueueLocked(fr) {
		return
	}
	for _, d := range sub.pending {
		c.deliverLocked(sub, d)
	}
	sub.pending, sub.replaying = nil, false
	c.s.metrics.Resumes.WithLabelValues(resumeOutcome(resumed)).Inc()
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

func idsIf(ok bool, id string) []string {
	if ok {
		return []string{id}
	}
	return nil
}

func (c *wsConn) unsubscribe(key string) {
	c.mu.Lock()
	_, ok := c.subs[key]
	delete(c.subs, key)
	c.mu.Unlock()
	if ok {
		c.s.hub.Unsubscribe(key, c)
	}
}

// Deliver implements hub.Subscriber. It never blocks: the frame is queued (or held while the subscription
// replays), duplicates of what was already queued are dropped, and a client whose queue is full is disconnected.
func (c *wsConn) Deliver(d *hub.Delivery) {
	c.mu.Lock()
	defer c.mu.Unlock()
	sub := c.subs[d.Topic]
	if sub == nil || c.closed {
		return
	}
	if sub.replaying && d.Seq > 0 {
		if len(sub.pending) >= maxPending {
			c.s.metrics.SlowConsumers.Inc()
			c.kickLocked(protocol.CloseSlowConsumer, "too far behind")
			return
		}
		sub.pending = append(sub.pending, d)
		return
	}
	c.deliverLocked(sub, d)
}

func (c *wsConn) deliverLocked(sub *subscription, d *hub.Delivery) {
	frame := d.Agent
	if c.p != nil && c.p.Customer != nil {
		frame = d.Customer
	}
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

// enqueueLocked appends a frame to the send queue and makes sure a writer runs. It reports false (and closes
// the connection as a slow consumer) when the queue is full.
func (c *wsConn) enqueueLocked(b []byte) bool {
	if c.closed || c.closing != nil {
		return false
	}
	if len(c.queue) >= maxQueueFrames || c.queueBytes+len(b) > maxQueueBytes {
		c.s.metrics.SlowConsumers.Inc()
		c.kickLocked(protocol.CloseSlowConsumer, "the client is not reading fast enough; resume")
		return false
	}
	c.queue = append(c.queue, b)
	c.queueBytes += len(b)
	if !c.writing {
		c.writing = true
		go c.writeLoop()
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
		go c.writeLoop()
	}
}

// writeLoop writes queued frames in order and exits when the queue is empty: an idle connection has no writer
// goroutine. It is the only goroutine that writes data frames.
func (c *wsConn) writeLoop() {
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
		c.mu.Unlock()
		for _, b := range frames {
			c.ws.SetWriteDeadline(time.Now().Add(writeWait))
			var err error
			if len(b) == 0 && b != nil {
				err = c.ws.WriteMessage(websocket.PingMessage, nil)
			} else {
				err = c.ws.WriteMessage(websocket.TextMessage, b)
				if err == nil {
					c.s.metrics.FramesSent.Inc()
				}
			}
			if err != nil {
				c.Kick(protocol.CloseNormal, "")
				c.mu.Lock()
				c.writing = false
				c.mu.Unlock()
				return
			}
		}
	}
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
	c.cancelSend()
	// WriteControl may be called concurrently with the writer; the deadline bounds a stuck peer.
	go func() {
		_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
		c.ws.Close()
	}()
}

// cleanup runs when the reader ends: unsubscribe everything and forget the connection.
func (c *wsConn) cleanup() {
	c.mu.Lock()
	if c.closing == nil {
		c.kickLocked(protocol.CloseNormal, "")
	} // else the writer sends what is queued and the close frame, then closes

	keys := make([]string, 0, len(c.subs))
	for k := range c.subs {
		keys = append(keys, k)
	}
	c.subs = map[string]*subscription{}
	p := c.p
	c.mu.Unlock()
	for _, k := range keys {
		c.s.hub.Unsubscribe(k, c)
	}
	if p != nil {
		c.s.hub.Unregister(p.ID(), c)
		if p.Agent != nil {
			c.s.msg.AgentDisconnected(p.Agent)
		}
	}
	c.s.track(c, false)
}

// heartbeatTargets returns the ids of the connection's conversation and stream subscriptions.
func (c *wsConn) heartbeatTargets() (convs, streams []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, sub := range c.subs {
		if sub.conv != nil {
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
	if c.closed || c.p == nil {
		if !c.closed {
			c.enqueueLocked(pingFrame)
		}
		return
	}
	mine := make(map[string]uint64, len(c.subs))
	for k := range c.subs {
		if h, ok := heads[k]; ok {
			mine[k] = h
		}
	}
	c.enqueueLocked(pingFrame)
	c.enqueueLocked(messaging.Marshal(protocol.ServerFrame{Type: protocol.TypeHeartbeat, Heads: mine}))
}
