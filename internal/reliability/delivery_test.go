package reliability

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apptest"
	"github.com/parley-chat/parley/internal/checker"
	"github.com/parley-chat/parley/internal/store/storetest"
	"github.com/parley-chat/parley/protocol"
)

// R1: one client_msg_id sent 50 times at once over two WebSockets and REST (on two nodes with MariaDB)
// creates one message; every acknowledgement is identical and all but one say duplicate; the same key with
// another body is refused and changes nothing.
func TestR1IdempotentSendStorm(t *testing.T) {
	storetest.Each(t, func(t *testing.T, kind string) {
		nodes := twoNodes(t, kind, "-customer-msg-rate", "10000", "-customer-msg-burst", "100000")
		cust, conv := customerConv(t, nodes[0], "storm")
		key := client.NewID()
		const body = "once and only once ✅"
		var acks []protocol.ServerFrame
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i, n := range []*apptest.Node{nodes[0], nodes[len(nodes)-1]} {
			ws := authed(t, n.URL, cust.Token)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := 0; j < 20; j++ {
					ws.send(protocol.ClientFrame{Type: protocol.TypeSend, ID: fmt.Sprint(i, j), ConversationID: conv.ID, ClientMsgID: key, Body: body})
				}
				for j := 0; j < 20; j++ {
					f := ws.until(10*time.Second, func(f protocol.ServerFrame) bool { return f.Type == protocol.TypeAck || f.Type == protocol.TypeError })
					mu.Lock()
					acks = append(acks, f)
					mu.Unlock()
				}
			}()
		}
		for j := 0; j < 10; j++ {
			n := nodes[j%len(nodes)]
			wg.Add(1)
			go func() {
				defer wg.Done()
				api := &client.API{BaseURL: n.URL, Token: cust.Token}
				ack, err := api.PostMessage(context.Background(), conv.ID, key, body, "")
				if err != nil {
					t.Errorf("REST send: %v", err)
					return
				}
				mu.Lock()
				acks = append(acks, *ack)
				mu.Unlock()
			}()
		}
		wg.Wait()
		if len(acks) != 50 {
			t.Fatalf("%d answers, want 50", len(acks))
		}
		dups := 0
		for _, a := range acks {
			if a.Type != protocol.TypeAck || a.Seq != acks[0].Seq || a.ID != acks[0].ID || !a.TS.Equal(acks[0].TS) {
				t.Fatalf("acks differ: %+v vs %+v", a, acks[0])
			}
			if a.Duplicate {
				dups++
			}
		}
		if dups != 49 {
			t.Fatalf("%d duplicate acks, want 49", dups)
		}
		_, err := cust.PostMessage(context.Background(), conv.ID, key, "a different body", "")
		if client.Code(err) != "idempotency_key_reused" {
			t.Fatalf("reused key with another body: err = %v", err)
		}
		msgs := allMessages(t, nodes[0].Admin, conv.ID)
		if len(msgs) != 1 || msgs[0].Body != body || msgs[0].Seq != 1 {
			t.Fatalf("database holds %+v, want exactly the one message", msgs)
		}
	})
}

// R2: many concurrent senders into one conversation (and many conversations in parallel): sequence numbers
// are 1..N without gaps or duplicates and each sender's messages keep their issue order.
func TestR2SeqDensityAndSenderOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, kind string) {
		n := apptest.Start(t, kind, apptest.Options{Args: []string{"-customer-msg-rate", "10000", "-customer-msg-burst", "100000"}})
		senders, perSender, convs := 20, 15, 20
		if testing.Short() {
			senders, perSender, convs = 8, 10, 8
		}
		h := checker.New()
		cust, conv := customerConv(t, n, "busy")
		var wg sync.WaitGroup
		run := func(api *client.API, conv string, session string, count int) {
			defer wg.Done()
			c := n.Dial(api, client.WebSocket, client.Options{})
			for i := 0; i < count; i++ {
				body := fmt.Sprintf("%s #%d", session, i)
				op := h.Invoke(session, conv, client.NewID(), body)
				ack, err := c.SendID(context.Background(), conv, op.ClientMsgID, body, "")
				if err != nil {
					h.Info(op)
					t.Errorf("send: %v", err)
					continue
				}
				h.OK(op, ack.Seq, ack.ID)
			}
		}
		for i := 0; i < senders; i++ {
			wg.Add(1)
			go run(cust, conv.ID, fmt.Sprintf("one-%d", i), perSender)
		}
		others := make([]string, convs)
		for i := range others {
			api, c := customerConv(t, n, fmt.Sprintf("c%d", i))
			others[i] = c.ID
			wg.Add(1)
			go run(api, c.ID, "many-"+c.ID, 5)
		}
		wg.Wait()
		db := map[string][]protocol.Message{conv.ID: allMessages(t, n.Admin, conv.ID)}
		for _, id := range others {
			db[id] = allMessages(t, n.Admin, id)
		}
		if got := len(db[conv.ID]); got != senders*perSender {
			t.Fatalf("conversation holds %d messages, want %d", got, senders*perSender)
		}
		if r := h.Check(db); !r.Clean() || r.OKs != senders*perSender+5*convs {
			t.Fatalf("checker: %v", r)
		}
	})
}

// R3: receivers drop at random moments while traffic continues and resume; each ends with exactly the
// complete conversation, in order, nothing shown twice.
func TestR3ResumeAfterDisconnect(t *testing.T) {
	storetest.Each(t, func(t *testing.T, kind string) {
		n := apptest.Start(t, kind, apptest.Options{Args: []string{"-customer-msg-rate", "10000", "-customer-msg-burst", "100000"}})
		cust, conv := customerConv(t, n, "sender")
		h := checker.New()
		const receivers = 6
		var clients []*client.Client
		for i := 0; i < receivers; i++ {
			name := fmt.Sprintf("r%d", i)
			api := agent(t, n, name)
			c := n.Dial(api, client.WebSocket, client.Options{OnMessage: func(m protocol.Message) { h.Applied(name, m) }})
			h.Subscribed(name, conv.ID, 0)
			if err := c.Subscribe(conv.ID, 0); err != nil {
				t.Fatal(err)
			}
			clients = append(clients, c)
		}
		sender := n.Dial(cust, client.WebSocket, client.Options{})
		stop := make(chan struct{})
		var drops atomic.Int32
		go func() { // the chaos: drop a random receiver every few milliseconds
			for {
				select {
				case <-stop:
					return
				case <-time.After(time.Duration(5+rand.IntN(30)) * time.Millisecond):
					clients[rand.IntN(len(clients))].Disconnect()
					drops.Add(1)
				}
			}
		}()
		// At least 150 messages, and on until the receivers were dropped at least 5 times: a fast machine sends
		// 150 before the chaos has dropped anyone often enough to test resume.
		const minMessages, minDrops, maxMessages = 150, 5, 20000
		total := 0
		for ; total < minMessages || drops.Load() < minDrops; total++ {
			if total == maxMessages {
				t.Fatalf("only %d drops in %d messages; the test did not test resume", drops.Load(), total)
			}
			op := h.Invoke("sender", conv.ID, client.NewID(), fmt.Sprintf("m%d", total))
			ack, err := sender.SendID(context.Background(), conv.ID, op.ClientMsgID, op.Body, "")
			if err != nil {
				t.Fatal(err)
			}
			h.OK(op, ack.Seq, ack.ID)
		}
		close(stop)
		waitCaughtUp(t, clients, conv.ID, uint64(total))
		r := h.Check(map[string][]protocol.Message{conv.ID: allMessages(t, n.Admin, conv.ID)})
		if !r.Clean() {
			t.Fatalf("checker after %d drops: %v", drops.Load(), r)
		}
	})
}

func waitCaughtUp(t *testing.T, clients []*client.Client, conv string, head uint64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for _, c := range clients {
		for c.LastSeq(conv) < head {
			if time.Now().After(deadline) {
				t.Fatalf("a receiver is stuck at seq %d of %d", c.LastSeq(conv), head)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// R4a: a client offline while more than the resume limit arrives gets recovered:false and pages the rest.
func TestR4ResumeBeyondLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, kind string) {
		n := apptest.Start(t, kind, apptest.Options{Args: []string{"-customer-msg-rate", "10000", "-customer-msg-burst", "100000"}})
		cust, conv := customerConv(t, n, "talkative")
		total := 2*protocol.ResumeLimit + 50
		for i := 0; i < total; i++ {
			if _, err := cust.PostMessage(context.Background(), conv.ID, client.NewID(), fmt.Sprintf("m%d", i), ""); err != nil {
				t.Fatal(err)
			}
		}
		h := checker.New()
		var notRecovered atomic.Int32
		api := agent(t, n, "late")
		c := n.Dial(api, client.WebSocket, client.Options{
			OnMessage: func(m protocol.Message) { h.Applied("late", m) },
			OnFrame: func(f protocol.ServerFrame) {
				if f.Type == protocol.TypeResumed && f.Recovered != nil && !*f.Recovered {
					notRecovered.Add(1)
				}
			}})
		h.Subscribed("late", conv.ID, 0)
		if err := c.Subscribe(conv.ID, 0); err != nil {
			t.Fatal(err)
		}
		waitCaughtUp(t, []*client.Client{c}, conv.ID, uint64(total))
		if r := h.Check(map[string][]protocol.Message{conv.ID: allMessages(t, n.Admin, conv.ID)}); !r.Clean() {
			t.Fatalf("checker: %v", r)
		}
		if notRecovered.Load() != 2 {
			t.Fatalf("%d recovered:false answers, want 2 (%d messages, limit %d)", notRecovered.Load(), total, protocol.ResumeLimit)
		}
	})
}

// R5: clients subscribing while messages are published miss nothing between the history read and the live
// subscription.
func TestR5SubscribeSnapshotRace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, kind string) {
		n := apptest.Start(t, kind, apptest.Options{Args: []string{"-customer-msg-rate", "10000", "-customer-msg-burst", "100000"}})
		cust, conv := customerConv(t, n, "publisher")
		sender := n.Dial(cust, client.WebSocket, client.Options{})
		h := checker.New()
		stop := make(chan struct{})
		sent := make(chan uint64, 1)
		go func() {
			var last uint64
			defer func() { sent <- last }()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				op := h.Invoke("pub", conv.ID, client.NewID(), fmt.Sprintf("m%d", i))
				ack, err := sender.SendID(context.Background(), conv.ID, op.ClientMsgID, op.Body, "")
				if err != nil {
					h.Info(op)
					continue
				}
				h.OK(op, ack.Seq, ack.ID)
				last = ack.Seq
			}
		}()
		trials := 40
		if testing.Short() {
			trials = 15
		}
		api := agent(t, n, "watcher")
		var clients []*client.Client
		for i := 0; i < trials; i++ {
			name := fmt.Sprintf("w%d", i)
			c := n.Dial(api, client.WebSocket, client.Options{OnMessage: func(m protocol.Message) { h.Applied(name, m) }})
			h.Subscribed(name, conv.ID, 0)
			if err := c.Subscribe(conv.ID, 0); err != nil {
				t.Fatal(err)
			}
			clients = append(clients, c)
			time.Sleep(time.Duration(rand.IntN(5)) * time.Millisecond)
		}
		close(stop)
		head := <-sent
		waitCaughtUp(t, clients, conv.ID, head)
		if r := h.Check(map[string][]protocol.Message{conv.ID: allMessages(t, n.Admin, conv.ID)}); !r.Clean() {
			t.Fatalf("checker: %v", r)
		}
	})
}

// R6: the same workload over long-poll only, then receivers switching WebSocket → long-poll → WebSocket mid-
// stream: the same clean result.
func TestR6TransportParityAndSwitching(t *testing.T) {
	storetest.Each(t, func(t *testing.T, kind string) {
		n := apptest.Start(t, kind, apptest.Options{Args: []string{"-customer-msg-rate", "10000", "-customer-msg-burst", "100000"}})
		cust, conv := customerConv(t, n, "both")
		h := checker.New()
		sender := n.Dial(cust, client.LongPoll, client.Options{})
		api := agent(t, n, "switcher")
		var last atomic.Uint64
		var mu sync.Mutex
		var cur *client.Client
		// A switch is what an app does: stop the old transport, then resume on the new one from the last seq it
		// showed. (Two live clients feeding one view would each show what they receive: the view, not the
		// protocol, would have to drop the overlap.)
		dial := func(transport string) {
			mu.Lock()
			old := cur
			mu.Unlock()
			if old != nil {
				old.Close() // returns when its receive loop has stopped: no callback runs after it
			}
			c := n.Dial(api, transport, client.Options{OnMessage: func(m protocol.Message) {
				h.Applied("switcher", m)
				last.Store(m.Seq)
			}})
			if err := c.Subscribe(conv.ID, last.Load()); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			cur = c
			mu.Unlock()
		}
		h.Subscribed("switcher", conv.ID, 0)
		dial(client.WebSocket)
		total := 90
		for i := 0; i < total; i++ {
			if i == 30 {
				dial(client.LongPoll)
			}
			if i == 60 {
				dial(client.WebSocket)
			}
			op := h.Invoke("sender", conv.ID, client.NewID(), fmt.Sprintf("m%d", i))
			ack, err := sender.SendID(context.Background(), conv.ID, op.ClientMsgID, op.Body, "")
			if err != nil {
				t.Fatal(err)
			}
			h.OK(op, ack.Seq, ack.ID)
		}
		mu.Lock()
		final := cur
		mu.Unlock()
		waitCaughtUp(t, []*client.Client{final}, conv.ID, uint64(total))
		if r := h.Check(map[string][]protocol.Message{conv.ID: allMessages(t, n.Admin, conv.ID)}); !r.Clean() {
			t.Fatalf("checker: %v", r)
		}
	})
}

// R8: fifty "start chat" requests for one visitor token, spread over two nodes (MariaDB), make one open
// conversation; every caller gets its id.
func TestR8ConcurrentConversationStart(t *testing.T) {
	storetest.Each(t, func(t *testing.T, kind string) {
		nodes := twoNodes(t, kind)
		cust := nodes[0].Customer("racer")
		ids := make(chan string, 50)
		var wg sync.WaitGroup
		for i := 0; i < 50; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				api := &client.API{BaseURL: nodes[i%len(nodes)].URL, Token: cust.Token}
				c, err := api.StartConversation(context.Background(), "")
				if err != nil {
					t.Errorf("start: %v", err)
					return
				}
				ids <- c.ID
			}()
		}
		wg.Wait()
		close(ids)
		distinct := map[string]int{}
		for id := range ids {
			distinct[id]++
		}
		if len(distinct) != 1 {
			t.Fatalf("%d distinct conversations: %v", len(distinct), distinct)
		}
		var list struct {
			Conversations []client.Conversation `json:"conversations"`
		}
		if _, err := cust.Do(context.Background(), http.MethodGet, "/api/v1/conversations", nil, &list); err != nil {
			t.Fatal(err)
		}
		if len(list.Conversations) != 1 {
			t.Fatalf("customer has %d conversations, want 1", len(list.Conversations))
		}
	})
}
