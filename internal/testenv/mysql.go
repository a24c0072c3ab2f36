package testenv

import (
	"crypto/rand"
	"database/sql"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/parley-chat/parley/internal/config"
)

// FreshMySQL creates an empty utf8mb4 database on the server of PARLEY_TEST_MYSQL_DSN and returns a
// go-sql-driver DSN for it; the database is dropped when the test ends. Without the variable the test skips
// (fails under PARLEY_TEST_REQUIRE_ALL=1); with it set and the server not answering, the test fails.
func FreshMySQL(t testing.TB) string {
	t.Helper()
	base := MySQLDSN(t)
	dsn, err := config.MySQLDSN(base)
	if err != nil {
		t.Fatalf("PARLEY_TEST_MYSQL_DSN: %v", err)
	}
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatalf("PARLEY_TEST_MYSQL_DSN: %v", err)
	}
	name := "parley_t_" + strings.ToLower(rand.Text()[:12])
	admin := cfg.Clone()
	admin.DBName = ""
	db, err := sql.Open("mysql", admin.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		t.Fatalf("PARLEY_TEST_MYSQL_DSN is set but the server does not answer (%s): %v", cfg.Addr, err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("mysql", admin.FormatDSN())
		if err == nil {
			db.Exec("DROP DATABASE IF EXISTS " + name)
			db.Close()
		}
	})
	cfg.DBName = name
	return cfg.FormatDSN()
}
