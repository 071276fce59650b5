package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Message statuses. A message goes scheduled → sending → sent, or scheduled → canceled;
// nothing leaves sent or canceled.
const (
	MessageScheduled = "scheduled"
	MessageSending   = "sending"
	MessageSent      = "sent"
	MessageCanceled  = "canceled"
)

// Message is a manual or bulk message: one manual_distribution_schedule delivery per
// customer, sent through one distribution after a delay. Its customers are stored beside
// it, numbered 0..Total-1 in the order they were given.
type Message struct {
	ID               string `json:"id"`
	DistributionID   string `json:"distribution_id"`
	DistributionName string `json:"distribution_name"`
	Status           string `json:"status"`
	// Delay is how long after creation sending starts; SendAt is when.
	Delay  time.Duration `json:"-"`
	SendAt time.Time     `json:"send_at"`
	Total  int           `json:"total"`
	// Sent counts the customers whose delivery was started (seq < Sent); deliveries then
	// run on their own retry schedule.
	Sent       int        `json:"sent"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	CanceledAt *time.Time `json:"canceled_at"`
	// FinishedAt is when the last delivery was started (status sent).
	FinishedAt *time.Time `json:"finished_at"`
}

// MessageCustomer is one customer of a message, as the compact JSON object given.
type MessageCustomer struct {
	Seq      int             `json:"seq"`
	Customer json.RawMessage `json:"customer"`
}

// MessageStore is the part of Store for messages.
type MessageStore interface {
	// CreateMessage stores m (its Sent 0) and its customers, numbered from 0 in order, in
	// one transaction: all or nothing. An existing m.ID is ErrConflict.
	CreateMessage(ctx context.Context, m Message, customers []json.RawMessage) error
	GetMessage(ctx context.Context, id string) (Message, error)
	// ListMessages returns at most limit messages (all when limit <= 0), newest first.
	ListMessages(ctx context.Context, limit int) ([]Message, error)
	// MessageCustomers returns at most limit customers of message id with seq >= from, by
	// seq.
	MessageCustomers(ctx context.Context, id string, from, limit int) ([]MessageCustomer, error)
	// AdvanceMessage records progress: status sending or sent, and sent, which never goes
	// down (a smaller value keeps the stored one). A canceled message is ErrConflict; a sent
	// one stays sent.
	AdvanceMessage(ctx context.Context, id, status string, sent int, at time.Time) (Message, error)
	// CancelMessage marks a scheduled message canceled at at (a canceled one keeps its first
	// time). A message sending or sent is returned with ErrConflict.
	CancelMessage(ctx context.Context, id string, at time.Time) (Message, error)
}

// The messages tables (migration 4 is codes, 5 is messages; both lists in sqlite.go and
// postgres.go name these).
const (
	sqliteMessagesMigration = `CREATE TABLE messages (
		id                TEXT PRIMARY KEY,
		distribution_id   TEXT NOT NULL,
		distribution_name TEXT NOT NULL,
		status            TEXT NOT NULL,
		delay_ms          INTEGER NOT NULL,
		send_at           TEXT NOT NULL,
		total             INTEGER NOT NULL,
		sent              INTEGER NOT NULL,
		created_at        TEXT NOT NULL,
		updated_at        TEXT NOT NULL,
		canceled_at       TEXT,
		finished_at       TEXT
	);
	CREATE INDEX messages_created_at ON messages (created_at DESC, id);
	CREATE TABLE message_customers (
		message_id TEXT NOT NULL,
		seq        INTEGER NOT NULL,
		customer   TEXT NOT NULL,
		PRIMARY KEY (message_id, seq)
	) WITHOUT ROWID;`
	postgresMessagesMigration = `CREATE TABLE messages (
		id                TEXT PRIMARY KEY,
		distribution_id   TEXT NOT NULL,
		distribution_name TEXT NOT NULL,
		status            TEXT NOT NULL,
		delay_ms          BIGINT NOT NULL,
		send_at           TIMESTAMPTZ NOT NULL,
		total             INTEGER NOT NULL,
		sent              INTEGER NOT NULL,
		created_at        TIMESTAMPTZ NOT NULL,
		updated_at        TIMESTAMPTZ NOT NULL,
		canceled_at       TIMESTAMPTZ,
		finished_at       TIMESTAMPTZ
	);
	CREATE INDEX messages_created_at ON messages (created_at DESC, id);
	CREATE TABLE message_customers (
		message_id TEXT NOT NULL,
		seq        INTEGER NOT NULL,
		customer   TEXT NOT NULL,
		PRIMARY KEY (message_id, seq)
	);`
)

// customerRowsPerInsert is how many customers one INSERT carries: 3 parameters each stays
// far below SQLite's 32,766 and PostgreSQL's 65,535 parameters per statement.
const customerRowsPerInsert = 500

// CreateMessage stores the message and its customers in one transaction.
func (s *sqlStore) CreateMessage(ctx context.Context, m Message, customers []json.RawMessage) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, s.q(`INSERT INTO messages (id, distribution_id, distribution_name, status, delay_ms,
		send_at, total, sent, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?) ON CONFLICT (id) DO NOTHING`),
		m.ID, m.DistributionID, m.DistributionName, m.Status, m.Delay.Milliseconds(),
		s.d.timeArg(m.SendAt), len(customers), s.d.timeArg(m.CreatedAt), s.d.timeArg(m.CreatedAt))
	if err != nil {
		return fmt.Errorf("insert message: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return ErrConflict
	}
	var full string
	var stmt *sql.Stmt
	defer func() {
		if stmt != nil {
			stmt.Close()
		}
	}()
	for start := 0; start < len(customers); start += customerRowsPerInsert {
		chunk := customers[start:min(start+customerRowsPerInsert, len(customers))]
		query := customerInsert(len(chunk))
		args := make([]any, 0, 3*len(chunk))
		for i, c := range chunk {
			args = append(args, m.ID, start+i, string(c))
		}
		if len(chunk) == customerRowsPerInsert {
			// Full chunks reuse one prepared statement.
			if stmt == nil {
				full = s.q(query)
				if stmt, err = tx.PrepareContext(ctx, full); err != nil {
					return fmt.Errorf("insert customers: %w", err)
				}
			}
			_, err = stmt.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, s.q(query), args...)
		}
		if err != nil {
			return fmt.Errorf("insert customers %d to %d: %w", start, start+len(chunk)-1, err)
		}
	}
	return tx.Commit()
}

func customerInsert(rows int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO message_customers (message_id, seq, customer) VALUES `)
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?, ?, ?)")
	}
	return b.String()
}

const messageColumns = `id, distribution_id, distribution_name, status, delay_ms, send_at, total, sent,
	created_at, updated_at, canceled_at, finished_at`

func scanMessage(r rowScanner) (Message, error) {
	var m Message
	var delayMS int64
	var sendAt, createdAt, updatedAt, canceledAt, finishedAt dbTime
	if err := r.Scan(&m.ID, &m.DistributionID, &m.DistributionName, &m.Status, &delayMS, &sendAt, &m.Total, &m.Sent,
		&createdAt, &updatedAt, &canceledAt, &finishedAt); err != nil {
		return Message{}, err
	}
	m.Delay = time.Duration(delayMS) * time.Millisecond
	m.SendAt, m.CreatedAt, m.UpdatedAt = sendAt.Time, createdAt.Time, updatedAt.Time
	if canceledAt.Valid {
		m.CanceledAt = &canceledAt.Time
	}
	if finishedAt.Valid {
		m.FinishedAt = &finishedAt.Time
	}
	return m, nil
}

func (s *sqlStore) getMessage(ctx context.Context, q rowQueryer, id, suffix string) (Message, error) {
	m, err := scanMessage(q.QueryRowContext(ctx, s.q(`SELECT `+messageColumns+` FROM messages WHERE id = ?`+suffix), id))
	if errors.Is(err, sql.ErrNoRows) {
		return Message{}, ErrNotFound
	}
	return m, err
}

// GetMessage returns the message id, or ErrNotFound.
func (s *sqlStore) GetMessage(ctx context.Context, id string) (Message, error) {
	return s.getMessage(ctx, s.db, id, "")
}

// ListMessages returns messages, newest first.
func (s *sqlStore) ListMessages(ctx context.Context, limit int) ([]Message, error) {
	q := `SELECT ` + messageColumns + ` FROM messages ORDER BY created_at DESC, id DESC`
	var args []any
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	rows, err := s.db.QueryContext(ctx, s.q(q), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Message{}
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// MessageCustomers returns a page of customers by seq.
func (s *sqlStore) MessageCustomers(ctx context.Context, id string, from, limit int) ([]MessageCustomer, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT seq, customer FROM message_customers
		WHERE message_id = ? AND seq >= ? ORDER BY seq LIMIT ?`), id, from, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []MessageCustomer{}
	for rows.Next() {
		var c MessageCustomer
		var doc string
		if err := rows.Scan(&c.Seq, &doc); err != nil {
			return nil, err
		}
		c.Customer = json.RawMessage(doc)
		out = append(out, c)
	}
	return out, rows.Err()
}

// changeMessage reads the message id under a row lock, lets change edit it (an error
// writes nothing and is returned with the stored message) and writes the changed fields.
func (s *sqlStore) changeMessage(ctx context.Context, id string, change func(m *Message) error) (Message, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Message{}, err
	}
	defer tx.Rollback()
	m, err := s.getMessage(ctx, tx, id, s.d.forUpdate)
	if err != nil {
		return Message{}, err
	}
	stored := m
	if err := change(&m); err != nil {
		return stored, err
	}
	timeOrNil := func(t *time.Time) any {
		if t == nil {
			return nil
		}
		return s.d.timeArg(*t)
	}
	if _, err := tx.ExecContext(ctx, s.q(`UPDATE messages SET status = ?, sent = ?, updated_at = ?, canceled_at = ?, finished_at = ? WHERE id = ?`),
		m.Status, m.Sent, s.d.timeArg(m.UpdatedAt), timeOrNil(m.CanceledAt), timeOrNil(m.FinishedAt), id); err != nil {
		return stored, err
	}
	return m, tx.Commit()
}

// AdvanceMessage records sending progress.
func (s *sqlStore) AdvanceMessage(ctx context.Context, id, status string, sent int, at time.Time) (Message, error) {
	if status != MessageSending && status != MessageSent {
		return Message{}, fmt.Errorf("store: a message advances to sending or sent, not %q", status)
	}
	at = at.UTC()
	return s.changeMessage(ctx, id, func(m *Message) error {
		if m.Status == MessageCanceled {
			return ErrConflict
		}
		if m.Status != MessageSent {
			m.Status = status
		}
		if status == MessageSent && m.FinishedAt == nil {
			m.FinishedAt = &at
		}
		m.Sent = max(m.Sent, min(sent, m.Total))
		m.UpdatedAt = at
		return nil
	})
}

// CancelMessage marks a scheduled message canceled.
func (s *sqlStore) CancelMessage(ctx context.Context, id string, at time.Time) (Message, error) {
	at = at.UTC()
	return s.changeMessage(ctx, id, func(m *Message) error {
		switch m.Status {
		case MessageCanceled:
			return nil
		case MessageScheduled:
			m.Status, m.CanceledAt, m.UpdatedAt = MessageCanceled, &at, at
			return nil
		}
		return ErrConflict
	})
}
