package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/payloads"
)

// SQLite is the Store on one SQLite file.
type SQLite struct {
	db *sql.DB
}

var _ Store = (*SQLite)(nil)

const schema = `
CREATE TABLE IF NOT EXISTS settings (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS distributions (
	id         TEXT PRIMARY KEY,
	status     TEXT NOT NULL,
	doc        TEXT NOT NULL,
	created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS notifications (
	id          TEXT PRIMARY KEY,
	delivery_id TEXT NOT NULL UNIQUE,
	doc         TEXT NOT NULL,
	created_at  TEXT NOT NULL,
	read_at     TEXT
);
`

// OpenSQLite opens (creating when needed) the store in the file at path.
func OpenSQLite(path string) (*SQLite, error) {
	q := url.Values{}
	q.Add("_pragma", "journal_mode(wal)")
	q.Add("_pragma", "synchronous(normal)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(on)")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	// One connection: SQLite serializes writers anyway, and this avoids busy errors.
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("create store schema in %s: %w", path, err)
	}
	return &SQLite{db: db}, nil
}

// Close closes the database.
func (s *SQLite) Close() error { return s.db.Close() }

const timeLayout = time.RFC3339Nano

func (s *SQLite) CreateDistribution(ctx context.Context, d distributions.Distribution) error {
	doc, err := json.Marshal(d)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO distributions (id, status, doc, created_at) VALUES (?, ?, ?, ?)`,
		d.ID, d.Status, string(doc), d.CreatedAt.UTC().Format(timeLayout))
	return err
}

func (s *SQLite) GetDistribution(ctx context.Context, id string) (distributions.Distribution, error) {
	var doc string
	err := s.db.QueryRowContext(ctx, `SELECT doc FROM distributions WHERE id = ?`, id).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return distributions.Distribution{}, ErrNotFound
	}
	if err != nil {
		return distributions.Distribution{}, err
	}
	var d distributions.Distribution
	return d, json.Unmarshal([]byte(doc), &d)
}

func (s *SQLite) ListDistributions(ctx context.Context) ([]distributions.Distribution, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT doc FROM distributions ORDER BY created_at, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []distributions.Distribution{}
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, err
		}
		var d distributions.Distribution
		if err := json.Unmarshal([]byte(doc), &d); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

func (s *SQLite) DeleteDistribution(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM distributions WHERE id = ?`, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

func (s *SQLite) SetDistributionStatus(ctx context.Context, id, status string, at time.Time) (bool, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	var doc string
	err = tx.QueryRowContext(ctx, `SELECT doc FROM distributions WHERE id = ?`, id).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return false, ErrNotFound
	}
	if err != nil {
		return false, err
	}
	var d distributions.Distribution
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return false, err
	}
	if d.Status == status {
		return false, nil
	}
	d.Status = status
	d.UpdatedAt = at.UTC()
	b, err := json.Marshal(d)
	if err != nil {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE distributions SET status = ?, doc = ? WHERE id = ?`, status, string(b), id); err != nil {
		return false, err
	}
	return true, tx.Commit()
}

func (s *SQLite) AddNotification(ctx context.Context, n Notification) (Notification, bool, error) {
	doc, err := json.Marshal(n)
	if err != nil {
		return Notification{}, false, err
	}
	res, err := s.db.ExecContext(ctx,
		`INSERT INTO notifications (id, delivery_id, doc, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (delivery_id) DO NOTHING`,
		n.ID, n.DeliveryID, string(doc), n.CreatedAt.UTC().Format(timeLayout))
	if err != nil {
		return Notification{}, false, err
	}
	created, _ := res.RowsAffected()
	stored, err := s.notification(ctx, `delivery_id = ?`, n.DeliveryID)
	return stored, created == 1, err
}

func (s *SQLite) notification(ctx context.Context, where string, arg string) (Notification, error) {
	var doc string
	var readAt sql.NullString
	err := s.db.QueryRowContext(ctx, `SELECT doc, read_at FROM notifications WHERE `+where, arg).Scan(&doc, &readAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Notification{}, ErrNotFound
	}
	if err != nil {
		return Notification{}, err
	}
	return decodeNotification(doc, readAt)
}

func decodeNotification(doc string, readAt sql.NullString) (Notification, error) {
	var n Notification
	if err := json.Unmarshal([]byte(doc), &n); err != nil {
		return n, err
	}
	n.ReadAt = nil
	if readAt.Valid {
		t, err := time.Parse(timeLayout, readAt.String)
		if err != nil {
			return n, err
		}
		n.ReadAt = &t
	}
	return n, nil
}

func (s *SQLite) ListNotifications(ctx context.Context, unreadOnly bool) ([]Notification, error) {
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
		var readAt sql.NullString
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

func (s *SQLite) MarkNotificationRead(ctx context.Context, id string, at time.Time) (Notification, error) {
	_, err := s.db.ExecContext(ctx, `UPDATE notifications SET read_at = ? WHERE id = ? AND read_at IS NULL`,
		at.UTC().Format(timeLayout), id)
	if err != nil {
		return Notification{}, err
	}
	return s.notification(ctx, `id = ?`, id)
}

func (s *SQLite) Project(ctx context.Context) (Project, error) {
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
	for key, gen := range map[string]func() string{
		"project_id":     func() string { return payloads.NewID("proj_") },
		"signing_secret": payloads.NewSecret,
	} {
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`, key, gen()); err != nil {
			return Project{}, err
		}
	}
	p, err := s.readProject(ctx, tx)
	if err != nil {
		return Project{}, err
	}
	return p, tx.Commit()
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *SQLite) readProject(ctx context.Context, q queryer) (Project, error) {
	var p Project
	var secret string
	if err := q.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'project_id'`).Scan(&p.ID); err != nil {
		return Project{}, err
	}
	if err := q.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'signing_secret'`).Scan(&secret); err != nil {
		return Project{}, err
	}
	p.Secrets = []string{secret}
	return p, nil
}
