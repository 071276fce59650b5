package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hookflow/hookflow/payloads"
)

// Code pools: a campaign's pool is the codes imported for it; publishing takes one code
// that no publication holds yet and records the publication under its key, in one
// transaction. The key is unique, and so is a code within its campaign in both tables, so
// the database itself refuses a code published twice or a key published twice.

// ErrPoolEmpty is returned by PublishCode when the campaign has no unpublished code left
// (or never had any).
var ErrPoolEmpty = errors.New("the code pool is empty")

// CodeStore is the part of Store for code pools and publications.
type CodeStore interface {
	// ImportCodes adds codes to campaign's pool in one transaction: all of them or, on an
	// error, none. A code already in the pool (or given twice) is counted as a duplicate
	// and left as it is.
	ImportCodes(ctx context.Context, campaign string, codes []string, at time.Time) (ImportResult, error)
	// CodeStats counts campaign's codes; an unknown campaign has none.
	CodeStats(ctx context.Context, campaign string) (CodeStats, error)
	// PublishCode publishes one code of campaign under key, exactly once: when a
	// publication with key exists it is returned unchanged (whatever campaign is now);
	// otherwise one unpublished code is taken and recorded atomically. Concurrent calls
	// with one key return the same publication; with different keys, different codes. It
	// returns ErrPoolEmpty when no code is left.
	PublishCode(ctx context.Context, key PublicationKey, campaign string, at time.Time) (Publication, error)
}

// ImportResult counts what an import did.
type ImportResult struct {
	Added      int `json:"added"`
	Duplicates int `json:"duplicates"`
}

// CodeStats are the counts of one campaign's pool.
type CodeStats struct {
	Campaign  string `json:"campaign"`
	Total     int    `json:"total"`
	Published int    `json:"published"`
	Available int    `json:"available"`
}

// PublicationKey names one publication: one code per event, distribution and customer.
type PublicationKey struct {
	EventID        string `json:"event_id"`
	DistributionID string `json:"distribution_id"`
	CustomerID     string `json:"customer_id"`
}

func (k PublicationKey) check() error {
	if k.EventID == "" || k.DistributionID == "" || k.CustomerID == "" {
		return fmt.Errorf("store: a publication key needs an event, a distribution and a customer: %+v", k)
	}
	return nil
}

// Publication is a code published to a customer.
type Publication struct {
	ID string `json:"id"`
	PublicationKey
	Campaign  string    `json:"campaign"`
	Code      string    `json:"code"`
	CreatedAt time.Time `json:"created_at"`
}

// importBatch is how many codes one INSERT statement of an import carries: 3 arguments a
// code stays far below SQLite's 32,766 and PostgreSQL's 65,535 arguments a statement.
const importBatch = 1000

// The codes tables. codes.id orders the pool: codes are published in the order they were
// imported. publication_id is set once, when the code is published; the partial index
// finds the next unpublished code of a campaign without reading the published ones.
const (
	sqliteCodesMigration = `CREATE TABLE codes (
		id             INTEGER PRIMARY KEY,
		campaign       TEXT NOT NULL,
		code           TEXT NOT NULL,
		imported_at    TEXT NOT NULL,
		publication_id TEXT,
		UNIQUE (campaign, code)
	);
	CREATE INDEX codes_available ON codes (campaign, id) WHERE publication_id IS NULL;
	CREATE TABLE publications (
		id              TEXT PRIMARY KEY,
		event_id        TEXT NOT NULL,
		distribution_id TEXT NOT NULL,
		customer_id     TEXT NOT NULL,
		campaign        TEXT NOT NULL,
		code            TEXT NOT NULL,
		created_at      TEXT NOT NULL,
		UNIQUE (event_id, distribution_id, customer_id),
		UNIQUE (campaign, code)
	);`
	postgresCodesMigration = `CREATE TABLE codes (
		id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		campaign       TEXT NOT NULL,
		code           TEXT NOT NULL,
		imported_at    TIMESTAMPTZ NOT NULL,
		publication_id TEXT,
		UNIQUE (campaign, code)
	);
	CREATE INDEX codes_available ON codes (campaign, id) WHERE publication_id IS NULL;
	CREATE TABLE publications (
		id              TEXT PRIMARY KEY,
		event_id        TEXT NOT NULL,
		distribution_id TEXT NOT NULL,
		customer_id     TEXT NOT NULL,
		campaign        TEXT NOT NULL,
		code            TEXT NOT NULL,
		created_at      TIMESTAMPTZ NOT NULL,
		UNIQUE (event_id, distribution_id, customer_id),
		UNIQUE (campaign, code)
	);`
)

// rowLocks reports whether the database has row locks (PostgreSQL). Without them
// (SQLite) every transaction here takes the database's write lock at BEGIN, which
// serializes publications as a whole.
func (s *sqlStore) rowLocks() bool { return s.d.forUpdate != "" }

// ImportCodes adds codes to campaign's pool.
func (s *sqlStore) ImportCodes(ctx context.Context, campaign string, codes []string, at time.Time) (ImportResult, error) {
	if campaign == "" {
		return ImportResult{}, errors.New("store: import codes: no campaign")
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return ImportResult{}, err
	}
	defer tx.Rollback()
	added := 0
	when := s.d.timeArg(at.Truncate(time.Microsecond))
	for start := 0; start < len(codes); start += importBatch {
		batch := codes[start:min(start+importBatch, len(codes))]
		var q strings.Builder
		q.WriteString(`INSERT INTO codes (campaign, code, imported_at) VALUES `)
		args := make([]any, 0, 3*len(batch))
		for i, c := range batch {
			if c == "" {
				return ImportResult{}, errors.New("store: import codes: an empty code")
			}
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?)")
			args = append(args, campaign, c, when)
		}
		// Rows are inserted in the order given, so the pool keeps the file's order; a code
		// already there (or earlier in the same import) inserts nothing.
		q.WriteString(` ON CONFLICT (campaign, code) DO NOTHING`)
		res, err := tx.ExecContext(ctx, s.q(q.String()), args...)
		if err != nil {
			return ImportResult{}, fmt.Errorf("import codes: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return ImportResult{}, err
		}
		added += int(n)
	}
	if err := tx.Commit(); err != nil {
		return ImportResult{}, fmt.Errorf("import codes: %w", err)
	}
	return ImportResult{Added: added, Duplicates: len(codes) - added}, nil
}

// CodeStats counts campaign's codes.
func (s *sqlStore) CodeStats(ctx context.Context, campaign string) (CodeStats, error) {
	st := CodeStats{Campaign: campaign}
	err := s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(*), COUNT(publication_id) FROM codes WHERE campaign = ?`), campaign).
		Scan(&st.Total, &st.Published)
	st.Available = st.Total - st.Published
	return st, err
}

// publicationLockClass is the first half of the PostgreSQL advisory lock that serializes
// the publications of one key ("code" in ASCII); the second half is a hash of the key.
const publicationLockClass = 0x636f6465

// PublishCode publishes one code of campaign under key, once.
func (s *sqlStore) PublishCode(ctx context.Context, key PublicationKey, campaign string, at time.Time) (Publication, error) {
	if err := key.check(); err != nil {
		return Publication{}, err
	}
	if campaign == "" {
		return Publication{}, errors.New("store: publish code: no campaign")
	}
	// The common retry finds its publication without a write transaction.
	if p, err := s.publication(ctx, s.db, key); !errors.Is(err, ErrNotFound) {
		return p, err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Publication{}, err
	}
	defer tx.Rollback()
	lockSuffix := ""
	if s.rowLocks() {
		// Calls with one key wait for each other here, and the later one then finds the
		// earlier one's publication below: it never takes a code of its own only to give it
		// back, so no other caller sees the pool empty while a code is on its way back.
		// A transaction-level lock ends with the commit or rollback; two keys whose hashes
		// collide only wait for each other.
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`,
			publicationLockClass, key.EventID+"/"+key.DistributionID+"/"+key.CustomerID); err != nil {
			return Publication{}, fmt.Errorf("publish code: %w", err)
		}
		// Concurrent publications of other keys each skip the codes the others hold.
		lockSuffix = " FOR UPDATE SKIP LOCKED"
	}
	if p, err := s.publication(ctx, tx, key); !errors.Is(err, ErrNotFound) {
		return p, err
	}
	var codeID int64
	var code string
	err = tx.QueryRowContext(ctx, s.q(`SELECT id, code FROM codes WHERE campaign = ? AND publication_id IS NULL ORDER BY id LIMIT 1`+lockSuffix), campaign).
		Scan(&codeID, &code)
	if errors.Is(err, sql.ErrNoRows) {
		return Publication{}, fmt.Errorf("campaign %q: %w", campaign, ErrPoolEmpty)
	}
	if err != nil {
		return Publication{}, fmt.Errorf("publish code: %w", err)
	}
	p := Publication{
		ID: payloads.NewID("pub_"), PublicationKey: key, Campaign: campaign, Code: code,
		// PostgreSQL keeps microseconds; SQLite gets the same so both answer alike.
		CreatedAt: at.UTC().Truncate(time.Microsecond),
	}
	res, err := tx.ExecContext(ctx, s.q(`UPDATE codes SET publication_id = ? WHERE id = ? AND publication_id IS NULL`), p.ID, codeID)
	if err != nil {
		return Publication{}, fmt.Errorf("publish code: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return Publication{}, err
	} else if n != 1 {
		return Publication{}, fmt.Errorf("publish code: code %d of campaign %q was taken meanwhile", codeID, campaign)
	}
	// The unique key is the last guard: should a publication of key exist after all, this
	// inserts nothing, the transaction is rolled back (the code stays in the pool) and the
	// existing publication is returned.
	res, err = tx.ExecContext(ctx, s.q(`INSERT INTO publications (id, event_id, distribution_id, customer_id, campaign, code, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_id, distribution_id, customer_id) DO NOTHING`),
		p.ID, key.EventID, key.DistributionID, key.CustomerID, campaign, code, s.d.timeArg(p.CreatedAt))
	if err != nil {
		return Publication{}, fmt.Errorf("publish code: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return Publication{}, err
	} else if n != 1 {
		_ = tx.Rollback()
		return s.publication(ctx, s.db, key)
	}
	if err := tx.Commit(); err != nil {
		return Publication{}, fmt.Errorf("publish code: %w", err)
	}
	return p, nil
}

// publication reads the publication of key, or returns ErrNotFound.
func (s *sqlStore) publication(ctx context.Context, q rowQueryer, key PublicationKey) (Publication, error) {
	p := Publication{PublicationKey: key}
	var created dbTime
	err := q.QueryRowContext(ctx, s.q(`SELECT id, campaign, code, created_at FROM publications
		WHERE event_id = ? AND distribution_id = ? AND customer_id = ?`), key.EventID, key.DistributionID, key.CustomerID).
		Scan(&p.ID, &p.Campaign, &p.Code, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return Publication{}, ErrNotFound
	}
	if err != nil {
		return Publication{}, fmt.Errorf("read publication: %w", err)
	}
	p.CreatedAt = created.Time
	return p, nil
}
