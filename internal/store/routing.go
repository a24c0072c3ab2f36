package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/parley-chat/parley/internal/chat"
)

// Change is what a routing transaction did, for publication after the commit: the conversation as it now is,
// the system messages it added, the events it appended.
type Change struct {
	Conv   *chat.Conversation
	Msgs   []*chat.Message
	Events []chat.Event
}

func (c *Change) event(ctx context.Context, s *Store, tx *sql.Tx, stream, kind string) error {
	ev, err := s.appendEvent(ctx, tx, stream, kind, c.Conv)
	if err == nil {
		c.Events = append(c.Events, ev)
	}
	return err
}

func (c *Change) system(ctx context.Context, s *Store, tx *sql.Tx, body string, meta map[string]string) error {
	m, err := s.insertSystemMessage(ctx, tx, c.Conv, body, meta)
	if err == nil {
		c.Msgs = append(c.Msgs, m)
	}
	return err
}

// ErrNoRoom means the agent had no free slot (or was no longer online) at the moment of the claim.
var ErrNoRoom = chat.Errorf(chat.CodeConflict, "the agent has no free slot or is not online")

// lockQueue serializes every change to a team's queue across nodes: each such transaction first locks the
// team's stream row. (SQLite's immediate transactions are serial already.) Changes therefore appear in the
// team stream in exactly the order they happened, which is what makes FIFO checkable.
func (s *Store) lockQueue(ctx context.Context, tx *sql.Tx, teamID string) error {
	if teamID == "" || s.d.name() != "mysql" {
		return nil
	}
	// One statement that takes the row's exclusive lock whether it exists or not. (INSERT IGNORE followed by
	// SELECT … FOR UPDATE deadlocks: the ignored duplicate takes a shared lock first, and two transactions
	// holding it each wait for the other to upgrade.)
	_, err := s.exec(ctx, tx, "INSERT INTO streams (id, last_seq) VALUES (?, 0) ON DUPLICATE KEY UPDATE last_seq = last_seq", chat.TeamStream(teamID))
	return err
}

// lockWithQueue locks a conversation and its team's queue, in that order, and reads the conversation again:
// another transaction may have changed it while this one waited for the queue.
func (s *Store) lockWithQueue(ctx context.Context, tx *sql.Tx, id string) (*chat.Conversation, error) {
	conv, err := s.lockConversation(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if err := s.lockQueue(ctx, tx, conv.TeamID); err != nil {
		return nil, err
	}
	return s.lockConversation(ctx, tx, id)
}

// Candidates returns the agents of a team who may receive a conversation now: online, enabled and seen
// since cutoff.
func (s *Store) Candidates(ctx context.Context, teamID string, cutoff time.Time) ([]chat.Candidate, error) {
	rows, err := s.query(ctx, `SELECT a.id, a.capacity, a.slots_used, a.weight, a.last_assigned_at, a.auto_accept, a.name
		FROM team_members m JOIN agents a ON a.id = m.agent_id
		WHERE m.team_id = ? AND a.presence = 'online' AND a.disabled_at IS NULL AND a.last_seen >= ?`, teamID, ms(cutoff))
	if err != nil {
		return nil, s.wrap("read candidates", err)
	}
	defer rows.Close()
	var out []chat.Candidate
	for rows.Next() {
		var c chat.Candidate
		var last int64
		if err := rows.Scan(&c.ID, &c.Capacity, &c.Used, &c.Weight, &last, &c.AutoAccept, &c.Name); err != nil {
			return nil, s.wrap("read candidates", err)
		}
		c.LastAssignedAt = fromMS(last)
		out = append(out, c)
	}
	return out, s.wrap("read candidates", rows.Err())
}

// Queue returns up to limit conversations waiting in a team's queue, in service order: priority first, then
// the time they entered the queue.
func (s *Store) Queue(ctx context.Context, teamID string, limit int) ([]*chat.Conversation, error) {
	rows, err := s.query(ctx, "SELECT "+convCols+" FROM conversations WHERE team_id = ? AND status = 'queued' ORDER BY priority DESC, queued_at, id LIMIT ?", teamID, limit)
	if err != nil {
		return nil, s.wrap("read queue", err)
	}
	return s.scanConversations(rows)
}

// ClaimInput says which team's queue to serve, to whom, and how.
type ClaimInput struct {
	TeamID string
	// Candidates are the team's eligible agents as read before the claim (Candidates): each conversation goes
	// to the best of them with a free slot, ranked with the slots this claim has taken already. Their slots are
	// taken with conditional updates, so a stale figure can never put an agent over capacity.
	Candidates []chat.Candidate
	OfferFor   func(siteID string) time.Duration // the offer deadline from now, by the conversation's site
	// IgnoreLetGo offers a conversation even to the agent who last declined it or let it expire.
	IgnoreLetGo bool
	// Max is how many conversations of the queue's head one claim serves at most (1 when 0).
	Max int
}

// ClaimBatch gives conversations of the team's queue, in queue order, to the candidates: each to the best
// candidate with a free slot who has not let it go (see lastLetGo), assigned (auto-accept) or offered. A
// conversation only the agent who let it go could take stays where it is, and the next one is served. One
// transaction serves up to in.Max conversations, locking the queue once and appending their events, system
// messages and offers with one statement each (flushPending): claimed one per transaction, 5,000 waiting
// conversations of a MariaDB team were not all served after 2 minutes (docs/benchmarks.md, History 2026-12-02,
// "MariaDB starts batched"). It returns the changes made, none when nobody had room.
func (s *Store) ClaimBatch(ctx context.Context, in ClaimInput) ([]*Change, error) {
	var out []*Change
	err := s.tx(ctx, "claim", func(tx *sql.Tx) error {
		out = nil
		if err := s.lockQueue(ctx, tx, in.TeamID); err != nil {
			return err
		}
		// The conversations' rows are locked too (MySQL; SQLite's writer is single): a message committed to one
		// meanwhile would otherwise make the system message's seq stale.
		// The limit is a literal, exact (rows past it would be locked too): SQLite plans again every statement
		// whose LIMIT is bound anew (see limitClause); the router's Max is a constant.
		rows, err := s.queryTx(ctx, tx, "SELECT "+convCols+" FROM conversations WHERE team_id = ? AND status = 'queued' ORDER BY priority DESC, queued_at, id LIMIT "+
			strconv.Itoa(max(in.Max, 1))+s.d.forUpdate(), in.TeamID)
		if err != nil {
			return err
		}
		queue, err := s.scanConversations(rows)
		if err != nil || len(queue) == 0 {
			return err
		}
		var letGo map[string]string
		if !in.IgnoreLetGo {
			if letGo, err = s.lastLetGo(ctx, tx, queue); err != nil {
				return err
			}
		}
		st := newRouteState()
		now := s.now()
		var ps []*pending
		for _, conv := range queue {
			cands := in.Candidates
			if gone := letGo[conv.ID]; gone != "" {
				cands = slices.DeleteFunc(slices.Clone(cands), func(c chat.Candidate) bool { return c.ID == gone })
			}
			agent, err := st.takeSlot(ctx, s, tx, cands, now)
			if err != nil {
				return err
			}
			if agent == nil {
				if !st.anyRoom(in.Candidates) {
					break
				}
				continue
			}
			p := &pending{ch: &Change{Conv: conv}}
			if agent.AutoAccept {
				err = s.assignQueued(ctx, tx, p, agent, now)
			} else {
				err = s.offerQueued(ctx, tx, p, agent, now, in.OfferFor(conv.SiteID))
			}
			if err != nil {
				return err
			}
			ps = append(ps, p)
		}
		if err := s.flushPending(ctx, tx, ps); err != nil {
			return err
		}
		for _, p := range ps {
			out = append(out, p.ch)
		}
		return nil
	})
	return out, err
}

// lastLetGo returns, for each conversation of queue, the agent who last declined its offer or let it expire
// since it last entered the queue, if any (one read for the whole queue head). Such a conversation goes to
// another agent first, and comes back to that agent only after another agent has had it offered too (so a
// lone agent who declined is not offered it again at once).
func (s *Store) lastLetGo(ctx context.Context, tx *sql.Tx, queue []*chat.Conversation) (map[string]string, error) {
	args := make([]any, len(queue))
	for i, c := range queue {
		args[i] = c.ID
	}
	rows, err := tx.QueryContext(ctx, `SELECT conversation_id, agent_id, created_at FROM offers WHERE conversation_id IN (`+placeholders(len(queue))+`)
		AND outcome IN ('declined', 'expired') ORDER BY created_at, id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	queuedAt := make(map[string]int64, len(queue))
	for _, c := range queue {
		queuedAt[c.ID] = ms(c.QueuedAt)
	}
	out := map[string]string{}
	for rows.Next() {
		var conv, agent string
		var at int64
		if err := rows.Scan(&conv, &agent, &at); err != nil {
			return nil, err
		}
		if at >= queuedAt[conv] {
			out[conv] = agent // in order: the last one wins
		}
	}
	return out, rows.Err()
}

// anyRoom reports whether any of cands may still have a free slot by what the batch knows.
func (st *routeState) anyRoom(cands []chat.Candidate) bool {
	for _, c := range cands {
		if !st.full[c.ID] && c.Used+st.taken[c.ID] < c.Capacity {
			return true
		}
	}
	return false
}

// assignQueued assigns p's conversation, queued and locked by the caller, to agent, whose slot the caller has
// taken: one UPDATE that also advances the conversation's seq for the "joined" system message, which
// flushPending writes with the events.
func (s *Store) assignQueued(ctx context.Context, tx *sql.Tx, p *pending, agent *chat.Candidate, now time.Time) error {
	conv := p.ch.Conv
	seq := conv.LastSeq + 1
	res, err := s.exec(ctx, tx, `UPDATE conversations SET status = 'assigned', agent_id = ?, assigned_at = ?, offered_to = NULL,
		offer_expires_at = NULL, last_seq = ?, last_message_at = ?, updated_at = ? WHERE id = ? AND status = 'queued' AND last_seq = ?`,
		agent.ID, ms(now), seq, ms(now), ms(now), conv.ID, conv.LastSeq)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		// The row is locked: only a bug elsewhere could change it meanwhile. Fail the claim rather than write a
		// message at a seq that may be taken.
		return fmt.Errorf("assign %s: the conversation changed under its lock", conv.ID)
	}
	conv.Status, conv.AgentID, conv.AssignedAt, conv.OfferedTo, conv.OfferExpiresAt = chat.StatusAssigned, agent.ID, now, "", time.Time{}
	conv.LastSeq, conv.LastMessageAt, conv.UpdatedAt = seq, now, now
	mid, err := uuid.NewV7()
	if err != nil {
		return err
	}
	meta, _ := json.Marshal(map[string]string{"event": "assigned", "agent_id": agent.ID, "name": agent.Name})
	m := &chat.Message{ConversationID: conv.ID, Seq: seq, ID: mid.String(), SenderType: chat.SenderSystem, Type: chat.TypeSystem,
		Body: agent.Name + " joined the conversation", Meta: meta, CreatedAt: now}
	p.msgs = append(p.msgs, m)
	p.ch.Msgs = append(p.ch.Msgs, m)
	if err := p.event(conv, chat.TeamStream(conv.TeamID), chat.EventAssigned, now); err != nil {
		return err
	}
	return p.event(conv, chat.AgentStream(agent.ID), chat.EventAssigned, now)
}

// offerQueued offers p's conversation, queued and locked by the caller, to agent (whose slot the caller has
// taken) until now+d.
func (s *Store) offerQueued(ctx context.Context, tx *sql.Tx, p *pending, agent *chat.Candidate, now time.Time, d time.Duration) error {
	conv := p.ch.Conv
	res, err := s.exec(ctx, tx, `UPDATE conversations SET status = 'offered', offered_to = ?, offer_expires_at = ?, updated_at = ?
		WHERE id = ? AND status = 'queued'`, agent.ID, ms(now.Add(d)), ms(now), conv.ID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("offer %s: the conversation changed under its lock", conv.ID)
	}
	conv.Status, conv.OfferedTo, conv.OfferExpiresAt, conv.UpdatedAt = chat.StatusOffered, agent.ID, now.Add(d), now
	oid, err := uuid.NewV7()
	if err != nil {
		return err
	}
	p.offer = &offerRow{id: oid.String(), convID: conv.ID, agentID: agent.ID, created: now, expires: conv.OfferExpiresAt}
	if err := p.event(conv, chat.TeamStream(conv.TeamID), chat.EventOffered, now); err != nil {
		return err
	}
	return p.event(conv, chat.AgentStream(agent.ID), chat.EventOffered, now)
}

// offer makes ch.Conv, queued, an offer to the agent (whose slot the caller has taken) until now+d.
func (s *Store) offer(ctx context.Context, tx *sql.Tx, ch *Change, agentID string, now time.Time, d time.Duration) error {
	conv := ch.Conv
	conv.Status, conv.OfferedTo, conv.OfferExpiresAt, conv.UpdatedAt = chat.StatusOffered, agentID, now.Add(d), now
	res, err := s.exec(ctx, tx, `UPDATE conversations SET status = 'offered', offered_to = ?, offer_expires_at = ?, updated_at = ?
		WHERE id = ? AND status = 'queued'`, agentID, ms(conv.OfferExpiresAt), ms(now), conv.ID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return chat.Errorf(chat.CodeConflict, "the conversation left the queue")
	}
	oid, _ := uuid.NewV7()
	if _, err := s.exec(ctx, tx, "INSERT INTO offers (id, conversation_id, agent_id, created_at, expires_at, outcome) VALUES (?, ?, ?, ?, ?, '')",
		oid.String(), conv.ID, agentID, ms(now), ms(conv.OfferExpiresAt)); err != nil {
		return err
	}
	if err := ch.event(ctx, s, tx, chat.TeamStream(conv.TeamID), chat.EventOffered); err != nil {
		return err
	}
	return ch.event(ctx, s, tx, chat.AgentStream(agentID), chat.EventOffered)
}

// takeSlot is the atomic claim of one of an agent's slots.
func (s *Store) takeSlot(ctx context.Context, tx *sql.Tx, agentID string, now time.Time) error {
	res, err := s.exec(ctx, tx, `UPDATE agents SET slots_used = slots_used + 1, last_assigned_at = ?
		WHERE id = ? AND slots_used < capacity AND presence = 'online' AND disabled_at IS NULL`, ms(now), agentID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrNoRoom
	}
	return nil
}

func (s *Store) releaseSlot(ctx context.Context, tx *sql.Tx, agentID string) error {
	if agentID == "" {
		return nil
	}
	_, err := s.exec(ctx, tx, "UPDATE agents SET slots_used = slots_used - 1 WHERE id = ? AND slots_used > 0", agentID)
	return err
}

// assign makes ch.Conv assigned to the agent (whose slot the caller has taken), from state from: the
// conversation update is conditional on that state, so two claims can never both win.
func (s *Store) assign(ctx context.Context, tx *sql.Tx, ch *Change, agentID, agentName string, now time.Time, from chat.Status) error {
	conv := ch.Conv
	cond, args := "status = ?", []any{string(from)}
	if from == chat.StatusOffered {
		cond, args = "status = 'offered' AND offered_to = ?", []any{agentID}
	}
	res, err := s.exec(ctx, tx, `UPDATE conversations SET status = 'assigned', agent_id = ?, assigned_at = ?, offered_to = NULL,
		offer_expires_at = NULL, updated_at = ? WHERE id = ? AND `+cond, append([]any{agentID, ms(now), ms(now), conv.ID}, args...)...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return chat.Errorf(chat.CodeConflict, "the conversation is no longer available")
	}
	conv.Status, conv.AgentID, conv.AssignedAt, conv.OfferedTo, conv.OfferExpiresAt, conv.UpdatedAt =
		chat.StatusAssigned, agentID, now, "", time.Time{}, now
	if err := ch.system(ctx, s, tx, agentName+" joined the conversation", map[string]string{"event": "assigned", "agent_id": agentID, "name": agentName}); err != nil {
		return err
	}
	if err := ch.event(ctx, s, tx, chat.TeamStream(conv.TeamID), chat.EventAssigned); err != nil {
		return err
	}
	return ch.event(ctx, s, tx, chat.AgentStream(agentID), chat.EventAssigned)
}

// Accept turns the agent's pending offer into an assignment. An offer that expired or was withdrawn is a
// Conflict.
func (s *Store) Accept(ctx context.Context, convID, agentID, agentName string) (*Change, error) {
	var ch *Change
	err := s.tx(ctx, "accept", func(tx *sql.Tx) error {
		conv, err := s.lockWithQueue(ctx, tx, convID)
		if err != nil {
			return err
		}
		if conv.Status != chat.StatusOffered || conv.OfferedTo != agentID {
			return chat.Errorf(chat.CodeConflict, "this offer is no longer yours (it expired or was withdrawn)")
		}
		now := s.now()
		if _, err := s.exec(ctx, tx, "UPDATE offers SET outcome = 'accepted', ended_at = ? WHERE conversation_id = ? AND agent_id = ? AND outcome = ''",
			ms(now), convID, agentID); err != nil {
			return err
		}
		ch = &Change{Conv: conv}
		return s.assign(ctx, tx, ch, agentID, agentName, now, chat.StatusOffered)
	})
	return ch, err
}

// EndOffer returns a pending offer to the queue, at the conversation's original place: declined by the agent,
// or expired (its deadline passed, or the agent went away). The agent's slot is released.
func (s *Store) EndOffer(ctx context.Context, convID, agentID, outcome string) (*Change, error) {
	var ch *Change
	err := s.tx(ctx, "end offer", func(tx *sql.Tx) error {
		ch = nil
		conv, err := s.lockWithQueue(ctx, tx, convID)
		if err != nil {
			return err
		}
		if conv.Status != chat.StatusOffered || conv.OfferedTo != agentID {
			if outcome == "declined" {
				return chat.Errorf(chat.CodeConflict, "this offer is no longer yours")
			}
			return nil
		}
		now := s.now()
		if outcome == "expired" && conv.OfferExpiresAt.After(now) {
			return nil // extended or renewed meanwhile
		}
		ch, err = s.unoffer(ctx, tx, conv, outcome, now)
		return err
	})
	return ch, err
}

func (s *Store) unoffer(ctx context.Context, tx *sql.Tx, conv *chat.Conversation, outcome string, now time.Time) (*Change, error) {
	agentID := conv.OfferedTo
	if _, err := s.exec(ctx, tx, `UPDATE conversations SET status = 'queued', offered_to = NULL, offer_expires_at = NULL, updated_at = ?
		WHERE id = ?`, ms(now), conv.ID); err != nil {
		return nil, err
	}
	if _, err := s.exec(ctx, tx, "UPDATE offers SET outcome = ?, ended_at = ? WHERE conversation_id = ? AND agent_id = ? AND outcome = ''",
		outcome, ms(now), conv.ID, agentID); err != nil {
		return nil, err
	}
	if err := s.releaseSlot(ctx, tx, agentID); err != nil {
		return nil, err
	}
	conv.Status, conv.OfferedTo, conv.OfferExpiresAt, conv.UpdatedAt = chat.StatusQueued, "", time.Time{}, now
	ch := &Change{Conv: conv}
	kind := chat.EventQueued
	if err := ch.event(ctx, s, tx, chat.TeamStream(conv.TeamID), kind); err != nil {
		return nil, err
	}
	return ch, ch.event(ctx, s, tx, chat.AgentStream(agentID), kind)
}

// ExpiredOffers lists offers whose deadline has passed: (conversation, agent) pairs.
func (s *Store) ExpiredOffers(ctx context.Context, now time.Time, limit int) ([][2]string, error) {
	rows, err := s.query(ctx, "SELECT id, offered_to FROM conversations WHERE status = 'offered' AND offer_expires_at <= ? LIMIT ?", ms(now), limit)
	if err != nil {
		return nil, s.wrap("read expired offers", err)
	}
	defer rows.Close()
	var out [][2]string
	for rows.Next() {
		var id string
		var agent sql.NullString
		if err := rows.Scan(&id, &agent); err != nil {
			return nil, s.wrap("read expired offers", err)
		}
		out = append(out, [2]string{id, agent.String})
	}
	return out, s.wrap("read expired offers", rows.Err())
}

// PickUp assigns a queued or pending conversation to an agent who takes it from a list (capacity applies).
func (s *Store) PickUp(ctx context.Context, convID, agentID, agentName string) (*Change, error) {
	var ch *Change
	err := s.tx(ctx, "pick up", func(tx *sql.Tx) error {
		conv, err := s.lockWithQueue(ctx, tx, convID)
		if err != nil {
			return err
		}
		if conv.Status != chat.StatusQueued && conv.Status != chat.StatusPending {
			return chat.Errorf(chat.CodeConflict, "the conversation is not waiting (it is %s)", conv.Status)
		}
		now := s.now()
		if err := s.takeSlot(ctx, tx, agentID, now); err != nil {
			return err
		}
		ch = &Change{Conv: conv}
		return s.assign(ctx, tx, ch, agentID, agentName, now, conv.Status)
	})
	return ch, err
}

// TransferInput says where a conversation goes.
type TransferInput struct {
	ConvID    string
	ByID      string // the agent who transfers
	ByName    string
	ToAgent   string // an agent (capacity applies), or
	ToName    string
	ToTeam    string // a team: the conversation waits in its queue
	TeamName  string
	Note      string // an internal note for the receiving agents
	NoteMsgID string
}

// Transfer moves an open conversation to an agent (who must be online with a free slot) or to a team's
// queue, releasing the slot of the agent who held it, with a system message and an internal note.
func (s *Store) Transfer(ctx context.Context, in TransferInput) (*Change, error) {
	var ch *Change
	err := s.tx(ctx, "transfer", func(tx *sql.Tx) error {
		conv, err := s.lockConversation(ctx, tx, in.ConvID)
		if err != nil {
			return err
		}
		teams := []string{conv.TeamID}
		if in.ToTeam != "" && in.ToTeam != conv.TeamID {
			teams = append(teams, in.ToTeam)
			if teams[1] < teams[0] { // lock in id order: two transfers in opposite directions cannot deadlock
				teams[0], teams[1] = teams[1], teams[0]
			}
		}
		for _, t := range teams {
			if err := s.lockQueue(ctx, tx, t); err != nil {
				return err
			}
		}
		if conv, err = s.lockConversation(ctx, tx, in.ConvID); err != nil {
			return err
		}
		if !conv.Status.Open() {
			return chat.Errorf(chat.CodeClosed, "the conversation is closed")
		}
		now := s.now()
		prevAgent, prevStatus := conv.AgentID, conv.Status
		if in.ToAgent != "" && in.ToAgent == prevAgent {
			return chat.Invalid("agent_id", "the conversation is already with this agent")
		}
		// Release what the conversation holds now.
		switch prevStatus {
		case chat.StatusAssigned:
			if err := s.releaseSlot(ctx, tx, prevAgent); err != nil {
				return err
			}
		case chat.StatusOffered:
			if _, err := s.exec(ctx, tx, "UPDATE offers SET outcome = 'withdrawn', ended_at = ? WHERE conversation_id = ? AND outcome = ''", ms(now), conv.ID); err != nil {
				return err
			}
			if err := s.releaseSlot(ctx, tx, conv.OfferedTo); err != nil {
				return err
			}
		}
		ch = &Change{Conv: conv}
		if prevAgent != "" {
			conv.LastAgentID = prevAgent
		}
		if in.ToAgent != "" {
			if err := s.takeSlot(ctx, tx, in.ToAgent, now); err != nil {
				return err
			}
			if _, err := s.exec(ctx, tx, `UPDATE conversations SET status = 'assigned', agent_id = ?, assigned_at = ?, offered_to = NULL,
				offer_expires_at = NULL, last_agent_id = ?, updated_at = ? WHERE id = ?`, in.ToAgent, ms(now), nullString(conv.LastAgentID), ms(now), conv.ID); err != nil {
				return err
			}
			conv.Status, conv.AgentID, conv.AssignedAt, conv.OfferedTo, conv.OfferExpiresAt = chat.StatusAssigned, in.ToAgent, now, "", time.Time{}
			if err := ch.system(ctx, s, tx, in.ByName+" transferred the conversation to "+in.ToName,
				map[string]string{"event": "transferred", "by": in.ByName, "to_agent": in.ToAgent, "name": in.ToName}); err != nil {
				return err
			}
		} else {
			if _, err := s.exec(ctx, tx, `UPDATE conversations SET status = 'queued', team_id = ?, agent_id = NULL, offered_to = NULL,
				offer_expires_at = NULL, queued_at = ?, last_agent_id = ?, updated_at = ? WHERE id = ?`,
				in.ToTeam, ms(now), nullString(conv.LastAgentID), ms(now), conv.ID); err != nil {
				return err
			}
			conv.Status, conv.TeamID, conv.AgentID, conv.OfferedTo, conv.OfferExpiresAt, conv.QueuedAt = chat.StatusQueued, in.ToTeam, "", "", time.Time{}, now
			if err := ch.system(ctx, s, tx, in.ByName+" transferred the conversation to "+in.TeamName,
				map[string]string{"event": "transferred", "by": in.ByName, "to_team": in.ToTeam, "name": in.TeamName}); err != nil {
				return err
			}
		}
		if in.Note != "" {
			if err := s.insertNote(ctx, tx, ch, in.ByID, in.ByName, in.Note, in.NoteMsgID); err != nil {
				return err
			}
		}
		for _, t := range teams {
			if err := ch.event(ctx, s, tx, chat.TeamStream(t), chat.EventTransferred); err != nil {
				return err
			}
		}
		for _, a := range uniq(prevAgent, in.ToAgent) {
			if err := ch.event(ctx, s, tx, chat.AgentStream(a), chat.EventTransferred); err != nil {
				return err
			}
		}
		return nil
	})
	return ch, err
}

func uniq(ids ...string) []string {
	var out []string
	for _, id := range ids {
		if id != "" && (len(out) == 0 || out[len(out)-1] != id) {
			out = append(out, id)
		}
	}
	return out
}

// insertNote adds an agent's internal note to a conversation whose row tx holds.
func (s *Store) insertNote(ctx context.Context, tx *sql.Tx, ch *Change, agentID, agentName, body, clientID string) error {
	id, err := uuid.NewV7()
	if err != nil {
		return err
	}
	c := ch.Conv
	now := s.now()
	m := &chat.Message{ConversationID: c.ID, Seq: c.LastSeq + 1, ID: id.String(), SenderType: chat.SenderAgent, SenderID: agentID,
		SenderName: agentName, Type: chat.TypeNote, Body: body, ClientMsgID: clientID, CreatedAt: now}
	var cid any
	if clientID != "" {
		cid = clientID
	}
	if _, err := s.exec(ctx, tx, "INSERT INTO messages ("+msgCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, NULL)",
		m.ConversationID, m.Seq, m.ID, string(m.SenderType), m.SenderID, m.SenderName, string(m.Type), m.Body,
		chat.BodyHash(m.Type, m.Body), cid, ms(now)); err != nil {
		return err
	}
	if _, err := s.exec(ctx, tx, "UPDATE conversations SET last_seq = ?, last_message_at = ?, updated_at = ? WHERE id = ?", m.Seq, ms(now), ms(now), c.ID); err != nil {
		return err
	}
	c.LastSeq, c.LastMessageAt, c.UpdatedAt = m.Seq, now, now
	ch.Msgs = append(ch.Msgs, m)
	return nil
}

// Reopen reopens a closed conversation whose customer writes again within the reopen window: with its
// previous agent when they are online with a free slot, else in its team's queue. It fails with Closed when
// the window has passed or the customer already has another open conversation on the site.
func (s *Store) Reopen(ctx context.Context, convID string, window time.Duration, agentName func(string) string) (*Change, error) {
	var ch *Change
	err := s.tx(ctx, "reopen", func(tx *sql.Tx) error {
		conv, err := s.lockWithQueue(ctx, tx, convID)
		if err != nil {
			return err
		}
		ch = &Change{Conv: conv}
		if conv.Status.Open() {
			return nil // someone else reopened it
		}
		now := s.now()
		if window <= 0 || now.Sub(conv.ClosedAt) > window {
			return chat.Errorf(chat.CodeClosed, "the conversation is closed; start a new one")
		}
		var other int
		if err := s.queryRowTx(ctx, tx, "SELECT count(*) FROM conversations WHERE site_id = ? AND customer_id = ? AND "+s.d.openPredicate(),
			conv.SiteID, conv.CustomerID).Scan(&other); err != nil {
			return err
		}
		if other > 0 {
			return chat.Errorf(chat.CodeClosed, "the conversation is closed and the customer has another one open")
		}
		// Back to the previous agent if they can take it, else to the queue.
		prev := conv.LastAgentID
		if prev != "" && s.takeSlot(ctx, tx, prev, now) == nil {
			if _, err := s.exec(ctx, tx, `UPDATE conversations SET status = 'assigned', agent_id = ?, assigned_at = ?, closed_at = NULL,
				closed_activity_at = NULL, queued_at = ?, updated_at = ? WHERE id = ?`, prev, ms(now), ms(now), ms(now), conv.ID); err != nil {
				return err
			}
			conv.Status, conv.AgentID, conv.AssignedAt = chat.StatusAssigned, prev, now
		} else {
			if _, err := s.exec(ctx, tx, `UPDATE conversations SET status = 'queued', agent_id = NULL, closed_at = NULL, closed_activity_at = NULL,
				queued_at = ?, updated_at = ? WHERE id = ?`, ms(now), ms(now), conv.ID); err != nil {
				return err
			}
			conv.Status, conv.AgentID = chat.StatusQueued, ""
		}
		conv.ClosedAt, conv.QueuedAt, conv.UpdatedAt = time.Time{}, now, now
		meta := map[string]string{"event": "reopened"}
		if conv.AgentID != "" {
			meta["agent_id"], meta["name"] = conv.AgentID, agentName(conv.AgentID)
		}
		if err := ch.system(ctx, s, tx, "Conversation reopened", meta); err != nil {
			return err
		}
		for _, stream := range streamsOf(conv) {
			if err := ch.event(ctx, s, tx, stream, chat.EventReopened); err != nil {
				return err
			}
		}
		return nil
	})
	return ch, err
}

// LeaveMessage turns a waiting conversation into a left message (pending): nobody is available, the queue is
// too long or the wait too long, or it is out of hours. The customer is told by a system message.
func (s *Store) LeaveMessage(ctx context.Context, convID, reason string) (*Change, error) {
	var ch *Change
	err := s.tx(ctx, "leave message", func(tx *sql.Tx) error {
		ch = nil
		conv, err := s.lockWithQueue(ctx, tx, convID)
		if err != nil {
			return err
		}
		if conv.Status != chat.StatusQueued {
			return nil
		}
		now := s.now()
		if _, err := s.exec(ctx, tx, "UPDATE conversations SET status = 'pending', updated_at = ? WHERE id = ?", ms(now), conv.ID); err != nil {
			return err
		}
		conv.Status, conv.UpdatedAt = chat.StatusPending, now
		ch = &Change{Conv: conv}
		if err := ch.leaveNote(ctx, s, tx, reason); err != nil {
			return err
		}
		return ch.event(ctx, s, tx, chat.TeamStream(conv.TeamID), chat.EventUpdated)
	})
	return ch, err
}

// leaveNote tells the customer their conversation became a left message, and why (for agents and reports).
func (ch *Change) leaveNote(ctx context.Context, s *Store, tx *sql.Tx, reason string) error {
	return ch.system(ctx, s, tx, "No agent is available right now. Leave a message and we will reply as soon as we can.",
		map[string]string{"event": "leave_message", "reason": reason})
}

// OverdueQueued lists conversations of a team queued before cutoff.
func (s *Store) OverdueQueued(ctx context.Context, teamID string, cutoff time.Time) ([]*chat.Conversation, error) {
	rows, err := s.query(ctx, "SELECT "+convCols+" FROM conversations WHERE team_id = ? AND status = 'queued' AND queued_at < ? ORDER BY priority DESC, queued_at LIMIT 100",
		teamID, ms(cutoff))
	if err != nil {
		return nil, s.wrap("read overdue", err)
	}
	return s.scanConversations(rows)
}

// Inactive lists open conversations in status with no message since cutoff.
func (s *Store) Inactive(ctx context.Context, status chat.Status, cutoff time.Time, limit int) ([]*chat.Conversation, error) {
	rows, err := s.query(ctx, "SELECT "+convCols+" FROM conversations WHERE status = ? AND last_message_at < ? ORDER BY last_message_at LIMIT ?",
		string(status), ms(cutoff), limit)
	if err != nil {
		return nil, s.wrap("read inactive", err)
	}
	return s.scanConversations(rows)
}

// AgentConnected marks an agent connected now: presence follows their own availability switch.
func (s *Store) AgentConnected(ctx context.Context, agentID string) (chat.Presence, error) {
	var p string
	err := s.tx(ctx, "agent connected", func(tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx, "UPDATE agents SET presence = availability, last_seen = ? WHERE id = ? AND disabled_at IS NULL", ms(s.now()), agentID); err != nil {
			return err
		}
		return s.queryRowTx(ctx, tx, "SELECT presence FROM agents WHERE id = ?", agentID).Scan(&p)
	})
	return chat.Presence(p), err
}

// TouchAgents records that agents are still connected.
func (s *Store) TouchAgents(ctx context.Context, ids []string) error {
	for len(ids) > 0 {
		n := min(len(ids), 500)
		args := []any{ms(s.now())}
		for _, id := range ids[:n] {
			args = append(args, id)
		}
		ids = ids[n:]
		if err := s.tx(ctx, "touch agents", func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, "UPDATE agents SET last_seen = ? WHERE id IN ("+placeholders(n)+")", args...)
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}

// SetAvailability records an agent's own switch; when connected their presence follows at once.
func (s *Store) SetAvailability(ctx context.Context, agentID string, a chat.Presence, connected bool) error {
	return s.tx(ctx, "set availability", func(tx *sql.Tx) error {
		q := "UPDATE agents SET availability = ? WHERE id = ?"
		args := []any{string(a), agentID}
		if connected {
			q = "UPDATE agents SET availability = ?, presence = ?, last_seen = ? WHERE id = ?"
			args = []any{string(a), string(a), ms(s.now()), agentID}
		}
		res, err := s.exec(ctx, tx, q, args...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return chat.ErrNotFound("agent")
		}
		return nil
	})
}

// VanishedAgents lists agents shown as present but not seen since cutoff: their connections dropped and the
// grace period passed.
func (s *Store) VanishedAgents(ctx context.Context, cutoff time.Time) ([]string, error) {
	out, err := s.textColumn(ctx, "SELECT id FROM agents WHERE presence <> 'offline' AND last_seen < ?", ms(cutoff))
	return out, s.wrap("read vanished agents", err)
}

// textColumn runs a query of one text column and returns its values.
func (s *Store) textColumn(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// AgentGone sets an agent who vanished offline (unless they came back since cutoff) and hands back what they
// held: pending offers return to the queue at their original place (outcome expired); open conversations are
// requeued when requeue says so for their site, else kept.
func (s *Store) AgentGone(ctx context.Context, agentID string, cutoff time.Time, requeue func(siteID string) bool) ([]*Change, error) {
	var out []*Change
	err := s.tx(ctx, "agent gone", func(tx *sql.Tx) error {
		out = nil
		res, err := s.exec(ctx, tx, "UPDATE agents SET presence = 'offline' WHERE id = ? AND presence <> 'offline' AND last_seen < ?", agentID, ms(cutoff))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // back in time
		}
		rows, err := s.queryTx(ctx, tx, "SELECT "+convCols+" FROM conversations WHERE (offered_to = ? AND status = 'offered') OR (agent_id = ? AND status = 'assigned')", agentID, agentID)
		if err != nil {
			return err
		}
		var convs []*chat.Conversation
		for rows.Next() {
			c, err := scanConversation(rows)
			if err != nil {
				rows.Close()
				return err
			}
			convs = append(convs, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		now := s.now()
		for _, conv := range convs {
			if err := s.lockQueue(ctx, tx, conv.TeamID); err != nil {
				return err
			}
			if conv.Status == chat.StatusOffered {
				ch, err := s.unoffer(ctx, tx, conv, "expired", now)
				if err != nil {
					return err
				}
				out = append(out, ch)
				continue
			}
			if !requeue(conv.SiteID) {
				continue
			}
			if _, err := s.exec(ctx, tx, `UPDATE conversations SET status = 'queued', agent_id = NULL, last_agent_id = ?, updated_at = ?
				WHERE id = ?`, agentID, ms(now), conv.ID); err != nil {
				return err
			}
			if err := s.releaseSlot(ctx, tx, agentID); err != nil {
				return err
			}
			conv.Status, conv.AgentID, conv.LastAgentID, conv.UpdatedAt = chat.StatusQueued, "", agentID, now
			ch := &Change{Conv: conv}
			if err := ch.system(ctx, s, tx, "The agent went offline; you are back in the queue", map[string]string{"event": "requeued", "reason": "agent_offline"}); err != nil {
				return err
			}
			if err := ch.event(ctx, s, tx, chat.TeamStream(conv.TeamID), chat.EventQueued); err != nil {
				return err
			}
			if err := ch.event(ctx, s, tx, chat.AgentStream(agentID), chat.EventQueued); err != nil {
				return err
			}
			out = append(out, ch)
		}
		return nil
	})
	return out, err
}

// TeamState is the live state of a team for supervisors.
type TeamState struct {
	TeamID       string    `json:"team_id"`
	Name         string    `json:"name"`
	Queued       int       `json:"queued"`
	Offered      int       `json:"offered"`
	Pending      int       `json:"pending"`
	OldestQueued time.Time `json:"oldest_queued_at,omitzero"`
}

// TeamStates returns the queue figures of every team.
func (s *Store) TeamStates(ctx context.Context) ([]TeamState, error) {
	teams, err := s.Teams(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]TeamState, 0, len(teams))
	for _, t := range teams {
		st := TeamState{TeamID: t.ID, Name: t.Name}
		for status, dst := range map[string]*int{"queued": &st.Queued, "offered": &st.Offered, "pending": &st.Pending} {
			if err := s.queryRow(ctx, "SELECT count(*) FROM conversations WHERE team_id = ? AND status = ?", t.ID, status).Scan(dst); err != nil {
				return nil, s.wrap("read team state", err)
			}
		}
		var oldest sql.NullInt64
		if err := s.queryRow(ctx, "SELECT min(queued_at) FROM conversations WHERE team_id = ? AND status IN ('queued', 'offered')", t.ID).Scan(&oldest); err != nil {
			return nil, s.wrap("read team state", err)
		}
		st.OldestQueued = nullMS(oldest)
		out = append(out, st)
	}
	return out, nil
}

// QueuePositions returns the queued conversations of a team in service order (their index + 1 is their
// position), at most limit.
func (s *Store) QueuePositions(ctx context.Context, teamID string, limit int) ([]string, error) {
	out, err := s.textColumn(ctx, "SELECT id FROM conversations WHERE team_id = ? AND status = 'queued' ORDER BY priority DESC, queued_at, id LIMIT ?", teamID, limit)
	return out, s.wrap("read queue", err)
}

// OfferOutcomes counts offers by outcome ("" = still pending).
func (s *Store) OfferOutcomes(ctx context.Context) (map[string]int, error) {
	rows, err := s.query(ctx, "SELECT outcome, count(*) FROM offers GROUP BY outcome")
	if err != nil {
		return nil, s.wrap("read offers", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var o string
		var n int
		if err := rows.Scan(&o, &n); err != nil {
			return nil, s.wrap("read offers", err)
		}
		out[o] = n
	}
	return out, s.wrap("read offers", rows.Err())
}

// HandlingTime returns the mean time from assignment to close of a team's last 50 closed conversations, and
// how many there were; the queue's wait estimate is built on it.
func (s *Store) HandlingTime(ctx context.Context, teamID string) (time.Duration, int, error) {
	rows, err := s.query(ctx, `SELECT closed_at, assigned_at FROM conversations
		WHERE team_id = ? AND closed_at > 0 ORDER BY closed_at DESC LIMIT 50`, teamID)
	if err != nil {
		return 0, 0, s.wrap("read handling times", err)
	}
	defer rows.Close()
	var total int64
	n := 0
	for rows.Next() {
		var closed int64
		var assigned sql.NullInt64
		if err := rows.Scan(&closed, &assigned); err != nil {
			return 0, 0, s.wrap("read handling times", err)
		}
		if assigned.Valid && assigned.Int64 > 0 && closed > assigned.Int64 {
			total += closed - assigned.Int64
			n++
		}
	}
	if err := rows.Err(); err != nil || n == 0 {
		return 0, 0, s.wrap("read handling times", err)
	}
	return time.Duration(total/int64(n)) * time.Millisecond, n, nil
}

// AgentConversations returns what an agent holds: the conversations assigned to them and those offered to
// them, most recent activity first.
func (s *Store) AgentConversations(ctx context.Context, agentID string, limit int) ([]*chat.Conversation, error) {
	var out []*chat.Conversation
	for _, q := range []string{
		"SELECT " + convCols + " FROM conversations WHERE agent_id = ? AND status = 'assigned' ORDER BY last_message_at DESC LIMIT ?",
		"SELECT " + convCols + " FROM conversations WHERE status = 'offered' AND offered_to = ? LIMIT ?",
	} {
		rows, err := s.query(ctx, q, agentID, limit)
		if err != nil {
			return nil, s.wrap("read agent conversations", err)
		}
		convs, err := s.scanConversations(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, convs...)
	}
	return out, nil
}

// DB is the read pool, for tests and tools that check the database directly.
func (s *Store) DB() *sql.DB { return s.r }

// queuePositionSQL counts the conversations ahead of one in its team's queue as three ranges of the queue
// index (team_id, status, priority, queued_at): higher priority; same priority, queued earlier; and the same
// millisecond, smaller id. Each is counted off the index alone (on SQLite the last reads the rows of the ties
// only). One OR of the three was no range at all: SQLite walked the team's whole queue and read every
// conversation's row for its id, so each queued customer's subscribe cost a pass over the queue, and a
// reconnect storm with 10,000 waiting took minutes (docs/benchmarks.md, History 2026-12-02 afternoon).
const queuePositionSQL = `SELECT
	(SELECT count(*) FROM conversations WHERE team_id = ? AND status = 'queued' AND priority > ?) +
	(SELECT count(*) FROM conversations WHERE team_id = ? AND status = 'queued' AND priority = ? AND queued_at < ?) +
	(SELECT count(*) FROM conversations WHERE team_id = ? AND status = 'queued' AND priority = ? AND queued_at = ? AND id < ?)`

// QueuePosition returns a queued conversation's place in its team's queue (1 = next). It reads as many index
// entries as there are conversations ahead (queuePositionSQL).
func (s *Store) QueuePosition(ctx context.Context, c *chat.Conversation) (int, error) {
	var ahead int
	q := ms(c.QueuedAt)
	err := s.queryRow(ctx, queuePositionSQL, c.TeamID, c.Priority, c.TeamID, c.Priority, q, c.TeamID, c.Priority, q, c.ID).Scan(&ahead)
	return ahead + 1, s.wrap("read queue position", err)
}

// QueueLength counts the conversations waiting in a team's queue.
func (s *Store) QueueLength(ctx context.Context, teamID string) (int, error) {
	var n int
	err := s.queryRow(ctx, "SELECT count(*) FROM conversations WHERE team_id = ? AND status = 'queued'", teamID).Scan(&n)
	return n, s.wrap("read queue length", err)
}

// activityKey is the column a list of conversations in state st is ordered by for "by activity": for closed
// ones closed_activity_at, which is their last_message_at and is on the activity indexes; for open ones
// last_message_at itself, which is not (a message would move the entry) and is sorted.
func activityKey(st chat.Status) string {
	if st == chat.StatusClosed {
		return "closed_activity_at"
	}
	return "last_message_at"
}

// InboxCursor is where a page of an inbox list by activity starts: after the conversation with this
// last_message_at and id.
type InboxCursor struct {
	At time.Time
	ID string
}

// InboxView names an agent's list: what they hold, what waits in their teams' queues, their teams' open
// conversations, or every open conversation.
type InboxView string

// The inbox views.
const (
	InboxMine  InboxView = "mine"
	InboxQueue InboxView = "queue"
	InboxTeam  InboxView = "team"
	InboxAll   InboxView = "all"
)

// InboxFilter narrows an inbox view. The zero value keeps the whole view.
type InboxFilter struct {
	Status  chat.Status  // one status of those the view holds; "" for all of them (the open ones)
	TeamID  string       // one team; the caller checks that the agent may see it
	Channel chat.Channel // one channel; "" for every channel
}

// statuses returns the states to read: the filter's one, or the view's default ones.
func (f InboxFilter) statuses(def ...chat.Status) []chat.Status {
	if f.Status != "" {
		return []chat.Status{f.Status}
	}
	return def
}

// Inbox returns up to limit conversations of a view: mine (assigned and offered, by activity), queue (waiting
// in the teams' queues, in service order), team (the teams' conversations, by activity), all (every
// conversation, by activity). Without a status filter the lists hold the open conversations; team and all
// also list closed ones when f.Status asks for them. f.TeamID narrows the teams to one.
//
// The lists by activity (team, all) page with before: the last entry of the previous page (keyset on
// last_message_at, then id); the zero cursor is the first page. Each (team, status) is one range of an index
// (conversations_team_activity, conversations_queue; conversations_activity for all). A closed one is read in
// order and cut at limit, so a page costs the same however long the history; an open one holds the open
// conversations (bounded, like an agent's) and is sorted, because the indexes leave out the activity of open
// conversations that every message would move (activityKey).
func (s *Store) Inbox(ctx context.Context, view InboxView, agentID string, teams []string, limit int, before InboxCursor, f InboxFilter) ([]*chat.Conversation, error) {
	// byActivity is the WHERE tail and ORDER BY of a list by activity in state st, and the page's arguments.
	byActivity := func(st chat.Status) (where, order string, args []any) {
		key := activityKey(st)
		if !before.At.IsZero() {
			where = " AND (" + key + " < ? OR (" + key + " = ? AND id < ?))"
			args = []any{ms(before.At), ms(before.At), before.ID}
		}
		return where, key + " DESC, id DESC", args
	}
	channel, channelArgs := "", []any{}
	if f.Channel != "" {
		channel, channelArgs = " AND channel = ?", []any{string(f.Channel)}
	}
	if f.TeamID != "" {
		teams = []string{f.TeamID}
	}
	var out []*chat.Conversation
	read := func(q string, args ...any) error {
		rows, err := s.query(ctx, q, args...)
		if err != nil {
			return s.wrap("read inbox", err)
		}
		convs, err := s.scanConversations(rows)
		if err != nil {
			return err
		}
		out = append(out, convs...)
		return nil
	}
	switch view {
	case InboxMine:
		mine, err := s.AgentConversations(ctx, agentID, limit)
		if err != nil {
			return nil, err
		}
		for _, c := range mine {
			if (f.Status == "" || c.Status == f.Status) && (f.TeamID == "" || c.TeamID == f.TeamID) && (f.Channel == "" || c.Channel == f.Channel) {
				out = append(out, c)
			}
		}
		return out, nil
	case InboxAll:
		if f.TeamID == "" {
			for _, st := range f.statuses(chat.StatusQueued, chat.StatusOffered, chat.StatusPending, chat.StatusAssigned) {
				page, order, pageArgs := byActivity(st)
				args := append(append(append([]any{string(st)}, channelArgs...), pageArgs...), limit)
				if err := read("SELECT "+convCols+" FROM conversations WHERE status = ?"+channel+page+" ORDER BY "+order+" LIMIT ?", args...); err != nil {
					return nil, err
				}
			}
			return out, nil
		}
		view = InboxTeam // one team of everyone's: that team's list
	}
	statuses := f.statuses(chat.StatusQueued, chat.StatusOffered, chat.StatusPending)
	if view == InboxTeam {
		statuses = f.statuses(chat.StatusQueued, chat.StatusOffered, chat.StatusPending, chat.StatusAssigned)
	}
	for _, team := range teams {
		for _, st := range statuses {
			order, where, extra := "priority DESC, queued_at, id", "", []any(nil)
			if view == InboxTeam {
				where, order, extra = byActivity(st)
			}
			args := append(append(append([]any{team, string(st)}, channelArgs...), extra...), limit)
			if err := read("SELECT "+convCols+" FROM conversations WHERE team_id = ? AND status = ?"+channel+where+" ORDER BY "+order+" LIMIT ?", args...); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}
