package bench

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/google/uuid"
	_ "modernc.org/sqlite" // the SQLite driver, to verify and seed the server's file

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/config"
)

// Database is the store a run uses: the SQLite file in the server's data directory, or a MySQL database this
// run created (and drops at the end).
type Database struct {
	Kind    string // sqlite or mysql
	DataDir string // sqlite
	URL     string // mysql, PARLEY_DB form
	dsn     string // mysql, go-sql-driver form
	admin   string // mysql, the server without a database, to drop it
	name    string
	// BufferPool is the MySQL server's innodb_buffer_pool_size (0 if unknown): with 10 M messages the default
	// 128 MiB holds a small part of what S6 reads and writes, and MariaDB reads pages back from its data files.
	BufferPool int64
}

// FreshMySQL creates an empty utf8mb4 database on the server that base (mysql://user:pass@host:port/any)
// names and returns it; Drop removes it.
func FreshMySQL(ctx context.Context, base string) (*Database, error) {
	dsn, err := config.MySQLDSN(base)
	if err != nil {
		return nil, fmt.Errorf("-db: %w", err)
	}
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("-db: %w", err)
	}
	name := "parley_bench_" + strings.ToLower(rand.Text()[:10])
	adm := cfg.Clone()
	adm.DBName = ""
	db, err := sql.Open("mysql", adm.FormatDSN())
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name+" CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		return nil, fmt.Errorf("create database %s on %s: %w", name, cfg.Addr, err)
	}
	var pool sql.NullInt64
	_ = db.QueryRowContext(ctx, "SELECT @@innodb_buffer_pool_size").Scan(&pool) // not InnoDB: unknown, 0
	u := url.URL{Scheme: "mysql", Host: cfg.Addr, Path: "/" + name}
	if cfg.Passwd != "" {
		u.User = url.UserPassword(cfg.User, cfg.Passwd)
	} else {
		u.User = url.User(cfg.User)
	}
	cfg.DBName = name
	cfg.InterpolateParams = true
	return &Database{Kind: "mysql", URL: u.String(), dsn: cfg.FormatDSN(), admin: adm.FormatDSN(), name: name,
		BufferPool: pool.Int64}, nil
}

// Drop removes a MySQL database this run created.
func (d *Database) Drop(ctx context.Context) error {
	if d.Kind != "mysql" || d.name == "" {
		return nil
	}
	db, err := sql.Open("mysql", d.admin)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+d.name)
	return err
}

// Open connects to the database for checking and seeding.
func (d *Database) Open() (*sql.DB, error) {
	if d.Kind == "mysql" {
		db, err := sql.Open("mysql", d.dsn)
		if err == nil {
			db.SetMaxOpenConns(8)
		}
		return db, err
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(d.DataDir, "parley.db")+"?_pragma=busy_timeout(30000)")
	if err == nil {
		db.SetMaxOpenConns(1)
	}
	return db, err
}

// ReadStored reads what the database holds of convs: each conversation's head, the count and range of its
// messages, and the client message ids of the messages after seq from. It reads in one read-only transaction,
// one snapshot: an overloaded server may still be committing the backlog of a run when the check starts, and
// heads read before a commit with rows counted after it would look like a hole in the database.
func ReadStored(ctx context.Context, db *sql.DB, convs []string, from uint64) (map[string]*StoredConv, error) {
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("begin the check's read: %w", err)
	}
	defer tx.Rollback()
	out := make(map[string]*StoredConv, len(convs))
	for start := 0; start < len(convs); start += 500 {
		chunk := convs[start:min(start+500, len(convs))]
		args := make([]any, len(chunk))
		for i, c := range chunk {
			args[i] = c
			out[c] = &StoredConv{Keys: map[uint64]string{}}
		}
		in := strings.Repeat("?, ", len(chunk)-1) + "?"
		rows, err := tx.QueryContext(ctx, "SELECT id, last_seq FROM conversations WHERE id IN ("+in+")", args...)
		if err != nil {
			return nil, fmt.Errorf("read conversations: %w", err)
		}
		for rows.Next() {
			var id string
			var head uint64
			if err := rows.Scan(&id, &head); err != nil {
				rows.Close()
				return nil, err
			}
			out[id].Head = head
		}
		rows.Close()
		rows, err = tx.QueryContext(ctx, "SELECT conversation_id, COUNT(*), MIN(seq), MAX(seq) FROM messages WHERE conversation_id IN ("+in+") GROUP BY conversation_id", args...)
		if err != nil {
			return nil, fmt.Errorf("count messages: %w", err)
		}
		for rows.Next() {
			var id string
			var n, lo, hi uint64
			if err := rows.Scan(&id, &n, &lo, &hi); err != nil {
				rows.Close()
				return nil, err
			}
			sc := out[id]
			sc.Count, sc.Min, sc.Max = n, lo, hi
		}
		rows.Close()
		rows, err = tx.QueryContext(ctx, "SELECT conversation_id, seq, client_msg_id FROM messages WHERE conversation_id IN ("+in+") AND seq > ?", append(args, from)...)
		if err != nil {
			return nil, fmt.Errorf("read messages: %w", err)
		}
		for rows.Next() {
			var id string
			var seq uint64
			var cid sql.NullString
			if err := rows.Scan(&id, &seq, &cid); err != nil {
				rows.Close()
				return nil, err
			}
			out[id].Keys[seq] = cid.String
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Heads returns the last_seq of each conversation.
func Heads(ctx context.Context, db *sql.DB, convs []string) (map[string]uint64, error) {
	out := make(map[string]uint64, len(convs))
	for start := 0; start < len(convs); start += 500 {
		chunk := convs[start:min(start+500, len(convs))]
		args := make([]any, len(chunk))
		for i, c := range chunk {
			args[i] = c
		}
		rows, err := db.QueryContext(ctx, "SELECT id, last_seq FROM conversations WHERE id IN ("+strings.Repeat("?, ", len(chunk)-1)+"?)", args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id string
			var head uint64
			if err := rows.Scan(&id, &head); err != nil {
				rows.Close()
				return nil, err
			}
			out[id] = head
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// StreamHead returns a stream's head and the count and range of its stored events.
func StreamHead(ctx context.Context, db *sql.DB, stream string) (*StoredConv, error) {
	sc := &StoredConv{}
	err := db.QueryRowContext(ctx, "SELECT last_seq FROM streams WHERE id = ?", stream).Scan(&sc.Head)
	if err != nil && err != sql.ErrNoRows {
		return nil, err
	}
	var lo, hi sql.NullInt64
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*), MIN(seq), MAX(seq) FROM events WHERE stream = ?", stream).Scan(&sc.Count, &lo, &hi); err != nil {
		return nil, err
	}
	sc.Min, sc.Max = uint64(lo.Int64), uint64(hi.Int64)
	return sc, nil
}

// CountMessages returns the number of stored messages.
func CountMessages(ctx context.Context, db *sql.DB) (int64, error) {
	var n int64
	err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM messages").Scan(&n)
	return n, err
}

// SeedConv is a conversation to fill with history: who its two sides are.
type SeedConv struct {
	ID           string
	CustomerID   string
	CustomerName string
	AgentID      string
	AgentName    string
}

// Seed writes perConv messages into each conversation directly into the database, with the server stopped:
// dense seqs from the conversation's head on, in multi-row INSERTs, many rows per transaction, and each
// conversation's last_seq advanced in the same transaction. writers > 1 runs that many transactions at once
// (MySQL; SQLite has one writer).
func Seed(ctx context.Context, d *Database, convs []SeedConv, perConv int, writers int, progress func(done int64)) error {
	db, err := d.Open()
	if err != nil {
		return err
	}
	defer db.Close()
	if d.Kind == "sqlite" {
		// Seeding is a bulk load that is simply redone if it fails: no fsync per commit.
		if _, err := db.ExecContext(ctx, "PRAGMA synchronous = OFF"); err != nil {
			return err
		}
		writers = 1
	} else {
		db.SetMaxOpenConns(writers + 1)
	}
	var mu sync.Mutex
	var done int64
	var firstErr error
	var wg sync.WaitGroup
	work := make(chan []SeedConv)
	for w := 0; w < max(writers, 1); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for group := range work {
				n, err := seedGroup(ctx, db, group, perConv)
				mu.Lock()
				done += n
				if err != nil && firstErr == nil {
					firstErr = err
				}
				d := done
				mu.Unlock()
				if progress != nil {
					progress(d)
				}
			}
		}()
	}
	// A transaction takes whole conversations, about 10,000 rows.
	per := max(1, 10000/max(perConv, 1))
	for start := 0; start < len(convs) && ctx.Err() == nil; start += per {
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed {
			break
		}
		work <- convs[start:min(start+per, len(convs))]
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	if d.Kind == "sqlite" {
		_, err := db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
		return err
	}
	return ctx.Err()
}

// SyncSeeded writes a SQLite database that Seed loaded out to the disk (a no-op on MySQL). Seed runs with
// synchronous=OFF, so what the kernel has not written back yet is still dirty when the server restarts, and
// its writeback would land in the first commits' fsyncs. A deployment never starts that way, so neither does
// the benchmark. (Measured once at 10 M messages: 474 MB dirty, synced in 0.4 s; it was not why S6 runs fall
// behind, docs/benchmarks.md.)
func (d *Database) SyncSeeded() error {
	if d.Kind != "sqlite" {
		return nil
	}
	f, err := os.Open(filepath.Join(d.DataDir, "parley.db"))
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// FlushSeeded has MySQL write the pages Seed dirtied out to its data files before the server starts (a no-op on
// SQLite, see SyncSeeded): 10 M seeded messages leave the buffer pool mostly dirty, and InnoDB's page cleaner,
// paced by innodb_io_capacity (200 pages a second by default), then writes them back for minutes while the run
// commits and reads beside it. It lowers innodb_max_dirty_pages_pct to 0 until the dirty pages are at most 1 %
// of the pool (or limit passes), reporting through progress, then puts the setting back. Without the privilege
// to change the setting it returns the error and the run goes on as before.
func (d *Database) FlushSeeded(ctx context.Context, limit time.Duration, progress func(dirty, total int64)) error {
	if d.Kind != "mysql" {
		return nil
	}
	db, err := sql.Open("mysql", d.admin)
	if err != nil {
		return err
	}
	defer db.Close()
	var pct string
	if err := db.QueryRowContext(ctx, "SELECT @@GLOBAL.innodb_max_dirty_pages_pct").Scan(&pct); err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, "SET GLOBAL innodb_max_dirty_pages_pct = 0"); err != nil {
		return err
	}
	defer db.ExecContext(context.Background(), "SET GLOBAL innodb_max_dirty_pages_pct = "+pct)
	status := func(name string) (int64, error) {
		var k string
		var v int64
		err := db.QueryRowContext(ctx, "SHOW GLOBAL STATUS LIKE '"+name+"'").Scan(&k, &v)
		return v, err
	}
	deadline := time.Now().Add(limit)
	for {
		dirty, err := status("Innodb_buffer_pool_pages_dirty")
		if err != nil {
			return err
		}
		total, err := status("Innodb_buffer_pool_pages_total")
		if err != nil {
			return err
		}
		progress(dirty, total)
		if dirty*100 <= total || time.Now().After(deadline) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// dirtyBytes is the machine's dirty page cache (/proc/meminfo's Dirty), or -1 when unknown.
func dirtyBytes() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "Dirty:" {
			if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				return kb << 10
			}
		}
	}
	return -1
}

const seedRowsPerInsert = 500

func seedGroup(ctx context.Context, db *sql.DB, group []SeedConv, perConv int) (int64, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	const cols = "conversation_id, seq, id, sender_type, sender_id, sender_name, type, body, body_hash, client_msg_id, meta, created_at, deleted_at"
	var n int64
	base := time.Now().Add(-30 * 24 * time.Hour)
	for _, c := range group {
		var head uint64
		if err := tx.QueryRowContext(ctx, "SELECT last_seq FROM conversations WHERE id = ?", c.ID).Scan(&head); err != nil {
			return n, fmt.Errorf("seed %s: %w", c.ID, err)
		}
		var sb strings.Builder
		args := make([]any, 0, seedRowsPerInsert*12)
		rows := 0
		flush := func() error {
			if rows == 0 {
				return nil
			}
			_, err := tx.ExecContext(ctx, sb.String(), args...)
			sb.Reset()
			args, rows = args[:0], 0
			return err
		}
		var last time.Time
		for i := 1; i <= perConv; i++ {
			seq := head + uint64(i)
			if rows == 0 {
				sb.WriteString("INSERT INTO messages (" + cols + ") VALUES ")
			} else {
				sb.WriteString(", ")
			}
			sb.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, NULL)")
			id, err := uuid.NewV7()
			if err != nil {
				return n, err
			}
			senderType, senderID, senderName := chat.SenderCustomer, c.CustomerID, c.CustomerName
			if i%2 == 0 {
				senderType, senderID, senderName = chat.SenderAgent, c.AgentID, c.AgentName
			}
			body := fmt.Sprintf("seeded history message %d: the quick brown fox jumps over the lazy dog", seq)
			last = base.Add(time.Duration(seq) * time.Second)
			args = append(args, c.ID, seq, id.String(), string(senderType), senderID, senderName, string(chat.TypeText),
				body, chat.BodyHash(chat.TypeText, body), "seed-"+id.String(), last.UnixMilli())
			rows++
			if rows == seedRowsPerInsert {
				if err := flush(); err != nil {
					return n, fmt.Errorf("seed insert: %w", err)
				}
			}
		}
		if err := flush(); err != nil {
			return n, fmt.Errorf("seed insert: %w", err)
		}
		if _, err := tx.ExecContext(ctx, "UPDATE conversations SET last_seq = ?, last_message_at = ? WHERE id = ?",
			head+uint64(perConv), last.UnixMilli(), c.ID); err != nil {
			return n, err
		}
		n += int64(perConv)
	}
	return n, tx.Commit()
}

// HistoryPlans explains the two history queries of the store ("the latest page" and "the page before a seq")
// and reports whether each is a keyset range on the primary key, with no OFFSET, sort or scan.
func HistoryPlans(ctx context.Context, db *sql.DB, kind, conv string) (plans []string, ok bool, err error) {
	const cols = "conversation_id, seq, id, sender_type, sender_id, sender_name, type, body, body_hash, client_msg_id, meta, created_at, deleted_at"
	queries := []struct {
		q    string
		args []any
	}{
		{"SELECT " + cols + " FROM messages WHERE conversation_id = ? ORDER BY seq DESC LIMIT ?", []any{conv, 50}},
		{"SELECT " + cols + " FROM messages WHERE conversation_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?", []any{conv, 100, 50}},
		{"SELECT " + cols + " FROM messages WHERE conversation_id = ? AND seq > ? ORDER BY seq LIMIT ?", []any{conv, 100, 50}},
	}
	ok = true
	for _, q := range queries {
		prefix := "EXPLAIN QUERY PLAN "
		if kind == "mysql" {
			prefix = "EXPLAIN "
		}
		rows, err := db.QueryContext(ctx, prefix+q.q, q.args...)
		if err != nil {
			return nil, false, err
		}
		colNames, _ := rows.Columns()
		var lines []string
		for rows.Next() {
			vals := make([]sql.NullString, len(colNames))
			ptrs := make([]any, len(vals))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return nil, false, err
			}
			var parts []string
			for i, v := range vals {
				if v.Valid && v.String != "" {
					parts = append(parts, colNames[i]+"="+v.String)
				}
			}
			lines = append(lines, strings.Join(parts, " "))
		}
		rows.Close()
		plan := strings.Join(lines, "; ")
		plans = append(plans, plan)
		lp := strings.ToLower(plan)
		switch kind {
		case "mysql":
			// A range or ref on the PRIMARY key, without filesort.
			if !strings.Contains(lp, "key=primary") || strings.Contains(lp, "filesort") || strings.Contains(lp, "type=all") {
				ok = false
			}
		default:
			if !strings.Contains(lp, "using primary key") || strings.Contains(lp, "temp b-tree") || strings.Contains(lp, "scan messages") {
				ok = false
			}
		}
		if strings.Contains(strings.ToUpper(q.q), "OFFSET") {
			ok = false
		}
	}
	return plans, ok, nil
}
