package bench

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-chat/parley/client"
)

// LocalIP returns the k-th loopback source address 127.0.x.y (x, y in 1..250): client sockets are spread
// over them so that no source address runs short of ports (about 28,000 each) and per-IP limits of the
// server see many clients, as in production.
func LocalIP(k int) netip.Addr {
	k = k % (250 * 250)
	return netip.AddrFrom4([4]byte{127, 0, byte(1 + k/250), byte(1 + k%250)})
}

// netDialer dials from ip. rcvbuf > 0 fixes the socket's receive buffer (a slow reader's window stays small).
func netDialer(ip netip.Addr, rcvbuf int) *net.Dialer {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip.AsSlice()}, Timeout: 10 * time.Second}
	if rcvbuf > 0 {
		d.Control = func(_, _ string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf)
			})
			if err != nil {
				return err
			}
			return serr
		}
	}
	return d
}

// WSDialer returns a WebSocket dialer whose connections come from ip, with 1 KiB buffers like a browser's
// small frames need.
func WSDialer(ip netip.Addr, rcvbuf int) *websocket.Dialer {
	return &websocket.Dialer{NetDialContext: netDialer(ip, rcvbuf).DialContext, HandshakeTimeout: 15 * time.Second,
		ReadBufferSize: 1024, WriteBufferSize: 1024}
}

// HTTPClient returns an HTTP client whose connections come from ip.
func HTTPClient(ip netip.Addr, conns int) *http.Client {
	tr := &http.Transport{DialContext: netDialer(ip, 0).DialContext, MaxIdleConns: conns, MaxIdleConnsPerHost: conns,
		IdleConnTimeout: 30 * time.Second}
	return &http.Client{Transport: tr, Timeout: 60 * time.Second}
}

// Account is an agent or a customer the setup created.
type Account struct {
	Kind  string   `json:"kind"` // agent or customer
	ID    string   `json:"id"`   // principal id
	Name  string   `json:"name"`
	Token string   `json:"token"`
	Convs []string `json:"convs,omitempty"` // a customer's conversation
}

// Setup creates accounts through the public API.
type Setup struct {
	URL      string
	SiteKey  string
	Admin    *client.API
	TeamID   string
	Password string
	Log      func(format string, a ...any)

	clients []*http.Client
	next    atomic.Int64
}

// NewSetup logs the admin in and finds the default team.
func NewSetup(ctx context.Context, url, siteKey, email, password string) (*Setup, error) {
	s := &Setup{URL: url, SiteKey: siteKey, Password: password, Log: func(string, ...any) {}}
	for i := 0; i < 16; i++ {
		s.clients = append(s.clients, HTTPClient(LocalIP(40000+i), 64))
	}
	s.Admin = &client.API{BaseURL: url, HTTP: s.http()}
	if _, err := s.Admin.Login(ctx, email, password); err != nil {
		return nil, fmt.Errorf("admin login: %w", err)
	}
	var teams struct {
		Teams []struct {
			ID string `json:"id"`
		} `json:"teams"`
	}
	if _, err := s.Admin.Do(ctx, http.MethodGet, "/api/v1/teams", nil, &teams); err != nil || len(teams.Teams) == 0 {
		return nil, fmt.Errorf("list teams: %v", err)
	}
	s.TeamID = teams.Teams[0].ID
	return s, nil
}

func (s *Setup) http() *http.Client { return s.clients[int(s.next.Add(1))%len(s.clients)] }

// Close drops the setup's idle HTTP connections (they count against the server's open files).
func (s *Setup) Close() {
	for _, c := range s.clients {
		c.CloseIdleConnections()
	}
}

// parallel runs fn(i) for i in [0, n) on workers goroutines, stopping at the first error.
func parallel(ctx context.Context, n, workers int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	var once sync.Once
	var first error
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := retry(ctx, func() error { return fn(ctx, i) }); err != nil {
					once.Do(func() { first = err; cancel() })
					return
				}
			}
		}()
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return first
}

// retry repeats fn while it fails with a temporary server error.
func retry(ctx context.Context, fn func() error) error {
	var err error
	for attempt := 0; attempt < 8; attempt++ {
		err = fn()
		if err == nil {
			return nil
		}
		if e, ok := err.(*client.Error); ok && !e.Temporary() {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt+1) * 200 * time.Millisecond):
		}
	}
	return err
}

// Agents creates n agents in the default team and logs each in (from its own source address: logins are
// limited per IP).
// They auto-accept, so the router assigns each conversation once instead of offering it again and again to
// agents who never answer offers (which would add a wave of offer expiries to every load window).
func (s *Setup) Agents(ctx context.Context, prefix string, n int) ([]*Account, error) {
	return s.AgentsWith(ctx, prefix, n, 100, true)
}

// AgentsWith creates and logs in n agents of the default team with the given capacity and auto-accept.
func (s *Setup) AgentsWith(ctx context.Context, prefix string, n, capacity int, autoAccept bool) ([]*Account, error) {
	out := make([]*Account, n)
	start := time.Now()
	err := parallel(ctx, n, 4, func(ctx context.Context, i int) error {
		email := fmt.Sprintf("%s%d@bench.example", prefix, i)
		var a client.Agent
		if out[i] == nil {
			_, err := s.Admin.Do(ctx, http.MethodPost, "/api/v1/agents", map[string]any{"email": email,
				"name": fmt.Sprintf("Agent %s%d", prefix, i), "password": s.Password, "role": "agent",
				"teams": []string{s.TeamID}, "capacity": capacity, "auto_accept": autoAccept}, &a)
			if err != nil && client.Code(err) != "conflict" {
				return fmt.Errorf("create agent %s: %w", email, err)
			}
			out[i] = &Account{Kind: "agent", ID: a.ID, Name: fmt.Sprintf("Agent %s%d", prefix, i)}
		}
		api := &client.API{BaseURL: s.URL, HTTP: HTTPClient(LocalIP(30000+i/10), 1)}
		se, err := api.Login(ctx, email, s.Password)
		if err != nil {
			return fmt.Errorf("log in %s: %w", email, err)
		}
		out[i].ID, out[i].Token = se.Agent.ID, se.Token
		api.HTTP.CloseIdleConnections()
		return nil
	})
	s.Log("setup: %d agents in %s", n, time.Since(start).Round(time.Millisecond))
	return out, err
}

// Customers opens n visitor sessions; with conversations, each also starts its conversation.
func (s *Setup) Customers(ctx context.Context, prefix string, n int, conversations bool, progress func(done int)) ([]*Account, error) {
	out := make([]*Account, n)
	start := time.Now()
	var done atomic.Int64
	err := parallel(ctx, n, 32, func(ctx context.Context, i int) error {
		api := &client.API{BaseURL: s.URL, HTTP: s.http()}
		if out[i] == nil {
			vs, err := api.StartVisitor(ctx, client.Visitor{SiteKey: s.SiteKey, Name: fmt.Sprintf("Customer %s%d", prefix, i)})
			if err != nil {
				return fmt.Errorf("visitor session: %w", err)
			}
			out[i] = &Account{Kind: "customer", ID: vs.Customer.ID, Name: vs.Customer.Name, Token: vs.Token}
		}
		api.Token = out[i].Token
		if conversations {
			c, err := api.StartConversation(ctx, "")
			if err != nil {
				return fmt.Errorf("start conversation: %w", err)
			}
			out[i].Convs = []string{c.ID}
		}
		if d := done.Add(1); progress != nil && d%500 == 0 {
			progress(int(d))
		}
		return nil
	})
	s.Log("setup: %d customers in %s", n, time.Since(start).Round(time.Millisecond))
	return out, err
}
