package e2e

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/hookflow/hookflow/payloads"
)

// TestTriggerEveryType: `hookflow trigger TYPE`, through a real `hookflow dev`, delivers a
// sample event of every trigger type a plain_message distribution takes; each request the
// receiver gets is an envelope under the delivery id the command printed, signed, with the
// event's objects in data.
func TestTriggerEveryType(t *testing.T) {
	if testing.Short() {
		t.Skip("starts hookflow dev")
	}
	d := startDev(t, t.TempDir(), nil)
	recv := newReceiver(t)
	var types []string
	for _, typ := range payloads.DistributionTriggers {
		if payloads.ActionAllowed(payloads.ActionPlainMessage, typ) {
			types = append(types, typ)
		}
	}
	status, body := call(t, "POST", d.api+"/v1/distributions", map[string]any{
		"name": "Every trigger", "status": "live",
		"trigger": map[string]any{"events": types},
		"action":  map[string]any{"type": "plain_message"},
		"webhook": map[string]any{"event_name": "Triggered", "url": recv.URL + "/hooks", "version": "v2024-01-01"},
	})
	if status != 201 {
		t.Fatalf("create distribution: %d %s", status, body)
	}
	var distr distributionOut
	mustJSON(t, body, &distr)

	// By delivery id, the event the command sent.
	sent := map[string]payloads.Event{}
	for _, typ := range types {
		var out struct {
			Event      payloads.Event `json:"event"`
			Deliveries []struct {
				ID             string `json:"id"`
				DistributionID string `json:"distribution_id"`
			} `json:"deliveries"`
		}
		mustJSON(t, []byte(runCLI(t, d, "trigger", typ, "-o", "json")), &out)
		if len(out.Deliveries) != 1 || out.Deliveries[0].DistributionID != distr.ID || out.Event.Type != typ {
			t.Fatalf("trigger %s: %+v", typ, out)
		}
		sent[out.Deliveries[0].ID] = out.Event
	}
	got := recv.waitRequests(t, len(types), 2*time.Minute)
	seen := map[string]bool{}
	for _, r := range got {
		id := r.header.Get("webhook-id")
		ev, ok := sent[id]
		if !ok || seen[id] {
			t.Errorf("a request under webhook-id %q: not one printed, or twice", id)
			continue
		}
		seen[id] = true
		var env struct {
			ID   string                     `json:"id"`
			Type string                     `json:"type"`
			Data map[string]json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(r.body, &env); err != nil {
			t.Errorf("%s: the body is not an envelope: %v", ev.Type, err)
			continue
		}
		if env.ID != id || env.Type != "Triggered" || len(env.Data) == 0 || r.header.Get("webhook-signature") == "" {
			t.Errorf("%s: envelope id %q type %q, %d objects, signature %q", ev.Type, env.ID, env.Type, len(env.Data), r.header.Get("webhook-signature"))
		}
		for name := range ev.Data {
			if _, ok := env.Data[name]; !ok {
				t.Errorf("%s: the envelope's data lacks the event's %s", ev.Type, name)
			}
		}
	}
	if len(seen) != len(types) {
		t.Errorf("%d of %d trigger types delivered", len(seen), len(types))
	}
}
