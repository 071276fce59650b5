package cli

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// lineSignal is a writer that closes first when the first line has been written to it.
type lineSignal struct {
	mu    sync.Mutex
	buf   strings.Builder
	first chan struct{}
	once  sync.Once
}

func (w *lineSignal) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Contains(w.buf.String(), "\n") {
		w.once.Do(func() { close(w.first) })
	}
	return len(p), nil
}

func (w *lineSignal) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestListAllStreams: `list --all -o jsonl` prints a page's items before it asks for the
// next page. The API here holds the second page back until the first page's line has
// reached standard output; a CLI that buffered every page would never print it, and the
// second page then answers after 10 s and says so.
func TestListAllStreams(t *testing.T) {
	out := &lineSignal{first: make(chan struct{})}
	var mu sync.Mutex
	var heldBack bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/webhooks" {
			http.NotFound(w, r)
			return
		}
		page := map[string]any{"has_more": true, "next_page_token": "p2",
			"data": []map[string]any{{"id": "wh_1", "url": "https://example.com/1", "events": []string{"voucher.created"}, "active": true}}}
		if r.URL.Query().Get("page_token") == "p2" {
			select {
			case <-out.first:
			case <-time.After(10 * time.Second):
				mu.Lock()
				heldBack = true
				mu.Unlock()
			}
			page = map[string]any{"has_more": false,
				"data": []map[string]any{{"id": "wh_2", "url": "https://example.com/2", "events": []string{"voucher.created"}, "active": true}}}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(page)
	}))
	defer srv.Close()

	root := newRootCommand(func(string) string { return "" })
	root.SetArgs([]string{"webhooks", "list", "--all", "--limit", "1", "-o", "jsonl", "--api", srv.URL})
	root.SetOut(out)
	root.SetErr(&strings.Builder{})
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if heldBack {
		t.Errorf("the first page's item was not printed before the second page was asked for")
	}
	if lines := strings.Split(strings.TrimSpace(out.String()), "\n"); len(lines) != 2 || !strings.Contains(lines[0], "wh_1") || !strings.Contains(lines[1], "wh_2") {
		t.Errorf("output %q; want wh_1 then wh_2, a line each", out.String())
	}
}
