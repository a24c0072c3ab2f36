package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/parley-chat/parley/internal/chat"
)

// liteStmts are the group committer's statements on SQLite, prepared once. SQLite runs in the process, so a
// prepared point statement per row costs less than parsing and planning one large statement per batch (the
// multi-row INSERT and the OR-of-IN key lookup grew more expensive per message as batches grew).
type liteStmts struct {
	conv, key, insert, head *sql.Stmt
}

// liteKeySQL finds a stored message by its client id. Without statistics SQLite prefers the covering primary
// key (conversation_id, seq) for "conversation_id = ?" and reads the whole conversation for every lookup — a
// flood into one conversation made each commit slower than the last — so the unique index is named.
const liteKeySQL = "SELECT " + msgCols + " FROM messages INDEXED BY messages_client WHERE conversation_id = ? AND client_msg_id = ?"

func prepareLite(db *sql.DB) (*liteStmts, error) {
	var st liteStmts
	var err error
	prep := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var p *sql.Stmt
		p, err = db.Prepare(q)
		return p
	}
	st.conv = prep("SELECT " + commitConvCols + " FROM conversations WHERE id = ?")
	st.key = prep(liteKeySQL)
	st.insert = prep("INSERT INTO messages (" + msgCols + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)")
	st.head = prep(headSQL)
	if err != nil {
		st.close()
		return nil, err
	}
	return &st, nil
}

func (st *liteStmts) close() {
	if st == nil {
		return
	}
	for _, p := range []*sql.Stmt{st.conv, st.key, st.insert, st.head} {
		if p != nil {
			p.Close()
		}
	}
}

// liteTx is the statements bound to one transaction.
type liteTx struct {
	conv, key, ins, head *sql.Stmt
}

func (st *liteStmts) in(ctx context.Context, tx *sql.Tx) *liteTx {
	return &liteTx{conv: tx.StmtContext(ctx, st.conv), key: tx.StmtContext(ctx, st.key),
		ins: tx.StmtContext(ctx, st.insert), head: tx.StmtContext(ctx, st.head)}
}

// conversations reads the batch's conversations; the immediate transaction already holds SQLite's write lock.
func (t *liteTx) conversations(ctx context.Context, ids []string, into map[string]*chat.Conversation) error {
	for _, id := range ids {
		conv, err := scanCommitConversation(t.conv.QueryRowContext(ctx, id))
		if errors.Is(err, sql.ErrNoRows) {
			continue // answered as not found
		}
		if err != nil {
			return err
		}
		into[id] = conv
	}
	return nil
}

// lookupKeys finds stored messages with the batch's client message ids, one indexed point lookup each.
func (t *liteTx) lookupKeys(ctx context.Context, batch []*SendRequest, into map[msgKey]*storedMsg) error {
	type pair struct{ conv, client string }
	seen := map[pair]bool{}
	for _, r := range batch {
		p := pair{r.ConversationID, r.ClientMsgID}
		if r.ClientMsgID == "" || seen[p] {
			continue
		}
		seen[p] = true
		rows, err := t.key.QueryContext(ctx, p.conv, p.client)
		if err != nil {
			return err
		}
		for rows.Next() {
			m, hash, err := scanMessage(rows)
			if err != nil {
				rows.Close()
				return err
			}
			into[msgKey{m.ConversationID, m.ClientMsgID, string(m.SenderType), m.SenderID}] = &storedMsg{msg: m, hash: hash}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// insert writes the messages, one prepared INSERT each.
func (t *liteTx) insert(ctx context.Context, msgs []*chat.Message, hashes [][]byte) error {
	for i, m := range msgs {
		var clientID, meta any
		if m.ClientMsgID != "" {
			clientID = m.ClientMsgID
		}
		if len(m.Meta) > 0 {
			meta = string(m.Meta)
		}
		if _, err := t.ins.ExecContext(ctx, m.ConversationID, m.Seq, m.ID, string(m.SenderType), m.SenderID, m.SenderName,
			string(m.Type), m.Body, hashes[i], clientID, meta, ms(m.CreatedAt)); err != nil {
			return err
		}
	}
	return nil
}
