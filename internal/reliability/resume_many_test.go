package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apptest"
	"github.com/parley-chat/parley/internal/store/storetest"
	"github.com/parley-chat/parley/protocol"
)

// TestResumeWithManySubscriptions: an agent following more conversations than one 16 KiB subscribe frame can
// name (~140) is dropped and resumes every one of them. The client used to resubscribe with up to 500 cursors a
// frame; the server closed that frame with 1009 before reading it, and the client reconnected and sent it again,
// never resuming anything.
func TestResumeWithManySubscriptions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, kind string) {
		n := apptest.Start(t, kind, apptest.Options{})
		const convs = 320
		type pair struct {
			api *client.API
			id  string
		}
		var all []pair
		for i := range convs {
			api, conv := customerConv(t, n, fmt.Sprintf("c%d", i))
			all = append(all, pair{api, conv.ID})
		}
		var hellos atomic.Int32
		c := n.Dial(agent(t, n, "many"), client.WebSocket, client.Options{OnFrame: func(f protocol.ServerFrame) {
			if f.Type == protocol.TypeHello {
				hellos.Add(1)
			}
		}})
		for _, p := range all {
			if err := c.Subscribe(p.id, 0); err != nil {
				t.Fatal(err)
			}
		}
		c.Disconnect()
		// One message in the first and in the last conversation while the agent is away.
		deadline := time.Now().Add(30 * time.Second)
		for _, p := range []pair{all[0], all[convs-1]} {
			ack, err := p.api.PostMessage(context.Background(), p.id, client.NewID(), "while you were away", "")
			if err != nil {
				t.Fatal(err)
			}
			for c.LastSeq(p.id) < ack.Seq {
				if time.Now().After(deadline) {
					t.Fatalf("the agent never resumed conversation %s: at seq %d of %d after %d hellos", p.id, c.LastSeq(p.id), ack.Seq, hellos.Load())
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		// Every subscribe frame is timed (parley_subscribe_duration_seconds, observed as the frame's handling
		// ends): 320 cursors take at least three frames of at most ~140.
		var frames float64
		for frames < 3 {
			if time.Now().After(deadline) {
				t.Fatalf("parley_subscribe_duration_seconds_count %v, want at least 3", frames)
			}
			resp, err := http.Get(n.URL + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			for _, line := range strings.Split(string(body), "\n") {
				if v, ok := strings.CutPrefix(line, "parley_subscribe_duration_seconds_count "); ok {
					frames, _ = strconv.ParseFloat(v, 64)
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// TestLargeResumeIsPacedByTheReader: a resume whose replay is several times the connection's send queue (1 MiB)
// reaches a client that reads it, although the client starts reading only after the server has filled every
// socket buffer: the replay waits for room in the queue instead of overflowing it, and the connection is not
// closed as a slow consumer (4008). Before, a replay was queued as fast as the database gave it, and a client
// that was a moment late was dropped in the middle of its resume, to reconnect and start it again.
func TestLargeResumeIsPacedByTheReader(t *testing.T) {
	n := apptest.Start(t, "sqlite", apptest.Options{Args: []string{"-customer-msg-rate", "10000", "-customer-msg-burst", "100000",
		"-heartbeat", "20s"}})
	const convs, per = 10, protocol.ResumeLimit // a full replay each: 2,000 frames of ~4 KB, ~8 MB
	var ids []string
	for i := range convs {
		_, id := seedConversation(t, n, fmt.Sprintf("big%d", i), per)
		ids = append(ids, id)
	}
	_, write, read := dialNarrow(t, n, "resumer")
	var curs []protocol.Cursor
	for _, id := range ids {
		curs = append(curs, protocol.Cursor{ConversationID: id})
	}
	write(protocol.ClientFrame{Type: protocol.TypeSubscribe, ID: "all", Subscriptions: curs})
	// Not reading for a while: the server fills the socket buffers within milliseconds (a slower machine only
	// makes this test less able to fail, never failing it wrongly).
	time.Sleep(2 * time.Second)
	seqs := map[string]uint64{}
	resumed := 0
	for resumed < convs {
		f := read()
		switch f.Type {
		case protocol.TypeMessage:
			if want := seqs[f.Message.ConversationID] + 1; f.Message.Seq != want {
				t.Fatalf("conversation %s: seq %d, want %d", f.Message.ConversationID, f.Message.Seq, want)
			}
			seqs[f.Message.ConversationID] = f.Message.Seq
		case protocol.TypeResumed:
			if f.Recovered == nil || !*f.Recovered || seqs[f.ConversationID] != per {
				t.Fatalf("resumed %+v after %d messages, want recovered after %d", f, seqs[f.ConversationID], per)
			}
			resumed++
		case protocol.TypeError:
			t.Fatalf("error frame %+v", f)
		}
	}
	if got := testutilSlowDisconnects(n); got != 0 {
		t.Fatalf("%v slow-consumer disconnects, want 0", got)
	}
}

// TestPendingLiveFramesAreBounded: while a resume replays at the pace of a client that reads slowly, the live
// frames of the subscriptions still waiting for their replay are held, and what a connection holds so is
// bounded in bytes across all its subscriptions (8 MiB), not only in frames per subscription (2,048): past it
// the client is closed as too far behind (4008) and resumes later from its cursors, losing nothing.
func TestPendingLiveFramesAreBounded(t *testing.T) {
	n := apptest.Start(t, "sqlite", apptest.Options{Args: []string{"-customer-msg-rate", "10000", "-customer-msg-burst", "100000",
		"-heartbeat", "20s"}})
	// A backlog larger than the socket buffers and the queue together (~8 MB), so that the replay is still going
	// while the live messages arrive; 3 × 900 live 4-KB frames (~10.5 MB), each subscription under 2,048.
	const backlog, live, per = 10, 3, 900
	var curs []protocol.Cursor
	for i := range backlog {
		_, id := seedConversation(t, n, fmt.Sprintf("old%d", i), protocol.ResumeLimit)
		curs = append(curs, protocol.Cursor{ConversationID: id})
	}
	var senders []*client.Client
	var liveIDs []string
	for i := range live {
		cust, conv := customerConv(t, n, fmt.Sprintf("live%d", i))
		senders = append(senders, n.Dial(cust, client.WebSocket, client.Options{}))
		liveIDs = append(liveIDs, conv.ID)
		curs = append(curs, protocol.Cursor{ConversationID: conv.ID}) // replayed last: live frames wait meanwhile
	}
	c, write, _ := dialNarrow(t, n, "pending")
	// The client reads a frame every 20 ms until the server has dropped it: the replay goes on for many seconds,
	// every write of the server's progressing, so nothing but the bound can make the server drop it. From the
	// drop on (the reader looks at the server's count of slow consumers itself before every pause) it reads as
	// fast as it can, up to the close frame queued behind what the socket holds. On the way it answers the
	// pings of its backlog: the server's lingering close keeps those pongs from resetting the connection and
	// taking the close frame with it (TestWebSocketCloseFrameSurvivesLateClientBytes; this test failed so under
	// -race on a loaded machine).
	var dropped atomic.Bool
	closed := make(chan int, 1)
	go func() {
		for {
			c.SetReadDeadline(time.Now().Add(60 * time.Second))
			if _, _, err := c.ReadMessage(); err != nil {
				code := -1
				if ce, ok := err.(*websocket.CloseError); ok {
					code = ce.Code
				}
				closed <- code
				return
			}
			if !dropped.Load() && testutilSlowDisconnects(n) == 0 {
				time.Sleep(20 * time.Millisecond)
			}
		}
	}()
	write(protocol.ClientFrame{Type: protocol.TypeSubscribe, ID: "all", Subscriptions: curs})
	body := strings.Repeat("y", 3900)
	ctx := context.Background()
	sent := 0
	for ; sent < per && testutilSlowDisconnects(n) == 0; sent++ {
		errs := make(chan error, live)
		for i := range live {
			go func() {
				_, err := senders[i].SendID(ctx, liveIDs[i], client.NewID(), fmt.Sprintf("%d %s", sent, body), "")
				errs <- err
			}()
		}
		for range live {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for testutilSlowDisconnects(n) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d live frames (~%d MB) held for a connection whose replay is still going, and it is still open", live*per, live*per*4/1000)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("dropped after %d live messages in each of %d conversations", sent, live)
	dropped.Store(true) // read the rest at once, up to the close frame
	select {
	case code := <-closed:
		if code != protocol.CloseSlowConsumer {
			t.Fatalf("closed with %d, want %d", code, protocol.CloseSlowConsumer)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no close frame after the server counted the connection as a slow consumer")
	}
}

// seedConversation starts a conversation for a new customer and sends it count messages of ~4 KB.
func seedConversation(t *testing.T, n *apptest.Node, name string, count int) (*client.API, string) {
	t.Helper()
	ctx := context.Background()
	body := strings.Repeat("x", 3900)
	cust, conv := customerConv(t, n, name)
	sender := n.Dial(cust, client.WebSocket, client.Options{})
	errs := make(chan error, count)
	for j := range count {
		go func() {
			_, err := sender.SendID(ctx, conv.ID, client.NewID(), fmt.Sprintf("%d %s", j, body), "")
			errs <- err
		}()
	}
	for range count {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	return cust, conv.ID
}

// dialNarrow connects an agent (a new one, named name) over a WebSocket whose socket takes little at a time
// (SO_RCVBUF 4 KiB, no autotuning: the server's socket buffer, at most 4 MiB here, and its send queue then hold
// less than a large replay), authenticates it and returns after the hello.
func dialNarrow(t *testing.T, n *apptest.Node, name string) (*websocket.Conn, func(protocol.ClientFrame), func() protocol.ServerFrame) {
	t.Helper()
	d := websocket.Dialer{NetDialContext: (&net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		if err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) }); err != nil {
			return err
		}
		return serr
	}}).DialContext}
	c, _, err := d.Dial("ws"+strings.TrimPrefix(n.URL, "http")+"/api/v1/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	write := func(f protocol.ClientFrame) {
		b, _ := json.Marshal(f)
		c.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if err := c.WriteMessage(websocket.TextMessage, b); err != nil {
			t.Fatal(err)
		}
	}
	read := func() protocol.ServerFrame {
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		_, data, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("read: %v (slow-consumer disconnects: %v)", err, testutilSlowDisconnects(n))
		}
		var f protocol.ServerFrame
		if err := json.Unmarshal(data, &f); err != nil {
			t.Fatal(err)
		}
		return f
	}
	write(protocol.ClientFrame{Type: protocol.TypeAuth, Token: agent(t, n, name).Token})
	if f := read(); f.Type != protocol.TypeHello {
		t.Fatalf("expected hello, got %+v", f)
	}
	return c, write, read
}
