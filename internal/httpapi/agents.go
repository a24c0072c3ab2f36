package httpapi

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/chat"
)

func (s *Server) listAgents(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r.Context())
	if !p.Agent.Role.SeesAllTeams() {
		s.writeError(w, r, chat.Errorf(chat.CodeForbidden, "only admins and supervisors list agents"))
		return
	}
	agents, err := s.store.Agents(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if agents == nil {
		agents = []*chat.Agent{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"agents": agents})
}

type createAgentRequest struct {
	Email      string    `json:"email"`
	Name       string    `json:"name"`
	Password   string    `json:"password"`
	Role       chat.Role `json:"role"`
	Capacity   int       `json:"capacity"`
	AutoAccept bool      `json:"auto_accept"`
	Weight     int       `json:"weight"`
	Teams      []string  `json:"teams"`
}

func (s *Server) createAgent(w http.ResponseWriter, r *http.Request) {
	var in createAgentRequest
	if err := decodeJSON(w, r, &in, 0); err != nil {
		s.writeError(w, r, err)
		return
	}
	a, err := s.auth.CreateAgent(r.Context(), principalOf(r.Context()), auth.NewAgent(in), s.clientIP(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, a)
}

func (s *Server) getAgent(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r.Context())
	id := r.PathValue("id")
	if id == "me" {
		id = p.Agent.ID
	}
	if id != p.Agent.ID && !p.Agent.Role.SeesAllTeams() {
		// Agents may read only themselves; others' records answer like absent ones.
		s.writeError(w, r, chat.ErrNotFound("agent"))
		return
	}
	a, err := s.store.Agent(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

type updateAgentRequest struct {
	Name       *string    `json:"name"`
	Role       *chat.Role `json:"role"`
	Capacity   *int       `json:"capacity"`
	AutoAccept *bool      `json:"auto_accept"`
	Weight     *int       `json:"weight"`
	Disabled   *bool      `json:"disabled"`
	Teams      []string   `json:"teams"`
}

func (s *Server) updateAgent(w http.ResponseWriter, r *http.Request) {
	var in updateAgentRequest
	if err := decodeJSON(w, r, &in, 0); err != nil {
		s.writeError(w, r, err)
		return
	}
	p := principalOf(r.Context())
	id := r.PathValue("id")
	if id == "me" {
		id = p.Agent.ID
	}
	if id != p.Agent.ID && !p.IsAdmin() {
		s.writeError(w, r, chat.Errorf(chat.CodeForbidden, "only admins change other agents"))
		return
	}
	a, err := s.auth.UpdateAgent(r.Context(), p, id, auth.AgentChanges(in), s.clientIP(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.msg.AgentChanged(a) // a raised capacity or a new team may drain a queue at once
	writeJSON(w, http.StatusOK, a)
}

type passwordRequest struct {
	CurrentPassword string `json:"current_password"`
	Password        string `json:"password"`
}

func (s *Server) setPassword(w http.ResponseWriter, r *http.Request) {
	var in passwordRequest
	if err := decodeJSON(w, r, &in, 4<<10); err != nil {
		s.writeError(w, r, err)
		return
	}
	p := principalOf(r.Context())
	id := r.PathValue("id")
	if id == "me" {
		id = p.Agent.ID
	}
	if err := s.auth.SetPassword(r.Context(), p, id, in.CurrentPassword, in.Password, s.clientIP(r)); err != nil {
		s.writeError(w, r, err)
		return
	}
	if id == p.Agent.ID {
		s.clearCookie(w) // every session of the agent was revoked, this one too: log in again
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listTeams(w http.ResponseWriter, r *http.Request) {
	teams, err := s.store.Teams(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if teams == nil {
		teams = []*chat.Team{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"teams": teams})
}

type createTeamRequest struct {
	Name string `json:"name"`
}

// teamRequest checks that an admin asks and reads the team's name from the body; false when it answered.
func (s *Server) teamRequest(w http.ResponseWriter, r *http.Request) (string, bool) {
	if !principalOf(r.Context()).IsAdmin() {
		s.writeError(w, r, chat.Errorf(chat.CodeForbidden, "only admins manage teams"))
		return "", false
	}
	var in createTeamRequest
	if err := decodeJSON(w, r, &in, 0); err != nil {
		s.writeError(w, r, err)
		return "", false
	}
	name := strings.TrimSpace(in.Name)
	if err := auth.ValidateName(name); err != nil {
		s.writeError(w, r, err)
		return "", false
	}
	return name, true
}

func (s *Server) createTeam(w http.ResponseWriter, r *http.Request) {
	name, ok := s.teamRequest(w, r)
	if !ok {
		return
	}
	t, err := s.store.CreateTeam(r.Context(), name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.auditTeam(r, "team.create", t)
	writeJSON(w, http.StatusCreated, t)
}

// auditTeam records a change of a team, as auditSite does for sites.
func (s *Server) auditTeam(r *http.Request, action string, t *chat.Team) {
	p := principalOf(r.Context())
	if err := s.store.Audit(r.Context(), chat.AuditEntry{ActorType: "agent", ActorID: p.Agent.ID, Action: action,
		TargetType: "team", TargetID: t.ID, IP: s.clientIP(r)}); err != nil {
		s.log.Warn("audit", "action", action, "err", err)
	}
}

// renameTeam changes a team's name (admins); the conversations, agents and sites of the team are untouched.
func (s *Server) renameTeam(w http.ResponseWriter, r *http.Request) {
	name, ok := s.teamRequest(w, r)
	if !ok {
		return
	}
	t, err := s.store.RenameTeam(r.Context(), r.PathValue("id"), name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.auditTeam(r, "team.update", t)
	writeJSON(w, http.StatusOK, t)
}

// auditLog pages the audit log newest first. The cursor is the "next" value of the previous page.
func (s *Server) auditLog(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r.Context())
	if !p.IsAdmin() {
		s.writeError(w, r, chat.Errorf(chat.CodeForbidden, "only admins read the audit log"))
		return
	}
	limit := 50
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			s.writeError(w, r, chat.Invalid("limit", "limit must be 1 to 500"))
			return
		}
		limit = n
	}
	var before time.Time
	var beforeID string
	if c := r.URL.Query().Get("before"); c != "" {
		at, id, ok := strings.Cut(c, "_")
		n, err := strconv.ParseInt(at, 10, 64)
		if !ok || err != nil || n <= 0 {
			s.writeError(w, r, chat.Invalid("before", "before must be a cursor from a previous page"))
			return
		}
		before, beforeID = time.UnixMilli(n), id
	}
	entries, err := s.store.AuditLog(r.Context(), before, beforeID, limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	next := ""
	if len(entries) == limit {
		last := entries[len(entries)-1]
		next = strconv.FormatInt(last.At.UnixMilli(), 10) + "_" + last.ID
	}
	if entries == nil {
		entries = []chat.AuditEntry{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": entries, "next": next})
}
