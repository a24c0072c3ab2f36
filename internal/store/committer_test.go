package store_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/store"
	"github.com/parley-chat/parley/internal/store/storetest"
)

// EnqueueFunc answers through its callback exactly what Enqueue's waiter gives: the stored message, a retry
// as the original with duplicate set, a reused key and an unknown conversation as errors; the callback comes
// after the messages were published; and after Close nothing is queued and the callback is never called.
func TestCommitterEnqueueFunc(t *testing.T) {
	storetest.Each(t, func(t *testing.T, kind string) {
		s := storetest.Open(t, kind)
		ctx := context.Background()
		team, err := s.CreateTeam(ctx, "t")
		if err != nil {
			t.Fatal(err)
		}
		site := &chat.Site{Name: "site", WidgetKey: storetest.Name("key"), Secret: "s", DefaultTeamID: team.ID}
		if err := s.CreateSite(ctx, site); err != nil {
			t.Fatal(err)
		}
		cust, _, err := s.CreateCustomer(ctx, &chat.Customer{SiteID: site.ID, Name: "c"}, chat.ChannelWeb, "")
		if err != nil {
			t.Fatal(err)
		}
		conv, _, _, err := s.StartConversation(ctx, store.StartInput{SiteID: site.ID, CustomerID: cust.ID, TeamID: team.ID, Channel: chat.ChannelWeb})
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		published := map[string]bool{} // client message ids published so far
		c := s.NewCommitter(store.CommitterOptions{Published: func(rs []store.SendResult) {
			mu.Lock()
			defer mu.Unlock()
			for _, r := range rs {
				published[r.Message.ClientMsgID] = true
			}
		}})
		defer c.Close()
		send := func(convID, clientID, body string) store.SendResult {
			t.Helper()
			got := make(chan store.SendResult, 2)
			req := &store.SendRequest{ConversationID: convID, SenderType: chat.SenderCustomer, SenderID: cust.ID,
				SenderName: "c", Type: chat.TypeText, Body: body, ClientMsgID: clientID}
			if err := c.EnqueueFunc(ctx, req, func(r store.SendResult) {
				if r.Err == nil && !r.Duplicate {
					mu.Lock()
					ok := published[clientID]
					mu.Unlock()
					if !ok {
						t.Errorf("%s answered before it was published", clientID)
					}
				}
				got <- r
			}); err != nil {
				t.Fatal(err)
			}
			select {
			case r := <-got:
				return r
			case <-time.After(30 * time.Second):
				t.Fatalf("no answer for %s", clientID)
			}
			return store.SendResult{}
		}
		first := send(conv.ID, "m1", "hello")
		if first.Err != nil || first.Duplicate || first.Message.Seq != 1 || first.Conversation.LastSeq != 1 {
			t.Fatalf("first send: %+v", first)
		}
		// The result's conversation is the committer's narrow read (commitConvCols): the fields it promises
		// must be those of the stored conversation.
		stored, err := s.Conversation(ctx, conv.ID)
		if err != nil {
			t.Fatal(err)
		}
		got := first.Conversation
		if got.ID != stored.ID || got.SiteID != site.ID || got.CustomerID != cust.ID || got.TeamID != team.ID ||
			got.AgentID != stored.AgentID || got.Status != stored.Status || got.Channel != chat.ChannelWeb ||
			got.LastSeq != stored.LastSeq || !got.LastMessageAt.Equal(stored.LastMessageAt) ||
			!got.FirstResponseAt.Equal(stored.FirstResponseAt) || got.Status == "" {
			t.Fatalf("the result's conversation %+v does not match the stored %+v", got, stored)
		}
		if r := send(conv.ID, "m2", "again"); r.Err != nil || r.Message.Seq != 2 {
			t.Fatalf("second send: %+v", r)
		}
		retry := send(conv.ID, "m1", "hello")
		if retry.Err != nil || !retry.Duplicate || retry.Message.Seq != 1 || retry.Message.ID != first.Message.ID {
			t.Fatalf("retry: %+v, want the original seq 1 as a duplicate", retry)
		}
		if r := send(conv.ID, "m1", "a different text"); chat.ErrorCode(r.Err) != chat.CodeKeyReused {
			t.Fatalf("reused key: %v, want %s", r.Err, chat.CodeKeyReused)
		}
		if r := send("01930000-0000-7000-8000-000000000000", "m3", "x"); chat.ErrorCode(r.Err) != chat.CodeNotFound {
			t.Fatalf("unknown conversation: %v, want %s", r.Err, chat.CodeNotFound)
		}

		c.Close()
		called := false
		err = c.EnqueueFunc(ctx, &store.SendRequest{ConversationID: conv.ID, SenderType: chat.SenderCustomer, SenderID: cust.ID,
			Type: chat.TypeText, Body: "late", ClientMsgID: "m4"}, func(store.SendResult) { called = true })
		if chat.ErrorCode(err) != chat.CodeShuttingDown || called {
			t.Fatalf("after Close: err %v, called %v; want %s and no call", err, called, chat.CodeShuttingDown)
		}
	})
}

// One transaction that holds messages of many conversations advances every one of their heads: last_seq to its
// newest message, last_message_at to the commit's time, and first_response_at only where an agent answered.
// 210 conversations put more than one UPDATE's worth (200) of heads in a batch on MySQL.
func TestCommitterBatchAdvancesEveryHead(t *testing.T) {
	storetest.Each(t, func(t *testing.T, kind string) {
		s := storetest.Open(t, kind)
		ctx := context.Background()
		_, ids := startConversations(t, s, 210)
		var mu sync.Mutex
		largest := 0
		order := map[string][]uint64{} // each conversation's messages in the order they were published
		c := s.NewCommitter(store.CommitterOptions{MaxBatch: 512, Observe: func(n int, _ time.Duration, err error) {
			mu.Lock()
			largest = max(largest, n)
			mu.Unlock()
		}, Published: func(rs []store.SendResult) {
			mu.Lock()
			defer mu.Unlock()
			for _, r := range rs {
				order[r.Message.ConversationID] = append(order[r.Message.ConversationID], r.Message.Seq)
			}
		}})
		defer c.Close()
		var waits, missing []func(context.Context) store.SendResult
		want := map[string]uint64{}
		answered := map[string]bool{}
		for round := range 2 {
			for i, id := range ids {
				if round == 1 && i%3 != 0 {
					continue // every third conversation gets a second message
				}
				typ, agent := chat.SenderCustomer, i%5 == 0 && round == 1
				if agent {
					typ = chat.SenderAgent
					answered[id] = true
				}
				wait, err := c.Enqueue(ctx, &store.SendRequest{ConversationID: id, SenderType: typ, SenderID: "x",
					SenderName: "x", Type: chat.TypeText, Body: "hi", ClientMsgID: fmt.Sprint("m", round, "-", i)})
				if err != nil {
					t.Fatal(err)
				}
				waits = append(waits, wait)
				want[id]++
				if round == 0 && i%7 == 3 {
					// A conversation that does not exist, read in the same statement as known ones: it is
					// answered as not found and the others of its batch are stored.
					wait, err := c.Enqueue(ctx, &store.SendRequest{ConversationID: fmt.Sprintf("01930000-0000-7000-8000-%012d", i),
						SenderType: chat.SenderCustomer, SenderID: "x", SenderName: "x", Type: chat.TypeText, Body: "hi", ClientMsgID: fmt.Sprint("u", i)})
					if err != nil {
						t.Fatal(err)
					}
					missing = append(missing, wait)
				}
			}
		}
		for _, wait := range waits {
			if r := wait(ctx); r.Err != nil {
				t.Fatal(r.Err)
			}
		}
		for _, wait := range missing {
			if r := wait(ctx); chat.ErrorCode(r.Err) != chat.CodeNotFound {
				t.Fatalf("a send to an unknown conversation in a batch: %v, want %s", r.Err, chat.CodeNotFound)
			}
		}
		if largest < 2 {
			t.Fatalf("the largest transaction held %d message(s): nothing was batched, so this tested nothing", largest)
		}
		mu.Lock()
		for i, id := range ids {
			// Published once each, in sequence order, across batches: the shard's publisher takes the batches
			// in commit order.
			got := order[id]
			ok := len(got) == int(want[id])
			for k, seq := range got {
				ok = ok && seq == uint64(k+1)
			}
			if !ok {
				t.Errorf("conversation %d: published seqs %v, want 1..%d in order", i, got, want[id])
			}
		}
		mu.Unlock()
		for i, id := range ids {
			conv, err := s.Conversation(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if conv.LastSeq != want[id] {
				t.Errorf("conversation %d: last_seq %d, want %d", i, conv.LastSeq, want[id])
			}
			last, err := s.MessageAt(ctx, id, want[id])
			if err != nil {
				t.Fatal(err)
			}
			if !conv.LastMessageAt.Equal(last.CreatedAt) {
				t.Errorf("conversation %d: last_message_at %v, want its last message's %v", i, conv.LastMessageAt, last.CreatedAt)
			}
			if got := !conv.FirstResponseAt.IsZero(); got != answered[id] {
				t.Errorf("conversation %d: first response set %v, want %v", i, got, answered[id])
			}
		}
	})
}

// The committer inserts without looking client message ids up first and lets the unique index catch a retry.
// A retry must still come back as the original message, in a batch with new messages (numbered after the
// conversation's head, not after the failed attempt), and also when the request's check would now refuse it
// (a conversation closed since): a retry of a stored message gets its acknowledgement, not the refusal.
func TestCommitterRetriesWithoutLookup(t *testing.T) {
	storetest.Each(t, func(t *testing.T, kind string) {
		s := storetest.Open(t, kind)
		ctx := context.Background()
		_, ids := startConversations(t, s, 1)
		conv := ids[0]
		c := s.NewCommitter(store.CommitterOptions{MaxBatch: 64})
		defer c.Close()
		req := func(key, body string, check func(*chat.Conversation) error) *store.SendRequest {
			return &store.SendRequest{ConversationID: conv, SenderType: chat.SenderCustomer, SenderID: "cust",
				SenderName: "c", Type: chat.TypeText, Body: body, ClientMsgID: key, Check: check}
		}
		orig := map[string]*chat.Message{}
		for _, k := range []string{"m1", "m2", "m3"} {
			r := c.Send(ctx, req(k, "body "+k, nil))
			if r.Err != nil || r.Duplicate {
				t.Fatalf("%s: %+v", k, r)
			}
			orig[k] = r.Message
		}
		keys := []string{"m4", "m2", "m5", "m2", "m6"}
		var waits []func(context.Context) store.SendResult
		for _, k := range keys {
			body := "body " + k
			wait, err := c.Enqueue(ctx, req(k, body, nil))
			if err != nil {
				t.Fatal(err)
			}
			waits = append(waits, wait)
		}
		next := uint64(4)
		for i, wait := range waits {
			r := wait(ctx)
			switch {
			case r.Err != nil:
				t.Fatalf("%s: %v", keys[i], r.Err)
			case keys[i] == "m2":
				if !r.Duplicate || r.Message.ID != orig["m2"].ID || r.Message.Seq != 2 {
					t.Errorf("retry of m2: duplicate %v, seq %d, id %s; want the original seq 2, %s", r.Duplicate, r.Message.Seq, r.Message.ID, orig["m2"].ID)
				}
			default:
				if r.Duplicate || r.Message.Seq != next {
					t.Errorf("%s: duplicate %v, seq %d; want new at seq %d", keys[i], r.Duplicate, r.Message.Seq, next)
				}
				next++
			}
		}
		// A new committer: the retries above made this one look keys up for its next batches.
		c.Close()
		c = s.NewCommitter(store.CommitterOptions{})
		defer c.Close()
		closed := func(*chat.Conversation) error { return chat.Errorf(chat.CodeClosed, "the conversation is closed") }
		if r := c.Send(ctx, req("m3", "body m3", closed)); r.Err != nil || !r.Duplicate || r.Message.ID != orig["m3"].ID {
			t.Errorf("retry of m3 after the conversation closed: %+v; want the original acknowledgement", r)
		}
		if r := c.Send(ctx, req("m7", "body m7", closed)); chat.ErrorCode(r.Err) != chat.CodeClosed {
			t.Errorf("a new message to a closed conversation: %v, want %s", r.Err, chat.CodeClosed)
		}
		got, err := s.Conversation(ctx, conv)
		if err != nil {
			t.Fatal(err)
		}
		if got.LastSeq != next-1 {
			t.Errorf("last_seq %d, want %d", got.LastSeq, next-1)
		}
	})
}

// On MySQL the committer's connections run with autocommit off and send a batch's writes with its COMMIT
// (committer_mysql.go), so a batch that fails for good must end its transaction itself: the conversation it
// locked is free at once (another transaction's locking read with NOWAIT gets it), nothing of the batch is
// stored, and the next message to the conversation is numbered 1.
func TestCommitterFailedBatchReleasesLocks(t *testing.T) {
	s := storetest.Open(t, "mysql")
	ctx := context.Background()
	_, ids := startConversations(t, s, 1)
	conv := ids[0]
	c := s.NewCommitter(store.CommitterOptions{Shards: 1})
	defer c.Close()
	req := func(key, name string) *store.SendRequest {
		return &store.SendRequest{ConversationID: conv, SenderType: chat.SenderCustomer, SenderID: "cust",
			SenderName: name, Type: chat.TypeText, Body: "body " + key, ClientMsgID: key}
	}
	// sender_name is VARCHAR(100): strict mode refuses the INSERT, after the locking read of the conversation.
	if r := c.Send(ctx, req("m1", strings.Repeat("n", 101))); r.Err == nil {
		t.Fatalf("a sender name longer than its column was stored: %+v", r.Message)
	}
	tx, err := s.DB().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var seq uint64
	err = tx.QueryRowContext(ctx, "SELECT last_seq FROM conversations WHERE id = ? FOR UPDATE NOWAIT", conv).Scan(&seq)
	tx.Rollback()
	if err != nil {
		t.Fatalf("the failed batch left the conversation locked: %v", err)
	}
	if seq != 0 {
		t.Fatalf("last_seq %d after a failed batch, want 0", seq)
	}
	for i := range 3 { // the pool's connections are all usable: each send commits
		r := c.Send(ctx, req(fmt.Sprint("m", i+2), "c"))
		if r.Err != nil || r.Message.Seq != uint64(i+1) {
			t.Fatalf("send %d after the failed batch: %+v", i+1, r)
		}
	}
}
