package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hookflow/hookflow/distributions"
)

// Paging: the lists of the store are read a page at a time, by keyset on the order each
// list already has, (created_at, id), so that a page costs the same wherever it is and the
// whole list is never in memory. A page ends with a cursor, the created_at and id of its
// last row as the database holds them, from which the next page goes on; rows added or
// deleted meanwhile neither repeat nor hide the others.

// Page asks for a page of a list.
type Page struct {
	// Limit is how many items at most (at least 1).
	Limit int
	// After is the Next of the page before, "" for the first page.
	After string
}

// Paged is a page of a list.
type Paged[T any] struct {
	Items []T
	// Next is the cursor to pass as Page.After for the page after this one; "" when this
	// is the last.
	Next string
}

// ErrBadCursor is a Page.After that no page ended with.
var ErrBadCursor = errors.New("not a page cursor of this list")

// The page methods of the store.
type PageStore interface {
	// PageDistributions is ListDistributions a page at a time, of those keep takes (all
	// when nil).
	PageDistributions(ctx context.Context, p Page, keep func(distributions.Distribution) bool) (Paged[distributions.Distribution], error)
	// PageWebhooks is ListWebhooks a page at a time.
	PageWebhooks(ctx context.Context, p Page) (Paged[distributions.ProjectWebhook], error)
	// PageNotifications is ListNotifications a page at a time.
	PageNotifications(ctx context.Context, unreadOnly bool, p Page) (Paged[Notification], error)
	// PageAPIKeys is ListAPIKeys a page at a time.
	PageAPIKeys(ctx context.Context, p Page) (Paged[APIKey], error)
	// PageMessages is ListMessages a page at a time.
	PageMessages(ctx context.Context, p Page) (Paged[Message], error)
}

// cursor is where a page ended: the created_at column of its last row, as read (SQLite's
// text, PostgreSQL's time in RFC 3339), and its id.
type cursor struct {
	at string
	id string
}

func (c cursor) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(c.at + "\n" + c.id))
}

func parseCursor(s string) (cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) > 512 {
		return cursor{}, ErrBadCursor
	}
	at, id, ok := strings.Cut(string(b), "\n")
	if !ok || id == "" {
		return cursor{}, ErrBadCursor
	}
	if _, err := time.Parse(time.RFC3339Nano, at); err != nil {
		return cursor{}, ErrBadCursor
	}
	return cursor{at, id}, nil
}

// arg is the cursor's time as a query argument compared with created_at: SQLite compares
// the text it stored, PostgreSQL the time.
func (c cursor) arg(s *sqlStore) any {
	if _, text := s.d.timeArg(time.Time{}).(string); !text { // PostgreSQL
		t, _ := time.Parse(time.RFC3339Nano, c.at)
		return t
	}
	return c.at
}

// order is a list's order on (created_at, id).
type order int

const (
	oldestFirst     order = iota // created_at, id
	newestFirst                  // created_at DESC, id
	newestFirstDesc              // created_at DESC, id DESC
)

func (o order) orderBy() string {
	return [...]string{` ORDER BY created_at, id`, ` ORDER BY created_at DESC, id`, ` ORDER BY created_at DESC, id DESC`}[o]
}

// after is the condition of the rows after c in order o.
func (o order) after() string {
	return [...]string{
		`(created_at > ? OR (created_at = ? AND id > ?))`,
		`(created_at < ? OR (created_at = ? AND id > ?))`,
		`(created_at < ? OR (created_at = ? AND id < ?))`,
	}[o]
}

// pageQuery reads a page of table: columns are what scan reads of a row, where (with its
// args) which rows, keep (when not nil) which of those go on the page.
type pageQuery[T any] struct {
	table, columns, where string
	args                  []any
	order                 order
	scan                  func(rowScanner) (T, error)
	keep                  func(T) bool
}

// keyedRow scans the created_at and id in front of a row's columns.
type keyedRow struct {
	rows interface{ Scan(...any) error }
	at   *any
	id   *string
}

func (k keyedRow) Scan(dest ...any) error {
	return k.rows.Scan(append([]any{k.at, k.id}, dest...)...)
}

// pageOf reads the page p of q. Without keep it reads Limit+1 rows (the one more tells
// whether a page follows); with keep, it reads on in batches until it has Limit+1 kept.
func pageOf[T any](ctx context.Context, s *sqlStore, q pageQuery[T], p Page) (Paged[T], error) {
	if p.Limit < 1 {
		return Paged[T]{}, fmt.Errorf("store: a page of %d items", p.Limit)
	}
	var from cursor
	if p.After != "" {
		c, err := parseCursor(p.After)
		if err != nil {
			return Paged[T]{}, err
		}
		from = c
	}
	batch := p.Limit + 1
	if q.keep != nil {
		batch = max(batch, 200)
	}
	out := Paged[T]{Items: []T{}}
	var last cursor // of the last item on the page
	for {
		where, args := q.where, append([]any(nil), q.args...)
		if from.id != "" {
			where = strings.TrimPrefix(where+" AND "+q.order.after(), " AND ")
			args = append(args, from.arg(s), from.arg(s), from.id)
		}
		query := `SELECT created_at, id, ` + q.columns + ` FROM ` + q.table
		if where != "" {
			query += ` WHERE ` + where
		}
		query += q.order.orderBy() + ` LIMIT ?`
		rows, err := s.db.QueryContext(ctx, s.q(query), append(args, batch)...)
		if err != nil {
			return Paged[T]{}, err
		}
		n := 0
		for rows.Next() {
			n++
			var at any
			var id string
			v, err := q.scan(keyedRow{rows, &at, &id})
			if err != nil {
				rows.Close()
				return Paged[T]{}, err
			}
			from = cursor{at: cursorTime(at), id: id}
			if q.keep != nil && !q.keep(v) {
				continue
			}
			if len(out.Items) == p.Limit { // one more: a page follows
				rows.Close()
				out.Next = last.String()
				return out, nil
			}
			out.Items = append(out.Items, v)
			last = from
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return Paged[T]{}, err
		}
		if n < batch {
			return out, nil
		}
	}
}

// cursorTime is a created_at column as a cursor holds it.
func cursorTime(v any) string {
	switch v := v.(type) {
	case time.Time:
		return v.UTC().Format(time.RFC3339Nano)
	case []byte:
		return string(v)
	case string:
		return v
	}
	return fmt.Sprint(v)
}

// docScan scans a document column into T.
func docScan[T any](r rowScanner) (T, error) {
	var v T
	var doc string
	if err := r.Scan(&doc); err != nil {
		return v, err
	}
	return v, json.Unmarshal([]byte(doc), &v)
}

// PageDistributions reads a page of distributions, oldest first; see PageStore.
func (s *sqlStore) PageDistributions(ctx context.Context, p Page, keep func(distributions.Distribution) bool) (Paged[distributions.Distribution], error) {
	return pageOf(ctx, s, pageQuery[distributions.Distribution]{table: "distributions", columns: "doc", scan: docScan[distributions.Distribution], keep: keep}, p)
}

// PageWebhooks reads a page of project webhooks, oldest first.
func (s *sqlStore) PageWebhooks(ctx context.Context, p Page) (Paged[distributions.ProjectWebhook], error) {
	return pageOf(ctx, s, pageQuery[distributions.ProjectWebhook]{table: "webhooks", columns: "doc", scan: docScan[distributions.ProjectWebhook]}, p)
}

// PageNotifications reads a page of notifications, newest first.
func (s *sqlStore) PageNotifications(ctx context.Context, unreadOnly bool, p Page) (Paged[Notification], error) {
	q := pageQuery[Notification]{table: "notifications", columns: "doc, read_at", order: newestFirst,
		scan: func(r rowScanner) (Notification, error) {
			var doc string
			var readAt dbTime
			if err := r.Scan(&doc, &readAt); err != nil {
				return Notification{}, err
			}
			return decodeNotification(doc, readAt)
		}}
	if unreadOnly {
		q.where = `read_at IS NULL`
	}
	return pageOf(ctx, s, q, p)
}

// PageAPIKeys reads a page of API keys, oldest first.
func (s *sqlStore) PageAPIKeys(ctx context.Context, p Page) (Paged[APIKey], error) {
	return pageOf(ctx, s, pageQuery[APIKey]{table: "api_keys", columns: apiKeyColumns, scan: scanAPIKey}, p)
}

// PageMessages reads a page of messages, newest first.
func (s *sqlStore) PageMessages(ctx context.Context, p Page) (Paged[Message], error) {
	return pageOf(ctx, s, pageQuery[Message]{table: "messages", columns: messageColumns, order: newestFirstDesc, scan: scanMessage}, p)
}
