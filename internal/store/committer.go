package store

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/parley-chat/parley/internal/chat"
)

// SendRequest is one message to store.
type SendRequest struct {
	ConversationID string
	SenderType     chat.SenderType
	SenderID       string
	SenderName     string
	Type           chat.MessageType
	Body           string
	ClientMsgID    string // empty: not idempotent (system and bot messages)
	Meta           json.RawMessage
	// Check runs inside the transaction with the conversation locked and may refuse the send, e.g. because the
	// conversation is closed. It must not block.
	Check func(*chat.Conversation) error

	hash []byte
	done chan SendResult  // the outcome, for Enqueue's waiter
	then func(SendResult) // the outcome, for EnqueueFunc's callback
}

// finish hands r its outcome.
func (r *SendRequest) finish(res SendResult) {
	if r.then != nil {
		r.then(res)
		return
	}
	r.done <- res
}

// SendResult is the outcome of a SendRequest. Message is the stored message: for a duplicate, the original one,
// exactly as first acknowledged. Conversation is the conversation after the commit as the committer reads it
// (commitConvCols): its id, site, customer, team, agent, status, channel, head (LastSeq, LastMessageAt,
// UpdatedAt) and FirstResponseAt. Its other fields are zero; read the conversation for them.
type SendResult struct {
	Message      *chat.Message
	Duplicate    bool
	Conversation *chat.Conversation
	Err          error
}

// CommitterOptions tune the group committer.
type CommitterOptions struct {
	// Shards is the number of concurrent committing transactions. Conversations are spread over shards by a
	// hash of their id, so one conversation's messages always commit in arrival order. SQLite has one writer,
	// so more than one shard only adds contention there.
	Shards int
	// MaxBatch bounds how many messages one transaction takes.
	MaxBatch int
	// QueueLen bounds each shard's queue; a full queue makes senders wait (their context bounds the wait).
	QueueLen int
	// Published is called after each commit, before the senders are answered, with the newly stored messages:
	// publication happens strictly after the commit and never for a duplicate. It runs one batch after another in
	// commit order: on the shard's publishing goroutine while the shard's next batch commits, or on the
	// committer's own goroutine when nothing waits to be committed.
	Published func(results []SendResult)
	// Observe reports each commit's size and duration (metrics).
	Observe func(batch int, took time.Duration, err error)
	// CommitTimeout bounds one transaction (default 10 s): a stuck database fails sends instead of hanging.
	CommitTimeout time.Duration
}

// Committer writes messages in shared transactions (group commit). Each transaction takes what queued while the
// previous one was flushing, up to MaxBatch, so throughput grows with load while a lone message is committed at
// once, never held back waiting for company.
type Committer struct {
	s      *Store
	o      CommitterOptions
	shards []chan *SendRequest
	// lite holds the statements of the SQLite path, prepared once on the single writer connection: parsing SQL
	// anew for every commit cost a fifth of the server's CPU (docs/benchmarks.md, finding 2). nil on MySQL,
	// where one multi-row statement per step saves the round trips that dominate there.
	lite *liteStmts
	// my is the committer's own pool on MySQL (committer_mysql.go): autocommit off and several statements a
	// round trip, so that a batch takes two round trips instead of five. nil on SQLite, or when it could not
	// be opened (the committer then takes the general path).
	my *sql.DB

	mu     sync.RWMutex
	closed bool
	wg     sync.WaitGroup
}

// NewCommitter starts a group committer on s. Close stops it.
func (s *Store) NewCommitter(o CommitterOptions) *Committer {
	if o.Shards <= 0 {
		o.Shards = 1
		if s.d.name() == "mysql" {
			// Two transactions in flight: while one waits for its flush the other fills. Four made smaller
			// batches (more statements per message) for the same throughput on two cores (docs/benchmarks.md,
			// History 2026-12-03); one could not keep up past ~11,000 messages a second.
			o.Shards = 2
		}
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 256
	}
	if o.QueueLen <= 0 {
		o.QueueLen = 4096
	}
	if o.CommitTimeout <= 0 {
		o.CommitTimeout = 10 * time.Second
	}
	if o.Published == nil {
		o.Published = func([]SendResult) {}
	}
	if o.Observe == nil {
		o.Observe = func(int, time.Duration, error) {}
	}
	c := &Committer{s: s, o: o}
	if s.d.name() == "sqlite" {
		// Preparing can only fail if the schema is not there, which Open has ruled out; without the
		// statements the committer takes the general path.
		if st, err := prepareLite(s.w); err == nil {
			c.lite = st
		} else {
			s.log.Warn("prepare the committer's statements; using unprepared SQL", "err", err)
		}
	}
	if s.mycfg != nil {
		// The DSN was parsed and used already, so this cannot fail in practice; without the pool the
		// committer takes the general path (a transaction of five round trips).
		if db, err := openCommitPool(s.mycfg, s.mylife, o.Shards); err == nil {
			c.my = db
		} else {
			s.log.Warn("open the committer's MySQL connections; using transactions", "err", err)
		}
	}
	for i := 0; i < o.Shards; i++ {
		q := make(chan *SendRequest, o.QueueLen)
		c.shards = append(c.shards, q)
		c.wg.Add(1)
		go c.loop(q)
	}
	return c
}

// Send stores one message and returns when its commit is durable (or failed). If ctx ends first the outcome is
// unknown: the message may or may not be stored, and the sender must retry with the same client message id.
func (c *Committer) Send(ctx context.Context, r *SendRequest) SendResult {
	wait, err := c.Enqueue(ctx, r)
	if err != nil {
		return SendResult{Err: err}
	}
	return wait(ctx)
}

// Enqueue queues r for commit and returns a function that waits for the outcome. Requests enqueued one after
// another for one conversation are numbered in that order.
func (c *Committer) Enqueue(ctx context.Context, r *SendRequest) (wait func(context.Context) SendResult, err error) {
	r.done = make(chan SendResult, 1)
	if err := c.enqueue(ctx, r); err != nil {
		return nil, err
	}
	return func(ctx context.Context) SendResult {
		select {
		case res := <-r.done:
			return res
		case <-ctx.Done():
			return SendResult{Err: chat.Wrap(chat.CodeUnavailable, ctx.Err(), "no acknowledgement in time; retry with the same client_msg_id")}
		}
	}, nil
}

// EnqueueFunc queues r like Enqueue and calls then with the outcome once r's transaction has ended (committed
// or failed) and the messages are published. then runs on the shard's publishing goroutine (which answers
// the shard's batches in commit order, while the next batch commits) or, with nothing waiting to be committed,
// on the committer's own, so it must not block:
// the WebSocket transport queues its acknowledgement from it, which spares every send a goroutine and a timer
// of its own waiting for the commit. then is not called when EnqueueFunc returns an error. Every queued
// request is answered, Close included: a transaction is bounded by CommitTimeout.
func (c *Committer) EnqueueFunc(ctx context.Context, r *SendRequest, then func(SendResult)) error {
	r.then = then
	return c.enqueue(ctx, r)
}

func (c *Committer) enqueue(ctx context.Context, r *SendRequest) error {
	r.hash = chat.BodyHash(r.Type, r.Body)
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return chat.Errorf(chat.CodeShuttingDown, "the server is shutting down; retry on another connection")
	}
	q := c.shards[shardOf(r.ConversationID, len(c.shards))]
	select {
	case q <- r:
	case <-ctx.Done():
		c.mu.RUnlock()
		return chat.Wrap(chat.CodeUnavailable, ctx.Err(), "the server is overloaded; retry")
	}
	c.mu.RUnlock()
	return nil
}

// Close stops taking messages, commits what is queued, and waits for the shards to finish.
func (c *Committer) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	for _, q := range c.shards {
		close(q)
	}
	c.mu.Unlock()
	c.wg.Wait()
	c.lite.close()
	if c.my != nil {
		c.my.Close()
	}
}

func shardOf(id string, n int) int {
	if n == 1 {
		return 0
	}
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % uint32(n))
}

func (c *Committer) loop(q chan *SendRequest) {
	defer c.wg.Done()
	// Under load a shard's outcomes are published and answered on a goroutine of their own, in commit order,
	// while the next batch commits: the transaction is the shard's serial path, and its publication (a frame
	// encoded and queued for every subscriber) and answers (an acknowledgement encoded and queued for every
	// sender) need not hold it up. With nothing waiting to be committed the committer publishes itself, as
	// soon as the publisher has finished what it was given (so the order holds): handing over would only add
	// a goroutine's wake-up to every message's latency. The queue is short: a publisher that falls behind
	// holds the committer back.
	out := make(chan outcome, 4)
	var handed sync.WaitGroup // outcomes handed to the publisher and not yet answered
	published := make(chan struct{})
	go c.publish(out, &handed, published)
	defer func() {
		close(out)
		<-published
	}()
	batch := make([]*SendRequest, 0, c.o.MaxBatch)
	eager := 0 // batches left that look their keys up first: a retry was seen lately (a reconnect storm)
	for {
		first, ok := <-q
		if !ok {
			return
		}
		batch = append(batch[:0], first)
	drain:
		for len(batch) < c.o.MaxBatch {
			select {
			case r, ok := <-q:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		o := c.commit(batch, &eager)
		if len(q) == 0 {
			handed.Wait() // every earlier batch answered: publishing here keeps the order
			c.answer(o)
			clear(batch)
			continue
		}
		handed.Add(1)
		out <- o
		batch = make([]*SendRequest, 0, c.o.MaxBatch) // the publisher owns the committed one
	}
}

// outcome is one committed (or failed) batch for the shard's publisher: the requests and their results, in
// the batch's order.
type outcome struct {
	batch   []*SendRequest
	results []SendResult
}

// publish answers the batches handed to it, one after another in commit order.
func (c *Committer) publish(out <-chan outcome, handed *sync.WaitGroup, done chan<- struct{}) {
	defer close(done)
	for o := range out {
		c.answer(o)
		handed.Done()
	}
}

// answer publishes a batch's new messages and then answers its senders: a conversation's messages are
// published in the order of their sequence numbers, and a sender hears of its message only after it was
// published.
func (c *Committer) answer(o outcome) {
	fresh := make([]SendResult, 0, len(o.results))
	for _, res := range o.results {
		if res.Err == nil && !res.Duplicate {
			fresh = append(fresh, res)
		}
	}
	if len(fresh) > 0 {
		c.o.Published(fresh)
	}
	for i, r := range o.batch {
		r.finish(o.results[i])
	}
}

// retryWindow is how many of a shard's batches look their client message ids up before inserting after one
// held a retry of a stored message: retries come in storms (every client of a dropped connection resends what
// was not acknowledged), and each batch that meets one unprepared is run twice.
const retryWindow = 64

// commit runs one batch in one transaction and returns every request's outcome, for the shard's publisher.
// eager is the shard's count of batches left that look their keys up first (retryWindow).
func (c *Committer) commit(batch []*SendRequest, eager *int) outcome {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), c.o.CommitTimeout)
	defer cancel()
	var results []SendResult
	var err error
	lookup := *eager > 0
	if lookup {
		*eager--
	}
	for attempt := 0; attempt < 5; attempt++ {
		if c.my != nil {
			results, err = c.commitMySQL(ctx, batch, lookup)
		} else {
			err = c.s.tryTx(ctx, func(tx *sql.Tx) error {
				// SQLite's statements (the conversation's read, the insert, the head's update) run without the
				// deadline: modernc.org/sqlite starts a goroutine per statement to watch a context that can end.
				// The deadline still bounds the transaction (database/sql rolls it back when ctx ends), and
				// busy_timeout bounds every wait for SQLite's lock.
				sctx := ctx
				var lite *liteTx
				if c.lite != nil {
					sctx = context.WithoutCancel(ctx)
					lite = c.lite.in(sctx, tx)
				}
				var writes []write
				var err error
				if results, writes, err = c.apply(sctx, tx, lite, batch, lookup); err != nil {
					return err
				}
				return execWrites(sctx, tx, writes)
			})
		}
		if err != nil && !lookup && c.s.d.isDuplicate(err) && ctx.Err() == nil {
			// The unique index refused a message the batch did not look up: a retry of a stored message.
			// Run the batch again at once, looking its keys up, and the shard's next batches too.
			lookup, *eager = true, retryWindow
			continue
		}
		// A deadlock (MySQL) or busy database (SQLite) rolled the transaction back: run the whole batch again.
		// A duplicate key means another node stored one of these messages between our read and our insert;
		// the next attempt finds it and answers it as a duplicate.
		if err == nil || ctx.Err() != nil || !(c.s.d.isRetryable(err) || c.s.d.isDuplicate(err) || errors.Is(err, driver.ErrBadConn)) {
			break
		}
		time.Sleep(time.Duration(attempt+1) * 2 * time.Millisecond)
	}
	c.o.Observe(len(batch), time.Since(start), err)
	if err != nil {
		werr := c.s.wrap("commit messages", err)
		results = make([]SendResult, len(batch))
		for i := range results {
			results[i].Err = werr
		}
	}
	return outcome{batch: batch, results: results}
}

type msgKey struct {
	conv, clientID, senderType, senderID string
}

// querier is what a batch's reads and writes run on: the transaction (*sql.Tx), or on MySQL the committer's
// connection with autocommit off (*sql.Conn).
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// apply does the work of one batch inside a transaction on q: lock the conversations, find retries of stored
// messages, number the new ones densely per conversation, and return the statements that insert them and
// advance each conversation's head, for the caller to run (on MySQL together with the COMMIT). With lite (SQLite's
// prepared statements) the writes are made here and none are returned.
//
// With lookup false the batch's client message ids are not looked up first: nearly every message is new, and
// the unique index messages_client refuses a retry of a stored one, which fails the transaction for commit to
// run again with lookup. That saves a statement (on MySQL a round trip) per transaction and an index probe per
// message. The lookup is made anyway when a request with a client message id would be refused by its check:
// a retry of a message stored before its conversation closed gets its original acknowledgement, not the
// refusal.
func (c *Committer) apply(ctx context.Context, q querier, lite *liteTx, batch []*SendRequest, lookup bool) ([]SendResult, []write, error) {
	s := c.s
	// Lock every conversation of the batch, in id order so that concurrent transactions cannot deadlock.
	ids := make([]string, 0, len(batch))
	for _, r := range batch {
		ids = append(ids, r.ConversationID)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	convs := make(map[string]*chat.Conversation, len(ids))
	if lite != nil {
		if err := lite.conversations(ctx, ids, convs); err != nil {
			return nil, nil, err
		}
	} else if err := c.lockConversations(ctx, q, ids, convs); err != nil {
		return nil, nil, err
	}

	// Look up the client message ids of the batch: a hit is a retry of a stored message.
	stored := map[msgKey]*storedMsg{} // without the lookup, only the batch's own repeats land here
	switch {
	case !lookup && !refusesKeyed(batch, convs):
	case lite != nil:
		if err := lite.lookupKeys(ctx, batch, stored); err != nil {
			return nil, nil, err
		}
	default:
		if err := c.lookupKeys(ctx, q, batch, stored); err != nil {
			return nil, nil, err
		}
	}

	results := make([]SendResult, len(batch))
	var inserts []*chat.Message
	var hashes [][]byte
	touched := map[string]bool{}
	now := s.now()
	for i, r := range batch {
		conv := convs[r.ConversationID]
		if conv == nil {
			results[i].Err = chat.ErrNotFound("conversation")
			continue
		}
		key := msgKey{r.ConversationID, r.ClientMsgID, string(r.SenderType), r.SenderID}
		if r.ClientMsgID != "" {
			if prev := stored[key]; prev != nil {
				if !bytes.Equal(prev.hash, r.hash) {
					results[i].Err = &chat.Error{Code: chat.CodeKeyReused, Field: "client_msg_id",
						Message: "this client_msg_id was already used for a different message; nothing was stored"}
					continue
				}
				results[i] = SendResult{Message: prev.msg, Duplicate: true, Conversation: conv}
				continue
			}
		}
		if r.Check != nil {
			if err := r.Check(conv); err != nil {
				results[i].Err = err
				continue
			}
		}
		id, err := uuid.NewV7()
		if err != nil {
			return nil, nil, err
		}
		conv.LastSeq++
		conv.LastMessageAt, conv.UpdatedAt = now, now
		if r.SenderType == chat.SenderAgent && r.Type != chat.TypeNote && conv.FirstResponseAt.IsZero() {
			conv.FirstResponseAt = now // reports measure the first response from here
		}
		m := &chat.Message{ConversationID: conv.ID, Seq: conv.LastSeq, ID: id.String(), SenderType: r.SenderType,
			SenderID: r.SenderID, SenderName: r.SenderName, Type: r.Type, Body: r.Body, ClientMsgID: r.ClientMsgID,
			Meta: r.Meta, CreatedAt: now}
		inserts = append(inserts, m)
		hashes = append(hashes, r.hash)
		touched[conv.ID] = true
		if r.ClientMsgID != "" {
			stored[key] = &storedMsg{msg: m, hash: r.hash}
		}
		results[i] = SendResult{Message: m}
	}
	var writes []write
	if lite != nil {
		if err := lite.insert(ctx, inserts, hashes); err != nil {
			return nil, nil, err
		}
	} else {
		writes = insertWrites(inserts, hashes)
	}
	heads := make([]*chat.Conversation, 0, len(touched))
	for _, id := range ids { // ids is sorted: the same batch always updates in the same order
		if touched[id] {
			heads = append(heads, convs[id])
		}
	}
	if lite != nil {
		for _, conv := range heads {
			if _, err := lite.stmt(lite.st.head).ExecContext(ctx, conv.LastSeq, ms(conv.LastMessageAt), ms(conv.UpdatedAt), firstResponse(conv), conv.ID); err != nil {
				return nil, nil, err
			}
		}
	} else {
		writes = append(writes, headWrites(heads, now)...)
	}
	for i := range results {
		if results[i].Err == nil {
			snap := *convs[batch[i].ConversationID]
			results[i].Conversation = &snap
		}
	}
	return results, writes, nil
}

// refusesKeyed reports whether the check of a request with a client message id refuses it: such a request
// may be the retry of a message stored before the refusal's cause (a closed conversation), which must be
// answered with the stored message.
func refusesKeyed(batch []*SendRequest, convs map[string]*chat.Conversation) bool {
	for _, r := range batch {
		if conv := convs[r.ConversationID]; conv != nil && r.ClientMsgID != "" && r.Check != nil && r.Check(conv) != nil {
			return true
		}
	}
	return false
}

// headSQL advances a conversation's head after its messages were inserted (SQLite's prepared statement).
const headSQL = "UPDATE conversations SET last_seq = ?, last_message_at = ?, updated_at = ?, first_response_at = ? WHERE id = ?"

func firstResponse(conv *chat.Conversation) any {
	if conv.FirstResponseAt.IsZero() {
		return nil
	}
	return ms(conv.FirstResponseAt)
}

// write is one statement of a batch's writes, and how many rows it must affect (-1: not checked).
type write struct {
	q    string
	args []any
	rows int64
}

// execWrites runs a batch's writes in its transaction, one statement a round trip.
func execWrites(ctx context.Context, q querier, writes []write) error {
	for _, w := range writes {
		res, err := q.ExecContext(ctx, w.q, w.args...)
		if err != nil {
			return err
		}
		if w.rows >= 0 {
			if n, err := res.RowsAffected(); err == nil && n != w.rows {
				return headsMissed(n, w.rows)
			}
		}
	}
	return nil
}

// headsMissed is the error of an UPDATE of conversation heads that missed some. Every row is locked by the
// transaction, so it never happens; if it did, the messages would be ahead of last_seq and the next send would
// reuse their numbers.
func headsMissed(n, want int64) error {
	return fmt.Errorf("advance conversation heads: %d of %d rows updated", n, want)
}

// headWrites advances the heads of a batch's conversations, locked by this transaction and each touched at
// now, with one UPDATE per 200 conversations. On MySQL a statement per conversation cost a round trip each, so
// a transaction grew by one for every conversation in its batch and a shard could not commit faster than one
// round trip per conversation, however large its batches grew (docs/benchmarks.md, History 2026-12-02
// afternoon).
func headWrites(heads []*chat.Conversation, now time.Time) []write {
	const per = 200
	var writes []write
	for start := 0; start < len(heads); start += per {
		part := heads[start:min(start+per, len(heads))]
		var b strings.Builder
		args := make([]any, 0, 5*len(part)+2)
		b.WriteString("UPDATE conversations SET last_seq = CASE id")
		for _, conv := range part {
			b.WriteString(" WHEN ? THEN ?")
			args = append(args, conv.ID, conv.LastSeq)
		}
		b.WriteString(" END, last_message_at = ?, updated_at = ?, first_response_at = CASE id")
		args = append(args, ms(now), ms(now))
		for _, conv := range part {
			b.WriteString(" WHEN ? THEN ?")
			args = append(args, conv.ID, firstResponse(conv))
		}
		b.WriteString(" END WHERE id IN (" + placeholders(len(part)) + ")")
		for _, conv := range part {
			args = append(args, conv.ID)
		}
		writes = append(writes, write{q: b.String(), args: args, rows: int64(len(part))})
	}
	return writes
}

// lockConversations reads and locks the batch's conversations (ids sorted) with one statement.
func (c *Committer) lockConversations(ctx context.Context, q querier, ids []string, into map[string]*chat.Conversation) error {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := q.QueryContext(ctx, "SELECT "+commitConvCols+" FROM conversations WHERE id IN ("+placeholders(len(ids))+") ORDER BY id"+c.s.d.forUpdate(), args...)
	if err != nil {
		return err
	}
	return scanCommitConversations(rows, into)
}

// scanCommitConversations reads rows of commitConvCols into into, by id, and closes rows.
func scanCommitConversations(rows *sql.Rows, into map[string]*chat.Conversation) error {
	defer rows.Close()
	for rows.Next() {
		conv, err := scanCommitConversation(rows)
		if err != nil {
			return err
		}
		into[conv.ID] = conv
	}
	return rows.Err()
}

type storedMsg struct {
	msg  *chat.Message
	hash []byte
}

// lookupKeys finds stored messages with the batch's client message ids, one query for the whole batch, each
// conversation's ids as point reads of the messages_client unique index.
func (c *Committer) lookupKeys(ctx context.Context, q querier, batch []*SendRequest, into map[msgKey]*storedMsg) error {
	byConv := map[string][]string{}
	var order []string
	for _, r := range batch {
		if r.ClientMsgID == "" {
			continue
		}
		if _, ok := byConv[r.ConversationID]; !ok {
			order = append(order, r.ConversationID)
		}
		byConv[r.ConversationID] = append(byConv[r.ConversationID], r.ClientMsgID)
	}
	if len(order) == 0 {
		return nil
	}
	var where []string
	var args []any
	for _, conv := range order {
		keys := slices.Compact(slices.Sorted(slices.Values(byConv[conv])))
		where = append(where, "(conversation_id = ? AND client_msg_id IN ("+placeholders(len(keys))+"))")
		args = append(args, conv)
		for _, k := range keys {
			args = append(args, k)
		}
	}
	// The unique index is named: led by the client id it can look like the dearer choice on a small table, and
	// the primary key's range reads the whole of each conversation.
	rows, err := q.QueryContext(ctx, "SELECT "+msgCols+" FROM messages"+c.s.d.useIndex("messages_client")+" WHERE "+strings.Join(where, " OR "), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		m, hash, err := scanMessage(rows)
		if err != nil {
			return err
		}
		into[msgKey{m.ConversationID, m.ClientMsgID, string(m.SenderType), m.SenderID}] = &storedMsg{msg: m, hash: hash}
	}
	return rows.Err()
}

// insertWrites writes messages with multi-row INSERTs, 100 rows per statement.
func insertWrites(msgs []*chat.Message, hashes [][]byte) []write {
	const per = 100
	var writes []write
	const row = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)"
	for start := 0; start < len(msgs); start += per {
		end := min(start+per, len(msgs))
		var b strings.Builder
		b.WriteString("INSERT INTO messages (" + msgCols + ") VALUES ")
		args := make([]any, 0, (end-start)*12)
		for i := start; i < end; i++ {
			if i > start {
				b.WriteString(", ")
			}
			b.WriteString(row)
			m := msgs[i]
			var clientID, meta any
			if m.ClientMsgID != "" {
				clientID = m.ClientMsgID
			}
			if len(m.Meta) > 0 {
				meta = string(m.Meta)
			}
			args = append(args, m.ConversationID, m.Seq, m.ID, string(m.SenderType), m.SenderID, m.SenderName,
				string(m.Type), m.Body, hashes[i], clientID, meta, ms(m.CreatedAt))
		}
		writes = append(writes, write{q: b.String(), args: args, rows: -1})
	}
	return writes
}
