package chat

import (
	"encoding/json"
	"time"
	"unicode"
)

// Role is an agent's role. Admins configure everything; supervisors see every team's conversations and the
// live view; agents see their own teams' conversations.
type Role string

// The roles.
const (
	RoleAdmin      Role = "admin"
	RoleSupervisor Role = "supervisor"
	RoleAgent      Role = "agent"
)

// Valid reports whether r is one of the defined roles.
func (r Role) Valid() bool { return r == RoleAdmin || r == RoleSupervisor || r == RoleAgent }

// SeesAllTeams reports whether the role may read every team's conversations.
func (r Role) SeesAllTeams() bool { return r == RoleAdmin || r == RoleSupervisor }

// Presence is an agent's availability. The router only offers conversations to online agents.
type Presence string

// The presence states.
const (
	PresenceOnline  Presence = "online"
	PresenceAway    Presence = "away"
	PresenceOffline Presence = "offline"
)

// Valid reports whether p is a defined presence.
func (p Presence) Valid() bool {
	return p == PresenceOnline || p == PresenceAway || p == PresenceOffline
}

// Agent is a member of the support staff who logs in to the console.
type Agent struct {
	ID         string    `json:"id"`
	Email      string    `json:"email"`
	Name       string    `json:"name"`
	Role       Role      `json:"role"`
	Capacity   int       `json:"capacity"`    // maximum concurrent open conversations
	AutoAccept bool      `json:"auto_accept"` // assigned at once instead of offered
	Weight     int       `json:"weight"`      // routing weight, 1..1000; 100 is neutral
	Presence   Presence  `json:"presence"`    // effective: Availability while connected, offline otherwise
	LastSeen   time.Time `json:"last_seen"`
	// Availability is the agent's own switch (online, away, offline); Presence follows it while they are
	// connected. SlotsUsed counts assigned open conversations plus pending offers.
	Availability   Presence  `json:"availability"`
	SlotsUsed      int       `json:"slots_used"`
	LastAssignedAt time.Time `json:"last_assigned_at,omitzero"`
	Disabled       bool      `json:"disabled"`
	Teams          []string  `json:"teams"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`

	PasswordHash string `json:"-"`
}

// Agent limits and defaults.
const (
	DefaultCapacity = 5
	MaxCapacity     = 1000
	DefaultWeight   = 100
	MaxWeight       = 1000
	MaxNameRunes    = 100
	MaxEmailBytes   = 254
	MinPasswordLen  = 10
	MaxPasswordLen  = 72 // bcrypt ignores bytes past 72; refuse rather than silently truncate
)

// Team groups agents; sites route new conversations to a team.
type Team struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// Site is one website or app that embeds the widget. Its widget key is public; its secret signs identities.
type Site struct {
	ID             string       `json:"id"`
	Name           string       `json:"name"`
	WidgetKey      string       `json:"widget_key"`
	AllowedOrigins []string     `json:"allowed_origins"`
	DefaultTeamID  string       `json:"default_team_id"`
	Settings       SiteSettings `json:"settings"`
	CreatedAt      time.Time    `json:"created_at"`
	UpdatedAt      time.Time    `json:"updated_at"`

	Secret string `json:"-"` // HMAC key for signed customer identities
}

// SiteSettings is everything an admin tunes per site. Stored as JSON so new settings need no migration.
type SiteSettings struct {
	Color    string          `json:"color,omitempty"`    // widget accent, #rrggbb
	Greeting string          `json:"greeting,omitempty"` // shown when the panel opens
	Position string          `json:"position,omitempty"` // "right" (default) or "left"
	Language string          `json:"language,omitempty"` // "" = the browser's; "zh-CN" or "en" forces one
	PreChat  PreChat         `json:"pre_chat,omitzero"`  // the form a customer fills in before the first message
	Routing  RoutingSettings `json:"routing,omitzero"`   // offers, queue limits, reopening, auto-close, business hours
}

// PreChat is a site's pre-chat form: which profile fields the widget asks for before the conversation
// starts, and the departments (teams) a customer may choose between.
type PreChat struct {
	Enabled     bool           `json:"enabled"`
	Fields      []PreChatField `json:"fields,omitempty"`
	Departments []Department   `json:"departments,omitempty"`
}

// PreChatField is one field of the pre-chat form. Name is "name", "email" or "phone" (the customer profile
// fields the visitor session stores).
type PreChatField struct {
	Name     string `json:"name"`
	Required bool   `json:"required,omitempty"`
}

// Department is a choice of the pre-chat form: the team the conversation is routed to, under the label the
// customer sees.
type Department struct {
	TeamID string `json:"team_id"`
	Name   string `json:"name"`
}

// Customer is someone who chats with the agents: an anonymous visitor or a site's identified user.
type Customer struct {
	ID         string          `json:"id"`
	SiteID     string          `json:"site_id"`
	Name       string          `json:"name"`
	Email      string          `json:"email,omitempty"`
	Phone      string          `json:"phone,omitempty"`
	ExternalID string          `json:"external_id,omitempty"` // the site's own user id, when signed
	Context    CustomerContext `json:"context"`
	CreatedAt  time.Time       `json:"created_at"`
	UpdatedAt  time.Time       `json:"updated_at"`
}

// CustomerContext is what the widget knows about where the customer is.
type CustomerContext struct {
	PageURL   string `json:"page_url,omitempty"`
	PageTitle string `json:"page_title,omitempty"`
	Referrer  string `json:"referrer,omitempty"`
	UserAgent string `json:"user_agent,omitempty"`
	Language  string `json:"language,omitempty"`
	Location  string `json:"location,omitempty"`
}

// Channel is where a conversation came from.
type Channel string

// The channels.
const (
	ChannelWeb    Channel = "web"
	ChannelApp    Channel = "app"
	ChannelWeChat Channel = "wechat"
)

// Status is a conversation's lifecycle state (SPEC §3.4).
type Status string

// The conversation states. Every state but closed counts as open: a customer has at most one open
// conversation per site.
const (
	StatusQueued   Status = "queued"   // waiting in its team's queue for an agent
	StatusPending  Status = "pending"  // left as a message (nobody available / out of hours): agents pick it up later
	StatusAssigned Status = "assigned" // held by an agent
	StatusClosed   Status = "closed"
)

// Open reports whether s is one of the open states.
func (s Status) Open() bool { return s != StatusClosed }

// Conversation is one chat between a customer and the support team.
type Conversation struct {
	ID            string    `json:"id"`
	SiteID        string    `json:"site_id"`
	CustomerID    string    `json:"customer_id"`
	TeamID        string    `json:"team_id"`
	AgentID       string    `json:"agent_id,omitempty"` // empty while unassigned
	Status        Status    `json:"status"`
	Channel       Channel   `json:"channel"`
	Priority      int       `json:"priority"`
	LastSeq       uint64    `json:"last_seq"`
	CustomerRead  uint64    `json:"customer_read_seq"`
	AgentRead     uint64    `json:"agent_read_seq"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
	LastMessageAt time.Time `json:"last_message_at"`
	ClosedAt      time.Time `json:"closed_at,omitzero"`

	QueuedAt        time.Time `json:"queued_at,omitzero"`        // when it (last) entered its team's queue
	OfferedTo       string    `json:"offered_to,omitempty"`      // the agent holding the pending offer
	OfferExpiresAt  time.Time `json:"offer_expires_at,omitzero"` // the offer's deadline
	AssignedAt      time.Time `json:"assigned_at,omitzero"`
	LastAgentID     string    `json:"last_agent_id,omitempty"` // the agent it had before it was closed or requeued
	FirstResponseAt time.Time `json:"first_response_at,omitzero"`
}

// SenderType says who wrote a message.
type SenderType string

// The sender types.
const (
	SenderCustomer SenderType = "customer"
	SenderAgent    SenderType = "agent"
	SenderSystem   SenderType = "system"
	SenderBot      SenderType = "bot"
)

// MessageType is the kind of a message.
type MessageType string

// The message types. Notes are internal: never delivered to customers.
const (
	TypeText   MessageType = "text"
	TypeSystem MessageType = "system"
	TypeBot    MessageType = "bot"
	TypeNote   MessageType = "note"
	TypeImage  MessageType = "image" // an uploaded image; Meta holds {"attachment": Attachment}
	TypeFile   MessageType = "file"  // any other uploaded file; Meta holds {"attachment": Attachment}
)

// Message is one entry of a conversation's history, identified by its dense per-conversation sequence number.
type Message struct {
	ConversationID string          `json:"conversation_id"`
	Seq            uint64          `json:"seq"`
	ID             string          `json:"id"`
	SenderType     SenderType      `json:"sender_type"`
	SenderID       string          `json:"sender_id,omitempty"`
	SenderName     string          `json:"sender_name,omitempty"`
	Type           MessageType     `json:"type"`
	Body           string          `json:"body"`
	ClientMsgID    string          `json:"client_msg_id,omitempty"`
	Meta           json.RawMessage `json:"meta,omitempty"` // machine-readable details: system events, attachments
	CreatedAt      time.Time       `json:"ts"`
	Deleted        bool            `json:"deleted,omitempty"` // erased: a tombstone keeps the sequence dense
}

// VisibleToCustomer reports whether the customer side may see m.
func (m *Message) VisibleToCustomer() bool { return m.Type != TypeNote }

// AuditEntry is one record of the audit log: who did what to what, when and from where.
type AuditEntry struct {
	ID         string    `json:"id"`
	At         time.Time `json:"at"`
	ActorType  string    `json:"actor_type"`
	ActorID    string    `json:"actor_id,omitempty"`
	Action     string    `json:"action"`
	TargetType string    `json:"target_type,omitempty"`
	TargetID   string    `json:"target_id,omitempty"`
	IP         string    `json:"ip,omitempty"`
	Detail     string    `json:"detail,omitempty"` // JSON; never bodies, passwords or tokens
}

// PrincipalKind says whose credential a session is.
type PrincipalKind string

// The principal kinds.
const (
	PrincipalAgent    PrincipalKind = "agent"
	PrincipalCustomer PrincipalKind = "customer"
)

// Session is a credential's server-side record. Only the SHA-256 of the token is kept.
type Session struct {
	TokenHash   []byte
	Kind        PrincipalKind
	PrincipalID string
	SiteID      string // customers only
	CreatedAt   time.Time
	ExpiresAt   time.Time
	LastUsedAt  time.Time
	UserAgent   string
	IP          string
}

// Event is one entry of an agent's or a team's event stream: a conversation was created, queued, offered,
// assigned, transferred, closed or reopened. Streams have dense sequence numbers and resume like conversations.
type Event struct {
	Stream         string          `json:"stream"`
	Seq            uint64          `json:"seq"`
	Kind           string          `json:"kind"`
	ConversationID string          `json:"conversation_id"`
	Payload        json.RawMessage `json:"payload,omitempty"`
	CreatedAt      time.Time       `json:"ts"`
}

// Event kinds.
const (
	EventCreated     = "conversation.created"
	EventQueued      = "conversation.queued"
	EventOffered     = "conversation.offered"
	EventAssigned    = "conversation.assigned"
	EventTransferred = "conversation.transferred"
	EventClosed      = "conversation.closed"
	EventReopened    = "conversation.reopened"
	EventUpdated     = "conversation.updated"
)

// TeamStream and AgentStream name the event streams.
func TeamStream(teamID string) string   { return "team:" + teamID }
func AgentStream(agentID string) string { return "agent:" + agentID }

// Attachment is an uploaded file's metadata. The bytes live in file storage under a random key, never under
// the name the client gave; Name is only what is shown and offered as the download name.
type Attachment struct {
	ID             string     `json:"id"`
	ConversationID string     `json:"conversation_id"`
	UploaderType   SenderType `json:"uploader_type"`
	UploaderID     string     `json:"uploader_id"`
	Name           string     `json:"name"`
	ContentType    string     `json:"type"`
	Size           int64      `json:"size"`
	SHA256         string     `json:"sha256"`
	StorageKey     string     `json:"-"`
	CreatedAt      time.Time  `json:"created_at"`
}

// Rating is a customer's satisfaction rating of a closed conversation (CSAT): a score of 1 to 5 and an
// optional comment. A conversation has at most one.
type Rating struct {
	ConversationID string    `json:"conversation_id"`
	CustomerID     string    `json:"customer_id"`
	AgentID        string    `json:"agent_id,omitempty"` // who held the conversation, for reports
	TeamID         string    `json:"team_id,omitempty"`
	Score          int       `json:"score"`
	Comment        string    `json:"comment,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
}

// Rating limits.
const (
	MinRatingScore        = 1
	MaxRatingScore        = 5
	MaxRatingCommentRunes = 1000
)

// CannedReply is a prepared answer an agent inserts by its shortcut ("/refund"): their own, or shared.
type CannedReply struct {
	ID        string    `json:"id"`
	AgentID   string    `json:"agent_id,omitempty"` // empty: shared by every agent
	Shortcut  string    `json:"shortcut"`
	Body      string    `json:"body"`
	Shared    bool      `json:"shared"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ValidateShortcut accepts 1 to 32 letters, digits, '-' and '_' (any script: 退款 is a shortcut too).
func ValidateShortcut(s string) error {
	n := 0
	for _, r := range s {
		n++
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_') {
			return Invalid("shortcut", "a shortcut is letters, digits, '-' and '_' only")
		}
	}
	if n == 0 || n > 32 {
		return Invalid("shortcut", "a shortcut has 1 to 32 characters")
	}
	return nil
}
