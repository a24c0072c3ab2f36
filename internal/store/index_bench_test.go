package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/store"
	"github.com/parley-chat/parley/internal/store/storetest"
)

// BenchmarkIndex measures the search indexer alone: it stores messages (PARLEY_BENCH_MESSAGES, default 20,000,
// over 200 conversations, bodies drawn from a mixed Chinese and English vocabulary) and then indexes all of
// them, reporting the process's CPU per message indexed.
//
//	go test -run '^$' -bench Index -benchtime 1x -count 3 ./internal/store/
func BenchmarkIndex(b *testing.B) {
	n := 20000
	if v := os.Getenv("PARLEY_BENCH_MESSAGES"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	for _, kind := range storetest.Kinds {
		b.Run(kind, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				s := storetest.OpenWith(b, storetest.Options(b, kind))
				seedMessages(b, s, 200, n)
				ix, err := s.NewIndexer(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				cpu0 := cpuTime()
				b.StartTimer()
				done := 0
				for done < n {
					k, err := ix.Run(context.Background(), 5000)
					if err != nil {
						b.Fatal(err)
					}
					if k == 0 {
						b.Fatalf("indexed %d of %d, then nothing", done, n)
					}
					done += k
				}
				b.StopTimer()
				b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(done), "cpu-µs/msg")
			}
		})
	}
}

var vocabulary = []string{"order", "jacket", "refund", "delivery", "address", "invoice", "password", "account", "blue",
	"size", "week", "tracking", "number", "please", "thanks", "hello", "problem", "payment", "card", "coupon",
	"订单", "退款", "快递", "地址", "发票", "密码", "账户", "蓝色", "外套", "尺码", "上周", "还没到", "谢谢", "你好", "支付", "优惠券"}

// seedMessages stores n messages spread over convs new conversations, through the group committer.
func seedMessages(b *testing.B, s *store.Store, convs, n int) {
	ctx := context.Background()
	_, ids := startConversations(b, s, convs)
	c := s.NewCommitter(store.CommitterOptions{})
	defer c.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	waits := make([]func(context.Context) store.SendResult, 0, 256)
	flush := func() {
		for _, w := range waits {
			if r := w(ctx); r.Err != nil {
				b.Fatal(r.Err)
			}
		}
		waits = waits[:0]
	}
	for i := range n {
		body := ""
		for range 8 + rng.IntN(16) {
			body += vocabulary[rng.IntN(len(vocabulary))] + " "
		}
		w, err := c.Enqueue(ctx, &store.SendRequest{ConversationID: ids[i%convs], SenderType: chat.SenderCustomer, SenderID: "c",
			SenderName: "c", Type: chat.TypeText, Body: body + strconv.Itoa(i), ClientMsgID: fmt.Sprint("m", i)})
		if err != nil {
			b.Fatal(err)
		}
		if waits = append(waits, w); len(waits) == cap(waits) {
			flush()
		}
	}
	flush()
}
