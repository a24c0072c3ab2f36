package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/store"
	"github.com/parley-chat/parley/internal/store/storetest"
)

// TestPcacheShimKeepsTheDatabaseIntact drives SQLite's b-tree into the page swaps that park a page under the
// lock-byte page's number (random inserts into many conversations, small commits: the leaves split all the
// time), which the page-cache shim files under key 0 instead (pcache.go). The shim must be installed and must
// have renamed, and the database must come out whole: SQLite's integrity check passes and every
// conversation's messages read back complete and in order.
func TestPcacheShimKeepsTheDatabaseIntact(t *testing.T) {
	if err := store.PcacheShimErr(); err != nil {
		t.Fatalf("the page-cache shim is not installed: %v", err)
	}
	ctx := context.Background()
	s := storetest.OpenWith(t, storetest.Options(t, "sqlite"))
	_, ids := startConversations(t, s, 200)
	c := s.NewCommitter(store.CommitterOptions{})
	defer c.Close()

	renames := store.PcacheRenames()
	const senders, each = 8, 400
	body := "a message long enough that a leaf holds only a few dozen of them, so that leaves split often: 你好"
	var mu sync.Mutex
	sent := map[string]int{}
	var wg sync.WaitGroup
	for w := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for i := range each {
				conv := ids[rng.IntN(len(ids))]
				r := c.Send(ctx, &store.SendRequest{ConversationID: conv, SenderType: chat.SenderCustomer, SenderID: "c",
					SenderName: "c", Type: chat.TypeText, Body: fmt.Sprintf("%s %d/%d", body, w, i),
					ClientMsgID: fmt.Sprintf("m-%d-%d", w, i)})
				if r.Err != nil {
					t.Error(r.Err)
					return
				}
				mu.Lock()
				sent[conv]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	got := store.PcacheRenames() - renames
	t.Logf("%d page swaps through the lock-byte page number", got)
	if got == 0 {
		t.Fatalf("%d messages split no page through the lock-byte page's number: the test no longer exercises the shim", senders*each)
	}

	var check string
	if err := s.DB().QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&check); err != nil {
		t.Fatal(err)
	}
	if check != "ok" {
		t.Fatalf("integrity_check: %s", check)
	}
	total := 0
	for _, id := range ids {
		var seq uint64
		for {
			page, err := s.After(ctx, id, seq, 100)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			for _, m := range page {
				if m.Seq != seq+1 {
					t.Fatalf("conversation %s: seq %d after %d", id, m.Seq, seq)
				}
				seq = m.Seq
			}
		}
		if int(seq) != sent[id] {
			t.Fatalf("conversation %s: %d messages read back, %d sent", id, seq, sent[id])
		}
		total += int(seq)
	}
	if total != senders*each {
		t.Fatalf("%d messages read back, %d sent", total, senders*each)
	}
}
