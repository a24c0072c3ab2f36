package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/google/uuid"

	"github.com/parley-chat/parley/internal/chat"
)

const cannedCols = "id, agent_id, shortcut, body, created_at, updated_at"

func scanCanned(r rowScanner) (*chat.CannedReply, error) {
	var c chat.CannedReply
	var agent sql.NullString
	var created, updated int64
	if err := r.Scan(&c.ID, &agent, &c.Shortcut, &c.Body, &created, &updated); err != nil {
		return nil, err
	}
	c.AgentID, c.Shared = agent.String, !agent.Valid
	c.CreatedAt, c.UpdatedAt = fromMS(created), fromMS(updated)
	return &c, nil
}

// CannedReplies returns the agent's own canned replies and the shared ones, by shortcut.
func (s *Store) CannedReplies(ctx context.Context, agentID string) ([]*chat.CannedReply, error) {
	var out []*chat.CannedReply
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{"SELECT " + cannedCols + " FROM canned_replies WHERE agent_id = ? ORDER BY shortcut LIMIT 500", []any{agentID}},
		{"SELECT " + cannedCols + " FROM canned_replies WHERE agent_id IS NULL ORDER BY shortcut LIMIT 500", nil},
	} {
		rows, err := s.query(ctx, q.sql, q.args...)
		if err != nil {
			return nil, s.wrap("read canned replies", err)
		}
		for rows.Next() {
			c, err := scanCanned(rows)
			if err != nil {
				rows.Close()
				return nil, s.wrap("read canned replies", err)
			}
			out = append(out, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, s.wrap("read canned replies", err)
		}
	}
	return out, nil
}

// CreateCannedReply stores a canned reply; a shortcut is unique among the owner's replies (or the shared ones).
func (s *Store) CreateCannedReply(ctx context.Context, c *chat.CannedReply) error {
	id, err := uuid.NewV7()
	if err != nil {
		return err
	}
	now := s.now()
	c.ID, c.CreatedAt, c.UpdatedAt, c.Shared = id.String(), now, now, c.AgentID == ""
	return s.tx(ctx, "create canned reply", func(tx *sql.Tx) error {
		var n int
		q, args := "SELECT count(*) FROM canned_replies WHERE agent_id = ? AND shortcut = ?", []any{c.AgentID, c.Shortcut}
		if c.AgentID == "" {
			q, args = "SELECT count(*) FROM canned_replies WHERE agent_id IS NULL AND shortcut = ?", []any{c.Shortcut}
		}
		if err := s.queryRowTx(ctx, tx, q, args...).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return chat.Errorf(chat.CodeConflict, "a canned reply with the shortcut %q exists already", c.Shortcut)
		}
		_, err := s.exec(ctx, tx, "INSERT INTO canned_replies ("+cannedCols+") VALUES (?, ?, ?, ?, ?, ?)",
			c.ID, nullString(c.AgentID), c.Shortcut, c.Body, ms(now), ms(now))
		return err
	})
}

// CannedReply returns one canned reply.
func (s *Store) CannedReply(ctx context.Context, id string) (*chat.CannedReply, error) {
	c, err := scanCanned(s.queryRow(ctx, "SELECT "+cannedCols+" FROM canned_replies WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, chat.ErrNotFound("canned reply")
	}
	return c, s.wrap("read canned reply", err)
}

// UpdateCannedReply changes a canned reply's shortcut and text; the shortcut stays unique among the owner's
// replies (or the shared ones).
func (s *Store) UpdateCannedReply(ctx context.Context, c *chat.CannedReply) error {
	c.UpdatedAt = s.now()
	return s.tx(ctx, "update canned reply", func(tx *sql.Tx) error {
		var n int
		q, args := "SELECT count(*) FROM canned_replies WHERE agent_id = ? AND shortcut = ? AND id <> ?", []any{c.AgentID, c.Shortcut, c.ID}
		if c.AgentID == "" {
			q, args = "SELECT count(*) FROM canned_replies WHERE agent_id IS NULL AND shortcut = ? AND id <> ?", []any{c.Shortcut, c.ID}
		}
		if err := s.queryRowTx(ctx, tx, q, args...).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return chat.Errorf(chat.CodeConflict, "a canned reply with the shortcut %q exists already", c.Shortcut)
		}
		res, err := s.exec(ctx, tx, "UPDATE canned_replies SET shortcut = ?, body = ?, updated_at = ? WHERE id = ?",
			c.Shortcut, c.Body, ms(c.UpdatedAt), c.ID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			return chat.ErrNotFound("canned reply")
		}
		return nil
	})
}

// DeleteCannedReply removes a canned reply.
func (s *Store) DeleteCannedReply(ctx context.Context, id string) error {
	return s.tx(ctx, "delete canned reply", func(tx *sql.Tx) error {
		_, err := s.exec(ctx, tx, "DELETE FROM canned_replies WHERE id = ?", id)
		return err
	})
}
