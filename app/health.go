package app

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/api"
	"github.com/hookflow/hookflow/store"
)

// health answers the liveness and readiness probes of a process that needs Temporal and
// the store.
type health struct {
	// checks are what readiness needs, by name; each answers nil when it is up.
	checks map[string]func(context.Context) error
	// timeout bounds each check, so that a probe gets an answer before it gives up.
	timeout time.Duration
	// stopping is set when the process begins to shut down: it is no longer ready for
	// more work but still alive while it drains.
	stopping atomic.Bool
}

// newHealth checks Temporal by describing the namespace, which also proves the
// credentials, and the store by a cheap read.
func newHealth(c client.Client, namespace string, st store.Store) *health {
	return &health{
		timeout: 3 * time.Second,
		checks: map[string]func(context.Context) error{
			"temporal": func(ctx context.Context) error {
				_, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: namespace})
				return err
			},
			"store": func(ctx context.Context) error {
				_, err := st.NotificationSettings(ctx)
				return err
			},
		},
	}
}

// readiness is the body of /readyz.
type readiness struct {
	Status string            `json:"status"` // ready, not ready or stopping
	Checks map[string]string `json:"checks,omitempty"`
}

// handler serves GET /livez and GET /readyz, and passes every other request to next
// (nil: 404).
func (h *health) handler(next http.Handler) http.Handler {
	if next == nil {
		next = http.NotFoundHandler()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead || r.URL.Path != "/livez" && r.URL.Path != "/readyz" {
			next.ServeHTTP(w, r)
			return
		}
		api.SetRoute(r, r.Method+" "+r.URL.Path)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if r.URL.Path == "/livez" {
			// The process answers: that is all liveness means. Temporal or the store
			// being down is not cured by a restart, and readiness reports it.
			_, _ = io.WriteString(w, `{"status":"live"}`+"\n")
			return
		}
		body := h.check(r.Context())
		if body.Status != "ready" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(body)
	})
}

// check runs the checks at once.
func (h *health) check(ctx context.Context) readiness {
	if h.stopping.Load() {
		return readiness{Status: "stopping"}
	}
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	var mu sync.Mutex
	res := readiness{Status: "ready", Checks: map[string]string{}}
	var wg sync.WaitGroup
	for name, check := range h.checks {
		wg.Go(func() {
			err := check(ctx)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				res.Status = "not ready"
				res.Checks[name] = err.Error()
				return
			}
			res.Checks[name] = "ok"
		})
	}
	wg.Wait()
	return res
}
