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
	"sync"
	"time"

	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/config"
	"github.com/parley-chat/parley/internal/httpapi"
	"github.com/parley-chat/parley/internal/metrics"
	"github.com/parley-chat/parley/web"
)

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := config.Load("serve", args, getenv, stderr, nil)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	secret, _, err := auth.LoadOrCreateSecret(cfg.DataDir, cfg.Secret)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg, log, stdout, cfg.Migrate)
	if err != nil {
		return err
	}
	// The database closes last: after the HTTP server has drained and every background task has stopped.
	defer st.Close()
	if w := st.Info().Warning; w != "" {
		fmt.Fprintln(stdout, "WARNING:", w)
	}

	m := metrics.New()
	authSvc := auth.New(st, auth.Options{Secret: secret, SessionTTL: cfg.SessionTTL, SessionIdle: cfg.SessionIdle})
	first, err := bootstrap(ctx, st, authSvc, cfg)
	if err != nil {
		return err
	}
	srv := httpapi.New(httpapi.Deps{Config: cfg, Store: st, Auth: authSvc, Metrics: m, Log: log,
		Console: web.ConsoleHandler(), Widget: web.WidgetHandler()})

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another Parley or program using the port? choose another with -addr)", cfg.Addr, err)
	}
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	info := st.Info()
	fmt.Fprintf(stdout, "Parley %s listening on %s (database: %s %s, %s)\n", versionString(), ln.Addr(), info.Driver,
		info.Version, info.Durability)
	fmt.Fprintf(stdout, "  console: %s/console/\n", cfg.PublicURL)
	if first != nil {
		printFirstRun(stdout, cfg, first)
	}

	var wg sync.WaitGroup
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	defer func() { stopBG(); wg.Wait() }()
	wg.Add(1)
	go func() {
		defer wg.Done()
		maintain(bg, st, log)
	}()
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
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		log.Warn("shutdown", "err", err)
	}
	hs.Close()
	<-errc
	fmt.Fprintln(stdout, "Parley stopped")
	return nil
}

// maintain runs periodic housekeeping until ctx ends.
func maintain(ctx context.Context, st interface {
	PurgeExpiredSessions(context.Context) (int64, error)
}, log *slog.Logger) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		if n, err := st.PurgeExpiredSessions(ctx); err != nil && ctx.Err() == nil {
			log.Warn("purge expired sessions", "err", err)
		} else if n > 0 {
			log.Debug("purged expired sessions", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
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
