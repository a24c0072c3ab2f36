package client

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/parley-chat/parley/protocol"
)

// TestSubscribeBatchesFitTheFrameLimit: every cursor is sent once, in order, and every subscribe frame fits the
// server's frame limit and its cursor count, however many subscriptions a client holds.
func TestSubscribeBatchesFitTheFrameLimit(t *testing.T) {
	for _, n := range []int{0, 1, 139, 140, 141, 500, 1000} {
		var subs []protocol.Cursor
		for i := range n {
			subs = append(subs, protocol.Cursor{ConversationID: fmt.Sprintf("0193a2b4-8a21-7b32-9c43-%012d", i),
				Epoch: "01JD2Q7Y3M4N5P6Q7R8S9T0V1W", LastSeq: uint64(1e9 + i)})
		}
		batches := subscribeBatches(subs)
		seen := 0
		for _, b := range batches {
			frame, err := json.Marshal(protocol.ClientFrame{Type: protocol.TypeSubscribe, ID: "s123456789", Subscriptions: b})
			if err != nil {
				t.Fatal(err)
			}
			if len(frame) > protocol.MaxFrameBytes || len(b) == 0 || len(b) > protocol.MaxSubscriptionsPerFrame {
				t.Fatalf("%d cursors: a frame of %d bytes with %d cursors", n, len(frame), len(b))
			}
			for _, c := range b {
				if c != subs[seen] {
					t.Fatalf("%d cursors: cursor %d is %+v, want %+v", n, seen, c, subs[seen])
				}
				seen++
			}
		}
		if seen != n {
			t.Fatalf("%d cursors: %d sent", n, seen)
		}
		if n == 1000 && len(batches) < 7 {
			t.Fatalf("1,000 cursors in %d frames: they cannot fit in 16 KiB each", len(batches))
		}
	}
}
