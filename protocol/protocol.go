// Package protocol defines Parley's real-time wire format: the JSON frames a client and the server exchange
// over the WebSocket (/api/v1/ws) and the long-poll endpoint (/api/v1/poll), the error codes and the close codes.
// docs/protocol.md is the prose description of the same contract. The server's transports and the Go client
// both use these types, so they cannot drift apart.
package protocol

import (
	"encoding/json"
	"time"
)

// Client frame types (client → server).
const (
	TypeAuth        = "auth"        // {token}: the first frame of a connection
	TypeSubscribe   = "subscribe"   // {subscriptions:[cursor...]}: subscribe and resume
	TypeUnsubscribe = "unsubscribe" // {subscriptions:[cursor...]} (only the target fields matter)
	TypeSend        = "send"        // {conversation_id, client_msg_id, body, msg_type}
	TypeRead        = "read"        // {conversation_id, seq}: move this side's read cursor; from the server: {conversation_id, side, seq}
	TypeTyping      = "typing"      // {conversation_id}: "I am typing" (ephemeral); from the server: {conversation_id, side, name}
	TypePing        = "ping"        // application-level ping; answered with pong
)

// Server frame types (server → client).
const (
	TypeHello     = "hello"     // after a successful auth: {epoch, principal, heartbeat_s}
	TypeAck       = "ack"       // a send was durably stored: {client_msg_id, conversation_id, seq, id, ts, epoch, duplicate}
	TypeMessage   = "message"   // {epoch, message}: a message of a subscribed conversation
	TypeEvent     = "event"     // {epoch, event}: an entry of a subscribed agent or team stream
	TypeResumed   = "resumed"   // the answer to one subscription: {conversation_id|stream, recovered, next_seq, reset, head_seq}
	TypeHeartbeat = "heartbeat" // {heads:{id:seq}}: the head of every subscription, to discover lost frames
	TypeError     = "error"     // {ref, code, error, conversation_id, client_msg_id}
	TypePong      = "pong"
	TypeActivity  = "activity" // {conversation_id, seq}: a conversation of a subscribed team stream has news (ephemeral)
	TypeQueue     = "queue"    // {conversation_id, position, estimated_wait_s}: a waiting customer's place in the queue (ephemeral)
)

// Message types a client may send: text, or note (agents only; never delivered to customers).
const (
	MsgText = "text"
	MsgNote = "note"
)

// Cursor names one subscription and the client's position in it: a conversation (ConversationID) or an
// agent or team event stream (Stream, "agent:<id>" or "team:<id>").
type Cursor struct {
	ConversationID string `json:"conversation_id,omitempty"`
	Stream         string `json:"stream,omitempty"`
	Epoch          string `json:"epoch,omitempty"`
	LastSeq        uint64 `json:"last_seq"`
}

// Key returns the subscription's target id: the conversation id or the stream name.
func (c Cursor) Key() string {
	if c.ConversationID != "" {
		return c.ConversationID
	}
	return c.Stream
}

// ClientFrame is every frame a client sends; Type says which fields matter.
type ClientFrame struct {
	Type           string   `json:"type"`
	ID             string   `json:"id,omitempty"` // optional request id, echoed as ref in the reply
	Token          string   `json:"token,omitempty"`
	Subscriptions  []Cursor `json:"subscriptions,omitempty"`
	ConversationID string   `json:"conversation_id,omitempty"`
	ClientMsgID    string   `json:"client_msg_id,omitempty"`
	Body           string   `json:"body,omitempty"`
	MsgType        string   `json:"msg_type,omitempty"`
	Seq            uint64   `json:"seq,omitempty"`
}

// Message is a message as delivered. A Hidden message carries only its seq (and id): an internal note seen
// by a customer, or an erased message. It exists so every reader's sequence stays dense.
type Message struct {
	ConversationID string          `json:"conversation_id"`
	Seq            uint64          `json:"seq"`
	ID             string          `json:"id,omitempty"`
	SenderType     string          `json:"sender_type,omitempty"`
	SenderID       string          `json:"sender_id,omitempty"`
	SenderName     string          `json:"sender_name,omitempty"`
	Type           string          `json:"type,omitempty"`
	Body           string          `json:"body,omitempty"`
	ClientMsgID    string          `json:"client_msg_id,omitempty"`
	Meta           json.RawMessage `json:"meta,omitempty"`
	TS             time.Time       `json:"ts,omitzero"`
	Hidden         bool            `json:"hidden,omitempty"`
}

// Event is an entry of an agent or team stream.
type Event struct {
	Stream         string          `json:"stream"`
	Seq            uint64          `json:"seq"`
	Kind           string          `json:"kind"`
	ConversationID string          `json:"conversation_id,omitempty"`
	Payload        json.RawMessage `json:"payload,omitempty"`
	TS             time.Time       `json:"ts,omitzero"`
}

// Principal says who a connection is authenticated as.
type Principal struct {
	Kind   string `json:"kind"` // agent or customer
	ID     string `json:"id"`
	Name   string `json:"name,omitempty"`
	Role   string `json:"role,omitempty"`
	SiteID string `json:"site_id,omitempty"`
}

// ServerFrame is every frame the server sends; Type says which fields are set.
type ServerFrame struct {
	Type  string `json:"type"`
	Ref   string `json:"ref,omitempty"`
	Epoch string `json:"epoch,omitempty"`

	// ack, read, typing, resumed, error, activity
	ConversationID string    `json:"conversation_id,omitempty"`
	Stream         string    `json:"stream,omitempty"`
	ClientMsgID    string    `json:"client_msg_id,omitempty"`
	Seq            uint64    `json:"seq,omitempty"`
	ID             string    `json:"id,omitempty"`
	TS             time.Time `json:"ts,omitzero"`
	Duplicate      bool      `json:"duplicate,omitempty"`

	Message *Message `json:"message,omitempty"`
	Event   *Event   `json:"event,omitempty"`

	// resumed
	Recovered *bool  `json:"recovered,omitempty"`
	NextSeq   uint64 `json:"next_seq,omitempty"`
	Reset     bool   `json:"reset,omitempty"`
	HeadSeq   uint64 `json:"head_seq,omitempty"`

	// read receipts and typing
	Side string `json:"side,omitempty"` // customer or agent
	Name string `json:"name,omitempty"`

	Heads map[string]uint64 `json:"heads,omitempty"`

	// queue: the position (1 = next) and the estimated wait in seconds (0 = unknown: nobody is online)
	Position       int `json:"position,omitempty"`
	EstimatedWaitS int `json:"estimated_wait_s,omitempty"`

	// hello
	Principal  *Principal `json:"principal,omitempty"`
	HeartbeatS int        `json:"heartbeat_s,omitempty"`

	// error
	Code  string `json:"code,omitempty"`
	Error string `json:"error,omitempty"`
	Field string `json:"field,omitempty"`
}

// WebSocket close codes. 1xxx are the standard ones; 4xxx are Parley's.
const (
	CloseNormal         = 1000
	CloseGoingAway      = 1001 // the server is shutting down: reconnect (to another node) and resume
	CloseUnsupported    = 1003 // a binary frame: the protocol is JSON text
	CloseInvalidUTF8    = 1007 // a text frame that is not valid UTF-8
	ClosePolicy         = 1008 // Origin not allowed
	CloseTooBig         = 1009 // a frame over 16 KiB
	CloseInternal       = 1011
	CloseUnauthorized   = 4001 // no valid auth frame in time, or a bad token
	CloseSlowConsumer   = 4008 // the client did not read fast enough; reconnect and resume, nothing is lost
	CloseRevoked        = 4009 // the session was revoked (logout, disabled account, password or role change)
	CloseTooManyErrors  = 4010 // too many malformed frames in a row
	ClosePingTimeout    = 4012 // no pong in time: the connection is half-open
	CloseAuthTimeoutSec = 10
)

// MaxFrameBytes is the largest client frame accepted.
const MaxFrameBytes = 16 << 10

// MaxSubscriptionsPerFrame is the most cursors one subscribe frame may carry; the frame must also fit in
// MaxFrameBytes, which with conversation cursors (~110 bytes each) allows about 140.
const MaxSubscriptionsPerFrame = 500

// ResumeLimit is how many missed messages a subscription replays; beyond it the answer is recovered:false and
// the client pages the rest through the history API.
const ResumeLimit = 200
