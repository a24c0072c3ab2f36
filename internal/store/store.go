// Package store keeps Parley's data in SQL: the embedded SQLite (the default) or MySQL/MariaDB. All SQL lives
// here, written as portable SQL with bare ? parameters; the few dialect differences are methods of dialect.
// Every method takes a context and runs one transaction per use case.
package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/parley-chat/parley/internal/chat"
)

//go:embed migrations
var migrationsFS embed.FS

// sqliteBusyTimeout is how long a SQLite statement waits for a lock another connection holds (a checkpoint,
// a backup) before it fails with SQLITE_BUSY.
const sqliteBusyTimeout = 10 * time.Second

// applicationID marks a SQLite file as Parley's ("PRLY"), so a foreign database is refused, not migrated.
const applicationID = 0x50524C59

// Options say which database to open and how.
type Options struct {
	DataDir    string // SQLite: the database lives at DataDir/parley.db
	MySQLDSN   string // go-sql-driver form; empty selects SQLite
	SQLiteSync string // FULL or NORMAL
	Migrate    bool   // apply pending migrations while opening
	Logger     *slog.Logger
	Now        func() time.Time // the clock; tests inject one
	Progress   func(format string, args ...any)
}

// Store is Parley's database. It is safe for concurrent use.
type Store struct {
	w *sql.DB // writes. SQLite: one connection, immediate transactions. MySQL: the shared pool.
	// srch holds the search index. SQLite: its own file (search.db) with its own writer, so indexing never
	// waits for, or makes wait, the single writer of the messages; it is derived data, rebuilt from the messages
	// when lost, so it syncs NORMAL. MySQL: the shared pool.
	srch    *sql.DB
	r       *sql.DB       // reads. SQLite: a separate query-only pool. MySQL: the same pool as w.
	ckpt    *checkpointer // SQLite: folds the WAL into the database file beside the writer
	rc, wc  *stmtCache    // prepared statements of r and of w (one cache on MySQL, where they are one pool)
	d       dialect
	log     *slog.Logger
	now     func() time.Time
	goose   *goose.Provider
	epoch   string
	info    Info
	closeMu sync.Once
	sites   *siteCache
	starts  *txBatcher      // SQLite: conversation starts share commits; nil on MySQL
	touches *sessionTouches // sessions' last use, written behind the requests
	// batchStarts: MySQL starts conversations in batches (startbatch.go): one queue lock, a few statements and
	// one commit for many starts. nil on SQLite.
	batchStarts *startBatcher
	// mycfg and mylife: MySQL's connection settings and connection lifetime, for the group committer's own
	// pool (committer_mysql.go). nil on SQLite.
	mycfg  *mysql.Config
	mylife time.Duration
}

// Info describes the open database for /healthz and the start-up banner.
type Info struct {
	Driver     string `json:"driver"`            // sqlite or mysql
	Version    string `json:"version"`           // server or library version
	Durability string `json:"durability"`        // e.g. "synchronous=FULL" or "innodb_flush_log_at_trx_commit=1"
	Path       string `json:"path,omitempty"`    // the SQLite file
	Durable    bool   `json:"durable"`           // a commit survives power loss
	Warning    string `json:"warning,omitempty"` // set when the configuration may lose acknowledged data
	Migrations int64  `json:"schema_version"`    // applied schema version
	Epoch      string `json:"epoch,omitempty"`   // the store's epoch
}

// Open connects to the database, checks that it is Parley's (or empty), applies pending migrations when asked,
// and loads the epoch.
func Open(ctx context.Context, o Options) (*Store, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Progress == nil {
		o.Progress = func(string, ...any) {}
	}
	// Timestamps are stored as UTC milliseconds; the clock is truncated to them so that what a caller is told
	// (an acknowledgement's ts) is exactly what a later read returns.
	clock := o.Now
	s := &Store{log: o.Logger, now: func() time.Time { return clock().UTC().Truncate(time.Millisecond) },
		sites: newSiteCache(SiteCacheTTL)}
	s.touches = newSessionTouches(s)
	var err error
	if o.MySQLDSN != "" {
		err = s.openMySQL(ctx, o)
	} else {
		err = s.openSQLite(ctx, o)
	}
	if err != nil {
		return nil, err
	}
	if err := s.initMigrations(); err != nil {
		s.Close()
		return nil, err
	}
	if o.Migrate {
		if err := s.Migrate(ctx, o.Progress); err != nil {
			s.Close()
			return nil, err
		}
	}
	if pending, err := s.goose.HasPending(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("read the schema version: %w", err)
	} else if pending {
		s.Close()
		return nil, errors.New("the database schema is older than this version of Parley; run 'parley migrate' (or start without -migrate=false)")
	}
	if err := s.loadEpoch(ctx); err != nil {
		s.Close()
		return nil, err
	}
	v, _ := s.goose.GetDBVersion(ctx)
	s.info.Migrations = v
	s.info.Epoch = s.epoch
	return s, nil
}

func (s *Store) openSQLite(ctx context.Context, o Options) error {
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return fmt.Errorf("create the data directory %s: %w", o.DataDir, err)
	}
	path, err := filepath.Abs(filepath.Join(o.DataDir, "parley.db"))
	if err != nil {
		return err
	}
	sync := strings.ToUpper(o.SQLiteSync)
	if sync == "" {
		sync = "FULL"
	}
	if pcacheShimErr != nil {
		s.log.Warn("SQLite's page cache runs without the shim that spares commits a walk of the whole cache (pcache.go); messages are safe, commits cost more CPU", "err", pcacheShimErr)
	}
	if walVFSErr != nil {
		s.log.Warn("SQLite's writer writes its log frame by frame: the VFS that gathers a commit's frames is not installed (walvfs.go); messages are safe, commits cost more CPU", "err", walVFSErr)
	}
	// WAL lets readers run beside the writer; synchronous=FULL fsyncs the WAL at every commit, so an
	// acknowledged message survives power loss. busy_timeout covers the moments a checkpoint holds the lock.
	// No memory-mapped reads (mmap_size 0): in WAL mode a reader that finds the database changed since its last
	// transaction drops its page cache and, when it maps the file, unmaps the whole mapping, so under a steady
	// stream of commits nearly every read began with a munmap and took a page fault for every page it touched
	// again. S6 (history pages while messages flow): with the mapping ~2.0 ms of server CPU per history page and
	// 228 MB RSS, without ~1.0 ms and 117 MB (docs/benchmarks.md, History).
	common := fmt.Sprintf("_pragma=busy_timeout(%d)&", sqliteBusyTimeout.Milliseconds()) + "_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=synchronous(" + sync + ")" +
		"&_pragma=mmap_size(0)"
	// One writer connection with BEGIN IMMEDIATE: SQLite admits one writer at a time anyway, and immediate
	// transactions take the write lock up front, so read-then-write never fails with "database is locked".
	// wal_autocheckpoint(16384): the checkpointer copies the log into the database file beside the writer;
	// the writer's own checkpoint, past 64 MiB of log, finds most of it copied already and restarts the log
	// (see checkpoint.go).
	// Its 8 MiB page cache (SQLite's default is 2 MiB) keeps the group commit's hot pages: the writer's own
	// commits do not reset it. Not 32 MiB, as it was: S6 on SQLite (10 M messages stored) on a 2-vCPU AMD host,
	// four interleaved pairs, held 1,979-2,000 msgs/s in all four with 8 MiB, while with 32 MiB two runs
	// collapsed (1,092 and 1,274 msgs/s, sends unanswered) and one fell behind (1,912); the server's RSS was
	// ~50 MB smaller and S2 no different (docs/benchmarks.md, History 2026-12-03 evening). SQLite's walk of the
	// whole cache after a commit that split a page, which made a larger cache dearer, is gone (pcache.go);
	// 32 MiB measured again without it, two S6 pairs, left the commit's cost per message where it was
	// (History 2026-12-03 late night).
	// walVFSFor: its commits' log frames go to the file in one write each (walvfs.go).
	w, err := sql.Open("sqlite", "file:"+path+"?"+common+"&_txlock=immediate&_pragma=cache_size(-8192)&_pragma=wal_autocheckpoint(16384)&_pragma=journal_size_limit(67108864)"+walVFSFor(sync))
	if err != nil {
		return err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	// Readers never block the writer in WAL mode; a small pool sized for two cores. Their page caches stay at
	// SQLite's default 2 MiB: a reader's cache is dropped whenever another connection committed since its last
	// read, so a larger one rarely serves a page twice while the server is busy, and what it held stays
	// allocated (S3 smoke, 1,000 idle connections: anonymous RSS grew 9–13 MB with 32 MiB reader caches, 6 MB
	// with 2 MiB; S6's history pages cost the same).
	r, err := sql.Open("sqlite", "file:"+path+"?"+common+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return err
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	r.SetConnMaxLifetime(0)
	ck, err := sql.Open("sqlite", "file:"+path+"?"+common)
	if err != nil {
		w.Close()
		r.Close()
		return err
	}
	ck.SetMaxOpenConns(1)
	ck.SetConnMaxLifetime(0)
	s.w, s.r, s.d = w, r, sqliteDialect{}
	s.starts = &txBatcher{s: s}
	s.ckpt = startCheckpointer(ck, path, s.log)
	s.rc, s.wc = newStmtCache(r, true), newStmtCache(w, false)
	if err := s.openSearchSQLite(ctx, filepath.Join(filepath.Dir(path), "search.db")); err != nil {
		s.Close()
		return err
	}
	if err := s.checkSQLiteFile(ctx, path); err != nil {
		s.Close()
		return err
	}
	var version string
	_ = w.QueryRowContext(ctx, "SELECT sqlite_version()").Scan(&version)
	s.info = Info{Driver: "sqlite", Version: version, Path: path, Durability: "synchronous=" + sync, Durable: sync == "FULL"}
	if sync != "FULL" {
		s.info.Warning = "synchronous=NORMAL: the last acknowledged messages may be lost on power loss (never on a crash)"
	}
	return nil
}

// openSearchSQLite opens (creating when missing) the SQLite file of the search index.
func (s *Store) openSearchSQLite(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", "file:"+path+"?"+fmt.Sprintf("_pragma=busy_timeout(%d)&", sqliteBusyTimeout.Milliseconds())+
		"_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate")
	if err != nil {
		return err
	}
	db.SetMaxOpenConns(1) // one writer; searches are rare and share it
	db.SetConnMaxLifetime(0)
	for _, q := range []string{
		"CREATE TABLE IF NOT EXISTS search_terms (term TEXT NOT NULL, conversation_id TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (term, conversation_id, seq)) STRICT, WITHOUT ROWID",
		"CREATE TABLE IF NOT EXISTS search_state (k TEXT PRIMARY KEY, v TEXT NOT NULL) STRICT",
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			db.Close()
			return fmt.Errorf("open the search index %s: %w", path, err)
		}
	}
	s.srch = db
	return nil
}

// checkSQLiteFile refuses a file that is not a SQLite database, is corrupt, or belongs to another program, and
// marks a new one as Parley's.
func (s *Store) checkSQLiteFile(ctx context.Context, path string) error {
	explain := func(err error) error {
		if err == nil {
			return nil
		}
		var se *sqlite.Error
		if errors.As(err, &se) {
			switch se.Code() & 0xff {
			case sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT:
				return fmt.Errorf("%s is not a valid SQLite database (corrupt, or another kind of file): restore it from a backup or move it away to start afresh: %w", path, err)
			case sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM:
				return fmt.Errorf("cannot open %s for writing: check the permissions of the file and its directory: %w", path, err)
			}
		}
		return fmt.Errorf("open %s: %w", path, err)
	}
	var appID, tables int
	if err := s.w.QueryRowContext(ctx, "PRAGMA application_id").Scan(&appID); err != nil {
		return explain(err)
	}
	if err := s.w.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type = 'table'").Scan(&tables); err != nil {
		return explain(err)
	}
	switch {
	case appID == applicationID:
		return nil
	case appID == 0 && tables == 0:
		_, err := s.w.ExecContext(ctx, fmt.Sprintf("PRAGMA application_id = %d", applicationID))
		return explain(err)
	default:
		return fmt.Errorf("%s is a SQLite database of another program (application_id %#x, %d tables): Parley will not touch it; point -data-dir at another directory", path, appID, tables)
	}
}

func (s *Store) openMySQL(ctx context.Context, o Options) error {
	cfg, err := mysql.ParseDSN(o.MySQLDSN)
	if err != nil {
		return fmt.Errorf("parse the MySQL DSN: %w", err)
	}
	// utf8mb4 on the connection; every table declares utf8mb4 too (3-byte utf8 loses emoji).
	cfg.Collation = "utf8mb4_bin"
	// One round trip per statement instead of prepare/execute/close; safe with utf8mb4.
	cfg.InterpolateParams = true
	cfg.MultiStatements = false
	cfg.Timeout = 5 * time.Second
	cfg.ReadTimeout = 30 * time.Second
	cfg.WriteTimeout = 30 * time.Second
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	cfg.Params["time_zone"] = "'+00:00'"
	// Strict mode: an over-long value is an error, never silently truncated.
	cfg.Params["sql_mode"] = "'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ENGINE_SUBSTITUTION'"

	probe, err := mysqlConnect(cfg)
	if err != nil {
		return err
	}
	var version string
	if err := probe.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version); err != nil {
		probe.Close()
		return explainMySQL(cfg, err)
	}
	// READ COMMITTED avoids InnoDB gap locks, which would make concurrent inserts into neighbouring key
	// ranges deadlock; every invariant we need is held by row locks and unique keys. The variable's name
	// differs between MariaDB (tx_isolation before 11.1) and MySQL 8 (transaction_isolation).
	isoVar := "transaction_isolation"
	if _, err := probe.ExecContext(ctx, "SELECT @@transaction_isolation"); err != nil {
		isoVar = "tx_isolation"
	}
	var waitTimeout, flushLog int64
	var logBin, syncBinlog sql.NullInt64
	_ = probe.QueryRowContext(ctx, "SELECT @@wait_timeout, @@innodb_flush_log_at_trx_commit").Scan(&waitTimeout, &flushLog)
	_ = probe.QueryRowContext(ctx, "SELECT @@log_bin, @@sync_binlog").Scan(&logBin, &syncBinlog)
	var pool, data sql.NullInt64
	_ = probe.QueryRowContext(ctx, "SELECT @@innodb_buffer_pool_size, "+
		"(SELECT SUM(data_length + index_length) FROM information_schema.TABLES WHERE table_schema = DATABASE())").Scan(&pool, &data)
	probe.Close()
	if advice := bufferPoolAdvice(pool.Int64, data.Int64); advice != "" {
		s.log.Warn(advice, "innodb_buffer_pool_size", pool.Int64, "tables_bytes", data.Int64)
	}

	cfg.Params[isoVar] = "'READ-COMMITTED'"
	db, err := mysqlConnect(cfg)
	if err != nil {
		return err
	}
	// Connections must be retired before the server's wait_timeout closes them under us.
	life := 30 * time.Minute
	if wt := time.Duration(waitTimeout) * time.Second; wt > 0 && wt/2 < life {
		life = wt / 2
	}
	db.SetConnMaxLifetime(life)
	s.mycfg, s.mylife = cfg, life
	db.SetConnMaxIdleTime(5 * time.Minute)
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(32)
	s.w, s.r, s.d = db, db, mysqlDialect{}
	s.srch = db
	s.batchStarts = &startBatcher{s: s}
	s.rc = newStmtCache(db, false)
	s.wc = s.rc
	s.info = Info{Driver: "mysql", Version: version, Durable: true,
		Durability: fmt.Sprintf("innodb_flush_log_at_trx_commit=%d", flushLog)}
	var warn []string
	if flushLog != 1 {
		s.info.Durable = false
		warn = append(warn, fmt.Sprintf("innodb_flush_log_at_trx_commit=%d: the server may lose committed (acknowledged) messages on a crash or power loss; set it to 1", flushLog))
	}
	if logBin.Valid && logBin.Int64 == 1 && syncBinlog.Valid && syncBinlog.Int64 != 1 {
		warn = append(warn, fmt.Sprintf("binary log on with sync_binlog=%d: a replica or restore may miss acknowledged messages; set sync_binlog=1", syncBinlog.Int64))
	}
	s.info.Warning = strings.Join(warn, "; ")
	if s.info.Warning != "" {
		s.log.Warn("the MySQL server is configured to lose acknowledged data", "reason", s.info.Warning)
	}
	return nil
}

// bufferPoolAdvice is the warning for a database larger than InnoDB's buffer pool ("" when it fits or a
// figure is unknown). Every message enters random pages of the messages table's indexes and a history page
// reads a conversation's pages: once the tables outgrow the pool those reads wait for the disk. With 10 M
// messages and the default 128 MiB, the benchmark's S6 ran at half its rate (docs/benchmarks.md).
func bufferPoolAdvice(pool, data int64) string {
	if pool <= 0 || data <= pool {
		return ""
	}
	return fmt.Sprintf("the database's tables and indexes (%d MiB) are larger than innodb_buffer_pool_size (%d MiB): "+
		"sends and history reads will wait for the disk; give the buffer pool more memory (docs/deployment.md)", data>>20, pool>>20)
}

func mysqlConnect(cfg *mysql.Config) (*sql.DB, error) {
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("MySQL DSN: %w", err)
	}
	return sql.OpenDB(c), nil
}

func explainMySQL(cfg *mysql.Config, err error) error {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1049:
			return fmt.Errorf("the MySQL database %q does not exist: create it with CREATE DATABASE `%s` CHARACTER SET utf8mb4: %w", cfg.DBName, cfg.DBName, err)
		case 1045:
			return fmt.Errorf("MySQL refused the user %q: check the user and password in -db (PARLEY_DB): %w", cfg.User, err)
		}
	}
	return fmt.Errorf("cannot reach MySQL at %s: check that the server runs and -db (PARLEY_DB) is right: %w", cfg.Addr, err)
}

func (s *Store) initMigrations() error {
	sub, err := fs.Sub(migrationsFS, "migrations/"+s.d.name())
	if err != nil {
		return err
	}
	dialect := goose.DialectSQLite3
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	if s.d.name() == "mysql" {
		dialect = goose.DialectMySQL
		// Several nodes may start at once on one MySQL: a named lock lets one migrate while the others wait.
		opts = append(opts, goose.WithSessionLocker(mysqlLocker{}))
	}
	p, err := goose.NewProvider(dialect, s.w, sub, opts...)
	if err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	s.goose = p
	return nil
}

// Migrate applies every pending migration, reporting each through progress.
func (s *Store) Migrate(ctx context.Context, progress func(string, ...any)) error {
	pending, err := s.goose.HasPending(ctx)
	if err != nil {
		return fmt.Errorf("read the schema version: %w", err)
	}
	if !pending {
		return nil
	}
	cur, target, _ := s.goose.GetVersions(ctx)
	progress("migrating the %s schema from version %d to %d", s.d.name(), cur, target)
	for {
		res, err := s.goose.UpByOne(ctx)
		if errors.Is(err, goose.ErrNoNextVersion) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		progress("  applied %s (%s)", res.Source.Path, res.Duration.Round(time.Millisecond))
	}
}

// SchemaCurrent reports whether every migration this binary knows has been applied.
func (s *Store) SchemaCurrent(ctx context.Context) (bool, error) {
	pending, err := s.goose.HasPending(ctx)
	return !pending, err
}

// mysqlLocker serializes migrations across processes with GET_LOCK, held by the session goose migrates on.
type mysqlLocker struct{}

var _ interface {
	SessionLock(context.Context, *sql.Conn) error
	SessionUnlock(context.Context, *sql.Conn) error
} = mysqlLocker{}

func (mysqlLocker) SessionLock(ctx context.Context, c *sql.Conn) error {
	var got sql.NullInt64
	if err := c.QueryRowContext(ctx, "SELECT GET_LOCK('parley_migrate', 120)").Scan(&got); err != nil {
		return err
	}
	if got.Int64 != 1 {
		return errors.New("another node has been migrating the schema for over 2 minutes")
	}
	return nil
}

func (mysqlLocker) SessionUnlock(ctx context.Context, c *sql.Conn) error {
	_, err := c.ExecContext(ctx, "SELECT RELEASE_LOCK('parley_migrate')")
	return err
}

// loadEpoch reads the store's epoch, creating it on a new store.
func (s *Store) loadEpoch(ctx context.Context) error {
	err := s.queryRow(ctx, "SELECT v FROM meta WHERE k = 'epoch'").Scan(&s.epoch)
	if err == nil {
		return nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("read the epoch: %w", err)
	}
	_, err = s.w.ExecContext(ctx, s.d.insertIgnore("meta", "k, v", "?, ?"), "epoch", rand.Text())
	if err != nil {
		return fmt.Errorf("create the epoch: %w", err)
	}
	return s.w.QueryRowContext(ctx, "SELECT v FROM meta WHERE k = 'epoch'").Scan(&s.epoch)
}

// Epoch is the store's random identity; it changes when the store is restored or its sequences are rewritten,
// telling clients to drop what they cached.
func (s *Store) Epoch() string { return s.epoch }

// Info describes the database for health output.
func (s *Store) Info() Info { return s.info }

// Ping checks that the database answers, and on SQLite that a write could start now.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		return s.wrap("ping", err)
	}
	var one int
	if err := s.queryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		return s.wrap("ping", err)
	}
	if s.d.name() == "sqlite" {
		return s.pingSQLiteWriter(ctx)
	}
	return nil
}

// pingSQLiteWriter takes the write lock for an instant. In WAL mode readers never notice another process
// holding it (a backup tool, a sqlite3 shell in a transaction), yet every write would then wait out the busy
// timeout and fail. The probe waits at most a second for the lock: SQLite's busy wait ignores ctx.
func (s *Store) pingSQLiteWriter(ctx context.Context) error {
	c, err := s.w.Conn(ctx)
	if err != nil {
		return s.wrap("ping", err)
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, "PRAGMA busy_timeout = 1000"); err != nil {
		return s.wrap("ping", err)
	}
	defer c.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf("PRAGMA busy_timeout = %d", sqliteBusyTimeout.Milliseconds()))
	tx, err := c.BeginTx(ctx, nil) // BEGIN IMMEDIATE: the writer pool's _txlock
	if err != nil {
		if s.d.isRetryable(err) {
			return chat.Wrap(chat.CodeUnavailable, err, "another process holds the SQLite write lock")
		}
		return s.wrap("ping", err)
	}
	return s.wrap("ping", tx.Rollback())
}

// Close closes the database. Call it last, after everything that uses it has stopped.
func (s *Store) Close() error {
	var err error
	s.closeMu.Do(func() {
		if s.touches != nil {
			s.touches.close()
		}
		if s.goose != nil {
			// The provider does not own s.w; closing it would close our pool twice.
			s.goose = nil
		}
		s.rc.close()
		if s.wc != s.rc {
			s.wc.close()
		}
		if s.srch != nil && s.srch != s.w {
			err = errors.Join(err, s.srch.Close())
		}
		if s.r != nil && s.r != s.w {
			err = errors.Join(err, s.r.Close())
		}
		s.ckpt.stop()
		if s.w != nil {
			if s.d != nil && s.d.name() == "sqlite" {
				// Fold the WAL back into the main file so a copied data directory is self-contained.
				_, _ = s.w.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
			}
			err = errors.Join(err, s.w.Close())
		}
	})
	return err
}

// wrap turns a database error into a domain error: unreachable or overloaded databases become Unavailable
// (retry later), constraint races Conflict; anything else is Internal with the cause kept for the log.
func (s *Store) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var de *chat.Error
	if errors.As(err, &de) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return chat.Wrap(chat.CodeUnavailable, err, "the database did not answer in time; retry")
	}
	if s.d.isUnavailable(err) {
		return chat.Wrap(chat.CodeUnavailable, err, "the database is unavailable; retry later")
	}
	return chat.Wrap(chat.CodeInternal, fmt.Errorf("%s: %w", op, err), "internal error")
}

// tx runs fn in a write transaction and commits, retrying a few times when the database reports a transient
// conflict (MySQL deadlock, SQLite busy). fn must be safe to re-run.
func (s *Store) tx(ctx context.Context, op string, fn func(*sql.Tx) error) error {
	var err error
	start := time.Now()
	for attempt := 0; attempt < 5; attempt++ {
		err = s.tryTx(ctx, fn)
		// Retry quick conflicts only. An attempt that took long has already waited out a lock (SQLite's busy
		// timeout, InnoDB's lock wait timeout): four more would hold the caller for minutes.
		if err == nil || !s.d.isRetryable(err) || ctx.Err() != nil || time.Since(start) > time.Second {
			break
		}
		time.Sleep(time.Duration(attempt+1) * 5 * time.Millisecond)
	}
	return s.wrap(op, err)
}

func (s *Store) tryTx(ctx context.Context, fn func(*sql.Tx) error) error { return runTx(ctx, s.w, fn) }

// runTx runs fn in one transaction begun on db (the writer pool, or one connection of it) and commits; an
// error rolls it back.
func runTx(ctx context.Context, db interface {
	BeginTx(context.Context, *sql.TxOptions) (*sql.Tx, error)
}, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// ms converts a time to the stored form: UTC milliseconds.
func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMS converts stored milliseconds back; 0 is the zero time.
func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

func nullMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMS(v.Int64)
}

// Compile-time check that goose's database package is what we think it is (used by the locker above).
var _ database.DBTxConn = (*sql.Conn)(nil)

// RotateEpoch gives the store a new epoch. Run it after restoring a backup (`parley admin new-epoch`): clients
// holding positions from the store as it was then reload instead of trusting sequence numbers that may now
// name other messages.
func (s *Store) RotateEpoch(ctx context.Context) (string, error) {
	epoch := rand.Text()
	err := s.tx(ctx, "rotate epoch", func(tx *sql.Tx) error {
		_, err := s.exec(ctx, tx, "UPDATE meta SET v = ? WHERE k = 'epoch'", epoch)
		return err
	})
	if err != nil {
		return "", err
	}
	s.epoch = epoch
	s.info.Epoch = epoch
	return epoch, nil
}
