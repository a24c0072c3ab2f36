// Package testenv finds the real services tests use (MariaDB, Redis, NATS, Chromium) through PARLEY_TEST_*
// variables. A test whose service is not configured skips with a message saying which variable to set, except
// under PARLEY_TEST_REQUIRE_ALL=1 (as in CI), where it fails: in CI nothing may skip.
package testenv

import (
	"os"
	"testing"
)

// RequireAll reports whether missing services must fail tests instead of skipping them.
func RequireAll() bool { return os.Getenv("PARLEY_TEST_REQUIRE_ALL") == "1" }

// Need returns the value of the environment variable name, or skips (fails under PARLEY_TEST_REQUIRE_ALL=1)
// with why when it is unset.
func Need(t testing.TB, name, why string) string {
	t.Helper()
	v := os.Getenv(name)
	if v != "" {
		return v
	}
	Missing(t, name+" is not set: "+why)
	return ""
}

// Missing skips the test with msg, or fails it when every service is required.
func Missing(t testing.TB, msg string) {
	t.Helper()
	if RequireAll() {
		t.Fatalf("PARLEY_TEST_REQUIRE_ALL=1 but %s", msg)
	}
	t.Skip(msg)
}

// MySQLDSN returns the DSN of the MySQL/MariaDB server tests may create databases on.
func MySQLDSN(t testing.TB) string {
	t.Helper()
	return Need(t, "PARLEY_TEST_MYSQL_DSN", "set it to e.g. mysql://root@127.0.0.1:3306/test to run this test on MariaDB")
}
