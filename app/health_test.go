package app

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestHealthHandler: /readyz is 200 only when Temporal and the store answer, names what
// failed otherwise, and is 503 while stopping; /livez is 200 throughout; other paths go to
// the API.
func TestHealthHandler(t *testing.T) {
	var temporalErr, storeErr error
	h := &health{timeout: time.Second, checks: map[string]func(context.Context) error{
		"temporal": func(context.Context) error { return temporalErr },
		"store":    func(context.Context) error { return storeErr },
	}}
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	srv := httptest.NewServer(h.handler(api))
	defer srv.Close()
	get := func(path string) (int, readiness) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body readiness
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}

	if code, body := get("/readyz"); code != 200 || body.Status != "ready" || body.Checks["temporal"] != "ok" || body.Checks["store"] != "ok" {
		t.Errorf("all up: %d %+v", code, body)
	}
	storeErr = errors.New("database is closed")
	if code, body := get("/readyz"); code != 503 || body.Checks["store"] != "database is closed" || body.Checks["temporal"] != "ok" {
		t.Errorf("store down: %d %+v", code, body)
	}
	storeErr, temporalErr = nil, errors.New("connection refused")
	if code, body := get("/readyz"); code != 503 || body.Checks["temporal"] != "connection refused" || body.Checks["store"] != "ok" {
		t.Errorf("Temporal down: %d %+v", code, body)
	}
	if code, body := get("/livez"); code != 200 || body.Status != "live" {
		t.Errorf("livez: %d %+v", code, body)
	}
	temporalErr = nil
	h.stopping.Store(true)
	if code, body := get("/readyz"); code != 503 || body.Status != "stopping" {
		t.Errorf("stopping: %d %+v", code, body)
	}
	if code, _ := get("/v1/distributions"); code != http.StatusTeapot {
		t.Errorf("an API path answered %d, not the API's", code)
	}
}
