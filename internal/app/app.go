// Package app assembles a Parley node from its configuration: the store, the hub, authentication, the
// messaging service with its group committer, and the HTTP server. `parley serve` and the tests build nodes
// the same way, through New.
package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/config"
	"github.com/parley-chat/parley/internal/httpapi"
	"github.com/parley-chat/parley/internal/hub"
	"github.com/parley-chat/parley/internal/messaging"
	"github.com/parley-chat/parley/internal/metrics"
	"github.com/parley-chat/parley/internal/store"
	"github.com/parley-chat/parley/protocol"
	"github.com/parley-chat/parley/web"
)

// Options are what a node needs beyond its configuration.
type Options struct {
	Log        *slog.Logger
	Progress   io.Writer        // migration progress (stdout for `parley serve`)
	Now        func() time.Time // the clock; nil = time.Now
	BcryptCost int              // 0 = the default; tests lower it
}

// App is one assembled node.
type App struct {
	Config    *config.Config
	Store     *store.Store
	Hub       *hub.Hub
	Auth      *auth.Service
	Messaging *messaging.Service
	Router    *messaging.Router
	Indexer   *store.Indexer // fills the search index behind the writes
	Committer *store.Committer
	HTTP      *httpapi.Server
	Metrics   *metrics.Metrics
	Log       *slog.Logger
	FirstRun  *FirstRun // set when this start created the first admin

	stopBG context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// New opens the database (migrating it when configured), prepares a fresh one (first admin, team and site),
// and builds the node. Background work (heartbeats, housekeeping) starts at once; Close stops everything.
func New(ctx context.Context, cfg *config.Config, o Options) (*App, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	secret, _, err := auth.LoadOrCreateSecret(cfg.DataDir, cfg.Secret)
	if err != nil {
		return nil, err
	}
	so := store.Options{DataDir: cfg.DataDir, SQLiteSync: cfg.SQLiteSync, Migrate: cfg.Migrate, Logger: o.Log, Now: o.Now,
		Progress: func(format string, a ...any) { fmt.Fprintf(o.Progress, format+"\n", a...) }}
	if cfg.DB != "" {
		dsn, err := config.MySQLDSN(cfg.DB)
		if err != nil {
			return nil, &config.UsageError{Msg: "-db (PARLEY_DB): " + err.Error()}
		}
		so.MySQLDSN = dsn
	}
	st, err := store.Open(ctx, so)
	if err != nil {
		return nil, err
	}
	a := &App{Config: cfg, Store: st, Log: o.Log, Metrics: metrics.New(), Hub: hub.New(hub.Local{})}
	a.Auth = auth.New(st, auth.Options{Secret: secret, SessionTTL: cfg.SessionTTL, SessionIdle: cfg.SessionIdle,
		BcryptCost: o.BcryptCost, Now: o.Now,
		// Revoked sessions (logout, disabled account, password or role change) close their live connections.
		OnRevoke: func(id string) { a.Hub.Kick(id, protocol.CloseRevoked, "session revoked") }})
	if a.FirstRun, err = Bootstrap(ctx, st, a.Auth, cfg); err != nil {
		st.Close()
		return nil, err
	}
	m := a.Metrics
	a.Messaging = messaging.New(st, a.Hub, messaging.Options{
		CustomerRate: cfg.CustomerMsgRate, CustomerBurst: cfg.CustomerMsgBurst, Now: o.Now,
		Observe: func(channel, typ string, took time.Duration, dup bool) {
			if !dup {
				m.MessagesReceived.WithLabelValues(channel, typ).Inc()
			}
			m.AckLatency.WithLabelValues(channel).Observe(took.Seconds())
		}})
	a.Committer = st.NewCommitter(store.CommitterOptions{
		Published: a.Messaging.Published,
		Observe: func(n int, took time.Duration, err error) {
			m.CommitBatch.Observe(float64(n))
			m.CommitDuration.Observe(took.Seconds())
			if err != nil {
				m.CommitErrors.Inc()
				o.Log.Warn("commit failed", "messages", n, "err", err)
			}
		}})
	a.Messaging.UseCommitter(a.Committer)
	a.Router = messaging.NewRouter(a.Messaging, messaging.RouterOptions{Grace: cfg.AgentGrace, Log: o.Log,
		Observe: messaging.RouterObserver{
			Offer:      func(outcome string) { m.Offers.WithLabelValues(outcome).Inc() },
			Assigned:   func(waited time.Duration) { m.QueueWait.Observe(waited.Seconds()) },
			Claim:      func(took time.Duration) { m.AssignLatency.Observe(took.Seconds()) },
			QueueState: func(team string, n int) { m.QueueLength.WithLabelValues(team).Set(float64(n)) },
		}})
	a.HTTP = httpapi.New(httpapi.Deps{Config: cfg, Store: st, Auth: a.Auth, Metrics: m, Log: o.Log,
		Console: web.ConsoleHandler(), Widget: web.WidgetHandler(), ChatPage: web.ChatPageHandler(),
		Hub: a.Hub, Messaging: a.Messaging,
		Heartbeat: cfg.Heartbeat})

	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	a.stopBG = stop
	ix, err := st.NewIndexer(ctx)
	if err != nil {
		a.Committer.Close()
		st.Close()
		return nil, err
	}
	a.Indexer = ix
	a.wg.Add(4)
	go func() {
		defer a.wg.Done()
		indexSearch(bg, ix, o.Log)
	}()
	go func() {
		defer a.wg.Done()
		a.Router.Run(bg)
	}()
	go func() {
		defer a.wg.Done()
		maintain(bg, st, o.Log)
	}()
	go func() {
		defer a.wg.Done()
		a.HTTP.Run(bg)
	}()
	return a, nil
}

// Handler is the node's HTTP handler.
func (a *App) Handler() http.Handler { return a.HTTP.Handler() }

// CloseConnections ends long-polls and closes WebSockets with "going away" (they resume elsewhere).
func (a *App) CloseConnections() { a.HTTP.CloseConnections() }

// Close stops the node's work in order: real-time connections, background tasks, the committer (which commits
// what is queued), and the database last. Stop the HTTP server before calling it.
func (a *App) Close() error {
	var err error
	a.once.Do(func() {
		a.HTTP.CloseConnections()
		a.stopBG()
		a.wg.Wait()
		a.Committer.Close()
		err = a.Store.Close()
	})
	return err
}

// indexSearch keeps the search index up to date, once a second, until ctx ends.
func indexSearch(ctx context.Context, ix *store.Indexer, log *slog.Logger) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := messaging.IndexSearch(ctx, ix); err != nil && ctx.Err() == nil {
				log.Warn("search index", "err", err)
			}
		}
	}
}

// maintain runs periodic housekeeping until ctx ends.
func maintain(ctx context.Context, st *store.Store, log *slog.Logger) {
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
