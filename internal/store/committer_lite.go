package store

import (
	"context"
	"database/sql"

	"github.com/parley-chat/parley/internal/chat"
)

// liteStmts are the group committer's statements on SQLite, prepared once. SQLite runs in the process, so a
// prepared statement costs less than parsing and planning one large statement per batch (the multi-row INSERT
// and the OR-of-IN key lookup grew more expensive per message as batches grew).
type liteStmts struct {
	// convs[n-1] reads n conversations by id (n up to liteConvsPer): a batch's conversations in one statement
	// instead of one each. Each query costs the driver a fixed price (column names and types, the rows'
	// state, database/sql's locks) that was two thirds of a point read's cost (docs/benchmarks.md, History
	// 2026-12-07).
	convs             [liteConvsPer]*sql.Stmt
	key, insert, head *sql.Stmt
}

// liteConvsPer is the most conversations one prepared read takes; a larger batch reads in parts. Eight
// statements of fixed arity, prepared up front: the writer's pool has one connection, which a transaction
// holds, so nothing can be prepared on it during a commit.
const liteConvsPer = 8

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
	for n := 1; n <= liteConvsPer; n++ {
		st.convs[n-1] = prep("SELECT " + commitConvCols + " FROM conversations WHERE id IN (" + placeholders(n) + ")")
	}
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
	for _, p := range append(st.convs[:], st.key, st.insert, st.head) {
		if p != nil {
			p.Close()
		}
	}
}

// liteTx is the statements bound to one transaction, each bound when first used: binding (tx.StmtContext)
// has a cost of its own, and most batches never look a key up.
type liteTx struct {
	ctx   context.Context
	tx    *sql.Tx
	st    *liteStmts
	bound map[*sql.Stmt]*sql.Stmt
}

func (st *liteStmts) in(ctx context.Context, tx *sql.Tx) *liteTx {
	return &liteTx{ctx: ctx, tx: tx, st: st}
}

// stmt is p bound to the transaction.
func (t *liteTx) stmt(p *sql.Stmt) *sql.Stmt {
	if b := t.bound[p]; b != nil {
		return b
	}
	if t.bound == nil {
		t.bound = make(map[*sql.Stmt]*sql.Stmt, 4)
	}
	b := t.tx.StmtContext(t.ctx, p)
	t.bound[p] = b
	return b
}

// conversations reads the batch's conversations (ids sorted and distinct), up to liteConvsPer a statement; the
// immediate transaction already holds SQLite's write lock. An id not found is left out (answered as not found).
func (t *liteTx) conversations(ctx context.Context, ids []string, into map[string]*chat.Conversation) error {
	args := make([]any, 0, min(len(ids), liteConvsPer))
	for start := 0; start < len(ids); start += liteConvsPer {
		part := ids[start:min(start+liteConvsPer, len(ids))]
		args = args[:0]
		for _, id := range part {
			args = append(args, id)
		}
		rows, err := t.stmt(t.st.convs[len(part)-1]).QueryContext(ctx, args...)
		if err != nil {
			return err
		}
		if err := scanCommitConversations(rows, into); err != nil {
			return err
		}
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
		rows, err := t.stmt(t.st.key).QueryContext(ctx, p.conv, p.client)
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
		if _, err := t.stmt(t.st.insert).ExecContext(ctx, m.ConversationID, m.Seq, m.ID, string(m.SenderType), m.SenderID, m.SenderName,
			string(m.Type), m.Body, hashes[i], clientID, meta, ms(m.CreatedAt)); err != nil {
			return err
		}
	}
	return nil
}
