package store_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/store"
	"github.com/parley-chat/parley/internal/store/storetest"
)

// The queue serves higher priority first, and within a priority the order of arrival; an agent's claims stop
// at their capacity.
func TestQueueOrderIsFIFOWithinPriority(t *testing.T) {
	storetest.Each(t, func(t *testing.T, kind string) {
		var mu sync.Mutex
		now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
		o := storetest.Options(t, kind)
		o.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		tick := func() { mu.Lock(); now = now.Add(time.Second); mu.Unlock() }
		s := storetest.OpenWith(t, o)
		ctx := context.Background()
		team, err := s.CreateTeam(ctx, storetest.Name("team"))
		if err != nil {
			t.Fatal(err)
		}
		site := &chat.Site{Name: "site", WidgetKey: storetest.Name("key"), Secret: "s", DefaultTeamID: team.ID}
		if err := s.CreateSite(ctx, site); err != nil {
			t.Fatal(err)
		}
		// Arrival order with their priorities: two normal, one VIP, one more normal, one more VIP.
		prios := []int{0, 0, 5, 0, 5}
		var ids []string
		for i, p := range prios {
			cust, _, err := s.CreateCustomer(ctx, &chat.Customer{SiteID: site.ID, Name: "c" + string(rune('a'+i))}, chat.ChannelWeb, "")
			if err != nil {
				t.Fatal(err)
			}
			conv, _, _, err := s.StartConversation(ctx, store.StartInput{SiteID: site.ID, CustomerID: cust.ID, TeamID: team.ID,
				Channel: chat.ChannelWeb, Priority: p})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, conv.ID)
			tick()
		}
		// Two more normal ones in the same millisecond: between themselves in id order.
		var tied []string
		for i := range 2 {
			cust, _, err := s.CreateCustomer(ctx, &chat.Customer{SiteID: site.ID, Name: fmt.Sprint("tied", i)}, chat.ChannelWeb, "")
			if err != nil {
				t.Fatal(err)
			}
			conv, _, _, err := s.StartConversation(ctx, store.StartInput{SiteID: site.ID, CustomerID: cust.ID, TeamID: team.ID,
				Channel: chat.ChannelWeb})
			if err != nil {
				t.Fatal(err)
			}
			tied = append(tied, conv.ID)
		}
		slices.Sort(tied)
		want := append([]string{ids[2], ids[4], ids[0], ids[1], ids[3]}, tied...)
		got, err := s.QueuePositions(ctx, team.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("queue %v, want %v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("queue order %v, want %v", got, want)
			}
			conv, err := s.Conversation(ctx, want[i])
			if err != nil {
				t.Fatal(err)
			}
			if pos, err := s.QueuePosition(ctx, conv); err != nil || pos != i+1 {
				t.Fatalf("position of %d: %d %v, want %d", i, pos, err, i+1)
			}
		}
		agent := &chat.Agent{Email: storetest.Name("a") + "@example.com", Name: "Ann", Role: chat.RoleAgent, Capacity: 3,
			AutoAccept: true, Weight: 100, Teams: []string{team.ID}, PasswordHash: "x"}
		if err := s.CreateAgent(ctx, agent); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AgentConnected(ctx, agent.ID); err != nil {
			t.Fatal(err)
		}
		offer := func(string) time.Duration { return 30 * time.Second }
		cands, err := s.Candidates(ctx, team.ID, o.Now().Add(-time.Hour))
		if err != nil || len(cands) != 1 {
			t.Fatalf("candidates %v %v", cands, err)
		}
		// Two in one claim, then one: in queue order.
		var took []*store.Change
		for _, n := range []int{2, 1} {
			chs, err := s.ClaimBatch(ctx, store.ClaimInput{TeamID: team.ID, Candidates: cands, OfferFor: offer, Max: n})
			if err != nil || len(chs) != n {
				t.Fatalf("claim of %d: %v %v", n, chs, err)
			}
			took = append(took, chs...)
			cands[0].Used += n
		}
		for i, ch := range took {
			if ch.Conv.ID != want[i] || ch.Conv.Status != chat.StatusAssigned || len(ch.Msgs) != 1 || ch.Msgs[0].Seq != 1 {
				t.Fatalf("claim %d took %s (%s, %d messages), want %s assigned with its system message", i, ch.Conv.ID, ch.Conv.Status, len(ch.Msgs), want[i])
			}
		}
		// A stale figure (the agent seen with room) cannot put them over their capacity: the claim takes nothing.
		cands[0].Used = 0
		if chs, err := s.ClaimBatch(ctx, store.ClaimInput{TeamID: team.ID, Candidates: cands, OfferFor: offer, Max: 5}); err != nil || len(chs) != 0 {
			t.Fatalf("a claim past the capacity: %v %v, want nothing", chs, err)
		}
		a, err := s.Agent(ctx, agent.ID)
		if err != nil || a.SlotsUsed != 3 {
			t.Fatalf("slots used %d %v, want 3", a.SlotsUsed, err)
		}
		if n, err := s.QueueLength(ctx, team.ID); err != nil || n != 4 {
			t.Fatalf("queue length %d %v, want 4", n, err)
		}
	})
}

// The inbox lists by activity: closed conversations are read off the activity indexes by closed_activity_at,
// which must equal their last_message_at (the cursor a client sends back) — pages of a closed list return each
// one once, newest activity first, also after a reopen and a second close; open ones are sorted by
// last_message_at, which a message moves.
func TestInboxByActivity(t *testing.T) {
	storetest.Each(t, func(t *testing.T, kind string) {
		var mu sync.Mutex
		now := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
		o := storetest.Options(t, kind)
		o.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); now = now.Add(time.Millisecond); return now }
		s := storetest.OpenWith(t, o)
		ctx := context.Background()
		team, ids := startConversations(t, s, 9)
		closeConv := func(id string) {
			t.Helper()
			if _, _, _, err := s.CloseConversation(ctx, id, store.Closer{Type: chat.SenderAgent, Name: "a"}); err != nil {
				t.Fatal(err)
			}
		}
		// Close six in a shuffled order, reopen one of them and close it again last.
		for _, i := range []int{4, 1, 7, 0, 5, 2} {
			closeConv(ids[i])
		}
		if _, err := s.Reopen(ctx, ids[1], time.Hour, func(string) string { return "" }); err != nil {
			t.Fatal(err)
		}
		open := func(id string) bool {
			c, err := s.Conversation(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			return c.Status.Open()
		}
		if !open(ids[1]) {
			t.Fatal("the reopened conversation is not open")
		}
		closeConv(ids[1])
		wantClosed := []string{ids[1], ids[2], ids[5], ids[0], ids[7], ids[4]} // newest activity first
		for _, view := range []store.InboxView{store.InboxTeam, store.InboxAll} {
			var got []string
			var cur store.InboxCursor
			for range 10 {
				page, err := s.Inbox(ctx, view, "", []string{team.ID}, 4, cur, store.InboxFilter{Status: chat.StatusClosed})
				if err != nil {
					t.Fatal(err)
				}
				if len(page) == 0 {
					break
				}
				for _, c := range page {
					got = append(got, c.ID)
				}
				last := page[len(page)-1]
				cur = store.InboxCursor{At: last.LastMessageAt, ID: last.ID}
			}
			if !slices.Equal(got, wantClosed) {
				t.Errorf("%s view, closed, pages of 4: %v, want %v", view, got, wantClosed)
			}
		}
		// Open ones by their latest message: a message to the oldest moves it first.
		c := s.NewCommitter(store.CommitterOptions{})
		defer c.Close()
		for _, i := range []int{3, 8, 6} {
			r := c.Send(ctx, &store.SendRequest{ConversationID: ids[i], SenderType: chat.SenderCustomer, SenderID: "c", SenderName: "c",
				Type: chat.TypeText, Body: "hi", ClientMsgID: "m-" + ids[i]})
			if r.Err != nil {
				t.Fatal(r.Err)
			}
		}
		page, err := s.Inbox(ctx, store.InboxTeam, "", []string{team.ID}, 10, store.InboxCursor{}, store.InboxFilter{Status: chat.StatusQueued})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range page {
			got = append(got, c.ID)
		}
		if want := []string{ids[6], ids[8], ids[3]}; !slices.Equal(got, want) {
			t.Errorf("team view, queued: %v, want %v (by latest message)", got, want)
		}
	})
}
