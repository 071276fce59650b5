package client_test

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/hookflow/hookflow/api"
	"github.com/hookflow/hookflow/client"
)

// recorded is what a typed method sent.
type recorded struct {
	method, path string // path escaped, as on the wire
	query        []string
	idempotent   bool
}

// recorder answers every request with an empty list (which decodes into any answer type)
// and keeps what it was sent.
type recorder struct {
	mu   sync.Mutex
	seen []recorded
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var q []string
	for k := range req.URL.Query() {
		q = append(q, k)
	}
	slices.Sort(q)
	r.mu.Lock()
	r.seen = append(r.seen, recorded{req.Method, req.URL.EscapedPath(), q, req.Header.Get(client.IdempotencyHeader) != ""})
	r.mu.Unlock()
	w.Header().Set("content-type", "application/json")
	_, _ = w.Write([]byte(`{"object":"list","data":[],"total":0,"has_more":false}`))
}

func (r *recorder) take() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.seen
	r.seen = nil
	return out
}

// typedCalls call every typed method of Client once, with every filter field set, so
// that every query parameter it can send is sent.
var typedCalls = map[string]func(ctx context.Context, c *client.Client) error{
	"SendEvent": func(ctx context.Context, c *client.Client) error {
		_, err := c.SendEvent(ctx, client.Event{Type: "customer.order.paid"})
		return err
	},
	"CreateDistribution": func(ctx context.Context, c *client.Client) error {
		_, err := c.CreateDistribution(ctx, client.Distribution{Name: "n"})
		return err
	},
	"GetDistribution": func(ctx context.Context, c *client.Client) error {
		_, err := c.GetDistribution(ctx, "distr_1")
		return err
	},
	"ListDistributions": func(ctx context.Context, c *client.Client) error {
		_, err := c.ListDistributions(ctx, client.DistributionFilter{Labels: map[string]string{"a": "b"}, Limit: 5, PageToken: "t"})
		return err
	},
	"AllDistributions": func(ctx context.Context, c *client.Client) error {
		return drain(c.AllDistributions(ctx, client.DistributionFilter{Labels: map[string]string{"a": "b"}, Limit: 5, PageToken: "t"}))
	},
	"UpdateDistribution": func(ctx context.Context, c *client.Client) error {
		_, err := c.UpdateDistribution(ctx, client.Distribution{ID: "distr_1", Version: 1})
		return err
	},
	"DeleteDistribution": func(ctx context.Context, c *client.Client) error {
		return c.DeleteDistribution(ctx, "distr_1")
	},
	"PauseDistribution": func(ctx context.Context, c *client.Client) error {
		_, err := c.PauseDistribution(ctx, "distr_1")
		return err
	},
	"ResumeDistribution": func(ctx context.Context, c *client.Client) error {
		_, err := c.ResumeDistribution(ctx, "distr_1")
		return err
	},
	"ListDeliveries": func(ctx context.Context, c *client.Client) error {
		_, err := c.ListDeliveries(ctx, fullDeliveryFilter)
		return err
	},
	"AllDeliveries": func(ctx context.Context, c *client.Client) error {
		return drain(c.AllDeliveries(ctx, fullDeliveryFilter))
	},
	"GetDelivery": func(ctx context.Context, c *client.Client) error {
		_, err := c.GetDelivery(ctx, "whs_1")
		return err
	},
	"RetryDelivery": func(ctx context.Context, c *client.Client) error {
		_, err := c.RetryDelivery(ctx, "whs_1")
		return err
	},
	"CreateMessage": func(ctx context.Context, c *client.Client) error {
		_, err := c.CreateMessage(ctx, "distr_1", client.MessageRequest{Customer: map[string]any{"id": "c"}})
		return err
	},
	"GetMessage": func(ctx context.Context, c *client.Client) error {
		_, err := c.GetMessage(ctx, "msg_1")
		return err
	},
	"ListMessages": func(ctx context.Context, c *client.Client) error {
		_, err := c.ListMessages(ctx, client.ListOptions{Limit: 5, PageToken: "t"})
		return err
	},
	"AllMessages": func(ctx context.Context, c *client.Client) error {
		return drain(c.AllMessages(ctx, client.ListOptions{Limit: 5, PageToken: "t"}))
	},
	"CancelMessage": func(ctx context.Context, c *client.Client) error {
		_, err := c.CancelMessage(ctx, "msg_1")
		return err
	},
	"CreateWebhook": func(ctx context.Context, c *client.Client) error {
		_, err := c.CreateWebhook(ctx, client.Webhook{URL: "https://example.com"})
		return err
	},
	"GetWebhook": func(ctx context.Context, c *client.Client) error {
		_, err := c.GetWebhook(ctx, "wh_1")
		return err
	},
	"ListWebhooks": func(ctx context.Context, c *client.Client) error {
		_, err := c.ListWebhooks(ctx, client.ListOptions{Limit: 5, PageToken: "t"})
		return err
	},
	"AllWebhooks": func(ctx context.Context, c *client.Client) error {
		return drain(c.AllWebhooks(ctx, client.ListOptions{Limit: 5, PageToken: "t"}))
	},
	"UpdateWebhook": func(ctx context.Context, c *client.Client) error {
		_, err := c.UpdateWebhook(ctx, client.Webhook{ID: "wh_1", Revision: 1})
		return err
	},
	"DeleteWebhook": func(ctx context.Context, c *client.Client) error {
		return c.DeleteWebhook(ctx, "wh_1")
	},
	"ListNotifications": func(ctx context.Context, c *client.Client) error {
		_, err := c.ListNotifications(ctx, client.NotificationFilter{Unread: true, Limit: 5, PageToken: "t"})
		return err
	},
	"AllNotifications": func(ctx context.Context, c *client.Client) error {
		return drain(c.AllNotifications(ctx, client.NotificationFilter{Unread: true, Limit: 5, PageToken: "t"}))
	},
	"ReadNotification": func(ctx context.Context, c *client.Client) error {
		_, err := c.ReadNotification(ctx, "ntf_1")
		return err
	},
	"CreateKey": func(ctx context.Context, c *client.Client) error {
		_, err := c.CreateKey(ctx, client.NewKey{Name: "k", Scopes: []string{"events"}})
		return err
	},
	"ListKeys": func(ctx context.Context, c *client.Client) error {
		_, err := c.ListKeys(ctx, client.ListOptions{Limit: 5, PageToken: "t"})
		return err
	},
	"AllKeys": func(ctx context.Context, c *client.Client) error {
		return drain(c.AllKeys(ctx, client.ListOptions{Limit: 5, PageToken: "t"}))
	},
	"RevokeKey": func(ctx context.Context, c *client.Client) error {
		return c.RevokeKey(ctx, "key_1")
	},
}

var fullDeliveryFilter = client.DeliveryFilter{Status: "failed", Distribution: "distr_1", EventType: "customer.order.paid",
	Event: "ev_1", Since: time.Unix(1e9, 0), Until: time.Unix(2e9, 0), Limit: 5, PageToken: "t"}

// coreMethods are the generic methods of Client, on any route.
var coreMethods = []string{"BaseURL", "Create", "Do", "Send"}

func drain[T any](seq iter.Seq2[T, error]) error {
	for _, err := range seq {
		if err != nil {
			return err
		}
	}
	return nil
}

// TestTypedMethodsInSpec: every typed method of Client sends its request on a route of
// api/openapi.yaml with that method, with query parameters the route declares, and with an
// Idempotency-Key exactly when the route takes one. Every exported method of Client is
// either in typedCalls or a core method, so a new typed method without a case fails.
func TestTypedMethodsInSpec(t *testing.T) {
	spec := loadSpec(t)
	rec := &recorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	c, err := client.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}

	ct := reflect.TypeOf(c)
	for i := range ct.NumMethod() {
		name := ct.Method(i).Name
		if _, ok := typedCalls[name]; !ok && !slices.Contains(coreMethods, name) {
			t.Errorf("Client.%s has no case in typedCalls", name)
		}
	}

	for name, call := range typedCalls {
		if err := call(t.Context(), c); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		seen := rec.take()
		if len(seen) != 1 {
			t.Errorf("%s sent %d requests; want 1", name, len(seen))
			continue
		}
		r := seen[0]
		op, template := spec.operation(r.method, r.path)
		if op == nil {
			t.Errorf("%s sent %s %s, which api/openapi.yaml has no route for", name, r.method, r.path)
			continue
		}
		params := spec.parameters(template, r.method)
		for _, q := range r.query {
			if !params["query "+q] {
				t.Errorf("%s sent the query parameter %s, which %s %s does not declare", name, q, r.method, template)
			}
		}
		if want := params["header "+client.IdempotencyHeader]; r.idempotent != want {
			t.Errorf("%s: Idempotency-Key sent %v; the spec's %s %s takes one: %v", name, r.idempotent, r.method, template, want)
		}
	}
}

// spec is api/openapi.yaml, parsed.
type spec struct {
	Paths      map[string]map[string]any `yaml:"paths"`
	Components struct {
		Parameters map[string]map[string]any `yaml:"parameters"`
	} `yaml:"components"`
}

func loadSpec(t *testing.T) spec {
	t.Helper()
	var s spec
	if err := yaml.Unmarshal(api.OpenAPI, &s); err != nil {
		t.Fatalf("api/openapi.yaml: %v", err)
	}
	if len(s.Paths) == 0 || len(s.Components.Parameters) == 0 {
		t.Fatal("api/openapi.yaml has no paths or no parameters")
	}
	return s
}

// operation is the spec's operation that takes method on path (a {name} segment of a
// template takes any segment), and its path template.
func (s spec) operation(method, path string) (map[string]any, string) {
	got := strings.Split(path, "/")
	for template, item := range s.Paths {
		want := strings.Split(template, "/")
		if len(want) != len(got) {
			continue
		}
		match := true
		for i := range want {
			if strings.HasPrefix(want[i], "{") && got[i] != "" || want[i] == got[i] {
				continue
			}
			match = false
			break
		}
		if op, ok := item[strings.ToLower(method)].(map[string]any); match && ok {
			return op, template
		}
	}
	return nil, ""
}

// parameters are the parameters of an operation and its path, as "in name".
func (s spec) parameters(template, method string) map[string]bool {
	out := map[string]bool{}
	item := s.Paths[template]
	op, _ := item[strings.ToLower(method)].(map[string]any)
	for _, list := range []any{item["parameters"], op["parameters"]} {
		ps, _ := list.([]any)
		for _, p := range ps {
			m, _ := p.(map[string]any)
			if ref, ok := m["$ref"].(string); ok {
				m = s.Components.Parameters[strings.TrimPrefix(ref, "#/components/parameters/")]
			}
			out[fmt.Sprint(m["in"], " ", m["name"])] = true
		}
	}
	return out
}
