// Package httpapi is Parley's HTTP surface: the route table, the REST handlers, the middleware every request
// passes through, health and metrics endpoints, and the embedded web UIs.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/config"
	"github.com/parley-chat/parley/internal/hub"
	"github.com/parley-chat/parley/internal/messaging"
	"github.com/parley-chat/parley/internal/metrics"
	"github.com/parley-chat/parley/internal/store"
	"github.com/parley-chat/parley/protocol"
)

// Deps are what the server is built from; run() constructs them.
type Deps struct {
	Config  *config.Config
	Store   *store.Store
	Auth    *auth.Service
	Metrics *metrics.Metrics
	Log     *slog.Logger
	Console http.Handler // the agent console's assets, mounted at /console/
	Widget  http.Handler // the widget loader and chunks, mounted at /widget.js and /widget/
	// ChatPage is the standalone chat page, mounted at /chat/{site}.
	ChatPage http.Handler

	Hub       *hub.Hub
	Messaging *messaging.Service
	// Heartbeat is how often each WebSocket gets a ping and the heads of its subscriptions (default 25 s).
	Heartbeat time.Duration
	// PollTimeout is the longest a long-poll request is held (default 25 s).
	PollTimeout time.Duration
}

// Server holds the handlers' dependencies.
type Server struct {
	cfg     *config.Config
	store   *store.Store
	auth    *auth.Service
	metrics *metrics.Metrics
	log     *slog.Logger
	console http.Handler
	widget  http.Handler
	chat    http.Handler
	hub     *hub.Hub
	msg     *messaging.Service

	heartbeat   time.Duration
	pollTimeout time.Duration
	// authWait is how long a new WebSocket has to send its auth frame (nanoseconds; tests shorten it).
	authWait atomic.Int64
	// testHookServeIdle, when set (tests only), runs before a poller-started read: an overloaded server that
	// gets to a connection late.
	testHookServeIdle atomic.Pointer[func()]

	connMu  sync.Mutex
	conns   map[*wsConn]struct{}
	connSeq int          // connections tracked so far (under connMu): gives each its heartbeat slot
	writers atomic.Int64 // WebSocket writer goroutines running

	sendWaits sendWaits // WebSocket sends waiting for their commit
	work      *workers  // goroutines for the WebSocket connections' reads and writes

	// The WebSocket poller (Linux): started with the first connection, stopped after the last.
	pollMu    sync.Mutex
	epoll     *poller
	pollUsers int
	noPoller  bool          // every connection gets a reader goroutine (tests of that path)
	closing   chan struct{} // closed at shutdown: long-polls return at once
	closeOne  sync.Once
}

// New returns a server; Handler gives its http.Handler.
func New(d Deps) *Server {
	if d.Heartbeat <= 0 {
		d.Heartbeat = 25 * time.Second
	}
	if d.PollTimeout <= 0 {
		d.PollTimeout = 25 * time.Second
	}
	closing := make(chan struct{})
	s := &Server{cfg: d.Config, store: d.Store, auth: d.Auth, metrics: d.Metrics, log: d.Log,
		console: d.Console, widget: d.Widget, chat: d.ChatPage, hub: d.Hub, msg: d.Messaging, heartbeat: d.Heartbeat,
		pollTimeout: d.PollTimeout, conns: map[*wsConn]struct{}{}, closing: closing, work: newWorkers(closing)}
	s.authWait.Store(int64(protocol.CloseAuthTimeoutSec * time.Second))
	return s
}

// Run sends heartbeats to every WebSocket until ctx ends: a ping (a client that stops answering is closed
// as half-open) and the head sequence number of each subscription, read from the database, so a client
// discovers a frame it never received even when the publication itself was lost.
//
// The connections are spread over slots (one a second, up to maxHeartbeatSlots per interval), each connection
// in one, so that each still gets one heartbeat per interval but not all at once: heartbeating 10,200
// connections together (~20,000 frames, the heads of 10,000 conversations, as many pongs) stalled every
// message for 100-300 ms every 25 s (docs/benchmarks.md, History 2026-12-03).
func (s *Server) Run(ctx context.Context) {
	slots := s.heartbeatSlots()
	t := time.NewTicker(s.heartbeat / time.Duration(slots))
	defer t.Stop()
	slot := 0
	waits := time.NewTicker(time.Second)
	defer waits.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.sendHeartbeats(ctx, slots, slot)
			slot = (slot + 1) % slots
		case now := <-waits.C:
			s.sendWaits.sweep(now)
		}
	}
}

// heartbeatSlots is how many slots the connections' heartbeats are spread over: one a second of the
// interval, at least 1 (a heartbeat under 2 s beats everyone at once) and at most maxHeartbeatSlots.
func (s *Server) heartbeatSlots() int {
	return min(max(1, int(s.heartbeat/time.Second)), maxHeartbeatSlots)
}

// maxHeartbeatSlots bounds the slots: each connection's slot is fixed when it is tracked, modulo this.
const maxHeartbeatSlots = 25

// slotConns returns the connections in one slot of n: those whose hbSlot is slot modulo n.
func (s *Server) slotConns(n, slot int) []*wsConn {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	conns := make([]*wsConn, 0, len(s.conns)/n+1)
	for c := range s.conns {
		if c.hbSlot%n == slot {
			conns = append(conns, c)
		}
	}
	return conns
}

// sendHeartbeats beats the connections of one slot of n.
func (s *Server) sendHeartbeats(ctx context.Context, n, slot int) {
	conns := s.slotConns(n, slot)
	convSet, streamSet := map[string]struct{}{}, map[string]struct{}{}
	for _, c := range conns {
		cs, ss := c.heartbeatTargets()
		for _, id := range cs {
			convSet[id] = struct{}{}
		}
		for _, id := range ss {
			streamSet[id] = struct{}{}
		}
	}
	heads, err := s.msg.Heads(ctx, keys(convSet), keys(streamSet))
	if err != nil {
		s.log.Warn("heartbeat: read heads", "err", err)
		heads = nil // still ping, so half-open connections are found
	}
	for i, c := range conns {
		c.heartbeat(heads)
		if (i+1)%heartbeatBatch == 0 {
			if ctx.Err() != nil {
				return
			}
			s.waitWriters(heartbeatBatch)
		}
	}
}

// heartbeatBatch is how many connections get their heartbeat before sendHeartbeats lets the writers catch up.
const heartbeatBatch = 256

// waitWriters waits, briefly, until fewer than n writer goroutines run. A heartbeat queues frames on every
// connection at once; with a writer started for each, there would be a goroutine per connection at that
// moment, and the runtime keeps every goroutine record (and, until the collector frees it, its stack) once it
// has existed: the idle connections' memory would grow by that much. A slow client's writer is not waited
// for: at most 20 ms per batch.
func (s *Server) waitWriters(n int) {
	for i := 0; i < 20 && s.writers.Load() >= int64(n); i++ {
		time.Sleep(time.Millisecond)
	}
}

func keys(m map[string]struct{}) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// CloseConnections ends long-polls and closes every WebSocket with "going away": clients reconnect (to
// another node, or to this one once it is back) and resume. Call it at shutdown.
func (s *Server) CloseConnections() {
	s.closeOne.Do(func() { close(s.closing) })
	s.connMu.Lock()
	conns := make([]*wsConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.connMu.Unlock()
	for _, c := range conns {
		c.Kick(protocol.CloseGoingAway, "server shutting down; reconnect and resume")
	}
}

// Connections returns how many WebSocket connections are open on this node.
func (s *Server) Connections() int {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	return len(s.conns)
}

// KickPrincipal closes the live connections of a principal whose sessions were revoked.
func (s *Server) KickPrincipal(id string) {
	s.hub.Kick(id, protocol.CloseRevoked, "session revoked")
}

// Handler returns the complete handler: the route table wrapped in the middleware chain.
func (s *Server) Handler() http.Handler {
	var h http.Handler = s.routes()
	h = s.securityHeaders(h)
	h = s.recoverPanics(h)
	h = s.observe(h)
	return h
}

// routes is the route table of the whole HTTP surface.
func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	// Operations.
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", s.metrics.Handler())

	// Agent authentication.
	mux.HandleFunc("POST /api/v1/auth/login", s.login)
	mux.HandleFunc("POST /api/v1/auth/logout", s.agentOnly(s.logout))
	mux.HandleFunc("GET /api/v1/auth/session", s.agentOnly(s.session))

	// Agents and teams.
	mux.HandleFunc("GET /api/v1/agents", s.agentOnly(s.listAgents))
	mux.HandleFunc("POST /api/v1/agents", s.agentOnly(s.createAgent))
	mux.HandleFunc("GET /api/v1/agents/{id}", s.agentOnly(s.getAgent))
	mux.HandleFunc("PATCH /api/v1/agents/{id}", s.agentOnly(s.updateAgent))
	mux.HandleFunc("PUT /api/v1/agents/{id}/password", s.agentOnly(s.setPassword))
	mux.HandleFunc("GET /api/v1/teams", s.agentOnly(s.listTeams))
	mux.HandleFunc("POST /api/v1/teams", s.agentOnly(s.createTeam))
	mux.HandleFunc("PATCH /api/v1/teams/{id}", s.agentOnly(s.renameTeam))
	mux.HandleFunc("GET /api/v1/audit", s.agentOnly(s.auditLog))

	// Customers: a visitor session from the widget or an app, then conversations.
	mux.HandleFunc("POST /api/v1/visitor/session", s.visitorSession)
	mux.HandleFunc("OPTIONS /api/v1/", s.preflight)

	// Conversations and messages: customers (visitor token) and agents alike; authorization per conversation.
	mux.HandleFunc("POST /api/v1/conversations", s.anyPrincipal(s.startConversation))
	mux.HandleFunc("GET /api/v1/conversations", s.anyPrincipal(s.listConversations))
	mux.HandleFunc("GET /api/v1/conversations/{id}", s.anyPrincipal(s.getConversation))
	mux.HandleFunc("GET /api/v1/conversations/{id}/messages", s.anyPrincipal(s.history))
	mux.HandleFunc("POST /api/v1/conversations/{id}/messages", s.anyPrincipal(s.postMessage))
	mux.HandleFunc("POST /api/v1/conversations/{id}/read", s.anyPrincipal(s.markRead))
	mux.HandleFunc("POST /api/v1/conversations/{id}/typing", s.anyPrincipal(s.typing))
	mux.HandleFunc("POST /api/v1/conversations/{id}/close", s.anyPrincipal(s.closeConversation))
	s.attachmentRoutes(mux)
	s.cannedRoutes(mux)
	s.siteRoutes(mux)

	// Routing: offers, pick-up, transfer, presence, the supervisors' live view.
	mux.HandleFunc("POST /api/v1/conversations/{id}/accept", s.agentOnly(s.acceptOffer))
	mux.HandleFunc("POST /api/v1/conversations/{id}/decline", s.agentOnly(s.declineOffer))
	mux.HandleFunc("POST /api/v1/conversations/{id}/assign", s.agentOnly(s.pickUp))
	mux.HandleFunc("POST /api/v1/conversations/{id}/transfer", s.agentOnly(s.transfer))
	mux.HandleFunc("POST /api/v1/conversations/{id}/reopen", s.agentOnly(s.reopenConversation))
	mux.HandleFunc("GET /api/v1/conversations/{id}/queue", s.anyPrincipal(s.queuePosition))
	mux.HandleFunc("PUT /api/v1/agents/me/presence", s.agentOnly(s.setPresence))
	mux.HandleFunc("GET /api/v1/agents/me/conversations", s.agentOnly(s.myConversations))
	mux.HandleFunc("GET /api/v1/routing/state", s.agentOnly(s.routingState))
	mux.HandleFunc("GET /api/v1/inbox", s.agentOnly(s.inbox))
	mux.HandleFunc("GET /api/v1/inbox/{id}", s.agentOnly(s.inboxItem))
	mux.HandleFunc("GET /api/v1/search", s.agentOnly(s.search))
	mux.HandleFunc("GET /api/v1/reports", s.agentOnly(s.report))
	mux.HandleFunc("GET /api/v1/conversations/{id}/customer", s.agentOnly(s.conversationCustomer))
	mux.HandleFunc("GET /api/v1/agents/directory", s.agentOnly(s.agentDirectory))

	// Real-time transports with one semantics.
	mux.HandleFunc("GET /api/v1/ws", s.serveWS)
	mux.HandleFunc("GET /api/v1/poll", s.anyPrincipal(s.poll))

	// Anything else under /api/ answers in the API's error shape, not with an HTML page.
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, chat.Errorf(chat.CodeNotFound, "no such endpoint: %s %s", r.Method, r.URL.Path))
	})

	// Web UIs.
	if s.console != nil {
		mux.Handle("/console/", s.console)
	}
	if s.widget != nil {
		mux.Handle("/widget.js", s.widget)
		mux.Handle("/widget/", s.widget)
	}
	if s.chat != nil {
		mux.Handle("GET /chat/{site}", s.chat)
	}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/console/", http.StatusFound)
	})
	return mux
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "database": s.store.Info()})
}

// readyz answers 200 only when the database answers and its schema is current, so a load balancer sends no
// traffic to a node that would fail it. It recovers by itself when the database returns.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "database: " + chat.ErrorMessage(err)})
		return
	}
	ok, err := s.store.SchemaCurrent(ctx)
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "database: cannot read the schema version"})
		return
	}
	if !ok {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "database schema is not current; run parley migrate"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
