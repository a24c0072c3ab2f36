package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/store"
	"github.com/parley-chat/parley/internal/store/storetest"
)

// TestHistoryPages: After and Before return exactly the asked number of messages, the right ones, in
// ascending order, for limits on and between the powers of two their statements are rounded up to.
func TestHistoryPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, kind string) {
		s := storetest.Open(t, kind)
		ctx := context.Background()
		_, ids := startConversations(t, s, 1)
		conv := ids[0]
		c := s.NewCommitter(store.CommitterOptions{})
		defer c.Close()
		var head uint64
		for i := range 37 {
			r := c.Send(ctx, &store.SendRequest{ConversationID: conv, SenderType: chat.SenderCustomer, SenderID: "c",
				SenderName: "c", Type: chat.TypeText, Body: fmt.Sprint("m", i), ClientMsgID: fmt.Sprint("id-", i)})
			if r.Err != nil {
				t.Fatal(r.Err)
			}
			head = r.Message.Seq
		}
		seqs := func(ms []*chat.Message) (out []uint64) {
			for _, m := range ms {
				out = append(out, m.Seq)
			}
			return out
		}
		span := func(from, to uint64) (out []uint64) { // from..to inclusive, clipped to 1..head
			for q := max(from, 1); q <= min(to, head); q++ {
				out = append(out, q)
			}
			return out
		}
		for _, limit := range []int{1, 2, 3, 5, 16, 17, 33, 50} {
			after, err := s.After(ctx, conv, 2, limit)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := seqs(after), span(3, uint64(2+limit)); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("After(2, %d) = %v, want %v", limit, got, want)
			}
			before, err := s.Before(ctx, conv, 30, limit)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := seqs(before), span(uint64(max(30-limit, 1)), 29); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("Before(30, %d) = %v, want %v", limit, got, want)
			}
			latest, err := s.Before(ctx, conv, 0, limit)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := seqs(latest), span(uint64(max(int(head)-limit+1, 1)), head); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("Before(0, %d) = %v, want %v", limit, got, want)
			}
		}
	})
}

// TestEventPages: Events returns exactly the asked number of events after the cursor, in order.
func TestEventPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, kind string) {
		s := storetest.Open(t, kind)
		ctx := context.Background()
		team, _ := startConversations(t, s, 6) // each start appends an event to the team's stream
		for _, c := range []struct {
			after uint64
			limit int
			want  string
		}{{0, 3, "[1 2 3]"}, {2, 2, "[3 4]"}, {1, 5, "[2 3 4 5 6]"}, {4, 50, "[5 6]"}} {
			evs, err := s.Events(ctx, chat.TeamStream(team.ID), c.after, c.limit)
			if err != nil {
				t.Fatal(err)
			}
			var got []uint64
			for _, ev := range evs {
				got = append(got, ev.Seq)
			}
			if fmt.Sprint(got) != c.want {
				t.Fatalf("Events(after %d, limit %d) = %v, want %s", c.after, c.limit, got, c.want)
			}
		}
	})
}
