package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/store"
	"github.com/parley-chat/parley/internal/store/storetest"
)

// startConversations creates a team, a site answered by it, and n customers each with a conversation started
// in that team; it returns the team and the conversations' ids.
func startConversations(t testing.TB, s *store.Store, n int) (*chat.Team, []string) {
	t.Helper()
	ctx := context.Background()
	team, err := s.CreateTeam(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	site := &chat.Site{Name: "site", WidgetKey: storetest.Name("key"), Secret: "s", DefaultTeamID: team.ID}
	if err := s.CreateSite(ctx, site); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, n)
	for i := range ids {
		cust, _, err := s.CreateCustomer(ctx, &chat.Customer{SiteID: site.ID, Name: fmt.Sprint("c", i)}, chat.ChannelWeb, "")
		if err != nil {
			t.Fatal(err)
		}
		conv, _, _, err := s.StartConversation(ctx, store.StartInput{SiteID: site.ID, CustomerID: cust.ID, TeamID: team.ID, Channel: chat.ChannelWeb})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = conv.ID
	}
	return team, ids
}
