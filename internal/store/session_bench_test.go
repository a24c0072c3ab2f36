package store_test

import (
	"context"
	"crypto/sha256"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/store/storetest"
)

// BenchmarkAgentAuth compares the reads behind agent authentication while another connection keeps
// committing (on SQLite each commit makes the next read transaction reload its page cache, as on a busy server):
// "joined" is AgentSession, one statement; "separate" is what it replaced, the session, the agent and its teams
// read one after the other.
//
//	go test -run '^$' -bench AgentAuth -count 6 ./internal/store/ | benchstat -
func BenchmarkAgentAuth(b *testing.B) {
	for _, kind := range storetest.Kinds {
		b.Run(kind, func(b *testing.B) {
			s := storetest.Open(b, kind)
			ctx := context.Background()
			team, err := s.CreateTeam(ctx, "t")
			if err != nil {
				b.Fatal(err)
			}
			a := &chat.Agent{Email: "a@example.com", Name: "a", Role: chat.RoleAgent, PasswordHash: "x", Teams: []string{team.ID}}
			if err := s.CreateAgent(ctx, a); err != nil {
				b.Fatal(err)
			}
			h := sha256.Sum256([]byte("token"))
			now := time.Now()
			if err := s.CreateSession(ctx, &chat.Session{TokenHash: h[:], Kind: chat.PrincipalAgent, PrincipalID: a.ID,
				CreatedAt: now, ExpiresAt: now.Add(time.Hour), LastUsedAt: now}); err != nil {
				b.Fatal(err)
			}
			for _, mode := range []string{"joined", "separate"} {
				b.Run(mode, func(b *testing.B) {
					stop := make(chan struct{})
					var wg sync.WaitGroup
					wg.Add(1)
					go func() { // a commit every millisecond
						defer wg.Done()
						for {
							select {
							case <-stop:
								return
							case <-time.After(time.Millisecond):
							}
							_ = s.Audit(ctx, chat.AuditEntry{At: time.Now(), ActorType: "agent", ActorID: a.ID, Action: "bench", IP: "127.0.0.1"})
						}
					}()
					defer func() { close(stop); wg.Wait() }()
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						if mode == "joined" {
							if _, _, err := s.AgentSession(ctx, h[:]); err != nil {
								b.Fatal(err)
							}
							continue
						}
						se, err := s.Session(ctx, h[:])
						if err != nil {
							b.Fatal(err)
						}
						if _, err := s.Agent(ctx, se.PrincipalID); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}
