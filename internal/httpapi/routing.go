package httpapi

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/messaging"
	"github.com/parley-chat/parley/internal/store"
	"github.com/parley-chat/parley/protocol"
)

func (s *Server) acceptOffer(w http.ResponseWriter, r *http.Request) {
	conv, err := s.msg.Accept(r.Context(), principalOf(r.Context()), r.PathValue("id"))
	s.conversationResult(w, r, conv, err)
}

func (s *Server) declineOffer(w http.ResponseWriter, r *http.Request) {
	conv, err := s.msg.Decline(r.Context(), principalOf(r.Context()), r.PathValue("id"))
	s.conversationResult(w, r, conv, err)
}

func (s *Server) reopenConversation(w http.ResponseWriter, r *http.Request) {
	conv, err := s.msg.ReopenByAgent(r.Context(), principalOf(r.Context()), r.PathValue("id"))
	s.conversationResult(w, r, conv, err)
}

func (s *Server) pickUp(w http.ResponseWriter, r *http.Request) {
	conv, err := s.msg.PickUp(r.Context(), principalOf(r.Context()), r.PathValue("id"))
	s.conversationResult(w, r, conv, err)
}

type transferRequest struct {
	AgentID     string `json:"agent_id"`
	TeamID      string `json:"team_id"`
	Note        string `json:"note"`
	ClientMsgID string `json:"client_msg_id"`
}

func (s *Server) transfer(w http.ResponseWriter, r *http.Request) {
	var in transferRequest
	if err := decodeJSON(w, r, &in, 32<<10); err != nil {
		s.writeError(w, r, err)
		return
	}
	conv, err := s.msg.Transfer(r.Context(), principalOf(r.Context()), r.PathValue("id"),
		messaging.TransferInput{ToAgent: in.AgentID, ToTeam: in.TeamID, Note: in.Note, ClientMsgID: in.ClientMsgID})
	s.conversationResult(w, r, conv, err)
}

func (s *Server) conversationResult(w http.ResponseWriter, r *http.Request, conv *chat.Conversation, err error) {
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, conversationResponse{Conversation: conv, Epoch: s.msg.Epoch()})
}

// queuePosition answers where a waiting conversation stands: {position, estimated_wait_s}, or 0s when it is not
// waiting in a queue.
func (s *Server) queuePosition(w http.ResponseWriter, r *http.Request) {
	conv, err := s.msg.Conversation(r.Context(), principalOf(r.Context()), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f := s.msg.QueueFrame(r.Context(), conv)
	if f == nil {
		f = &protocol.ServerFrame{Type: protocol.TypeQueue, ConversationID: conv.ID}
	}
	writeJSON(w, http.StatusOK, map[string]any{"conversation_id": conv.ID, "status": conv.Status,
		"position": f.Position, "estimated_wait_s": f.EstimatedWaitS})
}

type presenceRequest struct {
	Presence chat.Presence `json:"presence"`
}

func (s *Server) setPresence(w http.ResponseWriter, r *http.Request) {
	var in presenceRequest
	if err := decodeJSON(w, r, &in, 1<<10); err != nil {
		s.writeError(w, r, err)
		return
	}
	p := principalOf(r.Context())
	if err := s.msg.SetPresence(r.Context(), p, in.Presence); err != nil {
		s.writeError(w, r, err)
		return
	}
	a, err := s.store.Agent(r.Context(), p.Agent.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

func (s *Server) routingState(w http.ResponseWriter, r *http.Request) {
	st, err := s.msg.RoutingState(r.Context(), principalOf(r.Context()))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// myConversations lists what the agent holds: assigned conversations and pending offers.
func (s *Server) myConversations(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r.Context())
	convs, err := s.store.AgentConversations(r.Context(), p.Agent.ID, 200)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"conversations": convs, "epoch": s.msg.Epoch()})
}

// inbox lists one of the agent's views:
// GET /api/v1/inbox?view=mine|queue|team|all&status=S&team=ID&channel=C&limit=N&before=MS:ID.
// heads are the positions of the streams that carry the list's changes, read before the list.
func (s *Server) inbox(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	in := messaging.InboxQuery{View: store.InboxView(q.Get("view")), Status: q.Get("status"), TeamID: q.Get("team"), Channel: q.Get("channel")}
	if in.View == "" {
		in.View = store.InboxMine
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			s.writeError(w, r, chat.Invalid("limit", "limit must be 1 to 200"))
			return
		}
		in.Limit = n
	}
	if v := q.Get("before"); v != "" {
		at, id, ok := strings.Cut(v, ":")
		n, err := strconv.ParseInt(at, 10, 64)
		if !ok || err != nil || n <= 0 || len(id) != 36 {
			s.writeError(w, r, chat.Invalid("before", "before is <last_message_at in ms>:<id> of the last entry of the previous page"))
			return
		}
		in.Before = store.InboxCursor{At: time.UnixMilli(n).UTC(), ID: id}
	}
	p := principalOf(r.Context())
	heads, err := s.msg.InboxStreams(r.Context(), p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	items, err := s.msg.Inbox(r.Context(), p, in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"view": in.View, "conversations": items, "heads": heads, "epoch": s.msg.Epoch()})
}

// inboxItem answers one conversation as the lists show it (GET /api/v1/inbox/{id}); 404 when the agent may
// not access it.
func (s *Server) inboxItem(w http.ResponseWriter, r *http.Request) {
	item, err := s.msg.InboxItem(r.Context(), principalOf(r.Context()), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, item)
}

// directoryEntry is what every agent may know of a colleague: enough to transfer a conversation to them.
type directoryEntry struct {
	ID       string        `json:"id"`
	Name     string        `json:"name"`
	Presence chat.Presence `json:"presence"`
	Teams    []string      `json:"teams"`
	HasRoom  bool          `json:"has_room"`
}

// agentDirectory lists the enabled agents (GET /api/v1/agents/directory): names, presence, teams and whether
// they have a free slot, without e-mails or settings.
func (s *Server) agentDirectory(w http.ResponseWriter, r *http.Request) {
	agents, err := s.store.Agents(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]directoryEntry, 0, len(agents))
	for _, a := range agents {
		if a.Disabled {
			continue
		}
		out = append(out, directoryEntry{ID: a.ID, Name: a.Name, Presence: a.Presence, Teams: a.Teams,
			HasRoom: a.Presence == chat.PresenceOnline && a.SlotsUsed < a.Capacity})
	}
	writeJSON(w, http.StatusOK, map[string]any{"agents": out})
}

// conversationCustomer answers the console's customer panel (GET /api/v1/conversations/{id}/customer): the
// customer of a conversation the agent may access, and their previous conversations on the site.
func (s *Server) conversationCustomer(w http.ResponseWriter, r *http.Request) {
	conv, err := s.msg.Conversation(r.Context(), principalOf(r.Context()), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	cu, err := s.store.Customer(r.Context(), conv.CustomerID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	convs, err := s.store.CustomerConversations(r.Context(), cu.ID, 20)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	previous := make([]*chat.Conversation, 0, len(convs))
	for _, c := range convs {
		if c.ID != conv.ID && c.SiteID == conv.SiteID {
			previous = append(previous, c)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"customer": cu, "channel": conv.Channel, "previous": previous})
}

// search finds messages (GET /api/v1/search?q=...&limit=N) in the conversations the agent may read.
func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	limit := 0
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			s.writeError(w, r, chat.Invalid("limit", "limit must be 1 to 100"))
			return
		}
		limit = n
	}
	res, err := s.msg.Search(r.Context(), principalOf(r.Context()), r.URL.Query().Get("q"), limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": res})
}

// report answers GET /api/v1/reports?from=YYYY-MM-DD&to=YYYY-MM-DD&tz=Area/City (supervisors and admins).
func (s *Server) report(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	rep, err := s.msg.Report(r.Context(), principalOf(r.Context()), q.Get("from"), q.Get("to"), q.Get("tz"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}
