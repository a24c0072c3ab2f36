package httpapi_test

import (
	"database/sql"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/parley-chat/parley/internal/store/storetest"
	"github.com/parley-chat/parley/internal/testenv"
)

// waitReady polls /readyz until it answers want, failing after limit.
func (a *api) waitReady(t *testing.T, want int, limit time.Duration) resp {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		r := a.call("GET", "/readyz", nil, nil)
		if r.Status == want {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still %d %s after %v, want %d", r.Status, r.Body, limit, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestMariaDBOutage cuts the network between Parley and MariaDB while it runs, then restores it: /readyz says
// why it is not ready, requests fail with 503 "unavailable" (never hang, never 500), and everything comes
// back by itself.
func TestMariaDBOutage(t *testing.T) {
	dsn := storetest.FreshMySQL(t)
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	proxy := testenv.NewProxy(t, cfg.Addr)
	cfg.Addr = proxy.Addr
	a := startAPI(t, "mysql", apiOptions{db: storetest.MySQLURL(t, cfg.FormatDSN())})
	tok := a.login("admin@example.com").Token
	a.waitReady(t, http.StatusOK, time.Second)

	proxy.Down()
	start := time.Now()
	r := a.waitReady(t, http.StatusServiceUnavailable, 10*time.Second)
	var ready struct {
		Status string `json:"status"`
		Reason string `json:"reason"`
	}
	r.decode(t, &ready)
	if ready.Status != "unavailable" || !strings.HasPrefix(ready.Reason, "database: ") {
		t.Fatalf("/readyz during the outage: %s", r.Body)
	}
	// Authenticated reads, writes and logins: all 503 "unavailable" with Retry-After, quickly.
	for _, c := range []struct{ method, path string }{{"GET", "/api/v1/agents"}, {"POST", "/api/v1/teams"}} {
		var body any
		if c.method == "POST" {
			body = map[string]string{"name": "during outage"}
		}
		r := a.as(tok, c.method, c.path, body)
		r.wantError(t, http.StatusServiceUnavailable, "unavailable")
		if r.Header.Get("Retry-After") == "" {
			t.Errorf("%s %s: 503 without Retry-After", c.method, c.path)
		}
	}
	a.loginResp("admin@example.com", testPassword, nil).wantError(t, http.StatusServiceUnavailable, "unavailable")
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("failing took %v: requests must not hang while the database is away", d)
	}
	// /healthz is about the process, not the database: it stays 200.
	if r := a.call("GET", "/healthz", nil, nil); r.Status != 200 {
		t.Errorf("/healthz during the outage: %d", r.Status)
	}

	proxy.Up(t)
	a.waitReady(t, http.StatusOK, 15*time.Second)
	if r := a.as(tok, "GET", "/api/v1/agents", nil); r.Status != 200 {
		t.Fatalf("after the outage: %d %s", r.Status, r.Body)
	}
	if r := a.as(tok, "POST", "/api/v1/teams", map[string]string{"name": "after outage"}); r.Status != 201 {
		t.Fatalf("write after the outage: %d %s", r.Status, r.Body)
	}
	a.login("admin@example.com")
	// Nothing of the refused write was stored.
	teams, err := a.Store.Teams(t.Context())
	if err != nil || len(teams) != 2 || teams[1].Name != "after outage" { // the first run's team and this one
		t.Fatalf("teams = %+v, %v", teams, err)
	}
}

// TestSQLiteWriteLockHeld is SQLite's version of an outage: the database is a file, so what takes it away is
// another process holding its write lock (a sqlite3 shell left in a transaction, a backup tool). Reads go on;
// /readyz turns 503 naming the lock at once; writes wait out the busy timeout (10 s) and fail with 503; all is
// well again as soon as the lock is released.
func TestSQLiteWriteLockHeld(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out SQLite's 10 s busy timeout")
	}
	dir := t.TempDir()
	a := startAPI(t, "sqlite", apiOptions{dataDir: dir})
	tok := a.login("admin@example.com").Token

	other, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "parley.db")+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	other.SetMaxOpenConns(1)
	if _, err := other.Exec("BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	r := a.waitReady(t, http.StatusServiceUnavailable, 5*time.Second)
	if !strings.Contains(string(r.Body), "another process holds the SQLite write lock") {
		t.Fatalf("/readyz: %s", r.Body)
	}
	if r := a.as(tok, "GET", "/api/v1/agents", nil); r.Status != 200 {
		t.Fatalf("reads must go on while another process holds the write lock: %d %s", r.Status, r.Body)
	}
	start := time.Now()
	a.as(tok, "POST", "/api/v1/teams", map[string]string{"name": "blocked"}).wantError(t, http.StatusServiceUnavailable, "unavailable")
	if d := time.Since(start); d > 15*time.Second {
		t.Fatalf("a blocked write took %v: it must fail after the busy timeout, not retry it over and over", d)
	}

	if _, err := other.Exec("ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	a.waitReady(t, http.StatusOK, 5*time.Second)
	if r := a.as(tok, "POST", "/api/v1/teams", map[string]string{"name": "after"}); r.Status != 201 {
		t.Fatalf("write after the lock was released: %d %s", r.Status, r.Body)
	}
}
