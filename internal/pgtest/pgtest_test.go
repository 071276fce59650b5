package pgtest

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestWithDatabase checks both DSN forms.
func TestWithDatabase(t *testing.T) {
	if got := WithDatabase(t, "postgres://u:p@h:5432/postgres?sslmode=disable", "x"); got != "postgres://u:p@h:5432/x?sslmode=disable" {
		t.Error(got)
	}
	if cfg, err := pgx.ParseConfig(WithDatabase(t, "host=h user=u dbname=postgres", "x")); err != nil || cfg.Database != "x" {
		t.Error(cfg.Database, err)
	}
}

// TestNewDatabase makes a database, uses it, and finds it gone after the cleanup.
func TestNewDatabase(t *testing.T) {
	var name string
	t.Run("make", func(t *testing.T) {
		dsn := NewDatabase(t, "hookflow_pgtest")
		db, err := Open(dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.QueryRowContext(t.Context(), `SELECT current_database()`).Scan(&name); err != nil {
			t.Fatal(err)
		}
	})
	if name == "" {
		return // skipped: no server
	}
	server, err := Open(os.Getenv(DSNEnv))
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	var n int
	if err := server.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM pg_database WHERE datname = $1`, name).Scan(&n); err != nil || n != 0 {
		t.Errorf("database %s: %d left after the cleanup (%v)", name, n, err)
	}
}
