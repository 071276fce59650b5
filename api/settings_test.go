package api

import (
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/store"
)

// TestSettingsSayWhetherEmailCanGoOut: the notification settings tell whether an SMTP
// server is configured, and what GET answered can be PUT back as it is.
func TestSettingsSayWhetherEmailCanGoOut(t *testing.T) {
	st, err := store.OpenSQLite(filepath.Join(t.TempDir(), "hookflow.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	no := false
	srv := httptest.NewServer((&Server{Store: st, EmailConfigured: &no}).Handler())
	t.Cleanup(srv.Close)
	status, _, body := do(t, "GET", srv.URL+"/v1/settings/notifications", "")
	if status != 200 || !strings.Contains(string(body), `"email_configured":false`) {
		t.Fatalf("get: %d %s", status, body)
	}
	back := strings.Replace(string(body), `"distributions":{"email":false,"recipients":[]`, `"distributions":{"email":true,"recipients":["ops@example.com"]`, 1)
	status, _, body = do(t, "PUT", srv.URL+"/v1/settings/notifications", back)
	if status != 200 || !strings.Contains(string(body), `"email_configured":false`) || !strings.Contains(string(body), `"email":true`) {
		t.Errorf("put what get answered: %d %s", status, body)
	}
}

// TestBreakerSettings: the default circuit breaker is read and set; bad bodies are refused
// naming the field, an oversized one is 413, failures 0 stores no default.
func TestBreakerSettings(t *testing.T) {
	st, err := store.OpenSQLite(filepath.Join(t.TempDir(), "hookflow.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv := httptest.NewServer((&Server{Store: st}).Handler())
	t.Cleanup(srv.Close)
	url := srv.URL + "/v1/settings/breaker"
	if status, _, body := do(t, "GET", url, ""); status != 200 || strings.TrimSpace(string(body)) != `{"default":null}` {
		t.Fatalf("get, never set: %d %s", status, body)
	}
	for _, tc := range []struct {
		name, body string
		status     int
		want       string
	}{
		{"set", `{"default":{"failures":5,"probe_interval":"1m"}}`, 200, `{"default":{"failures":5,"probe_interval":"1m0s"}}`},
		{"failures negative", `{"default":{"failures":-1}}`, 422, `"default.failures"`},
		{"failures too many", `{"default":{"failures":1001}}`, 422, `"default.failures"`},
		{"probe too short", `{"default":{"failures":3,"probe_interval":"10ms"}}`, 422, `"default.probe_interval"`},
		{"probe too long", `{"default":{"failures":3,"probe_interval":"2h"}}`, 422, `"default.probe_interval"`},
		{"probe without a unit", `{"default":{"failures":3,"probe_interval":"30"}}`, 400, `probe_interval`},
		{"failures not a number", `{"default":{"failures":"3"}}`, 400, `failures`},
		{"unknown field", `{"default":{"failures":3,"window":"1m"}}`, 400, `window`},
		{"not JSON", `{"default":`, 400, `"error"`},
		{"oversized", `{"default":{"failures":3},"x":"` + strings.Repeat("a", 8<<10) + `"}`, 413, `"error"`},
		{"off", `{"default":{"failures":0}}`, 200, `{"default":null}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := do(t, "PUT", url, tc.body)
			if status != tc.status || !strings.Contains(string(body), tc.want) {
				t.Fatalf("%d %s, want %d with %s", status, body, tc.status, tc.want)
			}
		})
	}
	if bs, err := st.BreakerSettings(t.Context()); err != nil || bs.Default != nil {
		t.Errorf("stored %+v, %v; want no default after failures 0", bs, err)
	}
}
