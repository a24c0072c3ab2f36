package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"strings"

	"github.com/parley-chat/parley/internal/config"
	"github.com/parley-chat/parley/internal/privacy"
	"github.com/parley-chat/parley/internal/store"
)

// bcryptCost is the cost of new password hashes; 0 means auth's default. Only this package's tests change it,
// to keep their many logins fast under the race detector.
var bcryptCost = 0

// version is set at build time with -ldflags "-X main.version=..."; otherwise taken from the build info.
var version = ""

const usage = `Parley — an online customer-service system.

Usage:
  parley [serve] [flags]     run the server (the default)
  parley migrate [flags]     apply pending database migrations and exit
  parley admin <action>      manage agents: create-agent, reset-password, list-agents
  parley version             print the version

Run 'parley serve -h' for every setting; each flag has a PARLEY_* environment variable.
`

// run is the whole program: it parses args, builds what the subcommand needs and runs it until ctx ends.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, getenv, stdout, stderr)
	case "migrate":
		return migrate(ctx, args, getenv, stdout, stderr)
	case "admin":
		return admin(ctx, args, getenv, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "parley", versionString())
		return nil
	case "help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return &config.UsageError{Msg: fmt.Sprintf("unknown command %q", cmd)}
	}
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		v := bi.Main.Version
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " " + s.Value[:12]
			}
		}
		return strings.TrimSpace(v)
	}
	return "dev"
}

// newLogger returns the process logger. Every string value is passed through the PII masker, so an e-mail
// address or phone number that reaches a log line is masked there.
func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Value.Kind() == slog.KindString {
			return slog.String(a.Key, privacy.Text(a.Value.String()))
		}
		if a.Value.Kind() == slog.KindAny {
			if err, ok := a.Value.Any().(error); ok {
				return slog.String(a.Key, privacy.Text(err.Error()))
			}
		}
		return a
	}}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// openStore opens the database the configuration names, printing migration progress to out.
func openStore(ctx context.Context, cfg *config.Config, log *slog.Logger, out io.Writer, migrate bool) (*store.Store, error) {
	o := store.Options{DataDir: cfg.DataDir, SQLiteSync: cfg.SQLiteSync, Migrate: migrate, Logger: log,
		Progress: func(format string, a ...any) { fmt.Fprintf(out, format+"\n", a...) }}
	if cfg.DB != "" {
		dsn, err := config.MySQLDSN(cfg.DB)
		if err != nil {
			return nil, &config.UsageError{Msg: "-db (PARLEY_DB): " + err.Error()}
		}
		o.MySQLDSN = dsn
	}
	return store.Open(ctx, o)
}

func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := config.Load("migrate", args, getenv, stderr, nil)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	st, err := openStore(ctx, cfg, log, stdout, true)
	if err != nil {
		return err
	}
	defer st.Close()
	info := st.Info()
	fmt.Fprintf(stdout, "the %s schema is at version %d\n", info.Driver, info.Migrations)
	return nil
}
