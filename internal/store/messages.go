package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/parley-chat/parley/internal/chat"
)

const msgCols = "conversation_id, seq, id, sender_type, sender_id, sender_name, type, body, body_hash, client_msg_id, meta, created_at, deleted_at"

// historyCols are msgCols without body_hash, which only the committer's retry check needs: a history page
// does not carry 50 hashes it throws away (an allocation and a copy each, on MySQL 32 bytes more a row).
const historyCols = "conversation_id, seq, id, sender_type, sender_id, sender_name, type, body, client_msg_id, meta, created_at, deleted_at"

// scanMessage reads a row of msgCols and returns the message and its body hash. An erased message comes back
// as a tombstone: its seq and id, no content.
func scanMessage(r rowScanner) (*chat.Message, []byte, error) {
	var hash []byte
	m, err := scanMessageRow(r, &hash)
	return m, hash, err
}

// scanHistoryMessage reads a row of historyCols.
func scanHistoryMessage(r rowScanner) (*chat.Message, error) {
	return scanMessageRow(r, nil)
}

// scanMessageRow reads a message row of msgCols into hash, or of historyCols when hash is nil.
func scanMessageRow(r rowScanner, hash *[]byte) (*chat.Message, error) {
	var m chat.Message
	var senderType, typ string
	var clientID, meta sql.NullString
	var created int64
	var deleted sql.NullInt64
	dest := make([]any, 0, 13)
	dest = append(dest, &m.ConversationID, &m.Seq, &m.ID, &senderType, &m.SenderID, &m.SenderName, &typ, &m.Body)
	if hash != nil {
		dest = append(dest, hash)
	}
	dest = append(dest, &clientID, &meta, &created, &deleted)
	if err := r.Scan(dest...); err != nil {
		return nil, err
	}
	m.SenderType, m.Type = chat.SenderType(senderType), chat.MessageType(typ)
	m.ClientMsgID, m.CreatedAt = clientID.String, fromMS(created)
	if meta.Valid && meta.String != "" {
		m.Meta = json.RawMessage(meta.String)
	}
	if deleted.Valid {
		m = chat.Message{ConversationID: m.ConversationID, Seq: m.Seq, ID: m.ID, Type: m.Type, CreatedAt: m.CreatedAt, Deleted: true}
	}
	return &m, nil
}

// After returns up to limit messages of a conversation with seq > after, ascending: the page after a cursor,
// or what a resuming client missed. Pages are keyset ranges over the (conversation_id, seq) primary key; there
// is no OFFSET anywhere.
func (s *Store) After(ctx context.Context, convID string, after uint64, limit int) ([]*chat.Message, error) {
	lim, _ := limitClause(limit)
	rows, err := s.query(ctx, "SELECT "+historyCols+" FROM messages WHERE conversation_id = ? AND seq > ? ORDER BY seq"+lim, convID, after)
	if err != nil {
		return nil, s.wrap("read history", err)
	}
	return s.scanMessages(rows, limit, false)
}

// Before returns up to limit messages with seq < before (the latest ones when before is 0), ascending.
func (s *Store) Before(ctx context.Context, convID string, before uint64, limit int) ([]*chat.Message, error) {
	var rows *sql.Rows
	var err error
	lim, _ := limitClause(limit)
	if before > 0 {
		rows, err = s.query(ctx, "SELECT "+historyCols+" FROM messages WHERE conversation_id = ? AND seq < ? ORDER BY seq DESC"+lim, convID, before)
	} else {
		rows, err = s.query(ctx, "SELECT "+historyCols+" FROM messages WHERE conversation_id = ? ORDER BY seq DESC"+lim, convID)
	}
	if err != nil {
		return nil, s.wrap("read history", err)
	}
	return s.scanMessages(rows, limit, true)
}

// scanMessages reads at most limit messages off rows, reversed when reverse is set.
func (s *Store) scanMessages(rows *sql.Rows, limit int, reverse bool) ([]*chat.Message, error) {
	defer rows.Close()
	out := []*chat.Message{}
	for len(out) < limit && rows.Next() {
		m, err := scanHistoryMessage(rows)
		if err != nil {
			return nil, s.wrap("read history", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap("read history", err)
	}
	if reverse {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out, nil
}

// Side names one party of a conversation for read cursors.
type Side string

// The sides.
const (
	SideCustomer Side = "customer"
	SideAgent    Side = "agent"
)

// MarkRead moves a side's read cursor forward to seq (capped at the conversation's head) and returns the
// cursor as stored; moved reports whether it advanced.
func (s *Store) MarkRead(ctx context.Context, convID string, side Side, seq uint64) (cursor uint64, moved bool, err error) {
	err = s.tx(ctx, "mark read", func(tx *sql.Tx) error {
		var head uint64
		err := s.queryRowTx(ctx, tx, "SELECT last_seq FROM conversations WHERE id = ?", convID).Scan(&head)
		if errors.Is(err, sql.ErrNoRows) {
			return chat.ErrNotFound("conversation")
		}
		if err != nil {
			return err
		}
		seq = min(seq, head)
		var before uint64
		err = s.queryRowTx(ctx, tx, "SELECT seq FROM read_cursors WHERE conversation_id = ? AND side = ?", convID, string(side)).Scan(&before)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if seq <= before && err == nil {
			cursor, moved = before, false
			return nil
		}
		if _, err := s.exec(ctx, tx, s.d.raiseCursor(), convID, string(side), seq, ms(s.now())); err != nil {
			return err
		}
		cursor, moved = max(seq, before), seq > before
		return nil
	})
	return cursor, moved, err
}

// ReadCursors returns both sides' read cursors of a conversation.
func (s *Store) ReadCursors(ctx context.Context, convID string) (customer, agent uint64, err error) {
	rows, err := s.query(ctx, "SELECT side, seq FROM read_cursors WHERE conversation_id = ?", convID)
	if err != nil {
		return 0, 0, s.wrap("read cursors", err)
	}
	defer rows.Close()
	for rows.Next() {
		var side string
		var seq uint64
		if err := rows.Scan(&side, &seq); err != nil {
			return 0, 0, s.wrap("read cursors", err)
		}
		switch Side(side) {
		case SideCustomer:
			customer = seq
		case SideAgent:
			agent = seq
		}
	}
	return customer, agent, s.wrap("read cursors", rows.Err())
}
