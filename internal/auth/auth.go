package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/privacy"
	"github.com/parley-chat/parley/internal/ratelimit"
	"github.com/parley-chat/parley/internal/store"
)

// Token prefixes tell an agent's session token from a customer's visitor token at a glance, so one is never
// accepted where the other is expected.
const (
	AgentTokenPrefix    = "pa_"
	CustomerTokenPrefix = "pv_"
)

// Store is what the auth service needs of the database.
type Store interface {
	AgentByEmail(ctx context.Context, email string) (*chat.Agent, error)
	Agent(ctx context.Context, id string) (*chat.Agent, error)
	CreateAgent(ctx context.Context, a *chat.Agent) error
	UpdateAgent(ctx context.Context, id string, p store.AgentPatch) (*chat.Agent, error)
	CreateSession(ctx context.Context, se *chat.Session) error
	Session(ctx context.Context, hash []byte) (*chat.Session, error)
	AgentSession(ctx context.Context, hash []byte) (*chat.Session, *chat.Agent, error)
	TouchSession(ctx context.Context, se *chat.Session, idle, absolute time.Duration) error
	DeleteSession(ctx context.Context, hash []byte) error
	Audit(ctx context.Context, e chat.AuditEntry) error
}

// Principal is who a request or connection acts as. Exactly one of Agent and Customer is set.
type Principal struct {
	Kind     chat.PrincipalKind
	Agent    *chat.Agent
	Customer *chat.Customer
	Session  *chat.Session
}

// ID returns the principal's agent or customer id.
func (p *Principal) ID() string {
	if p.Agent != nil {
		return p.Agent.ID
	}
	if p.Customer != nil {
		return p.Customer.ID
	}
	return ""
}

// IsAdmin reports whether the principal is an admin agent.
func (p *Principal) IsAdmin() bool { return p.Agent != nil && p.Agent.Role == chat.RoleAdmin }

// Options configure the service.
type Options struct {
	Secret      []byte
	SessionTTL  time.Duration
	SessionIdle time.Duration
	BcryptCost  int // 0 = bcrypt.DefaultCost+1
	Now         func() time.Time
	// OnRevoke is called after a principal's sessions were revoked (disable, password change, logout) so that
	// live connections using them are closed.
	OnRevoke func(principalID string)
}

// Service authenticates and manages agent accounts.
type Service struct {
	st         Store
	o          Options
	byAccount  *ratelimit.Keyed
	byIP       *ratelimit.Keyed
	dummyHash  []byte
	bcryptCost int
}

// New returns the service.
func New(st Store, o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.OnRevoke == nil {
		o.OnRevoke = func(string) {}
	}
	cost := o.BcryptCost
	if cost == 0 {
		cost = bcrypt.DefaultCost + 1
	}
	dummy, _ := bcrypt.GenerateFromPassword([]byte("parley-timing-equalizer"), cost)
	return &Service{
		st: st, o: o, bcryptCost: cost, dummyHash: dummy,
		// 5 attempts per account in a burst, then one every 12 s; 30 per IP, then one every 2 s. Enough for a
		// person who mistypes, far too few to guess a password.
		byAccount: ratelimit.New(1.0/12, 5).WithClock(o.Now),
		byIP:      ratelimit.New(0.5, 30).WithClock(o.Now),
	}
}

// HashPassword returns the bcrypt hash of pw after checking its length.
func (s *Service) HashPassword(pw string) (string, error) {
	if err := ValidatePassword(pw); err != nil {
		return "", err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), s.bcryptCost)
	return string(h), err
}

// ValidatePassword checks a new password's length.
func ValidatePassword(pw string) error {
	if len(pw) < chat.MinPasswordLen {
		return chat.Invalid("password", "the password must be at least %d characters long", chat.MinPasswordLen)
	}
	if len(pw) > chat.MaxPasswordLen {
		return chat.Invalid("password", "the password must be at most %d bytes long", chat.MaxPasswordLen)
	}
	if !utf8.ValidString(pw) {
		return chat.Invalid("password", "the password is not valid UTF-8")
	}
	return nil
}

// NewToken returns a fresh token with the given prefix (130 random bits) and the hash to store.
func NewToken(prefix string) (token string, hash []byte) {
	token = prefix + rand.Text()
	return token, HashToken(token)
}

// HashToken returns the stored form of a token.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// ErrBadLogin is the one answer to every failed login, so the response does not tell which part was wrong.
var ErrBadLogin = chat.Errorf(chat.CodeUnauthorized, "wrong e-mail or password")

// Login checks an agent's e-mail and password and opens a session. Attempts are limited per account and
// per IP; every outcome is audited.
func (s *Service) Login(ctx context.Context, email, password, ip, userAgent string) (string, *chat.Session, *chat.Agent, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if ok, wait := s.byIP.Allow(ip); !ok {
		return "", nil, nil, rateLimited(wait)
	}
	if ok, wait := s.byAccount.Allow(email); !ok {
		s.audit(ctx, chat.AuditEntry{ActorType: "anonymous", Action: "login.throttled", TargetType: "agent", IP: ip,
			Detail: detail(map[string]string{"email": privacy.Email(email)})})
		return "", nil, nil, rateLimited(wait)
	}
	a, err := s.st.AgentByEmail(ctx, email)
	if err != nil && !chat.IsCode(err, chat.CodeNotFound) {
		return "", nil, nil, err
	}
	if a == nil || a.Disabled {
		// Spend the same time as a real comparison: response time must not reveal which accounts exist.
		_ = bcrypt.CompareHashAndPassword(s.dummyHash, []byte(password))
		s.audit(ctx, chat.AuditEntry{ActorType: "anonymous", Action: "login.failed", TargetType: "agent", IP: ip,
			TargetID: idOf(a), Detail: detail(map[string]string{"email": privacy.Email(email), "reason": reason(a)})})
		return "", nil, nil, ErrBadLogin
	}
	if bcrypt.CompareHashAndPassword([]byte(a.PasswordHash), []byte(password)) != nil {
		s.audit(ctx, chat.AuditEntry{ActorType: "anonymous", Action: "login.failed", TargetType: "agent", TargetID: a.ID,
			IP: ip, Detail: detail(map[string]string{"reason": "password"})})
		return "", nil, nil, ErrBadLogin
	}
	s.byAccount.Reset(email)
	token, hash := NewToken(AgentTokenPrefix)
	now := s.o.Now()
	exp := now.Add(s.o.SessionIdle)
	if abs := now.Add(s.o.SessionTTL); exp.After(abs) {
		exp = abs
	}
	se := &chat.Session{TokenHash: hash, Kind: chat.PrincipalAgent, PrincipalID: a.ID, CreatedAt: now,
		ExpiresAt: exp, LastUsedAt: now, UserAgent: userAgent, IP: ip}
	if err := s.st.CreateSession(ctx, se); err != nil {
		return "", nil, nil, err
	}
	s.audit(ctx, chat.AuditEntry{ActorType: "agent", ActorID: a.ID, Action: "login", TargetType: "agent", TargetID: a.ID, IP: ip})
	return token, se, a, nil
}

func idOf(a *chat.Agent) string {
	if a == nil {
		return ""
	}
	return a.ID
}

func reason(a *chat.Agent) string {
	if a == nil {
		return "unknown account"
	}
	return "disabled"
}

func rateLimited(wait time.Duration) error {
	secs := int(wait.Seconds() + 0.999)
	if secs < 1 {
		secs = 1
	}
	return &chat.Error{Code: chat.CodeRateLimited, Message: fmt.Sprintf("too many attempts; try again in %d seconds", secs)}
}

// Logout revokes the session of token.
func (s *Service) Logout(ctx context.Context, p *Principal, ip string) error {
	if p == nil || p.Session == nil {
		return nil
	}
	if err := s.st.DeleteSession(ctx, p.Session.TokenHash); err != nil {
		return err
	}
	s.audit(ctx, chat.AuditEntry{ActorType: string(p.Kind), ActorID: p.ID(), Action: "logout", IP: ip})
	s.o.OnRevoke(p.ID())
	return nil
}

// AuthenticateAgent resolves an agent session token. Unknown, expired, revoked and malformed tokens, customer
// tokens, and tokens of disabled agents are all Unauthorized.
func (s *Service) AuthenticateAgent(ctx context.Context, token string) (*Principal, error) {
	if !strings.HasPrefix(token, AgentTokenPrefix) || len(token) > 128 {
		return nil, errBadToken
	}
	// One read of the session, its agent and the agent's teams. Not cached: a logout, a disabled account or a
	// changed role must take effect at once, on every node.
	se, a, err := s.st.AgentSession(ctx, HashToken(token))
	if chat.IsCode(err, chat.CodeNotFound) || (err == nil && a.Disabled) {
		return nil, errBadToken
	}
	if err != nil {
		return nil, err
	}
	// A failed touch only delays the idle expiry; the request itself may go on.
	_ = s.st.TouchSession(ctx, se, s.o.SessionIdle, s.o.SessionTTL)
	return &Principal{Kind: chat.PrincipalAgent, Agent: a, Session: se}, nil
}

var errBadToken = chat.Errorf(chat.CodeUnauthorized, "the session is missing, expired or revoked; log in again")

// CSRFToken returns the anti-forgery token of a session: an HMAC of the session, so it cannot be forged
// without the server secret and dies with the session.
func (s *Service) CSRFToken(se *chat.Session) string {
	m := hmac.New(sha256.New, s.o.Secret)
	m.Write([]byte("csrf\x00"))
	m.Write(se.TokenHash)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// CheckCSRF compares a request's anti-forgery header with the session's token in constant time.
func (s *Service) CheckCSRF(se *chat.Session, got string) bool {
	want := s.CSRFToken(se)
	return subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}

// NewAgent is the input to CreateAgent.
type NewAgent struct {
	Email      string
	Name       string
	Password   string
	Role       chat.Role
	Capacity   int
	AutoAccept bool
	Weight     int
	Teams      []string
}

// CreateAgent validates and creates an agent. actor is nil for the system (first run, the admin command).
func (s *Service) CreateAgent(ctx context.Context, actor *Principal, in NewAgent, ip string) (*chat.Agent, error) {
	if actor != nil && !actor.IsAdmin() {
		return nil, chat.Errorf(chat.CodeForbidden, "only admins manage agents")
	}
	email := strings.ToLower(strings.TrimSpace(in.Email))
	if err := ValidateEmail(email); err != nil {
		return nil, err
	}
	name := strings.TrimSpace(in.Name)
	if name == "" {
		name = email[:strings.IndexByte(email, '@')]
	}
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	if in.Role == "" {
		in.Role = chat.RoleAgent
	}
	if !in.Role.Valid() {
		return nil, chat.Invalid("role", "role must be admin, supervisor or agent")
	}
	if in.Capacity == 0 {
		in.Capacity = chat.DefaultCapacity
	}
	if err := ValidateCapacity(in.Capacity); err != nil {
		return nil, err
	}
	if in.Weight == 0 {
		in.Weight = chat.DefaultWeight
	}
	if err := ValidateWeight(in.Weight); err != nil {
		return nil, err
	}
	hash, err := s.HashPassword(in.Password)
	if err != nil {
		return nil, err
	}
	a := &chat.Agent{Email: email, Name: name, Role: in.Role, Capacity: in.Capacity, AutoAccept: in.AutoAccept,
		Weight: in.Weight, PasswordHash: hash, Teams: in.Teams, Presence: chat.PresenceOffline}
	if err := s.st.CreateAgent(ctx, a); err != nil {
		return nil, err
	}
	s.audit(ctx, chat.AuditEntry{ActorType: actorType(actor), ActorID: actorID(actor), Action: "agent.create",
		TargetType: "agent", TargetID: a.ID, IP: ip, Detail: detail(map[string]string{"role": string(a.Role)})})
	return s.st.Agent(ctx, a.ID)
}

// AgentChanges is the input to UpdateAgent; nil fields stay unchanged.
type AgentChanges struct {
	Name       *string
	Role       *chat.Role
	Capacity   *int
	AutoAccept *bool
	Weight     *int
	Disabled   *bool
	Teams      []string
}

// UpdateAgent changes an agent. Admins may change anything of anyone except demote or disable themselves
// (so there is always an admin); other agents may only change their own name.
func (s *Service) UpdateAgent(ctx context.Context, actor *Principal, id string, c AgentChanges, ip string) (*chat.Agent, error) {
	self := actor != nil && actor.Agent != nil && actor.Agent.ID == id
	if actor != nil && !actor.IsAdmin() {
		if !self || c.Role != nil || c.Capacity != nil || c.AutoAccept != nil || c.Weight != nil || c.Disabled != nil || c.Teams != nil {
			return nil, chat.Errorf(chat.CodeForbidden, "only admins change roles, capacity, routing and teams")
		}
	}
	if self && ((c.Role != nil && *c.Role != chat.RoleAdmin) || (c.Disabled != nil && *c.Disabled)) {
		return nil, chat.Errorf(chat.CodeConflict, "admins cannot demote or disable themselves; ask another admin")
	}
	p := store.AgentPatch{Role: c.Role, Capacity: c.Capacity, AutoAccept: c.AutoAccept, Weight: c.Weight, Disabled: c.Disabled, Teams: c.Teams}
	if c.Name != nil {
		n := strings.TrimSpace(*c.Name)
		if err := ValidateName(n); err != nil {
			return nil, err
		}
		p.Name = &n
	}
	if c.Role != nil && !c.Role.Valid() {
		return nil, chat.Invalid("role", "role must be admin, supervisor or agent")
	}
	if c.Capacity != nil {
		if err := ValidateCapacity(*c.Capacity); err != nil {
			return nil, err
		}
	}
	if c.Weight != nil {
		if err := ValidateWeight(*c.Weight); err != nil {
			return nil, err
		}
	}
	before, err := s.st.Agent(ctx, id)
	if err != nil {
		return nil, err
	}
	a, err := s.st.UpdateAgent(ctx, id, p)
	if err != nil {
		return nil, err
	}
	changes := map[string]string{}
	if before.Role != a.Role {
		changes["role"] = string(before.Role) + "->" + string(a.Role)
	}
	if before.Disabled != a.Disabled {
		changes["disabled"] = fmt.Sprint(a.Disabled)
	}
	if before.Capacity != a.Capacity {
		changes["capacity"] = fmt.Sprintf("%d->%d", before.Capacity, a.Capacity)
	}
	if before.Weight != a.Weight {
		changes["weight"] = fmt.Sprintf("%d->%d", before.Weight, a.Weight)
	}
	if before.AutoAccept != a.AutoAccept {
		changes["auto_accept"] = fmt.Sprint(a.AutoAccept)
	}
	if c.Teams != nil {
		changes["teams"] = strings.Join(a.Teams, ",")
	}
	if before.Name != a.Name {
		changes["name"] = "changed"
	}
	if len(changes) > 0 {
		s.audit(ctx, chat.AuditEntry{ActorType: actorType(actor), ActorID: actorID(actor), Action: "agent.update",
			TargetType: "agent", TargetID: id, IP: ip, Detail: detail(changes)})
	}
	if a.Disabled || (before.Role != a.Role) || c.Teams != nil {
		// Sessions of a disabled agent were deleted with the change; live connections must go too. A role or
		// team change closes them as well, so that subscriptions are re-authorized under the new rights.
		s.o.OnRevoke(id)
	}
	return a, nil
}

// SetPassword changes an agent's password. Agents changing their own must give the current one; admins may
// reset anyone's. Every session of the agent is revoked.
func (s *Service) SetPassword(ctx context.Context, actor *Principal, id, current, next, ip string) error {
	self := actor != nil && actor.Agent != nil && actor.Agent.ID == id
	if actor != nil && !actor.IsAdmin() && !self {
		return chat.Errorf(chat.CodeForbidden, "only admins reset other agents' passwords")
	}
	if self {
		if bcrypt.CompareHashAndPassword([]byte(actor.Agent.PasswordHash), []byte(current)) != nil {
			return chat.Invalid("current_password", "the current password is wrong")
		}
	}
	hash, err := s.HashPassword(next)
	if err != nil {
		return err
	}
	if _, err := s.st.UpdateAgent(ctx, id, store.AgentPatch{PasswordHash: &hash}); err != nil {
		return err
	}
	s.audit(ctx, chat.AuditEntry{ActorType: actorType(actor), ActorID: actorID(actor), Action: "agent.password",
		TargetType: "agent", TargetID: id, IP: ip})
	s.o.OnRevoke(id)
	return nil
}

func actorType(p *Principal) string {
	if p == nil {
		return "system"
	}
	return string(p.Kind)
}

func actorID(p *Principal) string {
	if p == nil {
		return ""
	}
	return p.ID()
}

// audit records e; a failure to audit is not a reason to fail the user's request, but it is logged by the
// store's caller through the returned error being dropped here deliberately.
func (s *Service) audit(ctx context.Context, e chat.AuditEntry) {
	_ = s.st.Audit(context.WithoutCancel(ctx), e)
}

func detail(m map[string]string) string {
	b, _ := json.Marshal(m)
	return string(b)
}

// ValidateEmail checks an agent's e-mail address.
func ValidateEmail(email string) error {
	if email == "" || len(email) > chat.MaxEmailBytes {
		return chat.Invalid("email", "an e-mail address of at most %d characters is required", chat.MaxEmailBytes)
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || !strings.Contains(email, "@") {
		return chat.Invalid("email", "%q is not an e-mail address", email)
	}
	return nil
}

// ValidateName checks a display name: 1 to 100 characters of valid UTF-8 without control characters.
func ValidateName(name string) error {
	if !utf8.ValidString(name) {
		return chat.Invalid("name", "the name is not valid UTF-8")
	}
	n := utf8.RuneCountInString(name)
	if n == 0 || n > chat.MaxNameRunes {
		return chat.Invalid("name", "the name must be 1 to %d characters long", chat.MaxNameRunes)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return chat.Invalid("name", "the name must not contain control characters")
		}
	}
	return nil
}

// ValidateCapacity checks an agent's concurrent-conversation limit.
func ValidateCapacity(c int) error {
	if c < 0 || c > chat.MaxCapacity {
		return chat.Invalid("capacity", "capacity must be 0 to %d", chat.MaxCapacity)
	}
	return nil
}

// ValidateWeight checks an agent's routing weight.
func ValidateWeight(w int) error {
	if w < 1 || w > chat.MaxWeight {
		return chat.Invalid("weight", "weight must be 1 to %d", chat.MaxWeight)
	}
	return nil
}
