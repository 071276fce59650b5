package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/api"
	"github.com/hookflow/hookflow/distributions"
)

// TestDistributionsOrdering: --ordering-key and --ordered set webhook.ordering on create
// and update, --ordered=false takes it off, a YAML file given to create and apply carries
// it, and a key that does not compile is refused naming webhook.ordering.key.
func TestDistributionsOrdering(t *testing.T) {
	h, st := newHarness(t, &api.Server{})
	ctx := context.Background()
	get := func(id string) *distributions.Ordering {
		t.Helper()
		d, err := st.GetDistribution(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return d.Webhook.Ordering
	}
	out, _, err := h.run("distributions", "create", "--name", "Ordered", "--url", "https://example.com/h", "--event-name", "e",
		"--events", "customer.order.paid", "--ordering-key", "data.customer.id")
	if err != nil {
		t.Fatal(err)
	}
	id := strings.Fields(out)[2]
	if o := get(id); o == nil || o.Key != "data.customer.id" {
		t.Fatalf("--ordering-key: %+v", o)
	}
	steps := []struct {
		args []string
		want *distributions.Ordering
	}{
		{[]string{"--name", "Renamed"}, &distributions.Ordering{Key: "data.customer.id"}}, // kept
		{[]string{"--ordered"}, &distributions.Ordering{Key: "data.customer.id"}},         // kept
		{[]string{"--ordered=false"}, nil},
		{[]string{"--ordered"}, &distributions.Ordering{}},
		{[]string{"--ordering-key", "data.order.id"}, &distributions.Ordering{Key: "data.order.id"}},
	}
	for _, s := range steps {
		if _, _, err := h.run(append([]string{"distributions", "update", id}, s.args...)...); err != nil {
			t.Fatalf("%v: %v", s.args, err)
		}
		if got := get(id); (got == nil) != (s.want == nil) || got != nil && *got != *s.want {
			t.Errorf("after %v: %+v, want %+v", s.args, got, s.want)
		}
	}

	for _, bad := range [][]string{
		{"distributions", "update", id, "--ordering-key", "data.customer.id +"},
		{"distributions", "update", id, "--ordering-key", "customer.id"},
	} {
		_, _, err := h.run(bad...)
		if err == nil || !strings.Contains(err.Error(), "webhook.ordering.key") {
			t.Errorf("%v: %v, want an error naming webhook.ordering.key", bad, err)
		}
	}
	if _, _, err := h.run("distributions", "update", id, "--ordering-key", "x", "--ordered=false"); err == nil ||
		!strings.Contains(err.Error(), "--ordering-key") {
		t.Errorf("--ordering-key with --ordered=false: %v", err)
	}
	if got := get(id); got == nil || got.Key != "data.order.id" {
		t.Errorf("refused updates changed it: %+v", got)
	}

	yaml := `name: From YAML
trigger: {events: [customer.order.paid]}
webhook:
  event_name: e
  url: https://example.com/y
  ordering: {key: entity_id}
`
	out, _, err = h.runWithInput(yaml, "distributions", "create", "-f", "-")
	if err != nil {
		t.Fatal(err)
	}
	if o := get(strings.Fields(out)[2]); o == nil || o.Key != "entity_id" {
		t.Errorf("create -f: %+v", o)
	}
	_, _, err = h.runWithInput(strings.Replace(yaml, "{key: entity_id}", "{keys: entity_id}", 1), "distributions", "create", "-f", "-")
	if err == nil || !strings.Contains(err.Error(), "webhook.ordering.keys") {
		t.Errorf("unknown field: %v", err)
	}
}

// TestApplyOrdering: apply creates a distribution with webhook.ordering, updates its key,
// and refuses a key that does not compile naming the document and webhook.ordering.key.
func TestApplyOrdering(t *testing.T) {
	h, st := newHarness(t, &api.Server{})
	doc := func(key string) string {
		return "name: Ordered\ntrigger: {events: [customer.order.paid]}\nwebhook: {event_name: e, url: 'https://example.com/o', ordering: {key: '" + key + "'}}"
	}
	out, _, err := h.run("distributions", "apply", "-f", writeApplyFile(t, doc("data.customer.id")))
	if err != nil || !strings.HasPrefix(out, "created distr_") {
		t.Fatalf("apply: %q %v", out, err)
	}
	id := strings.Fields(out)[1]
	if _, _, err := h.run("distributions", "apply", "-f", writeApplyFile(t, doc("data.order.id"))); err != nil {
		t.Fatal(err)
	}
	if d, _ := st.GetDistribution(context.Background(), id); d.Webhook.Ordering == nil || d.Webhook.Ordering.Key != "data.order.id" {
		t.Errorf("after apply: %+v", d.Webhook.Ordering)
	}
	_, _, err = h.run("distributions", "apply", "-f", writeApplyFile(t, doc("data.order.id ==")))
	if err == nil || !strings.Contains(err.Error(), `document 1 ("Ordered"): webhook.ordering.key: `) {
		t.Errorf("apply of a bad key: %v", err)
	}
}
