package store_test

import (
	"context"
	"fmt"
	"runtime/metrics"
	"testing"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/store"
	"github.com/parley-chat/parley/internal/store/storetest"
)

// TestCommitterSQLiteGoroutines checks that SQLite's group commit does not start a goroutine per statement.
// modernc.org/sqlite watches a context that can end with a goroutine per statement; the commit's statements
// (the conversation's read, the insert, the head's update) run without the deadline: a commit of one message
// started 6 goroutines with a watcher per statement and starts 3 without (database/sql's watch of the
// transaction and the driver's of BEGIN among them).
func TestCommitterSQLiteGoroutines(t *testing.T) {
	s := storetest.Open(t, "sqlite")
	_, ids := startConversations(t, s, 1)
	c := s.NewCommitter(store.CommitterOptions{})
	defer c.Close()
	ctx := context.Background()
	send := func(i int) {
		r := c.Send(ctx, &store.SendRequest{ConversationID: ids[0], SenderType: chat.SenderCustomer, SenderID: "c",
			SenderName: "c", Type: chat.TypeText, Body: "hello", ClientMsgID: fmt.Sprint("m-", i)})
		if r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	send(-1) // the first commit may start the committer's own goroutines
	const n = 200
	before := goroutinesCreated()
	for i := range n {
		send(i) // one at a time: every commit holds one message
	}
	per := float64(goroutinesCreated()-before) / n
	t.Logf("%.2f goroutines started per single-message commit", per)
	if per > 4 {
		t.Errorf("%.2f goroutines started per single-message commit, want at most 4 (no watcher per statement)", per)
	}
}

func goroutinesCreated() uint64 {
	s := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}
