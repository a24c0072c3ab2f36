package messaging

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/store"
	"github.com/parley-chat/parley/protocol"
)

// SearchResult is a message found by a search, with what a result list shows of its conversation.
type SearchResult struct {
	Message      *protocol.Message `json:"message"`
	Status       chat.Status       `json:"status"`
	CustomerName string            `json:"customer_name"`
}

// Search finds messages containing the query, in the conversations p may read (agents only: customers have
// their own history). Every candidate from the index is checked against the text itself (case-insensitive) and
// against p's rights, so a result is never a near miss and never another team's conversation.
func (s *Service) Search(ctx context.Context, p *auth.Principal, query string, limit int) ([]SearchResult, error) {
	if _, err := agentOf(p); err != nil {
		return nil, err
	}
	query = strings.TrimSpace(query)
	if n := utf8.RuneCountInString(query); n == 0 || n > 200 {
		return nil, chat.Invalid("q", "the search is 1 to 200 characters")
	}
	if limit <= 0 || limit > 100 {
		limit = 50
	}
	hits, err := s.st.Search(ctx, query, 1000)
	if err != nil {
		return nil, err
	}
	needle := strings.ToLower(query)
	convs := map[string]*chat.Conversation{}
	names := map[string]string{}
	out := []SearchResult{}
	for _, h := range hits {
		if len(out) >= limit {
			break
		}
		conv, ok := convs[h.ConversationID]
		if !ok {
			c, err := s.st.Conversation(ctx, h.ConversationID)
			if err != nil && !chat.IsCode(err, chat.CodeNotFound) {
				return nil, err
			}
			if c != nil && !CanAccess(p, c) {
				c = nil
			}
			convs[h.ConversationID], conv = c, c
		}
		if conv == nil {
			continue
		}
		m, err := s.st.MessageAt(ctx, h.ConversationID, h.Seq)
		if err != nil {
			continue
		}
		if m.Deleted || !strings.Contains(strings.ToLower(m.Body), needle) {
			continue
		}
		name, ok := names[conv.CustomerID]
		if !ok {
			if cu, err := s.st.Customer(ctx, conv.CustomerID); err == nil {
				name = cu.Name
			}
			names[conv.CustomerID] = name
		}
		out = append(out, SearchResult{Message: WireMessage(m, false), Status: conv.Status, CustomerName: name})
	}
	return out, nil
}

// IndexBudget is how many messages the node's indexer takes a second: under a peak it stays behind and catches
// up when the load falls (search lags then), instead of taking the CPU and the database from the messages
// (docs/benchmarks.md, history 2026-12-01).
const IndexBudget = 500

// IndexSearch runs the search indexer once (the node does it every second; tests call it directly).
func IndexSearch(ctx context.Context, ix *store.Indexer) (int, error) {
	return ix.Run(ctx, IndexBudget)
}
