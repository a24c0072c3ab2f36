package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/store"
	"github.com/parley-chat/parley/internal/store/storetest"
)

// BenchmarkInboxOpen measures a first page (50) of the inbox lists by activity over 10,000 open (queued)
// conversations of one team: the team view and the all view. The activity indexes leave out open
// conversations' activity (migration 00040), so these lists read the state's open conversations and sort them.
//
//	go test -run '^$' -bench InboxOpen -count 5 ./internal/store/
func BenchmarkInboxOpen(b *testing.B) {
	for _, kind := range storetest.Kinds {
		b.Run(kind, func(b *testing.B) {
			s := storetest.OpenWith(b, storetest.Options(b, kind))
			team, _ := startConversations(b, s, 10000)
			ctx := context.Background()
			for _, view := range []store.InboxView{store.InboxTeam, store.InboxAll} {
				b.Run(string(view), func(b *testing.B) {
					for b.Loop() {
						page, err := s.Inbox(ctx, view, "", []string{team.ID}, 50, store.InboxCursor{}, store.InboxFilter{Status: chat.StatusQueued})
						if err != nil {
							b.Fatal(err)
						}
						if len(page) != 50 {
							b.Fatalf("a page of %d, want 50", len(page))
						}
					}
				})
			}
		})
	}
}

// BenchmarkInactive measures one read of the router's inactivity sweep over 10,000 open (queued) conversations
// of which none is idle: the sweep runs it for each open state when a site sets auto_close_after_s.
//
//	go test -run '^$' -bench Inactive -count 5 ./internal/store/
func BenchmarkInactive(b *testing.B) {
	for _, kind := range storetest.Kinds {
		b.Run(kind, func(b *testing.B) {
			s := storetest.OpenWith(b, storetest.Options(b, kind))
			startConversations(b, s, 10000)
			ctx := context.Background()
			cutoff := time.Now().Add(-2 * time.Minute)
			for b.Loop() {
				convs, err := s.Inactive(ctx, chat.StatusQueued, cutoff, 200)
				if err != nil {
					b.Fatal(err)
				}
				if len(convs) != 0 {
					b.Fatalf("%d idle, want none", len(convs))
				}
			}
		})
	}
}
