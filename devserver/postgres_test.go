package devserver

import (
	"fmt"
	"strings"
	"testing"
)

// TestPostgresConfigs: the URL becomes the two databases' connection settings, with the
// query parameters passed on, and a wrong URL an error that never repeats the password.
func TestPostgresConfigs(t *testing.T) {
	h, v, err := postgresConfigs("postgres://temporal:s3cret@db.internal/tmp?sslmode=verify-full&sslrootcert=/ca.pem")
	if err != nil {
		t.Fatal(err)
	}
	if h.DatabaseName != "tmp" || v.DatabaseName != "tmp_visibility" || h.ConnectAddr != "db.internal:5432" ||
		h.User != "temporal" || h.Password != "s3cret" || h.PluginName != "postgres12_pgx" {
		t.Errorf("settings %+v", h)
	}
	if h.ConnectAttributes["sslmode"] != "verify-full" || v.ConnectAttributes["sslrootcert"] != "/ca.pem" {
		t.Errorf("attributes %v, %v", h.ConnectAttributes, v.ConnectAttributes)
	}
	if h, _, err := postgresConfigs("postgresql://u@[::1]:6432"); err != nil || h.DatabaseName != "temporal" || h.ConnectAddr != "[::1]:6432" {
		t.Errorf("defaults: %+v, %v", h, err)
	}
	for raw, want := range map[string]string{
		"mysql://u:s3cret@h/db":                            "scheme",
		"postgres://u:s3cret@/db":                          "no host",
		"postgres://h/db":                                  "no user",
		"postgres://u:s3cret@h/my-db":                      "database name",
		"postgres://u:s3cret@h/db?a=1&a=2":                 "given 2 times",
		"postgres://u:s3cret@h/" + strings.Repeat("d", 60): "database name",
		"postgres://u:s3cret@h:port/db":                    "port",
	} {
		_, _, err := postgresConfigs(raw)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: %v, want an error with %q and no password", raw, err, want)
		}
	}
}

// TestPostgresUnreachable: a server that does not answer is an error that says why, at
// once, and without the password.
func TestPostgresUnreachable(t *testing.T) {
	port, err := FreePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Start(t.Context(), Options{PostgresURL: fmt.Sprintf("POSTGRES://u:s3cret@127.0.0.1:%d/db?sslmode=disable", port)})
	if err == nil || !strings.Contains(err.Error(), "connect") || strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "no usable") {
		t.Errorf("unreachable PostgreSQL: %v", err)
	}
}
