// Package config holds Parley's settings: one typed struct, loaded once from command-line flags and PARLEY_*
// environment variables, validated before anything starts, and passed down explicitly.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"
)

// Config is every setting of `parley serve`. Each field has a flag and a PARLEY_* twin (see Load).
type Config struct {
	Addr          string        // listen address of the public HTTP server
	DataDir       string        // SQLite file, generated secret, uploaded files
	DB            string        // "" = embedded SQLite; mysql://user:pass@host:port/db selects MySQL/MariaDB
	SQLiteSync    string        // FULL (durable) or NORMAL (may lose the last acknowledged messages on power loss)
	Bus           string        // "" = single node; redis://... or nats://... for several nodes (later)
	PublicURL     string        // the URL users reach Parley at; its origin is the console's origin
	DebugAddr     string        // loopback address for pprof; "" = off
	LogLevel      string        // debug, info, warn, error
	LogFormat     string        // text or json
	AdminEmail    string        // first admin's e-mail when the database has no agent
	AdminPassword string        // first admin's password; generated and printed once when empty
	SessionTTL    time.Duration // absolute lifetime of an agent session
	SessionIdle   time.Duration // an agent session unused this long expires
	ShutdownWait  time.Duration // how long graceful shutdown waits for requests and connections to drain
	TrustedProxy  []netip.Prefix
	Secret        string // explicit server secret; empty = the generated one in DataDir

	CustomerMsgRate  float64       // messages per second a customer may send, sustained
	CustomerMsgBurst int           // messages a customer may send in a burst
	Heartbeat        time.Duration // WebSocket ping and head-sequence heartbeat interval
	AgentGrace       time.Duration // how long an agent whose connections dropped still counts as present
	UploadMaxBytes   int64         // largest attachment accepted, in bytes
	Migrate          bool          // apply pending migrations at start (default true)
}

// setting describes one flag: its name, help, default and whether it is a secret (which enables *_FILE).
type setting struct {
	name   string
	usage  string
	secret bool
}

// EnvName returns the environment variable that sets the flag name: "data-dir" -> "PARLEY_DATA_DIR".
func EnvName(name string) string {
	return "PARLEY_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// UsageError is a configuration mistake; the program reports it and exits with status 2.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// ErrHelp is returned when -h was asked for; the usage text has been written.
var ErrHelp = flag.ErrHelp

// Load parses args (without the subcommand) and the environment into a validated Config. Flags win over
// environment variables, which win over defaults. Help and errors are written to out.
//
// extra, when not nil, registers a subcommand's own flags on the same flag set.
func Load(cmd string, args []string, getenv func(string) string, out io.Writer, extra func(*flag.FlagSet)) (*Config, error) {
	c := &Config{}
	fs := flag.NewFlagSet("parley "+cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var secrets = map[string]bool{}
	str := func(p *string, name, def, usage string, secret bool) {
		fs.StringVar(p, name, def, usage)
		secrets[name] = secret
	}
	dur := func(p *time.Duration, name string, def time.Duration, usage string) {
		fs.DurationVar(p, name, def, usage)
	}
	var proxies string
	str(&c.Addr, "addr", ":8080", "listen address", false)
	str(&c.DataDir, "data-dir", "./data", "data directory: SQLite database, generated secret, uploads", false)
	str(&c.DB, "db", "", "database: empty for the embedded SQLite, or mysql://user:pass@host:3306/dbname", true)
	str(&c.SQLiteSync, "sqlite-sync", "FULL", "SQLite durability: FULL, or NORMAL (may lose the last acknowledged messages on power loss, never on a crash)", false)
	str(&c.Bus, "bus", "", "event bus between nodes: empty for a single node (redis:// and nats:// come with multi-node mode)", true)
	str(&c.PublicURL, "public-url", "", "public base URL, e.g. https://chat.example.com (default http://localhost:<port>)", false)
	str(&c.DebugAddr, "debug-addr", "", "loopback address for pprof, e.g. 127.0.0.1:6060; empty = off", false)
	str(&c.LogLevel, "log-level", "info", "log level: debug, info, warn, error", false)
	str(&c.LogFormat, "log-format", "text", "log format: text or json", false)
	str(&c.AdminEmail, "admin-email", "admin@localhost", "e-mail of the admin created on first run", false)
	str(&c.AdminPassword, "admin-password", "", "password of the admin created on first run (generated and printed when empty)", true)
	dur(&c.SessionTTL, "session-ttl", 7*24*time.Hour, "absolute lifetime of an agent session")
	dur(&c.SessionIdle, "session-idle", 24*time.Hour, "an agent session unused this long expires")
	dur(&c.ShutdownWait, "shutdown-timeout", 15*time.Second, "graceful shutdown: how long to let requests and connections drain")
	fs.StringVar(&proxies, "trusted-proxies", "", "comma-separated CIDRs of reverse proxies whose X-Forwarded-For is believed")
	fs.BoolVar(&c.Migrate, "migrate", true, "apply pending database migrations at start")
	str(&c.Secret, "secret", "", "server secret (at least 32 characters); default: generated into <data-dir>/secret on first run. Several nodes must share one", true)
	fs.Float64Var(&c.CustomerMsgRate, "customer-msg-rate", 2, "messages per second a customer may send, sustained")
	fs.IntVar(&c.CustomerMsgBurst, "customer-msg-burst", 10, "messages a customer may send in a burst")
	dur(&c.Heartbeat, "heartbeat", 25*time.Second, "WebSocket ping and head-sequence heartbeat interval")
	dur(&c.AgentGrace, "agent-grace", time.Minute, "how long an agent whose connections all dropped still counts as present before going offline")
	fs.Int64Var(&c.UploadMaxBytes, "upload-max-bytes", 10<<20, "largest attachment accepted, in bytes (default 10 MiB)")
	if extra != nil {
		extra(fs)
	}

	// Every value goes through a checkedValue, so a value the flag's type refuses is reported with the flag,
	// its environment variable and what is allowed, whether it came from the command line or the environment.
	var bad *checkedValue
	fs.VisitAll(func(f *flag.Flag) { f.Value = &checkedValue{Value: f.Value, name: f.Name, failed: &bad} })

	fs.Usage = func() { usage(out, fs, cmd, secrets) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, ErrHelp // the flag package has printed the usage
		}
		if bad != nil {
			return nil, &UsageError{Msg: bad.describe() + " (see 'parley " + cmd + " -h')"}
		}
		return nil, &UsageError{Msg: err.Error() + " (see 'parley " + cmd + " -h')"}
	}
	if fs.NArg() > 0 {
		return nil, &UsageError{Msg: fmt.Sprintf("unexpected argument %q (see 'parley %s -h')", fs.Arg(0), cmd)}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var errs []string
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] {
			return
		}
		env := EnvName(f.Name)
		v, ok := getenvOK(getenv, env)
		if secrets[f.Name] {
			if path := getenv(env + "_FILE"); path != "" {
				b, err := os.ReadFile(path)
				if err != nil {
					errs = append(errs, fmt.Sprintf("%s_FILE: %v", env, err))
					return
				}
				v, ok = strings.TrimRight(string(b), "\r\n"), true
			}
		}
		if !ok {
			return
		}
		if err := f.Value.Set(v); err != nil {
			errs = append(errs, bad.describe())
		}
	})
	if len(errs) > 0 {
		return nil, &UsageError{Msg: "invalid setting: " + strings.Join(errs, "; ")}
	}
	if proxies != "" {
		for _, p := range strings.Split(proxies, ",") {
			p = strings.TrimSpace(p)
			if p == "" {
				continue
			}
			pre, err := netip.ParsePrefix(p)
			if err != nil {
				if a, err2 := netip.ParseAddr(p); err2 == nil {
					pre = netip.PrefixFrom(a, a.BitLen())
				} else {
					return nil, &UsageError{Msg: fmt.Sprintf("-trusted-proxies (PARLEY_TRUSTED_PROXIES): %q is not a CIDR such as 10.0.0.0/8 or an IP address", p)}
				}
			}
			c.TrustedProxy = append(c.TrustedProxy, pre.Masked())
		}
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

func getenvOK(getenv func(string) string, k string) (string, bool) {
	v := getenv(k)
	return v, v != ""
}

// Validate checks every setting and names the first bad one together with what is allowed.
func (c *Config) Validate() error {
	bad := func(flagName, format string, args ...any) error {
		return &UsageError{Msg: fmt.Sprintf("-%s (%s): %s", flagName, EnvName(flagName), fmt.Sprintf(format, args...))}
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return bad("addr", "%q is not a listen address; use host:port or :port, e.g. :8080", c.Addr)
	}
	if c.DataDir == "" {
		return bad("data-dir", "must not be empty")
	}
	if c.DB != "" {
		if _, err := MySQLDSN(c.DB); err != nil {
			return bad("db", "%v", err)
		}
	}
	c.SQLiteSync = strings.ToUpper(c.SQLiteSync)
	if c.SQLiteSync != "FULL" && c.SQLiteSync != "NORMAL" {
		return bad("sqlite-sync", "%q is not allowed; use FULL or NORMAL", c.SQLiteSync)
	}
	if c.Bus != "" {
		return bad("bus", "multi-node mode is not available in this version; leave it empty")
	}
	if c.PublicURL == "" {
		_, port, _ := net.SplitHostPort(c.Addr)
		c.PublicURL = "http://localhost:" + port
	}
	u, err := url.Parse(c.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return bad("public-url", "%q is not an http(s) URL such as https://chat.example.com", c.PublicURL)
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if c.DebugAddr != "" {
		host, _, err := net.SplitHostPort(c.DebugAddr)
		ip, perr := netip.ParseAddr(host)
		if err != nil || (host != "localhost" && (perr != nil || !ip.IsLoopback())) {
			return bad("debug-addr", "%q must be a loopback address such as 127.0.0.1:6060 (pprof must never be public)", c.DebugAddr)
		}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return bad("log-level", "%q is not allowed; use debug, info, warn or error", c.LogLevel)
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		return bad("log-format", "%q is not allowed; use text or json", c.LogFormat)
	}
	if a, err := mail.ParseAddress(c.AdminEmail); err != nil || a.Address != c.AdminEmail {
		return bad("admin-email", "%q is not an e-mail address such as admin@example.com", c.AdminEmail)
	}
	if c.AdminPassword != "" && (len(c.AdminPassword) < 10 || len(c.AdminPassword) > 72) {
		return bad("admin-password", "must be 10 to 72 bytes long")
	}
	if c.SessionTTL < time.Minute {
		return bad("session-ttl", "%v is too short; use at least 1m", c.SessionTTL)
	}
	if c.SessionIdle < time.Minute || c.SessionIdle > c.SessionTTL {
		return bad("session-idle", "%v must be at least 1m and at most -session-ttl (%v)", c.SessionIdle, c.SessionTTL)
	}
	if c.CustomerMsgRate <= 0 || c.CustomerMsgRate > 10000 {
		return bad("customer-msg-rate", "%v is not allowed; use a rate above 0 and at most 10000", c.CustomerMsgRate)
	}
	if c.CustomerMsgBurst < 1 || c.CustomerMsgBurst > 100000 {
		return bad("customer-msg-burst", "%d is not allowed; use 1 to 100000", c.CustomerMsgBurst)
	}
	if c.AgentGrace < 2*c.Heartbeat || c.AgentGrace > time.Hour {
		return bad("agent-grace", "%v is not allowed; use at least twice -heartbeat (%v) and at most 1h", c.AgentGrace, c.Heartbeat)
	}
	if c.Heartbeat < time.Second || c.Heartbeat > 5*time.Minute {
		return bad("heartbeat", "%v is not allowed; use 1s to 5m", c.Heartbeat)
	}
	if c.UploadMaxBytes < 1<<10 || c.UploadMaxBytes > 1<<30 {
		return bad("upload-max-bytes", "%d is not allowed; use 1024 (1 KiB) to 1073741824 (1 GiB)", c.UploadMaxBytes)
	}
	if c.ShutdownWait < 0 {
		return bad("shutdown-timeout", "must not be negative")
	}
	return nil
}

// checkedValue wraps a flag's value to remember a refused value, so Load can say which setting it was and
// what the setting allows.
type checkedValue struct {
	flag.Value
	name   string
	input  string
	failed **checkedValue
}

func (v *checkedValue) Set(s string) error {
	if err := v.Value.Set(s); err != nil {
		v.input = s
		*v.failed = v
		return err
	}
	return nil
}

// IsBoolFlag keeps boolean flags usable without a value (-migrate).
func (v *checkedValue) IsBoolFlag() bool {
	b, ok := v.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// Get returns the wrapped value (flag.Getter).
func (v *checkedValue) Get() any {
	if g, ok := v.Value.(flag.Getter); ok {
		return g.Get()
	}
	return v.Value.String()
}

// describe names the flag and its variable, the refused value and what is allowed instead.
func (v *checkedValue) describe() string {
	allowed := "see 'parley serve -h'"
	switch v.Get().(type) {
	case time.Duration:
		allowed = "use a duration such as 90s, 15m or 24h"
	case bool:
		allowed = "use true or false"
	case int, int64, uint, uint64:
		allowed = "use a whole number"
	case float64:
		allowed = "use a number such as 2 or 0.5"
	}
	return fmt.Sprintf("-%s (%s): %q is not allowed; %s", v.name, EnvName(v.name), v.input, allowed)
}

// Origin returns the scheme://host[:port] of the public URL: the only origin the console is served from.
func (c *Config) Origin() string {
	u, _ := url.Parse(c.PublicURL)
	return u.Scheme + "://" + u.Host
}

// MySQLDSN converts mysql://user:pass@host:port/db?params to the go-sql-driver form
// user:pass@tcp(host:port)/db?params. The driver's own form is accepted too.
func MySQLDSN(s string) (string, error) {
	if !strings.HasPrefix(s, "mysql://") {
		if strings.Contains(s, "@tcp(") || strings.Contains(s, "@unix(") {
			return s, nil
		}
		return "", errors.New("not a MySQL DSN; use mysql://user:password@host:3306/dbname")
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("not a valid URL: %v", redact(err))
	}
	db := strings.TrimPrefix(u.Path, "/")
	if db == "" || strings.Contains(db, "/") {
		return "", errors.New("the DSN must name a database: mysql://user:password@host:3306/dbname")
	}
	host := u.Host
	if host == "" {
		return "", errors.New("the DSN must name a host: mysql://user:password@host:3306/dbname")
	}
	if u.Port() == "" {
		host += ":3306"
	}
	userinfo := ""
	if u.User != nil {
		userinfo = u.User.Username()
		if p, ok := u.User.Password(); ok {
			userinfo += ":" + p
		}
		userinfo += "@"
	}
	dsn := userinfo + "tcp(" + host + ")/" + db
	if u.RawQuery != "" {
		dsn += "?" + u.RawQuery
	}
	return dsn, nil
}

// redact hides a URL's password inside url.Parse's error text.
func redact(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return "malformed"
}

func usage(out io.Writer, fs *flag.FlagSet, cmd string, secrets map[string]bool) {
	fmt.Fprintf(out, "Usage: parley %s [flags]\n\nEvery flag can also be set by the environment variable shown; flags win.\n\n", cmd)
	fs.VisitAll(func(f *flag.Flag) {
		env := EnvName(f.Name)
		if secrets[f.Name] {
			env += " (or " + env + "_FILE)"
		}
		def := f.DefValue
		if def == "" {
			def = `""`
		}
		fmt.Fprintf(out, "  -%s  [%s]  default %s\n      %s\n", f.Name, env, def, f.Usage)
	})
}
