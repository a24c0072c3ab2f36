package reliability

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/parley-chat/parley/client"
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

// The inbox filters by status, team and channel on the server, validates them with clear 400s, and never
// widens what an agent sees: another team's list is 403, and one conversation of it is 404.
func TestInboxFilters(t *testing.T) {
	n := apptest.Start(t, "sqlite", apptest.Options{})
	ctx := context.Background()
	var teamB struct {
		ID string `json:"id"`
	}
	if _, err := n.Admin.Do(ctx, http.MethodPost, "/api/v1/teams", map[string]any{"name": "Billing"}, &teamB); err != nil {
		t.Fatal(err)
	}
	ann := agent(t, n, "ann") // in the default team only
	var annID string
	{
		var me struct {
			ID string `json:"id"`
		}
		if _, err := ann.Do(ctx, http.MethodGet, "/api/v1/agents/me", nil, &me); err != nil {
			t.Fatal(err)
		}
		annID = me.ID
	}
	_, open := customerConv(t, n, "open one")
	closer, closed := customerConv(t, n, "closed one")
	if _, err := closer.CloseConversation(ctx, closed.ID); err != nil {
		t.Fatal(err)
	}
	_, moved := customerConv(t, n, "billing one")
	if _, err := n.Admin.Transfer(ctx, moved.ID, "", teamB.ID, ""); err != nil {
		t.Fatal(err)
	}

	type answer struct {
		Conversations []struct {
			ID       string `json:"id"`
			Status   string `json:"status"`
			TeamID   string `json:"team_id"`
			Customer struct {
				Name string `json:"name"`
			} `json:"customer"`
		} `json:"conversations"`
		Heads map[string]uint64 `json:"heads"`
	}
	list := func(api *client.API, query string) ([]string, answer, error) {
		var a answer
		_, err := api.Do(ctx, http.MethodGet, "/api/v1/inbox?"+query, nil, &a)
		var ids []string
		for _, c := range a.Conversations {
			ids = append(ids, c.ID)
		}
		return ids, a, err
	}
	for _, tc := range []struct {
		who   *client.API
		query string
		want  []string
	}{
		{ann, "view=team", []string{open.ID}},
		{ann, "view=team&status=open", []string{open.ID}},
		{ann, "view=team&status=closed", []string{closed.ID}},
		{ann, "view=team&status=assigned", nil},
		{ann, "view=queue&status=queued", []string{open.ID}},
		{ann, "view=queue&team=" + n.TeamID, []string{open.ID}},
		{ann, "view=team&channel=web", []string{open.ID}},
		{ann, "view=team&channel=app", nil},
		{ann, "view=mine&team=" + teamB.ID, nil}, // their own conversations of any team: none
		{n.Admin, "view=all", []string{moved.ID, open.ID}},
		{n.Admin, "view=all&team=" + teamB.ID, []string{moved.ID}},
		{n.Admin, "view=all&status=closed", []string{closed.ID}},
		{n.Admin, "view=team&team=" + teamB.ID + "&status=queued&channel=web", []string{moved.ID}},
		{n.Admin, "view=queue&team=" + n.TeamID, []string{open.ID}},
	} {
		got, _, err := list(tc.who, tc.query)
		if err != nil {
			t.Errorf("%s: %v", tc.query, err)
			continue
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: %v, want %v", tc.query, got, tc.want)
		}
	}
	for _, tc := range []struct {
		query, field string
		status       int
	}{
		{"view=team&status=bogus", "status", 400},
		{"view=mine&status=closed", "status", 400},
		{"view=queue&status=assigned", "status", 400},
		{"view=team&channel=sms", "channel", 400},
		{"view=team&team=0193a2b4-1111-7222-8333-444455556666", "team", 400},
		{"view=team&team=" + teamB.ID, "", 403},
		{"view=queue&team=" + teamB.ID, "", 403},
		{"view=all&team=" + n.TeamID, "", 403},
	} {
		_, _, err := list(ann, tc.query)
		var e *client.Error
		if !errors.As(err, &e) || e.Status != tc.status || e.Field != tc.field || e.Message == "" {
			t.Errorf("%s: %v (field %q), want %d with field %q", tc.query, err, fieldOf(err), tc.status, tc.field)
		}
	}

	// heads: the streams that carry the list's changes, Ann's own and her team's; everyone's for an admin.
	_, a, err := list(ann, "view=mine")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := a.Heads["agent:"+annID]; !ok || a.Heads["team:"+n.TeamID] == 0 || len(a.Heads) != 2 {
		t.Errorf("Ann's heads: %v, want her stream and her team's (with events)", a.Heads)
	}
	if _, a, err = list(n.Admin, "view=all"); err != nil || a.Heads["team:"+teamB.ID] == 0 {
		t.Errorf("the admin's heads: %v %v, want every team's", a.Heads, err)
	}

	// One conversation as the lists show it; another team's answers as if it did not exist.
	var item struct {
		ID       string `json:"id"`
		Status   string `json:"status"`
		Unread   int    `json:"unread"`
		Customer struct {
			Name string `json:"name"`
		} `json:"customer"`
	}
	if _, err := ann.Do(ctx, http.MethodGet, "/api/v1/inbox/"+open.ID, nil, &item); err != nil || item.ID != open.ID || item.Customer.Name != "open one" || item.Status != "queued" {
		t.Errorf("Ann's conversation as an inbox item: %+v %v", item, err)
	}
	if _, err := ann.Do(ctx, http.MethodGet, "/api/v1/inbox/"+moved.ID, nil, nil); client.Code(err) != "not_found" {
		t.Errorf("another team's conversation as an inbox item: %v, want not_found", err)
	}
	if _, err := n.Admin.Do(ctx, http.MethodGet, "/api/v1/inbox/"+moved.ID, nil, &item); err != nil || item.Customer.Name != "billing one" {
		t.Errorf("the admin reads it: %+v %v", item, err)
	}
}

func fieldOf(err error) string {
	var e *client.Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}
