package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// Postgres is the Store on a PostgreSQL database, shared by any number of hookflow
// processes.
type Postgres struct {
	sqlStore
}

var _ Store = (*Postgres)(nil)

// postgresMigrations are applied in order, each once; append, never edit.
//
// Documents are TEXT rather than JSONB: JSONB reorders object keys and drops duplicates,
// and raw JSON a distribution carries (its action's campaign object) must come back as it
// was written, since it goes into signed payloads.
var postgresMigrations = []string{
	`CREATE TABLE settings (
		key   TEXT PRIMARY KEY,
		value TEXT NOT NULL
	);
	CREATE TABLE distributions (
		id         TEXT PRIMARY KEY,
		version    INTEGER NOT NULL,
		doc        TEXT NOT NULL,
		created_at TIMESTAMPTZ NOT NULL
	);
	CREATE INDEX distributions_created_at ON distributions (created_at, id);
	CREATE TABLE webhooks (
		id         TEXT PRIMARY KEY,
		version    INTEGER NOT NULL,
		doc        TEXT NOT NULL,
		created_at TIMESTAMPTZ NOT NULL
	);
	CREATE INDEX webhooks_created_at ON webhooks (created_at, id);
	CREATE TABLE notifications (
		id          TEXT PRIMARY KEY,
		delivery_id TEXT NOT NULL UNIQUE,
		doc         TEXT NOT NULL,
		created_at  TIMESTAMPTZ NOT NULL,
		read_at     TIMESTAMPTZ
	);
	CREATE INDEX notifications_created_at ON notifications (created_at DESC, id);`,
	// 2: what each notification channel has sent, so a retried activity sends once.
	`CREATE TABLE notification_sends (
		key     TEXT PRIMARY KEY,
		sent_at TIMESTAMPTZ NOT NULL
	);`,
	// 3: API keys, by the SHA-256 of the key; the settings row is the lock that makes
	// "create the first key" and "revoke, keeping a manage key" atomic.
	`CREATE TABLE api_keys (
		id           TEXT PRIMARY KEY,
		name         TEXT NOT NULL,
		scopes       TEXT NOT NULL,
		prefix       TEXT NOT NULL,
		hash         TEXT NOT NULL UNIQUE,
		created_at   TIMESTAMPTZ NOT NULL,
		last_used_at TIMESTAMPTZ
	);
	CREATE INDEX api_keys_created_at ON api_keys (created_at, id);
	INSERT INTO settings (key, value) VALUES ('api_keys_lock', '') ON CONFLICT (key) DO NOTHING;`,
	// 4: code pools and their publications (codes.go).
	postgresCodesMigration,
	// 5: manual and bulk messages and their customers (messages.go).
	postgresMessagesMigration,
	// 6: what Prune looks old rows up by (notifications_created_at, of migration 1, serves
	// it for notifications).
	`CREATE INDEX notification_sends_sent_at ON notification_sends (sent_at);
	CREATE INDEX messages_finished ON messages (updated_at, id) WHERE status IN ('sent', 'canceled');`,
	// 7: the API's idempotency keys (idempotency.go).
	postgresIdempotencyMigration,
	// 8: the rate limits' token buckets (rate.go).
	postgresRateMigration,
	// 9: the distributions' circuit breakers (breakers.go).
	postgresBreakersMigration,
}

// migrationLockKey names hookflow's advisory lock ("hookflow" in ASCII). Advisory locks
// are per database, so stores in different databases never wait for each other.
const migrationLockKey = 0x686f6f6b666c6f77

// maxConns bounds one store's connections.
const maxConns = 16

var postgresDialect = &dialect{
	migrations: postgresMigrations,
	// A transaction-level lock is released by the commit or rollback itself, so a
	// crashed migration can never leave it held.
	migrationLock: fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", migrationLockKey),
	forUpdate:     " FOR UPDATE",
	numbered:      true,
	timeArg:       func(t time.Time) any { return t.UTC() },
	// clock_timestamp, not now(): now() is when the transaction began, which may be
	// before a concurrent taker that held the row committed.
	clockMicros: `(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::BIGINT`,
}

// OpenPostgres connects to the PostgreSQL database dsn names (a postgres:// URL or
// key=value settings, as libpq takes them) and applies the migrations it lacks. Processes
// that start together wait for each other's migrations rather than repeat them. A
// search_path setting in dsn puts the tables in that schema. Errors never show the
// password.
func OpenPostgres(ctx context.Context, dsn string) (*Postgres, error) {
	passwords := dsnPasswords(dsn)
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		err = fmt.Errorf("store: bad PostgreSQL connection string: %w", parseProblem(err, passwords))
		return nil, &redactedError{err, passwords}
	}
	if cfg.Password != "" {
		passwords = append([]string{cfg.Password}, passwords...)
	}
	s, err := connectPostgres(ctx, cfg)
	if err != nil {
		return nil, &redactedError{err, passwords}
	}
	return s, nil
}

func connectPostgres(ctx context.Context, cfg *pgx.ConnConfig) (*Postgres, error) {
	where := fmt.Sprintf("PostgreSQL database %q at %s:%d as user %q", cfg.Database, cfg.Host, cfg.Port, cfg.User)
	db := stdlib.OpenDB(*cfg, stdlib.OptionShouldPing(shouldPing))
	// Bounded, so that a few hookflow processes stay well inside the server's
	// max_connections (100 by default); idle connections are kept, so that bursts of
	// activities do not reconnect for every query.
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: connect to %s: %w", where, err)
	}
	s := &Postgres{sqlStore{db: db, d: postgresDialect}}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: %s: %w", where, err)
	}
	return s, nil
}

// pingAfterIdle is how long a pooled connection may sit unused before it is pinged when it
// is taken again: a connection that fails its ping is dropped and the query goes to another
// one, where a query on a dead connection would fail. pgx pings after a second only; then
// after a restart of PostgreSQL, every connection used in the second before it fails its
// next query (TestPostgresReconnects). Any restart takes longer than this, so every
// connection is checked after one, while connections in steady use under load, which are
// taken again within milliseconds, cost no ping.
const pingAfterIdle = 50 * time.Millisecond

func shouldPing(_ context.Context, p stdlib.ShouldPingParams) bool {
	return p.IdleDuration > pingAfterIdle
}

// parseProblem is what pgx found wrong with a connection string, without the string: pgx
// quotes it with the password masked, but a malformed string can defeat the masking. When
// the problem itself shows a piece of a password (a password with a "/" parsed as a port),
// it is left out.
func parseProblem(err error, passwords []string) error {
	var pce *pgconn.ParseConfigError
	if !errors.As(err, &pce) {
		return err
	}
	// The text is "cannot parse `<string>`: <problem>".
	msg := pce.Error()
	i := strings.LastIndex(msg, "`: ")
	if i < 0 {
		return errors.New("cannot parse it")
	}
	problem := msg[i+len("`: "):]
	for _, p := range passwords {
		for _, piece := range strings.FieldsFunc(p, func(r rune) bool { return strings.ContainsRune("/?#@:", r) }) {
			if strings.Contains(problem, piece) {
				return errors.New("cannot parse it (special characters in a URL's password must be %-encoded)")
			}
		}
	}
	return errors.New(problem)
}

// redactedError hides passwords in an error's text. pgx already leaves passwords out of
// its messages, but its guesses at a malformed connection string can let part of one
// through; this is the second line.
type redactedError struct {
	err       error
	passwords []string
}

func (e *redactedError) Error() string {
	msg := e.err.Error()
	for _, p := range e.passwords {
		msg = strings.ReplaceAll(msg, p, "xxxxx")
	}
	return msg
}

func (e *redactedError) Unwrap() error { return e.err }

var keywordPassword = regexp.MustCompile(`password\s*=\s*('(?:[^'\\]|\\.)*'|[^\s]+)`)

// dsnPasswords returns what could be the password in dsn, even a malformed one, as
// written and unescaped, longest first so that a shorter one cannot break up a longer one
// before it is replaced.
func dsnPasswords(dsn string) []string {
	var found []string
	add := func(p string) {
		if p != "" && !slices.Contains(found, p) {
			found = append(found, p)
		}
		if u, err := url.PathUnescape(p); err == nil && u != "" && !slices.Contains(found, u) {
			found = append(found, u)
		}
	}
	if _, rest, ok := strings.Cut(dsn, "://"); ok {
		// The user info ends at the last "@" of the authority, which ends at the first
		// "/", "?" or "#"; when the password holds an unescaped "/" there is no "@"
		// before that, and the last "@" of all is the best guess.
		userinfo := rest
		if end := strings.IndexAny(rest, "/?#"); end >= 0 {
			userinfo = rest[:end]
		}
		at := strings.LastIndex(userinfo, "@")
		if at < 0 {
			userinfo, at = rest, strings.LastIndex(rest, "@")
		}
		if at >= 0 {
			if _, pw, ok := strings.Cut(userinfo[:at], ":"); ok {
				add(pw)
			}
		}
	} else {
		for _, m := range keywordPassword.FindAllStringSubmatch(dsn, -1) {
			v := m[1]
			add(v)
			if unquoted, ok := strings.CutPrefix(v, "'"); ok {
				unquoted = strings.TrimSuffix(unquoted, "'")
				add(unquoted)
				add(strings.NewReplacer(`\'`, "'", `\\`, `\`).Replace(unquoted))
			}
		}
	}
	slices.SortStableFunc(found, func(a, b string) int { return len(b) - len(a) })
	return found
}
