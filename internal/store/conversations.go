package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/parley-chat/parley/internal/chat"
)

const convCols = "id, site_id, customer_id, team_id, agent_id, status, channel, priority, last_seq, created_at, updated_at, last_message_at, closed_at, " +
	"queued_at, offered_to, offer_expires_at, assigned_at, last_agent_id, first_response_at"

func scanConversation(r rowScanner) (*chat.Conversation, error) {
	var c chat.Conversation
	var team, agent, offeredTo, lastAgent sql.NullString
	var status, channel string
	var created, updated, lastMsg, queued int64
	var closed, offerExp, assigned, firstResp sql.NullInt64
	if err := r.Scan(&c.ID, &c.SiteID, &c.CustomerID, &team, &agent, &status, &channel, &c.Priority, &c.LastSeq,
		&created, &updated, &lastMsg, &closed, &queued, &offeredTo, &offerExp, &assigned, &lastAgent, &firstResp); err != nil {
		return nil, err
	}
	c.TeamID, c.AgentID, c.OfferedTo, c.LastAgentID = team.String, agent.String, offeredTo.String, lastAgent.String
	c.QueuedAt, c.OfferExpiresAt, c.AssignedAt, c.FirstResponseAt = fromMS(queued), nullMS(offerExp), nullMS(assigned), nullMS(firstResp)
	c.Status, c.Channel = chat.Status(status), chat.Channel(channel)
	c.CreatedAt, c.UpdatedAt, c.LastMessageAt, c.ClosedAt = fromMS(created), fromMS(updated), fromMS(lastMsg), nullMS(closed)
	return &c, nil
}

// commitConvCols are the columns of a conversation that the group committer reads for a batch: who may write
// to it (the checks), its head, and what publishing and the metrics need. A conversation's other columns are
// left out of the read on every commit: each column costs the SQLite driver a few allocations per row
// (docs/benchmarks.md, History 2026-12-03 night).
const commitConvCols = "id, site_id, customer_id, team_id, agent_id, status, channel, last_seq, first_response_at"

// scanCommitConversation reads the commitConvCols of a conversation; the other fields stay zero.
func scanCommitConversation(r rowScanner) (*chat.Conversation, error) {
	var c chat.Conversation
	var team, agent sql.NullString
	var status, channel string
	var firstResp sql.NullInt64
	if err := r.Scan(&c.ID, &c.SiteID, &c.CustomerID, &team, &agent, &status, &channel, &c.LastSeq, &firstResp); err != nil {
		return nil, err
	}
	c.TeamID, c.AgentID = team.String, agent.String
	c.Status, c.Channel = chat.Status(status), chat.Channel(channel)
	c.FirstResponseAt = nullMS(firstResp)
	return &c, nil
}

// StartInput describes a conversation to start.
type StartInput struct {
	SiteID     string
	CustomerID string
	TeamID     string
	Channel    chat.Channel
	Priority   int
	// LeaveReason, when set (out_of_hours), creates the conversation as a left message (pending) at once.
	LeaveReason string
	// MaxQueue, when > 0, creates it as a left message (queue_full) when that many already wait ahead of it
	// in the team's queue. Both are decided in the creating transaction, so no router can offer the
	// conversation in between.
	MaxQueue int
	// Route, when set, assigns or offers a new conversation in the same transaction that creates it, if nobody
	// waits ahead of it in the team's queue (FIFO) and one of the candidates has a free slot: one commit
	// instead of two on the way from "start" to "agent notified".
	Route *RouteOnStart
}

// RouteOnStart is who may take a new conversation at once: the team's eligible agents, best first
// (chat.Rank), and the offer deadline for those without auto-accept.
type RouteOnStart struct {
	Candidates []chat.Candidate
	OfferFor   time.Duration
}

// StartConversation returns the customer's open conversation on the site, or creates one, queued for TeamID.
// At most one open conversation per customer and site exists even when many requests race on several
// nodes: the database's unique key decides, and the losers read the winner's conversation.
// The returned change holds the events (and, when it was routed at once, the system messages) to publish.
func (s *Store) StartConversation(ctx context.Context, in StartInput) (conv *chat.Conversation, created bool, ch *Change, err error) {
	for attempt := 0; attempt < 5; attempt++ {
		conv, created, ch, err = s.startConversation(ctx, in)
		if err == nil || !s.d.isDuplicate(err) {
			break
		}
	}
	return conv, created, ch, s.wrap("start conversation", err)
}

func (s *Store) startConversation(ctx context.Context, in StartInput) (conv *chat.Conversation, created bool, ch *Change, err error) {
	if s.batchStarts != nil {
		// MySQL: the customer's open conversation is looked for before the batch, outside its lock (a plain
		// read, as below); a start that races another one of the same customer fails on the unique key and
		// the caller's next attempt reads the winner's.
		c, err := scanConversation(s.queryRow(ctx, "SELECT "+convCols+" FROM conversations WHERE site_id = ? AND customer_id = ? AND "+
			s.d.openPredicate(), in.SiteID, in.CustomerID))
		if err == nil {
			return c, false, &Change{Conv: c}, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return nil, false, nil, err
		}
		return s.batchStarts.run(ctx, in)
	}
	run := func(fn func(*sql.Tx) error) error { return s.tryTxRetry(ctx, fn) }
	if s.starts != nil {
		// SQLite: starts arriving together share one commit (txBatcher). The work runs on the batch's
		// transaction, so a caller that goes away must not interrupt it (SQLite may then end the whole
		// transaction): its statements run without the caller's cancellation, which only decides whether the
		// start still runs when its turn comes.
		caller := ctx
		ctx = context.WithoutCancel(ctx)
		run = func(fn func(*sql.Tx) error) error { return s.starts.runRetry(caller, fn) }
	}
	err = run(func(tx *sql.Tx) error {
		created = false
		ch = &Change{}
		// A plain read, not a locking one: on MariaDB a locking read of a customer with no open conversation
		// takes a gap lock, and two such starts queued behind the team's queue lock deadlock on each other's
		// gap when they insert. The one-open-conversation unique key decides races instead (see above).
		c, err := scanConversation(s.queryRowTx(ctx, tx, "SELECT "+convCols+" FROM conversations WHERE site_id = ? AND customer_id = ? AND "+
			s.d.openPredicate(), in.SiteID, in.CustomerID))
		if err == nil {
			conv, ch.Conv = c, c
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		now := s.now()
		var reason string
		var ahead int
		conv, reason, ahead, err = newConversation(in, now, func() (int, error) {
			return s.queuedAhead(ctx, tx, in.TeamID, in.Priority)
		})
		if err != nil {
			return err
		}
		if _, err := s.exec(ctx, tx, `INSERT INTO conversations (id, site_id, customer_id, team_id, agent_id, status, channel,
			priority, last_seq, created_at, updated_at, last_message_at, closed_at, queued_at) VALUES (?, ?, ?, ?, NULL, ?, ?, ?, 0, ?, ?, ?, NULL, ?)`,
			conv.ID, conv.SiteID, conv.CustomerID, nullString(conv.TeamID), string(conv.Status), string(conv.Channel),
			conv.Priority, ms(now), ms(now), ms(now), ms(now)); err != nil {
			return err
		}
		ch.Conv = conv
		if conv.TeamID != "" {
			if err := ch.event(ctx, s, tx, chat.TeamStream(conv.TeamID), chat.EventCreated); err != nil {
				return err
			}
		}
		created = true
		if reason != "" {
			return ch.leaveNote(ctx, s, tx, reason)
		}
		if in.Route != nil && conv.TeamID != "" && ahead == 0 {
			return s.routeOnStart(ctx, tx, ch, in.Route, now)
		}
		return nil
	})
	return conv, created, ch, err
}

// newConversation builds the conversation a start creates: queued, or pending when it is left as a message
// (in.LeaveReason, or its team's queue is full). ahead is how many wait before it in the team's queue, counted
// by queuedAhead (which also locks the queue) only when the start may route or has a queue limit; -1 when not
// counted.
func newConversation(in StartInput, now time.Time, queuedAhead func() (int, error)) (conv *chat.Conversation, reason string, ahead int, err error) {
	id, err := uuid.NewV7()
	if err != nil {
		return nil, "", 0, err
	}
	reason, ahead = in.LeaveReason, -1
	if reason == "" && in.TeamID != "" && (in.Route != nil || in.MaxQueue > 0) {
		if ahead, err = queuedAhead(); err != nil {
			return nil, "", 0, err
		}
		if in.MaxQueue > 0 && ahead >= in.MaxQueue {
			reason = "queue_full"
		}
	}
	conv = &chat.Conversation{ID: id.String(), SiteID: in.SiteID, CustomerID: in.CustomerID, TeamID: in.TeamID,
		Status: chat.StatusQueued, Channel: in.Channel, Priority: in.Priority, CreatedAt: now, UpdatedAt: now,
		LastMessageAt: now, QueuedAt: now}
	if reason != "" {
		conv.Status = chat.StatusPending
	}
	return conv, reason, ahead, nil
}

// queuedAhead locks the team's queue and counts the conversations waiting in it that a new one of the given
// priority would wait behind.
func (s *Store) queuedAhead(ctx context.Context, tx *sql.Tx, teamID string, priority int) (int, error) {
	if err := s.lockQueue(ctx, tx, teamID); err != nil {
		return 0, err
	}
	var ahead int
	err := s.queryRowTx(ctx, tx, "SELECT count(*) FROM conversations WHERE team_id = ? AND status = 'queued' AND priority >= ?",
		teamID, priority).Scan(&ahead)
	return ahead, err
}

// routeOnStart gives a conversation just created in tx, with nobody waiting ahead of it in the team's queue
// (they come first, and the router drains the queue in order), to the first candidate with a free slot.
func (s *Store) routeOnStart(ctx context.Context, tx *sql.Tx, ch *Change, r *RouteOnStart, now time.Time) error {
	for _, c := range r.Candidates {
		err := s.takeSlot(ctx, tx, c.ID, now)
		if errors.Is(err, ErrNoRoom) {
			continue
		}
		if err != nil {
			return err
		}
		if c.AutoAccept {
			return s.assign(ctx, tx, ch, c.ID, c.Name, now, chat.StatusQueued)
		}
		return s.offer(ctx, tx, ch, c.ID, now, r.OfferFor)
	}
	return nil
}

// tryTxRetry is tryTx with the transient-conflict retries of tx, returning the raw error so callers can
// inspect it (duplicates) before wrapping.
func (s *Store) tryTxRetry(ctx context.Context, fn func(*sql.Tx) error) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		err = s.tryTx(ctx, fn)
		if err == nil || !s.d.isRetryable(err) || ctx.Err() != nil {
			return err
		}
	}
	return err
}

// Conversation returns the conversation with id.
func (s *Store) Conversation(ctx context.Context, id string) (*chat.Conversation, error) {
	c, err := scanConversation(s.queryRow(ctx, "SELECT "+convCols+" FROM conversations WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, chat.ErrNotFound("conversation")
	}
	return c, s.wrap("read conversation", err)
}

// ConversationsByID reads the conversations with the given ids, up to 500 a query; ids not found are left out.
// A reconnecting agent resubscribes every conversation it follows in one frame, and one read of each was a
// third of the resume's queries (docs/benchmarks.md, History 2026-12-07 night).
func (s *Store) ConversationsByID(ctx context.Context, ids []string) (map[string]*chat.Conversation, error) {
	out := make(map[string]*chat.Conversation, len(ids))
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), 500)]
		ids = ids[len(chunk):]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		rows, err := s.query(ctx, "SELECT "+convCols+" FROM conversations WHERE id IN ("+placeholders(len(chunk))+")", args...)
		if err != nil {
			return nil, s.wrap("read conversations", err)
		}
		convs, err := s.scanConversations(rows)
		if err != nil {
			return nil, s.wrap("read conversations", err)
		}
		for _, c := range convs {
			out[c.ID] = c
		}
	}
	return out, nil
}

// OpenConversation returns the customer's open conversation on the site, or NotFound.
func (s *Store) OpenConversation(ctx context.Context, siteID, customerID string) (*chat.Conversation, error) {
	c, err := scanConversation(s.queryRow(ctx, "SELECT "+convCols+" FROM conversations WHERE site_id = ? AND customer_id = ? AND "+
		s.d.openPredicate(), siteID, customerID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, chat.ErrNotFound("conversation")
	}
	return c, s.wrap("read conversation", err)
}

// CustomerConversations lists a customer's conversations newest first, starting before the keyset cursor
// (createdBefore, idBefore) when given.
func (s *Store) CustomerConversations(ctx context.Context, customerID string, limit int) ([]*chat.Conversation, error) {
	rows, err := s.query(ctx, "SELECT "+convCols+" FROM conversations WHERE customer_id = ? ORDER BY created_at DESC LIMIT ?", customerID, limit)
	if err != nil {
		return nil, s.wrap("list conversations", err)
	}
	return s.scanConversations(rows)
}

func (s *Store) scanConversations(rows *sql.Rows) ([]*chat.Conversation, error) {
	defer rows.Close()
	out := []*chat.Conversation{}
	for rows.Next() {
		c, err := scanConversation(rows)
		if err != nil {
			return nil, s.wrap("list conversations", err)
		}
		out = append(out, c)
	}
	return out, s.wrap("list conversations", rows.Err())
}

// Closer says who closes a conversation.
type Closer struct {
	Type   chat.SenderType // customer, agent or system (auto-close)
	ID     string
	Name   string
	Reason string // why, when not a person's choice: "inactive"
}

// CloseConversation closes an open conversation, recording a system message and events for the team and the
// agent in the same transaction, and gives back the agent's slot (or withdraws a pending offer). Closing a
// closed conversation changes nothing and returns no message. reason, when set, is recorded in the system
// message's meta (e.g. "inactive" for an auto-close).
func (s *Store) CloseConversation(ctx context.Context, id string, by Closer) (conv *chat.Conversation, msg *chat.Message, events []chat.Event, err error) {
	err = s.tx(ctx, "close conversation", func(tx *sql.Tx) error {
		msg, events = nil, nil
		c, err := s.lockWithQueue(ctx, tx, id)
		if err != nil {
			return err
		}
		conv = c
		if c.Status == chat.StatusClosed {
			return nil
		}
		now := s.now()
		holder := c.AgentID
		switch c.Status {
		case chat.StatusAssigned:
			if err := s.releaseSlot(ctx, tx, c.AgentID); err != nil {
				return err
			}
		case chat.StatusOffered:
			holder = c.OfferedTo
			if _, err := s.exec(ctx, tx, "UPDATE offers SET outcome = 'withdrawn', ended_at = ? WHERE conversation_id = ? AND outcome = ''", ms(now), c.ID); err != nil {
				return err
			}
			if err := s.releaseSlot(ctx, tx, c.OfferedTo); err != nil {
				return err
			}
		}
		lastAgent := c.LastAgentID
		if c.AgentID != "" {
			lastAgent = c.AgentID
		}
		c.Status, c.ClosedAt, c.UpdatedAt, c.LastAgentID, c.OfferedTo, c.OfferExpiresAt = chat.StatusClosed, now, now, lastAgent, "", time.Time{}
		meta := map[string]string{"event": "closed", "by": string(by.Type), "name": by.Name}
		if by.Reason != "" {
			meta["reason"] = by.Reason
		}
		body := "Conversation closed"
		if by.Name != "" {
			body += " by " + by.Name
		}
		msg, err = s.insertSystemMessage(ctx, tx, c, body, meta)
		if err != nil {
			return err
		}
		// closed_activity_at takes the final last_message_at (the system message's above): the key the lists of
		// closed conversations read in order (migration 00040).
		if _, err := s.exec(ctx, tx, `UPDATE conversations SET status = 'closed', closed_at = ?, updated_at = ?, last_agent_id = ?,
			offered_to = NULL, offer_expires_at = NULL, closed_activity_at = last_message_at WHERE id = ?`, ms(now), ms(now), nullString(lastAgent), c.ID); err != nil {
			return err
		}
		streams := streamsOf(c)
		if holder != "" && holder != c.AgentID {
			streams = append(streams, chat.AgentStream(holder))
		}
		for _, stream := range streams {
			ev, err := s.appendEvent(ctx, tx, stream, chat.EventClosed, c)
			if err != nil {
				return err
			}
			events = append(events, ev)
		}
		return nil
	})
	return conv, msg, events, err
}

// streamsOf returns the event streams that hear about c: its team's and its agent's.
func streamsOf(c *chat.Conversation) []string {
	var out []string
	if c.TeamID != "" {
		out = append(out, chat.TeamStream(c.TeamID))
	}
	if c.AgentID != "" {
		out = append(out, chat.AgentStream(c.AgentID))
	}
	return out
}

// lockConversation reads a conversation inside tx, locking its row on MySQL (SQLite's immediate transaction
// already holds the database's write lock).
func (s *Store) lockConversation(ctx context.Context, tx *sql.Tx, id string) (*chat.Conversation, error) {
	c, err := scanConversation(s.queryRowTx(ctx, tx, "SELECT "+convCols+" FROM conversations WHERE id = ?"+s.d.forUpdate(), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, chat.ErrNotFound("conversation")
	}
	return c, err
}

// insertSystemMessage appends a system message to a conversation whose row tx has locked, advancing its
// last_seq. meta carries the machine-readable event the UIs render in the viewer's language.
func (s *Store) insertSystemMessage(ctx context.Context, tx *sql.Tx, c *chat.Conversation, body string, meta map[string]string) (*chat.Message, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	metaJSON, _ := json.Marshal(meta)
	now := s.now()
	m := &chat.Message{ConversationID: c.ID, Seq: c.LastSeq + 1, ID: id.String(), SenderType: chat.SenderSystem,
		Type: chat.TypeSystem, Body: body, Meta: metaJSON, CreatedAt: now}
	if _, err := s.exec(ctx, tx, "INSERT INTO messages ("+msgCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, NULL)",
		m.ConversationID, m.Seq, m.ID, string(m.SenderType), "", "", string(m.Type), m.Body,
		chat.BodyHash(m.Type, m.Body), string(metaJSON), ms(now)); err != nil {
		return nil, err
	}
	// A closed conversation's closed_activity_at follows its last_message_at; an open one's stays NULL.
	if _, err := s.exec(ctx, tx, "UPDATE conversations SET last_seq = ?, last_message_at = ?, updated_at = ?, closed_activity_at = CASE WHEN status = 'closed' THEN ? ELSE NULL END WHERE id = ?",
		m.Seq, ms(now), ms(now), ms(now), c.ID); err != nil {
		return nil, err
	}
	c.LastSeq, c.LastMessageAt, c.UpdatedAt = m.Seq, now, now
	return m, nil
}

// appendEvent appends an event with payload to a stream inside tx and returns it with its sequence number.
func (s *Store) appendEvent(ctx context.Context, tx *sql.Tx, stream, kind string, payload any) (chat.Event, error) {
	seq, err := s.d.bumpStream(ctx, s, tx, stream)
	if err != nil {
		return chat.Event{}, fmt.Errorf("bump stream %s: %w", stream, err)
	}
	b, err := json.Marshal(payload)
	if err != nil {
		return chat.Event{}, err
	}
	convID := ""
	if c, ok := payload.(*chat.Conversation); ok {
		convID = c.ID
	}
	ev := chat.Event{Stream: stream, Seq: seq, Kind: kind, ConversationID: convID, Payload: b, CreatedAt: s.now()}
	_, err = s.exec(ctx, tx, "INSERT INTO events (stream, seq, kind, conversation_id, payload, created_at) VALUES (?, ?, ?, ?, ?, ?)",
		ev.Stream, ev.Seq, ev.Kind, ev.ConversationID, string(ev.Payload), ms(ev.CreatedAt))
	return ev, err
}

// Events returns up to limit events of stream with seq > after, in order.
func (s *Store) Events(ctx context.Context, stream string, after uint64, limit int) ([]chat.Event, error) {
	lim, _ := limitClause(limit) // a literal: see limitClause
	rows, err := s.query(ctx, "SELECT stream, seq, kind, conversation_id, payload, created_at FROM events WHERE stream = ? AND seq > ? ORDER BY seq"+lim,
		stream, after)
	if err != nil {
		return nil, s.wrap("read events", err)
	}
	defer rows.Close()
	out := []chat.Event{}
	for len(out) < limit && rows.Next() {
		var ev chat.Event
		var payload string
		var created int64
		if err := rows.Scan(&ev.Stream, &ev.Seq, &ev.Kind, &ev.ConversationID, &payload, &created); err != nil {
			return nil, s.wrap("read events", err)
		}
		ev.Payload, ev.CreatedAt = json.RawMessage(payload), fromMS(created)
		out = append(out, ev)
	}
	return out, s.wrap("read events", rows.Err())
}

// Heads returns the head sequence number of each named conversation ("conv" kind) or stream: what a client
// compares with its own position to discover a gap. Unknown ids are absent from the result.
func (s *Store) Heads(ctx context.Context, convIDs, streamIDs []string) (map[string]uint64, error) {
	out := make(map[string]uint64, len(convIDs)+len(streamIDs))
	query := func(table string, ids []string) error {
		for len(ids) > 0 {
			n := min(len(ids), 500)
			chunk := ids[:n]
			ids = ids[n:]
			args := make([]any, len(chunk))
			for i, id := range chunk {
				args[i] = id
			}
			rows, err := s.r.QueryContext(ctx, "SELECT id, last_seq FROM "+table+" WHERE id IN ("+placeholders(len(chunk))+")", args...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var id string
				var seq uint64
				if err := rows.Scan(&id, &seq); err != nil {
					rows.Close()
					return err
				}
				out[id] = seq
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		return nil
	}
	if err := query("conversations", convIDs); err != nil {
		return nil, s.wrap("read heads", err)
	}
	if err := query("streams", streamIDs); err != nil {
		return nil, s.wrap("read heads", err)
	}
	return out, nil
}

// placeholders returns "?, ?, ..." with n marks.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}
