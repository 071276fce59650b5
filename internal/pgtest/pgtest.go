// Package pgtest gives tests throwaway PostgreSQL databases on the server that
// HOOKFLOW_TEST_POSTGRES_DSN names (.ci/run sets it); tests that need one skip without it.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// DSNEnv names the PostgreSQL server the tests may use: a URL or key=value settings, such
// as postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable.
const DSNEnv = "HOOKFLOW_TEST_POSTGRES_DSN"

// Open opens dsn with pgx's database/sql driver.
func Open(dsn string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	return stdlib.OpenDB(*cfg), nil
}

// Name is prefix, '_' and 12 random hex digits: a database or schema name that no other
// test, or test run, picks.
func Name(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + "_" + hex.EncodeToString(b)
}

// WithDatabase is dsn naming database name instead.
func WithDatabase(t testing.TB, dsn, name string) string {
	t.Helper()
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatalf("%s: %v", DSNEnv, err)
		}
		u.Path = "/" + name
		return u.String()
	}
	// In key=value settings a later key wins.
	return dsn + " dbname=" + name
}

// DSN returns the DSN of DSNEnv. Without it the test is skipped, or failed in CI (the
// variable CI is set), where the tests that need PostgreSQL must run.
func DSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(DSNEnv)
	if dsn == "" {
		SkipOutsideCI(t, "PostgreSQL tests need %s, e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", DSNEnv)
	}
	return dsn
}

// SkipOutsideCI skips t with the message, except in CI (the variable CI is set, as .ci/run
// runs), where what the test needs must be there and its absence fails the test.
func SkipOutsideCI(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("in CI (CI is set) this test must run: "+format, args...)
	}
	t.Skipf(format, args...)
}

// NewDatabase creates an empty database named prefix_<random> on the server of DSNEnv,
// drops it at the test's cleanup, and returns a DSN that connects to it. Without DSNEnv
// the test is skipped.
func NewDatabase(t testing.TB, prefix string) string {
	t.Helper()
	dsn := DSN(t)
	server, err := Open(dsn)
	if err != nil {
		t.Fatalf("%s: %v", DSNEnv, err)
	}
	defer server.Close()
	name := Name(prefix)
	if _, err := server.ExecContext(context.Background(), `CREATE DATABASE `+name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	DropAtCleanup(t, dsn, name)
	return WithDatabase(t, dsn, name)
}

// DropAtCleanup drops the databases names from the server of dsn at the test's cleanup,
// whether the test made them or a process it ran did. WITH (FORCE) ends the connections a
// failed test left open, so that nothing is left behind.
func DropAtCleanup(t testing.TB, dsn string, names ...string) {
	t.Helper()
	t.Cleanup(func() {
		server, err := Open(dsn)
		if err != nil {
			t.Errorf("drop test databases %v: %v", names, err)
			return
		}
		defer server.Close()
		// The test's context is done in cleanups.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, name := range names {
			if _, err := server.ExecContext(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
				t.Errorf("drop test database %s: %v", name, err)
			}
		}
	})
}
