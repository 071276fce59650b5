package cli

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow/api"
	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/payloads"
	"github.com/hookflow/hookflow/starter"
)

// recordingStarter keeps the events the API accepted.
type recordingStarter struct {
	mu     sync.Mutex
	events []payloads.Event
}

func (f *recordingStarter) Start(_ context.Context, ev payloads.Event) (starter.Handle, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, ev)
	return starter.Handle{EventID: ev.ID, WorkflowID: "event/" + ev.ID, RunID: "run-1"}, nil
}

// TestTrigger: `hookflow trigger TYPE` sends, for every event type, a sample event the API
// accepts, with the sample's objects and a new id each time, and names the delivery of
// each live distribution that subscribes to the type.
func TestTrigger(t *testing.T) {
	rec := &recordingStarter{}
	h, st := newHarness(t, &api.Server{Starter: rec})
	now := time.Now().UTC()
	for _, d := range []distributions.Distribution{
		{ID: "distr_orders", Name: "Orders", Status: "live", Trigger: distributions.Trigger{Events: []string{"customer.order.*"}}},
		{ID: "distr_paused", Name: "Paused", Status: "paused", Trigger: distributions.Trigger{Events: []string{"customer.order.paid"}}},
	} {
		d.Version, d.CreatedAt, d.UpdatedAt = 1, now, now
		d.Action = distributions.Action{Type: "plain_message"}
		d.Webhook = distributions.Webhook{URL: "https://example.com/h", EventName: "E", Version: "v2024-01-01"}
		if err := st.CreateDistribution(t.Context(), d); err != nil {
			t.Fatal(err)
		}
	}
	types := payloads.AllEventTypes()
	for _, typ := range types {
		out, errOut, err := h.run("trigger", typ, "-o", "json")
		if err != nil {
			t.Errorf("trigger %s: %v %s", typ, err, errOut)
			continue
		}
		var got triggered
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("trigger %s -o json: %v\n%s", typ, err, out)
		}
		sample := payloads.SampleEvent(typ)
		if got.Event.Type != typ || got.Event.ID == sample.ID || got.WorkflowID != "event/"+got.Event.ID {
			t.Errorf("trigger %s: %+v", typ, got)
		}
		if len(got.Event.Data) != len(sample.Data) {
			t.Errorf("trigger %s sent objects %v; the sample has %v", typ, objectNames(got.Event), objectNames(sample))
		}
		var want []triggeredDelivery
		if payloads.MatchesPattern("customer.order.*", typ) {
			want = append(want, triggeredDelivery{payloads.DeliveryID(got.Event.ID, "distr_orders"), "distr_orders", "Orders"})
		}
		if len(got.Deliveries) != len(want) || len(want) == 1 && got.Deliveries[0] != want[0] {
			t.Errorf("trigger %s deliveries %+v, want %+v", typ, got.Deliveries, want)
		}
	}
	if len(rec.events) != len(types) {
		t.Fatalf("the API accepted %d events of %d types", len(rec.events), len(types))
	}
	for i, ev := range rec.events {
		sample := payloads.SampleEvent(types[i])
		for name, obj := range sample.Data {
			if string(ev.Data[name]) != string(obj) {
				t.Errorf("%s: object %s arrived as %s, want %s", types[i], name, ev.Data[name], obj)
			}
		}
	}

	out, _, err := h.run("trigger", "customer.order.paid")
	if err != nil || !strings.Contains(out, "sent customer.order.paid event evt_") || !strings.Contains(out, "to distr_orders (Orders)") || strings.Contains(out, "distr_paused") {
		t.Errorf("trigger, text: %v\n%s", err, out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"trigger", "no.such.type"}, `TYPE "no.such.type" is not an event type`},
		{[]string{"trigger"}, "missing TYPE"},
		{[]string{"trigger", "customer.order.paid", "--distribution", "distr_none"}, "--distribution distr_none: no such distribution"},
		{[]string{"trigger", "customer.order.paid", "--distribution", "distr_paused"}, "--distribution distr_paused is paused"},
	} {
		if _, _, err := h.run(tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want it to say %q", tc.args, err, tc.want)
		}
	}
	if n := len(rec.events); n != len(types)+1 {
		t.Errorf("%d events accepted; a refused trigger must send none", n)
	}
}
