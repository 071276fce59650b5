package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hookflow/hookflow/internal/pgtest"
	"github.com/hookflow/hookflow/store"
)

// answer is one HTTP answer as the idempotency tests compare them.
type answer struct {
	status     int
	body       string
	replayed   bool
	retryAfter string
}

// post sends a POST with an Idempotency-Key (none when key is empty).
func post(t *testing.T, url, key, body string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("content-type", "application/json")
	if key != "" {
		req.Header.Set(IdempotencyHeader, key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return answer{res.StatusCode, string(b), res.Header.Get("Idempotent-Replayed") == "true", res.Header.Get("Retry-After")}
}

func errorOf(t *testing.T, a answer) ErrorDetail {
	t.Helper()
	var eb ErrorBody
	if err := json.Unmarshal([]byte(a.body), &eb); err != nil {
		t.Fatalf("error body %s: %v", a.body, err)
	}
	return eb.Error
}

// TestIdempotencyKey: with one key, the same request answers the same and does the work
// once, another request under the key is refused 422 naming the header, and a refused
// request keeps nothing, so its key serves the corrected request.
func TestIdempotencyKey(t *testing.T) {
	srv, fs, st := newAPI(t)
	ctx := t.Context()

	first := post(t, srv.URL+"/v1/distributions", "key-1", validDistribution)
	again := post(t, srv.URL+"/v1/distributions", "key-1", validDistribution)
	if first.status != 201 || again.status != 201 || again.body != first.body || first.replayed || !again.replayed {
		t.Fatalf("same key twice: %+v then %+v; want the same 201, the second replayed", first, again)
	}
	if ds, _ := st.ListDistributions(ctx); len(ds) != 1 {
		t.Errorf("%d distributions after one key twice; want 1", len(ds))
	}
	other := post(t, srv.URL+"/v1/distributions", "key-1", strings.Replace(validDistribution, "Paid orders", "Other", 1))
	if e := errorOf(t, other); other.status != 422 || e.Field != IdempotencyHeader || !strings.Contains(e.Message, IdempotencyHeader) {
		t.Errorf("another body under the key: %+v; want 422 naming %s", other, IdempotencyHeader)
	}
	// The same key on another route is another request too.
	if a := post(t, srv.URL+"/v1/webhooks", "key-1", validDistribution); a.status != 422 {
		t.Errorf("the key on another route: %+v; want 422", a)
	}
	// Without a key, or with another, the work is done again.
	if a := post(t, srv.URL+"/v1/distributions", "", validDistribution); a.status != 201 || a.body == first.body {
		t.Errorf("no key: %+v", a)
	}
	if a := post(t, srv.URL+"/v1/distributions", "key-2", validDistribution); a.status != 201 || a.body == first.body {
		t.Errorf("another key: %+v", a)
	}
	if ds, _ := st.ListDistributions(ctx); len(ds) != 3 {
		t.Errorf("%d distributions; want 3", len(ds))
	}

	// Refused, the key is kept for nothing: the corrected request runs under it.
	if a := post(t, srv.URL+"/v1/distributions", "key-3", `{"name":"n"}`); a.status != 422 {
		t.Fatalf("invalid distribution: %+v", a)
	}
	if a := post(t, srv.URL+"/v1/distributions", "key-3", validDistribution); a.status != 201 || a.replayed {
		t.Errorf("the corrected request under the key of a refused one: %+v; want 201", a)
	}

	// Events: an event without an id gets a new one each time; the key makes it one.
	ev := `{"type":"customer.order.paid","data":{"customer":{"id":"c1"},"order":{"id":"o1","amount":1}}}`
	e1 := post(t, srv.URL+"/v1/events", "evt-key", ev)
	e2 := post(t, srv.URL+"/v1/events", "evt-key", ev)
	if e1.status != 202 || e2.body != e1.body || len(fs.events) != 1 {
		t.Errorf("event twice under one key: %+v, %+v, %d started; want one", e1, e2, len(fs.events))
	}

	for _, bad := range []string{strings.Repeat("k", MaxIdempotencyKeyLength+1), "with space", "é"} {
		if a := post(t, srv.URL+"/v1/distributions", bad, validDistribution); a.status != 400 || errorOf(t, a).Field != IdempotencyHeader {
			t.Errorf("key %q: %+v; want 400 naming the header", bad, a)
		}
	}
}

// TestIdempotencyKeyNewAPIKey: the answer to POST /v1/keys holds the key, shown once and
// never stored: a repeat under its Idempotency-Key makes no second key and is told 409
// with the id of the first.
func TestIdempotencyKeyNewAPIKey(t *testing.T) {
	srv, _, st := newAPI(t)
	first := post(t, srv.URL+"/v1/keys", "mk-1", `{"name":"shop","scopes":["events"]}`)
	var made CreatedKey
	if err := json.Unmarshal([]byte(first.body), &made); first.status != 201 || err != nil || made.Key == "" {
		t.Fatalf("create: %+v", first)
	}
	again := post(t, srv.URL+"/v1/keys", "mk-1", `{"name":"shop","scopes":["events"]}`)
	if e := errorOf(t, again); again.status != 409 || e.Field != IdempotencyHeader || !strings.Contains(e.Message, made.ID) || strings.Contains(again.body, made.Key) {
		t.Errorf("repeat: %+v; want 409 naming %s without the key", again, made.ID)
	}
	if keys, _ := st.ListAPIKeys(t.Context()); len(keys) != 1 {
		t.Errorf("%d keys; want 1", len(keys))
	}
}

// TestIdempotencyKeyConcurrent: requests sent at once with one key do the work once, on
// both stores; each answer is the first's or 409 conflict, with Retry-After, while it is
// in flight.
func TestIdempotencyKeyConcurrent(t *testing.T) {
	for name, open := range idempotencyStores {
		t.Run(name, func(t *testing.T) {
			st := open(t)()
			t.Cleanup(func() { st.Close() })
			srv := httptest.NewServer((&Server{Store: st, Starter: &fakeStarter{}}).Handler())
			t.Cleanup(srv.Close)
			const n = 8
			answers := make([]answer, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() { answers[i] = post(t, srv.URL+"/v1/distributions", "together", validDistribution) })
			}
			wg.Wait()
			created := ""
			for _, a := range answers {
				switch a.status {
				case 201:
					if created != "" && a.body != created {
						t.Errorf("two different 201 answers: %s and %s", created, a.body)
					}
					created = a.body
				case 409:
					if e := errorOf(t, a); e.Type != "conflict" || e.Field != IdempotencyHeader || a.retryAfter != "1" {
						t.Errorf("409: %+v, Retry-After %q; want conflict naming %s with Retry-After 1", e, a.retryAfter, IdempotencyHeader)
					}
				default:
					t.Errorf("answer %+v; want 201 or 409", a)
				}
			}
			if ds, _ := st.ListDistributions(t.Context()); len(ds) != 1 || created == "" {
				t.Errorf("%d distributions from %d concurrent requests with one key; want 1", len(ds), n)
			}
		})
	}
}

// idempotencyStores opens a store of each backend; the function it returns opens the same
// store again (as an API restarted on it does).
var idempotencyStores = map[string]func(t *testing.T) func() store.Store{
	"sqlite": func(t *testing.T) func() store.Store {
		path := filepath.Join(t.TempDir(), "hookflow.db")
		return func() store.Store {
			st, err := store.OpenSQLite(path)
			if err != nil {
				t.Fatal(err)
			}
			return st
		}
	},
	"postgres": func(t *testing.T) func() store.Store {
		dsn := pgtest.NewDatabase(t, "hookflow_api_test")
		return func() store.Store {
			st, err := store.OpenPostgres(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			return st
		}
	},
}

// TestIdempotencyKeyRestart: the answers are kept in the store, so an API started again
// on it (SQLite and PostgreSQL) answers a repeat the same and does nothing twice.
func TestIdempotencyKeyRestart(t *testing.T) {
	for name, open := range idempotencyStores {
		t.Run(name, func(t *testing.T) {
			reopen := open(t)
			var first answer
			for run := range 2 {
				st := reopen()
				srv := httptest.NewServer((&Server{Store: st, Starter: &fakeStarter{}}).Handler())
				a := post(t, srv.URL+"/v1/distributions", "across-restart", validDistribution)
				ds, err := st.ListDistributions(t.Context())
				srv.Close()
				st.Close()
				if err != nil {
					t.Fatal(err)
				}
				if run == 0 {
					first = a
				}
				if a.status != 201 || a.body != first.body || len(ds) != 1 {
					t.Fatalf("run %d: %+v, %d distributions; want the first answer, %s, and 1", run, a, len(ds), fmt.Sprint(first.status))
				}
			}
		})
	}
}

// TestIdempotencyKeyRoutes: the routes that take Idempotency-Key are those openapi.yaml
// says take it, found by what each route answers to a malformed key.
func TestIdempotencyKeyRoutes(t *testing.T) {
	doc := loadOpenAPI(t)
	srv, _, _ := newAPI(t)
	inDoc := map[string]bool{}
	for path, item := range doc.Paths {
		for m, v := range item {
			op, _ := v.(map[string]any)
			for _, p := range asList(op["parameters"]) {
				if ref, _ := p.(map[string]any)["$ref"].(string); ref == "#/components/parameters/IdempotencyKey" {
					inDoc[strings.ToUpper(m)+" "+path] = true
				}
			}
		}
	}
	if len(inDoc) < 8 {
		t.Errorf("openapi.yaml gives Idempotency-Key to %d operations; want the 8 that create or send", len(inDoc))
	}
	placeholder := strings.NewReplacer("{id}", "x", "{program}", "loyalty", "{campaign}", "camp")
	for _, rt := range (&Server{}).routeTable() {
		method, path, _ := strings.Cut(rt.pattern, " ")
		req, _ := http.NewRequest(method, srv.URL+placeholder.Replace(path), strings.NewReader("{}"))
		req.Header.Set("content-type", "application/json")
		req.Header.Set(IdempotencyHeader, "not a key")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var eb ErrorBody
		_ = json.NewDecoder(res.Body).Decode(&eb)
		res.Body.Close()
		takes := res.StatusCode == 400 && eb.Error.Field == IdempotencyHeader
		if takes != inDoc[rt.pattern] {
			t.Errorf("%s: takes Idempotency-Key %v, openapi.yaml says %v", rt.pattern, takes, inDoc[rt.pattern])
		}
	}
}
