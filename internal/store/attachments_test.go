package store_test

import (
	"context"
	"testing"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/store"
	"github.com/parley-chat/parley/internal/store/storetest"
)

// conversationFor creates a team, a site, a customer and an open conversation.
func conversationFor(t *testing.T, s *store.Store) *chat.Conversation {
	t.Helper()
	ctx := context.Background()
	team, err := s.CreateTeam(ctx, storetest.Name("team"))
	if err != nil {
		t.Fatal(err)
	}
	site := &chat.Site{Name: "site", WidgetKey: storetest.Name("key"), Secret: "s", DefaultTeamID: team.ID}
	if err := s.CreateSite(ctx, site); err != nil {
		t.Fatal(err)
	}
	cust, _, err := s.CreateCustomer(ctx, &chat.Customer{SiteID: site.ID, Name: "王小明"}, chat.ChannelWeb, "")
	if err != nil {
		t.Fatal(err)
	}
	conv, _, _, err := s.StartConversation(ctx, store.StartInput{SiteID: site.ID, CustomerID: cust.ID, TeamID: team.ID, Channel: chat.ChannelWeb})
	if err != nil {
		t.Fatal(err)
	}
	return conv
}

func TestAttachments(t *testing.T) {
	storetest.Each(t, func(t *testing.T, kind string) {
		s := storetest.Open(t, kind)
		ctx := context.Background()
		conv := conversationFor(t, s)
		a := &chat.Attachment{ConversationID: conv.ID, UploaderType: chat.SenderCustomer, UploaderID: conv.CustomerID,
			Name: "订单截图 📷.png", ContentType: "image/png", Size: 1234, SHA256: "ab12", StorageKey: "abcdefghijklmnopqrstuvwxyz"}
		if err := s.CreateAttachment(ctx, a); err != nil {
			t.Fatal(err)
		}
		if len(a.ID) != 36 || a.CreatedAt.IsZero() {
			t.Fatalf("id %q created %v", a.ID, a.CreatedAt)
		}
		got, err := s.Attachment(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != a.Name || got.StorageKey != a.StorageKey || got.Size != 1234 || got.UploaderType != chat.SenderCustomer ||
			got.ConversationID != conv.ID || !got.CreatedAt.Equal(a.CreatedAt) {
			t.Fatalf("read back %+v", got)
		}
		b := *a
		b.StorageKey = "bbbbbbbbbbbbbbbbbbbbbbbbbb"
		b.Size = 10
		if err := s.CreateAttachment(ctx, &b); err != nil {
			t.Fatal(err)
		}
		files, bytes, err := s.AttachmentUsage(ctx, conv.ID, chat.SenderCustomer, conv.CustomerID)
		if err != nil || files != 2 || bytes != 1244 {
			t.Fatalf("usage = %d files, %d bytes, %v", files, bytes, err)
		}
		if files, _, _ := s.AttachmentUsage(ctx, conv.ID, chat.SenderAgent, conv.CustomerID); files != 0 {
			t.Fatalf("another uploader's usage = %d", files)
		}
		if err := s.DeleteAttachment(ctx, b.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Attachment(ctx, b.ID); !chat.IsCode(err, chat.CodeNotFound) {
			t.Fatalf("deleted attachment: err = %v", err)
		}
		if err := s.DeleteAttachment(ctx, b.ID); err != nil {
			t.Fatalf("deleting twice: %v", err)
		}
		// The storage key is unique: two records can never point at one file.
		c := *a
		if err := s.CreateAttachment(ctx, &c); err == nil {
			t.Fatal("a second record with the same storage key was accepted")
		}
	})
}

func TestRatings(t *testing.T) {
	storetest.Each(t, func(t *testing.T, kind string) {
		s := storetest.Open(t, kind)
		ctx := context.Background()
		conv := conversationFor(t, s)
		if _, err := s.Rating(ctx, conv.ID); !chat.IsCode(err, chat.CodeNotFound) {
			t.Fatalf("no rating yet: err = %v", err)
		}
		r := &chat.Rating{ConversationID: conv.ID, CustomerID: conv.CustomerID, TeamID: conv.TeamID, Score: 4, Comment: "很好 👍"}
		if err := s.CreateRating(ctx, r); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateRating(ctx, &chat.Rating{ConversationID: conv.ID, CustomerID: conv.CustomerID, Score: 1}); !chat.IsCode(err, chat.CodeConflict) {
			t.Fatalf("second rating: err = %v, want conflict", err)
		}
		got, err := s.Rating(ctx, conv.ID)
		if err != nil || got.Score != 4 || got.Comment != "很好 👍" || got.TeamID != conv.TeamID || got.AgentID != "" {
			t.Fatalf("rating = %+v, %v", got, err)
		}
		// The database itself refuses a score outside 1..5.
		other := conversationFor(t, s)
		if err := s.CreateRating(ctx, &chat.Rating{ConversationID: other.ID, CustomerID: other.CustomerID, Score: 9}); err == nil {
			t.Fatal("score 9 was stored")
		}
	})
}
