package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow/payloads"
	"github.com/hookflow/hookflow/workflows"
)

// flakyReceiver answers 503 while down, 200 once up; it records every request's webhook-id,
// answer and time, and the most requests it had in flight at once while down.
type flakyReceiver struct {
	*httptest.Server
	mu   sync.Mutex
	down bool
	// watch are the webhook-ids whose requests in flight are counted while down.
	watch       map[string]bool
	inFlight    int
	maxDown     int // the most requests of watch in flight at once while down
	requests    []flakyRequest
	okByID      map[string]int
	firstOKByID map[string]time.Time
}

type flakyRequest struct {
	id string
	ok bool
	at time.Time
}

func newFlakyReceiver(t *testing.T) *flakyReceiver {
	r := &flakyReceiver{down: true, okByID: map[string]int{}, firstOKByID: map[string]time.Time{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		id := req.Header.Get("webhook-id")
		r.mu.Lock()
		down, watched := r.down, r.watch[id]
		if watched {
			r.inFlight++
			if down {
				r.maxDown = max(r.maxDown, r.inFlight)
			}
		}
		r.mu.Unlock()
		// A probe takes a while, so that two at once would overlap.
		time.Sleep(100 * time.Millisecond)
		r.mu.Lock()
		if watched {
			r.inFlight--
		}
		r.requests = append(r.requests, flakyRequest{id: id, ok: !down, at: time.Now()})
		if !down {
			if r.okByID[id] == 0 {
				r.firstOKByID[id] = time.Now()
			}
			r.okByID[id]++
		}
		r.mu.Unlock()
		if down {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *flakyReceiver) setDown(down bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.down = down
}

// requestsOf counts the requests of the webhook-ids in ids.
func (r *flakyReceiver) requestsOf(ids map[string]bool) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, q := range r.requests {
		if ids[q.id] {
			n++
		}
	}
	return n
}

// breakerNotifications counts the in-app notifications of each kind for distribution id.
func breakerNotifications(t *testing.T, apiURL, id string) map[string]int {
	t.Helper()
	status, body := call(t, "GET", apiURL+"/v1/notifications?limit=100", nil)
	if status != 200 {
		t.Fatalf("list notifications: %d %s", status, body)
	}
	var list struct {
		Data []struct {
			Kind           string `json:"kind"`
			DistributionID string `json:"distribution_id"`
		} `json:"data"`
	}
	mustJSON(t, body, &list)
	out := map[string]int{}
	for _, n := range list.Data {
		if n.DistributionID == id {
			out[n.Kind]++
		}
	}
	return out
}

// TestCircuitBreaker: a distribution whose breaker opens after 3 failed first attempts, on
// a receiver that fails until told to recover. The 3 failures open it (one notification);
// the events after are held: the receiver sees only probes, one at a time, and the
// delivery log lists them as held; the receiver recovers, a probe succeeds, the breaker
// closes (one notification), and every event arrives exactly once.
func TestCircuitBreaker(t *testing.T) {
	if testing.Short() {
		t.Skip("starts hookflow dev")
	}
	const (
		failures = 3
		held     = 10
	)
	d := startDev(t, t.TempDir(), nil)
	recv := newFlakyReceiver(t)
	status, body := call(t, "POST", d.api+"/v1/distributions", map[string]any{
		"name": "Flaky", "status": "live",
		"trigger": map[string]any{"events": []string{"customer.order.paid"}},
		"action":  map[string]any{"type": "plain_message"},
		"webhook": map[string]any{"event_name": "Order-paid", "url": recv.URL + "/hooks",
			// The first three retry once the receiver is back, after the held ones went.
			"retry_schedule":  []string{"20s", "20s", "20s"},
			"circuit_breaker": map[string]any{"failures": failures, "probe_interval": "1s"}},
	})
	if status != 201 {
		t.Fatalf("create distribution: %d %s", status, body)
	}
	var dist distributionOut
	mustJSON(t, body, &dist)
	deliveryOf := func(evt string) string { return payloads.DeliveryID(evt, dist.ID) }

	// Three failed first attempts open it, once.
	for i := range failures {
		if status, body := postEvent(d.api, fmt.Sprintf("evt_brk_fail_%d", i)); status != 202 {
			t.Fatalf("send: %d %s", status, body)
		}
	}
	waitFor(t, 30*time.Second, func() bool {
		return breakerNotifications(t, d.api, dist.ID)["breaker_opened"] == 1
	})

	// The events after are held: while the receiver is down, it sees only probes, one at
	// a time, about one a second.
	heldIDs := map[string]bool{}
	var heldEvents []string
	for i := range held {
		evt := fmt.Sprintf("evt_brk_held_%02d", i)
		heldEvents = append(heldEvents, evt)
		heldIDs[deliveryOf(evt)] = true
	}
	recv.mu.Lock()
	recv.watch = heldIDs
	recv.mu.Unlock()
	for _, evt := range heldEvents {
		if status, body := postEvent(d.api, evt); status != 202 {
			t.Fatalf("send: %d %s", status, body)
		}
	}
	waitFor(t, 30*time.Second, func() bool {
		status, body := call(t, "GET", d.api+"/v1/deliveries?status=held&limit=100", nil)
		return status == 200 && strings.Count(string(body), `"event/evt_brk_held_`) >= held
	})
	status, body = call(t, "GET", d.api+"/v1/deliveries/"+deliveryOf(heldEvents[held-1]), nil)
	if status != 200 || !strings.Contains(string(body), `"status":"held"`) {
		t.Errorf("a held delivery: %d %s, want status held", status, body)
	}
	const downFor = 4 * time.Second
	time.Sleep(downFor)
	probes := recv.requestsOf(heldIDs)
	if probes < 1 || probes > int(downFor/time.Second)+3 {
		t.Errorf("the receiver saw %d requests of the held events in %s, want about one probe a second", probes, downFor)
	}
	recv.mu.Lock()
	maxDown := recv.maxDown
	recv.mu.Unlock()
	if maxDown != 1 {
		t.Errorf("%d requests were in flight at once while the receiver was down, want probes one at a time", maxDown)
	}

	// The receiver recovers: a probe succeeds, the breaker closes once, and every event
	// arrives, once.
	recv.setDown(false)
	all := append([]string{}, heldEvents...)
	for i := range failures {
		all = append(all, fmt.Sprintf("evt_brk_fail_%d", i))
	}
	waitFor(t, 90*time.Second, func() bool {
		recv.mu.Lock()
		defer recv.mu.Unlock()
		for _, evt := range all {
			if recv.okByID[deliveryOf(evt)] == 0 {
				return false
			}
		}
		return true
	})
	c := d.client(t)
	for _, evt := range all {
		if err := c.GetWorkflow(context.Background(), workflows.WorkflowID(evt), "").Get(context.Background(), nil); err != nil {
			t.Errorf("workflow of %s: %v", evt, err)
		}
	}
	recv.mu.Lock()
	for _, evt := range all {
		if n := recv.okByID[deliveryOf(evt)]; n != 1 {
			t.Errorf("%s arrived %d times, want once", evt, n)
		}
	}
	// The held ones went before the three in their retry schedule.
	var lastHeld, firstRetried time.Time
	var order []string
	for _, evt := range heldEvents {
		at := recv.firstOKByID[deliveryOf(evt)]
		lastHeld = maxTime(lastHeld, at)
		order = append(order, fmt.Sprintf("%s@%s", strings.TrimPrefix(evt, "evt_brk_held_"), at.Format("05.000")))
	}
	for i := range failures {
		at := recv.firstOKByID[deliveryOf(fmt.Sprintf("evt_brk_fail_%d", i))]
		if firstRetried.IsZero() || at.Before(firstRetried) {
			firstRetried = at
		}
	}
	recv.mu.Unlock()
	if !lastHeld.Before(firstRetried) {
		t.Errorf("the last held event arrived at %s, after the first retry at %s", lastHeld, firstRetried)
	}
	got := breakerNotifications(t, d.api, dist.ID)
	if got["breaker_opened"] != 1 || got["breaker_closed"] != 1 {
		t.Errorf("notifications %v, want one breaker_opened and one breaker_closed", got)
	}
	report(t, "circuit breaker: opened after %d failures, %d probes while down for %s, %d held events delivered once each (arrival %v)",
		failures, probes, downFor, held, order)
	// The history of a held delivery: held, asked again, then a probe or let go.
	recordWorkflowHistory(t, c, workflows.WorkflowID(heldEvents[held-1]), "delivery_NAME_breaker.history.json")
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
