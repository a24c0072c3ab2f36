package store_test

import (
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/store"
	"github.com/parley-chat/parley/internal/store/storetest"
)

func TestOpenMigratesAndKeepsEpoch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, kind string) {
		o := storetest.Options(t, kind)
		ctx := context.Background()
		s1, err := store.Open(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		epoch := s1.Epoch()
		if len(epoch) < 16 {
			t.Fatalf("epoch %q is too short to be random", epoch)
		}
		ok, err := s1.SchemaCurrent(ctx)
		if err != nil || !ok {
			t.Fatalf("schema current = %v, %v", ok, err)
		}
		if info := s1.Info(); info.Driver != kind || !info.Durable || info.Migrations < 13 {
			t.Fatalf("info = %+v", info)
		}
		s1.Close()
		// Re-opening applies nothing new and keeps the epoch.
		s2 := storetest.OpenWith(t, o)
		if s2.Epoch() != epoch {
			t.Fatalf("epoch changed across restarts: %q -> %q", epoch, s2.Epoch())
		}
	})
}

func TestOpenWithoutMigrateRefusesOldSchema(t *testing.T) {
	o := storetest.Options(t, "sqlite")
	o.Migrate = false
	_, err := store.Open(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "parley migrate") {
		t.Fatalf("err = %v, want advice to run parley migrate", err)
	}
}

func TestSQLiteNormalSyncIsReportedNotDurable(t *testing.T) {
	o := storetest.Options(t, "sqlite")
	o.SQLiteSync = "NORMAL"
	s := storetest.OpenWith(t, o)
	if info := s.Info(); info.Durable || !strings.Contains(info.Warning, "power loss") {
		t.Fatalf("info = %+v", info)
	}
}

func TestRefusesCorruptAndForeignSQLite(t *testing.T) {
	ctx := context.Background()
	t.Run("garbage", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "parley.db"), []byte(strings.Repeat("not a database ", 500)), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := store.Open(ctx, store.Options{DataDir: dir, Migrate: true})
		if err == nil || !strings.Contains(err.Error(), "not a valid SQLite database") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("foreign", func(t *testing.T) {
		dir := t.TempDir()
		// Make a SQLite database of "another program": a table, no Parley application id.
		other := filepath.Join(dir, "parley.db")
		if err := storetest.CreateForeignSQLite(other); err != nil {
			t.Fatal(err)
		}
		_, err := store.Open(ctx, store.Options{DataDir: dir, Migrate: true})
		if err == nil || !strings.Contains(err.Error(), "another program") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestAgentsAndSessions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, kind string) {
		s := storetest.Open(t, kind)
		ctx := context.Background()
		team, err := s.CreateTeam(ctx, "售后 Support 🎧")
		if err != nil {
			t.Fatal(err)
		}
		a := &chat.Agent{Email: "Li.Lei@Example.com", Name: "李雷 👋", Role: chat.RoleAgent, Capacity: 3,
			Weight: 100, PasswordHash: "x", Teams: []string{team.ID}}
		if err := s.CreateAgent(ctx, a); err != nil {
			t.Fatal(err)
		}
		dup := &chat.Agent{Email: "li.lei@example.com", Name: "x", Role: chat.RoleAgent, PasswordHash: "x"}
		if err := s.CreateAgent(ctx, dup); !chat.IsCode(err, chat.CodeConflict) {
			t.Fatalf("duplicate e-mail: err = %v, want conflict", err)
		}
		got, err := s.AgentByEmail(ctx, "LI.LEI@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != a.ID || got.Name != "李雷 👋" || len(got.Teams) != 1 || got.Teams[0] != team.ID {
			t.Fatalf("got %+v", got)
		}
		teams, err := s.Teams(ctx)
		if err != nil || len(teams) != 1 || teams[0].Name != "售后 Support 🎧" {
			t.Fatalf("teams = %v, %v", teams, err)
		}
		if _, err := s.Agent(ctx, "00000000-0000-0000-0000-000000000000"); !chat.IsCode(err, chat.CodeNotFound) {
			t.Fatalf("unknown agent: err = %v", err)
		}

		now := time.Now()
		se := &chat.Session{TokenHash: []byte("0123456789abcdef0123456789abcdef"), Kind: chat.PrincipalAgent,
			PrincipalID: a.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour), LastUsedAt: now}
		if err := s.CreateSession(ctx, se); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Session(ctx, se.TokenHash); err != nil || got.PrincipalID != a.ID {
			t.Fatalf("session = %+v, %v", got, err)
		}
		// Disabling the agent revokes the session in the same transaction.
		yes := true
		up, err := s.UpdateAgent(ctx, a.ID, store.AgentPatch{Disabled: &yes})
		if err != nil || !up.Disabled {
			t.Fatalf("disable: %+v, %v", up, err)
		}
		if _, err := s.Session(ctx, se.TokenHash); !chat.IsCode(err, chat.CodeNotFound) {
			t.Fatalf("session of a disabled agent: err = %v, want not found", err)
		}
		// Expired sessions are not found.
		old := &chat.Session{TokenHash: []byte("fedcba9876543210fedcba9876543210"), Kind: chat.PrincipalAgent,
			PrincipalID: a.ID, CreatedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Hour), LastUsedAt: now.Add(-2 * time.Hour)}
		if err := s.CreateSession(ctx, old); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Session(ctx, old.TokenHash); !chat.IsCode(err, chat.CodeNotFound) {
			t.Fatalf("expired session: err = %v", err)
		}
		if n, err := s.PurgeExpiredSessions(ctx); err != nil || n != 1 {
			t.Fatalf("purge = %d, %v", n, err)
		}
	})
}

// TestAgentSession checks the joined read agent authentication uses against the separate reads it replaces:
// every team in order, an agent in no team, and the sessions it must not return.
func TestAgentSession(t *testing.T) {
	storetest.Each(t, func(t *testing.T, kind string) {
		s := storetest.Open(t, kind)
		ctx := context.Background()
		var teams []string
		for _, name := range []string{"B", "A", "C"} {
			team, err := s.CreateTeam(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			teams = append(teams, team.ID)
		}
		three := &chat.Agent{Email: "three@example.com", Name: "三", Role: chat.RoleSupervisor, Capacity: 4, AutoAccept: true,
			Weight: 50, PasswordHash: "x", Teams: teams}
		none := &chat.Agent{Email: "none@example.com", Name: "none", Role: chat.RoleAgent, PasswordHash: "x"}
		for _, a := range []*chat.Agent{three, none} {
			if err := s.CreateAgent(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		now := time.Now()
		session := func(hash string, kind chat.PrincipalKind, who string, expires time.Time) *chat.Session {
			h := sha256.Sum256([]byte(hash))
			se := &chat.Session{TokenHash: h[:], Kind: kind, PrincipalID: who, CreatedAt: now.Add(-time.Hour),
				ExpiresAt: expires, LastUsedAt: now, UserAgent: "ua", IP: "127.0.0.9"}
			if err := s.CreateSession(ctx, se); err != nil {
				t.Fatal(err)
			}
			return se
		}
		for _, a := range []*chat.Agent{three, none} {
			se := session(a.Email+"-0123456789abcdef", chat.PrincipalAgent, a.ID, now.Add(time.Hour))
			gotSe, got, err := s.AgentSession(ctx, se.TokenHash)
			if err != nil {
				t.Fatal(err)
			}
			want, err := s.Agent(ctx, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("AgentSession's agent\n%+v\nAgent's\n%+v", got, want)
			}
			wantSe, err := s.Session(ctx, se.TokenHash)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(gotSe, wantSe) {
				t.Fatalf("AgentSession's session\n%+v\nSession's\n%+v", gotSe, wantSe)
			}
		}
		if got, _ := s.Agent(ctx, three.ID); len(got.Teams) != 3 {
			t.Fatalf("teams %v, want 3", got.Teams)
		}
		expired := session("expired-0123456789abcdef", chat.PrincipalAgent, three.ID, now.Add(-time.Minute))
		customer := session("customer-0123456789abcdef", chat.PrincipalCustomer, three.ID, now.Add(time.Hour))
		for name, hash := range map[string][]byte{"expired": expired.TokenHash, "customer kind": customer.TokenHash, "unknown": make([]byte, 32)} {
			if _, _, err := s.AgentSession(ctx, hash); !chat.IsCode(err, chat.CodeNotFound) {
				t.Fatalf("%s session: err = %v, want not found", name, err)
			}
		}
	})
}

func TestAuditLogKeyset(t *testing.T) {
	storetest.Each(t, func(t *testing.T, kind string) {
		s := storetest.Open(t, kind)
		ctx := context.Background()
		base := time.Now().Truncate(time.Millisecond)
		for i := 0; i < 5; i++ {
			if err := s.Audit(ctx, chat.AuditEntry{At: base.Add(time.Duration(i) * time.Millisecond), ActorType: "agent",
				ActorID: "a", Action: "login", IP: "127.0.0.1"}); err != nil {
				t.Fatal(err)
			}
		}
		page1, err := s.AuditLog(ctx, time.Time{}, "", 3)
		if err != nil || len(page1) != 3 {
			t.Fatalf("page1 = %v, %v", page1, err)
		}
		last := page1[2]
		page2, err := s.AuditLog(ctx, last.At, last.ID, 3)
		if err != nil || len(page2) != 2 {
			t.Fatalf("page2 = %v, %v", page2, err)
		}
		if !page2[0].At.Before(last.At) {
			t.Fatalf("page2 starts at %v, not before %v", page2[0].At, last.At)
		}
	})
}

// TestConversationsByID reads many conversations in one call, across its 500-id chunks, leaving out ids that
// name nothing.
func TestConversationsByID(t *testing.T) {
	storetest.Each(t, func(t *testing.T, kind string) {
		s := storetest.Open(t, kind)
		_, ids := startConversations(t, s, 503)
		ask := append(slices.Clone(ids), "00000000-0000-7000-8000-000000000000", ids[0])
		got, err := s.ConversationsByID(context.Background(), ask)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(ids) {
			t.Fatalf("%d conversations, want %d", len(got), len(ids))
		}
		for _, id := range ids {
			if c := got[id]; c == nil || c.ID != id || c.SiteID == "" {
				t.Fatalf("conversation %s: %+v", id, c)
			}
		}
		if none, err := s.ConversationsByID(context.Background(), nil); err != nil || len(none) != 0 {
			t.Fatalf("no ids: %v, %v", none, err)
		}
	})
}
