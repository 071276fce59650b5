package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// SQLite is the Store on one SQLite file, for a single machine (hookflow dev).
type SQLite struct {
	sqlStore
}

var _ Store = (*SQLite)(nil)

// sqliteMigrations are applied in order, each once; append, never edit.
var sqliteMigrations = []string{
	`CREATE TABLE settings (
		key   TEXT PRIMARY KEY,
		value TEXT NOT NULL
	);
	CREATE TABLE distributions (
		id         TEXT PRIMARY KEY,
		version    INTEGER NOT NULL,
		doc        TEXT NOT NULL,
		created_at TEXT NOT NULL
	);
	CREATE TABLE webhooks (
		id         TEXT PRIMARY KEY,
		version    INTEGER NOT NULL,
		doc        TEXT NOT NULL,
		created_at TEXT NOT NULL
	);
	CREATE TABLE notifications (
		id          TEXT PRIMARY KEY,
		delivery_id TEXT NOT NULL UNIQUE,
		doc         TEXT NOT NULL,
		created_at  TEXT NOT NULL,
		read_at     TEXT
	);`,
	// 2: what each notification channel has sent, so a retried activity sends once.
	`CREATE TABLE notification_sends (
		key     TEXT PRIMARY KEY,
		sent_at TEXT NOT NULL
	);`,
	// 3: API keys, by the SHA-256 of the key; the settings row is the lock that makes
	// "create the first key" and "revoke, keeping a manage key" atomic.
	`CREATE TABLE api_keys (
		id           TEXT PRIMARY KEY,
		name         TEXT NOT NULL,
		scopes       TEXT NOT NULL,
		prefix       TEXT NOT NULL,
		hash         TEXT NOT NULL UNIQUE,
		created_at   TEXT NOT NULL,
		last_used_at TEXT
	);
	INSERT INTO settings (key, value) VALUES ('api_keys_lock', '') ON CONFLICT (key) DO NOTHING;`,
	// 4: code pools and their publications (codes.go).
	sqliteCodesMigration,
	// 5: manual and bulk messages and their customers (messages.go).
	sqliteMessagesMigration,
	// 6: what Prune looks old rows up by.
	`CREATE INDEX notifications_created_at ON notifications (created_at DESC, id);
	CREATE INDEX notification_sends_sent_at ON notification_sends (sent_at);
	CREATE INDEX messages_finished ON messages (updated_at, id) WHERE status IN ('sent', 'canceled');`,
	// 7: the API's idempotency keys (idempotency.go).
	sqliteIdempotencyMigration,
	// 8: the rate limits' token buckets (rate.go).
	sqliteRateMigration,
	// 9: the distributions' circuit breakers (breakers.go).
	sqliteBreakersMigration,
}

// sqliteTimeLayout writes timestamps as fixed-width UTC text, so that ordering by the
// column as text is ordering by time. (RFC3339Nano drops trailing zeros, and then
// "05Z" sorts after "05.5Z".)
const sqliteTimeLayout = "2006-01-02T15:04:05.000000000Z07:00"

var sqliteDialect = &dialect{
	migrations: sqliteMigrations,
	// No lock statement: _txlock=immediate below makes every transaction take SQLite's
	// write lock at BEGIN, which serializes migrations across processes too.
	timeArg: func(t time.Time) any { return t.UTC().Format(sqliteTimeLayout) },
}

// OpenSQLite opens (creating when needed) the store in the file at path and applies the
// migrations it lacks.
func OpenSQLite(path string) (*SQLite, error) {
	return openSQLite(context.Background(), path)
}

func openSQLite(ctx context.Context, path string) (*SQLite, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "synchronous(normal)")
	// Immediate transactions take the write lock at BEGIN. Every transaction here writes,
	// and a deferred one that reads first could fail to upgrade its lock when another
	// process writes meanwhile, which busy_timeout does not cover.
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	// One connection: SQLite serializes writers anyway, and this avoids busy errors.
	db.SetMaxOpenConns(1)
	if err := useWAL(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	s := &SQLite{sqlStore{db: db, d: sqliteDialect}}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	return s, nil
}

// useWAL puts the database file in write-ahead-log mode, which lets readers work beside
// the writer. The mode is kept in the file, so this sets it once, and not as a connection
// pragma: switching needs the file to itself, and SQLite answers a switch that meets
// another connection (a second process opening the same new file) with SQLITE_BUSY at
// once, without waiting out busy_timeout. So it retries for a while.
func useWAL(ctx context.Context, db *sql.DB) error {
	delay := 5 * time.Millisecond
	deadline := time.Now().Add(10 * time.Second)
	for {
		var mode string
		err := db.QueryRowContext(ctx, `PRAGMA journal_mode = wal`).Scan(&mode)
		if err == nil {
			if mode != "wal" {
				return fmt.Errorf("the file stays in journal mode %q, not wal", mode)
			}
			return nil
		}
		var sqliteErr interface{ Code() int }
		busy := errors.As(err, &sqliteErr) && sqliteErr.Code()&0xff == sqliteBusy
		if !busy || time.Now().After(deadline) {
			return fmt.Errorf("set journal mode wal: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 200*time.Millisecond)
	}
}

// sqliteBusy is SQLITE_BUSY, the primary result code of a locked database.
const sqliteBusy = 5
