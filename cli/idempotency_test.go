package cli

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/api"
	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/store"
	"github.com/hookflow/hookflow/workflows"
)

// lossyAPI serves the API and, while lose is set, loses the answer of every first POST with
// a new Idempotency-Key: the API does the work, and the connection is closed before the
// answer is sent, as a timeout or a dropped connection does to a client. It counts the
// POSTs done, those answered 2xx without Idempotent-Replayed.
type lossyAPI struct {
	next http.Handler

	mu    sync.Mutex
	lose  bool
	keys  map[string]int // POSTs seen under each key
	posts []string       // the Idempotency-Key of every POST seen, "" for none
	done  int
}

func (l *lossyAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		l.next.ServeHTTP(w, r)
		return
	}
	key := r.Header.Get(api.IdempotencyHeader)
	answer := httptest.NewRecorder()
	l.next.ServeHTTP(answer, r)
	l.mu.Lock()
	l.posts = append(l.posts, key)
	l.keys[key]++
	first := l.keys[key] == 1
	if answer.Code/100 == 2 && answer.Header().Get("Idempotent-Replayed") == "" {
		l.done++
	}
	lose := l.lose && first && key != ""
	l.mu.Unlock()
	if lose {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	for k, v := range answer.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(answer.Code)
	_, _ = w.Write(answer.Body.Bytes())
}

// newLossyHarness is newHarness with the API behind a lossyAPI.
func newLossyHarness(t *testing.T, server *api.Server) (*harness, *store.SQLite, *lossyAPI) {
	t.Helper()
	st, err := store.OpenSQLite(filepath.Join(t.TempDir(), "hookflow.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	server.Store = st
	lossy := &lossyAPI{next: server.Handler(), keys: map[string]int{}}
	srv := httptest.NewServer(lossy)
	t.Cleanup(srv.Close)
	return &harness{t: t, api: srv.URL, env: map[string]string{}}, st, lossy
}

// TestCreatingCommandsLostAnswer: every command whose POST creates or sends sends an
// Idempotency-Key and, when the answer to it is lost after the API did the work, sends the
// same request again under the same key, so the work is done once and the command prints
// the first answer. The command tree is walked: a command with --idempotency-key and no
// case here fails the test.
func TestCreatingCommandsLostAnswer(t *testing.T) {
	h, st, lossy := newLossyHarness(t, &api.Server{Starter: &cliMessages{}, Log: cliLog{}})
	now := time.Now().UTC()
	if err := st.CreateDistribution(t.Context(), distributions.Distribution{ID: "distr_manual", Name: "Manual", Status: "live", Version: 1,
		Trigger: distributions.Trigger{Events: []string{workflows.ManualEventType}},
		Action:  distributions.Action{Type: "notify_promotion", Campaign: json.RawMessage(`{"id":"c"}`), PromotionTier: json.RawMessage(`{"id":"p"}`)},
		Webhook: distributions.Webhook{URL: "https://example.com/manual", EventName: "M", Version: "v2024-01-01"}, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		path string
		args []string
		// refused: a repeat cannot have the first answer (a new API key's secret is
		// shown once), so the command fails with this in its error, having done it once.
		refused string
	}{
		{path: "send", args: []string{"--type", "customer.order.paid", "--data", `{"customer":{"id":"c"},"order":{"id":"o","amount":1}}`}},
		{path: "trigger", args: []string{"customer.order.paid"}},
		{path: "distributions create", args: []string{"--name", "Lost", "--events", "customer.order.paid", "--url", "https://example.com/lost", "--event-name", "Order-paid"}},
		{path: "distributions recover", args: []string{"distr_manual", "--since", "24h"}},
		{path: "deliveries retry", args: []string{"whs_out"}},
		{path: "webhooks create", args: []string{"--url", "https://example.com/wh", "--events", "voucher.created"}},
		{path: "keys create", args: []string{"--name", "lost", "--scope", "manage"}, refused: "revoke"},
		{path: "messages send", args: []string{"distr_manual", "--customer", `{"id":"cust_1"}`}},
		{path: "programs loyalty", args: []string{"camp_loyal", "--url", "https://example.com/loyal"}},
		{path: "programs referral", args: []string{"camp_ref", "--url", "https://example.com/ref"}},
	}
	covered := map[string]bool{}
	for _, c := range cases {
		covered[c.path] = true
	}
	walk(newRootCommand(func(string) string { return "" }), func(cmd *cobra.Command) {
		path := strings.TrimPrefix(cmd.CommandPath(), "hookflow ")
		if cmd.Flags().Lookup("idempotency-key") != nil && !covered[path] {
			t.Errorf("%s takes --idempotency-key and has no case in TestCreatingCommandsLostAnswer", path)
		}
	})

	lossy.lose = true
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			lossy.mu.Lock()
			lossy.posts, lossy.done = nil, 0
			lossy.mu.Unlock()
			stdout, _, err := h.run(append(strings.Fields(c.path), append(c.args, "-o", "json")...)...)
			lossy.mu.Lock()
			posts, done := lossy.posts, lossy.done
			lossy.mu.Unlock()
			if len(posts) != 2 || posts[0] == "" || posts[1] != posts[0] {
				t.Errorf("POSTs under the keys %q; want two under one key (the first answer lost, the second the same request)", posts)
			}
			if done != 1 {
				t.Errorf("the work was done %d times; want once", done)
			}
			if c.refused != "" {
				if err == nil || !strings.Contains(err.Error(), c.refused) {
					t.Errorf("err %v; want a refusal saying %q", err, c.refused)
				}
				return
			}
			if err != nil {
				t.Fatalf("%v", err)
			}
			var printed any
			if err := json.Unmarshal([]byte(stdout), &printed); err != nil {
				t.Errorf("output %q: %v", stdout, err)
			}
		})
	}
	if ds, _ := st.ListDistributions(t.Context()); countNamed(ds, "Lost") != 1 {
		t.Errorf("%d distributions named Lost; want 1", countNamed(ds, "Lost"))
	}
	if keys, _ := st.ListAPIKeys(t.Context()); len(keys) != 1 {
		t.Errorf("%d API keys; want 1", len(keys))
	}
}

func countNamed(ds []distributions.Distribution, name string) int {
	n := 0
	for _, d := range ds {
		if d.Name == name {
			n++
		}
	}
	return n
}

// walk calls f on cmd and every command under it.
func walk(cmd *cobra.Command, f func(*cobra.Command)) {
	f(cmd)
	for _, c := range cmd.Commands() {
		walk(c, f)
	}
}

// TestIdempotencyKeyFlag: a command run twice with the same --idempotency-key prints the
// first run's answer and does the work once; another input under the key is refused
// naming the header; a malformed key is refused naming the flag, before anything is sent.
func TestIdempotencyKeyFlag(t *testing.T) {
	h, st, lossy := newLossyHarness(t, &api.Server{Starter: &cliMessages{}})
	create := func(name, key string) (string, error) {
		out, _, err := h.run("distributions", "create", "--name", name, "--events", "customer.order.paid",
			"--url", "https://example.com/k", "--event-name", "Order-paid", "--idempotency-key", key, "-o", "json")
		return out, err
	}
	first, err := create("Keyed", "deploy-42")
	if err != nil {
		t.Fatal(err)
	}
	again, err := create("Keyed", "deploy-42")
	if err != nil || again != first {
		t.Errorf("the same key again: %q, %v; want the first output %q", again, err, first)
	}
	if ds, _ := st.ListDistributions(t.Context()); len(ds) != 1 {
		t.Errorf("%d distributions; want 1", len(ds))
	}
	if _, err := create("Other", "deploy-42"); err == nil || !strings.Contains(err.Error(), api.IdempotencyHeader) {
		t.Errorf("another body under the key: %v; want a refusal naming %s", err, api.IdempotencyHeader)
	}

	lossy.mu.Lock()
	sent := len(lossy.posts)
	lossy.mu.Unlock()
	for _, bad := range []string{"with space", strings.Repeat("k", api.MaxIdempotencyKeyLength+1), "clé", "line\nbreak", "tab\t"} {
		if _, err := create("Bad", bad); err == nil || !strings.HasPrefix(err.Error(), "--idempotency-key: ") {
			t.Errorf("--idempotency-key %q: %v; want an error naming the flag", bad, err)
		}
	}
	lossy.mu.Lock()
	defer lossy.mu.Unlock()
	if len(lossy.posts) != sent {
		t.Errorf("malformed keys sent %d requests; want none", len(lossy.posts)-sent)
	}
}

// TestCreateSendsAgain: which answers make a creating POST go again under its key (a lost
// connection, 502/503/504, 409 with Retry-After: the request in flight) and which do not
// (any other refusal, a connection refused: nothing was sent), and that it gives up after
// createAttempts, naming the key to send it again with.
func TestCreateSendsAgain(t *testing.T) {
	cases := []struct {
		name       string
		first      func(w http.ResponseWriter)
		wantPosts  int
		wantErr    string
		retryAfter bool
	}{
		{name: "503", first: func(w http.ResponseWriter) { w.WriteHeader(503) }, wantPosts: 2},
		{name: "502 from a proxy", first: func(w http.ResponseWriter) { w.WriteHeader(502) }, wantPosts: 2},
		{name: "409 in flight", first: func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(409)
			_, _ = w.Write([]byte(`{"error":{"type":"conflict","message":"in progress","field":"Idempotency-Key"}}`))
		}, wantPosts: 2},
		{name: "409 stale version", first: func(w http.ResponseWriter) {
			w.WriteHeader(409)
			_, _ = w.Write([]byte(`{"error":{"type":"conflict","message":"changed"}}`))
		}, wantPosts: 1, wantErr: "409 conflict: changed"},
		{name: "422", first: func(w http.ResponseWriter) {
			w.WriteHeader(422)
			_, _ = w.Write([]byte(`{"error":{"type":"validation_error","message":"name: required","field":"name"}}`))
		}, wantPosts: 1, wantErr: "422 validation_error"},
		{name: "lost every time", first: nil, wantPosts: createAttempts, wantErr: "--idempotency-key hookflow-cli-"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var mu sync.Mutex
			var keys []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				keys = append(keys, r.Header.Get(api.IdempotencyHeader))
				n := len(keys)
				mu.Unlock()
				switch {
				case c.first == nil:
					conn, _, _ := w.(http.Hijacker).Hijack()
					conn.Close()
				case n == 1:
					c.first(w)
				default:
					w.WriteHeader(201)
					_, _ = w.Write([]byte(`{"id":"made"}`))
				}
			}))
			defer srv.Close()
			client := &apiClient{base: srv.URL, http: srv.Client(), retryWait: time.Millisecond}
			var out struct{ ID string }
			err := client.create("/v1/things", []byte(`{}`), &out)
			mu.Lock()
			defer mu.Unlock()
			if len(keys) != c.wantPosts {
				t.Errorf("%d POSTs; want %d", len(keys), c.wantPosts)
			}
			for _, k := range keys {
				if k == "" || k != keys[0] {
					t.Errorf("keys %q; want one key on every POST", keys)
					break
				}
			}
			if c.wantErr == "" && (err != nil || out.ID != "made") {
				t.Errorf("err %v, answer %+v; want the second answer", err, out)
			}
			if c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
				t.Errorf("err %v; want one saying %q", err, c.wantErr)
			}
		})
	}

	t.Run("connection refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		client := &apiClient{base: "http://" + addr, http: &http.Client{}, retryWait: time.Hour}
		done := make(chan error, 1)
		go func() { done <- client.create("/v1/things", []byte(`{}`), nil) }()
		select {
		case err := <-done:
			var ue *unreachableError
			if !errors.As(err, &ue) || strings.Contains(err.Error(), "--idempotency-key") {
				t.Errorf("err %v; want cannot reach, at once, without a key to send again", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a refused connection was sent again")
		}
	})
}
