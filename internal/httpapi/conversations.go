package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/messaging"
	"github.com/parley-chat/parley/protocol"
)

// preflight answers CORS preflights for the API the widget calls from customers' pages: only origins some site
// allows get a positive answer, and even then the request that follows is refused unless its Origin is allowed
// for that customer's own site. No credentials (cookies) are ever allowed cross-origin; the widget
// authenticates with its visitor token.
func (s *Server) preflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Add("Vary", "Origin")
	if o := r.Header.Get("Origin"); o != "" && o != "null" && s.anySiteAllows(r.Context(), o) {
		h.Set("Access-Control-Allow-Origin", o)
		h.Set("Access-Control-Allow-Methods", "GET, POST")
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Idempotency-Key")
		h.Set("Access-Control-Max-Age", "600")
	}
	w.WriteHeader(http.StatusNoContent)
}

// anySiteAllows reports whether some site lists origin among its allowed origins.
func (s *Server) anySiteAllows(ctx context.Context, origin string) bool {
	sites, err := s.store.Sites(ctx)
	if err != nil {
		return false
	}
	for _, st := range sites {
		if siteAllows(st, origin) {
			return true
		}
	}
	return false
}

// allowSiteOrigin checks a customer request's Origin against the site's allowed origins and, when allowed,
// lets the browser read the response.
func (s *Server) allowSiteOrigin(w http.ResponseWriter, r *http.Request, site *chat.Site) error {
	w.Header().Add("Vary", "Origin")
	o := r.Header.Get("Origin")
	if o == "" {
		return nil // not a browser (an app, a server): no cross-site risk
	}
	if o == "null" || !siteAllows(site, o) {
		return chat.Errorf(chat.CodeOriginRefused, "this origin is not allowed for the site; add it to the site's allowed origins")
	}
	w.Header().Set("Access-Control-Allow-Origin", o)
	return nil
}

// anyPrincipal authenticates an agent (Bearer or cookie, as agentOnly) or a customer (Bearer visitor token,
// from an allowed origin of their site) and runs h.
func (s *Server) anyPrincipal(h http.HandlerFunc) http.HandlerFunc {
	agent := s.agentOnly(h)
	return func(w http.ResponseWriter, r *http.Request) {
		token := bearer(r)
		if !strings.HasPrefix(token, auth.CustomerTokenPrefix) {
			agent(w, r)
			return
		}
		p, err := s.auth.AuthenticateCustomer(r.Context(), s.store, token)
		if err != nil {
			w.Header().Add("Vary", "Origin")
			if o := r.Header.Get("Origin"); o != "" {
				// Let the widget read why it was refused, so it can start a new visitor session.
				w.Header().Set("Access-Control-Allow-Origin", o)
			}
			s.writeError(w, r, err)
			return
		}
		site, err := s.store.Site(r.Context(), p.Session.SiteID)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if err := s.allowSiteOrigin(w, r, site); err != nil {
			s.writeError(w, r, err)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), principalKey, p)))
	}
}

type visitorRequest struct {
	SiteKey  string               `json:"site_key"`
	Token    string               `json:"token"`
	UserID   string               `json:"user_id"`
	UserHash string               `json:"user_hash"`
	Name     string               `json:"name"`
	Email    string               `json:"email"`
	Phone    string               `json:"phone"`
	Context  chat.CustomerContext `json:"context"`
	Channel  chat.Channel         `json:"channel"`
}

type visitorResponse struct {
	Token    string         `json:"token"`
	Customer *chat.Customer `json:"customer"`
	Site     siteView       `json:"site"`
	Epoch    string         `json:"epoch"`
}

// siteView is what a customer may know of a site: never its secret.
type siteView struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Settings chat.SiteSettings `json:"settings"`
}

// visitorSession opens or resumes a customer session (POST /api/v1/visitor/session). The token travels in the
// body both ways, never in a URL.
func (s *Server) visitorSession(w http.ResponseWriter, r *http.Request) {
	var in visitorRequest
	if err := decodeJSON(w, r, &in, 16<<10); err != nil {
		s.writeError(w, r, err)
		return
	}
	if in.SiteKey == "" {
		s.writeError(w, r, chat.Invalid("site_key", "site_key is required"))
		return
	}
	site, err := s.store.SiteByKey(r.Context(), in.SiteKey)
	if err != nil {
		s.writeError(w, r, chat.Invalid("site_key", "unknown site key"))
		return
	}
	if err := s.allowSiteOrigin(w, r, site); err != nil {
		s.writeError(w, r, err)
		return
	}
	if in.Context.UserAgent == "" {
		in.Context.UserAgent = r.UserAgent()
	}
	vs, err := s.auth.StartVisitor(r.Context(), s.store, auth.VisitorRequest{SiteKey: in.SiteKey, Token: in.Token,
		UserID: in.UserID, UserHash: in.UserHash, Name: in.Name, Email: in.Email, Phone: in.Phone, Context: in.Context,
		Channel: in.Channel, IP: s.clientIP(r)})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, visitorResponse{Token: vs.Token, Customer: vs.Customer, Epoch: s.msg.Epoch(),
		Site: siteView{ID: vs.Site.ID, Name: vs.Site.Name, Settings: vs.Site.Settings}})
}

type startRequest struct {
	TeamID  string       `json:"team_id"`
	Channel chat.Channel `json:"channel"`
}

type conversationResponse struct {
	*chat.Conversation
	Created      bool   `json:"created,omitempty"`
	Epoch        string `json:"epoch"`
	CustomerRead uint64 `json:"customer_read_seq"`
	AgentRead    uint64 `json:"agent_read_seq"`
}

// startConversation is a customer's "start or resume": it returns their open conversation, creating it when
// there is none (201) — never a second one, however many requests race.
func (s *Server) startConversation(w http.ResponseWriter, r *http.Request) {
	var in startRequest
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, &in, 4<<10); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	conv, created, err := s.msg.Start(r.Context(), principalOf(r.Context()), messaging.StartInput{TeamID: in.TeamID, Channel: in.Channel})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, conversationResponse{Conversation: conv, Created: created, Epoch: s.msg.Epoch()})
}

func (s *Server) listConversations(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r.Context())
	if p.Customer == nil {
		s.writeError(w, r, chat.Errorf(chat.CodeNotFound, "agents list conversations through the inbox endpoints"))
		return
	}
	convs, err := s.store.CustomerConversations(r.Context(), p.Customer.ID, 50)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := convs[:0]
	for _, c := range convs {
		if c.SiteID == p.Session.SiteID {
			out = append(out, c)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"conversations": out, "epoch": s.msg.Epoch()})
}

func (s *Server) getConversation(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r.Context())
	conv, err := s.msg.Conversation(r.Context(), p, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	cr, ar, err := s.msg.ReadCursors(r.Context(), conv.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, conversationResponse{Conversation: conv, Epoch: s.msg.Epoch(), CustomerRead: cr, AgentRead: ar})
}

// history pages a conversation: ?after=SEQ (the messages after SEQ; after=0 is the very beginning),
// ?before=SEQ (the page before SEQ), or neither (the latest page). limit is 1..200 (default 50).
func (s *Server) history(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	after, err1 := seqParam(q.Get("after"), "after")
	before, err2 := seqParam(q.Get("before"), "before")
	limit := chat.DefaultHistoryPage
	var err3 error
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > chat.MaxHistoryPage {
			err3 = chat.Invalid("limit", "limit must be 1 to %d", chat.MaxHistoryPage)
		}
		limit = n
	}
	for _, err := range []error{err1, err2, err3} {
		if err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	if after > 0 && before > 0 {
		s.writeError(w, r, chat.Invalid("after", "give after or before, not both"))
		return
	}
	msgs, conv, err := s.msg.History(r.Context(), principalOf(r.Context()), r.PathValue("id"), q.Has("after"), after, before, limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// {"epoch":…,"head_seq":…,"messages":[…]}, the bytes json.Marshal gives for the map of those three, encoded
	// by hand: encoding/json's reflection over 50 messages was a third of a page's CPU (protocol.AppendJSON).
	b := make([]byte, 0, 64+320*len(msgs))
	b = append(b, `{"epoch":`...)
	b = protocol.AppendJSONString(b, s.msg.Epoch())
	b = append(b, `,"head_seq":`...)
	b = strconv.AppendUint(b, conv.LastSeq, 10)
	b = append(b, `,"messages":`...)
	if msgs == nil {
		msgs = []*protocol.Message{}
	}
	b, err = protocol.AppendMessages(b, msgs)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSONBytes(w, http.StatusOK, append(b, '}'))
}

func seqParam(v, name string) (uint64, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || !chat.ValidSeqCursor(int64(min(n, 1<<62))) {
		return 0, chat.Invalid(name, "%s must be a sequence number", name)
	}
	return n, nil
}

type postMessageRequest struct {
	Body        string `json:"body"`
	MsgType     string `json:"msg_type"`
	ClientMsgID string `json:"client_msg_id"`
}

// postMessage is the REST send (long-poll clients, apps, integrations). The Idempotency-Key header is the
// client message id; a retry with the same key and body returns the original acknowledgement (duplicate:
// true), a reused key with another body is 409, nothing written.
func (s *Server) postMessage(w http.ResponseWriter, r *http.Request) {
	var in postMessageRequest
	if err := decodeJSON(w, r, &in, chat.MaxFrameBytes); err != nil {
		s.writeError(w, r, err)
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		key = in.ClientMsgID
	}
	if in.ClientMsgID != "" && in.ClientMsgID != key {
		s.writeError(w, r, chat.Invalid("client_msg_id", "client_msg_id and Idempotency-Key differ"))
		return
	}
	if key == "" {
		s.writeError(w, r, chat.Invalid("Idempotency-Key", "send an Idempotency-Key header (the client message id, reused on every retry)"))
		return
	}
	res, err := s.msg.Send(r.Context(), principalOf(r.Context()), messaging.SendInput{ConversationID: r.PathValue("id"),
		ClientMsgID: key, Body: in.Body, Type: in.MsgType})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status := http.StatusCreated
	if res.Duplicate {
		status = http.StatusOK
	}
	writeJSON(w, status, s.msg.Ack("", res))
}

type readRequest struct {
	Seq uint64 `json:"seq"`
}

func (s *Server) markRead(w http.ResponseWriter, r *http.Request) {
	var in readRequest
	if err := decodeJSON(w, r, &in, 1<<10); err != nil {
		s.writeError(w, r, err)
		return
	}
	cur, err := s.msg.MarkRead(r.Context(), principalOf(r.Context()), r.PathValue("id"), in.Seq)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]uint64{"seq": cur})
}

func (s *Server) typing(w http.ResponseWriter, r *http.Request) {
	if err := s.msg.Typing(r.Context(), principalOf(r.Context()), r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) closeConversation(w http.ResponseWriter, r *http.Request) {
	conv, err := s.msg.Close(r.Context(), principalOf(r.Context()), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, conversationResponse{Conversation: conv, Epoch: s.msg.Epoch()})
}
