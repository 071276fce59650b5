package store

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestOpenSQLite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "hookflow.db")
	for _, u := range []string{path, "sqlite://" + path, "SQLite://" + path} {
		s, err := Open(t.Context(), u)
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		if _, ok := s.(*SQLite); !ok {
			t.Errorf("%s: opened a %T", u, s)
		}
		// Every form names the same file: the project made through the first is there.
		p, err := s.Project(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		direct, err := OpenSQLite(path)
		if err != nil {
			t.Fatal(err)
		}
		if q, err := direct.Project(t.Context()); err != nil || q.ID != p.ID {
			t.Errorf("%s opened another database: %v", u, err)
		}
		direct.Close()
	}
}

func TestOpenPostgres(t *testing.T) {
	db := newPostgresDatabase(t)
	s, err := Open(t.Context(), db.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, ok := s.(*Postgres); !ok {
		t.Errorf("opened a %T", s)
	}
	if _, err := s.Project(t.Context()); err != nil {
		t.Error(err)
	}
}

func TestOpenBadURL(t *testing.T) {
	const password = "hunter2"
	tests := []struct {
		url, want string
	}{
		{"", "empty database URL"},
		{"  ", "empty database URL"},
		{"mysql://u:" + password + "@db/hookflow", `unsupported database URL scheme "mysql"`},
		{"1x://u:" + password + "@db/hookflow", "no valid scheme"},
		{"postgres:db/hookflow", "must have // after its scheme"},
		{"sqlite:hookflow.db", "must have // after its scheme"},
		{"sqlite://hookflow.db", `sqlite URL has host "hookflow.db"`},
		{"sqlite://u:" + password + "@/var/hookflow.db", "takes no user or password"},
		{"sqlite:///var/hookflow.db?mode=ro", "takes no query parameters"},
		{"sqlite://", "names no file"},
		{"sqlite:///", "names no file"},
		{"sqlite:///var/%zz.db", "bad sqlite URL"},
		{"postgres://u:" + password + "@127.0.0.1:notaport/hookflow", `bad PostgreSQL connection string: failed to parse as URL (invalid port ":notaport" after host)`},
		{"POSTGRES://u:" + password + "@127.0.0.1:notaport/hookflow", `bad PostgreSQL connection string: failed to parse as URL`},
		{"postgres://u:" + password + "@127.0.0.1:1/hookflow?connect_timeout=5", `connect to PostgreSQL database "hookflow" at 127.0.0.1:1 as user "u"`},
		{"postgresql://u:" + password + "@127.0.0.1:1/hookflow?sslmode=nonsense", "bad PostgreSQL connection string: failed to configure TLS (sslmode is invalid)"},
	}
	for _, tt := range tests {
		s, err := Open(t.Context(), tt.url)
		if err == nil {
			s.Close()
			t.Errorf("%q: opened", tt.url)
			continue
		}
		if s != nil {
			t.Errorf("%q: a non-nil store with the error", tt.url)
		}
		t.Logf("%q: %v", tt.url, err)
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %q, want it to say %q", tt.url, err, tt.want)
		}
		if strings.Contains(err.Error(), password) {
			t.Errorf("%q: the error shows the password: %v", tt.url, err)
		}
	}
}

// Passwords that pgx's own redaction cannot see in a malformed string stay hidden too.
func TestOpenPostgresHidesOddPasswords(t *testing.T) {
	for _, tt := range []struct {
		dsn string
		// parts of the password that must not show
		parts []string
	}{
		{"postgres://u:p@ss@127.0.0.1:notaport/db", []string{"p@ss", "ss@"}},
		{"postgres://u:hunter2@127.0.0.1:notaport/db", []string{"hunter2"}},
		{"postgres://u:hunt%40er2@127.0.0.1:1/db?connect_timeout=5", []string{"hunt", "er2"}},
		{"postgres://u:a/b`: c@127.0.0.1:notaport/db", []string{"a/b", "`: c"}},
		{"host=127.0.0.1 port=notaport user=u password=hunter2", []string{"hunter2"}},
		{`host=127.0.0.1 port=notaport user=u password='hun ter\'2'`, []string{"hun ter", "ter"}},
		{"host=127.0.0.1 port=1 user=u password=hunter2 connect_timeout=5", []string{"hunter2"}},
	} {
		s, err := OpenPostgres(t.Context(), tt.dsn)
		if err == nil {
			s.Close()
			t.Errorf("%q: opened", tt.dsn)
			continue
		}
		t.Logf("%v", err)
		for _, part := range tt.parts {
			if strings.Contains(err.Error(), part) {
				t.Errorf("%q: the error shows %q: %v", tt.dsn, part, err)
			}
		}
	}
}

func TestDSNPasswords(t *testing.T) {
	for dsn, want := range map[string]string{
		"postgres://u:a%2Fb@h/db?x=1&y=a@b": "a%2Fb a/b",
		"postgres://u:p@ss@h:x/db":          "p@ss",
		"postgres://u:a/b@h/db":             "a/b",
		"host=h password='it\\'s' user=u":   `'it\'s' it\'s it's`,
	} {
		if got := strings.Join(dsnPasswords(dsn), " "); got != want {
			t.Errorf("%s: %q, want %q", dsn, got, want)
		}
	}
	if got := dsnPasswords("postgres://h/db"); len(got) != 0 {
		t.Errorf("%q", got)
	}
}
