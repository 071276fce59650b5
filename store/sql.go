package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/payloads"
)

// dialect is what differs between the SQL databases the store runs on. Everything else,
// the queries and the version and idempotency rules, is shared by sqlStore so that both
// backends behave the same.
type dialect struct {
	// migrations are applied in order, each once; append, never edit or reorder.
	migrations []string
	// migrationLock, when set, runs first in every migration transaction and holds until it
	// ends, so that processes starting together migrate one after the other.
	migrationLock string
	// forUpdate ends a SELECT that reads a row the transaction is about to change. It locks
	// the row on databases with row locks, so that a concurrent change waits instead of
	// failing with a spurious ErrConflict.
	forUpdate string
	// numbered placeholders ($1, $2, ...) instead of "?".
	numbered bool
	// timeArg makes the query argument for a timestamp column.
	timeArg func(time.Time) any
	// clockMicros, when set, is the SQL expression of the database's clock in microseconds
	// since 1970, which the rate limits read (rate.go) so that every process sharing the
	// database counts on one clock; without it they read this process's clock.
	clockMicros string
}

// sqlStore is the Store on a database/sql database; SQLite and Postgres embed it.
type sqlStore struct {
	db *sql.DB
	d  *dialect
}

// q rewrites a query written with "?" placeholders into the dialect's style. The queries
// of this package hold no "?" anywhere else.
func (s *sqlStore) q(query string) string {
	if !s.d.numbered {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// migrate brings the schema up to date, one migration per transaction. It reads the applied
// version again under the migration lock before each step, so that of several processes
// starting at once each migration is applied by exactly one.
func (s *sqlStore) migrate(ctx context.Context) error {
	for {
		done, err := s.migrateStep(ctx)
		if err != nil || done {
			return err
		}
	}
}

// migrateStep applies the first missing migration, if any, and reports whether the schema
// is up to date.
func (s *sqlStore) migrateStep(ctx context.Context) (done bool, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	if s.d.migrationLock != "" {
		if _, err := tx.ExecContext(ctx, s.d.migrationLock); err != nil {
			return false, fmt.Errorf("take the migration lock: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)`); err != nil {
		return false, fmt.Errorf("create schema_migrations: %w", err)
	}
	var applied int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&applied); err != nil {
		return false, fmt.Errorf("read the schema version: %w", err)
	}
	known := len(s.d.migrations)
	if applied > known {
		return false, fmt.Errorf("the database has schema version %d, newer than this hookflow knows (%d): upgrade hookflow", applied, known)
	}
	if applied == known {
		return true, tx.Commit()
	}
	v := applied + 1
	if _, err := tx.ExecContext(ctx, s.d.migrations[v-1]); err != nil {
		return false, fmt.Errorf("migration %d: %w", v, err)
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO schema_migrations (version) VALUES (?)`), v); err != nil {
		return false, fmt.Errorf("migration %d: %w", v, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("migration %d: %w", v, err)
	}
	return v == known, nil
}

// Close closes the database.
func (s *sqlStore) Close() error { return s.db.Close() }

// The distributions and webhooks tables hold JSON documents beside a version column; these
// generic helpers serve both. The version column, not the document, is what the optimistic
// check compares.

func (s *sqlStore) createDoc(ctx context.Context, table, id string, version int, createdAt time.Time, v any) error {
	doc, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, s.q(`INSERT INTO `+table+` (id, version, doc, created_at) VALUES (?, ?, ?, ?)`),
		id, version, string(doc), s.d.timeArg(createdAt))
	return err
}

type rowQueryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// getDoc reads the document id and its version; suffix ends the query (forUpdate).
func getDoc[T any](ctx context.Context, s *sqlStore, q rowQueryer, table, id, suffix string) (T, int, error) {
	var v T
	var doc string
	var version int
	err := q.QueryRowContext(ctx, s.q(`SELECT doc, version FROM `+table+` WHERE id = ?`+suffix), id).Scan(&doc, &version)
	if errors.Is(err, sql.ErrNoRows) {
		return v, 0, ErrNotFound
	}
	if err != nil {
		return v, 0, err
	}
	return v, version, json.Unmarshal([]byte(doc), &v)
}

// listDocs returns every document of table, oldest first.
func listDocs[T any](ctx context.Context, s *sqlStore, table string) ([]T, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT doc FROM `+table+` ORDER BY created_at, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, err
		}
		var v T
		if err := json.Unmarshal([]byte(doc), &v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// updateDoc reads the document id, lets change make the next one from it, and writes that
// as the next version, all in one transaction. expect, when not 0, must be the stored
// version. change returns false to write nothing.
//
// The UPDATE is conditional on the version read, so even where the read takes no row lock
// two writers can never both succeed from the same version: the later one gets ErrConflict.
func updateDoc[T any](ctx context.Context, s *sqlStore, table, id string, expect int, change func(stored T, next int) (T, bool)) (T, bool, error) {
	var zero T
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return zero, false, err
	}
	defer tx.Rollback()
	stored, version, err := getDoc[T](ctx, s, tx, table, id, s.d.forUpdate)
	if err != nil {
		return zero, false, err
	}
	if expect != 0 && expect != version {
		return stored, false, ErrConflict
	}
	next, ok := change(stored, version+1)
	if !ok {
		return stored, false, nil
	}
	doc, err := json.Marshal(next)
	if err != nil {
		return zero, false, err
	}
	res, err := tx.ExecContext(ctx, s.q(`UPDATE `+table+` SET doc = ?, version = ? WHERE id = ? AND version = ?`),
		string(doc), version+1, id, version)
	if err != nil {
		return zero, false, err
	}
	if n, err := res.RowsAffected(); err != nil {
		return zero, false, err
	} else if n != 1 {
		return zero, false, ErrConflict
	}
	if err := tx.Commit(); err != nil {
		return zero, false, err
	}
	return next, true, nil
}

func (s *sqlStore) deleteDoc(ctx context.Context, table, id string) error {
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM `+table+` WHERE id = ?`), id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return ErrNotFound
	}
	return nil
}

// CreateDistribution stores a new distribution.
func (s *sqlStore) CreateDistribution(ctx context.Context, d distributions.Distribution) error {
	return s.createDoc(ctx, "distributions", d.ID, d.Version, d.CreatedAt, d)
}

// GetDistribution returns the distribution id, or ErrNotFound.
func (s *sqlStore) GetDistribution(ctx context.Context, id string) (distributions.Distribution, error) {
	d, _, err := getDoc[distributions.Distribution](ctx, s, s.db, "distributions", id, "")
	return d, err
}

// ListDistributions returns every distribution, oldest first.
func (s *sqlStore) ListDistributions(ctx context.Context) ([]distributions.Distribution, error) {
	return listDocs[distributions.Distribution](ctx, s, "distributions")
}

// UpdateDistribution stores d as the next version if d.Version is the stored one.
func (s *sqlStore) UpdateDistribution(ctx context.Context, d distributions.Distribution) (distributions.Distribution, error) {
	if d.Version == 0 {
		return d, fmt.Errorf("%w: the update names no version", ErrConflict)
	}
	out, _, err := updateDoc(ctx, s, "distributions", d.ID, d.Version, func(stored distributions.Distribution, next int) (distributions.Distribution, bool) {
		if d.SameSettings(stored) {
			return stored, false // nothing changed: no new version
		}
		d.Version, d.CreatedAt = next, stored.CreatedAt
		return d, true
	})
	return out, err
}

// DeleteDistribution deletes the distribution id, or returns ErrNotFound.
func (s *sqlStore) DeleteDistribution(ctx context.Context, id string) error {
	return s.deleteDoc(ctx, "distributions", id)
}

// SetDistributionStatus sets the status of the distribution id as a new version, unless
// it already has it.
func (s *sqlStore) SetDistributionStatus(ctx context.Context, id, status string, at time.Time) (distributions.Distribution, bool, error) {
	return updateDoc(ctx, s, "distributions", id, 0, func(d distributions.Distribution, next int) (distributions.Distribution, bool) {
		if d.Status == status {
			return d, false
		}
		d.Status, d.Version, d.UpdatedAt = status, next, at.UTC()
		return d, true
	})
}

// CreateWebhook stores a new project webhook.
func (s *sqlStore) CreateWebhook(ctx context.Context, w distributions.ProjectWebhook) error {
	return s.createDoc(ctx, "webhooks", w.ID, w.Revision, w.CreatedAt, w)
}

// GetWebhook returns the project webhook id, or ErrNotFound.
func (s *sqlStore) GetWebhook(ctx context.Context, id string) (distributions.ProjectWebhook, error) {
	w, _, err := getDoc[distributions.ProjectWebhook](ctx, s, s.db, "webhooks", id, "")
	return w, err
}

// ListWebhooks returns every project webhook, oldest first.
func (s *sqlStore) ListWebhooks(ctx context.Context) ([]distributions.ProjectWebhook, error) {
	return listDocs[distributions.ProjectWebhook](ctx, s, "webhooks")
}

// UpdateWebhook stores w as the next revision if w.Revision is the stored one and w changes
// a setting (distributions.ProjectWebhook.SameSettings); otherwise it returns the stored one.
func (s *sqlStore) UpdateWebhook(ctx context.Context, w distributions.ProjectWebhook) (distributions.ProjectWebhook, error) {
	if w.Revision == 0 {
		return w, fmt.Errorf("%w: the update names no revision", ErrConflict)
	}
	out, _, err := updateDoc(ctx, s, "webhooks", w.ID, w.Revision, func(stored distributions.ProjectWebhook, next int) (distributions.ProjectWebhook, bool) {
		if w.SameSettings(stored) {
			return stored, false // nothing changed: no new revision
		}
		w.Revision, w.CreatedAt = next, stored.CreatedAt
		return w, true
	})
	return out, err
}

// DeleteWebhook deletes the project webhook id, or returns ErrNotFound.
func (s *sqlStore) DeleteWebhook(ctx context.Context, id string) error {
	return s.deleteDoc(ctx, "webhooks", id)
}

// SetWebhookActive enables or disables the project webhook id as a new revision, unless it
// already is.
func (s *sqlStore) SetWebhookActive(ctx context.Context, id string, active bool, at time.Time) (distributions.ProjectWebhook, bool, error) {
	return updateDoc(ctx, s, "webhooks", id, 0, func(w distributions.ProjectWebhook, next int) (distributions.ProjectWebhook, bool) {
		if w.Active == active {
			return w, false
		}
		w.Active, w.Revision, w.UpdatedAt = active, next, at.UTC()
		return w, true
	})
}

// AddNotification records n unless a notification for n.DeliveryID exists, and returns the
// stored one either way.
func (s *sqlStore) AddNotification(ctx context.Context, n Notification) (Notification, bool, error) {
	n.ReadAt = nil // read_at is a column of its own; a new notification is unread
	doc, err := json.Marshal(n)
	if err != nil {
		return Notification{}, false, err
	}
	// ON CONFLICT makes concurrent adds of one delivery safe without a transaction: the
	// loser waits for the winner's row and then inserts nothing.
	res, err := s.db.ExecContext(ctx,
		s.q(`INSERT INTO notifications (id, delivery_id, doc, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (delivery_id) DO NOTHING`),
		n.ID, n.DeliveryID, string(doc), s.d.timeArg(n.CreatedAt))
	if err != nil {
		return Notification{}, false, err
	}
	created, err := res.RowsAffected()
	if err != nil {
		return Notification{}, false, err
	}
	stored, err := s.notification(ctx, `delivery_id = ?`, n.DeliveryID)
	return stored, created == 1, err
}

func (s *sqlStore) notification(ctx context.Context, where string, arg string) (Notification, error) {
	var doc string
	var readAt dbTime
	err := s.db.QueryRowContext(ctx, s.q(`SELECT doc, read_at FROM notifications WHERE `+where), arg).Scan(&doc, &readAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Notification{}, ErrNotFound
	}
	if err != nil {
		return Notification{}, err
	}
	return decodeNotification(doc, readAt)
}

func decodeNotification(doc string, readAt dbTime) (Notification, error) {
	var n Notification
	if err := json.Unmarshal([]byte(doc), &n); err != nil {
		return n, err
	}
	n.ReadAt = nil
	if readAt.Valid {
		t := readAt.Time
		n.ReadAt = &t
	}
	return n, nil
}

// ListNotifications returns the notifications, newest first; only the unread ones when
// unreadOnly.
func (s *sqlStore) ListNotifications(ctx context.Context, unreadOnly bool) ([]Notification, error) {
	q := `SELECT doc, read_at FROM notifications`
	if unreadOnly {
		q += ` WHERE read_at IS NULL`
	}
	rows, err := s.db.QueryContext(ctx, q+` ORDER BY created_at DESC, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Notification{}
	for rows.Next() {
		var doc string
		var readAt dbTime
		if err := rows.Scan(&doc, &readAt); err != nil {
			return nil, err
		}
		n, err := decodeNotification(doc, readAt)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// MarkNotificationRead records that the notification id was read at; a notification read
// before keeps its first time.
func (s *sqlStore) MarkNotificationRead(ctx context.Context, id string, at time.Time) (Notification, error) {
	// PostgreSQL keeps microseconds; SQLite gets the same so both answer alike.
	at = at.Truncate(time.Microsecond)
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE notifications SET read_at = ? WHERE id = ? AND read_at IS NULL`),
		s.d.timeArg(at), id)
	if err != nil {
		return Notification{}, err
	}
	return s.notification(ctx, `id = ?`, id)
}

// projectSettings are the settings Project creates on first use, in a fixed order: every
// creator inserts them in the same order, so concurrent first calls on PostgreSQL wait for
// one another instead of deadlocking, and all end with the same project.
var projectSettings = []struct {
	key string
	gen func() string
}{
	{"project_id", func() string { return payloads.NewID("proj_") }},
	{"signing_secret", payloads.NewSecret},
}

// Project returns the project id and signing secret, creating them once.
func (s *sqlStore) Project(ctx context.Context) (Project, error) {
	if p, err := s.readProject(ctx, s.db); err == nil {
		return p, nil
	} else if !errors.Is(err, sql.ErrNoRows) {
		return Project{}, err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Project{}, err
	}
	defer tx.Rollback()
	for _, setting := range projectSettings {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`), setting.key, setting.gen()); err != nil {
			return Project{}, err
		}
	}
	// A concurrent creator's rows are visible here: under read committed every statement
	// sees what committed before it, and the inserts above waited for that commit.
	p, err := s.readProject(ctx, tx)
	if err != nil {
		return Project{}, err
	}
	return p, tx.Commit()
}

func (s *sqlStore) readProject(ctx context.Context, q rowQueryer) (Project, error) {
	var p Project
	if err := q.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'project_id'`).Scan(&p.ID); err != nil {
		return Project{}, err
	}
	if err := q.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'signing_secret'`).Scan(&p.Secret); err != nil {
		return Project{}, err
	}
	var previous string
	err := q.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'previous_secrets'`).Scan(&previous)
	if errors.Is(err, sql.ErrNoRows) {
		return p, nil
	}
	if err != nil {
		return Project{}, err
	}
	return p, json.Unmarshal([]byte(previous), &p.Previous)
}

// RotateSecret replaces the signing secret, keeping the old one as a previous secret.
func (s *sqlStore) RotateSecret(ctx context.Context, next string, now, oldExpiresAt time.Time) (Project, error) {
	if _, err := s.Project(ctx); err != nil { // make sure there is one to rotate
		return Project{}, err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Project{}, err
	}
	defer tx.Rollback()
	// Lock the current secret's row, so two rotations at once keep both old secrets.
	var current string
	if err := tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'signing_secret'`+s.d.forUpdate).Scan(&current); err != nil {
		return Project{}, err
	}
	p, err := s.readProject(ctx, tx)
	if err != nil {
		return Project{}, err
	}
	kept := []PreviousSecret{}
	for _, old := range p.Previous {
		if now.Before(old.ExpiresAt) {
			kept = append(kept, old)
		}
	}
	if now.Before(oldExpiresAt) {
		kept = append(kept, PreviousSecret{Secret: current, ExpiresAt: oldExpiresAt.UTC()})
	}
	doc, err := json.Marshal(kept)
	if err != nil {
		return Project{}, err
	}
	if _, err := tx.ExecContext(ctx, s.q(`UPDATE settings SET value = ? WHERE key = 'signing_secret'`), next); err != nil {
		return Project{}, err
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO settings (key, value) VALUES ('previous_secrets', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`), string(doc)); err != nil {
		return Project{}, err
	}
	p.Secret, p.Previous = next, kept
	return p, tx.Commit()
}

// dbTime scans a nullable timestamp column whatever the driver gives for it: a time.Time
// (PostgreSQL timestamptz) or text (SQLite), always as UTC.
type dbTime struct {
	Time  time.Time
	Valid bool
}

// Scan implements sql.Scanner.
func (t *dbTime) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*t = dbTime{}
		return nil
	case time.Time:
		*t = dbTime{v.UTC(), true}
		return nil
	case string:
		return t.parse(v)
	case []byte:
		return t.parse(string(v))
	}
	return fmt.Errorf("store: cannot read a time from %T", v)
}

func (t *dbTime) parse(s string) error {
	// RFC 3339 parsing accepts both sqliteTimeLayout and the shorter RFC3339Nano of rows
	// written before it.
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("store: bad stored time %q: %w", s, err)
	}
	*t = dbTime{v.UTC(), true}
	return nil
}

// NotificationSettings returns the stored settings, or the defaults.
func (s *sqlStore) NotificationSettings(ctx context.Context) (distributions.NotificationSettings, error) {
	var doc string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'notification_settings'`).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return distributions.DefaultNotificationSettings(), nil
	}
	if err != nil {
		return distributions.NotificationSettings{}, err
	}
	out := distributions.DefaultNotificationSettings()
	return out, json.Unmarshal([]byte(doc), &out)
}

// SetNotificationSettings replaces the settings.
func (s *sqlStore) SetNotificationSettings(ctx context.Context, ns distributions.NotificationSettings) error {
	doc, err := json.Marshal(ns)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, s.q(`INSERT INTO settings (key, value) VALUES ('notification_settings', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`), string(doc))
	return err
}

// WasSent reports whether key was marked sent.
func (s *sqlStore) WasSent(ctx context.Context, key string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM notification_sends WHERE key = ?`), key).Scan(&n)
	return n > 0, err
}

// MarkSent records that key was sent.
func (s *sqlStore) MarkSent(ctx context.Context, key string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO notification_sends (key, sent_at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`), key, s.d.timeArg(at))
	return err
}

// defaultPruneBatch is the rows one delete statement of Prune removes when not told.
const defaultPruneBatch = 1000

// Prune deletes the history older than before, batch rows a statement at most.
func (s *sqlStore) Prune(ctx context.Context, before time.Time, batch int) (PruneResult, error) {
	if batch <= 0 {
		batch = defaultPruneBatch
	}
	cutoff := s.d.timeArg(before)
	var r PruneResult
	var err error
	// Unread notifications go too: the distribution a failure paused stays paused, which
	// is the lasting sign of it, and an inbox nobody reads must not grow without end.
	if r.Notifications, err = s.deleteInBatches(ctx, batch,
		`DELETE FROM notifications WHERE id IN (SELECT id FROM notifications WHERE created_at < ? LIMIT ?)`, cutoff); err != nil {
		return r, fmt.Errorf("prune notifications: %w", err)
	}
	// A record of a send guards against sending again when the activity is retried, which
	// happens within the delivery's life, a day or so, long before the retention ends.
	if r.NotificationSends, err = s.deleteInBatches(ctx, batch,
		`DELETE FROM notification_sends WHERE key IN (SELECT key FROM notification_sends WHERE sent_at < ? LIMIT ?)`, cutoff); err != nil {
		return r, fmt.Errorf("prune notification sends: %w", err)
	}
	// An idempotency key guards against a client's retry of a request, which comes
	// within minutes or hours; the shortest retention is a day.
	if r.IdempotencyKeys, err = s.deleteInBatches(ctx, batch,
		`DELETE FROM idempotency_keys WHERE key IN (SELECT key FROM idempotency_keys WHERE created_at < ? LIMIT ?)`, cutoff); err != nil {
		return r, fmt.Errorf("prune idempotency keys: %w", err)
	}
	// A bucket unused since before the cutoff (a day at least; the longest interval between
	// two tokens is an hour) with no turn given after it is full, as one made anew is: the
	// deleted row of a distribution that still sends comes back on its next take.
	us := before.UnixMicro()
	if r.RateBuckets, err = s.deleteInBatches(ctx, batch,
		`DELETE FROM rate_buckets WHERE id IN (SELECT id FROM rate_buckets WHERE updated_us < ? AND next_slot_us < ? LIMIT ?)`, us, us); err != nil {
		return r, fmt.Errorf("prune rate buckets: %w", err)
	}
	for {
		ids, err := s.finishedMessages(ctx, cutoff, batch)
		if err != nil {
			return r, fmt.Errorf("prune messages: %w", err)
		}
		for _, id := range ids {
			// The customers first and the message last: a prune cut short leaves the
			// message, and the next one finds it and finishes.
			n, err := s.deleteInBatches(ctx, batch, `DELETE FROM message_customers WHERE message_id = ? AND seq IN
				(SELECT seq FROM message_customers WHERE message_id = ? ORDER BY seq LIMIT ?)`, id, id)
			r.MessageCustomers += n
			if err != nil {
				return r, fmt.Errorf("prune customers of message %s: %w", id, err)
			}
			res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM messages WHERE id = ? AND status IN ('sent', 'canceled')`), id)
			if err != nil {
				return r, fmt.Errorf("prune message %s: %w", id, err)
			}
			if n, err := res.RowsAffected(); err == nil {
				r.Messages += int(n)
			}
		}
		if len(ids) < batch {
			return r, nil
		}
	}
}

// finishedMessages returns up to limit messages that are sent or canceled and were last
// changed before cutoff. Neither status is ever left, so such a message is done with.
func (s *sqlStore) finishedMessages(ctx context.Context, cutoff any, limit int) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT id FROM messages
		WHERE status IN ('sent', 'canceled') AND updated_at < ? ORDER BY updated_at, id LIMIT ?`), cutoff, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// deleteInBatches runs query, a DELETE whose last argument is the batch size, until it
// deletes fewer rows than that, and returns how many it deleted. Each run is a statement
// of its own, committed at once.
func (s *sqlStore) deleteInBatches(ctx context.Context, batch int, query string, args ...any) (int, error) {
	args = append(args, batch)
	deleted := 0
	for {
		res, err := s.db.ExecContext(ctx, s.q(query), args...)
		if err != nil {
			return deleted, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return deleted, err
		}
		deleted += int(n)
		if int(n) < batch {
			return deleted, nil
		}
	}
}
