package httpapi_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/httpapi"
	"github.com/parley-chat/parley/internal/store"
	"github.com/parley-chat/parley/internal/store/storetest"
)

func TestLogin(t *testing.T) {
	storetest.Each(t, func(t *testing.T, kind string) {
		a := startAPI(t, kind, apiOptions{})
		agent := a.createAgent("li.lei@example.com", chat.RoleAgent)
		disabled := a.createAgent("gone@example.com", chat.RoleAgent)
		yes := true
		if _, err := a.Store.UpdateAgent(context.Background(), disabled.ID, store.AgentPatch{Disabled: &yes}); err != nil {
			t.Fatal(err)
		}

		// The e-mail is case-insensitive and trimmed.
		r := a.loginResp("  Li.Lei@Example.COM ", testPassword, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("login: %d %s", r.Status, r.Body)
		}
		var ok struct {
			Token     string    `json:"token"`
			CSRFToken string    `json:"csrf_token"`
			ExpiresAt time.Time `json:"expires_at"`
			Agent     struct {
				ID           string `json:"id"`
				Email        string `json:"email"`
				PasswordHash string `json:"password_hash"`
			} `json:"agent"`
		}
		r.decode(t, &ok)
		if !strings.HasPrefix(ok.Token, auth.AgentTokenPrefix) || len(ok.Token) < 3+26 {
			t.Errorf("token %q: want pa_ and at least 128 random bits", ok.Token)
		}
		if ok.Agent.ID != agent.ID || ok.Agent.Email != "li.lei@example.com" || ok.CSRFToken == "" {
			t.Errorf("login answer %s", r.Body)
		}
		if strings.Contains(string(r.Body), "password") || strings.Contains(string(r.Body), "$2a$") {
			t.Errorf("login answer leaks the password hash: %s", r.Body)
		}
		if until := time.Until(ok.ExpiresAt); until < 23*time.Hour || until > 25*time.Hour {
			t.Errorf("session expires in %v, want the idle timeout (24h)", until)
		}
		if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("login answer Cache-Control %q, want no-store", cc)
		}
		cookie := r.Header.Get("Set-Cookie")
		for _, want := range []string{httpapi.SessionCookie + "=" + ok.Token, "HttpOnly", "SameSite=Strict", "Path=/"} {
			if !strings.Contains(cookie, want) {
				t.Errorf("Set-Cookie %q lacks %q", cookie, want)
			}
		}
		// The token works.
		if r := a.as(ok.Token, "GET", "/api/v1/auth/session", nil); r.Status != http.StatusOK || !strings.Contains(string(r.Body), agent.ID) {
			t.Fatalf("session: %d %s", r.Status, r.Body)
		}

		// Wrong password, unknown e-mail and a disabled account get the very same answer: no account oracle.
		wrong := a.loginResp("li.lei@example.com", "wrong password!", nil)
		unknown := a.loginResp("nobody@example.com", testPassword, nil)
		off := a.loginResp("gone@example.com", testPassword, nil)
		we := wrong.wantError(t, http.StatusUnauthorized, "unauthorized")
		for name, r := range map[string]resp{"unknown e-mail": unknown, "disabled account": off} {
			if r.Status != wrong.Status || string(r.Body) != string(wrong.Body) {
				t.Errorf("%s: %d %s differs from wrong password: %d %s", name, r.Status, r.Body, wrong.Status, wrong.Body)
			}
			if r.Header.Get("Set-Cookie") != "" {
				t.Errorf("%s: a failed login sets a cookie", name)
			}
		}
		if we.Error.Message != "wrong e-mail or password" {
			t.Errorf("message %q", we.Error.Message)
		}
		// Empty fields are a validation error, not a login attempt.
		r = a.call("POST", "/api/v1/auth/login", []byte(`{"email":"li.lei@example.com","password":""}`), nil)
		r.wantError(t, http.StatusBadRequest, "invalid")

		// Every outcome is audited, without the e-mail in clear for unknown accounts.
		entries, err := a.Store.AuditLog(context.Background(), time.Time{}, "", 100)
		if err != nil {
			t.Fatal(err)
		}
		actions := map[string]int{}
		for _, e := range entries {
			actions[e.Action]++
			if strings.Contains(e.Detail, "nobody@example.com") {
				t.Errorf("audit detail %q holds an unmasked e-mail", e.Detail)
			}
		}
		if actions["login"] != 1 || actions["login.failed"] != 3 {
			t.Errorf("audit actions %v, want 1 login and 3 login.failed", actions)
		}
	})
}

func TestLoginRateLimits(t *testing.T) {
	frozen := time.Now()
	stopped := func() time.Time { return frozen }
	t.Run("per account", func(t *testing.T) {
		a := startAPI(t, "sqlite", apiOptions{now: stopped})
		a.createAgent("li.lei@example.com", chat.RoleAgent)
		for i := 0; i < 5; i++ {
			a.loginResp("li.lei@example.com", "wrong password!", nil).wantError(t, http.StatusUnauthorized, "unauthorized")
		}
		// The 6th attempt is refused before the password is even checked: the right one does not get in.
		r := a.loginResp("li.lei@example.com", testPassword, nil)
		r.wantError(t, http.StatusTooManyRequests, "rate_limited")
		if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 1 || s > 12 {
			t.Fatalf("Retry-After %q, want 1..12 seconds", r.Header.Get("Retry-After"))
		}
		// Other accounts from the same IP are not affected.
		a.login("admin@example.com")
	})
	t.Run("per IP, X-Forwarded-For from an untrusted peer ignored", func(t *testing.T) {
		a := startAPI(t, "sqlite", apiOptions{now: stopped})
		limited := 0
		for i := 0; i < 31; i++ {
			// A new e-mail and a new forged client address every time: only the real peer address counts.
			r := a.loginResp(fmt.Sprintf("user%d@example.com", i), "whatever-password", map[string]string{
				"X-Forwarded-For": fmt.Sprintf("203.0.113.%d", i+1), "X-Real-IP": fmt.Sprintf("198.51.100.%d", i+1)})
			if r.Status == http.StatusTooManyRequests {
				limited++
				r.wantError(t, http.StatusTooManyRequests, "rate_limited")
				if r.Header.Get("Retry-After") == "" {
					t.Fatal("429 without Retry-After")
				}
			}
		}
		if limited != 1 {
			t.Fatalf("%d of 31 attempts limited, want exactly the 31st (30 per IP)", limited)
		}
	})
	t.Run("per IP behind a trusted proxy", func(t *testing.T) {
		a := startAPI(t, "sqlite", apiOptions{args: []string{"-trusted-proxies", "127.0.0.1/32"}, now: stopped})
		// 40 attempts through the proxy from 40 different clients: none is limited, each client has its own bucket.
		for i := 0; i < 40; i++ {
			r := a.loginResp(fmt.Sprintf("user%d@example.com", i), "whatever-password", map[string]string{
				"X-Forwarded-For": fmt.Sprintf("198.51.100.77, 203.0.113.%d", i+1)})
			r.wantError(t, http.StatusUnauthorized, "unauthorized")
		}
		// One client behind the proxy runs out after 30, whatever it prepends to the header.
		limited := 0
		for i := 0; i < 31; i++ {
			r := a.loginResp(fmt.Sprintf("other%d@example.com", i), "whatever-password", map[string]string{
				"X-Forwarded-For": fmt.Sprintf("10.9.9.%d, 192.0.2.50", i+1)})
			if r.Status == http.StatusTooManyRequests {
				limited++
			}
		}
		if limited != 1 {
			t.Fatalf("%d of 31 attempts from 192.0.2.50 limited, want 1", limited)
		}
		// The audit log records the client's address, not the proxy's.
		entries, _ := a.Store.AuditLog(context.Background(), time.Time{}, "", 1)
		if len(entries) != 1 || entries[0].IP != "192.0.2.50" {
			t.Fatalf("audit entry %+v, want ip 192.0.2.50", entries)
		}
	})
}

func TestLogoutRevokes(t *testing.T) {
	a := startAPI(t, "sqlite", apiOptions{})
	s := a.login("admin@example.com")
	other := a.login("admin@example.com")
	if r := a.as(s.Token, "POST", "/api/v1/auth/logout", nil); r.Status != http.StatusNoContent {
		t.Fatalf("logout: %d %s", r.Status, r.Body)
	} else if c := r.Header.Get("Set-Cookie"); !strings.Contains(c, "Max-Age=0") {
		t.Fatalf("logout does not clear the cookie: %q", c)
	}
	a.as(s.Token, "GET", "/api/v1/auth/session", nil).wantError(t, http.StatusUnauthorized, "unauthorized")
	a.as(s.Token, "POST", "/api/v1/auth/logout", nil).wantError(t, http.StatusUnauthorized, "unauthorized")
	// Only that session ended.
	if r := a.as(other.Token, "GET", "/api/v1/auth/session", nil); r.Status != http.StatusOK {
		t.Fatalf("the other session: %d", r.Status)
	}
}

func TestBadTokensAreRejected(t *testing.T) {
	a := startAPI(t, "sqlite", apiOptions{})
	good := a.login("admin@example.com")
	ctx := context.Background()
	now := time.Now()

	expired, hash := auth.NewToken(auth.AgentTokenPrefix)
	if err := a.Store.CreateSession(ctx, &chat.Session{TokenHash: hash, Kind: chat.PrincipalAgent, PrincipalID: a.AdminID,
		CreatedAt: now.Add(-48 * time.Hour), ExpiresAt: now.Add(-time.Minute), LastUsedAt: now.Add(-25 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	// A customer's token, stored as a customer session of the admin's id: the kind must still be refused.
	customer, chash := auth.NewToken(auth.CustomerTokenPrefix)
	if err := a.Store.CreateSession(ctx, &chat.Session{TokenHash: chash, Kind: chat.PrincipalCustomer, PrincipalID: a.AdminID,
		CreatedAt: now, ExpiresAt: now.Add(time.Hour), LastUsedAt: now}); err != nil {
		t.Fatal(err)
	}
	// An agent-prefixed token whose stored session is a customer's (type confusion the other way).
	confused, xhash := auth.NewToken(auth.AgentTokenPrefix)
	if err := a.Store.CreateSession(ctx, &chat.Session{TokenHash: xhash, Kind: chat.PrincipalCustomer, PrincipalID: a.AdminID,
		CreatedAt: now, ExpiresAt: now.Add(time.Hour), LastUsedAt: now}); err != nil {
		t.Fatal(err)
	}
	tokens := map[string]string{
		"expired":                  expired,
		"forged":                   auth.AgentTokenPrefix + rand.Text(),
		"truncated":                good.Token[:len(good.Token)-1],
		"extended":                 good.Token + "A",
		"garbage":                  "!!not a token!!",
		"long garbage":             auth.AgentTokenPrefix + strings.Repeat("A", 5000),
		"customer token":           customer,
		"customer prefix":          auth.CustomerTokenPrefix + strings.TrimPrefix(good.Token, auth.AgentTokenPrefix),
		"agent token of customer":  confused,
		"lower-cased":              strings.ToLower(good.Token),
		"prefix only":              auth.AgentTokenPrefix,
		"hash instead of a token":  fmt.Sprintf("%x", auth.HashToken(good.Token)),
		"null byte":                good.Token + "\x00",
		"sql-ish":                  "pa_' OR '1'='1",
		"jwt none":                 "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.",
		"the secret of the server": strings.Repeat("s", 32),
	}
	for name, tok := range tokens {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", a.URL+"/api/v1/agents", nil)
			req.Header["Authorization"] = []string{"Bearer " + tok}
			res, err := a.client.Do(req)
			if err != nil {
				// Go's client refuses to send a header with a NUL byte; that is a rejection too.
				if strings.Contains(tok, "\x00") {
					return
				}
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", res.StatusCode)
			}
			// The same token as a cookie is refused too, and the cookie is cleared.
			r := a.call("GET", "/api/v1/agents", nil, map[string]string{"Cookie": httpapi.SessionCookie + "=" + cookieSafe(tok)})
			r.wantError(t, http.StatusUnauthorized, "unauthorized")
			if c := r.Header.Get("Set-Cookie"); !strings.Contains(c, "Max-Age=0") {
				t.Fatalf("a rejected cookie is not cleared: %q", c)
			}
		})
	}
	// No credential at all, and an empty Bearer.
	a.call("GET", "/api/v1/agents", nil, nil).wantError(t, http.StatusUnauthorized, "unauthorized")
	a.call("GET", "/api/v1/agents", nil, map[string]string{"Authorization": "Bearer "}).wantError(t, http.StatusUnauthorized, "unauthorized")
	a.call("GET", "/api/v1/agents", nil, map[string]string{"Authorization": "Basic YWRtaW46YWRtaW4="}).wantError(t, http.StatusUnauthorized, "unauthorized")
	// The good token still works after all that.
	if r := a.as(good.Token, "GET", "/api/v1/agents", nil); r.Status != http.StatusOK {
		t.Fatalf("good token: %d", r.Status)
	}
}

func cookieSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r <= ' ' || r == ';' || r == '"' || r == ',' || r == '\\' || r >= 0x7f {
			return 'x'
		}
		return r
	}, s)
}

func TestCookieAuthNeedsCSRFAndSameOrigin(t *testing.T) {
	a := startAPI(t, "sqlite", apiOptions{})
	s := a.login("admin@example.com")
	cookie := httpapi.SessionCookie + "=" + s.Cookie.Value
	origin := a.Config.Origin()
	team := []byte(`{"name":"Sales"}`)
	cases := []struct {
		name   string
		method string
		path   string
		body   []byte
		hdr    map[string]string
		status int
		code   string
	}{
		{"cookie without CSRF header", "POST", "/api/v1/teams", team, map[string]string{"Cookie": cookie}, 403, "csrf"},
		{"cookie with a wrong CSRF header", "POST", "/api/v1/teams", team, map[string]string{"Cookie": cookie, "X-CSRF-Token": "x" + s.CSRFToken}, 403, "csrf"},
		{"cookie with the CSRF token of another session", "POST", "/api/v1/teams", team,
			map[string]string{"Cookie": cookie, "X-CSRF-Token": a.login("admin@example.com").CSRFToken}, 403, "csrf"},
		{"cookie, CSRF, foreign Origin", "POST", "/api/v1/teams", team, map[string]string{"Cookie": cookie, "X-CSRF-Token": s.CSRFToken, "Origin": "https://evil.example"}, 403, "origin_refused"},
		{"cookie, CSRF, null Origin", "POST", "/api/v1/teams", team, map[string]string{"Cookie": cookie, "X-CSRF-Token": s.CSRFToken, "Origin": "null"}, 403, "origin_refused"},
		{"cookie, CSRF, look-alike Origin", "POST", "/api/v1/teams", team, map[string]string{"Cookie": cookie, "X-CSRF-Token": s.CSRFToken, "Origin": origin + ".evil.example"}, 403, "origin_refused"},
		{"cookie PATCH without CSRF", "PATCH", "/api/v1/agents/me", []byte(`{"name":"X"}`), map[string]string{"Cookie": cookie}, 403, "csrf"},
		{"cookie PUT without CSRF", "PUT", "/api/v1/agents/me/password", []byte(`{"current_password":"correct horse battery","password":"another long one"}`), map[string]string{"Cookie": cookie}, 403, "csrf"},
		{"cookie logout without CSRF", "POST", "/api/v1/auth/logout", nil, map[string]string{"Cookie": cookie}, 403, "csrf"},
		{"cookie, CSRF, same Origin", "POST", "/api/v1/teams", team, map[string]string{"Cookie": cookie, "X-CSRF-Token": s.CSRFToken, "Origin": origin}, 201, ""},
		{"cookie, CSRF, no Origin", "POST", "/api/v1/teams", team, map[string]string{"Cookie": cookie, "X-CSRF-Token": s.CSRFToken}, 201, ""},
		{"cookie GET needs no CSRF", "GET", "/api/v1/teams", nil, map[string]string{"Cookie": cookie}, 200, ""},
		{"bearer needs no CSRF", "POST", "/api/v1/teams", team, map[string]string{"Authorization": "Bearer " + s.Token}, 201, ""},
		{"bearer with a foreign Origin", "POST", "/api/v1/teams", team, map[string]string{"Authorization": "Bearer " + s.Token, "Origin": "https://evil.example"}, 201, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := a.call(tc.method, tc.path, tc.body, tc.hdr)
			if tc.code != "" {
				r.wantError(t, tc.status, tc.code)
				return
			}
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tc.status, r.Body)
			}
		})
	}
	// Nothing refused changed anything: the first run's team and the 4 of the allowed POSTs.
	var teams struct {
		Teams []chat.Team `json:"teams"`
	}
	a.as(s.Token, "GET", "/api/v1/teams", nil).decode(t, &teams)
	if len(teams.Teams) != 5 {
		t.Fatalf("%d teams, want 5", len(teams.Teams))
	}
	// The session survived the refused logout.
	if r := a.as(s.Token, "GET", "/api/v1/auth/session", nil); r.Status != http.StatusOK {
		t.Fatalf("session after refused logout: %d", r.Status)
	}
}

func TestAdminOnlyEndpoints(t *testing.T) {
	a := startAPI(t, "sqlite", apiOptions{})
	agent := a.createAgent("agent@example.com", chat.RoleAgent)
	sup := a.createAgent("sup@example.com", chat.RoleSupervisor)
	at := a.login("agent@example.com").Token
	st := a.login("sup@example.com").Token
	adminTok := a.login("admin@example.com").Token
	newAgent := map[string]any{"email": "new@example.com", "password": testPassword}
	team, err := a.Store.CreateTeam(context.Background(), "Billing")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		method, path string
		body         any
		agent, sup   int // expected status for an agent and a supervisor
	}{
		{"GET", "/api/v1/agents", nil, 403, 200},
		{"POST", "/api/v1/agents", newAgent, 403, 403},
		{"PATCH", "/api/v1/agents/" + a.AdminID, map[string]any{"name": "pwned"}, 403, 403},
		{"PATCH", "/api/v1/agents/" + sup.ID, map[string]any{"capacity": 99}, 403, 403},
		{"PATCH", "/api/v1/agents/me", map[string]any{"role": "admin"}, 403, 403},
		{"PATCH", "/api/v1/agents/me", map[string]any{"capacity": 999}, 403, 403},
		{"PUT", "/api/v1/agents/" + a.AdminID + "/password", map[string]any{"password": "taken over!!"}, 403, 403},
		{"GET", "/api/v1/agents/" + a.AdminID, nil, 404, 200},
		{"POST", "/api/v1/teams", map[string]any{"name": "x"}, 403, 403},
		{"PATCH", "/api/v1/teams/" + team.ID, map[string]any{"name": "x"}, 403, 403},
		{"GET", "/api/v1/audit", nil, 403, 403},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			a.call(tc.method, tc.path, nil, nil).wantError(t, http.StatusUnauthorized, "unauthorized")
			r := a.as(at, tc.method, tc.path, tc.body)
			if r.Status != tc.agent {
				t.Fatalf("agent: %d, want %d: %s", r.Status, tc.agent, r.Body)
			}
			if tc.agent >= 400 {
				r.apiError(t)
			}
			if r := a.as(st, tc.method, tc.path, tc.body); r.Status != tc.sup {
				t.Fatalf("supervisor: %d, want %d: %s", r.Status, tc.sup, r.Body)
			}
		})
	}
	// Nothing changed: the admin keeps their name, the agent their role and capacity.
	got, err := a.Store.Agent(context.Background(), agent.ID)
	if err != nil || got.Role != chat.RoleAgent || got.Capacity != chat.DefaultCapacity {
		t.Fatalf("agent after refused changes: %+v, %v", got, err)
	}
	ad, _ := a.Store.Agent(context.Background(), a.AdminID)
	if ad.Name == "pwned" {
		t.Fatal("an agent renamed the admin")
	}
	// An agent may read and rename themselves.
	if r := a.as(at, "GET", "/api/v1/agents/me", nil); r.Status != 200 || !strings.Contains(string(r.Body), agent.ID) {
		t.Fatalf("me: %d %s", r.Status, r.Body)
	}
	if r := a.as(at, "PATCH", "/api/v1/agents/me", map[string]any{"name": "李雷"}); r.Status != 200 || !strings.Contains(string(r.Body), "李雷") {
		t.Fatalf("rename self: %d %s", r.Status, r.Body)
	}
	// The admin can do what the others could not.
	if r := a.as(adminTok, "POST", "/api/v1/agents", newAgent); r.Status != http.StatusCreated {
		t.Fatalf("admin creates an agent: %d %s", r.Status, r.Body)
	}
	if r := a.as(adminTok, "GET", "/api/v1/audit", nil); r.Status != 200 || !strings.Contains(string(r.Body), "agent.create") {
		t.Fatalf("audit: %d %s", r.Status, r.Body)
	}
	// Renaming a team: the same name again is no error; a bad name or an unknown team is refused.
	if ts, err := a.Store.Teams(context.Background()); err != nil || !slices.ContainsFunc(ts, func(x *chat.Team) bool { return x.ID == team.ID && x.Name == "Billing" }) {
		t.Fatalf("a refused rename renamed the team: %v %v", ts, err)
	}
	for _, name := range []string{"账务 Billing", "账务 Billing"} {
		if r := a.as(adminTok, "PATCH", "/api/v1/teams/"+team.ID, map[string]any{"name": name}); r.Status != 200 || !strings.Contains(string(r.Body), name) {
			t.Fatalf("admin renames a team: %d %s", r.Status, r.Body)
		}
	}
	a.as(adminTok, "PATCH", "/api/v1/teams/"+team.ID, map[string]any{"name": " "}).wantError(t, http.StatusBadRequest, "invalid")
	a.as(adminTok, "PATCH", "/api/v1/teams/"+team.ID, map[string]any{"name": "a\x00b"}).wantError(t, http.StatusBadRequest, "invalid")
	a.as(adminTok, "PATCH", "/api/v1/teams/00000000-0000-7000-8000-000000000000", map[string]any{"name": "Ghost"}).wantError(t, http.StatusNotFound, "not_found")
	if ts, _ := a.Store.Teams(context.Background()); !slices.ContainsFunc(ts, func(x *chat.Team) bool { return x.ID == team.ID && x.Name == "账务 Billing" }) {
		t.Fatalf("teams after the renames: %v", ts)
	}
	if r := a.as(adminTok, "GET", "/api/v1/audit", nil); !strings.Contains(string(r.Body), `"team.update"`) {
		t.Fatalf("the rename is not audited: %s", r.Body)
	}
	// An admin cannot lock themselves out.
	a.as(adminTok, "PATCH", "/api/v1/agents/me", map[string]any{"disabled": true}).wantError(t, http.StatusConflict, "conflict")
	a.as(adminTok, "PATCH", "/api/v1/agents/me", map[string]any{"role": "agent"}).wantError(t, http.StatusConflict, "conflict")
}

func TestDisablingAnAgentEndsTheirSessionsAtOnce(t *testing.T) {
	a := startAPI(t, "sqlite", apiOptions{})
	ag := a.createAgent("agent@example.com", chat.RoleAgent)
	s1, s2 := a.login("agent@example.com"), a.login("agent@example.com")
	admin := a.login("admin@example.com")
	if r := a.as(s1.Token, "GET", "/api/v1/auth/session", nil); r.Status != 200 {
		t.Fatalf("before: %d", r.Status)
	}
	if r := a.as(admin.Token, "PATCH", "/api/v1/agents/"+ag.ID, map[string]any{"disabled": true}); r.Status != 200 || !strings.Contains(string(r.Body), `"disabled":true`) {
		t.Fatalf("disable: %d %s", r.Status, r.Body)
	}
	for _, s := range []session{s1, s2} {
		a.as(s.Token, "GET", "/api/v1/auth/session", nil).wantError(t, http.StatusUnauthorized, "unauthorized")
		a.call("GET", "/api/v1/auth/session", nil, map[string]string{"Cookie": httpapi.SessionCookie + "=" + s.Cookie.Value}).
			wantError(t, http.StatusUnauthorized, "unauthorized")
	}
	a.loginResp("agent@example.com", testPassword, nil).wantError(t, http.StatusUnauthorized, "unauthorized")
	// Enabling again does not bring old sessions back, but allows a new login.
	if r := a.as(admin.Token, "PATCH", "/api/v1/agents/"+ag.ID, map[string]any{"disabled": false}); r.Status != 200 {
		t.Fatalf("enable: %d %s", r.Status, r.Body)
	}
	a.as(s1.Token, "GET", "/api/v1/auth/session", nil).wantError(t, http.StatusUnauthorized, "unauthorized")
	a.login("agent@example.com")
	// The change is audited with its actor.
	entries, _ := a.Store.AuditLog(context.Background(), time.Time{}, "", 100)
	found := false
	for _, e := range entries {
		if e.Action == "agent.update" && e.TargetID == ag.ID && e.ActorID == a.AdminID && strings.Contains(e.Detail, `"disabled":"true"`) {
			found = true
		}
	}
	if !found {
		t.Fatalf("no audit entry for the disabling in %+v", entries)
	}
}

func TestPasswordChangeEndsSessions(t *testing.T) {
	a := startAPI(t, "sqlite", apiOptions{})
	a.createAgent("agent@example.com", chat.RoleAgent)
	s1, s2 := a.login("agent@example.com"), a.login("agent@example.com")
	// The current password is required.
	a.as(s1.Token, "PUT", "/api/v1/agents/me/password", map[string]any{"current_password": "nope nope nope", "password": "a brand new one"}).
		wantError(t, http.StatusBadRequest, "invalid")
	a.as(s1.Token, "PUT", "/api/v1/agents/me/password", map[string]any{"current_password": testPassword, "password": "short"}).
		wantError(t, http.StatusBadRequest, "invalid")
	if r := a.as(s1.Token, "PUT", "/api/v1/agents/me/password", map[string]any{"current_password": testPassword, "password": "a brand new one"}); r.Status != http.StatusNoContent {
		t.Fatalf("change: %d %s", r.Status, r.Body)
	}
	for _, s := range []session{s1, s2} {
		a.as(s.Token, "GET", "/api/v1/auth/session", nil).wantError(t, http.StatusUnauthorized, "unauthorized")
	}
	if r := a.loginResp("agent@example.com", "a brand new one", nil); r.Status != 200 {
		t.Fatalf("login with the new password: %d", r.Status)
	}
}
