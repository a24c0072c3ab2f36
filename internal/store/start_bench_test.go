package store_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/store"
	"github.com/parley-chat/parley/internal/store/storetest"
)

// BenchmarkStart measures the store's half of S5: many customers starting conversations at once in one team,
// each routed in its creating transaction to one of 20 auto-accept agents (candidates read before the start,
// as the router does). Besides the time per start it reports the process's CPU per start and, on MySQL, the
// CPU of the local mariadbd per start (db-cpu-µs/start; that server is shared with whatever else runs).
// PARLEY_BENCH_STARTERS (default 64) sets how many start at once.
//
//	PARLEY_TEST_MYSQL_DSN=mysql://root@127.0.0.1:3306/test go test -run '^$' -bench Start -benchtime 5000x ./internal/store/
func BenchmarkStart(b *testing.B) {
	starters := 64
	if v := os.Getenv("PARLEY_BENCH_STARTERS"); v != "" {
		starters, _ = strconv.Atoi(v)
	}
	for _, kind := range storetest.Kinds {
		b.Run(kind, func(b *testing.B) {
			s := storetest.OpenWith(b, storetest.Options(b, kind))
			benchStart(b, s, starters)
		})
	}
}

func benchStart(b *testing.B, s *store.Store, starters int) {
	ctx := context.Background()
	team, err := s.CreateTeam(ctx, "t")
	if err != nil {
		b.Fatal(err)
	}
	site := &chat.Site{Name: "site", WidgetKey: storetest.Name("key"), Secret: "s", DefaultTeamID: team.ID}
	if err := s.CreateSite(ctx, site); err != nil {
		b.Fatal(err)
	}
	for i := range 20 {
		a := &chat.Agent{Email: fmt.Sprintf("a%d@example.com", i), Name: fmt.Sprint("a", i), Role: chat.RoleAgent,
			Capacity: chat.MaxCapacity, AutoAccept: true, Weight: 100, Teams: []string{team.ID}}
		if err := s.CreateAgent(ctx, a); err != nil {
			b.Fatal(err)
		}
		if err := s.SetPresence(ctx, a.ID, chat.PresenceOnline); err != nil {
			b.Fatal(err)
		}
	}
	custs := make([]string, b.N)
	for i := range custs {
		c, _, err := s.CreateCustomer(ctx, &chat.Customer{SiteID: site.ID, Name: fmt.Sprint("c", i)}, chat.ChannelWeb, "")
		if err != nil {
			b.Fatal(err)
		}
		custs[i] = c.ID
	}
	var next, assigned atomic.Int64
	cpu0, db0 := cpuTime(), mariadbCPU()
	b.ResetTimer()
	var wg sync.WaitGroup
	for range starters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				cands, err := s.Candidates(ctx, team.ID, time.Now().Add(-time.Minute))
				if err != nil {
					b.Error(err)
					return
				}
				conv, _, _, err := s.StartConversation(ctx, store.StartInput{SiteID: site.ID, CustomerID: custs[i], TeamID: team.ID,
					Channel: chat.ChannelWeb, Route: &store.RouteOnStart{Candidates: chat.Rank(cands), OfferFor: time.Minute}})
				if err != nil {
					b.Error(err)
					return
				}
				if conv.Status == chat.StatusAssigned {
					assigned.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/start")
	if db0 >= 0 {
		b.ReportMetric(float64((mariadbCPU()-db0).Microseconds())/float64(b.N), "db-cpu-µs/start")
	}
	b.ReportMetric(float64(assigned.Load())/float64(b.N), "assigned/start")
}

// mariadbCPU is the CPU the local mariadbd has used, or -1 when there is none to read.
func mariadbCPU() time.Duration {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return -1
	}
	for _, e := range ents {
		comm, err := os.ReadFile("/proc/" + e.Name() + "/comm")
		if err != nil || strings.TrimSpace(string(comm)) != "mariadbd" {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			return -1
		}
		// Fields after the command's closing parenthesis: state is the 3rd field, utime the 14th, stime the 15th.
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
		if len(f) < 13 {
			return -1
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		return time.Duration(u+st) * (time.Second / 100) // USER_HZ is 100 on Linux
	}
	return -1
}

// BenchmarkQueuePosition reads the place of the last of 5,000 conversations waiting in one team's queue: what
// every queued customer's subscribe costs (PARLEY_TEST_MYSQL_DSN adds MySQL/MariaDB).
func BenchmarkQueuePosition(b *testing.B) {
	for _, kind := range storetest.Kinds {
		b.Run(kind, func(b *testing.B) {
			s := storetest.Open(b, kind)
			ctx := context.Background()
			_, ids := startConversations(b, s, 5000)
			last, err := s.Conversation(ctx, ids[len(ids)-1])
			if err != nil || last.Status != chat.StatusQueued {
				b.Fatalf("the last conversation: %+v, %v; want it queued", last, err)
			}
			b.ResetTimer()
			for b.Loop() {
				pos, err := s.QueuePosition(ctx, last)
				if err != nil || pos != len(ids) {
					b.Fatalf("position %d, %v; want %d", pos, err, len(ids))
				}
			}
		})
	}
}
