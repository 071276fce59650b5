package cli

import (
	"bytes"
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/api"
	"github.com/hookflow/hookflow/store"
)

// harness runs hookflow command lines in-process, as a user types them, against an API of
// the test's own; every CLI test goes through it.
type harness struct {
	t *testing.T
	// api is the --api every command line gets; empty for none.
	api string
	// env is the environment the commands read (HOOKFLOW_*); nothing else of the
	// process's environment reaches them.
	env map[string]string
}

// newHarness serves the HTTP API on a SQLite store of the test's own, for the commands to
// run against; server holds the API's other settings.
func newHarness(t *testing.T, server *api.Server) (*harness, *store.SQLite) {
	t.Helper()
	st, err := store.OpenSQLite(filepath.Join(t.TempDir(), "hookflow.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	server.Store = st
	srv := httptest.NewServer(server.Handler())
	t.Cleanup(srv.Close)
	return &harness{t: t, api: srv.URL, env: map[string]string{}}, st
}

// run runs `hookflow args...` and returns what it wrote to standard output and standard
// error, and its error.
func (h *harness) run(args ...string) (stdout, stderr string, err error) {
	return h.runWithInput("", args...)
}

// runWithInput is run with stdin as standard input.
func (h *harness) runWithInput(stdin string, args ...string) (stdout, stderr string, err error) {
	h.t.Helper()
	var out, errOut bytes.Buffer
	root := newRootCommand(func(k string) string { return h.env[k] })
	if h.api != "" {
		args = append(args, "--api", h.api)
	}
	root.SetArgs(args)
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&errOut)
	err = root.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}
