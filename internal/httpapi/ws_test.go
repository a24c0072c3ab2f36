package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/parley-chat/parley/internal/httpapi"
	"github.com/parley-chat/parley/protocol"
)

// wsModes runs a test against both ways the server reads WebSocket connections: the poller (epoll, Linux),
// where an idle connection has no goroutine, and a reader goroutine per connection (other systems).
func wsModes(t *testing.T, args []string, test func(t *testing.T, a *api)) {
	for _, mode := range []string{"poller", "goroutine"} {
		t.Run(mode, func(t *testing.T) {
			a := startAPI(t, "sqlite", apiOptions{args: args})
			if mode == "goroutine" {
				httpapi.UseReaderGoroutines(a.App.HTTP)
			}
			test(t, a)
		})
	}
}

// rawConn is a WebSocket client that writes exactly the bytes a test wants and reads the server's frames one
// by one, answering nothing on its own (no pongs).
type rawConn struct {
	t    *testing.T
	conn net.Conn
	br   *bufio.Reader
}

func dialWS(t *testing.T, a *api) *rawConn {
	t.Helper()
	conn, br, _, err := ws.Dial(context.Background(), "ws"+strings.TrimPrefix(a.URL, "http")+"/api/v1/ws")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if br == nil {
		br = bufio.NewReader(conn)
	}
	return &rawConn{t: t, conn: conn, br: br}
}

// encode returns one client frame: masked, as RFC 6455 requires of clients.
func encode(op ws.OpCode, fin bool, payload []byte) []byte {
	var b bytes.Buffer
	f := ws.MaskFrame(ws.NewFrame(op, fin, bytes.Clone(payload)))
	if err := ws.WriteFrame(&b, f); err != nil {
		panic(err)
	}
	return b.Bytes()
}

func textFrame(v any) []byte {
	b, _ := json.Marshal(v)
	return encode(ws.OpText, true, b)
}

func (r *rawConn) write(b []byte) {
	r.t.Helper()
	if _, err := r.conn.Write(b); err != nil {
		r.t.Fatal(err)
	}
}

// next returns the server's next frame. The read deadline only keeps a broken server from hanging the test.
func (r *rawConn) next() (ws.OpCode, []byte) {
	r.t.Helper()
	r.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	h, err := ws.ReadHeader(r.br)
	if err != nil {
		r.t.Fatalf("read frame header: %v", err)
	}
	p := make([]byte, h.Length)
	if _, err := io.ReadFull(r.br, p); err != nil {
		r.t.Fatalf("read frame payload: %v", err)
	}
	if h.Masked || !h.Fin {
		r.t.Fatalf("server frame masked %v, fin %v", h.Masked, h.Fin)
	}
	return h.OpCode, p
}

// nextFrame returns the next protocol frame, skipping pings and heartbeats.
func (r *rawConn) nextFrame() protocol.ServerFrame {
	r.t.Helper()
	for {
		op, p := r.next()
		switch op {
		case ws.OpPing:
			continue
		case ws.OpText:
			var f protocol.ServerFrame
			if err := json.Unmarshal(p, &f); err != nil {
				r.t.Fatalf("server frame %q: %v", p, err)
			}
			if f.Type == protocol.TypeHeartbeat {
				continue
			}
			return f
		default:
			r.t.Fatalf("unexpected frame %v %q", op, p)
		}
	}
}

// closed reads until the server's close frame and returns its code and reason.
func (r *rawConn) closed() (int, string) {
	r.t.Helper()
	for {
		op, p := r.next()
		if op != ws.OpClose {
			continue
		}
		if len(p) < 2 {
			return 1005, ""
		}
		return int(binary.BigEndian.Uint16(p)), string(p[2:])
	}
}

func (r *rawConn) auth(token string) {
	r.t.Helper()
	r.write(textFrame(protocol.ClientFrame{Type: protocol.TypeAuth, ID: "a1", Token: token}))
	if f := r.nextFrame(); f.Type != protocol.TypeHello || f.Ref != "a1" {
		r.t.Fatalf("expected hello, got %+v", f)
	}
}

// A frame that arrives in several TCP segments is put together; many frames in one segment are all handled,
// in order, a fragmented message among them, with a ping between its fragments answered.
func TestWebSocketFramesAcrossAndWithinWrites(t *testing.T) {
	wsModes(t, nil, func(t *testing.T, a *api) {
		token := a.login("admin@example.com").Token
		c := dialWS(t, a)
		payload, _ := json.Marshal(protocol.ClientFrame{Type: protocol.TypeAuth, ID: "a1", Token: token})
		auth := encode(ws.OpText, true, payload)
		// One byte of header, the rest of the header, then the payload in three pieces.
		hdr := len(auth) - len(payload)
		pieces := [][]byte{auth[:1], auth[1:hdr], auth[hdr : hdr+10], auth[hdr+10 : hdr+30], auth[hdr+30:]}
		for _, p := range pieces {
			c.write(p)
			time.Sleep(20 * time.Millisecond) // separate segments (Go sets TCP_NODELAY)
		}
		if f := c.nextFrame(); f.Type != protocol.TypeHello || f.Ref != "a1" {
			t.Fatalf("after a split auth frame: %+v", f)
		}

		var batch []byte
		const n = 40
		for i := 0; i < n; i++ {
			batch = append(batch, textFrame(protocol.ClientFrame{Type: protocol.TypePing, ID: fmt.Sprint("p", i)})...)
		}
		frag := []byte(`{"type":"ping","id":"fragmented"}`)
		batch = append(batch, encode(ws.OpText, false, frag[:10])...)
		batch = append(batch, encode(ws.OpPing, true, []byte("hi"))...)
		batch = append(batch, encode(ws.OpContinuation, false, frag[10:20])...)
		batch = append(batch, encode(ws.OpContinuation, true, frag[20:])...)
		c.write(batch)
		var got []string
		pong := false
		for len(got) < n+1 {
			op, p := c.next()
			switch op {
			case ws.OpPong:
				if string(p) != "hi" {
					t.Fatalf("pong payload %q", p)
				}
				pong = true
			case ws.OpText:
				var f protocol.ServerFrame
				if err := json.Unmarshal(p, &f); err != nil {
					t.Fatal(err)
				}
				if f.Type == protocol.TypePong {
					got = append(got, f.Ref)
				}
			}
		}
		for i := 0; i < n; i++ {
			if got[i] != fmt.Sprint("p", i) {
				t.Fatalf("pongs out of order: %v", got)
			}
		}
		if got[n] != "fragmented" || !pong {
			t.Fatalf("fragmented message: pongs %v, control pong %v", got[n:], pong)
		}
	})
}

// A connection that stops answering pings is closed with 4012 by the deadline sweep (poller) or its read
// deadline (goroutine); one that never authenticates with 4001.
func TestWebSocketDeadlines(t *testing.T) {
	wsModes(t, []string{"-heartbeat", "1s"}, func(t *testing.T, a *api) {
		token := a.login("admin@example.com").Token
		silent := dialWS(t, a)
		half := dialWS(t, a)
		half.auth(token)
		pings := 0
		for {
			op, p := half.next()
			if op == ws.OpPing {
				pings++
				continue
			}
			if op == ws.OpClose {
				code, reason := int(binary.BigEndian.Uint16(p)), string(p[2:])
				if code != protocol.ClosePingTimeout || reason != "no pong in time" || pings == 0 {
					t.Fatalf("half-open connection closed with %d %q after %d pings", code, reason, pings)
				}
				break
			}
		}
		if code, reason := silent.closed(); code != protocol.CloseUnauthorized || reason != "no auth frame in time" {
			t.Fatalf("unauthenticated connection closed with %d %q", code, reason)
		}
	})
}

// An overloaded server may get to a connection's auth frame only after the auth deadline. A client that sent it
// in time is authenticated, not closed as silent (it would reconnect and add to the load); one that sent nothing
// is still closed, and one that sent only part of its auth frame in time gets no more than the auth wait again.
func TestWebSocketAuthReadLate(t *testing.T) {
	a := startAPI(t, "sqlite", apiOptions{})
	const wait = 300 * time.Millisecond
	httpapi.SetAuthWait(a.App.HTTP, wait)
	httpapi.DelayIdleReads(a.App.HTTP, 3*wait)
	token := a.login("admin@example.com").Token

	sent := dialWS(t, a)
	sent.auth(token) // read by the server 3 waits after it arrived, past the deadline

	silent := dialWS(t, a)
	if code, reason := silent.closed(); code != protocol.CloseUnauthorized || reason != "no auth frame in time" {
		t.Fatalf("silent connection closed with %d %q", code, reason)
	}

	partial := dialWS(t, a)
	frame := textFrame(protocol.ClientFrame{Type: protocol.TypeAuth, ID: "a1", Token: token})
	start := time.Now()
	partial.write(frame[:len(frame)/2])
	if code, reason := partial.closed(); code != protocol.CloseUnauthorized || reason != "no auth frame in time" {
		t.Fatalf("half an auth frame: closed with %d %q", code, reason)
	}
	// The read starts 3 waits in and gets one more wait: closed after about 4, never left open.
	if took := time.Since(start); took < 3*wait {
		t.Fatalf("half an auth frame: closed after %s, before the server read it", took)
	}
}

// Every way a frame can break the rules gets its close code; a client's close is echoed; a message of exactly
// 16 KiB, even in fragments, is handled.
func TestWebSocketCloseCodes(t *testing.T) {
	wsModes(t, nil, func(t *testing.T, a *api) {
		token := a.login("admin@example.com").Token
		exact := []byte(`{"type":"ping","id":"exact"}`)
		exact = append(exact, bytes.Repeat([]byte(" "), protocol.MaxFrameBytes-len(exact))...)
		c := dialWS(t, a)
		c.auth(token)
		c.write(append(encode(ws.OpText, false, exact[:9000]), encode(ws.OpContinuation, true, exact[9000:])...))
		if f := c.nextFrame(); f.Type != protocol.TypePong || f.Ref != "exact" {
			t.Fatalf("a 16 KiB message: %+v", f)
		}
		unmasked := ws.MustCompileFrame(ws.NewTextFrame([]byte(`{"type":"ping"}`)))
		cases := []struct {
			name   string
			frames []byte
			code   int
			reason string
		}{
			{"client close", encode(ws.OpClose, true, ws.NewCloseFrameBody(ws.StatusNormalClosure, "bye")), protocol.CloseNormal, ""},
			{"client close 4000", encode(ws.OpClose, true, ws.NewCloseFrameBody(4000, "")), 4000, ""},
			{"close without code", encode(ws.OpClose, true, nil), 1005, ""},
			{"too big", encode(ws.OpText, true, append(bytes.Clone(exact), ' ')), protocol.CloseTooBig, ""},
			{"too big in fragments", append(encode(ws.OpText, false, exact), encode(ws.OpContinuation, true, []byte(" "))...), protocol.CloseTooBig, ""},
			{"binary", encode(ws.OpBinary, true, []byte(`{"type":"ping"}`)), protocol.CloseUnsupported, "frames must be JSON text"},
			{"invalid UTF-8", encode(ws.OpText, true, []byte("{\"type\":\"ping\",\"id\":\"\xff\"}")), protocol.CloseInvalidUTF8, "text frame is not valid UTF-8"},
			{"unmasked", unmasked, 1002, "frames from client to server must be masked"},
			{"continuation first", encode(ws.OpContinuation, true, []byte("x")), 1002, "unexpected continuation data frame"},
			{"ping too long", encode(ws.OpPing, true, bytes.Repeat([]byte("x"), 126)), 1002, "control frame payload limit exceeded"},
		}
		for _, tc := range cases {
			c := dialWS(t, a)
			c.auth(token)
			c.write(tc.frames)
			if code, reason := c.closed(); code != tc.code || reason != tc.reason {
				t.Errorf("%s: closed with %d %q, want %d %q", tc.name, code, reason, tc.code, tc.reason)
			}
		}
	})
}

// With the poller, idle connections hold no goroutine: fifty of them add far fewer than fifty.
func TestIdleWebSocketsHoldNoGoroutine(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the poller is Linux-only")
	}
	a := startAPI(t, "sqlite", apiOptions{})
	token := a.login("admin@example.com").Token
	warm := dialWS(t, a)
	warm.auth(token)
	settled := func() int {
		// The goroutines of the handshakes, writers and handlers end shortly after their work; take the
		// lowest count seen over a while.
		low := runtime.NumGoroutine()
		for i := 0; i < 20; i++ {
			time.Sleep(50 * time.Millisecond)
			low = min(low, runtime.NumGoroutine())
		}
		return low
	}
	before := settled()
	const n = 50
	for i := 0; i < n; i++ {
		dialWS(t, a).auth(token)
	}
	if added := settled() - before; added >= n/2 {
		t.Fatalf("%d idle connections added %d goroutines", n, added)
	}
	if got := a.App.HTTP.Connections(); got != n+1 {
		t.Fatalf("%d connections, want %d", got, n+1)
	}
}

// A client that still writes after the server closed its connection reads why it was closed: the server
// half-closes and discards the client's late bytes instead of closing a socket with unread input, whose reset
// would make the client's kernel drop the close frame it had not read yet. (A slow consumer kicked with 4008
// answers the pings in its backlog with pongs; it saw "connection reset" instead of 4008.) The poller's
// connections only: with a reader goroutine the reader owns the socket's input, and the socket is closed at
// once as before.
func TestWebSocketCloseFrameSurvivesLateClientBytes(t *testing.T) {
	a := startAPI(t, "sqlite", apiOptions{})
	s := a.login("admin@example.com")
	c := dialWS(t, a)
	c.auth(s.Token)
	a.App.HTTP.KickPrincipal(s.AgentID)
	// Without reading, keep writing for a while after the kick: the server has closed by the end.
	for i := range 30 {
		if _, err := c.conn.Write(encode(ws.OpPing, true, []byte(fmt.Sprint(i)))); err != nil {
			t.Fatalf("write %d after the kick: %v (the server reset the connection)", i, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if code, reason := c.closed(); code != protocol.CloseRevoked {
		t.Fatalf("closed with %d %q, want %d", code, reason, protocol.CloseRevoked)
	}
}
