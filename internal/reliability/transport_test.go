package reliability

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apptest"
	"github.com/parley-chat/parley/internal/checker"
	"github.com/parley-chat/parley/protocol"
)

// A half-open connection — a client that stopped answering pings — is closed after the pong deadline.
func TestHalfOpenConnectionIsClosed(t *testing.T) {
	n := apptest.Start(t, "sqlite", apptest.Options{}) // heartbeat 1 s
	cust := n.Customer("ghost")
	ws := authed(t, n.URL, cust.Token)
	// Stop reading: gorilla answers pings only while the application reads, so from now on no pong is sent.
	ws.c.SetPingHandler(func(string) error { return nil })
	deadline := time.Now().Add(15 * time.Second)
	for n.App.HTTP.Connections() > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the half-open connection was not closed")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code := ws.closeCode(5 * time.Second); code != protocol.ClosePingTimeout && code != -1 {
		t.Fatalf("close code %d, want %d", code, protocol.ClosePingTimeout)
	}
}

// A client that stops reading while messages flow is disconnected as a slow consumer; memory held for it is
// bounded, and when it comes back it resumes with nothing lost.
func TestSlowConsumerIsDroppedAndResumes(t *testing.T) {
	// A heartbeat longer than the flood takes (under -race too), so the stalled client is dropped for its full
	// queue, not for missing pongs.
	n := apptest.Start(t, "sqlite", apptest.Options{Args: []string{"-customer-msg-rate", "10000", "-customer-msg-burst", "100000",
		"-heartbeat", "20s"}})
	cust, conv := customerConv(t, n, "flood")
	h := checker.New()
	var stalled atomic.Bool
	stalled.Store(true)
	release := make(chan struct{})
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	slow := n.Dial(agent(t, n, "slow"), client.WebSocket, client.Options{OnMessage: func(m protocol.Message) {
		if stalled.Load() {
			<-release // a client that stops reading: its receive goroutine blocks
		}
		h.Applied("slow", m)
	}})
	t.Cleanup(unblock) // runs before the client's Close (cleanups run last-in first-out), even after a failure
	h.Subscribed("slow", conv.ID, 0)
	if err := slow.Subscribe(conv.ID, 0); err != nil {
		t.Fatal(err)
	}
	var senders []*client.Client
	for i := 0; i < 10; i++ {
		senders = append(senders, n.Dial(cust, client.WebSocket, client.Options{}))
	}
	body := strings.Repeat("x", 3900) // about 4 KiB a frame
	total := 1500
	if testing.Short() {
		total = 800
	}
	results := make(chan error, total)
	for i := 0; i < total; i++ {
		// Sent concurrently: each send is its own session for the order check.
		op := h.Invoke(fmt.Sprint("sender-", i), conv.ID, client.NewID(), fmt.Sprintf("%d %s", i, body))
		go func() {
			ack, err := senders[i%len(senders)].SendID(context.Background(), conv.ID, op.ClientMsgID, op.Body, "")
			if err == nil {
				h.OK(op, ack.Seq, ack.ID)
			}
			results <- err
		}()
		if i%50 == 49 {
			time.Sleep(5 * time.Millisecond)
		}
	}
	start := time.Now()
	for i := 0; i < total; i++ {
		if err := <-results; err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("sent %d in %v", total, time.Since(start))
	deadline := time.Now().Add(20 * time.Second)
	for testutilSlowDisconnects(n) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the slow consumer was never disconnected")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("disconnected after %v", time.Since(start))
	stalled.Store(false)
	unblock()
	waitCaughtUp(t, []*client.Client{slow}, conv.ID, uint64(total))
	t.Logf("caught up after %v", time.Since(start))
	if r := h.Check(map[string][]protocol.Message{conv.ID: allMessages(t, n.Admin, conv.ID)}); !r.Clean() {
		t.Fatalf("checker: %v", r)
	}
}
