package store_test

import (
	"context"
	"testing"

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
