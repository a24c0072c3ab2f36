// Package storetest opens fresh stores for tests: a new SQLite file, or a new database on the MariaDB named
// by PARLEY_TEST_MYSQL_DSN, dropped when the test ends.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "modernc.org/sqlite" // the driver CreateForeignSQLite uses

	"github.com/parley-chat/parley/internal/store"
	"github.com/parley-chat/parley/internal/testenv"
)

// Kinds are the databases a store test runs on.
var Kinds = []string{"sqlite", "mysql"}

// Each runs fn once per database kind as a subtest. The MySQL subtest skips (or fails under
// PARLEY_TEST_REQUIRE_ALL=1) when PARLEY_TEST_MYSQL_DSN is unset.
func Each(t *testing.T, fn func(t *testing.T, kind string)) {
	for _, k := range Kinds {
		t.Run(k, func(t *testing.T) { fn(t, k) })
	}
}

// Options returns store options for a fresh database of kind: SQLite in a temporary directory, or a new
// MySQL database. The database is removed when the test ends.
func Options(t testing.TB, kind string) store.Options {
	t.Helper()
	o := store.Options{DataDir: t.TempDir(), SQLiteSync: "FULL", Migrate: true}
	if kind == "mysql" {
		o.MySQLDSN = FreshMySQL(t)
	}
	return o
}

// Open opens a migrated store on a fresh database of kind and closes it when the test ends.
func Open(t testing.TB, kind string) *store.Store {
	t.Helper()
	return OpenWith(t, Options(t, kind))
}

// OpenWith opens a store with o and closes it when the test ends.
func OpenWith(t testing.TB, o store.Options) *store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := store.Open(ctx, o)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// FreshMySQL creates an empty utf8mb4 database on the server of PARLEY_TEST_MYSQL_DSN and returns a
// go-sql-driver DSN for it; the database is dropped when the test ends (see testenv.FreshMySQL).
func FreshMySQL(t testing.TB) string {
	t.Helper()
	return testenv.FreshMySQL(t)
}

// MySQLURL turns a go-sql-driver DSN from FreshMySQL into the mysql:// form PARLEY_DB takes.
func MySQLURL(t testing.TB, dsn string) string {
	t.Helper()
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u := url.URL{Scheme: "mysql", Host: cfg.Addr, Path: "/" + cfg.DBName}
	if cfg.Passwd != "" {
		u.User = url.UserPassword(cfg.User, cfg.Passwd)
	} else {
		u.User = url.User(cfg.User)
	}
	return u.String()
}

// Name is a short random suffix for unique test values.
func Name(prefix string) string {
	return fmt.Sprintf("%s-%s", prefix, strings.ToLower(rand.Text()[:8]))
}

// CreateForeignSQLite writes a SQLite database at path that some other program might own: one table and no
// Parley application id.
func CreateForeignSQLite(path string) error {
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.Exec("CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT)")
	return err
}
