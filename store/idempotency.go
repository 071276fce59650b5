package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Idempotency keys: the answer the API gave to a request sent with an Idempotency-Key
// header, kept so that the same request sent again (a client that lost the answer to a
// timeout) gets the same answer instead of doing the work twice. They live in the store,
// not in the process, so that they hold across restarts and across the API processes that
// share a PostgreSQL store; Prune deletes them with the rest of the history (at least a
// day after, the shortest retention).

// IdempotencyStore keeps idempotency keys.
type IdempotencyStore interface {
	// BeginIdempotent claims key for a request whose fingerprint (a hash of what was
	// sent) is given. When no one holds key, or its holder began before staleBefore and
	// never finished (its process died), it records the claim and returns started true:
	// the caller does the work and then calls FinishIdempotent or AbandonIdempotent. When
	// key is held, it returns the record as stored and started false; the record's
	// Finished tells whether its answer is there yet. Of concurrent callers, one starts.
	BeginIdempotent(ctx context.Context, key string, fingerprint []byte, at, staleBefore time.Time) (rec Idempotent, started bool, err error)
	// FinishIdempotent stores the answer of the request that claimed key.
	FinishIdempotent(ctx context.Context, key string, status int, contentType string, body []byte, at time.Time) error
	// AbandonIdempotent drops the claim on key of a request that did nothing lasting (it
	// failed in a way the client should retry), so that the key may be used again.
	AbandonIdempotent(ctx context.Context, key string) error
}

// Idempotent is a stored idempotency key and, once finished, the answer it gave.
type Idempotent struct {
	Key         string
	Fingerprint []byte
	Finished    bool
	Status      int
	ContentType string
	Body        []byte
	CreatedAt   time.Time
}

// The idempotency keys table (migration 7 on both backends). status 0 is a request in
// flight.
const (
	sqliteIdempotencyMigration = `CREATE TABLE idempotency_keys (
		key          TEXT PRIMARY KEY,
		fingerprint  BLOB NOT NULL,
		status       INTEGER NOT NULL DEFAULT 0,
		content_type TEXT NOT NULL DEFAULT '',
		body         BLOB,
		created_at   TEXT NOT NULL
	);
	CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);`
	postgresIdempotencyMigration = `CREATE TABLE idempotency_keys (
		key          TEXT PRIMARY KEY,
		fingerprint  BYTEA NOT NULL,
		status       INTEGER NOT NULL DEFAULT 0,
		content_type TEXT NOT NULL DEFAULT '',
		body         BYTEA,
		created_at   TIMESTAMPTZ NOT NULL
	);
	CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);`
)

// BeginIdempotent claims key; see IdempotencyStore.
func (s *sqlStore) BeginIdempotent(ctx context.Context, key string, fingerprint []byte, at, staleBefore time.Time) (Idempotent, bool, error) {
	res, err := s.db.ExecContext(ctx, s.q(`INSERT INTO idempotency_keys (key, fingerprint, created_at) VALUES (?, ?, ?)
		ON CONFLICT (key) DO NOTHING`), key, fingerprint, s.d.timeArg(at))
	if err != nil {
		return Idempotent{}, false, fmt.Errorf("claim idempotency key: %w", err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 1 {
		return Idempotent{Key: key, Fingerprint: fingerprint, CreatedAt: at}, true, nil
	}
	// Held: take over a claim abandoned by a process that died in the middle, if the
	// request is the same; one UPDATE, so of two callers one takes it.
	res, err = s.db.ExecContext(ctx, s.q(`UPDATE idempotency_keys SET created_at = ?
		WHERE key = ? AND status = 0 AND fingerprint = ? AND created_at < ?`), s.d.timeArg(at), key, fingerprint, s.d.timeArg(staleBefore))
	if err != nil {
		return Idempotent{}, false, fmt.Errorf("take over idempotency key: %w", err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 1 {
		return Idempotent{Key: key, Fingerprint: fingerprint, CreatedAt: at}, true, nil
	}
	rec, err := s.idempotent(ctx, key)
	if errors.Is(err, ErrNotFound) {
		// Abandoned between the two statements: claim it afresh.
		return s.BeginIdempotent(ctx, key, fingerprint, at, staleBefore)
	}
	return rec, false, err
}

func (s *sqlStore) idempotent(ctx context.Context, key string) (Idempotent, error) {
	rec := Idempotent{Key: key}
	var created string
	var createdAt time.Time
	var dest any = &createdAt
	if !s.d.numbered {
		dest = &created
	}
	err := s.db.QueryRowContext(ctx, s.q(`SELECT fingerprint, status, content_type, body, created_at FROM idempotency_keys WHERE key = ?`), key).
		Scan(&rec.Fingerprint, &rec.Status, &rec.ContentType, &rec.Body, dest)
	if errors.Is(err, sql.ErrNoRows) {
		return Idempotent{}, ErrNotFound
	}
	if err != nil {
		return Idempotent{}, fmt.Errorf("read idempotency key: %w", err)
	}
	if created != "" {
		createdAt, _ = time.Parse(time.RFC3339Nano, created)
	}
	rec.CreatedAt, rec.Finished = createdAt, rec.Status != 0
	return rec, nil
}

// FinishIdempotent stores the answer to key.
func (s *sqlStore) FinishIdempotent(ctx context.Context, key string, status int, contentType string, body []byte, at time.Time) error {
	if status == 0 {
		return fmt.Errorf("finish idempotency key: status 0 is a request in flight")
	}
	if body == nil {
		body = []byte{}
	}
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE idempotency_keys SET status = ?, content_type = ?, body = ? WHERE key = ?`),
		status, contentType, body, key)
	return err
}

// AbandonIdempotent drops an unfinished claim on key.
func (s *sqlStore) AbandonIdempotent(ctx context.Context, key string) error {
	_, err := s.db.ExecContext(ctx, s.q(`DELETE FROM idempotency_keys WHERE key = ? AND status = 0`), key)
	return err
}
