package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/parley-chat/parley/internal/chat"
)

// CreateRating stores a conversation's rating. A conversation is rated once: a second rating is a Conflict,
// also when two requests race (the primary key decides).
func (s *Store) CreateRating(ctx context.Context, r *chat.Rating) error {
	r.CreatedAt = s.now()
	return s.tx(ctx, "create rating", func(tx *sql.Tx) error {
		_, err := s.exec(ctx, tx, `INSERT INTO ratings (conversation_id, customer_id, agent_id, team_id, score, comment, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, r.ConversationID, r.CustomerID, nullString(r.AgentID), nullString(r.TeamID),
			r.Score, r.Comment, ms(r.CreatedAt))
		if s.d.isDuplicate(err) {
			return chat.Errorf(chat.CodeConflict, "this conversation has already been rated")
		}
		return err
	})
}

// Rating returns a conversation's rating, or NotFound when it has none.
func (s *Store) Rating(ctx context.Context, convID string) (*chat.Rating, error) {
	var r chat.Rating
	var agent, team sql.NullString
	var created int64
	err := s.queryRow(ctx, "SELECT conversation_id, customer_id, agent_id, team_id, score, comment, created_at FROM ratings WHERE conversation_id = ?",
		convID).Scan(&r.ConversationID, &r.CustomerID, &agent, &team, &r.Score, &r.Comment, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, chat.ErrNotFound("rating")
	}
	if err != nil {
		return nil, s.wrap("read rating", err)
	}
	r.AgentID, r.TeamID, r.CreatedAt = agent.String, team.String, fromMS(created)
	return &r, nil
}
