package reliability

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/parley-chat/parley/internal/apptest"
)

// The lists by activity page with a keyset cursor: every open conversation exactly once, newest first.
func TestInboxPages(t *testing.T) {
	n := apptest.Start(t, "sqlite", apptest.Options{})
	ctx := context.Background()
	const total = 230
	var wg sync.WaitGroup
	for i := range total {
		wg.Add(1)
		go func() {
			defer wg.Done()
			customerConv(t, n, fmt.Sprint("p", i))
		}()
	}
	wg.Wait()
	type page struct {
		Conversations []struct {
			ID            string `json:"id"`
			LastMessageAt string `json:"last_message_at"`
		} `json:"conversations"`
	}
	seen := map[string]bool{}
	cursor := ""
	pages := 0
	for {
		var p page
		path := "/api/v1/inbox?view=team"
		if cursor != "" {
			path += "&before=" + cursor
		}
		if _, err := n.Admin.Do(ctx, http.MethodGet, path, nil, &p); err != nil {
			t.Fatal(err)
		}
		pages++
		for _, c := range p.Conversations {
			if seen[c.ID] {
				t.Fatalf("conversation %s on two pages", c.ID)
			}
			seen[c.ID] = true
		}
		if len(p.Conversations) < 200 {
			break
		}
		last, err := n.App.Store.Conversation(ctx, p.Conversations[len(p.Conversations)-1].ID)
		if err != nil {
			t.Fatal(err)
		}
		cursor = fmt.Sprintf("%d:%s", last.LastMessageAt.UnixMilli(), last.ID)
		if pages > 5 {
			t.Fatal("paging does not end")
		}
	}
	if len(seen) != total || pages != 2 {
		t.Fatalf("%d conversations over %d pages, want %d over 2", len(seen), pages, total)
	}
	if _, err := n.Admin.Do(ctx, http.MethodGet, "/api/v1/inbox?view=team&before=garbage", nil, nil); !strings.Contains(fmt.Sprint(err), "400") {
		t.Fatalf("a bad cursor: %v, want 400", err)
	}
}
