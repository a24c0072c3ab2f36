package store_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/store"
	"github.com/parley-chat/parley/internal/store/storetest"
)

// TestWALVFSAcknowledgedIsOnDisk: the writer's log frames are gathered in memory and written at the commit's
// sync (walvfs.go), so an acknowledged message must already be in the files: a copy of the database and its
// log taken while the store is still open — what a crash of the process would leave, without the
// shared-memory index, so that SQLite recovers from the log itself — holds every acknowledged message, and
// passes SQLite's integrity check. The writes must also have been gathered (fewer writes than frames).
func TestWALVFSAcknowledgedIsOnDisk(t *testing.T) {
	if got := store.WALVFSFor("FULL"); got == "" {
		t.Fatal("the log-gathering VFS is not installed")
	}
	ctx := context.Background()
	o := storetest.Options(t, "sqlite")
	s := storetest.OpenWith(t, o)
	_, ids := startConversations(t, s, 50)
	c := s.NewCommitter(store.CommitterOptions{})
	defer c.Close()

	gathered0, flushes0 := store.WALWrites()
	const senders, each = 8, 250
	var mu sync.Mutex
	acked := map[string]uint64{} // conversation → highest acknowledged seq
	var wg sync.WaitGroup
	for w := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				conv := ids[(w*each+i)%len(ids)]
				r := c.Send(ctx, &store.SendRequest{ConversationID: conv, SenderType: chat.SenderCustomer, SenderID: "c",
					SenderName: "c", Type: chat.TypeText, Body: fmt.Sprint("message ", w, "/", i), ClientMsgID: fmt.Sprint("m-", w, "-", i)})
				if r.Err != nil {
					t.Error(r.Err)
					return
				}
				mu.Lock()
				acked[conv] = max(acked[conv], r.Message.Seq)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	gathered, flushes := store.WALWrites()
	gathered, flushes = gathered-gathered0, flushes-flushes0
	t.Logf("%d log writes gathered into %d", gathered, flushes)
	if flushes == 0 || gathered < 4*flushes {
		t.Fatalf("%d log writes gathered into %d writes: the writer's log writes are not being gathered", gathered, flushes)
	}

	// The files as a crash would leave them: the database and the log, not the shared-memory index.
	crash := t.TempDir()
	for _, name := range []string{"parley.db-wal", "parley.db"} {
		copyFile(t, filepath.Join(o.DataDir, name), filepath.Join(crash, name))
	}
	o2 := o
	o2.DataDir = crash
	s2 := storetest.OpenWith(t, o2)
	var check string
	if err := s2.DB().QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&check); err != nil {
		t.Fatal(err)
	}
	if check != "ok" {
		t.Fatalf("integrity_check of the crash copy: %s", check)
	}
	for conv, seq := range acked {
		page, err := s2.Before(ctx, conv, seq+1, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) != 1 || page[0].Seq != seq {
			t.Fatalf("conversation %s: acknowledged seq %d is not in the crash copy (%d messages found)", conv, seq, len(page))
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestWALVFSOnlyWhereEveryCommitSyncs(t *testing.T) {
	for sync, want := range map[string]bool{"FULL": true, "EXTRA": true, "NORMAL": false, "OFF": false} {
		if got := store.WALVFSFor(sync) != ""; got != want {
			t.Errorf("synchronous=%s: gathering VFS %v, want %v", sync, got, want)
		}
	}
}
