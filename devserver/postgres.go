package devserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/persistence/sql/sqlplugin/postgresql"
	schematool "go.temporal.io/server/tools/common/schema"
	sqltool "go.temporal.io/server/tools/sql"
)

// The schema directories embedded in go.temporal.io/server/schema, one per database.
const (
	postgresSchema           = "postgresql/v12/temporal"
	postgresVisibilitySchema = "postgresql/v12/visibility"
)

// VisibilitySuffix is appended to the database of Options.PostgresURL to name the one that
// holds Temporal's visibility records: the two schemas keep their versions in tables of
// the same name, so they cannot share a database.
const VisibilitySuffix = "_visibility"

// databaseName admits names that need no quoting in SQL, so that the schema tool's
// statements, which insert the name as it is, stay correct. 63 bytes is PostgreSQL's limit.
var databaseName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// PostgresDatabases returns the names of the two databases that Temporal keeps its state in
// for a PostgresURL: the one the URL names (default temporal) and its visibility database.
func PostgresDatabases(rawURL string) (history, visibility string, err error) {
	h, v, err := postgresConfigs(rawURL)
	if err != nil {
		return "", "", err
	}
	return h.DatabaseName, v.DatabaseName, nil
}

// postgresConfigs turns a postgres:// URL into the server's connection settings for its
// main and visibility databases. Query parameters (sslmode, sslrootcert, ...) are passed to
// the driver as they are. Errors never repeat the password.
func postgresConfigs(rawURL string) (history, visibility *config.SQL, err error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			err = urlErr.Err // url.Error would quote the whole URL, password included
		}
		return nil, nil, fmt.Errorf("temporal database URL: %v", err)
	}
	switch strings.ToLower(u.Scheme) {
	case "postgres", "postgresql":
	default:
		return nil, nil, fmt.Errorf("temporal database URL: scheme %q: want postgres://user:password@host:5432/temporal", u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, nil, errors.New("temporal database URL names no host: want postgres://user:password@host:5432/temporal")
	}
	if u.User == nil || u.User.Username() == "" {
		return nil, nil, errors.New("temporal database URL names no user: want postgres://user:password@host:5432/temporal")
	}
	port := u.Port()
	if port == "" {
		port = "5432"
	}
	name := strings.TrimPrefix(u.Path, "/")
	if name == "" {
		name = "temporal"
	}
	if !databaseName.MatchString(name) || len(name)+len(VisibilitySuffix) > 63 {
		return nil, nil, fmt.Errorf("temporal database URL: database name %q: use letters, digits and _ only, at most %d of them", name, 63-len(VisibilitySuffix))
	}
	password, _ := u.User.Password()
	attrs := map[string]string{}
	for key, values := range u.Query() {
		if len(values) != 1 {
			return nil, nil, fmt.Errorf("temporal database URL: parameter %s given %d times", key, len(values))
		}
		attrs[key] = values[0]
	}
	base := config.SQL{
		PluginName:      postgresql.PluginNamePGX, // clearly less database CPU than lib/pq
		ConnectProtocol: "tcp",
		ConnectAddr:     net.JoinHostPort(u.Hostname(), port),
		User:            u.User.Username(),
		Password:        password,
		// Temporal's defaults for a single server: enough for 16 shards without
		// exhausting a PostgreSQL whose max_connections is the default 100.
		MaxConns:        20,
		MaxIdleConns:    20,
		MaxConnLifetime: time.Hour,
	}
	history, visibility = new(config.SQL), new(config.SQL)
	*history, *visibility = base, base
	history.DatabaseName, visibility.DatabaseName = name, name+VisibilitySuffix
	history.ConnectAttributes, visibility.ConnectAttributes = attrs, cloneMap(attrs)
	return history, visibility, nil
}

func cloneMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// setUpPostgres creates the databases when missing, then sets up Temporal's schema in them
// or upgrades it to this server's version, as the temporal-sql-tool's create-database,
// setup-schema -v 0.0 and update-schema would.
func setUpPostgres(ctx context.Context, rawURL string, conf *config.Config, logger log.Logger) error {
	if err := checkPostgres(ctx, rawURL); err != nil {
		return err
	}
	stores := []struct {
		sql    *config.SQL
		schema string
	}{
		{conf.Persistence.DataStores[conf.Persistence.DefaultStore].SQL, postgresSchema},
		{conf.Persistence.DataStores[conf.Persistence.VisibilityStore].SQL, postgresVisibilitySchema},
	}
	for _, s := range stores {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := setUpPostgresDatabase(s.sql, s.schema, logger); err != nil {
			return fmt.Errorf("temporal database %s on %s: %w", s.sql.DatabaseName, s.sql.ConnectAddr, err)
		}
	}
	return nil
}

func setUpPostgresDatabase(cfg *config.SQL, schemaName string, logger log.Logger) error {
	if err := createDatabase(cfg, logger); err != nil {
		return err
	}
	conn, err := sqltool.NewConnection(cfg, logger)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	if schemaName == postgresVisibilitySchema {
		// The visibility schema creates btree_gin itself, but only when it is missing and
		// with an error that does not say what to do; creating it here first gives one.
		if err := conn.Exec(`CREATE EXTENSION IF NOT EXISTS btree_gin`); err != nil {
			return fmt.Errorf("the visibility schema needs the btree_gin extension, which its database's owner may create "+
				"on PostgreSQL 13+ (or a superuser: CREATE EXTENSION btree_gin in database %s): %w", cfg.DatabaseName, err)
		}
	}
	// Version 0.0 on a new database, nothing on one already set up: the update then
	// applies every versioned directory above the recorded version.
	setup := schematool.NewSetupSchemaTask(conn, &schematool.SetupConfig{InitialVersion: "0.0"}, logger)
	if err := setup.Run(); err != nil {
		return fmt.Errorf("set up schema versioning: %w", err)
	}
	update := schematool.NewUpdateSchemaTask(conn, &schematool.UpdateConfig{
		DBName:     cfg.DatabaseName,
		SchemaName: schemaName,
	}, logger)
	if err := update.Run(); err != nil {
		return fmt.Errorf("update schema %s: %w", schemaName, err)
	}
	return nil
}

// checkPostgres connects once as the server will, because the server's own connection
// errors say only "no usable database connection found". A database that does not exist
// yet is no error: it is created next.
func checkPostgres(ctx context.Context, rawURL string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if scheme, rest, ok := strings.Cut(rawURL, "://"); ok {
		rawURL = strings.ToLower(scheme) + "://" + rest // pgx knows the schemes in lower case only
	}
	conn, err := pgx.Connect(ctx, rawURL)
	var pgErr *pgconn.PgError
	switch {
	case err == nil:
		return conn.Close(ctx)
	case errors.As(err, &pgErr) && pgErr.Code == "3D000": // invalid_catalog_name
		return nil
	}
	// pgx's errors name the host, user and database, never the password.
	return fmt.Errorf("temporal database: %w", err)
}

// createDatabase creates cfg's database unless it exists. A user who may not create
// databases can still use one made for them: when creation fails, connecting to the
// database decides.
func createDatabase(cfg *config.SQL, logger log.Logger) error {
	admin := *cfg // DoCreateDatabase changes the name it is given
	createErr := sqltool.DoCreateDatabase(&admin, "", logger)
	if createErr == nil {
		return nil
	}
	conn, err := sqltool.NewConnection(cfg, logger)
	if err == nil {
		err = conn.Exec(`SELECT 1`)
		conn.Close()
	}
	if err != nil {
		return fmt.Errorf("create database: %v; connect to it: %w", createErr, err)
	}
	return nil
}
