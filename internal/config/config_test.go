package config_test

import (
	"bytes"
	"errors"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/config"
)

// env is a fake environment for Load.
type env map[string]string

func (e env) get(k string) string { return e[k] }

func load(t *testing.T, args []string, e env) (*config.Config, error, string) {
	t.Helper()
	var out bytes.Buffer
	c, err := config.Load("serve", args, e.get, &out, nil)
	return c, err, out.String()
}

// setting describes one flag for the table tests: its default as stored in Config, a good value with what
// it must produce, and (when the setting has one) a bad value with a phrase the error must contain.
type setting struct {
	flag    string
	get     func(*config.Config) any
	def     any
	good    string
	want    any
	bad     string // "" when every value is accepted
	allowed string // what the error message must say is allowed
	secret  bool   // has a *_FILE variant
}

var secret32 = strings.Repeat("k7Qz", 10) // 40 characters, not a sample value

var settings = []setting{
	{flag: "addr", get: func(c *config.Config) any { return c.Addr }, def: ":8080", good: "127.0.0.1:9090", want: "127.0.0.1:9090",
		bad: "8080", allowed: "host:port"},
	{flag: "data-dir", get: func(c *config.Config) any { return c.DataDir }, def: "./data", good: "/var/lib/parley", want: "/var/lib/parley"},
	{flag: "db", get: func(c *config.Config) any { return c.DB }, def: "", good: "mysql://u:p@db.internal:3306/parley",
		want: "mysql://u:p@db.internal:3306/parley", bad: "postgres://x/y", allowed: "mysql://user:password@host:3306/dbname", secret: true},
	{flag: "sqlite-sync", get: func(c *config.Config) any { return c.SQLiteSync }, def: "FULL", good: "normal", want: "NORMAL",
		bad: "OFF", allowed: "FULL or NORMAL"},
	{flag: "bus", get: func(c *config.Config) any { return c.Bus }, def: "", bad: "redis://127.0.0.1:6379/0",
		allowed: "leave it empty", secret: true},
	{flag: "public-url", get: func(c *config.Config) any { return c.PublicURL }, def: "http://localhost:8080",
		good: "https://chat.example.com/", want: "https://chat.example.com", bad: "ftp://x", allowed: "http(s) URL"},
	{flag: "debug-addr", get: func(c *config.Config) any { return c.DebugAddr }, def: "", good: "127.0.0.1:6060", want: "127.0.0.1:6060",
		bad: "0.0.0.0:6060", allowed: "loopback address"},
	{flag: "log-level", get: func(c *config.Config) any { return c.LogLevel }, def: "info", good: "debug", want: "debug",
		bad: "verbose", allowed: "debug, info, warn or error"},
	{flag: "log-format", get: func(c *config.Config) any { return c.LogFormat }, def: "text", good: "json", want: "json",
		bad: "xml", allowed: "text or json"},
	{flag: "admin-email", get: func(c *config.Config) any { return c.AdminEmail }, def: "admin@localhost", good: "boss@example.com",
		want: "boss@example.com", bad: "not-an-address", allowed: "e-mail address"},
	{flag: "admin-password", get: func(c *config.Config) any { return c.AdminPassword }, def: "", good: "correct horse battery",
		want: "correct horse battery", bad: "short", allowed: "10 to 72 bytes", secret: true},
	{flag: "session-ttl", get: func(c *config.Config) any { return c.SessionTTL }, def: 7 * 24 * time.Hour, good: "48h", want: 48 * time.Hour,
		bad: "soon", allowed: "duration such as"},
	{flag: "session-idle", get: func(c *config.Config) any { return c.SessionIdle }, def: 24 * time.Hour, good: "2h", want: 2 * time.Hour,
		bad: "30s", allowed: "at least 1m"},
	{flag: "shutdown-timeout", get: func(c *config.Config) any { return c.ShutdownWait }, def: 15 * time.Second, good: "1m", want: time.Minute,
		bad: "-1s", allowed: "must not be negative"},
	{flag: "trusted-proxies", get: func(c *config.Config) any { return c.TrustedProxy }, def: []netip.Prefix(nil),
		good: "10.0.0.0/8, 192.168.1.7", want: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.7/32")},
		bad: "10.0.0.0/33", allowed: "CIDR such as 10.0.0.0/8"},
	{flag: "migrate", get: func(c *config.Config) any { return c.Migrate }, def: true, good: "false", want: false,
		bad: "maybe", allowed: "true or false"},
	{flag: "customer-msg-rate", get: func(c *config.Config) any { return c.CustomerMsgRate }, def: 2.0, good: "0.5", want: 0.5,
		bad: "fast", allowed: "number such as"},
	{flag: "customer-msg-burst", get: func(c *config.Config) any { return c.CustomerMsgBurst }, def: 10, good: "20", want: 20,
		bad: "0", allowed: "1 to 100000"},
	{flag: "heartbeat", get: func(c *config.Config) any { return c.Heartbeat }, def: 25 * time.Second, good: "5s", want: 5 * time.Second,
		bad: "100ms", allowed: "1s to 5m"},
	{flag: "agent-grace", get: func(c *config.Config) any { return c.AgentGrace }, def: time.Minute, good: "2m", want: 2 * time.Minute,
		bad: "10s", allowed: "at least twice -heartbeat"},
	{flag: "upload-max-bytes", get: func(c *config.Config) any { return c.UploadMaxBytes }, def: int64(10 << 20), good: "2097152", want: int64(2 << 20),
		bad: "512", allowed: "1024 (1 KiB) to"},
	{flag: "secret", get: func(c *config.Config) any { return c.Secret }, def: "", good: secret32, want: secret32, secret: true},
}

func TestEverySettingIsInTheTable(t *testing.T) {
	var out bytes.Buffer
	_, err := config.Load("serve", []string{"-h"}, env{}.get, &out, nil)
	if !errors.Is(err, config.ErrHelp) {
		t.Fatalf("-h: err = %v, want ErrHelp", err)
	}
	listed := map[string]bool{}
	for _, line := range strings.Split(out.String(), "\n") {
		if f, ok := strings.CutPrefix(line, "  -"); ok {
			listed[strings.Fields(f)[0]] = true
		}
	}
	for _, s := range settings {
		if !listed[s.flag] {
			t.Errorf("-%s is in the test table but not in -h", s.flag)
		}
		delete(listed, s.flag)
	}
	for f := range listed {
		t.Errorf("-%s is listed by -h but has no row in the test table", f)
	}
}

func TestDefaults(t *testing.T) {
	c, err, _ := load(t, nil, env{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range settings {
		if got := s.get(c); !reflect.DeepEqual(got, s.def) {
			t.Errorf("-%s default = %#v, want %#v", s.flag, got, s.def)
		}
	}
	if c.Origin() != "http://localhost:8080" {
		t.Errorf("origin = %q", c.Origin())
	}
}

func TestFlagsAndEnvironment(t *testing.T) {
	for _, s := range settings {
		if s.good == "" {
			continue
		}
		t.Run(s.flag, func(t *testing.T) {
			c, err, _ := load(t, []string{"-" + s.flag + "=" + s.good}, env{})
			if err != nil {
				t.Fatalf("flag: %v", err)
			}
			if got := s.get(c); !reflect.DeepEqual(got, s.want) {
				t.Errorf("flag -%s=%s: got %#v, want %#v", s.flag, s.good, got, s.want)
			}
			c, err, _ = load(t, nil, env{config.EnvName(s.flag): s.good})
			if err != nil {
				t.Fatalf("env: %v", err)
			}
			if got := s.get(c); !reflect.DeepEqual(got, s.want) {
				t.Errorf("%s=%s: got %#v, want %#v", config.EnvName(s.flag), s.good, got, s.want)
			}
		})
	}
}

func TestFlagWinsOverEnvironment(t *testing.T) {
	c, err, _ := load(t, []string{"-addr", ":9100", "-log-level=warn", "-migrate=true"},
		env{"PARLEY_ADDR": ":9000", "PARLEY_LOG_LEVEL": "debug", "PARLEY_MIGRATE": "false", "PARLEY_LOG_FORMAT": "json"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":9100" || c.LogLevel != "warn" || !c.Migrate {
		t.Fatalf("flags must win: addr=%q level=%q migrate=%v", c.Addr, c.LogLevel, c.Migrate)
	}
	if c.LogFormat != "json" {
		t.Fatalf("an environment variable without a flag must still apply: log format %q", c.LogFormat)
	}
	if c.PublicURL != "http://localhost:9100" {
		t.Fatalf("the default public URL follows the listen port: %q", c.PublicURL)
	}
}

func TestSecretFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, s := range settings {
		if !s.secret || s.good == "" {
			continue
		}
		t.Run(s.flag, func(t *testing.T) {
			// Files usually end with a newline (echo, editors, Kubernetes secrets); it is not part of the value.
			p := write(s.flag, s.good+"\n")
			c, err, _ := load(t, nil, env{config.EnvName(s.flag) + "_FILE": p})
			if err != nil {
				t.Fatal(err)
			}
			if got := s.get(c); !reflect.DeepEqual(got, s.want) {
				t.Errorf("%s_FILE: got %#v, want %#v", config.EnvName(s.flag), got, s.want)
			}
			// The flag still wins over the file.
			if s.flag == "secret" {
				other := strings.Repeat("Zq", 20)
				c, err, _ = load(t, []string{"-secret", other}, env{"PARLEY_SECRET_FILE": p})
				if err != nil || c.Secret != other {
					t.Fatalf("flag over _FILE: %v, %q", err, c.Secret)
				}
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		_, err, _ := load(t, nil, env{"PARLEY_SECRET_FILE": filepath.Join(dir, "absent")})
		var ue *config.UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), "PARLEY_SECRET_FILE") {
			t.Fatalf("err = %v, want a UsageError naming PARLEY_SECRET_FILE", err)
		}
	})
	t.Run("not for ordinary settings", func(t *testing.T) {
		p := write("addr", ":7777")
		c, err, _ := load(t, nil, env{"PARLEY_ADDR_FILE": p})
		if err != nil || c.Addr != ":8080" {
			t.Fatalf("PARLEY_ADDR_FILE must be ignored (only secrets have _FILE): %v, %q", err, c.Addr)
		}
	})
}

func TestBadValues(t *testing.T) {
	for _, s := range settings {
		if s.bad == "" {
			continue
		}
		for _, via := range []string{"flag", "env"} {
			t.Run(s.flag+"/"+via, func(t *testing.T) {
				var err error
				if via == "flag" {
					_, err, _ = load(t, []string{"-" + s.flag + "=" + s.bad}, env{})
				} else {
					_, err, _ = load(t, nil, env{config.EnvName(s.flag): s.bad})
				}
				var ue *config.UsageError
				if !errors.As(err, &ue) {
					t.Fatalf("err = %v (%T), want *config.UsageError", err, err)
				}
				msg := err.Error()
				for _, want := range []string{"-" + s.flag, config.EnvName(s.flag), s.allowed} {
					if !strings.Contains(msg, want) {
						t.Errorf("message %q does not contain %q", msg, want)
					}
				}
				if s.secret && strings.Contains(msg, s.bad) && s.flag == "admin-password" {
					t.Errorf("message %q echoes a secret value", msg)
				}
			})
		}
	}
}

func TestOtherUsageErrors(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  env
		want string
	}{
		{"unknown flag", []string{"-colour=blue"}, nil, "-colour"},
		{"stray argument", []string{"extra"}, nil, `unexpected argument "extra"`},
		{"idle longer than ttl", []string{"-session-ttl=1h", "-session-idle=2h"}, nil, "at most -session-ttl"},
		{"ttl too short", []string{"-session-ttl=30s"}, nil, "PARLEY_SESSION_TTL"},
		{"empty data dir", []string{"-data-dir="}, nil, "-data-dir (PARLEY_DATA_DIR): must not be empty"},
		{"mysql without database", nil, env{"PARLEY_DB": "mysql://root@127.0.0.1:3306/"}, "must name a database"},
		{"mysql without host", nil, env{"PARLEY_DB": "mysql:///parley"}, "must name a host"},
		{"long admin password", []string{"-admin-password", strings.Repeat("x", 73)}, nil, "10 to 72 bytes"},
		{"pprof in public", nil, env{"PARLEY_DEBUG_ADDR": ":6060"}, "loopback"},
		{"negative rate", []string{"-customer-msg-rate=-1"}, nil, "above 0"},
		{"whole number", []string{"-customer-msg-burst=1.5"}, nil, "whole number"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err, _ := load(t, tc.args, tc.env)
			var ue *config.UsageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a UsageError containing %q", err, tc.want)
			}
		})
	}
}

func TestHelpListsEveryFlagWithEnvAndDefault(t *testing.T) {
	var out bytes.Buffer
	_, err := config.Load("serve", []string{"-h"}, env{}.get, &out, nil)
	if !errors.Is(err, config.ErrHelp) {
		t.Fatalf("err = %v", err)
	}
	help := out.String()
	if n := strings.Count(help, "Usage: parley serve"); n != 1 {
		t.Fatalf("the usage is printed %d times", n)
	}
	for _, s := range settings {
		env := config.EnvName(s.flag)
		var line string
		for _, l := range strings.Split(help, "\n") {
			if strings.HasPrefix(l, "  -"+s.flag+"  ") {
				line = l
			}
		}
		if line == "" {
			t.Errorf("-h does not list -%s", s.flag)
			continue
		}
		if !strings.Contains(line, "["+env) {
			t.Errorf("-%s: line %q does not name %s", s.flag, line, env)
		}
		if s.secret && !strings.Contains(line, env+"_FILE") {
			t.Errorf("-%s: line %q does not name %s_FILE", s.flag, line, env)
		}
		if !strings.Contains(line, "default ") {
			t.Errorf("-%s: line %q shows no default", s.flag, line)
		}
	}
	for _, want := range []string{"default :8080", "default ./data", "default FULL", "default 168h0m0s"} {
		if !strings.Contains(help, want) {
			t.Errorf("-h does not show %q", want)
		}
	}
}

func TestExtraFlagsOfASubcommand(t *testing.T) {
	var email string
	c, err := config.Load("admin create-agent", []string{"-email", "a@example.com", "-data-dir", "/tmp/x"}, env{}.get,
		&bytes.Buffer{}, func(fs *flag.FlagSet) { fs.StringVar(&email, "email", "", "e-mail") })
	if err != nil || email != "a@example.com" || c.DataDir != "/tmp/x" {
		t.Fatalf("err=%v email=%q dir=%q", err, email, c.DataDir)
	}
}

func TestMySQLDSN(t *testing.T) {
	cases := []struct{ in, want, err string }{
		{"mysql://root@127.0.0.1:3306/parley", "root@tcp(127.0.0.1:3306)/parley", ""},
		{"mysql://u:p%40ss@db/parley?tls=true", "u:p@ss@tcp(db:3306)/parley?tls=true", ""},
		{"mysql://db.example.com/parley", "tcp(db.example.com:3306)/parley", ""},
		{"root:pw@tcp(127.0.0.1:3306)/parley", "root:pw@tcp(127.0.0.1:3306)/parley", ""},
		{"mysql://root@127.0.0.1:3306", "", "must name a database"},
		{"mysql://root@127.0.0.1:3306/a/b", "", "must name a database"},
		{"postgres://x/y", "", "not a MySQL DSN"},
		{"mysql://u:secretpw@[::1/db", "", "not a valid URL"},
	}
	for _, tc := range cases {
		got, err := config.MySQLDSN(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("MySQLDSN(%q) err = %v, want %q", tc.in, err, tc.err)
			}
			if err != nil && strings.Contains(err.Error(), "secretpw") {
				t.Errorf("MySQLDSN(%q) leaks the password in %q", tc.in, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("MySQLDSN(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestEnvName(t *testing.T) {
	if got := config.EnvName("data-dir"); got != "PARLEY_DATA_DIR" {
		t.Fatalf("EnvName = %q", got)
	}
}
