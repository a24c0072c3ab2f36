package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/bench"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/store"
	"github.com/parley-chat/parley/internal/store/storetest"
)

// BenchmarkCommit measures the message path's store half alone: messages of many senders at once to random
// conversations through the group committer, durable (SQLite synchronous=FULL; MySQL/MariaDB with
// PARLEY_TEST_MYSQL_DSN). Besides the time per message it reports the process's CPU per message (cpu-µs/msg:
// on a shared machine steadier than the time), the commits' average batch and on SQLite the pages of the log a
// message writes (wal-pages/msg). PARLEY_BENCH_CONVERSATIONS
// (default 2,000) sets how many conversations the messages spread over, PARLEY_BENCH_SENDERS (default 64) how
// many send at once: few senders make small commits, whose fixed cost dominates (S1 commits ~3 messages).
//
//	go test -run '^$' -bench Commit -benchtime 20000x -count 5 ./internal/store/ | benchstat -
func BenchmarkCommit(b *testing.B) {
	convs := 2000
	if v := os.Getenv("PARLEY_BENCH_CONVERSATIONS"); v != "" {
		convs, _ = strconv.Atoi(v)
	}
	for _, kind := range storetest.Kinds {
		b.Run(kind, func(b *testing.B) {
			o := storetest.Options(b, kind) // skips MySQL without PARLEY_TEST_MYSQL_DSN
			s := storetest.OpenWith(b, o)
			benchCommit(b, s, convs)
		})
	}
}

func benchCommit(b *testing.B, s *store.Store, n int) {
	ctx := context.Background()
	_, ids := startConversations(b, s, n)
	var batches, batched atomic.Int64
	c := s.NewCommitter(store.CommitterOptions{Observe: func(batch int, _ time.Duration, err error) {
		if err == nil {
			batches.Add(1)
			batched.Add(int64(batch))
		}
	}})
	defer c.Close()
	body := "Hello, I ordered a blue jacket last week and it has not arrived yet. 你好，我上周订的蓝色外套还没到。"
	senders := 64
	if v, err := strconv.Atoi(os.Getenv("PARLEY_BENCH_SENDERS")); err == nil && v > 0 {
		senders = v
	}
	// Parley's clients send time-ordered ids (UUIDv7, client.NewID); PARLEY_BENCH_RANDOM_IDS=1 sends random ones
	// instead, as a client with UUIDv4s would.
	randomIDs := os.Getenv("PARLEY_BENCH_RANDOM_IDS") == "1"
	var next atomic.Int64
	cpu0, db0 := cpuTime(), dbServerCPU()
	wal0, _ := store.WALWrites()
	b.ResetTimer()
	var wg sync.WaitGroup
	for w := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for next.Add(1) <= int64(b.N) {
				conv := ids[rng.IntN(len(ids))]
				r := c.Send(ctx, &store.SendRequest{ConversationID: conv, SenderType: chat.SenderCustomer, SenderID: "c",
					SenderName: "c", Type: chat.TypeText, Body: body, ClientMsgID: clientID(randomIDs, w, rng)})
				if r.Err != nil {
					b.Error(r.Err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/msg")
	if db1 := dbServerCPU(); s.Info().Driver == "mysql" && db0 >= 0 && db1 >= 0 {
		b.ReportMetric(float64((db1-db0).Microseconds())/float64(b.N), "db-cpu-µs/msg")
	}
	if n := batches.Load(); n > 0 {
		b.ReportMetric(float64(batched.Load())/float64(n), "msgs/commit")
	}
	if wal1, _ := store.WALWrites(); s.Info().Driver == "sqlite" {
		// Each frame of the log is two gathered writes (its header, then the page): the pages a message dirties,
		// which decide the log's bytes, the commit's copying and checksums, and the checkpoint's work.
		b.ReportMetric(float64(wal1-wal0)/2/float64(b.N), "wal-pages/msg")
	}
}

// clientID is a client message id: a UUIDv7 like Parley's clients send, or with random a random one.
func clientID(random bool, w int, rng *rand.Rand) string {
	if random {
		return fmt.Sprintf("m-%d-%d", w, rng.Uint64())
	}
	return client.NewID()
}

// dbServerCPU is the CPU the local mariadbd has used, or -1 when there is none on this machine. The database
// server's share of a message is most of its cost on MySQL, and the process's own CPU does not show it.
func dbServerCPU() time.Duration {
	u, err := bench.ProcUsage(bench.FindProcess("mariadbd"))
	if err != nil {
		return -1
	}
	return u.CPU
}

// cpuTime is the CPU the process has used (user and system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
