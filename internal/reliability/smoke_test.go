package reliability

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apptest"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/store/storetest"
	"github.com/parley-chat/parley/protocol"
)

// inbox collects what a client's OnMessage saw.
type inbox struct {
	mu   sync.Mutex
	msgs []protocol.Message
	ch   chan struct{}
}

func newInbox() *inbox { return &inbox{ch: make(chan struct{}, 1)} }

func (b *inbox) add(m protocol.Message) {
	b.mu.Lock()
	b.msgs = append(b.msgs, m)
	b.mu.Unlock()
	select {
	case b.ch <- struct{}{}:
	default:
	}
}

func (b *inbox) snapshot() []protocol.Message {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]protocol.Message(nil), b.msgs...)
}

// waitFor waits until the inbox holds n messages.
func (b *inbox) waitFor(t *testing.T, n int, within time.Duration) []protocol.Message {
	t.Helper()
	deadline := time.After(within)
	for {
		got := b.snapshot()
		if len(got) >= n {
			return got
		}
		select {
		case <-b.ch:
		case <-deadline:
			t.Fatalf("waited %v for %d messages, have %d: %+v", within, n, len(got), got)
		}
	}
}

func TestConversationOverBothTransports(t *testing.T) {
	storetest.Each(t, func(t *testing.T, kind string) {
		for _, transport := range []string{client.WebSocket, client.LongPoll} {
			t.Run(transport, func(t *testing.T) {
				n := apptest.Start(t, kind, apptest.Options{})
				ctx := context.Background()
				cust := n.Customer("王小明")
				conv, err := cust.StartConversation(ctx, "")
				if err != nil {
					t.Fatal(err)
				}
				if !conv.Created || conv.Status != string(chat.StatusQueued) {
					t.Fatalf("conversation = %+v", conv)
				}
				agentAPI := n.Agent("li@example.com", chat.RoleAgent)

				custIn, agentIn := newInbox(), newInbox()
				cc := n.Dial(cust, transport, client.Options{OnMessage: custIn.add})
				ac := n.Dial(agentAPI, transport, client.Options{OnMessage: agentIn.add})
				if err := cc.Subscribe(conv.ID, 0); err != nil {
					t.Fatal(err)
				}
				if err := ac.Subscribe(conv.ID, 0); err != nil {
					t.Fatal(err)
				}
				ack, err := cc.Send(ctx, conv.ID, "你好，我的订单没到 📦")
				if err != nil {
					t.Fatal(err)
				}
				if ack.Seq != 1 || ack.Epoch == "" || ack.Duplicate {
					t.Fatalf("ack = %+v", ack)
				}
				if _, err := ac.SendID(ctx, conv.ID, client.NewID(), "internal: check the warehouse", protocol.MsgNote); err != nil {
					t.Fatal(err)
				}
				if _, err := ac.Send(ctx, conv.ID, "Hello! Let me check. 我来查一下。"); err != nil {
					t.Fatal(err)
				}
				got := agentIn.waitFor(t, 3, 10*time.Second)
				if got[0].Body != "你好，我的订单没到 📦" || got[1].Type != "note" || got[2].Seq != 3 {
					t.Fatalf("agent saw %+v", got)
				}
				cgot := custIn.waitFor(t, 3, 10*time.Second)
				if !cgot[1].Hidden || cgot[1].Body != "" || cgot[2].Body != "Hello! Let me check. 我来查一下。" {
					t.Fatalf("customer saw %+v (the note must be hidden)", cgot)
				}
			})
		}
	})
}
