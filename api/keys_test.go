package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookflow/hookflow/store"
)

// keyedAPI is an API with RequireKeys on its own store.
type keyedAPI struct {
	handler http.Handler
	store   *store.SQLite
	starter *fakeStarter
	log     *bytes.Buffer
}

func newKeyedAPI(t *testing.T) *keyedAPI {
	t.Helper()
	st, err := store.OpenSQLite(filepath.Join(t.TempDir(), "hookflow.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	a := &keyedAPI{store: st, starter: &fakeStarter{}, log: &bytes.Buffer{}}
	logger := slog.New(slog.NewTextHandler(a.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a.handler = (&Server{Store: st, Starter: a.starter, Logger: logger, RequireKeys: true}).Handler()
	return a
}

// keyRequest is one request to a keyedAPI; from is the client's address, host the Host
// header (both remote, not loopback, when empty).
type keyRequest struct {
	method, path, body string
	auth               string
	from, host         string
	header             http.Header
}

func (a *keyedAPI) do(t *testing.T, kr keyRequest) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(kr.method, kr.path, strings.NewReader(kr.body))
	r.RemoteAddr = "192.0.2.10:40000"
	if kr.from != "" {
		r.RemoteAddr = kr.from
	}
	if kr.host != "" {
		r.Host = kr.host
	}
	if kr.body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if kr.auth != "" {
		r.Header.Set("Authorization", kr.auth)
	}
	for k, vs := range kr.header {
		r.Header[k] = vs
	}
	w := httptest.NewRecorder()
	a.handler.ServeHTTP(w, r)
	return w
}

// mustKey makes a key in the store directly.
func (a *keyedAPI) mustKey(t *testing.T, name string, scopes ...string) (store.APIKey, string) {
	t.Helper()
	k, key, err := a.store.CreateAPIKey(t.Context(), name, scopes, keysBaseTime)
	if err != nil {
		t.Fatal(err)
	}
	return k, key
}

var keysBaseTime = time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)

const keysEvent = `{"type":"customer.order.paid","data":{"order":{"id":"o"}}}`

func TestKeyAuthentication(t *testing.T) {
	a := newKeyedAPI(t)
	_, manage := a.mustKey(t, "ops", store.ScopeManage)
	_, events := a.mustKey(t, "shop", store.ScopeEvents)
	_, both := a.mustKey(t, "all", store.ScopeEvents, store.ScopeManage)
	_, codec := a.mustKey(t, "web ui proxy", store.ScopeCodec)
	revokedKey, revoked := a.mustKey(t, "old", store.ScopeEvents, store.ScopeManage)
	if err := a.store.RevokeAPIKey(t.Context(), revokedKey.ID); err != nil {
		t.Fatal(err)
	}
	unknown := store.APIKeyPrefix + strings.Repeat("A", 43)
	bearer := func(key string) string { return "Bearer " + key }

	tests := []struct {
		name string
		keyRequest
		status int
	}{
		{"no key, read", keyRequest{method: "GET", path: "/v1/distributions"}, 401},
		{"no key, event", keyRequest{method: "POST", path: "/v1/events", body: keysEvent}, 401},
		{"no key, unknown route", keyRequest{method: "GET", path: "/v1/nothing"}, 401},
		{"no key, keys", keyRequest{method: "GET", path: "/v1/keys"}, 401},
		{"empty bearer", keyRequest{method: "GET", path: "/v1/distributions", auth: "Bearer "}, 401},
		{"basic auth", keyRequest{method: "GET", path: "/v1/distributions", auth: "Basic b3BzOnNlY3JldA=="}, 401},
		{"key without scheme", keyRequest{method: "GET", path: "/v1/distributions", auth: manage}, 401},
		{"unknown key", keyRequest{method: "GET", path: "/v1/distributions", auth: bearer(unknown)}, 401},
		{"not a key", keyRequest{method: "GET", path: "/v1/distributions", auth: bearer("secret")}, 401},
		{"key and more", keyRequest{method: "GET", path: "/v1/distributions", auth: bearer(manage + "x")}, 401},
		{"key cut short", keyRequest{method: "GET", path: "/v1/distributions", auth: bearer(manage[:len(manage)-1])}, 401},
		{"revoked key, read", keyRequest{method: "GET", path: "/v1/distributions", auth: bearer(revoked)}, 401},
		{"revoked key, event", keyRequest{method: "POST", path: "/v1/events", body: keysEvent, auth: bearer(revoked)}, 401},
		{"events key, event", keyRequest{method: "POST", path: "/v1/events", body: keysEvent, auth: bearer(events)}, 202},
		{"events key, read", keyRequest{method: "GET", path: "/v1/distributions", auth: bearer(events)}, 403},
		{"events key, write", keyRequest{method: "POST", path: "/v1/distributions", body: `{}`, auth: bearer(events)}, 403},
		{"events key, list keys", keyRequest{method: "GET", path: "/v1/keys", auth: bearer(events)}, 403},
		{"events key, create key", keyRequest{method: "POST", path: "/v1/keys", body: `{"name":"x","scopes":["manage"]}`, auth: bearer(events)}, 403},
		{"events key, revoke key", keyRequest{method: "DELETE", path: "/v1/keys/" + revokedKey.ID, auth: bearer(events)}, 403},
		{"events key, unknown route", keyRequest{method: "GET", path: "/v1/nothing", auth: bearer(events)}, 403},
		{"manage key, event", keyRequest{method: "POST", path: "/v1/events", body: keysEvent, auth: bearer(manage)}, 403},
		{"manage key, read", keyRequest{method: "GET", path: "/v1/distributions", auth: bearer(manage)}, 200},
		{"manage key, settings", keyRequest{method: "GET", path: "/v1/settings/notifications", auth: bearer(manage)}, 200},
		{"manage key, list keys", keyRequest{method: "GET", path: "/v1/keys", auth: bearer(manage)}, 200},
		{"manage key, unknown route", keyRequest{method: "GET", path: "/v1/nothing", auth: bearer(manage)}, 404},
		{"manage key, lowercase scheme", keyRequest{method: "GET", path: "/v1/webhooks", auth: "bearer " + manage}, 200},
		{"both scopes, event", keyRequest{method: "POST", path: "/v1/events", body: keysEvent, auth: bearer(both)}, 202},
		{"both scopes, read", keyRequest{method: "GET", path: "/v1/webhooks", auth: bearer(both)}, 200},
		{"codec key, event", keyRequest{method: "POST", path: "/v1/events", body: keysEvent, auth: bearer(codec)}, 403},
		{"codec key, read", keyRequest{method: "GET", path: "/v1/distributions", auth: bearer(codec)}, 403},
		{"codec key, delivery log", keyRequest{method: "GET", path: "/v1/deliveries", auth: bearer(codec)}, 403},
		{"codec key, create key", keyRequest{method: "POST", path: "/v1/keys", body: `{"name":"x","scopes":["manage"]}`, auth: bearer(codec)}, 403},
		{"health without a key", keyRequest{method: "GET", path: "/healthz"}, 200},
		{"health with a bad key", keyRequest{method: "GET", path: "/healthz", auth: bearer(unknown)}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(a.starter.events)
			w := a.do(t, tt.keyRequest)
			if w.Code != tt.status {
				t.Fatalf("status %d (%s), want %d", w.Code, w.Body, tt.status)
			}
			challenge := w.Header().Get("WWW-Authenticate")
			switch tt.status {
			case 401, 403:
				if !strings.HasPrefix(challenge, "Bearer ") {
					t.Errorf("WWW-Authenticate %q, want a Bearer challenge", challenge)
				}
				var eb ErrorBody
				if err := json.Unmarshal(w.Body.Bytes(), &eb); err != nil || eb.Error.Message == "" {
					t.Errorf("error body %s: %v", w.Body, err)
				}
				if want := map[int]string{401: "unauthorized", 403: "forbidden"}[tt.status]; eb.Error.Type != want {
					t.Errorf("error type %q, want %q", eb.Error.Type, want)
				}
				if started := len(a.starter.events) - before; started != 0 {
					t.Errorf("a refused request started %d workflows", started)
				}
			default:
				if challenge != "" {
					t.Errorf("WWW-Authenticate %q on a %d", challenge, w.Code)
				}
			}
		})
	}
	for _, key := range []string{manage, events, both, codec, revoked, unknown} {
		if strings.Contains(a.log.String(), key) || strings.Contains(echoed(a, t, key), key) {
			t.Errorf("a key was logged or echoed:\n%s", a.log)
		}
	}
}

// echoed returns the body of the answer to key on an unknown route, which must not show
// the key.
func echoed(a *keyedAPI, t *testing.T, key string) string {
	return a.do(t, keyRequest{method: "GET", path: "/v1/nothing", auth: "Bearer " + key}).Body.String()
}

func TestKeyLastUsed(t *testing.T) {
	a := newKeyedAPI(t)
	k, key := a.mustKey(t, "ops", store.ScopeManage)
	if k.LastUsedAt != nil {
		t.Fatal("a new key was used")
	}
	if w := a.do(t, keyRequest{method: "GET", path: "/v1/keys", auth: "Bearer " + key}); w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	got, err := a.store.APIKeyByHash(t.Context(), store.HashAPIKey(key))
	if err != nil || got.LastUsedAt == nil {
		t.Errorf("last used %v %v, want set", got.LastUsedAt, err)
	}
}

// TestFirstKey covers the bootstrap rule: while no key exists, the first key may be made
// without one, from this machine only, and only once.
func TestFirstKey(t *testing.T) {
	const first = `{"name":"ops","scopes":["manage"]}`
	local := func(kr keyRequest) keyRequest {
		if kr.from == "" {
			kr.from = "127.0.0.1:50000"
		}
		if kr.host == "" {
			kr.host = "127.0.0.1:8080"
		}
		kr.method, kr.path = "POST", "/v1/keys"
		if kr.body == "" {
			kr.body = first
		}
		return kr
	}
	refused := []struct {
		name string
		keyRequest
		status int
	}{
		{"from another machine", keyRequest{method: "POST", path: "/v1/keys", body: first, host: "127.0.0.1:8080"}, 401},
		{"from another machine to localhost", local(keyRequest{from: "10.0.0.7:50000", host: "localhost:8080"}), 401},
		{"to a name that is not loopback (DNS rebinding)", local(keyRequest{host: "evil.example:8080"}), 401},
		{"from a web page", local(keyRequest{header: http.Header{"Origin": {"https://evil.example"}}}), 403}, // refused for every route, before the key check
		{"from a browser fetch", local(keyRequest{header: http.Header{"Sec-Fetch-Site": {"cross-site"}}}), 403},
		{"not JSON (a form or text/plain post)", local(keyRequest{header: http.Header{"Content-Type": {"text/plain"}}}), 401},
		{"through a proxy", local(keyRequest{header: http.Header{"X-Forwarded-For": {"203.0.113.9"}}}), 401},
		{"through a proxy (Forwarded)", local(keyRequest{header: http.Header{"Forwarded": {"for=203.0.113.9"}}}), 401},
		{"by a hookflow delivery", local(keyRequest{header: http.Header{"Webhook-Id": {"whs_1"}}}), 401},
		{"other routes stay closed", keyRequest{method: "GET", path: "/v1/keys", from: "127.0.0.1:50000", host: "127.0.0.1:8080"}, 401},
		{"without the manage scope", local(keyRequest{body: `{"name":"shop","scopes":["events"]}`}), 422},
		{"without a name", local(keyRequest{body: `{"scopes":["manage"]}`}), 422},
	}
	a := newKeyedAPI(t)
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			w := a.do(t, tt.keyRequest)
			if w.Code != tt.status {
				t.Fatalf("status %d (%s), want %d", w.Code, w.Body, tt.status)
			}
			if keys, _ := a.store.ListAPIKeys(t.Context()); len(keys) != 0 {
				t.Fatalf("a key was made: %+v", keys)
			}
		})
	}

	for _, from := range []keyRequest{{from: "[::1]:50000", host: "[::1]:8080"}, {from: "127.0.0.1:50000", host: "localhost:8080"}} {
		b := newKeyedAPI(t)
		w := b.do(t, local(from))
		if w.Code != 201 {
			t.Fatalf("first key from %s to %s: %d %s", from.from, from.host, w.Code, w.Body)
		}
	}

	w := a.do(t, local(keyRequest{}))
	if w.Code != 201 {
		t.Fatalf("first key: %d %s", w.Code, w.Body)
	}
	var created CreatedKey
	if err := json.Unmarshal(w.Body.Bytes(), &created); err != nil || !strings.HasPrefix(created.Key, store.APIKeyPrefix) || created.Prefix == "" {
		t.Fatalf("created %s: %v", w.Body, err)
	}
	if w := a.do(t, local(keyRequest{body: `{"name":"second","scopes":["manage"]}`})); w.Code != 401 {
		t.Errorf("second key without a key: %d %s, want 401", w.Code, w.Body)
	}
	if w := a.do(t, local(keyRequest{body: `{"name":"second","scopes":["manage"]}`, auth: "Bearer " + created.Key})); w.Code != 201 {
		t.Errorf("second key with the first: %d %s, want 201", w.Code, w.Body)
	}
	if keys, _ := a.store.ListAPIKeys(t.Context()); len(keys) != 2 {
		t.Errorf("%d keys, want 2", len(keys))
	}
}

// TestFirstKeyOverLoopback makes the first key through a real loopback connection, as
// `hookflow keys create` on the API's machine does.
func TestFirstKeyOverLoopback(t *testing.T) {
	a := newKeyedAPI(t)
	srv := httptest.NewServer(a.handler)
	defer srv.Close()
	post := func(auth string) (*http.Response, []byte) {
		req, _ := http.NewRequest("POST", srv.URL+"/v1/keys", strings.NewReader(`{"name":"ops","scopes":["manage","events"]}`))
		req.Header.Set("Content-Type", "application/json")
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	resp, body := post("")
	if resp.StatusCode != 201 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	resp, body = post("")
	if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("second without a key: %d %q %s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
	}
}

// TestKeysRoutes creates, lists and revokes keys through the API: the key is shown once,
// lists show its prefix only, a revoked key stops working at once.
func TestKeysRoutes(t *testing.T) {
	a := newKeyedAPI(t)
	managerKey, manager := a.mustKey(t, "ops", store.ScopeManage)
	auth := "Bearer " + manager

	for _, bad := range []struct {
		body   string
		status int
		field  string
	}{
		{`{"name":"x","scopes":["admin"]}`, 422, "scopes[0]"},
		{`{"name":"x","scopes":["codec","Codec"]}`, 422, "scopes[1]"},
		{`{"name":"x","scopes":[]}`, 422, "scopes"},
		{`{"name":"  ","scopes":["events"]}`, 422, "name"},
		{`{"name":"` + strings.Repeat("n", MaxKeyNameLength+1) + `","scopes":["events"]}`, 422, "name"},
		{`{"name":"a\u0000b","scopes":["events"]}`, 422, "name"},
		{`{"name":"x","scopes":["events"],"key":"hfk_mine"}`, 400, "key"},
		{`{"name":"x","scopes":"events"}`, 400, ""},
		{`{"name":"x","scopes":["events"]} {}`, 400, ""},
		{`{"name":"x","scopes":["events"],"pad":"` + strings.Repeat("a", 5000) + `"}`, 413, ""},
	} {
		w := a.do(t, keyRequest{method: "POST", path: "/v1/keys", body: bad.body, auth: auth})
		var eb ErrorBody
		_ = json.Unmarshal(w.Body.Bytes(), &eb)
		if w.Code != bad.status || eb.Error.Field != bad.field {
			t.Errorf("%.60s: %d field %q (%s), want %d field %q", bad.body, w.Code, eb.Error.Field, w.Body, bad.status, bad.field)
		}
	}
	if keys, _ := a.store.ListAPIKeys(t.Context()); len(keys) != 1 {
		t.Fatalf("bad requests made keys: %+v", keys)
	}

	w := a.do(t, keyRequest{method: "POST", path: "/v1/keys", body: `{"name":" shop backend ","scopes":["events","events"]}`, auth: auth})
	if w.Code != 201 {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	var created map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &created); err != nil {
		t.Fatal(err)
	}
	key, _ := created["key"].(string)
	id, _ := created["id"].(string)
	if !strings.HasPrefix(key, store.APIKeyPrefix) || !strings.HasPrefix(id, "key_") || created["name"] != "shop backend" ||
		created["prefix"] != key[:len(store.APIKeyPrefix)+6] || created["hash"] != nil {
		t.Errorf("created %s", w.Body)
	}
	if scopes, _ := json.Marshal(created["scopes"]); string(scopes) != `["events"]` {
		t.Errorf("scopes %s", scopes)
	}

	w = a.do(t, keyRequest{method: "GET", path: "/v1/keys", auth: auth})
	if w.Code != 200 {
		t.Fatalf("list: %d %s", w.Code, w.Body)
	}
	listed := w.Body.String()
	for _, secret := range []string{key, manager, key[len(store.APIKeyPrefix)+6:], `"hash"`, `"key"`} {
		if strings.Contains(listed, secret) {
			t.Errorf("the list shows %q: %s", secret, listed)
		}
	}
	var l List[map[string]any]
	if err := json.Unmarshal(w.Body.Bytes(), &l); err != nil || l.Total != 2 || l.Data[1]["id"] != id || l.Data[1]["prefix"] != created["prefix"] || l.Data[0]["id"] != managerKey.ID {
		t.Errorf("list %s: %v", listed, err)
	}

	send := func() int {
		return a.do(t, keyRequest{method: "POST", path: "/v1/events", body: keysEvent, auth: "Bearer " + key}).Code
	}
	if got := send(); got != 202 {
		t.Fatalf("event with the new key: %d", got)
	}
	if w := a.do(t, keyRequest{method: "DELETE", path: "/v1/keys/" + id, auth: auth}); w.Code != 204 {
		t.Fatalf("revoke: %d %s", w.Code, w.Body)
	}
	if got := send(); got != 401 {
		t.Errorf("event with the revoked key: %d, want 401", got)
	}
	if w := a.do(t, keyRequest{method: "DELETE", path: "/v1/keys/" + id, auth: auth}); w.Code != 404 {
		t.Errorf("revoke again: %d %s, want 404", w.Code, w.Body)
	}
	if w := a.do(t, keyRequest{method: "DELETE", path: "/v1/keys/" + managerKey.ID, auth: auth}); w.Code != 409 || !strings.Contains(w.Body.String(), `"type":"conflict"`) || !strings.Contains(w.Body.String(), "create another (hookflow keys create --scope manage)") {
		t.Errorf("revoke the last manage key: %d %s, want 409 conflict saying what to do", w.Code, w.Body)
	}
	if w := a.do(t, keyRequest{method: "GET", path: "/v1/keys", auth: auth}); w.Code != 200 {
		t.Errorf("the last manage key stopped working: %d", w.Code)
	}
	if strings.Contains(a.log.String(), key) || strings.Contains(a.log.String(), manager) {
		t.Errorf("a key was logged:\n%s", a.log)
	}
}

// TestKeysOpenAPI: without RequireKeys every route is open, the key routes too, so keys
// can be made before they are required.
func TestKeysOpenAPI(t *testing.T) {
	srv, fs, st := newAPI(t)
	status, _, body := do(t, "POST", srv.URL+"/v1/keys", `{"name":"ops","scopes":["manage"]}`)
	if status != 201 || !strings.Contains(string(body), `"key":"hfk_`) {
		t.Fatalf("%d %s", status, body)
	}
	if status, _, body := do(t, "POST", srv.URL+"/v1/events", keysEvent); status != 202 || len(fs.events) != 1 {
		t.Errorf("event without a key on an open API: %d %s", status, body)
	}
	if keys, _ := st.ListAPIKeys(t.Context()); len(keys) != 1 {
		t.Errorf("%d keys", len(keys))
	}
}

func TestIsLoopbackListen(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:7280": true, "localhost:7280": true, "[::1]:7280": true, "127.0.0.2:80": true,
		":7280": false, "0.0.0.0:7280": false, "[::]:7280": false, "192.168.1.10:7280": false,
		"example.com:7280": false, "127.0.0.1": false, "": false, "localhost.evil.example:80": false,
	} {
		if got := IsLoopbackListen(addr); got != want {
			t.Errorf("IsLoopbackListen(%q) = %v, want %v", addr, got, want)
		}
	}
}

// outageStore is a store whose API key lookups fail while down, as when PostgreSQL restarts.
type outageStore struct {
	store.Store
	down atomic.Bool
}

func (o *outageStore) APIKeyByHash(ctx context.Context, hash []byte) (store.APIKey, error) {
	if o.down.Load() {
		return store.APIKey{}, errors.New("connection refused")
	}
	return o.Store.APIKeyByHash(ctx, hash)
}

// TestKeysDuringStoreOutage: while the store cannot answer, a key checked within the grace
// period still sends events; a key never checked, or checked too long ago, gets 503 with
// Retry-After (not 401: it may be valid); a revoked key never comes back.
func TestKeysDuringStoreOutage(t *testing.T) {
	a := newKeyedAPI(t)
	st := &outageStore{Store: a.store}
	now := keysBaseTime
	srv := &Server{Store: st, Starter: a.starter, RequireKeys: true, Now: func() time.Time { return now }}
	h := srv.Handler()
	send := func(key string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/v1/events", strings.NewReader(`{"type":"customer.order.paid","data":{"order":{"id":"o"}}}`))
		r.RemoteAddr = "192.0.2.10:40000"
		r.Header.Set("Authorization", "Bearer "+key)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	_, used := a.mustKey(t, "used", store.ScopeEvents)
	_, unused := a.mustKey(t, "unused", store.ScopeEvents)
	revokedKey, revoked := a.mustKey(t, "revoked", store.ScopeEvents)
	a.mustKey(t, "ops", store.ScopeManage)
	for _, k := range []string{used, revoked} {
		if w := send(k); w.Code != 202 {
			t.Fatalf("store up: %d %s", w.Code, w.Body)
		}
	}
	if err := a.store.RevokeAPIKey(t.Context(), revokedKey.ID); err != nil {
		t.Fatal(err)
	}
	if w := send(revoked); w.Code != 401 {
		t.Fatalf("revoked key, store up: %d %s", w.Code, w.Body)
	}

	st.down.Store(true)
	now = now.Add(KeyOutageGrace - time.Second)
	if w := send(used); w.Code != 202 {
		t.Errorf("key checked before the outage: %d %s", w.Code, w.Body)
	}
	for name, k := range map[string]string{"never checked": unused, "revoked": revoked} {
		w := send(k)
		if w.Code != 503 || w.Header().Get("Retry-After") != "5" || !strings.Contains(w.Body.String(), "the API keys cannot be checked now") {
			t.Errorf("%s key during the outage: %d %v %s", name, w.Code, w.Header(), w.Body)
		}
	}
	now = now.Add(2 * time.Second)
	if w := send(used); w.Code != 503 {
		t.Errorf("key checked longer than the grace period ago: %d %s", w.Code, w.Body)
	}
	if n := len(a.starter.events); n != 3 {
		t.Errorf("%d events started, want 3", n)
	}
}
