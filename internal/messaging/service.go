// Package messaging implements the use cases of conversations and messages — start, send, history, read,
// typing, close — with authorization on every one and publication strictly after the commit. The transports
// (WebSocket, long-poll, REST) call it; it calls the store, the group committer and the hub.
package messaging

import (
	"context"
	"slices"
	"time"

	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/hub"
	"github.com/parley-chat/parley/internal/ratelimit"
	"github.com/parley-chat/parley/internal/store"
	"github.com/parley-chat/parley/protocol"
)

// Options tune the service.
type Options struct {
	// CustomerRate and CustomerBurst limit messages per customer (per second, burst); AgentRate/AgentBurst per
	// agent. Zero selects the defaults.
	CustomerRate, AgentRate   float64
	CustomerBurst, AgentBurst int
	Now                       func() time.Time
	// Observe receives per-send figures for metrics: channel, message type, and receipt-to-ack latency.
	Observe func(channel, msgType string, took time.Duration, duplicate bool)
}

// Service is the messaging use cases.
type Service struct {
	st        *store.Store
	committer *store.Committer
	hub       *hub.Hub
	o         Options
	router    *Router // set by NewRouter; nil in a node that does not route

	customerLimit *ratelimit.Keyed
	agentLimit    *ratelimit.Keyed
	typingLimit   *ratelimit.Keyed
}

// New returns the service. The committer's Published hook must call s.Published (see NewWithCommitter).
func New(st *store.Store, h *hub.Hub, o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.CustomerRate == 0 {
		o.CustomerRate, o.CustomerBurst = 2, 10
	}
	if o.AgentRate == 0 {
		o.AgentRate, o.AgentBurst = 10, 30
	}
	if o.Observe == nil {
		o.Observe = func(string, string, time.Duration, bool) {}
	}
	return &Service{st: st, hub: h, o: o,
		customerLimit: ratelimit.New(o.CustomerRate, o.CustomerBurst).WithClock(o.Now),
		agentLimit:    ratelimit.New(o.AgentRate, o.AgentBurst).WithClock(o.Now),
		// One typing notice per principal and conversation every two seconds is all a UI needs.
		typingLimit: ratelimit.New(0.5, 1).WithClock(o.Now),
	}
}

// UseCommitter connects the group committer whose Published hook is s.Published.
func (s *Service) UseCommitter(c *store.Committer) { s.committer = c }

// Epoch is the store's epoch, carried on every acknowledgement and delivery.
func (s *Service) Epoch() string { return s.st.Epoch() }

// Published publishes freshly committed messages to their subscribers. The committer calls it after the
// commit and before answering the senders.
func (s *Service) Published(results []store.SendResult) {
	epoch := s.st.Epoch()
	for _, r := range results {
		s.hub.Publish(context.Background(), MessageDelivery(r.Message, epoch))
		if c := r.Conversation; c != nil && c.TeamID != "" && s.hub.Wanted(chat.TeamStream(c.TeamID)) {
			// Inbox lists of the team learn that the conversation has news without subscribing to it.
			s.hub.Publish(context.Background(), activityDelivery(c, r.Message))
		}
	}
}

func activityDelivery(c *chat.Conversation, m *chat.Message) *hub.Delivery {
	return &hub.Delivery{Topic: chat.TeamStream(c.TeamID), Kind: protocol.TypeActivity, Agent: mustJSON(protocol.ServerFrame{
		Type: protocol.TypeActivity, ConversationID: c.ID, Seq: m.Seq, TS: m.CreatedAt})}
}

// CanAccess reports whether p may read and write conv: a customer only their own conversations on the site of
// their session; an agent their teams' conversations and those assigned to them; supervisors and admins all.
func CanAccess(p *auth.Principal, conv *chat.Conversation) bool {
	switch {
	case p == nil:
		return false
	case p.Customer != nil:
		return conv.CustomerID == p.Customer.ID && conv.SiteID == p.Session.SiteID
	case p.Agent != nil:
		if p.Agent.Role.SeesAllTeams() || conv.AgentID == p.Agent.ID {
			return true
		}
		return conv.TeamID != "" && slices.Contains(p.Agent.Teams, conv.TeamID)
	}
	return false
}

// CanSubscribeStream reports whether p may follow an event stream: agents their own stream and their teams'
// streams; supervisors and admins every team's.
func CanSubscribeStream(p *auth.Principal, stream string) bool {
	if p == nil || p.Agent == nil {
		return false
	}
	if stream == chat.AgentStream(p.Agent.ID) {
		return true
	}
	for _, t := range p.Agent.Teams {
		if stream == chat.TeamStream(t) {
			return true
		}
	}
	return p.Agent.Role.SeesAllTeams() && len(stream) > 5 && stream[:5] == "team:"
}

// Conversation returns a conversation p may access. Everything else — absent, another customer's, another
// team's, a malformed id — is the same NotFound, so the answer reveals nothing.
func (s *Service) Conversation(ctx context.Context, p *auth.Principal, id string) (*chat.Conversation, error) {
	if !validID(id) {
		return nil, chat.ErrNotFound("conversation")
	}
	c, err := s.st.Conversation(ctx, id)
	if err != nil {
		return nil, err
	}
	if !CanAccess(p, c) {
		return nil, chat.ErrNotFound("conversation")
	}
	return c, nil
}

// Conversations is Conversation for many ids in one read: the conversations p may access, by id; an id that
// names nothing p may see (malformed, missing, or someone else's) is left out, as Conversation would answer it
// NotFound.
func (s *Service) Conversations(ctx context.Context, p *auth.Principal, ids []string) (map[string]*chat.Conversation, error) {
	valid := make([]string, 0, len(ids))
	for _, id := range ids {
		if validID(id) {
			valid = append(valid, id)
		}
	}
	convs, err := s.st.ConversationsByID(ctx, valid)
	if err != nil {
		return nil, err
	}
	for id, c := range convs {
		if !CanAccess(p, c) {
			delete(convs, id)
		}
	}
	return convs, nil
}

// validID accepts the canonical UUID form our ids take; anything else cannot name a conversation.
func validID(id string) bool {
	if len(id) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := id[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// StartInput is a customer's request to chat.
type StartInput struct {
	TeamID  string // a pre-chat "department" choice; empty for the site's default team
	Channel chat.Channel
}

// Start returns the customer's open conversation on their site, creating it when there is none.
func (s *Service) Start(ctx context.Context, p *auth.Principal, in StartInput) (*chat.Conversation, bool, error) {
	if p == nil || p.Customer == nil {
		return nil, false, chat.Errorf(chat.CodeForbidden, "only customers start conversations")
	}
	site, err := s.st.Site(ctx, p.Session.SiteID)
	if err != nil {
		return nil, false, err
	}
	team := site.DefaultTeamID
	if in.TeamID != "" {
		teams, err := s.st.Teams(ctx)
		if err != nil {
			return nil, false, err
		}
		if !slices.ContainsFunc(teams, func(t *chat.Team) bool { return t.ID == in.TeamID }) {
			return nil, false, chat.Invalid("team_id", "unknown department")
		}
		team = in.TeamID
	}
	if in.Channel == "" {
		in.Channel = chat.ChannelWeb
	}
	in2 := store.StartInput{SiteID: site.ID, CustomerID: p.Customer.ID, TeamID: team, Channel: in.Channel}
	// Out of hours, or with the queue full, the conversation is created as a left message: decided in the
	// creating transaction, so a router draining the queue meanwhile cannot offer it first.
	if rs := site.Settings.Routing; !rs.BusinessHours.IsOpen(s.o.Now()) {
		in2.LeaveReason = "out_of_hours"
	} else {
		in2.MaxQueue = rs.MaxQueueLength
		if s.router != nil {
			in2.Route = s.router.routeOnStart(ctx, site, team)
		}
	}
	conv, created, ch, err := s.st.StartConversation(ctx, in2)
	if err != nil {
		return nil, false, err
	}
	s.publishChange(ch)
	if created && conv.Status == chat.StatusQueued && s.router != nil {
		s.router.Notify(conv.TeamID) // others wait ahead, or nobody had room: the router takes it from here
	}
	return conv, created, nil
}

func (s *Service) publishEvents(events []chat.Event) {
	epoch := s.st.Epoch()
	for _, ev := range events {
		s.hub.Publish(context.Background(), EventDelivery(ev, epoch))
	}
}

// SendInput is one message from a client.
type SendInput struct {
	ConversationID string
	ClientMsgID    string
	Body           string
	Type           string // text (default) or note
}

// Pending is a send that was queued for commit; Wait gives its outcome.
type Pending struct {
	s     *Service
	start time.Time
	typ   string
	wait  func(ctx context.Context) store.SendResult
	err   error
	// reopen, for a customer's message, reopens a conversation closed within the reopen window and sends again.
	reopen func(ctx context.Context) *Pending
}

// Wait returns the acknowledgement, or the reason there is none. When ctx ends first the outcome is unknown.
func (pd *Pending) Wait(ctx context.Context) (store.SendResult, error) {
	if pd.err != nil {
		return store.SendResult{}, pd.err
	}
	res := pd.wait(ctx)
	if chat.ErrorCode(res.Err) == chat.CodeClosed && pd.reopen != nil {
		if again := pd.reopen(ctx); again != nil {
			return again.Wait(ctx)
		}
	}
	return pd.finish(res)
}

// SendAsync validates a message from p and queues it for commit, returning at once. Messages a connection
// queues one after another are numbered in that order. The sender is always p — nothing in the input can name
// another — and p's right to write into the conversation is checked inside the committing transaction, with the
// conversation locked, so no separate read is needed and no race can slip between check and write.
func (s *Service) SendAsync(ctx context.Context, p *auth.Principal, in SendInput) *Pending {
	pd := &Pending{s: s, start: s.o.Now()}
	req, err := s.sendRequest(p, in, pd)
	if err != nil {
		pd.err = err
		return pd
	}
	wait, err := s.committer.Enqueue(ctx, req)
	if err != nil {
		pd.err = err
		return pd
	}
	pd.wait = wait
	if p.Customer != nil {
		pd.reopen = func(ctx context.Context) *Pending {
			if ok, err := s.reopen(ctx, in.ConversationID); err != nil || !ok {
				return nil
			}
			again := s.SendAsync(ctx, p, in)
			again.reopen = nil // once
			return again
		}
	}
	return pd
}

// SendThen is SendAsync with a callback instead of a waiter: done gets the acknowledgement or the reason there
// is none, exactly as Pending.Wait would give them. A send refused before it is queued is answered at once, on
// the caller's goroutine; a queued one from the group committer (its shard's publishing goroutine, or the
// committer's own when nothing else waits) right after its commit and publication, so done must not block.
// Only a customer's message to a conversation closed in the meantime takes a goroutine, to reopen the
// conversation and send again. It spares the WebSocket transport a goroutine and a timer per message.
func (s *Service) SendThen(ctx context.Context, p *auth.Principal, in SendInput, done func(store.SendResult, error)) {
	pd := &Pending{s: s, start: s.o.Now()}
	req, err := s.sendRequest(p, in, pd)
	if err == nil {
		err = s.committer.EnqueueFunc(ctx, req, func(res store.SendResult) {
			if chat.ErrorCode(res.Err) == chat.CodeClosed && p.Customer != nil {
				go func() {
					// As Pending.Wait does: reopen once and send again, waiting as long as a waiter would.
					ctx, cancel := context.WithTimeout(context.Background(), reopenWait)
					defer cancel()
					if ok, err := s.reopen(ctx, in.ConversationID); err == nil && ok {
						again := s.SendAsync(ctx, p, in)
						again.reopen = nil
						done(again.Wait(ctx))
						return
					}
					done(res, res.Err)
				}()
				return
			}
			done(pd.finish(res))
		})
	}
	if err != nil {
		done(store.SendResult{}, err)
	}
}

// reopenWait bounds SendThen's reopen-and-send-again, as the WebSocket transport bounds a send's wait.
const reopenWait = 30 * time.Second

// finish reports a send's outcome to the metrics and returns it as Wait does.
func (pd *Pending) finish(res store.SendResult) (store.SendResult, error) {
	if res.Err != nil {
		return res, res.Err
	}
	pd.s.o.Observe(string(res.Conversation.Channel), pd.typ, pd.s.o.Now().Sub(pd.start), res.Duplicate)
	return res, nil
}

// sendRequest validates a send of p and builds its store request; pd gets the message type for the metrics.
func (s *Service) sendRequest(p *auth.Principal, in SendInput, pd *Pending) (*store.SendRequest, error) {
	if err := chat.ValidateClientMsgID(in.ClientMsgID); err != nil {
		return nil, err
	}
	typ := chat.TypeText
	switch in.Type {
	case "", protocol.MsgText:
	case protocol.MsgNote:
		if p.Agent == nil {
			return nil, chat.Invalid("msg_type", "only agents write internal notes")
		}
		typ = chat.TypeNote
	default:
		return nil, chat.Invalid("msg_type", "msg_type must be text or note")
	}
	pd.typ = string(typ)
	if err := chat.ValidateBody(in.Body); err != nil {
		return nil, err
	}
	if !validID(in.ConversationID) {
		return nil, chat.ErrNotFound("conversation")
	}
	req := &store.SendRequest{ConversationID: in.ConversationID, Type: typ, Body: in.Body, ClientMsgID: in.ClientMsgID}
	limiter := s.agentLimit
	if p.Customer != nil {
		req.SenderType, req.SenderID, req.SenderName = chat.SenderCustomer, p.Customer.ID, p.Customer.Name
		limiter = s.customerLimit
	} else {
		req.SenderType, req.SenderID, req.SenderName = chat.SenderAgent, p.Agent.ID, p.Agent.Name
	}
	if ok, wait := limiter.Allow(p.ID()); !ok {
		return nil, &chat.Error{Code: chat.CodeRateLimited,
			Message: "sending too fast; try again in " + wait.Round(time.Millisecond).String()}
	}
	req.Check = func(c *chat.Conversation) error {
		if !CanAccess(p, c) {
			return chat.ErrNotFound("conversation")
		}
		if c.Status == chat.StatusClosed {
			return chat.Errorf(chat.CodeClosed, "the conversation is closed")
		}
		return nil
	}
	return req, nil
}

// Send stores a message from p and returns the acknowledgement: the stored message (for a retry, the original
// one with duplicate set).
func (s *Service) Send(ctx context.Context, p *auth.Principal, in SendInput) (store.SendResult, error) {
	return s.SendAsync(ctx, p, in).Wait(ctx)
}

// Ack renders the acknowledgement frame of a send result.
func (s *Service) Ack(ref string, res store.SendResult) protocol.ServerFrame {
	m := res.Message
	return protocol.ServerFrame{Type: protocol.TypeAck, Ref: ref, ClientMsgID: m.ClientMsgID, ConversationID: m.ConversationID,
		Seq: m.Seq, ID: m.ID, TS: m.CreatedAt, Epoch: s.st.Epoch(), Duplicate: res.Duplicate}
}

// History returns a page of a conversation p may access, in the wire form for p's audience: the messages
// after the cursor when forward is set, else those before the cursor (the latest when before is 0).
func (s *Service) History(ctx context.Context, p *auth.Principal, convID string, forward bool, after, before uint64, limit int) ([]*protocol.Message, *chat.Conversation, error) {
	conv, err := s.Conversation(ctx, p, convID)
	if err != nil {
		return nil, nil, err
	}
	if limit <= 0 {
		limit = chat.DefaultHistoryPage
	}
	limit = min(limit, chat.MaxHistoryPage)
	var msgs []*chat.Message
	if forward {
		msgs, err = s.st.After(ctx, conv.ID, after, limit)
	} else {
		msgs, err = s.st.Before(ctx, conv.ID, before, limit)
	}
	if err != nil {
		return nil, nil, err
	}
	return s.wire(p, msgs), conv, nil
}

// After returns what p missed in a conversation: messages with seq > after, ascending.
func (s *Service) After(ctx context.Context, p *auth.Principal, conv *chat.Conversation, after uint64, limit int) ([]*protocol.Message, error) {
	msgs, err := s.st.After(ctx, conv.ID, after, limit)
	if err != nil {
		return nil, err
	}
	return s.wire(p, msgs), nil
}

func (s *Service) wire(p *auth.Principal, msgs []*chat.Message) []*protocol.Message {
	out := make([]*protocol.Message, len(msgs))
	for i, m := range msgs {
		out[i] = WireMessage(m, p.Customer != nil)
	}
	return out
}

// Events returns stream events after a position, for resume.
func (s *Service) Events(ctx context.Context, stream string, after uint64, limit int) ([]chat.Event, error) {
	return s.st.Events(ctx, stream, after, limit)
}

// MarkRead moves p's side's read cursor and, when it moved, tells the conversation's subscribers.
func (s *Service) MarkRead(ctx context.Context, p *auth.Principal, convID string, seq uint64) (uint64, error) {
	conv, err := s.Conversation(ctx, p, convID)
	if err != nil {
		return 0, err
	}
	side := store.SideAgent
	if p.Customer != nil {
		side = store.SideCustomer
	}
	cur, moved, err := s.st.MarkRead(ctx, conv.ID, side, seq)
	if err != nil {
		return 0, err
	}
	if moved {
		f := mustJSON(protocol.ServerFrame{Type: protocol.TypeRead, ConversationID: conv.ID, Side: string(side), Seq: cur})
		s.hub.Publish(ctx, &hub.Delivery{Topic: conv.ID, Kind: protocol.TypeRead, Agent: f, Customer: f})
	}
	return cur, nil
}

// Typing tells the conversation's other subscribers that p is typing. Notices are never stored and are
// throttled; a throttled notice is silently dropped.
func (s *Service) Typing(ctx context.Context, p *auth.Principal, convID string) error {
	conv, err := s.Conversation(ctx, p, convID)
	if err != nil {
		return err
	}
	if ok, _ := s.typingLimit.Allow(p.ID() + "/" + conv.ID); !ok {
		return nil
	}
	side, name := "agent", ""
	if p.Customer != nil {
		side, name = "customer", p.Customer.Name
	} else {
		name = p.Agent.Name
	}
	f := mustJSON(protocol.ServerFrame{Type: protocol.TypeTyping, ConversationID: conv.ID, Side: side, Name: name})
	s.hub.Publish(ctx, &hub.Delivery{Topic: conv.ID, Kind: protocol.TypeTyping, Agent: f, Customer: f})
	return nil
}

// Close closes a conversation p may access, publishing the system message and the events.
func (s *Service) Close(ctx context.Context, p *auth.Principal, convID string) (*chat.Conversation, error) {
	conv, err := s.Conversation(ctx, p, convID)
	if err != nil {
		return nil, err
	}
	by := store.Closer{Type: chat.SenderAgent}
	if p.Customer != nil {
		by = store.Closer{Type: chat.SenderCustomer, ID: p.Customer.ID, Name: p.Customer.Name}
	} else {
		by.ID, by.Name = p.Agent.ID, p.Agent.Name
	}
	if err := s.closeBy(ctx, conv, by); err != nil {
		return nil, err
	}
	return s.st.Conversation(ctx, conv.ID)
}

// Heads returns the current head of each conversation and stream, for heartbeats and long-poll answers.
func (s *Service) Heads(ctx context.Context, convIDs, streams []string) (map[string]uint64, error) {
	return s.st.Heads(ctx, convIDs, streams)
}

// ReadCursors returns both sides' read cursors.
func (s *Service) ReadCursors(ctx context.Context, convID string) (customer, agent uint64, err error) {
	return s.st.ReadCursors(ctx, convID)
}

// Marshal serializes a frame; transports use it for the frames they build.
func Marshal(f protocol.ServerFrame) []byte { return mustJSON(f) }
