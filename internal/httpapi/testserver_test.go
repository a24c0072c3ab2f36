package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/config"
	"github.com/parley-chat/parley/internal/httpapi"
	"github.com/parley-chat/parley/internal/store"
	"github.com/parley-chat/parley/internal/store/storetest"
)

// testPassword is every test agent's password.
const testPassword = "correct horse battery"

// api is a running Parley node (assembled by app.New, as `parley serve` does) on a real database, with helpers
// to call its HTTP API byte for byte.
type api struct {
	t      testing.TB
	URL    string
	App    *app.App
	Config *config.Config
	Store  *store.Store
	Auth   *auth.Service
	client *http.Client
	logs   *syncBuffer

	AdminID string
}

// apiOptions adjust startAPI.
type apiOptions struct {
	args    []string // extra serve flags, e.g. -trusted-proxies
	db      string   // PARLEY_DB; "" = a fresh database of the kind
	dataDir string   // "" = a new temporary directory
	// now, when set, is the node's clock. Rate-limit tests stop it so that no token refills while a slow
	// (race-detector) run makes its attempts.
	now func() time.Time
}

// startAPI starts a node on a fresh database of kind. Its first admin is admin@example.com with testPassword.
func startAPI(t testing.TB, kind string, o apiOptions) *api {
	t.Helper()
	if o.dataDir == "" {
		o.dataDir = t.TempDir()
	}
	if o.db == "" && kind == "mysql" {
		o.db = storetest.MySQLURL(t, storetest.FreshMySQL(t))
	}
	args := []string{"-data-dir", o.dataDir, "-addr", "127.0.0.1:0", "-public-url", "http://parley.test",
		"-admin-email", "admin@example.com", "-admin-password", testPassword}
	if o.db != "" {
		args = append(args, "-db", o.db)
	}
	cfg, err := config.Load("serve", append(args, o.args...), func(string) string { return "" }, io.Discard, nil)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The lowest bcrypt cost keeps the many logins of these tests fast; production uses the default.
	node, err := app.New(ctx, cfg, app.Options{Log: log, BcryptCost: 4, Now: o.now})
	if err != nil {
		t.Fatalf("start node: %v", err)
	}
	hs := httptest.NewServer(node.Handler())
	tr := &http.Transport{}
	a := &api{t: t, URL: hs.URL, App: node, Config: cfg, Store: node.Store, Auth: node.Auth, logs: logs,
		client: &http.Client{Transport: tr, Timeout: 30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		node.CloseConnections()
		hs.Close()
		node.Close()
	})
	admin, err := node.Store.AgentByEmail(ctx, "admin@example.com")
	if err != nil {
		t.Fatal(err)
	}
	a.AdminID = admin.ID
	return a
}

// createAgent creates an agent directly through the auth service (not over HTTP).
func (a *api) createAgent(email string, role chat.Role) *chat.Agent {
	a.t.Helper()
	ag, err := a.Auth.CreateAgent(context.Background(), nil, auth.NewAgent{Email: email, Password: testPassword, Role: role}, "")
	if err != nil {
		a.t.Fatal(err)
	}
	return ag
}

// resp is an HTTP answer, read completely.
type resp struct {
	Status int
	Header http.Header
	Body   []byte
}

// errorShape is the API's one error body; decoding it strictly checks that nothing else is in it.
type errorShape struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}

// apiError decodes the error body strictly, failing the test when it is not exactly the documented shape.
func (r resp) apiError(t testing.TB) errorShape {
	t.Helper()
	var e errorShape
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("status %d: body %q is not the error shape: %v", r.Status, r.Body, err)
	}
	if e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("status %d: error body %q lacks code or message", r.Status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("error with Content-Type %q", ct)
	}
	return e
}

// wantError checks status and code of an error answer and returns the decoded error.
func (r resp) wantError(t testing.TB, status int, code string) errorShape {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status = %d, want %d; body %s", r.Status, status, r.Body)
	}
	e := r.apiError(t)
	if e.Error.Code != code {
		t.Fatalf("code = %q, want %q; body %s", e.Error.Code, code, r.Body)
	}
	return e
}

func (r resp) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("status %d: body %q: %v", r.Status, r.Body, err)
	}
}

// call sends a request. body, when not nil, is sent as is with Content-Type application/json unless hdr
// sets another one (an empty value removes it).
func (a *api) call(method, path string, body []byte, hdr map[string]string) resp {
	a.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, a.URL+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
			continue
		}
		req.Header.Set(k, v)
	}
	res, err := a.client.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	return resp{Status: res.StatusCode, Header: res.Header, Body: b}
}

// as calls with a Bearer token.
func (a *api) as(token, method, path string, body any) resp {
	a.t.Helper()
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			a.t.Fatal(err)
		}
	}
	return a.call(method, path, b, map[string]string{"Authorization": "Bearer " + token})
}

// session is a logged-in agent.
type session struct {
	Token     string
	CSRFToken string
	Cookie    *http.Cookie
	AgentID   string
}

// loginResp logs in with e-mail and password and returns the raw answer.
func (a *api) loginResp(email, password string, hdr map[string]string) resp {
	a.t.Helper()
	b, _ := json.Marshal(map[string]string{"email": email, "password": password})
	return a.call("POST", "/api/v1/auth/login", b, hdr)
}

// login logs in and fails the test unless it succeeds.
func (a *api) login(email string) session {
	a.t.Helper()
	r := a.loginResp(email, testPassword, nil)
	if r.Status != http.StatusOK {
		a.t.Fatalf("login %s: %d %s", email, r.Status, r.Body)
	}
	var out struct {
		Token     string `json:"token"`
		CSRFToken string `json:"csrf_token"`
		Agent     struct {
			ID string `json:"id"`
		} `json:"agent"`
	}
	r.decode(a.t, &out)
	s := session{Token: out.Token, CSRFToken: out.CSRFToken, AgentID: out.Agent.ID}
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == httpapi.SessionCookie {
			s.Cookie = c
		}
	}
	if s.Token == "" || s.CSRFToken == "" || s.Cookie == nil {
		a.t.Fatalf("login %s: incomplete answer %s (cookie %v)", email, r.Body, s.Cookie)
	}
	return s
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines to log into while a test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
