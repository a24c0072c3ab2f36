// Package httpapi is Parley's HTTP surface: the route table, the REST handlers, the middleware every request
// passes through, health and metrics endpoints, and the embedded web UIs.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/config"
	"github.com/parley-chat/parley/internal/metrics"
	"github.com/parley-chat/parley/internal/store"
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
}

// New returns a server; Handler gives its http.Handler.
func New(d Deps) *Server {
	return &Server{cfg: d.Config, store: d.Store, auth: d.Auth, metrics: d.Metrics, log: d.Log,
		console: d.Console, widget: d.Widget}
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
	mux.HandleFunc("GET /api/v1/audit", s.agentOnly(s.auditLog))

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
