package store_test

import (
	"context"
	"testing"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/store/storetest"
)

// A team renamed keeps its id and creation time; renaming to the same name again is no error (MySQL
// reports 0 rows changed for it); an unknown team is not found.
func TestRenameTeam(t *testing.T) {
	storetest.Each(t, func(t *testing.T, kind string) {
		s := storetest.Open(t, kind)
		ctx := context.Background()
		team, err := s.CreateTeam(ctx, "Billing")
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			got, err := s.RenameTeam(ctx, team.ID, "账务 Billing")
			if err != nil || got.ID != team.ID || got.Name != "账务 Billing" || !got.CreatedAt.Equal(team.CreatedAt) {
				t.Fatalf("rename: %+v %v (created %+v)", got, err, team)
			}
		}
		teams, err := s.Teams(ctx)
		if err != nil || len(teams) != 1 || teams[0].Name != "账务 Billing" {
			t.Fatalf("teams after the rename: %+v %v", teams, err)
		}
		if _, err := s.RenameTeam(ctx, "00000000-0000-7000-8000-000000000000", "Ghost"); !chat.IsCode(err, chat.CodeNotFound) {
			t.Fatalf("an unknown team: %v", err)
		}
	})
}
