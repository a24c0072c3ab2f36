package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"strings"
	"time"

	"github.com/parley-chat/parley/internal/chat"
)

// CustomerStore is what customer authentication needs of the database.
type CustomerStore interface {
	SiteByKey(ctx context.Context, key string) (*chat.Site, error)
	Site(ctx context.Context, id string) (*chat.Site, error)
	CreateCustomer(ctx context.Context, c *chat.Customer, channel chat.Channel, externalID string) (*chat.Customer, bool, error)
	UpdateCustomer(ctx context.Context, c *chat.Customer) error
	CreateSession(ctx context.Context, se *chat.Session) error
	CustomerSession(ctx context.Context, hash []byte) (*chat.Session, *chat.Customer, error)
	TouchSession(ctx context.Context, se *chat.Session, idle, absolute time.Duration) error
}

// Visitor tokens live long: a returning customer finds their conversation weeks later. They are refreshed on use.
const (
	visitorIdle     = 90 * 24 * time.Hour
	visitorAbsolute = 2 * 365 * 24 * time.Hour
)

// VisitorRequest is what the widget (or an app) sends to open or resume a customer session.
type VisitorRequest struct {
	SiteKey  string
	Token    string // a visitor token kept by the client; empty for a new visitor
	UserID   string // the site's own user id, when the site signs identities
	UserHash string // hex HMAC-SHA256(site secret, UserID)
	Name     string
	Email    string
	Phone    string
	Context  chat.CustomerContext
	Channel  chat.Channel
	IP       string
}

// VisitorSession is the answer: the customer, the site and the token to keep (never put it in a URL).
type VisitorSession struct {
	Token    string
	Session  *chat.Session
	Customer *chat.Customer
	Site     *chat.Site
}

// SignIdentity returns the identity hash a site's backend computes for one of its users: hex
// HMAC-SHA256(secret, userID).
func SignIdentity(secret, userID string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(userID))
	return hex.EncodeToString(m.Sum(nil))
}

// StartVisitor opens or resumes a customer session. A valid token of the same site resumes its customer (and
// keeps the token); a signed identity finds or creates the customer linked to that user id, so history follows
// the user across devices; otherwise a new anonymous customer is created. Profile fields given are stored.
func (s *Service) StartVisitor(ctx context.Context, st CustomerStore, in VisitorRequest) (*VisitorSession, error) {
	site, err := st.SiteByKey(ctx, in.SiteKey)
	if err != nil {
		if chat.IsCode(err, chat.CodeNotFound) {
			return nil, chat.Invalid("site_key", "unknown site key")
		}
		return nil, err
	}
	if in.Channel == "" {
		in.Channel = chat.ChannelWeb
	}
	if in.UserID != "" {
		if len(in.UserID) > 128 || !validPrintable(in.UserID) {
			return nil, chat.Invalid("user_id", "user_id must be 1 to 128 printable characters")
		}
		want := SignIdentity(site.Secret, in.UserID)
		if subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(in.UserHash))) != 1 {
			return nil, chat.Errorf(chat.CodeUnauthorized, "the identity signature (user_hash) does not match user_id")
		}
	}
	if err := validateProfile(in); err != nil {
		return nil, err
	}
	var cust *chat.Customer
	var se *chat.Session
	token := ""
	// Resume with the kept token, unless a signed identity names another customer.
	if in.Token != "" {
		p, err := s.AuthenticateCustomer(ctx, st, in.Token)
		if err == nil && p.Session.SiteID == site.ID {
			cust, se, token = p.Customer, p.Session, in.Token
		} else if err != nil && !chat.IsCode(err, chat.CodeUnauthorized) {
			return nil, err
		}
	}
	if in.UserID != "" {
		byID, _, err := st.CreateCustomer(ctx, &chat.Customer{SiteID: site.ID, Name: in.Name, Email: in.Email,
			Phone: in.Phone, Context: in.Context}, in.Channel, in.UserID)
		if err != nil {
			return nil, err
		}
		if cust == nil || cust.ID != byID.ID {
			cust, se, token = byID, nil, ""
		}
	}
	if cust == nil {
		cust, _, err = st.CreateCustomer(ctx, &chat.Customer{SiteID: site.ID, Name: in.Name, Email: in.Email,
			Phone: in.Phone, Context: in.Context}, in.Channel, "")
		if err != nil {
			return nil, err
		}
	} else if mergeProfile(cust, in) {
		if err := st.UpdateCustomer(ctx, cust); err != nil {
			return nil, err
		}
	}
	if token == "" {
		var hash []byte
		token, hash = NewToken(CustomerTokenPrefix)
		now := s.o.Now()
		se = &chat.Session{TokenHash: hash, Kind: chat.PrincipalCustomer, PrincipalID: cust.ID, SiteID: site.ID,
			CreatedAt: now, ExpiresAt: now.Add(visitorIdle), LastUsedAt: now, IP: in.IP, UserAgent: in.Context.UserAgent}
		if err := st.CreateSession(ctx, se); err != nil {
			return nil, err
		}
	}
	return &VisitorSession{Token: token, Session: se, Customer: cust, Site: site}, nil
}

// mergeProfile copies the non-empty profile fields of in onto c and reports whether anything changed.
func mergeProfile(c *chat.Customer, in VisitorRequest) bool {
	changed := false
	set := func(dst *string, v string) {
		if v != "" && *dst != v {
			*dst, changed = v, true
		}
	}
	set(&c.Name, in.Name)
	set(&c.Email, in.Email)
	set(&c.Phone, in.Phone)
	set(&c.Context.PageURL, in.Context.PageURL)
	set(&c.Context.PageTitle, in.Context.PageTitle)
	set(&c.Context.Referrer, in.Context.Referrer)
	set(&c.Context.UserAgent, in.Context.UserAgent)
	set(&c.Context.Language, in.Context.Language)
	return changed
}

func validPrintable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

func validateProfile(in VisitorRequest) error {
	if in.Name != "" {
		if err := ValidateName(in.Name); err != nil {
			return err
		}
	}
	if in.Email != "" && ValidateEmail(strings.ToLower(in.Email)) != nil {
		return chat.Invalid("email", "%q is not an e-mail address", in.Email)
	}
	if len(in.Phone) > 32 || !validPhone(in.Phone) {
		return chat.Invalid("phone", "the phone number may hold digits, spaces, +, -, ( and ), at most 32 characters")
	}
	for field, v := range map[string]string{"page_url": in.Context.PageURL, "page_title": in.Context.PageTitle,
		"referrer": in.Context.Referrer, "user_agent": in.Context.UserAgent, "language": in.Context.Language} {
		if len(v) > 2048 || !validPrintable(v) {
			return chat.Invalid(field, "%s must be printable text of at most 2048 bytes", field)
		}
	}
	return nil
}

func validPhone(s string) bool {
	for _, r := range s {
		if !(r >= '0' && r <= '9') && !strings.ContainsRune(" +-()", r) {
			return false
		}
	}
	return true
}

// AuthenticateCustomer resolves a visitor token. Anything but a live customer session is Unauthorized.
func (s *Service) AuthenticateCustomer(ctx context.Context, st CustomerStore, token string) (*Principal, error) {
	if !strings.HasPrefix(token, CustomerTokenPrefix) || len(token) > 128 {
		return nil, errBadVisitor
	}
	// One read of the session and its customer together. It is not cached: a request must see a logout, an
	// expiry or a purge at once, on every node, and a widget rarely repeats a request within seconds (messages
	// and live updates travel over one authenticated WebSocket), so a short-lived cache would save little.
	se, c, err := st.CustomerSession(ctx, HashToken(token))
	if chat.IsCode(err, chat.CodeNotFound) {
		return nil, errBadVisitor
	}
	if err != nil {
		return nil, err
	}
	_ = st.TouchSession(ctx, se, visitorIdle, visitorAbsolute)
	return &Principal{Kind: chat.PrincipalCustomer, Customer: c, Session: se}, nil
}

var errBadVisitor = chat.Errorf(chat.CodeUnauthorized, "the visitor token is missing, expired or revoked; start a new visitor session")
