package cli

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestRequestsKeepTheUsersBytes: every command that sends what the user gave as JSON (or
// strings within it) sends <, > and & as the user wrote them, not \u003c, \u003e, \u0026
// (docs/decisions.md: bytes kept as sent; no HTML escaping). The API here records the
// bodies it receives.
func TestRequestsKeepTheUsersBytes(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		if len(b) > 0 {
			bodies = append(bodies, r.Method+" "+r.URL.Path+" "+string(b))
		}
		mu.Unlock()
		w.Header().Set("content-type", "application/json")
		// One answer that every command can read: an empty list, an object with a
		// version (a revision for a webhook).
		if strings.HasPrefix(r.URL.Path, "/v1/webhooks") {
			io.WriteString(w, `{"object":"list","data":[],"revision":1}`)
			return
		}
		io.WriteString(w, `{"object":"list","data":[],"version":1}`)
	}))
	t.Cleanup(srv.Close)
	h := &harness{t: t, api: srv.URL, env: map[string]string{}}

	const text = `A <b> & c`
	dir := t.TempDir()
	doc := filepath.Join(dir, "d.json")
	if err := os.WriteFile(doc, []byte(`{"name":"A <b> & c","trigger":{"events":["customer.order.paid"]},"action":{"type":"plain_message"},"webhook":{"url":"https://example.com/h?a=1&b=2","event_name":"X","template":"{\"n\":\"A <b> & c\"}"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	hook := filepath.Join(dir, "w.yaml")
	if err := os.WriteFile(hook, []byte("url: https://example.com/h\nevents: [voucher.created]\ndescription: A <b> & c\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"send", "--type", "customer.order.paid", "--data", `{"customer":{"name":"A <b> & c"}}`},
		{"messages", "send", "distr_1", "--customer", `{"id":"c1","name":"A <b> & c"}`},
		{"distributions", "create", "-f", doc},
		{"distributions", "create", "--name", text, "--events", "customer.order.paid", "--url", "https://example.com/h", "--event-name", "X"},
		{"distributions", "update", "distr_1", "-f", doc},
		{"distributions", "update", "distr_1", "--name", text},
		{"distributions", "apply", "-f", doc},
		{"webhooks", "create", "-f", hook},
		{"webhooks", "create", "--url", "https://example.com/h", "--events", "voucher.created", "--description", text},
		{"webhooks", "update", "wh_1", "--description", text},
		{"programs", "loyalty", "camp_1", "--url", "https://example.com/h?a=1&b=2"},
		{"keys", "create", "--name", text, "--scope", "manage"},
	} {
		mu.Lock()
		bodies = nil
		mu.Unlock()
		if _, _, err := h.run(args...); err != nil {
			t.Errorf("%q: %v", args, err)
			continue
		}
		mu.Lock()
		got := strings.Join(bodies, "\n")
		mu.Unlock()
		if got == "" {
			t.Errorf("%q sent no body", args)
		}
		if strings.Contains(got, `\u003c`) || strings.Contains(got, `\u003e`) || strings.Contains(got, `\u0026`) {
			t.Errorf("%q escaped the user's <, > or &:\n%s", args, got)
		}
		if !strings.Contains(got, text) && !strings.Contains(got, "a=1&b=2") {
			t.Errorf("%q did not send the user's text as written:\n%s", args, got)
		}
	}
}
