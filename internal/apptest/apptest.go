// Package apptest runs complete Parley nodes for tests: the real store (a fresh SQLite file or MariaDB
// database), the hub, the committer and the HTTP server on a loopback port, with helpers to create agents
// and customers through the public API.
package apptest

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/config"
	"github.com/parley-chat/parley/internal/store/storetest"
)

// Password is every test agent's password.
const Password = "correct horse battery"

// Node is one running Parley node.
type Node struct {
	t       testing.TB
	App     *app.App
	URL     string
	Server  *httptest.Server
	Logs    *SyncBuffer
	Admin   *client.API // logged in as the first admin
	SiteKey string
	TeamID  string
	DataDir string
	DB      string // PARLEY_DB value ("" for SQLite)
}

// Options adjust Start.
type Options struct {
	Args    []string         // extra serve flags
	DataDir string           // reuse a data directory (restart tests); "" = a new one
	DB      string           // reuse a MySQL database (PARLEY_DB form); "" = a new one for kind mysql
	Addr    string           // listen on this address (restart tests keep the port); "" = any free port
	Now     func() time.Time // the node's clock; nil = time.Now
}

// Start runs a node on a fresh database of kind ("sqlite" or "mysql") and stops it when the test ends.
func Start(t testing.TB, kind string, o Options) *Node {
	t.Helper()
	if o.DataDir == "" {
		o.DataDir = t.TempDir()
	}
	if kind == "mysql" && o.DB == "" {
		o.DB = storetest.MySQLURL(t, storetest.FreshMySQL(t))
	}
	ln, err := net.Listen("tcp", nonEmpty(o.Addr, "127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	args := append([]string{"-data-dir", o.DataDir, "-addr", ln.Addr().String(), "-public-url", url,
		"-admin-email", "admin@example.com", "-admin-password", Password, "-heartbeat", "1s"}, o.Args...)
	if o.DB != "" {
		args = append(args, "-db", o.DB)
	}
	cfg, err := config.Load("serve", args, func(string) string { return "" }, io.Discard, nil)
	if err != nil {
		t.Fatal(err)
	}
	logs := &SyncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a, err := app.New(ctx, cfg, app.Options{Log: log, BcryptCost: 4, Now: o.Now})
	if err != nil {
		ln.Close()
		t.Fatalf("start node: %v", err)
	}
	hs := httptest.NewUnstartedServer(a.Handler())
	hs.Listener.Close()
	hs.Listener = ln
	hs.Start()
	n := &Node{t: t, App: a, URL: url, Server: hs, Logs: logs, DataDir: o.DataDir, DB: o.DB}
	t.Cleanup(n.Stop)
	n.Admin = &client.API{BaseURL: url}
	if _, err := n.Admin.Login(ctx, "admin@example.com", Password); err != nil {
		t.Fatalf("admin login: %v", err)
	}
	sites, err := a.Store.Sites(ctx)
	if err != nil || len(sites) == 0 {
		t.Fatalf("no site after bootstrap: %v", err)
	}
	n.SiteKey, n.TeamID = sites[0].WidgetKey, sites[0].DefaultTeamID
	return n
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Stop stops the node like a graceful shutdown: connections get "going away", the committer drains, the
// database closes. It is safe to call twice.
func (n *Node) Stop() {
	n.App.CloseConnections()
	n.Server.CloseClientConnections()
	n.Server.Close()
	n.App.Close()
}

// Agent creates an agent with role in the node's default team and returns a logged-in API client.
func (n *Node) Agent(email string, role chat.Role) *client.API {
	n.t.Helper()
	ctx := context.Background()
	var a client.Agent
	_, err := n.Admin.Do(ctx, http.MethodPost, "/api/v1/agents", map[string]any{"email": email, "name": strings.Split(email, "@")[0],
		"password": Password, "role": role, "teams": []string{n.TeamID}}, &a)
	if err != nil {
		n.t.Fatalf("create agent %s: %v", email, err)
	}
	api := &client.API{BaseURL: n.URL}
	if _, err := api.Login(ctx, email, Password); err != nil {
		n.t.Fatalf("login %s: %v", email, err)
	}
	return api
}

// Customer opens a visitor session on the node's default site and returns its API client.
func (n *Node) Customer(name string) *client.API {
	n.t.Helper()
	api := &client.API{BaseURL: n.URL}
	if _, err := api.StartVisitor(context.Background(), client.Visitor{SiteKey: n.SiteKey, Name: name}); err != nil {
		n.t.Fatalf("visitor session: %v", err)
	}
	return api
}

// Dial connects a real-time client with api's credential over transport (client.WebSocket or client.LongPoll).
func (n *Node) Dial(api *client.API, transport string, o client.Options) *client.Client {
	n.t.Helper()
	o.BaseURL, o.Token, o.Transport = n.URL, api.Token, transport
	if o.MinBackoff == 0 {
		o.MinBackoff, o.MaxBackoff = 20*time.Millisecond, 500*time.Millisecond
	}
	if o.PollWait == 0 {
		o.PollWait = 2 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, o)
	if err != nil {
		n.t.Fatalf("dial %s: %v", transport, err)
	}
	n.t.Cleanup(c.Close)
	return c
}

// SignIdentity returns the identity hash the default site's backend would compute for userID.
func (n *Node) SignIdentity(userID string) string {
	sites, _ := n.App.Store.Sites(context.Background())
	return auth.SignIdentity(sites[0].Secret, userID)
}

// SyncBuffer is a bytes.Buffer safe for concurrent writes (a log sink).
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
