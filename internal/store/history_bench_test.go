package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/store"
	"github.com/parley-chat/parley/internal/store/storetest"
)

// BenchmarkHistory measures one history page as S6's agents ask for it: the latest 50 messages of a
// conversation, then the 50 before a seq, alternately, from a conversation of 1,000 messages (SQLite; MySQL/
// MariaDB with PARLEY_TEST_MYSQL_DSN). It reports the process's CPU per page (cpu-µs/page), steadier than the
// time on a shared machine:
//
//	go test -run '^$' -bench History -benchtime 5000x -count 5 ./internal/store/ | benchstat -
func BenchmarkHistory(b *testing.B) {
	for _, kind := range storetest.Kinds {
		b.Run(kind, func(b *testing.B) {
			s := storetest.OpenWith(b, storetest.Options(b, kind)) // skips MySQL without PARLEY_TEST_MYSQL_DSN
			ctx := context.Background()
			_, ids := startConversations(b, s, 1)
			c := s.NewCommitter(store.CommitterOptions{})
			defer c.Close()
			const n = 1000
			body := "Hello, I ordered a blue jacket last week and it has not arrived yet. 你好，我上周订的蓝色外套还没到。"
			for i := range n {
				if r := c.Send(ctx, &store.SendRequest{ConversationID: ids[0], SenderType: chat.SenderCustomer, SenderID: "c",
					SenderName: "c", Type: chat.TypeText, Body: body, ClientMsgID: fmt.Sprint("m", i)}); r.Err != nil {
					b.Fatal(r.Err)
				}
			}
			cpu0 := cpuTime()
			b.ResetTimer()
			for i := range b.N {
				before := uint64(0)
				if i%2 == 1 {
					before = uint64(1 + i%(n-50))
				}
				page, err := s.Before(ctx, ids[0], before, 50)
				if err != nil {
					b.Fatal(err)
				}
				want := 50
				if before > 0 {
					want = min(50, int(before)-1)
				}
				if len(page) != want {
					b.Fatalf("Before(%d) gave %d messages, want %d", before, len(page), want)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/page")
		})
	}
}
