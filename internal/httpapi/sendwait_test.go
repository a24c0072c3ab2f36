package httpapi

import (
	"encoding/json"
	"net"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/metrics"
	"github.com/parley-chat/parley/internal/store"
	"github.com/parley-chat/parley/protocol"
)

// A send is answered once: by its outcome, or by the sweep once its wait is over, and a late outcome after
// the sweep is dropped. The frames are read from the connection's socket (a pipe) as a client would.
func TestSendWaitsAnswerOnce(t *testing.T) {
	srv, cli := net.Pipe()
	defer cli.Close()
	quit := make(chan struct{})
	defer close(quit)
	s := &Server{metrics: metrics.New(), work: newWorkers(quit)}
	c := &wsConn{s: s, conn: srv, fd: -1}
	var waits sendWaits
	t0 := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	slow := &sendWait{c: c, ref: "r1", convID: "conv", clientID: "m1"}
	quick := &sendWait{c: c, ref: "r2", convID: "conv", clientID: "m2"}
	waits.add(slow, t0)
	waits.add(quick, t0)

	quick.answer(store.SendResult{}, chat.Errorf(chat.CodeClosed, "the conversation is closed"))
	waits.sweep(t0.Add(ackWait - time.Second)) // not over yet: nothing
	waits.sweep(t0.Add(ackWait + 2*time.Second))
	slow.answer(store.SendResult{}, chat.Errorf(chat.CodeInternal, "too late")) // after the sweep: dropped
	waits.sweep(t0.Add(ackWait + 3*time.Second))                                // nothing left
	c.send(protocol.ServerFrame{Type: protocol.TypePong, Ref: "end"})

	want := []protocol.ServerFrame{
		{Type: protocol.TypeError, Ref: "r2", Code: string(chat.CodeClosed), ConversationID: "conv", ClientMsgID: "m2"},
		{Type: protocol.TypeError, Ref: "r1", Code: string(chat.CodeUnavailable), ConversationID: "conv", ClientMsgID: "m1"},
		{Type: protocol.TypePong, Ref: "end"},
	}
	cli.SetReadDeadline(time.Now().Add(time.Minute))
	for i, w := range want {
		f, err := ws.ReadFrame(cli)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		var got protocol.ServerFrame
		if err := json.Unmarshal(f.Payload, &got); err != nil {
			t.Fatalf("frame %d: %v: %s", i, err, f.Payload)
		}
		if got.Type != w.Type || got.Ref != w.Ref || got.Code != w.Code || got.ConversationID != w.ConversationID || got.ClientMsgID != w.ClientMsgID {
			t.Fatalf("frame %d: %s, want %+v", i, f.Payload, w)
		}
	}
}
