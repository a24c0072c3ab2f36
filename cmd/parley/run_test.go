package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/parley-chat/parley/internal/config"
	"github.com/parley-chat/parley/internal/store"
	"github.com/parley-chat/parley/internal/store/storetest"
)

// dbEnv returns the environment selecting a fresh database of kind: a data directory, and for MariaDB a new
// database named by PARLEY_DB.
func dbEnv(t *testing.T, kind string) env {
	e := env{"PARLEY_DATA_DIR": t.TempDir()}
	if kind == "mysql" {
		e["PARLEY_DB"] = storetest.MySQLURL(t, storetest.FreshMySQL(t))
	}
	return e
}

func TestFirstRunPrintsCredentialsThatLogIn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, kind string) {
		e := dbEnv(t, kind)
		s := startServe(t, e)
		out := s.Stdout.String()
		contains(t, "first run output", out, "First run: an admin account was created.", "e-mail:   admin@localhost",
			"(shown only this once", "console: http://localhost:", `<script src="http://localhost:`, `/widget.js" data-site="site_`,
			"database: "+kind)
		email, password := credentials(t, out)
		if len(password) < 16 {
			t.Fatalf("generated password %q is short", password)
		}
		status, token := login(t, s.URL, email, password)
		if status != http.StatusOK || !strings.HasPrefix(token, "pa_") {
			t.Fatalf("login with the printed credentials: %d %q", status, token)
		}
		if st, body := get(t, s.URL+"/api/v1/agents", token); st != 200 || !strings.Contains(body, `"role":"admin"`) {
			t.Fatalf("agents: %d %s", st, body)
		}
		if st, _ := get(t, s.URL+"/console/", ""); st != 200 {
			t.Fatalf("/console/: %d", st)
		}
		if st, _ := get(t, s.URL+"/readyz", ""); st != 200 {
			t.Fatalf("/readyz: %d", st)
		}
		if err := s.stop(); err != nil {
			t.Fatalf("stop: %v", err)
		}
		contains(t, "stdout", s.Stdout.String(), "Parley stopped")
		if kind == "sqlite" {
			if fi, err := os.Stat(filepath.Join(e["PARLEY_DATA_DIR"], "secret")); err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("generated secret: %v, %v", fi, err)
			}
		}

		// The second start finds the admin: no new account, no credentials printed, the old password works.
		s2 := startServe(t, e)
		if out := s2.Stdout.String(); strings.Contains(out, "First run") || strings.Contains(out, password) {
			t.Fatalf("second start printed first-run output:\n%s", out)
		}
		if status, _ := login(t, s2.URL, email, password); status != 200 {
			t.Fatalf("login after restart: %d", status)
		}
		if err := s2.stop(); err != nil {
			t.Fatal(err)
		}
		out, _, err := runOnce(t, e, "admin", "list-agents")
		if err != nil {
			t.Fatal(err)
		}
		if lines := strings.Count(strings.TrimSpace(out), "\n"); lines != 1 {
			t.Fatalf("list-agents after two starts: want a header and one agent:\n%s", out)
		}
	})
}

func TestAdminFromEnvironment(t *testing.T) {
	e := dbEnv(t, "sqlite")
	e["PARLEY_ADMIN_EMAIL"] = "Boss@Example.com"
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("a very long secret one\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e["PARLEY_ADMIN_PASSWORD_FILE"] = pwFile
	s := startServe(t, e)
	out := s.Stdout.String()
	contains(t, "stdout", out, "e-mail:   boss@example.com", "password: the one in PARLEY_ADMIN_PASSWORD")
	if strings.Contains(out, "a very long secret one") {
		t.Fatal("the password from the environment was echoed")
	}
	if status, _ := login(t, s.URL, "boss@example.com", "a very long secret one"); status != 200 {
		t.Fatalf("login: %d", status)
	}
	if status, _ := login(t, s.URL, "admin@localhost", "a very long secret one"); status != 401 {
		t.Fatalf("the default admin must not exist: %d", status)
	}
}

func TestGracefulShutdownCheckpointsSQLite(t *testing.T) {
	e := dbEnv(t, "sqlite")
	dir := e["PARLEY_DATA_DIR"]
	s := startServe(t, e, "-shutdown-timeout", "5s")
	email, password := credentials(t, s.Stdout.String())
	if st, _ := login(t, s.URL, email, password); st != 200 {
		t.Fatal(st)
	}
	start := time.Now()
	if err := s.stop(); err != nil {
		t.Fatalf("run after cancellation = %v, want nil", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("shutdown took %v with nothing to drain", d)
	}
	contains(t, "stderr", s.Stderr.String(), "shutting down")
	contains(t, "stdout", s.Stdout.String(), "Parley stopped")
	// The WAL was folded into the main file: copying parley.db alone is a complete backup.
	if fi, err := os.Stat(filepath.Join(dir, "parley.db-wal")); err == nil && fi.Size() > 0 {
		t.Fatalf("parley.db-wal is %d bytes after shutdown", fi.Size())
	}
	b, err := os.ReadFile(filepath.Join(dir, "parley.db"))
	if err != nil {
		t.Fatal(err)
	}
	copyDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(copyDir, "parley.db"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	st := storetest.OpenWith(t, store.Options{DataDir: copyDir})
	entries, err := st.AuditLog(context.Background(), time.Time{}, "", 10)
	if err != nil || len(entries) < 2 || entries[0].Action != "login" {
		t.Fatalf("the copied file lacks the last writes: %+v, %v", entries, err)
	}
}

func TestBadConfigurationIsAUsageError(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  env
		want string
	}{
		{"bad listen address", []string{"serve", "-addr", "nowhere"}, env{}, "-addr (PARLEY_ADDR)"},
		{"bad env value", []string{"serve"}, env{"PARLEY_SQLITE_SYNC": "OFF"}, "-sqlite-sync (PARLEY_SQLITE_SYNC)"},
		{"unknown flag", []string{"serve", "-port", "80"}, env{}, "-port"},
		{"bad DSN", []string{}, env{"PARLEY_DB": "postgres://localhost/parley"}, "-db (PARLEY_DB)"},
		{"unknown command", []string{"start"}, env{}, `unknown command "start"`},
		{"admin without action", []string{"admin"}, env{}, "admin needs an action"},
		{"admin unknown action", []string{"admin", "delete-everything"}, env{}, "unknown admin action"},
		{"create-agent without e-mail", []string{"admin", "create-agent"}, env{"PARLEY_DATA_DIR": ""}, "create-agent needs -email"},
		{"migrate bad flag", []string{"migrate", "-log-level", "loud"}, env{}, "-log-level (PARLEY_LOG_LEVEL)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, ok := tc.env["PARLEY_DATA_DIR"]; ok {
				tc.env["PARLEY_DATA_DIR"] = t.TempDir()
			}
			_, stderr, err := runOnce(t, tc.env, tc.args...)
			var ue *config.UsageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a UsageError containing %q (stderr %q)", err, tc.want, stderr)
			}
		})
	}
	t.Run("-h", func(t *testing.T) {
		_, stderr, err := runOnce(t, env{}, "serve", "-h")
		if !errors.Is(err, config.ErrHelp) {
			t.Fatalf("err = %v", err)
		}
		contains(t, "help", stderr, "-addr  [PARLEY_ADDR]  default :8080", "-data-dir  [PARLEY_DATA_DIR]  default ./data",
			"-db  [PARLEY_DB (or PARLEY_DB_FILE)]")
	})
}

// TestExitStatus builds the real binary and checks what a shell script sees: 2 for a usage error, 1 for a
// failure, 0 for success.
func TestExitStatus(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "parley")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cases := []struct {
		args   []string
		env    []string
		status int
		stderr string
	}{
		{[]string{"serve", "-addr", "nowhere"}, nil, 2, "parley: -addr (PARLEY_ADDR)"},
		{[]string{"serve"}, []string{"PARLEY_LOG_FORMAT=xml"}, 2, "PARLEY_LOG_FORMAT"},
		{[]string{"frobnicate"}, nil, 2, `unknown command "frobnicate"`},
		{[]string{"serve", "-h"}, nil, 0, "PARLEY_ADDR"},
		{[]string{"version"}, nil, 0, ""},
		{[]string{"serve", "-addr", "127.0.0.1:0"}, []string{"PARLEY_DB=mysql://root@" + closedPort(t) + "/parley"}, 1, "cannot reach MySQL"},
	}
	for _, c := range cases {
		cmd := exec.Command(bin, c.args...)
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "PARLEY_DATA_DIR=" + t.TempDir()}, c.env...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		cmd.Stdout = io.Discard
		err := cmd.Run()
		status := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			status = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if status != c.status || !strings.Contains(stderr.String(), c.stderr) {
			t.Errorf("parley %v %v: status %d, stderr %q; want %d and %q", c.args, c.env, status, stderr.String(), c.status, c.stderr)
		}
	}
}

func TestMigrateCommand(t *testing.T) {
	storetest.Each(t, func(t *testing.T, kind string) {
		e := dbEnv(t, kind)
		out, _, err := runOnce(t, e, "migrate")
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(`migrating the (\w+) schema from version 0 to (\d+)`).FindStringSubmatch(out)
		if m == nil || m[1] != kind {
			t.Fatalf("migrate output:\n%s", out)
		}
		contains(t, "migrate output", out, "applied 00001_meta.sql", "the "+kind+" schema is at version "+m[2])
		// Nothing is pending the second time.
		out, _, err = runOnce(t, e, "migrate")
		if err != nil || strings.Contains(out, "migrating") || !strings.Contains(out, "at version "+m[2]) {
			t.Fatalf("second migrate: %v\n%s", err, out)
		}
		// Migrating creates no account; a server started without migrating works on the migrated schema.
		out, _, err = runOnce(t, e, "admin", "list-agents")
		if err != nil || strings.Count(strings.TrimSpace(out), "\n") != 0 {
			t.Fatalf("agents after migrate: %v\n%s", err, out)
		}
		s := startServe(t, e, "-migrate=false")
		contains(t, "stdout", s.Stdout.String(), "First run")
	})
	t.Run("refuses an old schema without -migrate", func(t *testing.T) {
		_, _, err := runOnce(t, dbEnv(t, "sqlite"), "serve", "-migrate=false", "-addr", "127.0.0.1:0")
		if err == nil || !strings.Contains(err.Error(), "run 'parley migrate'") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestAdminCommands(t *testing.T) {
	e := dbEnv(t, "sqlite")
	out, _, err := runOnce(t, e, "admin", "create-agent", "-email", "Li.Lei@Example.com", "-name", "李雷", "-role", "supervisor", "-capacity", "8")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`created supervisor li\.lei@example\.com \(\S+\)\npassword: (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("create-agent output:\n%s", out)
	}
	first := m[1]
	out, _, err = runOnce(t, e, "admin", "create-agent", "-email", "wang@example.com", "-password", "given password 1")
	if err != nil || strings.Contains(out, "password:") {
		t.Fatalf("create-agent with -password must not print it: %v\n%s", err, out)
	}
	out, _, err = runOnce(t, e, "admin", "list-agents")
	if err != nil {
		t.Fatal(err)
	}
	contains(t, "list-agents", out, "EMAIL", "li.lei@example.com", "李雷", "supervisor", "8", "enabled", "wang@example.com")
	if strings.Contains(out, "$2a$") {
		t.Fatal("list-agents shows password hashes")
	}

	_, _, err = runOnce(t, e, "admin", "create-agent", "-email", "li.lei@example.com")
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("duplicate: %v", err)
	}
	_, _, err = runOnce(t, e, "admin", "create-agent", "-email", "x@example.com", "-role", "root")
	if err == nil || !strings.Contains(err.Error(), "role must be admin, supervisor or agent") {
		t.Fatalf("bad role: %v", err)
	}
	_, _, err = runOnce(t, e, "admin", "reset-password", "-email", "nobody@example.com")
	if err == nil || !strings.Contains(err.Error(), "agent not found") {
		t.Fatalf("unknown agent: %v", err)
	}

	out, _, err = runOnce(t, e, "admin", "reset-password", "-email", "LI.LEI@example.com")
	if err != nil {
		t.Fatal(err)
	}
	m = regexp.MustCompile(`every session of theirs was logged out\npassword: (\S+)`).FindStringSubmatch(out)
	if m == nil || m[1] == first {
		t.Fatalf("reset-password output:\n%s", out)
	}
	st := storetest.OpenWith(t, store.Options{DataDir: e["PARLEY_DATA_DIR"]})
	a, err := st.AgentByEmail(context.Background(), "li.lei@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if bcrypt.CompareHashAndPassword([]byte(a.PasswordHash), []byte(m[1])) != nil {
		t.Fatal("the printed new password does not match the stored hash")
	}
	if bcrypt.CompareHashAndPassword([]byte(a.PasswordHash), []byte(first)) == nil {
		t.Fatal("the old password still works")
	}
	if a.Role != "supervisor" || a.Capacity != 8 || a.Name != "李雷" {
		t.Fatalf("agent = %+v", a)
	}
}

func TestVersion(t *testing.T) {
	out, _, err := runOnce(t, env{}, "version")
	if err != nil || !regexp.MustCompile(`^parley \S+`).MatchString(out) {
		t.Fatalf("version: %v %q", err, out)
	}
	out, _, err = runOnce(t, env{}, "help")
	if err != nil || !strings.Contains(out, "parley migrate") {
		t.Fatalf("help: %v %q", err, out)
	}
}

func TestUnreachableDatabaseAtStart(t *testing.T) {
	addr := closedPort(t)
	start := time.Now()
	_, _, err := runOnce(t, env{"PARLEY_DATA_DIR": t.TempDir(), "PARLEY_DB": "mysql://root:hunter2secret@" + addr + "/parley",
		"PARLEY_ADDR": "127.0.0.1:0"})
	if err == nil || !strings.Contains(err.Error(), "cannot reach MySQL at "+addr) || !strings.Contains(err.Error(), "PARLEY_DB") {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "hunter2secret") {
		t.Fatalf("the error shows the database password: %v", err)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Fatalf("giving up took %v", d)
	}
	var ue *config.UsageError
	if errors.As(err, &ue) {
		t.Fatal("an unreachable database is not a usage error (exit status 1, not 2)")
	}
}

func TestMissingMariaDBDatabase(t *testing.T) {
	dsn := storetest.MySQLURL(t, storetest.FreshMySQL(t))
	missing := dsn[:strings.LastIndex(dsn, "/")+1] + "parley_missing_db"
	_, _, err := runOnce(t, env{"PARLEY_DATA_DIR": t.TempDir(), "PARLEY_DB": missing, "PARLEY_ADDR": "127.0.0.1:0"})
	if err == nil || !strings.Contains(err.Error(), "CREATE DATABASE `parley_missing_db` CHARACTER SET utf8mb4") {
		t.Fatalf("err = %v", err)
	}
}

func TestCorruptAndForeignSQLiteFiles(t *testing.T) {
	t.Run("corrupt", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "parley.db"), []byte(strings.Repeat("this is not SQLite ", 300)), 0o600); err != nil {
			t.Fatal(err)
		}
		_, _, err := runOnce(t, env{"PARLEY_DATA_DIR": dir, "PARLEY_ADDR": "127.0.0.1:0"})
		if err == nil || !strings.Contains(err.Error(), "is not a valid SQLite database") || !strings.Contains(err.Error(), "restore it from a backup") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("foreign", func(t *testing.T) {
		dir := t.TempDir()
		if err := storetest.CreateForeignSQLite(filepath.Join(dir, "parley.db")); err != nil {
			t.Fatal(err)
		}
		_, _, err := runOnce(t, env{"PARLEY_DATA_DIR": dir, "PARLEY_ADDR": "127.0.0.1:0"})
		if err == nil || !strings.Contains(err.Error(), "a SQLite database of another program") {
			t.Fatalf("err = %v", err)
		}
		// The foreign file was not touched: no Parley tables were added to it.
		if _, _, err := runOnce(t, env{"PARLEY_DATA_DIR": dir}, "migrate"); err == nil {
			t.Fatal("migrate accepted a foreign database")
		}
	})
	t.Run("weak explicit secret", func(t *testing.T) {
		_, _, err := runOnce(t, env{"PARLEY_DATA_DIR": t.TempDir(), "PARLEY_SECRET": "changeme"})
		if err == nil || !strings.Contains(err.Error(), "shorter than 32 characters") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestLogsMaskPersonalData(t *testing.T) {
	s := startServe(t, dbEnv(t, "sqlite"), "-log-format", "json")
	get(t, s.URL+"/api/v1/agents/li.lei@example.com/13812345678", "")
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	logs := s.Stderr.String()
	if !strings.Contains(logs, `"route":"GET /api/v1/agents/{id}"`) && !strings.Contains(logs, `"path":"/api/v1/agents/`) {
		t.Fatalf("the request was not logged:\n%s", logs)
	}
	for _, pii := range []string{"li.lei@example.com", "13812345678"} {
		if strings.Contains(logs, pii) {
			t.Errorf("the log holds %q in clear:\n%s", pii, logs)
		}
	}
	contains(t, "log", logs, "l***@example.com")
}
