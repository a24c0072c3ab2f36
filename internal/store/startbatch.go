package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/parley-chat/parley/internal/chat"
)

// startBatcher starts conversations on MySQL/MariaDB in batches: the starts that arrive while the previous
// batch is being written run together in one transaction, which takes each team's queue lock once, locks and
// reads the candidate agents' rows once, writes the new conversations in their final state with one INSERT
// and the agents' slots with one UPDATE, and appends the batch's events, system messages and offers with one
// multi-row INSERT each after advancing every stream's head once. A start done one
// transaction at a time cost about fifteen statement round trips and a commit, all of them under the team's
// queue lock (every start of a team waited for the previous one's fsync): 2.2 ms of MariaDB CPU per start
// and ~300 starts/s at most (docs/benchmarks.md, History 2026-12-02, "MariaDB starts batched"). A batch costs a
// dozen statements however many starts it holds (startUnits).
//
// A customer who has an open conversation by the time the batch runs (another request created it, or they
// started twice in the batch) gets that one, as without batching. Any failure (a deadlock, which rolls back
// InnoDB's whole transaction; a lock wait timeout, which rolls back only the statement and so leaves the batch
// in an unknown state; a duplicate key from a start of the same customer in another team that the batch could
// not see yet; the commit) rolls the batch back, and each of its starts runs again as a batch of one, with the
// retries of any other transaction. SQLite keeps its own group commit of starts (txBatcher): its single writer
// serializes them already and the savepoints there cost no round trips.
type startBatcher struct {
	s *Store

	mu      sync.Mutex
	queue   []*startUnit
	running bool

	// conn is the connection the batches run on while starts keep coming (the loop's goroutine alone uses it;
	// it goes back to the pool when the queue is empty). Taking one from the pool for every batch made the
	// batch wait among every request's reads for one of the pool's connections: when thousands of requests
	// waited (S5 overloaded on a busy machine), the batch, which is what frees them, waited longest — the
	// pool hands a freed connection to a random waiter — and the rate collapsed to tens of starts a second.
	conn *sql.Conn

	// fallbacks counts batches rolled back and run again start by start (tests read it).
	fallbacks atomic.Int64
}

// startUnit is one start waiting for its batch.
type startUnit struct {
	ctx  context.Context // the caller's: a start whose caller has gone by its turn is skipped
	in   StartInput
	done chan struct{}

	// Filled by the batch.
	conv     *chat.Conversation
	ch       *Change
	err      error
	existing bool // the customer's open conversation, not created by this start

	pending
}

// pending is a routing change whose events, system messages and offer are written by flushPending, after
// the change's own row updates: ch is nil when the change failed alone and writes nothing.
type pending struct {
	ch    *Change
	evs   []*chat.Event
	msgs  []*chat.Message
	offer *offerRow
}

type offerRow struct {
	id, convID, agentID string
	created, expires    time.Time
}

// run starts a conversation for in in the next batch and returns it once that batch has committed.
func (b *startBatcher) run(ctx context.Context, in StartInput) (*chat.Conversation, bool, *Change, error) {
	u := &startUnit{ctx: ctx, in: in, done: make(chan struct{})}
	b.mu.Lock()
	b.queue = append(b.queue, u)
	if !b.running {
		b.running = true
		go b.loop()
	}
	b.mu.Unlock()
	<-u.done
	return u.conv, u.err == nil && !u.existing, u.ch, u.err
}

func (b *startBatcher) loop() {
	for {
		b.mu.Lock()
		batch := b.queue
		b.queue = nil
		if len(batch) == 0 {
			// The connection is let go while the lock is held: the next loop may start as soon as it is released.
			b.running = false
			c := b.conn
			b.conn = nil
			b.mu.Unlock()
			if c != nil {
				c.Close() // back to the pool
			}
			return
		}
		b.mu.Unlock()
		for len(batch) > 0 {
			n := min(len(batch), maxBatch)
			b.commit(batch[:n])
			batch = batch[n:]
		}
	}
}

// commit writes a batch and answers each of its starts.
func (b *startBatcher) commit(batch []*startUnit) {
	live := make([]*startUnit, 0, len(batch))
	for _, u := range batch {
		if err := u.ctx.Err(); err != nil {
			u.err = err
			close(u.done)
		} else {
			live = append(live, u)
		}
	}
	if len(live) == 0 {
		return
	}
	if len(live) > 1 {
		if err := b.tx(func(tx *sql.Tx) error { return b.s.startUnits(tx, live) }); err == nil {
			for _, u := range live {
				close(u.done)
			}
			return
		}
		// Rolled back as a whole: every start runs again on its own.
		b.fallbacks.Add(1)
	}
	for _, u := range live {
		b.alone(u)
		close(u.done)
	}
}

// alone runs one start in a transaction of its own, retrying transient conflicts as Store.tx does.
func (b *startBatcher) alone(u *startUnit) {
	start := time.Now()
	for attempt := 0; ; attempt++ {
		err := b.tx(func(tx *sql.Tx) error { return b.s.startUnits(tx, []*startUnit{u}) })
		if err == nil {
			return
		}
		u.err = err
		if !b.s.d.isRetryable(err) || attempt == 4 || u.ctx.Err() != nil || time.Since(start) > time.Second {
			return
		}
		time.Sleep(time.Duration(attempt+1) * 5 * time.Millisecond)
	}
}

// tx runs fn in a transaction on the batcher's connection, taking one from the pool when it has none, and
// commits. A connection that failed is closed (the pool discards a bad one) and replaced at the next batch.
func (b *startBatcher) tx(fn func(*sql.Tx) error) error {
	ctx := context.Background()
	if b.conn == nil {
		c, err := b.s.w.Conn(ctx)
		if err != nil {
			return err
		}
		b.conn = c
	}
	err := runTx(ctx, b.conn, fn)
	if err != nil && b.s.d.isUnavailable(err) && !b.s.d.isRetryable(err) {
		b.release()
	}
	return err
}

// release gives the batcher's connection back to the pool (which discards it if it failed).
func (b *startBatcher) release() {
	if b.conn != nil {
		b.conn.Close()
		b.conn = nil
	}
}

// routeState is what a batch knows while it runs: how many wait in each queue, whose slots it took.
type routeState struct {
	ahead map[aheadKey]int // conversations queued ahead of a new one, by team and priority
	taken map[string]int   // slots taken in this batch, by agent
	full  map[string]bool  // agents found without room in this batch
}

func newRouteState() *routeState {
	return &routeState{ahead: map[aheadKey]int{}, taken: map[string]int{}, full: map[string]bool{}}
}

type aheadKey struct {
	team     string
	priority int
}

// startUnits creates the conversations of units in tx with a fixed number of statements, however many units
// there are: the teams' queue locks, one read of the customers' open conversations, one locking read of the
// candidates' rows, then one INSERT of the conversations, one UPDATE of the agents' slots and the events,
// messages and offers (flushPending). Every statement is a round trip under the queue lock; one or two per
// start made a batch's time grow with its size. A customer who has an open conversation by then (another
// request created it meanwhile, or started twice in this batch) gets that one. Units are reset first: a batch
// that fell back runs them again. Any error fails the whole transaction.
func (s *Store) startUnits(tx *sql.Tx, units []*startUnit) error {
	ctx := context.Background() // the batch must not end with one caller's context
	st := newRouteState()
	var teams []string
	for _, u := range units {
		u.conv, u.ch, u.err, u.existing, u.pending = nil, nil, nil, false, pending{}
		if u.in.TeamID != "" && !slices.Contains(teams, u.in.TeamID) {
			teams = append(teams, u.in.TeamID)
		}
	}
	// Every change to a team's queue takes its lock first; in id order, so two batches cannot deadlock on them.
	slices.Sort(teams)
	for _, t := range teams {
		if err := s.lockQueue(ctx, tx, t); err != nil {
			return err
		}
	}
	open, err := s.openConversations(ctx, tx, units)
	if err != nil {
		return err
	}
	agents, err := s.lockCandidates(ctx, tx, units)
	if err != nil {
		return err
	}
	var created []*chat.Conversation
	for _, u := range units {
		key := u.in.SiteID + "\x00" + u.in.CustomerID
		if c := open[key]; c != nil {
			u.conv, u.ch, u.existing = c, &Change{Conv: c}, true
			continue
		}
		if err := s.startUnit(ctx, tx, st, agents, u); err != nil {
			return err
		}
		open[key] = u.conv
		created = append(created, u.conv)
	}
	if err := insertRows(ctx, tx, `INSERT INTO conversations (id, site_id, customer_id, team_id, agent_id, status, channel, priority, last_seq,
		created_at, updated_at, last_message_at, closed_at, queued_at, offered_to, offer_expires_at, assigned_at) VALUES `,
		"(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?)", len(created), func(i int) []any {
			c := created[i]
			return []any{c.ID, c.SiteID, c.CustomerID, nullString(c.TeamID), nullString(c.AgentID), string(c.Status),
				string(c.Channel), c.Priority, c.LastSeq, ms(c.CreatedAt), ms(c.UpdatedAt), ms(c.LastMessageAt), ms(c.QueuedAt),
				nullString(c.OfferedTo), nullTime(c.OfferExpiresAt), nullTime(c.AssignedAt)}
		}); err != nil {
		return err
	}
	if err := s.updateSlots(ctx, tx, agents); err != nil {
		return err
	}
	ps := make([]*pending, 0, len(units))
	for _, u := range units {
		ps = append(ps, &u.pending)
	}
	return s.flushPending(ctx, tx, ps)
}

// openConversations returns the open conversations of the units' customers, by site and customer.
func (s *Store) openConversations(ctx context.Context, tx *sql.Tx, units []*startUnit) (map[string]*chat.Conversation, error) {
	bySite := map[string][]any{}
	for _, u := range units {
		bySite[u.in.SiteID] = append(bySite[u.in.SiteID], u.in.CustomerID)
	}
	out := map[string]*chat.Conversation{}
	for site, custs := range bySite {
		rows, err := tx.QueryContext(ctx, "SELECT "+convCols+" FROM conversations WHERE site_id = ? AND customer_id IN ("+placeholders(len(custs))+") AND "+
			s.d.openPredicate(), append([]any{site}, custs...)...)
		if err != nil {
			return nil, err
		}
		convs, err := s.scanConversations(rows)
		if err != nil {
			return nil, err
		}
		for _, c := range convs {
			out[c.SiteID+"\x00"+c.CustomerID] = c
		}
	}
	return out, nil
}

// agentRow is a candidate as the batch read and locked it, and the slots the batch gave them.
type agentRow struct {
	c      chat.Candidate
	room   bool // online and enabled
	taken  int
	lastAt time.Time // the batch's last assignment to them
}

// lockCandidates reads and locks the rows of every agent the units may be routed to (in id order, as every
// locking read of several agents does), so the batch decides on their exact load and writes each one's slots
// once (updateSlots).
func (s *Store) lockCandidates(ctx context.Context, tx *sql.Tx, units []*startUnit) (map[string]*agentRow, error) {
	var ids []any
	seen := map[string]bool{}
	for _, u := range units {
		if u.in.Route == nil {
			continue
		}
		for _, c := range u.in.Route.Candidates {
			if !seen[c.ID] {
				seen[c.ID] = true
				ids = append(ids, c.ID)
			}
		}
	}
	out := map[string]*agentRow{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, capacity, slots_used, weight, last_assigned_at, auto_accept, name,
		presence = 'online' AND disabled_at IS NULL FROM agents WHERE id IN (`+placeholders(len(ids))+`) ORDER BY id`+s.d.forUpdate(), ids...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		a := &agentRow{}
		var last int64
		if err := rows.Scan(&a.c.ID, &a.c.Capacity, &a.c.Used, &a.c.Weight, &last, &a.c.AutoAccept, &a.c.Name, &a.room); err != nil {
			return nil, err
		}
		a.c.LastAssignedAt = fromMS(last)
		out[a.c.ID] = a
	}
	return out, rows.Err()
}

// chooseAgent gives a slot of the best of cands with room, by the locked rows' figures (the candidates were
// read before the batch, each start on its own), and returns them; nil when nobody has room.
func chooseAgent(agents map[string]*agentRow, cands []chat.Candidate, now time.Time) *chat.Candidate {
	adj := make([]chat.Candidate, 0, len(cands))
	for _, c := range cands {
		if a := agents[c.ID]; a != nil && a.room && a.c.Used < a.c.Capacity {
			adj = append(adj, a.c)
		}
	}
	if len(adj) == 0 {
		return nil
	}
	best := agents[chat.Rank(adj)[0].ID]
	best.c.Used++
	best.c.LastAssignedAt = now
	best.taken++
	best.lastAt = now
	c := best.c
	return &c
}

// updateSlots writes the slots the batch took, one statement for every agent. The condition repeats the
// capacity rule: the rows are locked, so it always holds, and if it ever did not the batch fails instead of
// putting an agent over capacity.
func (s *Store) updateSlots(ctx context.Context, tx *sql.Tx, agents map[string]*agentRow) error {
	var ids []string
	for id, a := range agents {
		if a.taken > 0 {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	slices.Sort(ids)
	var used, last strings.Builder
	var usedArgs, lastArgs, idArgs []any
	for _, id := range ids {
		used.WriteString(" WHEN ? THEN ?")
		usedArgs = append(usedArgs, id, agents[id].taken)
		last.WriteString(" WHEN ? THEN ?")
		lastArgs = append(lastArgs, id, ms(agents[id].lastAt))
		idArgs = append(idArgs, id)
	}
	q := "UPDATE agents SET slots_used = slots_used + (CASE id" + used.String() + " END), last_assigned_at = (CASE id" + last.String() +
		" END) WHERE id IN (" + placeholders(len(ids)) + ") AND slots_used + (CASE id" + used.String() + " END) <= capacity"
	args := append(append(append(append([]any{}, usedArgs...), lastArgs...), idArgs...), usedArgs...)
	res, err := tx.ExecContext(ctx, q, args...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != int64(len(ids)) {
		return fmt.Errorf("start batch: %d of %d agents' slots updated", n, len(ids))
	}
	return nil
}

// startUnit decides one new conversation: queued, left as a message (queue full, out of hours), or, when
// nobody waits ahead of it, taken by the best candidate with a free slot (assigned or offered). The
// conversation is built in its final state for startUnits' INSERT; its events and system message are left for
// flushPending.
func (s *Store) startUnit(ctx context.Context, tx *sql.Tx, st *routeState, agents map[string]*agentRow, u *startUnit) error {
	in := u.in
	now := s.now()
	conv, reason, ahead, err := newConversation(in, now, func() (int, error) {
		return st.queuedAhead(ctx, s, tx, in.TeamID, in.Priority)
	})
	if err != nil {
		return err
	}
	ch := &Change{Conv: conv}
	// The created event shows the conversation as it was created, before any routing.
	if conv.TeamID != "" {
		if err := u.event(conv, chat.TeamStream(conv.TeamID), chat.EventCreated, now); err != nil {
			return err
		}
	}
	var agent *chat.Candidate
	if reason == "" && in.Route != nil && conv.TeamID != "" && ahead == 0 {
		agent = chooseAgent(agents, in.Route.Candidates, now)
	}
	var sysBody string
	var sysMeta map[string]string
	switch {
	case reason != "":
		sysBody, sysMeta = leaveBody, map[string]string{"event": "leave_message", "reason": reason}
	case agent != nil && agent.AutoAccept:
		conv.Status, conv.AgentID, conv.AssignedAt = chat.StatusAssigned, agent.ID, now
		sysBody, sysMeta = agent.Name+" joined the conversation", map[string]string{"event": "assigned", "agent_id": agent.ID, "name": agent.Name}
	case agent != nil:
		conv.Status, conv.OfferedTo, conv.OfferExpiresAt = chat.StatusOffered, agent.ID, now.Add(in.Route.OfferFor)
	}
	if sysBody != "" {
		mid, err := uuid.NewV7()
		if err != nil {
			return err
		}
		meta, _ := json.Marshal(sysMeta)
		msg := &chat.Message{ConversationID: conv.ID, Seq: 1, ID: mid.String(), SenderType: chat.SenderSystem,
			Type: chat.TypeSystem, Body: sysBody, Meta: meta, CreatedAt: now}
		conv.LastSeq = 1
		u.msgs = append(u.msgs, msg)
		ch.Msgs = append(ch.Msgs, msg)
	}
	if conv.Status == chat.StatusQueued && conv.TeamID != "" {
		st.enqueued(conv.TeamID, conv.Priority)
	}
	if agent != nil {
		kind := chat.EventAssigned
		if !agent.AutoAccept {
			kind = chat.EventOffered
			oid, err := uuid.NewV7()
			if err != nil {
				return err
			}
			u.offer = &offerRow{id: oid.String(), convID: conv.ID, agentID: agent.ID, created: now, expires: conv.OfferExpiresAt}
		}
		if err := u.event(conv, chat.TeamStream(conv.TeamID), kind, now); err != nil {
			return err
		}
		if err := u.event(conv, chat.AgentStream(agent.ID), kind, now); err != nil {
			return err
		}
	}
	u.conv, u.ch, u.pending.ch = conv, ch, ch
	return nil
}

// leaveBody is the system message of a conversation left as a message (see Change.leaveNote).
const leaveBody = "No agent is available right now. Leave a message and we will reply as soon as we can."

// event records an event of a conversation as it is now; its seq is given by flushPending.
func (u *pending) event(conv *chat.Conversation, stream, kind string, now time.Time) error {
	b, err := json.Marshal(conv)
	if err != nil {
		return err
	}
	u.evs = append(u.evs, &chat.Event{Stream: stream, Kind: kind, ConversationID: conv.ID, Payload: b, CreatedAt: now})
	return nil
}

// queuedAhead counts the conversations waiting in a team's queue that a new one of priority would wait behind:
// read once per team and priority in a batch (the batch holds the queue's lock), then counted along.
func (st *routeState) queuedAhead(ctx context.Context, s *Store, tx *sql.Tx, team string, priority int) (int, error) {
	k := aheadKey{team, priority}
	if n, ok := st.ahead[k]; ok {
		return n, nil
	}
	var n int
	if err := s.queryRowTx(ctx, tx, "SELECT count(*) FROM conversations WHERE team_id = ? AND status = 'queued' AND priority >= ?",
		team, priority).Scan(&n); err != nil {
		return 0, err
	}
	st.ahead[k] = n
	return n, nil
}

// enqueued counts a conversation this batch left in a team's queue ahead of later ones of lower or equal
// priority.
func (st *routeState) enqueued(team string, priority int) {
	for k := range st.ahead {
		if k.team == team && k.priority <= priority {
			st.ahead[k]++
		}
	}
}

// takeSlot claims a slot of the best candidate with room, ranking them with the slots this batch has taken
// already (the candidates were read before the batch, each start on its own, so they do not know of each
// other), and returns the candidate, or nil when nobody had room.
func (st *routeState) takeSlot(ctx context.Context, s *Store, tx *sql.Tx, cands []chat.Candidate, now time.Time) (*chat.Candidate, error) {
	adj := make([]chat.Candidate, 0, len(cands))
	for _, c := range cands {
		if st.full[c.ID] {
			continue
		}
		if n := st.taken[c.ID]; n > 0 {
			c.Used += n
			c.LastAssignedAt = now
		}
		adj = append(adj, c)
	}
	for _, c := range chat.Rank(adj) {
		if c.Used >= c.Capacity {
			break // ranked: nobody after has room by what the batch knows
		}
		err := s.takeSlot(ctx, tx, c.ID, now)
		if errors.Is(err, ErrNoRoom) {
			st.full[c.ID] = true
			continue
		}
		if err != nil {
			return nil, err
		}
		st.taken[c.ID]++
		return &c, nil
	}
	return nil, nil
}

// flushPending appends a batch's events, system messages and offers: each stream's head is advanced once by
// the number of its events (team streams first, whose rows the batch holds; then agents' streams in id
// order), which gives the events their dense seqs in the order the changes were made; then one multi-row
// INSERT per table. Each change gets its events, with their seqs, in ch.Events.
func (s *Store) flushPending(ctx context.Context, tx *sql.Tx, units []*pending) error {
	byStream := map[string][]*chat.Event{}
	var streams []string
	var msgs []*chat.Message
	var offers []*offerRow
	for _, u := range units {
		if u.ch == nil {
			continue
		}
		for _, ev := range u.evs {
			if _, ok := byStream[ev.Stream]; !ok {
				streams = append(streams, ev.Stream)
			}
			byStream[ev.Stream] = append(byStream[ev.Stream], ev)
		}
		msgs = append(msgs, u.msgs...)
		if u.offer != nil {
			offers = append(offers, u.offer)
		}
	}
	slices.SortFunc(streams, func(a, b string) int {
		if ta, tb := strings.HasPrefix(a, "team:"), strings.HasPrefix(b, "team:"); ta != tb {
			if ta {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	var all []*chat.Event
	for _, stream := range streams {
		evs := byStream[stream]
		head, err := s.d.bumpStreamBy(ctx, s, tx, stream, uint64(len(evs)))
		if err != nil {
			return fmt.Errorf("bump stream %s: %w", stream, err)
		}
		for i, ev := range evs {
			ev.Seq = head - uint64(len(evs)) + 1 + uint64(i)
		}
		all = append(all, evs...)
	}
	if err := insertRows(ctx, tx, "INSERT INTO events (stream, seq, kind, conversation_id, payload, created_at) VALUES ", "(?, ?, ?, ?, ?, ?)", len(all),
		func(i int) []any {
			ev := all[i]
			return []any{ev.Stream, ev.Seq, ev.Kind, ev.ConversationID, string(ev.Payload), ms(ev.CreatedAt)}
		}); err != nil {
		return err
	}
	if err := insertRows(ctx, tx, "INSERT INTO messages ("+msgCols+") VALUES ", "(?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, NULL)", len(msgs),
		func(i int) []any {
			m := msgs[i]
			return []any{m.ConversationID, m.Seq, m.ID, string(m.SenderType), "", "", string(m.Type), m.Body,
				chat.BodyHash(m.Type, m.Body), string(m.Meta), ms(m.CreatedAt)}
		}); err != nil {
		return err
	}
	if err := insertRows(ctx, tx, "INSERT INTO offers (id, conversation_id, agent_id, created_at, expires_at, outcome) VALUES ", "(?, ?, ?, ?, ?, '')", len(offers),
		func(i int) []any {
			o := offers[i]
			return []any{o.id, o.convID, o.agentID, ms(o.created), ms(o.expires)}
		}); err != nil {
		return err
	}
	for _, u := range units {
		if u.ch == nil {
			continue
		}
		for _, ev := range u.evs {
			u.ch.Events = append(u.ch.Events, *ev)
		}
	}
	return nil
}

// insertRows inserts n rows with multi-row INSERTs of at most 200 rows (so a statement stays far below
// max_allowed_packet and the placeholder limit).
func insertRows(ctx context.Context, tx *sql.Tx, head, row string, n int, args func(i int) []any) error {
	for lo := 0; lo < n; lo += 200 {
		hi := min(n, lo+200)
		var q strings.Builder
		q.WriteString(head)
		var a []any
		for i := lo; i < hi; i++ {
			if i > lo {
				q.WriteString(", ")
			}
			q.WriteString(row)
			a = append(a, args(i)...)
		}
		if _, err := tx.ExecContext(ctx, q.String(), a...); err != nil {
			return err
		}
	}
	return nil
}

// nullTime stores a zero time as NULL.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return ms(t)
}
