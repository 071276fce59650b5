package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Open opens the store that databaseURL names:
//
//	postgres://user:password@host:5432/db?sslmode=disable   PostgreSQL (also postgresql://)
//	sqlite:///var/lib/hookflow/hookflow.db                  SQLite in that absolute path
//	/var/lib/hookflow/hookflow.db or data/hookflow.db       SQLite in that file
//
// Errors say what is wrong with the URL but never repeat a password.
func Open(ctx context.Context, databaseURL string) (Store, error) {
	if strings.TrimSpace(databaseURL) == "" {
		return nil, errors.New("store: empty database URL: use postgres://..., sqlite:///path/file.db or a file path")
	}
	scheme, _, hasScheme := strings.Cut(databaseURL, "://")
	if !hasScheme {
		if isSchemeOnly(databaseURL) {
			return nil, errors.New("store: database URL must have // after its scheme, as postgres://host/db or sqlite:///path/file.db")
		}
		return openSQLite(ctx, databaseURL)
	}
	switch strings.ToLower(scheme) {
	case "postgres", "postgresql":
		// pgx knows the schemes in lower case only.
		s, err := OpenPostgres(ctx, strings.ToLower(scheme)+databaseURL[len(scheme):])
		if err != nil {
			return nil, err // not s: a nil *Postgres in a Store would not be nil
		}
		return s, nil
	case "sqlite":
		path, err := sqlitePath(databaseURL)
		if err != nil {
			return nil, err
		}
		s, err := openSQLite(ctx, path)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	if !validScheme(scheme) {
		return nil, errors.New("store: database URL has no valid scheme before ://: use postgres://, postgresql://, sqlite:/// or a file path")
	}
	return nil, fmt.Errorf("store: unsupported database URL scheme %q: use postgres://, postgresql://, sqlite:/// or a file path", scheme)
}

// sqlitePath is the file a sqlite:///absolute/path URL names.
func sqlitePath(raw string) (string, error) {
	const want = "as sqlite:///var/lib/hookflow/hookflow.db"
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error would quote the whole URL; its inner error names the fault.
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			err = urlErr.Err
		}
		return "", fmt.Errorf("store: bad sqlite URL: %v", err)
	}
	switch {
	case u.User != nil:
		return "", errors.New("store: a sqlite URL takes no user or password")
	case u.Host != "":
		return "", fmt.Errorf("store: sqlite URL has host %q, but a sqlite URL has three slashes and an absolute path, %s", u.Host, want)
	case u.RawQuery != "" || u.Fragment != "":
		return "", errors.New("store: a sqlite URL takes no query parameters or fragment, only a path, " + want)
	case u.Path == "" || u.Path == "/":
		return "", errors.New("store: sqlite URL names no file, " + want)
	case !strings.HasPrefix(u.Path, "/"):
		return "", errors.New("store: sqlite URL must name an absolute path, " + want)
	}
	return u.Path, nil
}

// isSchemeOnly reports whether s starts like a URL this package knows but lacks the "//",
// as "postgres:host" or "sqlite:file.db", which would otherwise be taken for a file name.
func isSchemeOnly(s string) bool {
	scheme, _, ok := strings.Cut(s, ":")
	if !ok {
		return false
	}
	switch strings.ToLower(scheme) {
	case "postgres", "postgresql", "sqlite":
		return true
	}
	return false
}

// validScheme reports whether s is a URL scheme (RFC 3986: a letter, then letters,
// digits, "+", "-" or ".").
func validScheme(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && (r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.'):
		default:
			return false
		}
	}
	return true
}
