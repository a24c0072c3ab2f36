package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/parley-chat/parley/internal/apptest"
	"github.com/parley-chat/parley/protocol"
)

// BenchmarkRelay measures the whole message path in one process: customers' WebSocket send frames →
// decode → group commit (SQLite, synchronous=FULL) → fan-out → the ack and the echo to the customer and the
// message frame to an agent following every conversation. The clients are raw WebSockets that only look at
// a frame's first bytes, so most of the CPU is the server's. It reports the process's CPU per message
// (cpu-µs/msg, steadier than the time on a shared machine) and is meant for before/after comparisons:
//
//	go test -run '^$' -bench Relay -benchtime 20000x -count 6 ./internal/httpapi/ | benchstat -
func BenchmarkRelay(b *testing.B) {
	const customers = 64
	n := apptest.Start(b, "sqlite", apptest.Options{Args: []string{"-customer-msg-rate", "10000", "-customer-msg-burst", "10000"}})
	ctx := context.Background()
	url := "ws" + strings.TrimPrefix(n.URL, "http") + "/api/v1/ws"
	var convs, tokens []string
	for i := range customers {
		api := n.Customer(fmt.Sprint("c", i))
		conv, err := api.StartConversation(ctx, "")
		if err != nil {
			b.Fatal(err)
		}
		convs, tokens = append(convs, conv.ID), append(tokens, api.Token)
	}
	var agentGot atomic.Int64
	agent := dialRelay(b, url, n.Admin.Token, convs...)
	go agent.read(func(p []byte) {
		if bytes.HasPrefix(p, []byte(`{"type":"message"`)) && bytes.Contains(p, []byte(`"body":"bench `)) {
			agentGot.Add(1)
		}
	})
	conns := make([]*relayConn, customers)
	acks := make([]chan struct{}, customers)
	for i := range conns {
		conns[i] = dialRelay(b, url, tokens[i], convs[i])
		acks[i] = make(chan struct{}, 1)
		go conns[i].read(func(p []byte) {
			if bytes.HasPrefix(p, []byte(`{"type":"ack"`)) {
				acks[i] <- struct{}{}
			} else if bytes.HasPrefix(p, []byte(`{"type":"error"`)) {
				b.Errorf("customer %d: %s", i, p)
			}
		})
	}
	cpu0 := cpuTime()
	b.ResetTimer()
	var next atomic.Int64
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Closed loop per customer: the next send after the ack, as many customers at once as there are.
			for k := next.Add(1); k <= int64(b.N); k = next.Add(1) {
				c.write(b, protocol.ClientFrame{Type: protocol.TypeSend, ConversationID: convs[i],
					ClientMsgID: fmt.Sprint("m", k), Body: fmt.Sprint("bench ", k, " Hello, I ordered a blue jacket last week and it has not arrived yet.")})
				select {
				case <-acks[i]:
				case <-time.After(time.Minute):
					b.Errorf("customer %d: no ack", i)
					return
				}
			}
		}()
	}
	wg.Wait()
	for deadline := time.Now().Add(time.Minute); agentGot.Load() < int64(b.N) && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	if got := agentGot.Load(); got < int64(b.N) {
		b.Fatalf("the agent got %d of %d messages", got, b.N)
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/msg")
}

type relayConn struct {
	conn net.Conn
	br   *bufio.Reader
	wmu  sync.Mutex
}

// dialRelay connects, authenticates and subscribes to convs, and returns once every subscription resumed.
func dialRelay(b *testing.B, url, token string, convs ...string) *relayConn {
	conn, br, _, err := ws.Dial(context.Background(), url)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	if br == nil {
		br = bufio.NewReader(conn)
	}
	c := &relayConn{conn: conn, br: br}
	c.write(b, protocol.ClientFrame{Type: protocol.TypeAuth, Token: token})
	var subs []protocol.Cursor
	for _, id := range convs {
		subs = append(subs, protocol.Cursor{ConversationID: id})
	}
	c.write(b, protocol.ClientFrame{Type: protocol.TypeSubscribe, Subscriptions: subs})
	for resumed := 0; resumed < len(convs); {
		p, op, err := c.next()
		if err != nil {
			b.Fatal(err)
		}
		switch {
		case op != ws.OpText:
		case bytes.HasPrefix(p, []byte(`{"type":"resumed"`)):
			resumed++
		case bytes.HasPrefix(p, []byte(`{"type":"error"`)):
			b.Fatalf("subscribe: %s", p)
		}
	}
	return c
}

func (c *relayConn) write(b *testing.B, f protocol.ClientFrame) {
	p, _ := json.Marshal(f)
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := wsutil.WriteClientText(c.conn, p); err != nil {
		b.Error(err)
	}
}

// next reads one frame (the server's are unmasked).
func (c *relayConn) next() ([]byte, ws.OpCode, error) {
	h, err := ws.ReadHeader(c.br)
	if err != nil {
		return nil, 0, err
	}
	p := make([]byte, h.Length)
	_, err = io.ReadFull(c.br, p)
	return p, h.OpCode, err
}

// read hands every text frame to fn until the connection ends; it answers pings.
func (c *relayConn) read(fn func([]byte)) {
	for {
		p, op, err := c.next()
		if err != nil {
			return
		}
		switch op {
		case ws.OpText:
			fn(p)
		case ws.OpPing:
			c.wmu.Lock()
			_ = wsutil.WriteClientMessage(c.conn, ws.OpPong, p)
			c.wmu.Unlock()
		}
	}
}

// cpuTime is the CPU the process has used (user and system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
