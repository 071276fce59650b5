package store

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookflow/hookflow/internal/pgtest"
)

func TestPostgres(t *testing.T) {
	db := newPostgresDatabase(t)
	runStoreSuite(t, db.freshSchema)
	// Every subtest had a schema of its own: nothing may have gone to public.
	var tables int
	if err := db.admin.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&tables); err != nil || tables != 0 {
		t.Errorf("%d tables in schema public: %v", tables, err)
	}
}

// postgresDatabase is a database of its own for one test function. Its subtests each get a
// schema of their own in it, which is much cheaper than a database each.
type postgresDatabase struct {
	dsn   string  // connects to the test database
	admin *sql.DB // on the test database, to create schemas
}

// newPostgresDatabase creates an empty database hookflow_test_<random> and drops it at the
// test's cleanup. Without HOOKFLOW_TEST_POSTGRES_DSN the test is skipped.
func newPostgresDatabase(t *testing.T) *postgresDatabase {
	t.Helper()
	db := &postgresDatabase{dsn: pgtest.NewDatabase(t, "hookflow_test")}
	var err error
	if db.admin, err = pgtest.Open(db.dsn); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.admin.Close() })
	return db
}

// freshSchema creates an empty schema and returns how to open a store in it: the
// connection's search_path names it, so every table the store creates goes there.
func (db *postgresDatabase) freshSchema(t *testing.T) opener {
	t.Helper()
	schema := pgtest.Name("s")
	if _, err := db.admin.ExecContext(t.Context(), `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("create test schema: %v", err)
	}
	dsn := withParam(db.dsn, "search_path", schema)
	return func() (Store, error) { return OpenPostgres(context.Background(), dsn) }
}

// withParam is dsn with one more run-time parameter.
func withParam(dsn, key, value string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		q := u.Query()
		q.Set(key, value)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " " + key + "=" + value
}

// TestPostgresDSNHelpers checks withParam for both DSN forms.
func TestPostgresDSNHelpers(t *testing.T) {
	for _, dsn := range []string{"postgres://h/db?sslmode=disable", "host=h dbname=db"} {
		cfg, err := pgx.ParseConfig(withParam(dsn, "search_path", "s_1"))
		if err != nil || cfg.RuntimeParams["search_path"] != "s_1" {
			t.Error(dsn, cfg.RuntimeParams, err)
		}
	}
}

// An update that meets an uncommitted change of its row from another transaction waits for
// it and then reports ErrConflict: it neither overwrites the change nor fails early.
func TestPostgresUpdateDuringConcurrentChange(t *testing.T) {
	s := mustOpen(t, newPostgresDatabase(t).freshSchema(t)).(*Postgres)
	ctx := t.Context()
	d := toDistribution(newRecord("distr_1"))
	if err := s.CreateDistribution(ctx, d); err != nil {
		t.Fatal(err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE distributions SET version = 2 WHERE id = 'distr_1'`); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.UpdateDistribution(ctx, d)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("the update did not wait for the row lock: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, ErrConflict) {
		t.Errorf("update after a concurrent change: %v, want ErrConflict", err)
	}
}

// TestPostgresReconnects ends every connection of a store on the server's side right after
// they were used, as a restart of PostgreSQL does, and reads again as soon as a restart
// could be over: the store must answer from new connections, without an error and without
// being opened again. (With pgx's default, a ping only after a second idle, every read
// failed.)
func TestPostgresReconnects(t *testing.T) {
	db := newPostgresDatabase(t)
	ctx := t.Context()
	app := pgtest.Name("hookflow_reconnect")
	dsn := db.dsn
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		q.Set("application_name", app)
		u.RawQuery = q.Encode()
		dsn = u.String()
	} else {
		dsn += " application_name=" + app
	}
	s, err := OpenPostgres(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	// reads runs maxConns reads at once, so that the pool holds that many connections,
	// every one of them used just now (pgx pings only a connection idle for over a second).
	reads := func() []error {
		errs := make([]error, maxConns)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Go(func() {
				_, err := s.ListDistributions(ctx)
				if err == nil {
					_, err = s.Project(ctx)
				}
				errs[i] = err
			})
		}
		wg.Wait()
		return errs
	}
	if err := errors.Join(reads()...); err != nil {
		t.Fatal(err)
	}
	// The pids first, then each ended by its pid: the server is shared, and a predicate
	// may be evaluated in any order, so pg_terminate_backend never goes in a WHERE.
	rows, err := db.admin.QueryContext(ctx, `SELECT pid FROM pg_stat_activity WHERE application_name = $1`, app)
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if len(pids) == 0 {
		t.Fatal("no connection of the store to end")
	}
	for _, pid := range pids {
		if _, err := db.admin.ExecContext(ctx, `SELECT pg_terminate_backend($1)`, pid); err != nil {
			t.Fatal(err)
		}
	}
	ended := len(pids)
	// Until the backends are gone: their goodbyes are on the wire before the next reads.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		var left int
		if err := db.admin.QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&left); err != nil {
			t.Fatal(err)
		}
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d connections of the store still there 10s after pg_terminate_backend", left)
		}
	}
	// A restart of PostgreSQL takes longer than this; the connections are all idle as long.
	time.Sleep(2 * pingAfterIdle)
	failed := 0
	for _, err := range reads() {
		if err != nil {
			failed++
			t.Logf("read after the connections ended: %v", err)
		}
	}
	if failed > 0 {
		t.Errorf("%d of %d reads failed after %d connections of the store were ended", failed, maxConns, ended)
	}
}
