package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/store"
	"github.com/parley-chat/parley/internal/store/storetest"
)

// A touch is written behind the request: TouchSession returns with the session's new times, and what it queued
// is in the database once the store is closed (Close writes the queue out). A session used within the minute
// is not touched again.
func TestSessionTouchesWrittenBehind(t *testing.T) {
	storetest.Each(t, func(t *testing.T, kind string) {
		ctx := context.Background()
		o := storetest.Options(t, kind)
		s, err := store.Open(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		store.DelayTouchWrites(s, 20*time.Millisecond) // Close comes while touches are still queued
		now := time.Now().UTC().Truncate(time.Millisecond)
		var sessions []*chat.Session
		for i := range 600 { // 300 touched: more than one flush transaction's worth (256)
			se := &chat.Session{TokenHash: []byte(fmt.Sprintf("%032d", i)), Kind: chat.PrincipalAgent, PrincipalID: "p",
				CreatedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(time.Hour), LastUsedAt: now.Add(-2 * time.Minute)}
			if i%2 == 1 {
				se.LastUsedAt = now.Add(-30 * time.Second) // used within the minute: left alone
			}
			if err := s.CreateSession(ctx, se); err != nil {
				t.Fatal(err)
			}
			sessions = append(sessions, se)
		}
		want := make([]chat.Session, len(sessions))
		for i, se := range sessions {
			before := *se
			if err := s.TouchSession(ctx, se, 24*time.Hour, 30*24*time.Hour); err != nil {
				t.Fatal(err)
			}
			if i%2 == 0 && (!se.LastUsedAt.After(before.LastUsedAt) || !se.ExpiresAt.After(before.ExpiresAt)) {
				t.Fatalf("session %d: TouchSession left %+v unchanged", i, se)
			}
			if i%2 == 1 && (!se.LastUsedAt.Equal(before.LastUsedAt) || !se.ExpiresAt.Equal(before.ExpiresAt)) {
				t.Fatalf("session %d, used 30 s ago: touched to %+v", i, se)
			}
			want[i] = *se
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = storetest.OpenWith(t, o)
		for i := range want {
			got, err := s.Session(ctx, want[i].TokenHash)
			if err != nil {
				t.Fatal(err)
			}
			if !got.LastUsedAt.Equal(want[i].LastUsedAt) || !got.ExpiresAt.Equal(want[i].ExpiresAt) {
				t.Errorf("session %d: stored last use %v, expiry %v; want %v, %v", i, got.LastUsedAt, got.ExpiresAt,
					want[i].LastUsedAt, want[i].ExpiresAt)
			}
		}
	})
}
