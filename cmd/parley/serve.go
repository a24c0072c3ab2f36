package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/config"
)

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := config.Load("serve", args, getenv, stderr, nil)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	a, err := app.New(ctx, cfg, app.Options{Log: log, Progress: stdout, BcryptCost: bcryptCost})
	if err != nil {
		return err
	}
	// The database closes last (inside a.Close): after the HTTP server has drained.
	defer a.Close()
	info := a.Store.Info()
	if info.Warning != "" {
		fmt.Fprintln(stdout, "WARNING:", info.Warning)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another Parley or program using the port? choose another with -addr)", cfg.Addr, err)
	}
	hs := &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	fmt.Fprintf(stdout, "Parley %s listening on %s (database: %s %s, %s)\n", versionString(), ln.Addr(), info.Driver,
		info.Version, info.Durability)
	fmt.Fprintf(stdout, "  console: %s/console/\n", cfg.PublicURL)
	if a.FirstRun != nil {
		a.FirstRun.Print(stdout, cfg)
	}
	if cfg.DebugAddr != "" {
		dl, err := net.Listen("tcp", cfg.DebugAddr)
		if err != nil {
			return fmt.Errorf("listen on -debug-addr %s: %w", cfg.DebugAddr, err)
		}
		ds := &http.Server{Handler: debugMux(), ReadHeaderTimeout: 10 * time.Second}
		defer ds.Close()
		go ds.Serve(dl)
		fmt.Fprintf(stdout, "  pprof: http://%s/debug/pprof/\n", dl.Addr())
	}

	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "grace", cfg.ShutdownWait)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownWait)
	defer cancel()
	// Long-polls answer at once and WebSockets close with "going away" (clients resume elsewhere), then the
	// HTTP server drains the remaining requests; a.Close commits what is queued and closes the database.
	a.CloseConnections()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		log.Warn("shutdown", "err", err)
	}
	hs.Close()
	<-errc
	if err := a.Close(); err != nil {
		log.Warn("close", "err", err)
	}
	fmt.Fprintln(stdout, "Parley stopped")
	return nil
}

func debugMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
