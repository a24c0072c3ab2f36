package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/parley-chat/parley/internal/chat"
)

// cannedRoutes registers canned replies: an agent's own and the shared ones (which supervisors and admins
// manage).
func (s *Server) cannedRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/canned-replies", s.agentOnly(s.listCanned))
	mux.HandleFunc("POST /api/v1/canned-replies", s.agentOnly(s.createCanned))
	mux.HandleFunc("PATCH /api/v1/canned-replies/{id}", s.agentOnly(s.updateCanned))
	mux.HandleFunc("DELETE /api/v1/canned-replies/{id}", s.agentOnly(s.deleteCanned))
}

func (s *Server) listCanned(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r.Context())
	list, err := s.store.CannedReplies(r.Context(), p.Agent.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if list == nil {
		list = []*chat.CannedReply{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"canned_replies": list})
}

type cannedRequest struct {
	Shortcut string `json:"shortcut"`
	Body     string `json:"body"`
	Shared   bool   `json:"shared"`
}

func (s *Server) createCanned(w http.ResponseWriter, r *http.Request) {
	var in cannedRequest
	if err := decodeJSON(w, r, &in, 32<<10); err != nil {
		s.writeError(w, r, err)
		return
	}
	p := principalOf(r.Context())
	if err := chat.ValidateShortcut(in.Shortcut); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := chat.ValidateBody(in.Body); err != nil {
		s.writeError(w, r, err)
		return
	}
	c := &chat.CannedReply{AgentID: p.Agent.ID, Shortcut: in.Shortcut, Body: in.Body}
	if in.Shared {
		if !p.Agent.Role.SeesAllTeams() {
			s.writeError(w, r, chat.Errorf(chat.CodeForbidden, "only supervisors and admins share canned replies"))
			return
		}
		c.AgentID = ""
	}
	if err := s.store.CreateCannedReply(r.Context(), c); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.auditCanned(r, "canned.create", c)
	writeJSON(w, http.StatusCreated, c)
}

// cannedOf reads a canned reply the agent may change: their own, or a shared one for supervisors and admins.
// Another agent's reply answers like one that does not exist; a shared one is 403 for an agent.
func (s *Server) cannedOf(r *http.Request) (*chat.CannedReply, error) {
	p := principalOf(r.Context())
	c, err := s.store.CannedReply(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	switch {
	case c.AgentID == p.Agent.ID || (c.Shared && p.Agent.Role.SeesAllTeams()):
		return c, nil
	case c.Shared:
		return nil, chat.Errorf(chat.CodeForbidden, "only supervisors and admins change shared canned replies")
	default:
		return nil, chat.ErrNotFound("canned reply")
	}
}

type cannedPatch struct {
	Shortcut *string `json:"shortcut"`
	Body     *string `json:"body"`
}

func (s *Server) updateCanned(w http.ResponseWriter, r *http.Request) {
	var in cannedPatch
	if err := decodeJSON(w, r, &in, 32<<10); err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.cannedOf(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if in.Shortcut != nil {
		c.Shortcut = *in.Shortcut
	}
	if in.Body != nil {
		c.Body = *in.Body
	}
	if err := chat.ValidateShortcut(c.Shortcut); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := chat.ValidateBody(c.Body); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.store.UpdateCannedReply(r.Context(), c); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.auditCanned(r, "canned.update", c)
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) deleteCanned(w http.ResponseWriter, r *http.Request) {
	c, err := s.cannedOf(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.store.DeleteCannedReply(r.Context(), c.ID); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.auditCanned(r, "canned.delete", c)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) auditCanned(r *http.Request, action string, c *chat.CannedReply) {
	p := principalOf(r.Context())
	detail, _ := json.Marshal(map[string]any{"shortcut": c.Shortcut, "shared": c.Shared})
	if err := s.store.Audit(r.Context(), chat.AuditEntry{ActorType: "agent", ActorID: p.Agent.ID, Action: action,
		TargetType: "canned_reply", TargetID: c.ID, IP: s.clientIP(r), Detail: string(detail)}); err != nil {
		s.log.Warn("audit", "action", action, "err", err)
	}
}
