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
// batch is being written run together in one transaction, which takes each team's queue lock once, writes
// each new conversation in its final state with one INSERT, and appends the batch's events, system messages
// and offers with one multi-row INSERT each after advancing every stream's head once. A start done one
// transaction at a time cost about fifteen statement round trips and a commit, all of them under the team's
// queue lock (every start of a team waited for the previous one's fsync): 2.2 ms of MariaDB CPU per start
// and ~300 starts/s at most (docs/benchmarks.md, History 2026-12-02, "MariaDB starts"). In a batch a start
// costs two statements (the agent's slot and the conversation) and a share of the batch's few others.
//
// A start that fails alone (its customer's open conversation was created meanwhile: the unique key) gives its
// agent's slot back and fails with the duplicate; StartConversation then reads the winner's conversation, as
// without batching. Any other failure (a deadlock, which rolls back InnoDB's whole transaction; a lock wait
// timeout, which rolls back only the statement and so leaves the batch in an unknown state; the commit)
// rolls the batch back, and each of its starts runs again as a batch of one, with the retries of any other
// transaction. SQLite keeps its own group commit of starts (txBatcher): its single writer serializes them
// already and the savepoints there cost no round trips.
type startBatcher struct {
	s *Store

	mu      sync.Mutex
	queue   []*startUnit
	running bool

	// fallbacks counts batches rolled back and run again start by start (tests read it).
	fallbacks atomic.Int64
}

// startUnit is one start waiting for its batch.
type startUnit struct {
	ctx  context.Context // the caller's: a start whose caller has gone by its turn is skipped
	in   StartInput
	done chan struct{}

	// Filled by the batch.
	conv *chat.Conversation
	ch   *Change
	err  error

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
func (b *startBatcher) run(ctx context.Context, in StartInput) (*chat.Conversation, *Change, error) {
	u := &startUnit{ctx: ctx, in: in, done: make(chan struct{})}
	b.mu.Lock()
	b.queue = append(b.queue, u)
	if !b.running {
		b.running = true
		go b.loop()
	}
	b.mu.Unlock()
	<-u.done
	return u.conv, u.ch, u.err
}

func (b *startBatcher) loop() {
	for {
		b.mu.Lock()
		batch := b.queue
		b.queue = nil
		if len(batch) == 0 {
			b.running = false
			b.mu.Unlock()
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
		if err := b.s.tryTx(context.Background(), func(tx *sql.Tx) error { return b.s.startUnits(tx, live) }); err == nil {
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
		err := b.s.tryTx(context.Background(), func(tx *sql.Tx) error { return b.s.startUnits(tx, []*startUnit{u}) })
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

// startUnits creates the conversations of units in tx. A unit that fails alone (a duplicate) keeps its error
// in u.err; any error returned fails the whole transaction. Units are reset first: a batch that fell back
// runs them again.
func (s *Store) startUnits(tx *sql.Tx, units []*startUnit) error {
	ctx := context.Background() // the batch must not end with one caller's context
	st := newRouteState()
	var teams []string
	for _, u := range units {
		u.conv, u.ch, u.err, u.pending = nil, nil, nil, pending{}
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
	for _, u := range units {
		if err := s.startUnit(ctx, tx, st, u); err != nil {
			return err
		}
	}
	ps := make([]*pending, 0, len(units))
	for _, u := range units {
		ps = append(ps, &u.pending)
	}
	return s.flushPending(ctx, tx, ps)
}

// startUnit creates one conversation: queued, left as a message (queue full, out of hours), or, when nobody
// waits ahead of it, taken by the first candidate with a free slot (assigned or offered). The conversation
// row is inserted in its final state; its events and system message are left for flushStarts.
func (s *Store) startUnit(ctx context.Context, tx *sql.Tx, st *routeState, u *startUnit) error {
	in := u.in
	id, err := uuid.NewV7()
	if err != nil {
		return err
	}
	now := s.now()
	reason, ahead := in.LeaveReason, -1
	if reason == "" && in.TeamID != "" && (in.Route != nil || in.MaxQueue > 0) {
		if ahead, err = st.queuedAhead(ctx, s, tx, in.TeamID, in.Priority); err != nil {
			return err
		}
		if in.MaxQueue > 0 && ahead >= in.MaxQueue {
			reason = "queue_full"
		}
	}
	conv := &chat.Conversation{ID: id.String(), SiteID: in.SiteID, CustomerID: in.CustomerID, TeamID: in.TeamID,
		Status: chat.StatusQueued, Channel: in.Channel, Priority: in.Priority, CreatedAt: now, UpdatedAt: now,
		LastMessageAt: now, QueuedAt: now}
	if reason != "" {
		conv.Status = chat.StatusPending
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
		if agent, err = st.takeSlot(ctx, s, tx, in.Route.Candidates, now); err != nil {
			return err
		}
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
	var msg *chat.Message
	if sysBody != "" {
		mid, err := uuid.NewV7()
		if err != nil {
			return err
		}
		meta, _ := json.Marshal(sysMeta)
		msg = &chat.Message{ConversationID: conv.ID, Seq: 1, ID: mid.String(), SenderType: chat.SenderSystem,
			Type: chat.TypeSystem, Body: sysBody, Meta: meta, CreatedAt: now}
		conv.LastSeq = 1
	}
	_, err = s.exec(ctx, tx, `INSERT INTO conversations (id, site_id, customer_id, team_id, agent_id, status, channel, priority, last_seq,
		created_at, updated_at, last_message_at, closed_at, queued_at, offered_to, offer_expires_at, assigned_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?)`,
		conv.ID, conv.SiteID, conv.CustomerID, nullString(conv.TeamID), nullString(conv.AgentID), string(conv.Status),
		string(conv.Channel), conv.Priority, conv.LastSeq, ms(now), ms(now), ms(now), ms(now), nullString(conv.OfferedTo),
		nullTime(conv.OfferExpiresAt), nullTime(conv.AssignedAt))
	if err != nil {
		if !s.d.isDuplicate(err) {
			return err
		}
		// The customer's open conversation was created meanwhile (the statement alone was rolled back): this
		// start fails alone, and gives back the slot it took. (last_assigned_at keeps the moment of the claim:
		// it only breaks ties between agents.)
		if agent != nil {
			if err := s.releaseSlot(ctx, tx, agent.ID); err != nil {
				return err
			}
			st.taken[agent.ID]--
		}
		u.err, u.evs = err, nil
		return nil
	}
	if conv.Status == chat.StatusQueued && conv.TeamID != "" {
		st.enqueued(conv.TeamID, conv.Priority)
	}
	if msg != nil {
		u.msgs = append(u.msgs, msg)
		ch.Msgs = append(ch.Msgs, msg)
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
