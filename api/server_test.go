package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hookflow/hookflow/payloads"
	"github.com/hookflow/hookflow/starter"
	"github.com/hookflow/hookflow/store"
)

type fakeStarter struct {
	mu     sync.Mutex
	events []payloads.Event
	err    error
}

func (f *fakeStarter) Start(_ context.Context, ev payloads.Event) (starter.Handle, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return starter.Handle{}, f.err
	}
	f.events = append(f.events, ev)
	return starter.Handle{EventID: ev.ID, WorkflowID: "event/" + ev.ID, RunID: "run-1"}, nil
}

func newAPI(t *testing.T) (*httptest.Server, *fakeStarter, *store.SQLite) {
	t.Helper()
	st, err := store.OpenSQLite(filepath.Join(t.TempDir(), "hookflow.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	fs := &fakeStarter{}
	srv := httptest.NewServer((&Server{Store: st, Starter: fs}).Handler())
	t.Cleanup(srv.Close)
	return srv, fs, st
}

func do(t *testing.T, method, url, body string) (int, ErrorDetail, []byte) {
	t.Helper()
	return doWith(t, method, url, "", body)
}

// doWith is do with a content type (none when empty).
func doWith(t *testing.T, method, url, contentType, body string) (int, ErrorDetail, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("content-type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("content-type"); resp.StatusCode != http.StatusNoContent && ct != "application/json" {
		t.Errorf("%s %s: content-type %q", method, url, ct)
	}
	var eb ErrorBody
	if resp.StatusCode >= 400 {
		if err := json.Unmarshal(b, &eb); err != nil {
			t.Errorf("error body %s is not JSON: %v", b, err)
		}
	}
	return resp.StatusCode, eb.Error, b
}
