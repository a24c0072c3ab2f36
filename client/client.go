package client

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"

	"github.com/parley-chat/parley/protocol"
)

// Transports.
const (
	WebSocket = "ws"
	LongPoll  = "poll"
)

// Options configure a real-time client.
type Options struct {
	BaseURL   string // http://host:port
	Token     string // agent session token or visitor token
	SiteKey   string // the site a customer belongs to; required when Origin is set for a customer
	Origin    string // Origin header to send (browsers send their page's origin; apps send none)
	Transport string // WebSocket (default) or LongPoll
	HTTP      *http.Client
	Dialer    *websocket.Dialer // custom dialing (e.g. a local source address); nil = default

	// Handlers run on the client's single receive goroutine, in order. OnMessage sees each message of a
	// subscribed conversation exactly once, in seq order (hidden entries included, with Hidden set).
	OnMessage func(protocol.Message)
	OnEvent   func(protocol.Event)
	OnFrame   func(protocol.ServerFrame) // everything else: hello, typing, read receipts, activity, resumed
	OnReset   func(key string, head uint64)
	OnState   func(connected bool)

	AckTimeout time.Duration // resend an unacknowledged message after this long (default 10 s), then after 2, 4, 8 times it
	MinBackoff time.Duration // reconnect backoff bounds (default 100 ms .. 5 s), full jitter
	MaxBackoff time.Duration
	PollWait   time.Duration // long-poll hold (default 25 s)
}

// Client keeps one real-time connection alive — reconnecting with jittered backoff, re-authenticating,
// resuming every subscription and resending every unacknowledged message — until Close.
type Client struct {
	o   Options
	api *API

	mu        sync.Mutex
	epoch     string
	cursors   map[string]*cursor
	pending   map[string]*pendingSend
	order     []string // pending client message ids in send order
	conn      *websocket.Conn
	connected bool
	wake      chan struct{} // poll mode: a new subscription or send

	writeMu sync.Mutex

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	stats Stats
}

// Stats counts what the client saw; tests and the benchmark read them.
type Stats struct {
	Reconnects      int
	DuplicateFrames int // frames dropped because their seq was already applied
	Gaps            int // times a gap was found and filled
	Resends         int
}

type cursor struct {
	stream    bool
	last      uint64
	resyncing bool
}

type pendingSend struct {
	frame protocol.ClientFrame
	sent  time.Time
	late  int // resends on this connection for want of an acknowledgement: each waits twice as long
	done  chan sendResult
}

type sendResult struct {
	ack *protocol.ServerFrame
	err error
}

// Dial starts a client and waits until its first connection is authenticated (or ctx ends). After that it
// reconnects by itself.
func Dial(ctx context.Context, o Options) (*Client, error) {
	if o.Transport == "" {
		o.Transport = WebSocket
	}
	if o.AckTimeout <= 0 {
		o.AckTimeout = 10 * time.Second
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 100 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 5 * time.Second
	}
	if o.PollWait <= 0 {
		o.PollWait = 25 * time.Second
	}
	c := &Client{o: o, cursors: map[string]*cursor{}, pending: map[string]*pendingSend{}, done: make(chan struct{}),
		wake: make(chan struct{}, 1),
		api:  &API{BaseURL: o.BaseURL, Token: o.Token, Origin: o.Origin, HTTP: o.HTTP}}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	ready := make(chan error, 1)
	if o.Transport == LongPoll {
		go c.pollLoop(ready)
	} else {
		go c.wsLoop(ready)
	}
	select {
	case err := <-ready:
		if err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	case <-ctx.Done():
		c.Close()
		return nil, ctx.Err()
	}
}

// API returns the REST client using the same credential.
func (c *Client) API() *API { return c.api }

// Close stops the client. Unacknowledged sends fail with an error.
func (c *Client) Close() {
	c.cancel()
	c.mu.Lock()
	if c.conn != nil {
		c.conn.Close()
	}
	c.mu.Unlock()
	<-c.done
}

// Stats returns a copy of the counters.
func (c *Client) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// Epoch returns the store epoch the client's positions refer to.
func (c *Client) Epoch() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.epoch
}

// LastSeq returns the last applied sequence number of a conversation or stream.
func (c *Client) LastSeq(key string) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur := c.cursors[key]; cur != nil {
		return cur.last
	}
	return 0
}

// Subscribe follows a conversation from after lastSeq (0: from the start). Messages after lastSeq are
// delivered to OnMessage, in order; the subscription survives reconnects.
func (c *Client) Subscribe(conversationID string, lastSeq uint64) error {
	return c.subscribe(conversationID, false, lastSeq)
}

// SubscribeStream follows an agent or team event stream ("agent:<id>", "team:<id>").
func (c *Client) SubscribeStream(stream string, lastSeq uint64) error {
	return c.subscribe(stream, true, lastSeq)
}

func (c *Client) subscribe(key string, stream bool, last uint64) error {
	c.mu.Lock()
	if cur := c.cursors[key]; cur != nil {
		c.mu.Unlock()
		return nil
	}
	c.cursors[key] = &cursor{stream: stream, last: last, resyncing: true}
	connected := c.connected
	c.mu.Unlock()
	c.poke()
	if connected && c.o.Transport != LongPoll {
		return c.write(protocol.ClientFrame{Type: protocol.TypeSubscribe, Subscriptions: []protocol.Cursor{c.cursorFrame(key)}})
	}
	return nil
}

func (c *Client) cursorFrame(key string) protocol.Cursor {
	c.mu.Lock()
	defer c.mu.Unlock()
	cur := c.cursors[key]
	f := protocol.Cursor{Epoch: c.epoch, LastSeq: cur.last}
	if cur.stream {
		f.Stream = key
	} else {
		f.ConversationID = key
	}
	return f
}

// NewID returns a fresh client message id: a UUIDv7 (RFC 9562), time-ordered, so that the server's
// idempotency index, which leads with the client message id, takes the entries of a commit's many
// conversations on the page it wrote last instead of one page each (docs/protocol.md).
func NewID() string {
	return uuid.Must(uuid.NewV7()).String()
}

// Send sends a text message and waits for its acknowledgement, retrying under one client message id across
// reconnects until it is acknowledged, a terminal error comes back, or ctx ends.
func (c *Client) Send(ctx context.Context, conversationID, body string) (*protocol.ServerFrame, error) {
	return c.SendID(ctx, conversationID, NewID(), body, "")
}

// SendID is Send with the caller's client message id and message type ("" or "text", or "note").
func (c *Client) SendID(ctx context.Context, conversationID, clientMsgID, body, msgType string) (*protocol.ServerFrame, error) {
	p := &pendingSend{frame: protocol.ClientFrame{Type: protocol.TypeSend, ID: clientMsgID, ConversationID: conversationID,
		ClientMsgID: clientMsgID, Body: body, MsgType: msgType}, done: make(chan sendResult, 1)}
	c.mu.Lock()
	if c.ctx.Err() != nil {
		c.mu.Unlock()
		return nil, errors.New("parley: client closed")
	}
	if _, dup := c.pending[clientMsgID]; dup {
		c.mu.Unlock()
		return nil, fmt.Errorf("parley: client message id %s is already being sent", clientMsgID)
	}
	c.pending[clientMsgID] = p
	c.order = append(c.order, clientMsgID)
	connected := c.connected
	if connected && c.o.Transport != LongPoll {
		// Under c.mu: resendOverdue reads it as soon as p is in pending.
		p.sent = time.Now()
	}
	c.mu.Unlock()
	if c.o.Transport == LongPoll {
		go c.restSend(p)
	} else if connected {
		_ = c.write(p.frame) // a failed write is retried after the reconnect
	}
	select {
	case r := <-p.done:
		return r.ack, r.err
	case <-ctx.Done():
		c.forget(clientMsgID)
		return nil, ctx.Err()
	case <-c.ctx.Done():
		return nil, errors.New("parley: client closed")
	}
}

func (c *Client) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.pending, id)
	if i := slices.Index(c.order, id); i >= 0 {
		c.order = slices.Delete(c.order, i, i+1)
	}
}

func (c *Client) finish(id string, r sendResult) {
	c.mu.Lock()
	p := c.pending[id]
	c.mu.Unlock()
	if p == nil {
		return
	}
	c.forget(id)
	p.done <- r
}

// Typing tells the other side this client is typing.
func (c *Client) Typing(conversationID string) error {
	if c.o.Transport == LongPoll {
		_, err := c.api.Do(c.ctx, http.MethodPost, "/api/v1/conversations/"+url.PathEscape(conversationID)+"/typing", nil, nil)
		return err
	}
	return c.write(protocol.ClientFrame{Type: protocol.TypeTyping, ConversationID: conversationID})
}

// MarkRead moves this side's read cursor of a conversation to seq.
func (c *Client) MarkRead(conversationID string, seq uint64) error {
	if c.o.Transport == LongPoll {
		return c.api.MarkRead(c.ctx, conversationID, seq)
	}
	return c.write(protocol.ClientFrame{Type: protocol.TypeRead, ConversationID: conversationID, Seq: seq})
}

// WriteRaw sends an arbitrary frame (tests use it for malformed input).
func (c *Client) WriteRaw(b []byte) error {
	c.mu.Lock()
	conn := c.conn
	c.mu.Unlock()
	if conn == nil {
		return errors.New("parley: not connected")
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return conn.WriteMessage(websocket.TextMessage, b)
}

// Disconnect drops the current connection as a network fault would; the client reconnects and resumes.
func (c *Client) Disconnect() {
	c.mu.Lock()
	if c.conn != nil {
		c.conn.Close()
	}
	c.mu.Unlock()
}

func (c *Client) write(f protocol.ClientFrame) error {
	b, err := f.AppendJSON(make([]byte, 0, 128+len(f.Body)))
	if err != nil {
		return err
	}
	return c.WriteRaw(b)
}

func (c *Client) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// backoff returns a full-jitter delay for attempt n: uniform in [0, min(max, min*2^n)], never below min/2.
func (c *Client) backoff(n int) time.Duration {
	ceil := c.o.MinBackoff << min(n, 16)
	if ceil > c.o.MaxBackoff || ceil <= 0 {
		ceil = c.o.MaxBackoff
	}
	r, _ := rand.Int(rand.Reader, big.NewInt(int64(ceil)))
	return max(time.Duration(r.Int64()), c.o.MinBackoff/2)
}

func (c *Client) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.ctx.Done():
		return false
	}
}

func (c *Client) setConnected(conn *websocket.Conn, ok bool) {
	c.mu.Lock()
	c.conn, c.connected = conn, ok
	c.mu.Unlock()
	if c.o.OnState != nil {
		c.o.OnState(ok)
	}
}

// terminal reports whether an error code ends a send: retrying cannot help.
func terminal(code string) bool {
	switch code {
	case "unavailable", "rate_limited", "shutting_down", "internal", "":
		return false
	}
	return true
}

// wsLoop connects, serves, and reconnects until Close.
func (c *Client) wsLoop(ready chan<- error) {
	defer close(c.done)
	defer c.failPending()
	first := true
	for attempt := 0; c.ctx.Err() == nil; attempt++ {
		conn, err := c.connect()
		if err != nil {
			if first && isAuthError(err) {
				ready <- err
				return
			}
			if !c.sleep(c.backoff(attempt)) {
				if first {
					ready <- c.ctx.Err()
				}
				return
			}
			continue
		}
		attempt = 0
		if first {
			ready <- nil
			first = false
		} else {
			c.mu.Lock()
			c.stats.Reconnects++
			c.mu.Unlock()
		}
		c.serve(conn)
		c.setConnected(nil, false)
		if c.ctx.Err() != nil {
			return
		}
		if !c.sleep(c.backoff(0)) {
			return
		}
	}
}

func isAuthError(err error) bool {
	var e *Error
	return errors.As(err, &e) && (e.Code == "unauthorized" || e.Code == "origin_refused" || e.Status == 403 || e.Status == 404)
}

// connect dials, authenticates and resubscribes; then resends what is unacknowledged.
func (c *Client) connect() (*websocket.Conn, error) {
	u, err := url.Parse(strings.TrimRight(c.o.BaseURL, "/") + "/api/v1/ws")
	if err != nil {
		return nil, err
	}
	u.Scheme = strings.Replace(u.Scheme, "http", "ws", 1)
	if c.o.SiteKey != "" {
		u.RawQuery = "site=" + url.QueryEscape(c.o.SiteKey)
	}
	h := http.Header{}
	if c.o.Origin != "" {
		h.Set("Origin", c.o.Origin)
	}
	d := c.o.Dialer
	if d == nil {
		d = &websocket.Dialer{HandshakeTimeout: 10 * time.Second, ReadBufferSize: 1024, WriteBufferSize: 1024}
	}
	ctx, cancel := context.WithTimeout(c.ctx, 15*time.Second)
	defer cancel()
	conn, resp, err := d.DialContext(ctx, u.String(), h)
	if err != nil {
		if resp != nil && resp.StatusCode >= 400 {
			var eb struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&eb)
			return nil, &Error{Status: resp.StatusCode, Code: eb.Error.Code, Message: eb.Error.Message}
		}
		return nil, err
	}
	conn.SetReadLimit(4 << 20)
	conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := conn.WriteJSON(protocol.ClientFrame{Type: protocol.TypeAuth, Token: c.o.Token}); err != nil {
		conn.Close()
		return nil, err
	}
	conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	var hello protocol.ServerFrame
	if err := conn.ReadJSON(&hello); err != nil {
		conn.Close()
		return nil, err
	}
	if hello.Type != protocol.TypeHello {
		conn.Close()
		return nil, &Error{Status: 401, Code: hello.Code, Message: hello.Error}
	}
	conn.SetReadDeadline(time.Time{})
	c.mu.Lock()
	if c.epoch == "" {
		c.epoch = hello.Epoch
	}
	var subs []protocol.Cursor
	for key := range c.cursors {
		c.cursors[key].resyncing = true
	}
	c.mu.Unlock()
	c.setConnected(conn, true)
	for key := range c.snapshotKeys() {
		subs = append(subs, c.cursorFrame(key))
	}
	if c.o.OnFrame != nil {
		c.o.OnFrame(hello)
	}
	for _, batch := range subscribeBatches(subs) {
		if err := c.write(protocol.ClientFrame{Type: protocol.TypeSubscribe, Subscriptions: batch}); err != nil {
			conn.Close()
			return nil, err
		}
	}
	c.resendAll()
	return conn, nil
}

// subscribeBatches splits cursors into subscribe frames that the server accepts: at most
// protocol.MaxSubscriptionsPerFrame cursors, and small enough that the frame stays within protocol.MaxFrameBytes
// (a cursor is ~110 bytes of JSON, so ~140 fit). A longer frame is closed with 1009 before it is read, and the
// client would reconnect and send it again forever.
func subscribeBatches(subs []protocol.Cursor) [][]protocol.Cursor {
	const room = protocol.MaxFrameBytes - 256 // the frame's own fields, and headroom
	var out [][]protocol.Cursor
	start, size := 0, 0
	for i, cur := range subs {
		b, _ := json.Marshal(cur)
		n := len(b) + 1 // the comma
		if i > start && (size+n > room || i-start == protocol.MaxSubscriptionsPerFrame) {
			out = append(out, subs[start:i])
			start, size = i, 0
		}
		size += n
	}
	if start < len(subs) {
		out = append(out, subs[start:])
	}
	return out
}

func (c *Client) snapshotKeys() map[string]bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]bool, len(c.cursors))
	for k := range c.cursors {
		out[k] = true
	}
	return out
}

// resendAll resends every unacknowledged message, in the order they were first sent.
func (c *Client) resendAll() {
	for _, f := range c.allPending(time.Now()) {
		if c.write(f) != nil {
			return
		}
	}
}

// serve reads frames until the connection ends. It also resends sends whose acknowledgement is overdue.
func (c *Client) serve(conn *websocket.Conn) {
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		t := time.NewTicker(c.o.AckTimeout / 2)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				c.resendOverdue()
			}
		}
	}()
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			return
		}
		var f protocol.ServerFrame
		if !protocol.DecodeServerFrame(data, &f) {
			f = protocol.ServerFrame{}
			if err := json.Unmarshal(data, &f); err != nil {
				continue
			}
		}
		c.handle(f)
	}
}

func (c *Client) resendOverdue() {
	for _, f := range c.overdue(time.Now()) {
		if c.write(f) != nil {
			return
		}
	}
}

// allPending returns the frames of every unacknowledged send, in the order they were first sent, marked as
// written at now on a new connection: each waits AckTimeout again, whatever backoff it had reached.
func (c *Client) allPending(now time.Time) []protocol.ClientFrame {
	c.mu.Lock()
	defer c.mu.Unlock()
	var frames []protocol.ClientFrame
	for _, id := range c.order {
		if p := c.pending[id]; p != nil {
			p.sent, p.late = now, 0
			frames = append(frames, p.frame)
		}
	}
	c.stats.Resends += len(frames)
	return frames
}

// maxLateShift caps the backoff of overdue resends: AckTimeout, then 2, 4 and at most 8 times it (10, 20, 40, 80 s
// by default).
const maxLateShift = 3

// overdue returns the frames of the sends whose acknowledgement is overdue at now, in the order they were first
// sent, and marks them resent. A send is overdue AckTimeout after it was written, and after each resend for
// that reason twice as long as before (exponential backoff, RELIABILITY.md's client rule): a server that is
// behind still holds the first copy and answers it, and a copy every AckTimeout only adds to its queue (the S6
// runs that collapsed on a saturated machine carried ~75,000 such resends, docs/benchmarks.md).
func (c *Client) overdue(now time.Time) []protocol.ClientFrame {
	c.mu.Lock()
	defer c.mu.Unlock()
	var frames []protocol.ClientFrame
	for _, id := range c.order {
		p := c.pending[id]
		if p == nil || p.sent.IsZero() || now.Sub(p.sent) <= c.o.AckTimeout<<min(p.late, maxLateShift) {
			continue
		}
		p.sent = now
		p.late++
		frames = append(frames, p.frame)
		c.stats.Resends++
	}
	return frames
}

// handle applies one server frame.
func (c *Client) handle(f protocol.ServerFrame) {
	switch f.Type {
	case protocol.TypeAck:
		c.finish(f.ClientMsgID, sendResult{ack: &f})
	case protocol.TypeError:
		if f.ClientMsgID != "" {
			if terminal(f.Code) {
				c.finish(f.ClientMsgID, sendResult{err: &Error{Status: 0, Code: f.Code, Message: f.Error, Field: f.Field}})
			} else {
				go func(id string) { // retry after a pause; the id keeps it idempotent
					if c.sleep(c.backoff(2)) {
						c.mu.Lock()
						p := c.pending[id]
						c.mu.Unlock()
						if p != nil {
							c.write(p.frame)
						}
					}
				}(f.ClientMsgID)
			}
			return
		}
		if c.o.OnFrame != nil {
			c.o.OnFrame(f)
		}
	case protocol.TypeMessage:
		if f.Message != nil {
			c.applyMessage(*f.Message)
		}
	case protocol.TypeEvent:
		if f.Event != nil {
			c.applyEvent(*f.Event)
		}
	case protocol.TypeResumed:
		c.resumed(f)
	case protocol.TypeHeartbeat:
		for key, head := range f.Heads {
			c.mu.Lock()
			cur := c.cursors[key]
			behind := cur != nil && !cur.resyncing && head > cur.last
			if behind {
				cur.resyncing = true
				c.stats.Gaps++
			}
			c.mu.Unlock()
			if behind {
				c.write(protocol.ClientFrame{Type: protocol.TypeSubscribe, Subscriptions: []protocol.Cursor{c.cursorFrame(key)}})
			}
		}
	default:
		if c.o.OnFrame != nil {
			c.o.OnFrame(f)
		}
	}
}

// applyMessage applies the receive rule: next in sequence → deliver; already seen → drop; beyond the next →
// a gap: resubscribe from the last applied seq, and the server replays what is missing in order.
func (c *Client) applyMessage(m protocol.Message) {
	if c.advance(m.ConversationID, m.Seq) && c.o.OnMessage != nil {
		c.o.OnMessage(m)
	}
}

func (c *Client) applyEvent(e protocol.Event) {
	if c.advance(e.Stream, e.Seq) && c.o.OnEvent != nil {
		c.o.OnEvent(e)
	}
}

func (c *Client) advance(key string, seq uint64) bool {
	c.mu.Lock()
	cur := c.cursors[key]
	if cur == nil {
		c.mu.Unlock()
		return false
	}
	switch {
	case seq <= cur.last:
		c.stats.DuplicateFrames++
		c.mu.Unlock()
		return false
	case seq == cur.last+1:
		cur.last = seq
		c.mu.Unlock()
		return true
	}
	// A gap. While a resync is under way the replay will bring everything in order; otherwise start one.
	start := !cur.resyncing
	if start {
		cur.resyncing = true
		c.stats.Gaps++
	}
	c.mu.Unlock()
	if start && c.o.Transport != LongPoll {
		c.write(protocol.ClientFrame{Type: protocol.TypeSubscribe, Subscriptions: []protocol.Cursor{c.cursorFrame(key)}})
	}
	return false
}

func (c *Client) resumed(f protocol.ServerFrame) {
	key := f.ConversationID
	if key == "" {
		key = f.Stream
	}
	c.mu.Lock()
	cur := c.cursors[key]
	if cur == nil {
		c.mu.Unlock()
		return
	}
	reset := f.Reset
	if reset {
		cur.last = f.HeadSeq
		c.epoch = f.Epoch
	}
	more := f.Recovered != nil && !*f.Recovered
	cur.resyncing = more
	c.mu.Unlock()
	if reset && c.o.OnReset != nil {
		c.o.OnReset(key, f.HeadSeq)
	}
	if more {
		// More than the server replays at once: ask again from where the replay ended.
		c.write(protocol.ClientFrame{Type: protocol.TypeSubscribe, Subscriptions: []protocol.Cursor{c.cursorFrame(key)}})
	}
	if c.o.OnFrame != nil {
		c.o.OnFrame(f)
	}
}

func (c *Client) failPending() {
	c.mu.Lock()
	ps := make([]*pendingSend, 0, len(c.pending))
	for _, p := range c.pending {
		ps = append(ps, p)
	}
	c.pending, c.order = map[string]*pendingSend{}, nil
	c.mu.Unlock()
	for _, p := range ps {
		p.done <- sendResult{err: errors.New("parley: client closed")}
	}
}
