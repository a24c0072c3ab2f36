package reliability

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apptest"
	"github.com/parley-chat/parley/internal/checker"
	"github.com/parley-chat/parley/internal/store/storetest"
	"github.com/parley-chat/parley/protocol"
)

// A customer and an agent hold a conversation through a server restart (and a forced disconnect of each side
// before it): nothing acknowledged is lost, nothing shown twice, nothing out of order.
func TestConversationSurvivesRestart(t *testing.T) {
	storetest.Each(t, func(t *testing.T, kind string) {
		n := apptest.Start(t, kind, apptest.Options{})
		cust, conv := customerConv(t, n, "顾客")
		agentAPI := agent(t, n, "support")
		h := checker.New()
		cc := n.Dial(cust, client.WebSocket, client.Options{OnMessage: func(m protocol.Message) { h.Applied("customer", m) }})
		ac := n.Dial(agentAPI, client.WebSocket, client.Options{OnMessage: func(m protocol.Message) { h.Applied("agent", m) }})
		for _, c := range []*client.Client{cc, ac} {
			if err := c.Subscribe(conv.ID, 0); err != nil {
				t.Fatal(err)
			}
		}
		h.Subscribed("customer", conv.ID, 0)
		h.Subscribed("agent", conv.ID, 0)
		send := func(c *client.Client, who string, i int) {
			op := h.Invoke(who, conv.ID, client.NewID(), fmt.Sprintf("%s says %d", who, i))
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			ack, err := c.SendID(ctx, conv.ID, op.ClientMsgID, op.Body, "")
			if err != nil {
				h.Info(op)
				t.Errorf("send %d of %s: %v", i, who, err)
				return
			}
			h.OK(op, ack.Seq, ack.ID)
		}
		for i := 0; i < 5; i++ {
			send(cc, "customer", i)
			send(ac, "agent", i)
		}
		cc.Disconnect()
		send(ac, "agent", 5)
		ac.Disconnect()
		send(cc, "customer", 5)
		for _, c := range []*client.Client{cc, ac} {
			waitReconnects(t, c, 1)
		}

		// Restart the server on the same data and port while both clients keep sending.
		addr := n.Server.Listener.Addr().String()
		n.Stop()
		done := make(chan struct{})
		go func() {
			defer close(done)
			send(cc, "customer", 6) // retried by the client until the server is back
		}()
		time.Sleep(200 * time.Millisecond)
		n2 := apptest.Start(t, kind, apptest.Options{DataDir: n.DataDir, DB: n.DB, Addr: addr})
		<-done
		for i := 7; i < 12; i++ {
			send(cc, "customer", i)
			send(ac, "agent", i)
		}
		head := uint64(0)
		msgs := allMessages(t, n2.Admin, conv.ID)
		if len(msgs) > 0 {
			head = msgs[len(msgs)-1].Seq
		}
		waitCaughtUp(t, []*client.Client{cc, ac}, conv.ID, head)
		if r := h.Check(map[string][]protocol.Message{conv.ID: msgs}); !r.Clean() || r.OKs != 23 {
			t.Fatalf("checker: %v", r)
		}
		if cc.Stats().Reconnects < 2 || ac.Stats().Reconnects < 2 {
			t.Fatalf("reconnects: customer %d, agent %d; want at least 2 each", cc.Stats().Reconnects, ac.Stats().Reconnects)
		}
	})
}

// R4b: after a restore (a new epoch) a resuming client is told to reset, applies nothing stale, and follows
// the conversation from the new head.
func TestR4EpochChangeResets(t *testing.T) {
	storetest.Each(t, func(t *testing.T, kind string) {
		n := apptest.Start(t, kind, apptest.Options{})
		cust, conv := customerConv(t, n, "restored")
		for i := 0; i < 3; i++ {
			if _, err := cust.PostMessage(context.Background(), conv.ID, client.NewID(), fmt.Sprint(i), ""); err != nil {
				t.Fatal(err)
			}
		}
		var resets atomic.Int32
		var applied atomic.Int32
		ac := n.Dial(agent(t, n, "watch"), client.WebSocket, client.Options{
			OnMessage: func(protocol.Message) { applied.Add(1) },
			OnReset:   func(string, uint64) { resets.Add(1) }})
		if err := ac.Subscribe(conv.ID, 0); err != nil {
			t.Fatal(err)
		}
		waitCaughtUp(t, []*client.Client{ac}, conv.ID, 3)
		oldEpoch := ac.Epoch()

		addr := n.Server.Listener.Addr().String()
		n.Stop()
		st := storetest.OpenWith(t, storeOptions(n))
		if _, err := st.RotateEpoch(context.Background()); err != nil {
			t.Fatal(err)
		}
		st.Close()
		n2 := apptest.Start(t, kind, apptest.Options{DataDir: n.DataDir, DB: n.DB, Addr: addr})
		deadline := time.Now().Add(20 * time.Second)
		for resets.Load() == 0 {
			if time.Now().After(deadline) {
				t.Fatal("the client was never told to reset")
			}
			time.Sleep(20 * time.Millisecond)
		}
		if ac.Epoch() == oldEpoch {
			t.Fatal("the client kept the old epoch")
		}
		before := applied.Load()
		if _, err := cust.PostMessage(context.Background(), conv.ID, client.NewID(), "after the restore", ""); err != nil {
			t.Fatal(err)
		}
		_ = n2
		waitCaughtUp(t, []*client.Client{ac}, conv.ID, 4)
		if got := applied.Load() - before; got != 1 {
			t.Fatalf("after the reset the client applied %d messages, want exactly the new one", got)
		}
	})
}

func waitReconnects(t *testing.T, c *client.Client, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for c.Stats().Reconnects < n {
		if time.Now().After(deadline) {
			t.Fatalf("the client reconnected %d times, want %d", c.Stats().Reconnects, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
