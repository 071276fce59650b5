package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hookflow/hookflow/payloads"
)

// API key scopes. A key holds one or more.
const (
	// ScopeEvents allows sending events (POST /v1/events) and nothing else.
	ScopeEvents = "events"
	// ScopeManage allows everything but sending events: distributions, webhooks, keys,
	// settings, secrets, deliveries and notifications, reading as well as writing; and the
	// codec endpoint.
	ScopeManage = "manage"
	// ScopeCodec allows the codec endpoint (/codec) and nothing else: the key that the
	// proxy in front of the Temporal Web UI adds, so that the UI shows payloads decrypted,
	// can neither manage hookflow nor send events.
	ScopeCodec = "codec"
)

// Scopes are the API key scopes, in the order they are stored.
var Scopes = []string{ScopeEvents, ScopeManage, ScopeCodec}

// APIKeyPrefix starts every API key; 32 random bytes in unpadded base64url follow it.
const APIKeyPrefix = "hfk_"

// apiKeyDisplayLength is how much of a key its Prefix shows: "hfk_" and six characters,
// 36 of its 256 random bits, enough to tell keys apart and far from enough to guess one.
const apiKeyDisplayLength = len(APIKeyPrefix) + 6

// ErrAPIKeysExist is returned by CreateFirstAPIKey when an API key exists already.
var ErrAPIKeysExist = errors.New("API keys exist")

// ErrLastManageKey is returned by RevokeAPIKey for the last key with the manage scope:
// without it no one could manage hookflow, or create another key.
var ErrLastManageKey = errors.New("the last key with the manage scope cannot be revoked; create another first")

// APIKey is an API key as stored: never the key itself, which only its creator saw.
type APIKey struct {
	ID     string   `json:"id"`
	Name   string   `json:"name"`
	Scopes []string `json:"scopes"`
	// Prefix is the start of the key, not secret, to recognize it by.
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	// Hash is HashAPIKey of the key. It is never shown.
	Hash []byte `json:"-"`
}

// HasScope reports whether the key holds scope.
func (k APIKey) HasScope(scope string) bool { return slices.Contains(k.Scopes, scope) }

// HashAPIKey is what the store keeps of an API key: its SHA-256. A key carries 256 random
// bits, so a plain hash cannot be reversed by guessing and needs no salt or stretching.
func HashAPIKey(key string) []byte {
	sum := sha256.Sum256([]byte(key))
	return sum[:]
}

// newAPIKey makes a key and its record.
func newAPIKey(name string, scopes []string, at time.Time) (APIKey, string, error) {
	norm, err := normalizeScopes(scopes)
	if err != nil {
		return APIKey{}, "", err
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	key := APIKeyPrefix + base64.RawURLEncoding.EncodeToString(b)
	return APIKey{
		ID:     payloads.NewID("key_"),
		Name:   name,
		Scopes: norm,
		Prefix: key[:apiKeyDisplayLength],
		// PostgreSQL keeps microseconds; SQLite gets the same so both answer alike.
		CreatedAt: at.UTC().Truncate(time.Microsecond),
		Hash:      HashAPIKey(key),
	}, key, nil
}

// normalizeScopes returns scopes in the order of Scopes without repeats, or an error for
// none or an unknown one.
func normalizeScopes(scopes []string) ([]string, error) {
	if len(scopes) == 0 {
		return nil, errors.New("store: an API key needs at least one scope")
	}
	for _, sc := range scopes {
		if !slices.Contains(Scopes, sc) {
			return nil, fmt.Errorf("store: unknown API key scope %q", sc)
		}
	}
	out := []string{}
	for _, sc := range Scopes {
		if slices.Contains(scopes, sc) {
			out = append(out, sc)
		}
	}
	return out, nil
}

func parseScopes(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

// CreateAPIKey makes and stores a new API key.
func (s *sqlStore) CreateAPIKey(ctx context.Context, name string, scopes []string, at time.Time) (APIKey, string, error) {
	return s.createAPIKey(ctx, name, scopes, at, false)
}

// CreateFirstAPIKey makes and stores a new API key if there is none.
func (s *sqlStore) CreateFirstAPIKey(ctx context.Context, name string, scopes []string, at time.Time) (APIKey, string, error) {
	return s.createAPIKey(ctx, name, scopes, at, true)
}

func (s *sqlStore) createAPIKey(ctx context.Context, name string, scopes []string, at time.Time, first bool) (APIKey, string, error) {
	k, key, err := newAPIKey(name, scopes, at)
	if err != nil {
		return APIKey{}, "", err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return APIKey{}, "", err
	}
	defer tx.Rollback()
	if first {
		if err := s.lockAPIKeys(ctx, tx); err != nil {
			return APIKey{}, "", err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM api_keys`).Scan(&n); err != nil {
			return APIKey{}, "", err
		}
		if n > 0 {
			return APIKey{}, "", ErrAPIKeysExist
		}
	}
	_, err = tx.ExecContext(ctx, s.q(`INSERT INTO api_keys (id, name, scopes, prefix, hash, created_at) VALUES (?, ?, ?, ?, ?, ?)`),
		k.ID, k.Name, strings.Join(k.Scopes, ","), k.Prefix, hex.EncodeToString(k.Hash), s.d.timeArg(k.CreatedAt))
	if err != nil {
		return APIKey{}, "", err
	}
	if err := tx.Commit(); err != nil {
		return APIKey{}, "", err
	}
	return k, key, nil
}

// lockAPIKeys takes the lock that serializes the transactions whose rule spans all keys
// (the first key, the last manage key): the api_keys_lock settings row on PostgreSQL, the
// write lock that every transaction takes at BEGIN on SQLite.
func (s *sqlStore) lockAPIKeys(ctx context.Context, tx *sql.Tx) error {
	// The row is made by migration 3; this puts it back should it ever be missing.
	if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ('api_keys_lock', '') ON CONFLICT (key) DO NOTHING`); err != nil {
		return err
	}
	var v string
	return tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'api_keys_lock'`+s.d.forUpdate).Scan(&v)
}

const apiKeyColumns = `id, name, scopes, prefix, hash, created_at, last_used_at`

type rowScanner interface {
	Scan(dest ...any) error
}

func scanAPIKey(r rowScanner) (APIKey, error) {
	var k APIKey
	var scopes, hash string
	var created, used dbTime
	if err := r.Scan(&k.ID, &k.Name, &scopes, &k.Prefix, &hash, &created, &used); err != nil {
		return APIKey{}, err
	}
	h, err := hex.DecodeString(hash)
	if err != nil {
		return APIKey{}, fmt.Errorf("store: API key %s has a bad hash: %w", k.ID, err)
	}
	k.Scopes, k.Hash, k.CreatedAt = parseScopes(scopes), h, created.Time
	if used.Valid {
		t := used.Time
		k.LastUsedAt = &t
	}
	return k, nil
}

// ListAPIKeys returns every API key, oldest first.
func (s *sqlStore) ListAPIKeys(ctx context.Context) ([]APIKey, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys ORDER BY created_at, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []APIKey{}
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// APIKeyByHash returns the API key with the hash, or ErrNotFound.
func (s *sqlStore) APIKeyByHash(ctx context.Context, hash []byte) (APIKey, error) {
	k, err := scanAPIKey(s.db.QueryRowContext(ctx, s.q(`SELECT `+apiKeyColumns+` FROM api_keys WHERE hash = ?`), hex.EncodeToString(hash)))
	if errors.Is(err, sql.ErrNoRows) {
		return APIKey{}, ErrNotFound
	}
	return k, err
}

// MarkAPIKeyUsed sets when the key id was last used, or returns ErrNotFound.
func (s *sqlStore) MarkAPIKeyUsed(ctx context.Context, id string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE api_keys SET last_used_at = ? WHERE id = ?`),
		s.d.timeArg(at.Truncate(time.Microsecond)), id)
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

// RevokeAPIKey deletes the API key id unless it is the last one with the manage scope.
func (s *sqlStore) RevokeAPIKey(ctx context.Context, id string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := s.lockAPIKeys(ctx, tx); err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, scopes FROM api_keys`)
	if err != nil {
		return err
	}
	found, otherManagers := false, 0
	var revokedManages bool
	for rows.Next() {
		var kid, scopes string
		if err := rows.Scan(&kid, &scopes); err != nil {
			rows.Close()
			return err
		}
		manages := slices.Contains(parseScopes(scopes), ScopeManage)
		switch {
		case kid == id:
			found, revokedManages = true, manages
		case manages:
			otherManagers++
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if !found {
		return ErrNotFound
	}
	if revokedManages && otherManagers == 0 {
		return ErrLastManageKey
	}
	if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM api_keys WHERE id = ?`), id); err != nil {
		return err
	}
	return tx.Commit()
}
