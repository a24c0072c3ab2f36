// Package client is a Go client of Parley's public protocol (docs/protocol.md): the REST API, the WebSocket
// and the long-poll transport, with the delivery contract implemented on the client side — sends retried under
// the same client message id until acknowledged, duplicates dropped, gaps filled from history, resume after
// every reconnect. Parley's tests and benchmark use it; so can an app that talks to Parley.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/parley-chat/parley/protocol"
)

// API calls Parley's REST endpoints with one credential.
type API struct {
	BaseURL string // e.g. http://127.0.0.1:8080
	Token   string // an agent session token (pa_...) or a visitor token (pv_...)
	Origin  string // sent as the Origin header when set (browsers always send one)
	HTTP    *http.Client
}

// Error is an error answer of the server: its HTTP status and the error shape's fields.
type Error struct {
	Status  int
	Code    string
	Message string
	Field   string
}

func (e *Error) Error() string {
	return fmt.Sprintf("parley: %d %s: %s", e.Status, e.Code, e.Message)
}

// Temporary reports whether retrying later may succeed.
func (e *Error) Temporary() bool {
	return e.Status >= 500 || e.Status == http.StatusTooManyRequests || e.Code == "unavailable" || e.Code == "rate_limited" || e.Code == "shutting_down"
}

// Code returns the error code of err when it is a server error, else "".
func Code(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func (a *API) client() *http.Client {
	if a.HTTP != nil {
		return a.HTTP
	}
	return http.DefaultClient
}

// Do sends a JSON request and decodes the JSON answer into out (when not nil). Non-2xx answers are *Error.
func (a *API) Do(ctx context.Context, method, path string, in, out any, header ...string) (int, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(a.BaseURL, "/")+path, body)
	if err != nil {
		return 0, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.Token != "" {
		req.Header.Set("Authorization", "Bearer "+a.Token)
	}
	if a.Origin != "" {
		req.Header.Set("Origin", a.Origin)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := a.client().Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode >= 300 {
		var eb struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
				Field   string `json:"field"`
			} `json:"error"`
		}
		_ = json.Unmarshal(b, &eb)
		return resp.StatusCode, &Error{Status: resp.StatusCode, Code: eb.Error.Code, Message: eb.Error.Message, Field: eb.Error.Field}
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("parley: decode %s %s: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

// Agent is the subset of an agent record clients use.
type Agent struct {
	ID    string   `json:"id"`
	Email string   `json:"email"`
	Name  string   `json:"name"`
	Role  string   `json:"role"`
	Teams []string `json:"teams"`
}

// Session is a login's answer.
type Session struct {
	Token     string    `json:"token"`
	CSRFToken string    `json:"csrf_token"`
	ExpiresAt time.Time `json:"expires_at"`
	Agent     Agent     `json:"agent"`
}

// Login logs an agent in and returns the session; a.Token is set to it.
func (a *API) Login(ctx context.Context, email, password string) (*Session, error) {
	var s Session
	if _, err := a.Do(ctx, http.MethodPost, "/api/v1/auth/login", map[string]string{"email": email, "password": password}, &s); err != nil {
		return nil, err
	}
	a.Token = s.Token
	return &s, nil
}

// Visitor is the profile a customer session opens with.
type Visitor struct {
	SiteKey  string            `json:"site_key"`
	Token    string            `json:"token,omitempty"`
	UserID   string            `json:"user_id,omitempty"`
	UserHash string            `json:"user_hash,omitempty"`
	Name     string            `json:"name,omitempty"`
	Email    string            `json:"email,omitempty"`
	Phone    string            `json:"phone,omitempty"`
	Context  map[string]string `json:"context,omitempty"`
	Channel  string            `json:"channel,omitempty"`
}

// VisitorSession is the answer to StartVisitor.
type VisitorSession struct {
	Token    string `json:"token"`
	Customer struct {
		ID     string `json:"id"`
		SiteID string `json:"site_id"`
		Name   string `json:"name"`
	} `json:"customer"`
	Epoch string `json:"epoch"`
}

// StartVisitor opens (or resumes, with v.Token) a customer session; a.Token is set to the visitor token.
func (a *API) StartVisitor(ctx context.Context, v Visitor) (*VisitorSession, error) {
	var s VisitorSession
	if _, err := a.Do(ctx, http.MethodPost, "/api/v1/visitor/session", v, &s); err != nil {
		return nil, err
	}
	a.Token = s.Token
	return &s, nil
}

// Conversation is the subset of a conversation clients use.
type Conversation struct {
	ID           string `json:"id"`
	SiteID       string `json:"site_id"`
	CustomerID   string `json:"customer_id"`
	TeamID       string `json:"team_id"`
	AgentID      string `json:"agent_id"`
	Status       string `json:"status"`
	LastSeq      uint64 `json:"last_seq"`
	Created      bool   `json:"created"`
	Epoch        string `json:"epoch"`
	CustomerRead uint64 `json:"customer_read_seq"`
	AgentRead    uint64 `json:"agent_read_seq"`
	OfferedTo    string `json:"offered_to"`    // the agent a pending offer is for (status "offered")
	LastAgentID  string `json:"last_agent_id"` // the agent it had before it was closed or requeued
}

// StartConversation returns the customer's open conversation, creating it when there is none.
func (a *API) StartConversation(ctx context.Context, teamID string) (*Conversation, error) {
	var c Conversation
	var in any
	if teamID != "" {
		in = map[string]string{"team_id": teamID}
	}
	_, err := a.Do(ctx, http.MethodPost, "/api/v1/conversations", in, &c)
	return &c, err
}

// Conversation reads one conversation.
func (a *API) Conversation(ctx context.Context, id string) (*Conversation, error) {
	var c Conversation
	_, err := a.Do(ctx, http.MethodGet, "/api/v1/conversations/"+url.PathEscape(id), nil, &c)
	return &c, err
}

// CloseConversation closes a conversation.
func (a *API) CloseConversation(ctx context.Context, id string) (*Conversation, error) {
	var c Conversation
	_, err := a.Do(ctx, http.MethodPost, "/api/v1/conversations/"+url.PathEscape(id)+"/close", nil, &c)
	return &c, err
}

// Page is a page of history.
type Page struct {
	Messages []protocol.Message `json:"messages"`
	Epoch    string             `json:"epoch"`
	HeadSeq  uint64             `json:"head_seq"`
}

// After returns up to limit messages with seq > after.
func (a *API) After(ctx context.Context, conv string, after uint64, limit int) (*Page, error) {
	var p Page
	_, err := a.Do(ctx, http.MethodGet, fmt.Sprintf("/api/v1/conversations/%s/messages?after=%d&limit=%d", url.PathEscape(conv), after, limit), nil, &p)
	return &p, err
}

// Before returns up to limit messages with seq < before (the latest when before is 0).
func (a *API) Before(ctx context.Context, conv string, before uint64, limit int) (*Page, error) {
	var p Page
	q := fmt.Sprintf("?limit=%d", limit)
	if before > 0 {
		q += "&before=" + strconv.FormatUint(before, 10)
	}
	_, err := a.Do(ctx, http.MethodGet, "/api/v1/conversations/"+url.PathEscape(conv)+"/messages"+q, nil, &p)
	return &p, err
}

// Ack is a send's acknowledgement.
type Ack = protocol.ServerFrame

// PostMessage sends a message over REST with clientMsgID as the Idempotency-Key. It does not retry.
func (a *API) PostMessage(ctx context.Context, conv, clientMsgID, body, msgType string) (*Ack, error) {
	var ack Ack
	in := map[string]string{"body": body}
	if msgType != "" {
		in["msg_type"] = msgType
	}
	_, err := a.Do(ctx, http.MethodPost, "/api/v1/conversations/"+url.PathEscape(conv)+"/messages", in, &ack, "Idempotency-Key", clientMsgID)
	return &ack, err
}

// MarkRead moves this side's read cursor.
func (a *API) MarkRead(ctx context.Context, conv string, seq uint64) error {
	_, err := a.Do(ctx, http.MethodPost, "/api/v1/conversations/"+url.PathEscape(conv)+"/read", map[string]uint64{"seq": seq}, nil)
	return err
}

// PollResult is a long-poll answer.
type PollResult struct {
	Epoch    string                 `json:"epoch"`
	Messages []protocol.Message     `json:"messages"`
	Events   []protocol.Event       `json:"events"`
	Heads    map[string]uint64      `json:"heads"`
	Reset    []string               `json:"reset"`
	Typing   []protocol.ServerFrame `json:"typing"`
	Receipts []struct {
		ConversationID string `json:"conversation_id"`
		CustomerSeq    uint64 `json:"customer_read_seq"`
		AgentSeq       uint64 `json:"agent_read_seq"`
	} `json:"receipts"`
	// Queue holds, for a customer's waiting conversation, its place: position and estimated_wait_s.
	Queue []protocol.ServerFrame `json:"queue"`
}

// convAction posts to /api/v1/conversations/{id}/{action} and returns the conversation.
func (a *API) convAction(ctx context.Context, id, action string, in any) (*Conversation, error) {
	var c Conversation
	_, err := a.Do(ctx, http.MethodPost, "/api/v1/conversations/"+url.PathEscape(id)+"/"+action, in, &c)
	return &c, err
}

// Accept takes a conversation offered to this agent.
func (a *API) Accept(ctx context.Context, id string) (*Conversation, error) {
	return a.convAction(ctx, id, "accept", nil)
}

// Decline returns an offer to the queue; the router offers it to the next agent.
func (a *API) Decline(ctx context.Context, id string) (*Conversation, error) {
	return a.convAction(ctx, id, "decline", nil)
}

// PickUp assigns a waiting conversation (queued, or left as a message) to this agent, capacity permitting.
func (a *API) PickUp(ctx context.Context, id string) (*Conversation, error) {
	return a.convAction(ctx, id, "assign", nil)
}

// Transfer moves a conversation to an agent (agentID) or to a team's queue (teamID), with an optional
// internal note for the receiving side.
func (a *API) Transfer(ctx context.Context, id, agentID, teamID, note string) (*Conversation, error) {
	return a.convAction(ctx, id, "transfer", map[string]string{"agent_id": agentID, "team_id": teamID, "note": note})
}

// SetPresence sets this agent's own switch: online, away or offline.
func (a *API) SetPresence(ctx context.Context, presence string) error {
	_, err := a.Do(ctx, http.MethodPut, "/api/v1/agents/me/presence", map[string]string{"presence": presence}, nil)
	return err
}

// QueuePosition is where a waiting conversation stands.
type QueuePosition struct {
	Status         string `json:"status"`
	Position       int    `json:"position"`         // 1 = next; 0 when not waiting in a queue
	EstimatedWaitS int    `json:"estimated_wait_s"` // 0 = unknown (nobody who could take it is online)
}

// Queue returns the conversation's place in its team's queue.
func (a *API) Queue(ctx context.Context, id string) (*QueuePosition, error) {
	var q QueuePosition
	_, err := a.Do(ctx, http.MethodGet, "/api/v1/conversations/"+url.PathEscape(id)+"/queue", nil, &q)
	return &q, err
}

// Poll asks for what follows the cursors (id -> last seq), waiting up to timeout.
func (a *API) Poll(ctx context.Context, cursors map[string]uint64, epoch string, timeout time.Duration) (*PollResult, error) {
	parts := make([]string, 0, len(cursors))
	for id, seq := range cursors {
		parts = append(parts, id+":"+strconv.FormatUint(seq, 10))
	}
	q := url.Values{"cursor": {strings.Join(parts, ",")}, "timeout": {strconv.Itoa(int(timeout / time.Second))}}
	if epoch != "" {
		q.Set("epoch", epoch)
	}
	var r PollResult
	_, err := a.Do(ctx, http.MethodGet, "/api/v1/poll?"+q.Encode(), nil, &r)
	return &r, err
}
