package messaging

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/hub"
	"github.com/parley-chat/parley/internal/store"
	"github.com/parley-chat/parley/protocol"
)

// RouterOptions tune the router.
type RouterOptions struct {
	// Interval is how often the router sweeps: expired offers, vanished agents, queue limits, auto-close (at
	// most every sweep, see idleEvery), and a drain of every queue as a backstop for triggers another node saw
	// (default 1 s).
	Interval time.Duration
	// Grace is how long an agent whose connections all dropped still counts as present (default 60 s).
	Grace time.Duration
	// DefaultHandling is the handling time the wait estimate assumes before a team has closed conversations
	// (default 5 min).
	DefaultHandling time.Duration
	Log             *slog.Logger
	// Observe receives routing figures for metrics; any may be nil.
	Observe RouterObserver
}

// RouterObserver receives the router's figures.
type RouterObserver struct {
	Offer      func(outcome string)             // accepted, declined, expired, withdrawn
	Assigned   func(waited time.Duration)       // a conversation was assigned after waiting this long
	Claim      func(took time.Duration)         // one routing decision and its claim
	QueueState func(teamID string, waiting int) // the length of a team's queue at a sweep
}

// Router assigns conversations to agents: it drains a team's queue whenever something may have made room
// (a new conversation, a closed one, an agent online, a raised capacity, a declined or expired offer), and
// sweeps periodically for deadlines. Every decision is an atomic claim in the database, so any number of
// nodes may route at once.
type Router struct {
	s  *Service
	st *store.Store
	o  RouterOptions

	wake chan struct{}

	mu       sync.Mutex
	dirty    map[string]struct{}          // teams to drain
	seen     map[string]struct{}          // agents active on this node since the last sweep
	conns    map[string]int               // agents' live connections to this node
	present  map[string]time.Time         // agents this node believes present, and when it last recorded it
	lastPush map[string]map[string][2]int // team -> conversation -> the queue position and estimate last pushed
	handling map[string]handlingEstimate
	idleRead time.Time // when the auto-close sweep last read the open conversations
}

// idleEvery is how often the auto-close sweep reads the open conversations, for the shortest auto-close time
// of any site: a sixtieth of it, at least every sweep. The read cannot use an index (the activity indexes leave
// out open conversations, migration 00040) and costs ~0.3 µs a row on SQLite, ~1.5 µs on MariaDB; a
// conversation closes at most 1/60 of its limit late (2 s for 2 minutes, 1 minute for an hour).
func idleEvery(minIdle, interval time.Duration) time.Duration {
	return max(minIdle/60, interval)
}

type handlingEstimate struct {
	d  time.Duration
	at time.Time
}

// NewRouter returns the router of s; call Run to start it.
func NewRouter(s *Service, o RouterOptions) *Router {
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if o.Grace <= 0 {
		o.Grace = time.Minute
	}
	if o.DefaultHandling <= 0 {
		o.DefaultHandling = 5 * time.Minute
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	r := &Router{s: s, st: s.st, o: o, wake: make(chan struct{}, 1), dirty: map[string]struct{}{},
		seen: map[string]struct{}{}, conns: map[string]int{}, present: map[string]time.Time{}, lastPush: map[string]map[string][2]int{},
		handling: map[string]handlingEstimate{}}
	s.router = r
	return r
}

func (r *Router) now() time.Time { return r.s.o.Now() }

// Notify asks for the queues of teams to be drained soon.
func (r *Router) Notify(teams ...string) {
	r.mu.Lock()
	for _, t := range teams {
		if t != "" {
			r.dirty[t] = struct{}{}
		}
	}
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run routes until ctx ends.
func (r *Router) Run(ctx context.Context) {
	t := time.NewTicker(r.o.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
			r.drainDirty(ctx)
		case <-t.C:
			if err := r.Sweep(ctx); err != nil && ctx.Err() == nil {
				r.o.Log.Warn("routing sweep", "err", err)
			}
		}
	}
}

func (r *Router) drainDirty(ctx context.Context) {
	r.mu.Lock()
	teams := make([]string, 0, len(r.dirty))
	for t := range r.dirty {
		teams = append(teams, t)
	}
	clear(r.dirty)
	r.mu.Unlock()
	for _, t := range teams {
		if err := r.Drain(ctx, t); err != nil && ctx.Err() == nil {
			r.o.Log.Warn("drain queue", "team", t, "err", err)
		}
	}
}

// claimBatch is how many conversations of a queue's head one claim transaction serves at most: with
// thousands waiting (agents coming online after the customers), serving them one per transaction took
// minutes on MariaDB (docs/benchmarks.md, History 2026-12-02).
const claimBatch = 50

// Drain assigns or offers the team's waiting conversations while an eligible agent has a free slot, then
// pushes the new queue positions to the customers still waiting.
func (r *Router) Drain(ctx context.Context, teamID string) error {
	defer r.pushPositions(ctx, teamID)
	ignoreLetGo := false
	var offerFor func(string) time.Duration
	for {
		// A read first: with nobody waiting (most sweeps) no claim transaction is begun at all — on SQLite each
		// would take the single writer away from the message committer.
		n, err := r.st.QueueLength(ctx, teamID)
		if err != nil || n == 0 {
			return err
		}
		if offerFor == nil {
			offerFor = r.offerTimeout(ctx)
		}
		cands, err := r.st.Candidates(ctx, teamID, r.now().Add(-r.o.Grace))
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(cands, func(c chat.Candidate) bool { return c.Used < c.Capacity }) {
			return nil
		}
		start := time.Now()
		changes, err := r.st.ClaimBatch(ctx, store.ClaimInput{TeamID: teamID, Candidates: cands, OfferFor: offerFor,
			IgnoreLetGo: ignoreLetGo, Max: min(n, claimBatch)})
		if err != nil {
			return err
		}
		if f := r.o.Observe.Claim; f != nil && len(changes) > 0 {
			took := time.Since(start) / time.Duration(len(changes))
			for range changes {
				f(took)
			}
		}
		for _, ch := range changes {
			r.publish(ch)
		}
		if len(changes) == 0 && !ignoreLetGo {
			// Everyone with room let the conversations they could take go last: offer them to them again rather
			// than leave them waiting while an agent has a free slot.
			ignoreLetGo = true
			continue
		}
		if len(changes) == 0 {
			return nil
		}
		ignoreLetGo = false
	}
}

// routeOnStart returns who may take a new conversation of the team at once, for the start's own
// transaction; nil when nobody has room or the site is closed.
func (r *Router) routeOnStart(ctx context.Context, site *chat.Site, teamID string) *store.RouteOnStart {
	rs := site.Settings.Routing
	if !rs.BusinessHours.IsOpen(r.now()) {
		return nil
	}
	cands, err := r.st.Candidates(ctx, teamID, r.now().Add(-r.o.Grace))
	if err != nil {
		return nil // the router drains the queue when it can
	}
	var free []chat.Candidate
	for _, c := range chat.Rank(cands) {
		if c.Used < c.Capacity {
			free = append(free, c)
		}
	}
	if len(free) == 0 {
		return nil
	}
	return &store.RouteOnStart{Candidates: free, OfferFor: rs.OfferTimeout()}
}

// offerTimeout returns each site's offer deadline, read once per drain.
func (r *Router) offerTimeout(ctx context.Context) func(string) time.Duration {
	sites, err := r.st.Sites(ctx)
	return func(siteID string) time.Duration {
		if err == nil {
			for _, s := range sites {
				if s.ID == siteID {
					return s.Settings.Routing.OfferTimeout()
				}
			}
		}
		return chat.RoutingSettings{}.OfferTimeout()
	}
}

// publish sends what a routing change committed: its system messages to the conversation's subscribers, its
// events to the streams, and its figures to the metrics.
func (r *Router) publish(ch *store.Change) {
	if ch == nil {
		return
	}
	epoch := r.st.Epoch()
	for _, m := range ch.Msgs {
		r.s.hub.Publish(context.Background(), MessageDelivery(m, epoch))
	}
	r.s.publishEvents(ch.Events)
	if ch.Conv != nil && ch.Conv.Status == chat.StatusAssigned && !ch.Conv.AssignedAt.IsZero() && !ch.Conv.QueuedAt.IsZero() {
		if f := r.o.Observe.Assigned; f != nil && slices.ContainsFunc(ch.Events, func(e chat.Event) bool { return e.Kind == chat.EventAssigned }) {
			f(ch.Conv.AssignedAt.Sub(ch.Conv.QueuedAt))
		}
	}
}

func (r *Router) offerEnded(outcome string) {
	if f := r.o.Observe.Offer; f != nil {
		f(outcome)
	}
}

// Seen records that an agent is active on this node (a heartbeat, a poll, a request). An agent this node
// did not know as present is marked connected at once, so the router considers them.
func (r *Router) Seen(ctx context.Context, a *chat.Agent) {
	r.mu.Lock()
	_, known := r.present[a.ID]
	r.seen[a.ID] = struct{}{}
	if !known {
		r.present[a.ID] = r.now()
	}
	r.mu.Unlock()
	if !known {
		r.connected(ctx, a.ID, a.Teams)
	}
}

func (r *Router) connected(ctx context.Context, agentID string, teams []string) {
	p, err := r.st.AgentConnected(ctx, agentID)
	if err != nil {
		r.mu.Lock()
		delete(r.present, agentID) // try again next time
		r.mu.Unlock()
		r.o.Log.Warn("agent connected", "agent", agentID, "err", err)
		return
	}
	if p == chat.PresenceOnline {
		r.Notify(teams...)
	}
}

// Sweep does the periodic work: it records which agents are still active, returns the offers whose deadline
// passed and what vanished agents held, applies the sites' queue limits and auto-close, and drains every
// queue. Tests call it directly with an injected clock.
func (r *Router) Sweep(ctx context.Context) error {
	now := r.now()
	r.mu.Lock()
	seen := make([]string, 0, len(r.seen)+len(r.conns))
	for id := range r.seen {
		seen = append(seen, id)
	}
	for id := range r.conns {
		if _, dup := r.seen[id]; !dup {
			seen = append(seen, id)
		}
	}
	clear(r.seen)
	r.mu.Unlock()
	if err := r.st.TouchAgents(ctx, seen); err != nil {
		return err
	}
	sites, err := r.st.Sites(ctx)
	if err != nil {
		return err
	}
	siteOf := func(id string) *chat.Site {
		for _, s := range sites {
			if s.ID == id {
				return s
			}
		}
		return nil
	}
	var errs []error
	// Offers whose deadline passed go back to the queue, at their place, for the next agent.
	expired, err := r.st.ExpiredOffers(ctx, now, 200)
	errs = append(errs, err)
	for _, o := range expired {
		ch, err := r.st.EndOffer(ctx, o[0], o[1], "expired")
		errs = append(errs, err)
		if ch != nil {
			r.offerEnded("expired")
			r.publish(ch)
			r.Notify(ch.Conv.TeamID)
		}
	}
	// Agents who vanished: offline, their offers back to the queue, their conversations too if the site says so.
	gone, err := r.st.VanishedAgents(ctx, now.Add(-r.o.Grace))
	errs = append(errs, err)
	for _, id := range gone {
		changes, err := r.st.AgentGone(ctx, id, now.Add(-r.o.Grace), func(siteID string) bool {
			s := siteOf(siteID)
			return s != nil && s.Settings.Routing.RequeueOnAgentOffline
		})
		errs = append(errs, err)
		r.mu.Lock()
		delete(r.present, id)
		r.mu.Unlock()
		for _, ch := range changes {
			if slices.ContainsFunc(ch.Events, func(e chat.Event) bool { return e.Kind == chat.EventQueued }) && len(ch.Msgs) == 0 {
				r.offerEnded("expired")
			}
			r.publish(ch)
			r.Notify(ch.Conv.TeamID)
		}
	}
	errs = append(errs, r.applyLimits(ctx, sites, now))
	teams, err := r.st.Teams(ctx)
	errs = append(errs, err)
	for _, t := range teams {
		errs = append(errs, r.Drain(ctx, t.ID))
		if f := r.o.Observe.QueueState; f != nil {
			if q, err := r.st.QueueLength(ctx, t.ID); err == nil {
				f(t.ID, q)
			}
		}
	}
	return errors.Join(errs...)
}

// applyLimits turns conversations that waited past their site's maximum into left messages, and closes those
// inactive past the site's auto-close time.
func (r *Router) applyLimits(ctx context.Context, sites []*chat.Site, now time.Time) error {
	minWait, minIdle := time.Duration(0), time.Duration(0)
	for _, s := range sites {
		if w := time.Duration(s.Settings.Routing.MaxWaitS) * time.Second; w > 0 && (minWait == 0 || w < minWait) {
			minWait = w
		}
		if w := time.Duration(s.Settings.Routing.AutoCloseAfterS) * time.Second; w > 0 && (minIdle == 0 || w < minIdle) {
			minIdle = w
		}
	}
	site := func(id string) chat.RoutingSettings {
		for _, s := range sites {
			if s.ID == id {
				return s.Settings.Routing
			}
		}
		return chat.RoutingSettings{}
	}
	var errs []error
	if minWait > 0 {
		teams, err := r.st.Teams(ctx)
		errs = append(errs, err)
		for _, t := range teams {
			convs, err := r.st.OverdueQueued(ctx, t.ID, now.Add(-minWait))
			errs = append(errs, err)
			for _, c := range convs {
				w := time.Duration(site(c.SiteID).MaxWaitS) * time.Second
				if w <= 0 || now.Sub(c.QueuedAt) < w {
					continue
				}
				ch, err := r.st.LeaveMessage(ctx, c.ID, "max_wait")
				errs = append(errs, err)
				r.publish(ch)
			}
		}
	}
	if minIdle > 0 && r.idleDue(now, minIdle) {
		for _, status := range []chat.Status{chat.StatusAssigned, chat.StatusQueued, chat.StatusOffered, chat.StatusPending} {
			convs, err := r.st.Inactive(ctx, status, now.Add(-minIdle), 200)
			errs = append(errs, err)
			for _, c := range convs {
				w := time.Duration(site(c.SiteID).AutoCloseAfterS) * time.Second
				if w <= 0 || now.Sub(c.LastMessageAt) < w {
					continue
				}
				errs = append(errs, r.s.closeBy(ctx, c, store.Closer{Type: chat.SenderSystem, Reason: "inactive"}))
			}
		}
	}
	return errors.Join(errs...)
}

// idleDue reports whether the auto-close sweep should read the open conversations now, and if so records it.
func (r *Router) idleDue(now time.Time, minIdle time.Duration) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.idleRead.IsZero() && now.Sub(r.idleRead) < idleEvery(minIdle, r.o.Interval) {
		return false
	}
	r.idleRead = now
	return true
}

// QueueInfo returns a waiting conversation's position in its team's queue (1 = next) and the estimated wait
// in seconds (0 when nobody who could take it is online). ok is false when it is not waiting.
func (r *Router) QueueInfo(ctx context.Context, conv *chat.Conversation) (pos, waitS int, ok bool, err error) {
	if conv.Status != chat.StatusQueued || conv.TeamID == "" {
		return 0, 0, false, nil
	}
	pos, err = r.st.QueuePosition(ctx, conv)
	if err != nil {
		return 0, 0, false, err
	}
	per, err := r.perPlace(ctx, conv.TeamID)
	if err != nil {
		return 0, 0, false, err
	}
	return pos, waitSeconds(pos, per), true, nil
}

// waitSeconds is the estimate for a place in the queue, rounded up to whole seconds.
func waitSeconds(pos int, per time.Duration) int {
	return int((time.Duration(pos)*per + time.Second - 1) / time.Second)
}

// pushLimit is how many places of a queue get their position pushed after each change: the ones that move
// meaningfully. Customers further back learn theirs when they subscribe and as they come within it.
const pushLimit = 1000

// perPlace is how long each place in the queue adds to the wait: the team's recent handling time spread over
// the slots of its online agents. Zero when nobody is online.
func (r *Router) perPlace(ctx context.Context, teamID string) (time.Duration, error) {
	cands, err := r.st.Candidates(ctx, teamID, r.now().Add(-r.o.Grace))
	if err != nil {
		return 0, err
	}
	slots := 0
	for _, c := range cands {
		slots += max(c.Capacity, 0)
	}
	if slots == 0 {
		return 0, nil
	}
	now := r.now()
	r.mu.Lock()
	est, ok := r.handling[teamID]
	r.mu.Unlock()
	if !ok || now.Sub(est.at) > time.Minute {
		d, n, err := r.st.HandlingTime(ctx, teamID)
		if err != nil {
			return 0, err
		}
		if n == 0 {
			d = r.o.DefaultHandling
		}
		est = handlingEstimate{d: d, at: now}
		r.mu.Lock()
		r.handling[teamID] = est
		r.mu.Unlock()
	}
	return est.d / time.Duration(slots), nil
}

// pushPositions tells each customer waiting in the team's queue their position and estimate, when it changed.
func (r *Router) pushPositions(ctx context.Context, teamID string) {
	ids, err := r.st.QueuePositions(ctx, teamID, pushLimit)
	if err != nil {
		return
	}
	per := time.Duration(0)
	if len(ids) > 0 {
		if per, err = r.perPlace(ctx, teamID); err != nil {
			return
		}
	}
	now := make(map[string][2]int, len(ids)) // replaces the last map: it holds only who waits now
	for i, id := range ids {
		now[id] = [2]int{i + 1, waitSeconds(i+1, per)}
	}
	r.mu.Lock()
	last := r.lastPush[teamID]
	r.lastPush[teamID] = now
	r.mu.Unlock()
	for _, id := range ids {
		place := now[id]
		if prev, had := last[id]; had && prev == place {
			continue
		}
		r.s.hub.Publish(ctx, QueueDelivery(id, place[0], place[1]))
	}
}

// QueueDelivery is the ephemeral frame that tells a waiting customer their place.
func QueueDelivery(convID string, pos, waitS int) *hub.Delivery {
	f := mustJSON(protocol.ServerFrame{Type: protocol.TypeQueue, ConversationID: convID, Position: pos, EstimatedWaitS: waitS})
	return &hub.Delivery{Topic: convID, Kind: protocol.TypeQueue, Customer: f, Agent: f}
}

// ---- Use cases of routing, with authorization. ----

func agentOf(p *auth.Principal) (*chat.Agent, error) {
	if p == nil || p.Agent == nil {
		return nil, chat.Errorf(chat.CodeForbidden, "only agents do this")
	}
	return p.Agent, nil
}

// Accept takes the offer of a conversation made to p.
func (s *Service) Accept(ctx context.Context, p *auth.Principal, convID string) (*chat.Conversation, error) {
	a, err := agentOf(p)
	if err != nil {
		return nil, err
	}
	conv, err := s.conversationForAgent(ctx, p, convID)
	if err != nil {
		return nil, err
	}
	ch, err := s.st.Accept(ctx, conv.ID, a.ID, a.Name)
	if err != nil {
		return nil, err
	}
	s.routed(ch, "accepted")
	return ch.Conv, nil
}

// Decline returns the offer of a conversation made to p to the queue; it goes to the next agent.
func (s *Service) Decline(ctx context.Context, p *auth.Principal, convID string) (*chat.Conversation, error) {
	a, err := agentOf(p)
	if err != nil {
		return nil, err
	}
	conv, err := s.conversationForAgent(ctx, p, convID)
	if err != nil {
		return nil, err
	}
	ch, err := s.st.EndOffer(ctx, conv.ID, a.ID, "declined")
	if err != nil {
		return nil, err
	}
	s.routed(ch, "declined")
	return ch.Conv, nil
}

// PickUp assigns a waiting conversation (queued or left as a message) to p, capacity permitting.
func (s *Service) PickUp(ctx context.Context, p *auth.Principal, convID string) (*chat.Conversation, error) {
	a, err := agentOf(p)
	if err != nil {
		return nil, err
	}
	conv, err := s.Conversation(ctx, p, convID)
	if err != nil {
		return nil, err
	}
	ch, err := s.st.PickUp(ctx, conv.ID, a.ID, a.Name)
	if errors.Is(err, store.ErrNoRoom) {
		return nil, chat.Errorf(chat.CodeConflict, "you are at your capacity or not online")
	}
	if err != nil {
		return nil, err
	}
	s.routed(ch, "")
	return ch.Conv, nil
}

// TransferInput says where p sends a conversation: an agent or a team, with an optional internal note.
type TransferInput struct {
	ToAgent     string
	ToTeam      string
	Note        string
	ClientMsgID string // of the note, for an idempotent retry
}

// Transfer moves a conversation p may access to another agent (online, with a free slot) or team's queue.
func (s *Service) Transfer(ctx context.Context, p *auth.Principal, convID string, in TransferInput) (*chat.Conversation, error) {
	a, err := agentOf(p)
	if err != nil {
		return nil, err
	}
	if (in.ToAgent == "") == (in.ToTeam == "") {
		return nil, chat.Invalid("agent_id", "give either agent_id or team_id")
	}
	if in.Note != "" {
		if err := chat.ValidateBody(in.Note); err != nil {
			return nil, err
		}
	}
	conv, err := s.Conversation(ctx, p, convID)
	if err != nil {
		return nil, err
	}
	ti := store.TransferInput{ConvID: conv.ID, ByID: a.ID, ByName: a.Name, Note: in.Note, NoteMsgID: in.ClientMsgID}
	if in.ToAgent != "" {
		to, err := s.st.Agent(ctx, in.ToAgent)
		if err != nil || to.Disabled {
			return nil, chat.Invalid("agent_id", "no such agent")
		}
		ti.ToAgent, ti.ToName = to.ID, to.Name
	} else {
		teams, err := s.st.Teams(ctx)
		if err != nil {
			return nil, err
		}
		i := slices.IndexFunc(teams, func(t *chat.Team) bool { return t.ID == in.ToTeam })
		if i < 0 {
			return nil, chat.Invalid("team_id", "no such team")
		}
		ti.ToTeam, ti.TeamName = teams[i].ID, teams[i].Name
	}
	ch, err := s.st.Transfer(ctx, ti)
	if errors.Is(err, store.ErrNoRoom) {
		return nil, chat.Errorf(chat.CodeConflict, "that agent is at their capacity or not online")
	}
	if err != nil {
		return nil, err
	}
	if conv.Status == chat.StatusOffered {
		s.offerEnded("withdrawn")
	}
	s.routed(ch, "")
	if s.router != nil {
		s.router.Notify(conv.TeamID) // the previous holder's slot is free
	}
	return ch.Conv, nil
}

// SetPresence records p's own availability switch; going online lets the router offer them conversations.
func (s *Service) SetPresence(ctx context.Context, p *auth.Principal, pr chat.Presence) error {
	a, err := agentOf(p)
	if err != nil {
		return err
	}
	if !pr.Valid() {
		return chat.Invalid("presence", "presence must be online, away or offline")
	}
	if err := s.st.SetAvailability(ctx, a.ID, pr, true); err != nil {
		return err
	}
	if s.router != nil {
		s.router.mu.Lock()
		s.router.present[a.ID] = s.o.Now()
		s.router.seen[a.ID] = struct{}{}
		s.router.mu.Unlock()
		if pr == chat.PresenceOnline {
			s.router.Notify(a.Teams...)
		}
	}
	return nil
}

// AgentConnected records a new live connection of an agent to this node: while they have one, the router
// keeps them present.
func (s *Service) AgentConnected(ctx context.Context, a *chat.Agent) {
	if s.router == nil || a == nil {
		return
	}
	s.router.mu.Lock()
	s.router.conns[a.ID]++
	s.router.mu.Unlock()
	s.router.Seen(ctx, a)
}

// AgentDisconnected records that one of an agent's connections ended; with none left, the grace period runs.
func (s *Service) AgentDisconnected(a *chat.Agent) {
	if s.router == nil || a == nil {
		return
	}
	s.router.mu.Lock()
	last := false
	if s.router.conns[a.ID]--; s.router.conns[a.ID] <= 0 {
		delete(s.router.conns, a.ID)
		delete(s.router.seen, a.ID)
		last = true
	}
	s.router.mu.Unlock()
	if last {
		// Seen until now: the grace period starts at the disconnect.
		if err := s.st.TouchAgents(context.Background(), []string{a.ID}); err != nil {
			s.router.o.Log.Warn("record agent disconnect", "agent", a.ID, "err", err)
		}
	}
}

// AgentActive records that an agent is active on this node without a held connection (a long-poll).
func (s *Service) AgentActive(ctx context.Context, a *chat.Agent) {
	if s.router != nil && a != nil {
		s.router.Seen(ctx, a)
	}
}

// AgentChanged tells the router that an agent's capacity, teams or state changed: a raised capacity may drain
// a queue at once.
func (s *Service) AgentChanged(a *chat.Agent) {
	if s.router != nil && a != nil {
		s.router.Notify(a.Teams...)
	}
}

// QueueFrame returns the queue frame of a waiting conversation, or nil.
func (s *Service) QueueFrame(ctx context.Context, conv *chat.Conversation) *protocol.ServerFrame {
	if s.router == nil {
		return nil
	}
	pos, wait, ok, err := s.router.QueueInfo(ctx, conv)
	if err != nil || !ok {
		return nil
	}
	return &protocol.ServerFrame{Type: protocol.TypeQueue, ConversationID: conv.ID, Position: pos, EstimatedWaitS: wait}
}

// RoutingState is the live state supervisors watch.
type RoutingState struct {
	Teams  []store.TeamState `json:"teams"`
	Agents []AgentLoad       `json:"agents"`
}

// AgentLoad is one agent's presence and load.
type AgentLoad struct {
	ID           string        `json:"id"`
	Name         string        `json:"name"`
	Presence     chat.Presence `json:"presence"`
	Availability chat.Presence `json:"availability"`
	Capacity     int           `json:"capacity"`
	SlotsUsed    int           `json:"slots_used"`
	Teams        []string      `json:"teams"`
	LastSeen     time.Time     `json:"last_seen"`
}

// RoutingState returns queue lengths and longest waits per team and every agent's presence and load, for
// supervisors and admins.
func (s *Service) RoutingState(ctx context.Context, p *auth.Principal) (*RoutingState, error) {
	if p == nil || p.Agent == nil || !p.Agent.Role.SeesAllTeams() {
		return nil, chat.Errorf(chat.CodeForbidden, "only supervisors and admins see the routing state")
	}
	teams, err := s.st.TeamStates(ctx)
	if err != nil {
		return nil, err
	}
	agents, err := s.st.Agents(ctx)
	if err != nil {
		return nil, err
	}
	out := &RoutingState{Teams: teams, Agents: make([]AgentLoad, 0, len(agents))}
	for _, a := range agents {
		if a.Disabled {
			continue
		}
		out.Agents = append(out.Agents, AgentLoad{ID: a.ID, Name: a.Name, Presence: a.Presence, Availability: a.Availability,
			Capacity: a.Capacity, SlotsUsed: a.SlotsUsed, Teams: a.Teams, LastSeen: a.LastSeen})
	}
	return out, nil
}

// conversationForAgent returns a conversation p may access or that is offered to p.
func (s *Service) conversationForAgent(ctx context.Context, p *auth.Principal, id string) (*chat.Conversation, error) {
	if !validID(id) {
		return nil, chat.ErrNotFound("conversation")
	}
	c, err := s.st.Conversation(ctx, id)
	if err != nil {
		return nil, err
	}
	if !CanAccess(p, c) && c.OfferedTo != p.Agent.ID {
		return nil, chat.ErrNotFound("conversation")
	}
	return c, nil
}

// routed publishes a routing change made on behalf of a person and asks for its team's queue to be drained.
func (s *Service) routed(ch *store.Change, offerOutcome string) {
	if ch == nil {
		return
	}
	if offerOutcome != "" {
		s.offerEnded(offerOutcome)
	}
	s.publishChange(ch)
	if s.router != nil {
		s.router.Notify(ch.Conv.TeamID)
	}
}

// publishChange sends what a change committed: its system messages and its events.
func (s *Service) publishChange(ch *store.Change) {
	if s.router != nil {
		s.router.publish(ch)
		return
	}
	epoch := s.st.Epoch()
	for _, m := range ch.Msgs {
		s.hub.Publish(context.Background(), MessageDelivery(m, epoch))
	}
	s.publishEvents(ch.Events)
}

func (s *Service) offerEnded(outcome string) {
	if s.router != nil {
		s.router.offerEnded(outcome)
	}
}

// reopen reopens a closed conversation whose customer writes again within the site's reopen window.
func (s *Service) reopen(ctx context.Context, convID string) (bool, error) {
	conv, err := s.st.Conversation(ctx, convID)
	if err != nil {
		return false, err
	}
	site, err := s.st.Site(ctx, conv.SiteID)
	if err != nil {
		return false, err
	}
	ch, err := s.st.Reopen(ctx, convID, site.Settings.Routing.ReopenWindow(), func(id string) string {
		if a, err := s.st.Agent(ctx, id); err == nil {
			return a.Name
		}
		return ""
	})
	if err != nil {
		return false, err
	}
	s.routed(ch, "")
	return ch != nil && ch.Conv.Status.Open(), nil
}

// closeBy closes a conversation and publishes the result.
func (s *Service) closeBy(ctx context.Context, conv *chat.Conversation, by store.Closer) error {
	status := conv.Status
	_, msg, events, err := s.st.CloseConversation(ctx, conv.ID, by)
	if err != nil {
		return err
	}
	if msg != nil {
		s.hub.Publish(ctx, MessageDelivery(msg, s.st.Epoch()))
		if status == chat.StatusOffered {
			s.offerEnded("withdrawn")
		}
	}
	s.publishEvents(events)
	if s.router != nil {
		s.router.Notify(conv.TeamID)
	}
	return nil
}

// InboxItem is a conversation as an agent's list shows it.
type InboxItem struct {
	*chat.Conversation
	Customer     InboxCustomer `json:"customer"`
	AgentReadSeq uint64        `json:"agent_read_seq"`
	Unread       uint64        `json:"unread"` // messages after the agents' read cursor
}

// InboxCustomer is what a list shows of the customer.
type InboxCustomer struct {
	Name  string `json:"name"`
	Email string `json:"email,omitempty"`
}

// InboxQuery is one page of an inbox list: a view, its filters and the page's cursor.
type InboxQuery struct {
	View    store.InboxView
	Status  string // a chat.Status, "open" or "" (the open ones)
	TeamID  string
	Channel string
	Limit   int
	Before  store.InboxCursor
}

// viewStatuses are the states each view may be narrowed to.
var viewStatuses = map[store.InboxView][]chat.Status{
	store.InboxMine:  {chat.StatusAssigned, chat.StatusOffered},
	store.InboxQueue: {chat.StatusQueued, chat.StatusOffered, chat.StatusPending},
	store.InboxTeam:  {chat.StatusQueued, chat.StatusOffered, chat.StatusPending, chat.StatusAssigned, chat.StatusClosed},
	store.InboxAll:   {chat.StatusQueued, chat.StatusOffered, chat.StatusPending, chat.StatusAssigned, chat.StatusClosed},
}

// Inbox returns a page of one of p's lists (store.InboxMine, ...Queue, ...Team, ...All), at most q.Limit
// entries: "all" only for supervisors and admins, whose "queue" and "team" cover every team. The filters
// narrow a view and never widen it: an agent may name only one of their own teams.
func (s *Service) Inbox(ctx context.Context, p *auth.Principal, q InboxQuery) ([]InboxItem, error) {
	a, err := agentOf(p)
	if err != nil {
		return nil, err
	}
	limit := q.Limit
	if limit <= 0 || limit > 200 {
		limit = 200
	}
	teams := a.Teams
	switch q.View {
	case store.InboxMine, store.InboxQueue, store.InboxTeam:
	case store.InboxAll:
		if !a.Role.SeesAllTeams() {
			return nil, chat.Errorf(chat.CodeForbidden, "only supervisors and admins see every conversation")
		}
	default:
		return nil, chat.Invalid("view", "view must be mine, queue, team or all")
	}
	f, err := s.inboxFilter(ctx, a, q)
	if err != nil {
		return nil, err
	}
	if a.Role.SeesAllTeams() && q.View != store.InboxMine {
		all, err := s.st.Teams(ctx)
		if err != nil {
			return nil, err
		}
		teams = teams[:0:0]
		for _, t := range all {
			teams = append(teams, t.ID)
		}
	}
	convs, err := s.st.Inbox(ctx, q.View, a.ID, teams, limit, q.Before, f)
	if err != nil {
		return nil, err
	}
	if q.View == store.InboxQueue {
		slices.SortStableFunc(convs, func(x, y *chat.Conversation) int {
			if x.Priority != y.Priority {
				return y.Priority - x.Priority
			}
			if c := x.QueuedAt.Compare(y.QueuedAt); c != 0 {
				return c
			}
			return strings.Compare(x.ID, y.ID)
		})
	} else {
		slices.SortStableFunc(convs, func(x, y *chat.Conversation) int {
			if c := y.LastMessageAt.Compare(x.LastMessageAt); c != 0 {
				return c
			}
			return strings.Compare(y.ID, x.ID)
		})
	}
	if len(convs) > limit {
		convs = convs[:limit]
	}
	out := make([]InboxItem, 0, len(convs))
	for _, c := range convs {
		out = append(out, s.inboxItem(ctx, c))
	}
	return out, nil
}

// inboxFilter validates q's filters for agent a: a status the view holds, a team that exists (and, for an
// agent, one of theirs; their own conversations in "mine" may be of any team), a known channel.
func (s *Service) inboxFilter(ctx context.Context, a *chat.Agent, q InboxQuery) (store.InboxFilter, error) {
	var f store.InboxFilter
	switch st := chat.Status(q.Status); {
	case q.Status == "" || q.Status == "open":
	case slices.Contains(viewStatuses[q.View], st):
		f.Status = st
	case slices.Contains(viewStatuses[store.InboxAll], st):
		names := make([]string, 0, 4)
		for _, v := range viewStatuses[q.View] {
			names = append(names, string(v))
		}
		return f, chat.Invalid("status", "the %s view holds only %s conversations (or status=open)", q.View, strings.Join(names, ", "))
	default:
		return f, chat.Invalid("status", "status must be open, queued, offered, assigned, pending or closed")
	}
	switch ch := chat.Channel(q.Channel); ch {
	case "", chat.ChannelWeb, chat.ChannelApp, chat.ChannelWeChat:
		f.Channel = ch
	default:
		return f, chat.Invalid("channel", "channel must be web, app or wechat")
	}
	if q.TeamID == "" {
		return f, nil
	}
	teams, err := s.st.Teams(ctx)
	if err != nil {
		return f, err
	}
	if !slices.ContainsFunc(teams, func(t *chat.Team) bool { return t.ID == q.TeamID }) {
		return f, chat.Invalid("team", "no team has the id %q", q.TeamID)
	}
	if q.View != store.InboxMine && !a.Role.SeesAllTeams() && !slices.Contains(a.Teams, q.TeamID) {
		return f, chat.Errorf(chat.CodeForbidden, "you are not a member of that team")
	}
	f.TeamID = q.TeamID
	return f, nil
}

// inboxItem adds to c what a list shows: the customer's name, the agents' read cursor, the unread count.
func (s *Service) inboxItem(ctx context.Context, c *chat.Conversation) InboxItem {
	item := InboxItem{Conversation: c}
	if cu, err := s.st.Customer(ctx, c.CustomerID); err == nil {
		item.Customer = InboxCustomer{Name: cu.Name, Email: cu.Email}
	}
	if _, ar, err := s.st.ReadCursors(ctx, c.ID); err == nil {
		item.AgentReadSeq = ar
		if c.LastSeq > ar {
			item.Unread = c.LastSeq - ar
		}
	}
	return item
}

// InboxItem returns one conversation p may access as the lists show it: what a console reads when an event
// names a conversation, instead of reading its lists again.
func (s *Service) InboxItem(ctx context.Context, p *auth.Principal, convID string) (InboxItem, error) {
	if _, err := agentOf(p); err != nil {
		return InboxItem{}, err
	}
	c, err := s.Conversation(ctx, p, convID)
	if err != nil {
		return InboxItem{}, err
	}
	return s.inboxItem(ctx, c), nil
}

// InboxStreams returns the event streams that carry every change to p's lists, with their heads: p's own
// stream and those of their teams (every team for supervisors and admins), 0 for a stream without events
// yet. Read before a list, they are where a client subscribes so that nothing after the list is missed.
func (s *Service) InboxStreams(ctx context.Context, p *auth.Principal) (map[string]uint64, error) {
	a, err := agentOf(p)
	if err != nil {
		return nil, err
	}
	streams := []string{chat.AgentStream(a.ID)}
	teams := a.Teams
	if a.Role.SeesAllTeams() {
		all, err := s.st.Teams(ctx)
		if err != nil {
			return nil, err
		}
		teams = teams[:0:0]
		for _, t := range all {
			teams = append(teams, t.ID)
		}
	}
	for _, t := range teams {
		streams = append(streams, chat.TeamStream(t))
	}
	heads, err := s.st.Heads(ctx, nil, streams)
	if err != nil {
		return nil, err
	}
	for _, st := range streams {
		if _, ok := heads[st]; !ok {
			heads[st] = 0 // no event yet: subscribe from the beginning
		}
	}
	return heads, nil
}

// ReopenByAgent reopens a closed conversation p may access: with its previous agent when they have room, else
// in its team's queue. It fails (Closed) when the customer has another conversation open on the site.
func (s *Service) ReopenByAgent(ctx context.Context, p *auth.Principal, convID string) (*chat.Conversation, error) {
	if _, err := agentOf(p); err != nil {
		return nil, err
	}
	conv, err := s.Conversation(ctx, p, convID)
	if err != nil {
		return nil, err
	}
	ch, err := s.st.Reopen(ctx, conv.ID, 100*365*24*time.Hour, func(id string) string {
		if a, err := s.st.Agent(ctx, id); err == nil {
			return a.Name
		}
		return ""
	})
	if err != nil {
		return nil, err
	}
	s.routed(ch, "")
	return ch.Conv, nil
}
