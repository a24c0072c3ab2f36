package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/parley-chat/parley/internal/chat"
)

// searchLag is how late a message may commit after its id was made (ids are time-ordered UUIDv7s made inside
// the committing transaction) and still be indexed: every pass re-reads that window. A commit stalled longer
// than this (or a node whose clock is behind by more) can leave a message out of the index.
const searchLag = 3 * time.Second

// Indexer fills the search index behind the writes: it reads the messages stored since its position (by id,
// which is time-ordered) and stores their terms. It keeps nothing in the write path of messages. Several nodes
// may index at once: terms are inserted with INSERT IGNORE, and the persisted position only moves forward.
type Indexer struct {
	s    *Store
	mu   sync.Mutex
	next string               // the last id indexed
	done map[string]time.Time // ids indexed within the lag window, so a re-read does not index them again
}

// NewIndexer returns the store's indexer, starting where the last one stopped.
func (s *Store) NewIndexer(ctx context.Context) (*Indexer, error) {
	ix := &Indexer{s: s, done: map[string]time.Time{}}
	err := s.srch.QueryRowContext(ctx, "SELECT v FROM search_state WHERE k = 'cursor'").Scan(&ix.next)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, s.wrap("read the search position", err)
	}
	return ix, nil
}

// uuidFloor is the smallest UUIDv7 made at t: ids compare as strings in time order.
func uuidFloor(t time.Time) string {
	ms := uint64(t.UnixMilli())
	return fmt.Sprintf("%08x-%04x-0000-0000-000000000000", ms>>16, ms&0xffff)
}

// Run indexes until it is up to date (at most max messages) and reports how many messages it indexed.
func (ix *Indexer) Run(ctx context.Context, max int) (int, error) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	s := ix.s
	now := s.now()
	from := uuidFloor(now.Add(-searchLag))
	if ix.next < from {
		from = ix.next // behind (a start, a burst): from the last one indexed
	}
	for id, at := range ix.done {
		if now.Sub(at) > 2*searchLag {
			delete(ix.done, id)
		}
	}
	total := 0
	for total < max {
		rows, err := s.query(ctx, "SELECT conversation_id, seq, id, type, body, deleted_at FROM messages WHERE id > ? ORDER BY id LIMIT 500", from)
		if err != nil {
			return total, s.wrap("read messages to index", err)
		}
		type entry struct {
			conv string
			seq  uint64
			id   string
			body string
		}
		var batch []entry
		n, last := 0, ""
		for rows.Next() {
			var e entry
			var typ string
			var deleted sql.NullInt64
			if err := rows.Scan(&e.conv, &e.seq, &e.id, &typ, &e.body, &deleted); err != nil {
				rows.Close()
				return total, s.wrap("read messages to index", err)
			}
			n, last = n+1, e.id
			if _, ok := ix.done[e.id]; ok || deleted.Valid || typ == string(chat.TypeSystem) {
				continue
			}
			batch = append(batch, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return total, s.wrap("read messages to index", err)
		}
		if n == 0 {
			break
		}
		var terms [][3]any
		for _, e := range batch {
			for _, t := range chat.SearchTerms(e.body) {
				terms = append(terms, [3]any{t, e.conv, e.seq})
			}
		}
		if err := ix.insert(ctx, terms); err != nil {
			return total, err
		}
		for _, e := range batch {
			ix.done[e.id] = now
		}
		total += len(batch)
		from = last
		if last > ix.next {
			ix.next = last
		}
		if n < 500 {
			break
		}
	}
	// Persist a position the next start can resume from without missing a late commit.
	if pos := min(ix.next, uuidFloor(now.Add(-searchLag))); pos != "" {
		if err := s.searchTx(ctx, "save the search position", func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, s.d.insertIgnore("search_state", "k, v", "?, ?"), "cursor", pos); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, "UPDATE search_state SET v = ? WHERE k = 'cursor' AND v < ?", pos, pos)
			return err
		}); err != nil {
			return total, err
		}
	}
	return total, nil
}

func (ix *Indexer) insert(ctx context.Context, terms [][3]any) error {
	s := ix.s
	const per = 300
	return s.searchTx(ctx, "index messages", func(tx *sql.Tx) error {
		for start := 0; start < len(terms); start += per {
			end := min(start+per, len(terms))
			values := strings.TrimSuffix(strings.Repeat("?, ?, ?), (", end-start), "), (")
			args := make([]any, 0, 3*(end-start))
			for _, t := range terms[start:end] {
				args = append(args, t[0], t[1], t[2])
			}
			// Built per chunk size: not through the statement cache.
			if _, err := tx.ExecContext(ctx, s.d.insertIgnore("search_terms", "term, conversation_id, seq", values), args...); err != nil {
				return err
			}
		}
		return nil
	})
}

// searchTx runs fn in a transaction on the search index's database, retrying quick conflicts.
func (s *Store) searchTx(ctx context.Context, op string, fn func(*sql.Tx) error) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		var tx *sql.Tx
		if tx, err = s.srch.BeginTx(ctx, nil); err != nil {
			break
		}
		if err = fn(tx); err == nil {
			err = tx.Commit()
		} else {
			tx.Rollback()
		}
		if err == nil || !s.d.isRetryable(err) || ctx.Err() != nil {
			break
		}
		time.Sleep(time.Duration(attempt+1) * 5 * time.Millisecond)
	}
	return s.wrap(op, err)
}

// SearchHit is one message found by a search.
type SearchHit struct {
	ConversationID string
	Seq            uint64
}

// Search returns the messages whose terms include every term of the query, newest conversation first, at most
// limit. A hit is a candidate: the caller checks the text itself and the reader's rights.
func (s *Store) Search(ctx context.Context, query string, limit int) ([]SearchHit, error) {
	terms := chat.SearchTerms(query)
	if len(terms) == 0 {
		return nil, nil
	}
	if len(terms) > 16 {
		terms = terms[:16]
	}
	args := make([]any, 0, len(terms)+2)
	for _, t := range terms {
		args = append(args, t)
	}
	args = append(args, len(terms), limit)
	rows, err := s.srch.QueryContext(ctx, "SELECT conversation_id, seq FROM search_terms WHERE term IN ("+placeholders(len(terms))+
		") GROUP BY conversation_id, seq HAVING count(*) = ? ORDER BY conversation_id DESC, seq DESC LIMIT ?", args...)
	if err != nil {
		return nil, s.wrap("search", err)
	}
	defer rows.Close()
	var out []SearchHit
	for rows.Next() {
		var h SearchHit
		if err := rows.Scan(&h.ConversationID, &h.Seq); err != nil {
			return nil, s.wrap("search", err)
		}
		out = append(out, h)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ConversationID > out[j].ConversationID })
	return out, s.wrap("search", rows.Err())
}

// MessageAt returns the message of a conversation at seq.
func (s *Store) MessageAt(ctx context.Context, convID string, seq uint64) (*chat.Message, error) {
	m, err := scanHistoryMessage(s.queryRow(ctx, "SELECT "+historyCols+" FROM messages WHERE conversation_id = ? AND seq = ?", convID, seq))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, chat.ErrNotFound("message")
	}
	return m, s.wrap("read message", err)
}
