package httpapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/chat"
)

// SessionCookie is the console's session cookie. HttpOnly (scripts cannot read it) and SameSite=Strict (other
// sites cannot make the browser send it); state-changing requests that use it also need the CSRF header.
const SessionCookie = "parley_session"

// CSRFHeader carries the session's anti-forgery token on cookie-authenticated state-changing requests.
const CSRFHeader = "X-CSRF-Token"

// bearer returns the token of an "Authorization: Bearer" header.
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

func principalOf(ctx context.Context) *auth.Principal {
	p, _ := ctx.Value(principalKey).(*auth.Principal)
	return p
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// agentOnly wraps h so that it runs only for an authenticated, enabled agent. The credential is a Bearer token
// (API clients) or the session cookie (the console); with the cookie, state-changing methods must also carry
// the CSRF token and, when the browser sends one, an Origin equal to the console's.
func (s *Server) agentOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, viaCookie := bearer(r), false
		if token == "" {
			if c, err := r.Cookie(SessionCookie); err == nil {
				token, viaCookie = c.Value, true
			}
		}
		if token == "" {
			s.writeError(w, r, chat.Errorf(chat.CodeUnauthorized, "log in first: send Authorization: Bearer <token> or the session cookie"))
			return
		}
		p, err := s.auth.AuthenticateAgent(r.Context(), token)
		if err != nil {
			if viaCookie && chat.IsCode(err, chat.CodeUnauthorized) {
				s.clearCookie(w)
			}
			s.writeError(w, r, err)
			return
		}
		if viaCookie && !safeMethod(r.Method) {
			if o := r.Header.Get("Origin"); o != "" && o != s.cfg.Origin() {
				s.writeError(w, r, chat.Errorf(chat.CodeOriginRefused, "cross-origin request refused"))
				return
			}
			if !s.auth.CheckCSRF(p.Session, r.Header.Get(CSRFHeader)) {
				s.writeError(w, r, chat.Errorf(chat.CodeCSRF, "missing or wrong %s header", CSRFHeader))
				return
			}
		}
		h(w, r.WithContext(context.WithValue(r.Context(), principalKey, p)))
	}
}

func (s *Server) setCookie(w http.ResponseWriter, token string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: token, Path: "/", Expires: expires,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: strings.HasPrefix(s.cfg.PublicURL, "https://")})
}

func (s *Server) clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: strings.HasPrefix(s.cfg.PublicURL, "https://")})
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

type sessionResponse struct {
	Token     string      `json:"token,omitempty"` // only in the login response
	CSRFToken string      `json:"csrf_token"`
	ExpiresAt time.Time   `json:"expires_at"`
	Agent     *chat.Agent `json:"agent"`
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var in loginRequest
	if err := decodeJSON(w, r, &in, 4<<10); err != nil {
		s.writeError(w, r, err)
		return
	}
	if in.Email == "" || in.Password == "" {
		s.writeError(w, r, chat.Invalid("email", "email and password are required"))
		return
	}
	token, se, a, err := s.auth.Login(r.Context(), in.Email, in.Password, s.clientIP(r), r.UserAgent())
	switch chat.ErrorCode(err) {
	case "":
		s.metrics.Logins.WithLabelValues("ok").Inc()
	case chat.CodeRateLimited:
		s.metrics.Logins.WithLabelValues("throttled").Inc()
	default:
		s.metrics.Logins.WithLabelValues("failed").Inc()
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.setCookie(w, token, se.ExpiresAt)
	writeJSON(w, http.StatusOK, sessionResponse{Token: token, CSRFToken: s.auth.CSRFToken(se), ExpiresAt: se.ExpiresAt, Agent: a})
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if err := s.auth.Logout(r.Context(), principalOf(r.Context()), s.clientIP(r)); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.clearCookie(w)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) session(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r.Context())
	writeJSON(w, http.StatusOK, sessionResponse{CSRFToken: s.auth.CSRFToken(p.Session), ExpiresAt: p.Session.ExpiresAt, Agent: p.Agent})
}
