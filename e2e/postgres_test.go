package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/devserver"
	"github.com/hookflow/hookflow/internal/pgtest"
)

// The PostgreSQL helpers: databases on the shared server of HOOKFLOW_TEST_POSTGRES_DSN for
// hookflow's store, on that of HOOKFLOW_TEST_TEMPORAL_POSTGRES_DSN for Temporal's state,
// and a private server of one test's own that it may stop, kill and restart.

// temporalDatabase makes a fresh PostgreSQL database for one dev process's Temporal state
// when HOOKFLOW_TEST_TEMPORAL_POSTGRES_DSN is set (CI runs the end-to-end suite a second
// time so), and drops it and its visibility twin at the end of the test.
func temporalDatabase(t *testing.T) string {
	dsn := os.Getenv("HOOKFLOW_TEST_TEMPORAL_POSTGRES_DSN")
	if dsn == "" {
		return ""
	}
	// hookflow dev creates both databases.
	name := pgtest.Name("hookflow_e2e_temporal")
	pgtest.DropAtCleanup(t, dsn, name, name+devserver.VisibilitySuffix)
	return pgtest.WithDatabase(t, dsn, name)
}

// postgresStoreURL is the URL of a new database, dropped after the test, on the PostgreSQL of
// HOOKFLOW_TEST_POSTGRES_DSN, for a store that hookflow dev keeps there. Without the
// variable, or in -short mode, the test is skipped.
func postgresStoreURL(t *testing.T, prefix string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("starts hookflow dev")
	}
	return pgtest.NewDatabase(t, prefix)
}

// privatePostgres is a PostgreSQL server of one test's own, on a free loopback port, so that
// the test may stop, kill and restart it without disturbing the shared server other tests
// use. It runs from a temporary directory that holds its data, its socket and its log.
type privatePostgres struct {
	t       *testing.T
	bin     string // the directory of initdb, pg_ctl, postgres
	dir     string // the temporary directory: data/, the socket, log
	data    string
	logFile string
	port    int
	// runAs is the OS user the server runs as when the test runs as root (initdb and
	// postgres refuse root); empty otherwise.
	runAs string
	// DSN connects to its postgres database as the postgres superuser (trust auth).
	DSN string
}

// postgresBinDir finds the directory of initdb and pg_ctl: $HOOKFLOW_TEST_PG_BIN, the
// newest /usr/lib/postgresql/<version>/bin, or the PATH.
func postgresBinDir() (string, error) {
	if dir := os.Getenv("HOOKFLOW_TEST_PG_BIN"); dir != "" {
		if !isExecutable(filepath.Join(dir, "initdb")) || !isExecutable(filepath.Join(dir, "pg_ctl")) {
			return "", fmt.Errorf("no initdb and pg_ctl in HOOKFLOW_TEST_PG_BIN=%s", dir)
		}
		return dir, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { // newest version first: 9.6 < 10 < 15
		vi, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(dirs[i])), 64)
		vj, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(dirs[j])), 64)
		return vi > vj
	})
	for _, d := range dirs {
		if isExecutable(filepath.Join(d, "initdb")) && isExecutable(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	initdb, err := exec.LookPath("initdb")
	if err != nil {
		return "", fmt.Errorf("no initdb in /usr/lib/postgresql/*/bin or the PATH (set HOOKFLOW_TEST_PG_BIN)")
	}
	return filepath.Dir(initdb), nil
}

func isExecutable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// startPrivatePostgres initialises and starts a PostgreSQL server for t, stopped (immediate
// mode) and removed at t's cleanup. It skips t in -short mode, or when the PostgreSQL server
// binaries are not installed, or when the test runs as root and there is no postgres user
// (and runuser) to run the server as.
func startPrivatePostgres(t *testing.T) *privatePostgres {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a PostgreSQL server of its own")
	}
	bin, err := postgresBinDir()
	if err != nil {
		pgtest.SkipOutsideCI(t, "needs the PostgreSQL server binaries (apt-get install postgresql): %v", err)
	}
	p := &privatePostgres{t: t, bin: bin}
	var uid, gid = -1, -1
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			pgtest.SkipOutsideCI(t, "runs as root, and initdb refuses root: needs a postgres OS user to run the server as: %v", err)
		}
		if _, err := exec.LookPath("runuser"); err != nil {
			pgtest.SkipOutsideCI(t, "runs as root, and initdb refuses root: needs runuser to run the server as postgres: %v", err)
		}
		p.runAs = "postgres"
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
	}
	// Under /tmp rather than t.TempDir: the postgres user must reach it, and a socket path
	// must stay short (about 100 bytes).
	if p.dir, err = os.MkdirTemp("", "hookflow-pg-"); err != nil {
		t.Fatal(err)
	}
	if uid >= 0 {
		if err := os.Chown(p.dir, uid, gid); err != nil {
			os.RemoveAll(p.dir)
			t.Fatal(err)
		}
	}
	if err := os.Chmod(p.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	p.data = filepath.Join(p.dir, "data")
	p.logFile = filepath.Join(p.dir, "log")
	t.Cleanup(func() {
		if fileExists(filepath.Join(p.data, "postmaster.pid")) {
			_ = p.pgctl("stop", "-m", "immediate", "-w", "-t", "30")
		}
		if t.Failed() {
			t.Logf("log of the private PostgreSQL:\n%s", tail(p.logFile, 4000))
		}
		os.RemoveAll(p.dir)
	})

	if out, err := p.command(filepath.Join(bin, "initdb"), "-D", p.data, "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--locale", "C", "--no-sync").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	p.port = freePort(t)
	conf := fmt.Sprintf(`
listen_addresses = '127.0.0.1'
port = %d
unix_socket_directories = '%s'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 100
shared_buffers = 32MB
logging_collector = off
`, p.port, p.dir)
	f, err := os.OpenFile(filepath.Join(p.data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteString(conf)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	p.DSN = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	return p
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// command runs name as the server's OS user.
func (p *privatePostgres) command(name string, args ...string) *exec.Cmd {
	if p.runAs != "" {
		return exec.Command("runuser", append([]string{"-u", p.runAs, "--", name}, args...)...)
	}
	return exec.Command(name, args...)
}

// pgctl runs pg_ctl on the data directory; its output goes into the error.
func (p *privatePostgres) pgctl(args ...string) error {
	args = append([]string{"-D", p.data}, args...)
	out, err := p.command(filepath.Join(p.bin, "pg_ctl"), args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// Start starts the server and waits until it accepts connections.
func (p *privatePostgres) Start() error {
	return p.pgctl("start", "-w", "-t", "60", "-l", p.logFile)
}

// Stop stops the server in mode (immediate: a crash, no checkpoint; fast: clients are
// disconnected, then a clean shutdown) and waits until it is gone.
func (p *privatePostgres) Stop(mode string) error {
	return p.pgctl("stop", "-w", "-t", "60", "-m", mode)
}

// Restart stops the server in mode and starts it again at once.
func (p *privatePostgres) Restart(mode string) error {
	return p.pgctl("restart", "-w", "-t", "60", "-m", mode, "-l", p.logFile)
}

// tail is the end of a file, at most n bytes.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
