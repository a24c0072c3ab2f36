package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/hub"
	"github.com/parley-chat/parley/internal/messaging"
	"github.com/parley-chat/parley/protocol"
)

// pollLimit bounds the messages and events one long-poll answer carries; a client with more to fetch polls
// again at once with its advanced cursor.
const pollLimit = 100

type pollCursor struct {
	key     string
	conv    *chat.Conversation // nil for a stream
	lastSeq uint64
}

type pollReceipt struct {
	ConversationID string `json:"conversation_id"`
	CustomerSeq    uint64 `json:"customer_read_seq"`
	AgentSeq       uint64 `json:"agent_read_seq"`
}

type pollResponse struct {
	Epoch    string                 `json:"epoch"`
	Messages []*protocol.Message    `json:"messages"`
	Events   []*protocol.Event      `json:"events"`
	Heads    map[string]uint64      `json:"heads"`
	Reset    []string               `json:"reset,omitempty"`
	Receipts []pollReceipt          `json:"receipts,omitempty"`
	Typing   []protocol.ServerFrame `json:"typing,omitempty"`
	Queue    []protocol.ServerFrame `json:"queue,omitempty"` // a waiting customer's place: {conversation_id, position, estimated_wait_s}
}

// poll is the long-poll transport (GET /api/v1/poll?cursor=ID:SEQ,ID:SEQ&epoch=E&timeout=25). It has the
// WebSocket's semantics with a client-held cursor: the answer holds what follows each cursor (seq > SEQ), at
// most 100 items, or — when there is nothing — waits up to timeout seconds for news. Heads come with every
// answer, so a client sees a gap even if it never saw the item. The next poll's cursor is the acknowledgement;
// nothing is kept on the server between polls, so a restart loses nothing.
func (s *Server) poll(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r.Context())
	if p.Agent != nil {
		s.msg.AgentActive(r.Context(), p.Agent) // a polling agent is connected
	}
	q := r.URL.Query()
	timeout := s.pollTimeout
	if v := q.Get("timeout"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 45 {
			s.writeError(w, r, chat.Invalid("timeout", "timeout must be 0 to 45 seconds"))
			return
		}
		timeout = min(time.Duration(n)*time.Second, s.pollTimeout)
	}
	cursors, err := s.parseCursors(r.Context(), p, q.Get("cursor"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	epoch := s.msg.Epoch()
	resp := pollResponse{Epoch: epoch, Messages: []*protocol.Message{}, Events: []*protocol.Event{}}
	if e := q.Get("epoch"); e != "" && e != epoch {
		// A cursor from another store: the client must reload; give it the heads to start from.
		for _, c := range cursors {
			resp.Reset = append(resp.Reset, c.key)
		}
		resp.Heads, err = s.heads(r.Context(), cursors)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, resp)
		return
	}

	markHeld(r)
	s.metrics.Connections.WithLabelValues("longpoll").Inc()
	defer s.metrics.Connections.WithLabelValues("longpoll").Dec()
	// Subscribe before reading, as the WebSocket does: whatever commits after the read wakes the wait.
	waiter := &pollWaiter{wake: make(chan struct{}, 1), customer: p.Customer != nil}
	for _, c := range cursors {
		s.hub.Subscribe(c.key, waiter)
		defer s.hub.Unsubscribe(c.key, waiter)
	}
	if err := s.collect(r.Context(), p, cursors, &resp); err != nil {
		s.writeError(w, r, err)
		return
	}
	if len(resp.Messages)+len(resp.Events) == 0 && timeout > 0 {
		deadline := time.NewTimer(timeout)
		defer deadline.Stop()
		select {
		case <-waiter.wake:
			// News: a message, an event, a read receipt or a typing notice. Answer with the fresh state.
			if err := s.collect(r.Context(), p, cursors, &resp); err != nil {
				s.writeError(w, r, err)
				return
			}
		case <-deadline.C:
		case <-r.Context().Done():
			return
		case <-s.closing:
		}
	}
	resp.Typing = waiter.typing()
	writeJSON(w, http.StatusOK, resp)
}

// parseCursors reads "ID:SEQ,ID:SEQ" (a stream id contains a colon itself: the last one separates the
// sequence number) and authorizes each. Any cursor the principal may not read is NotFound.
func (s *Server) parseCursors(ctx context.Context, p *auth.Principal, raw string) ([]pollCursor, error) {
	if raw == "" {
		return nil, chat.Invalid("cursor", "cursor is required: conversation_id:last_seq[,...]")
	}
	parts := strings.Split(raw, ",")
	if len(parts) > 100 {
		return nil, chat.Invalid("cursor", "at most 100 cursors")
	}
	seen := map[string]bool{}
	out := make([]pollCursor, 0, len(parts))
	var ids []string
	for _, part := range parts {
		i := strings.LastIndexByte(part, ':')
		if i <= 0 {
			return nil, chat.Invalid("cursor", "each cursor is id:last_seq")
		}
		key := part[:i]
		seq, err := seqParam(part[i+1:], "cursor")
		if err != nil {
			return nil, err
		}
		if seen[key] {
			return nil, chat.Invalid("cursor", "a cursor is given twice")
		}
		seen[key] = true
		c := pollCursor{key: key, lastSeq: seq}
		if isStream(key) {
			if !messaging.CanSubscribeStream(p, key) {
				return nil, chat.ErrNotFound("conversation")
			}
		} else {
			ids = append(ids, key)
		}
		out = append(out, c)
	}
	if len(ids) == 0 {
		return out, nil
	}
	// The access check of every conversation cursor, in one read.
	convs, err := s.msg.Conversations(ctx, p, ids)
	if err != nil {
		return nil, err
	}
	for i := range out {
		if isStream(out[i].key) {
			continue
		}
		if out[i].conv = convs[out[i].key]; out[i].conv == nil {
			return nil, chat.ErrNotFound("conversation")
		}
	}
	return out, nil
}

// isStream tells a stream key (agent:ID, team:ID) from a conversation id.
func isStream(key string) bool {
	return strings.HasPrefix(key, "agent:") || strings.HasPrefix(key, "team:")
}

// heads reads the heads of the poll's cursors in one query.
func (s *Server) heads(ctx context.Context, cursors []pollCursor) (map[string]uint64, error) {
	keys := make([]string, len(cursors))
	for i, c := range cursors {
		keys[i] = c.key
	}
	return s.headsOf(ctx, keys)
}

// headsOf reads the heads of subscription keys, conversations and streams, in one query.
func (s *Server) headsOf(ctx context.Context, keys []string) (map[string]uint64, error) {
	var convs, streams []string
	for _, k := range keys {
		if isStream(k) {
			streams = append(streams, k)
		} else {
			convs = append(convs, k)
		}
	}
	return s.msg.Heads(ctx, convs, streams)
}

// collect fills resp with what follows each cursor (bounded), the heads and the read cursors.
func (s *Server) collect(ctx context.Context, p *auth.Principal, cursors []pollCursor, resp *pollResponse) error {
	budget := pollLimit
	resp.Messages, resp.Events, resp.Receipts, resp.Queue = resp.Messages[:0], resp.Events[:0], nil, nil
	for _, c := range cursors {
		if budget == 0 {
			break
		}
		if c.conv != nil {
			msgs, err := s.msg.After(ctx, p, c.conv, c.lastSeq, budget)
			if err != nil {
				return err
			}
			resp.Messages = append(resp.Messages, msgs...)
			budget -= len(msgs)
			cr, ar, err := s.msg.ReadCursors(ctx, c.key)
			if err != nil {
				return err
			}
			resp.Receipts = append(resp.Receipts, pollReceipt{ConversationID: c.key, CustomerSeq: cr, AgentSeq: ar})
			if p.Customer != nil {
				if conv, err := s.store.Conversation(ctx, c.key); err == nil {
					if f := s.msg.QueueFrame(ctx, conv); f != nil {
						resp.Queue = append(resp.Queue, *f)
					}
				}
			}
		} else {
			evs, err := s.msg.Events(ctx, c.key, c.lastSeq, budget)
			if err != nil {
				return err
			}
			for _, ev := range evs {
				resp.Events = append(resp.Events, messaging.WireEvent(ev))
			}
			budget -= len(evs)
		}
	}
	s.metrics.MessagesDelivered.WithLabelValues("longpoll").Add(float64(len(resp.Messages)))
	var err error
	resp.Heads, err = s.heads(ctx, cursors)
	return err
}

// pollWaiter is a long-poll's hub subscription: any sequenced delivery wakes the poll; typing notices are
// collected for the answer.
type pollWaiter struct {
	wake     chan struct{}
	customer bool

	mu     sync.Mutex
	frames [][]byte
}

func (pw *pollWaiter) Deliver(d *hub.Delivery) {
	f := d.Agent
	if pw.customer {
		f = d.Customer
	}
	if f == nil {
		return
	}
	if d.Kind == protocol.TypeTyping {
		pw.mu.Lock()
		if len(pw.frames) < 20 {
			pw.frames = append(pw.frames, f)
		}
		pw.mu.Unlock()
	}
	select {
	case pw.wake <- struct{}{}:
	default:
	}
}

func (pw *pollWaiter) typing() []protocol.ServerFrame {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	out := make([]protocol.ServerFrame, 0, len(pw.frames))
	for _, f := range pw.frames {
		var sf protocol.ServerFrame
		if unmarshalStrict(f, &sf) == nil {
			out = append(out, sf)
		}
	}
	return out
}
