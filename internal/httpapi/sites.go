package httpapi

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/parley-chat/parley/internal/chat"
)

// siteRoutes registers the admins' site management: widget keys, allowed origins, the widget's look, the
// pre-chat form, business hours, routing and queue settings. A change takes effect at once (every request
// and the router read the site through the store's site cache, which UpdateSite and CreateSite clear) and is
// audited.
func (s *Server) siteRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/sites", s.agentOnly(s.listSites))
	mux.HandleFunc("POST /api/v1/sites", s.agentOnly(s.createSite))
	mux.HandleFunc("PATCH /api/v1/sites/{id}", s.agentOnly(s.updateSite))
}

// adminSite is a site as admins see it, its secret included (their backend signs identities with it).
type adminSite struct {
	*chat.Site
	Secret string `json:"secret"`
}

func (s *Server) adminOnly(w http.ResponseWriter, r *http.Request) bool {
	if !principalOf(r.Context()).IsAdmin() {
		s.writeError(w, r, chat.Errorf(chat.CodeForbidden, "only admins manage sites"))
		return false
	}
	return true
}

func (s *Server) listSites(w http.ResponseWriter, r *http.Request) {
	if !s.adminOnly(w, r) {
		return
	}
	sites, err := s.store.Sites(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]adminSite, 0, len(sites))
	for _, st := range sites {
		out = append(out, adminSite{Site: st, Secret: st.Secret})
	}
	writeJSON(w, http.StatusOK, map[string]any{"sites": out})
}

type siteRequest struct {
	Name           *string            `json:"name"`
	AllowedOrigins []string           `json:"allowed_origins"`
	DefaultTeamID  *string            `json:"default_team_id"`
	Settings       *chat.SiteSettings `json:"settings"`
}

// apply validates the changes of in and applies them to st.
func (s *Server) apply(r *http.Request, st *chat.Site, in siteRequest) error {
	if in.Name != nil {
		name := strings.TrimSpace(*in.Name)
		if name == "" || len([]rune(name)) > 100 {
			return chat.Invalid("name", "a site's name has 1 to 100 characters")
		}
		st.Name = name
	}
	if in.AllowedOrigins != nil {
		if err := chat.ValidateOrigins(in.AllowedOrigins); err != nil {
			return err
		}
		st.AllowedOrigins = in.AllowedOrigins
	}
	teams, err := s.store.Teams(r.Context())
	if err != nil {
		return err
	}
	known := func(id string) bool { return slices.ContainsFunc(teams, func(t *chat.Team) bool { return t.ID == id }) }
	if in.DefaultTeamID != nil {
		if !known(*in.DefaultTeamID) {
			return chat.Invalid("default_team_id", "no such team")
		}
		st.DefaultTeamID = *in.DefaultTeamID
	}
	if in.Settings != nil {
		if err := in.Settings.Validate(); err != nil {
			return err
		}
		for _, d := range in.Settings.PreChat.Departments {
			if !known(d.TeamID) {
				return chat.Invalid("pre_chat", "department %q names no team", d.Name)
			}
		}
		st.Settings = *in.Settings
	}
	return nil
}

func (s *Server) createSite(w http.ResponseWriter, r *http.Request) {
	if !s.adminOnly(w, r) {
		return
	}
	var in siteRequest
	if err := decodeJSON(w, r, &in, 64<<10); err != nil {
		s.writeError(w, r, err)
		return
	}
	st := &chat.Site{WidgetKey: chat.NewWidgetKey(), Secret: chat.NewSiteSecret(), AllowedOrigins: []string{}}
	if in.Name == nil {
		s.writeError(w, r, chat.Invalid("name", "a site needs a name"))
		return
	}
	if in.DefaultTeamID == nil {
		teams, err := s.store.Teams(r.Context())
		if err != nil || len(teams) == 0 {
			s.writeError(w, r, chat.Invalid("default_team_id", "create a team first"))
			return
		}
		in.DefaultTeamID = &teams[0].ID
	}
	if err := s.apply(r, st, in); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.store.CreateSite(r.Context(), st); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.auditSite(r, "site.create", st)
	writeJSON(w, http.StatusCreated, adminSite{Site: st, Secret: st.Secret})
}

func (s *Server) updateSite(w http.ResponseWriter, r *http.Request) {
	if !s.adminOnly(w, r) {
		return
	}
	var in siteRequest
	if err := decodeJSON(w, r, &in, 64<<10); err != nil {
		s.writeError(w, r, err)
		return
	}
	st, err := s.store.Site(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.apply(r, st, in); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.store.UpdateSite(r.Context(), st); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.auditSite(r, "site.update", st)
	writeJSON(w, http.StatusOK, adminSite{Site: st, Secret: st.Secret})
}

func (s *Server) auditSite(r *http.Request, action string, st *chat.Site) {
	p := principalOf(r.Context())
	detail, _ := json.Marshal(map[string]any{"name": st.Name, "origins": len(st.AllowedOrigins)})
	if err := s.store.Audit(r.Context(), chat.AuditEntry{ActorType: "agent", ActorID: p.Agent.ID, Action: action,
		TargetType: "site", TargetID: st.ID, IP: s.clientIP(r), Detail: string(detail)}); err != nil {
		s.log.Warn("audit", "action", action, "err", err)
	}
}
