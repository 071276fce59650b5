package e2e

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow/payloads"
	"github.com/hookflow/hookflow/workflows"
)

// perSecond counts requests by the second of the receiver's clock, in order of the seconds.
func perSecond(reqs []receivedRequest) (seconds []int64, counts map[int64]int) {
	counts = map[int64]int{}
	for _, r := range reqs {
		counts[r.at.Unix()]++
	}
	for s := range counts {
		seconds = append(seconds, s)
	}
	sort.Slice(seconds, func(i, j int) bool { return seconds[i] < seconds[j] })
	return seconds, counts
}

// TestRateLimitAcrossWorkers: the limit holds for the cluster, not per process: two workers
// share a distribution limited to 5/s (each alone would send 5/s, 10/s together) and its
// receiver never gets more than the bound of 5/s, N + 1 = 6, in any second of its clock,
// while both workers do the work.
func TestRateLimitAcrossWorkers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Temporal and hookflow processes")
	}
	const (
		events = 100
		limit  = 5
	)
	temporalAddr, apiURL, startWorker := startCluster(t)
	startWorker(1, loopbackTargets)
	startWorker(2, loopbackTargets)
	recv := newReceiver(t)
	status, body := call(t, "POST", apiURL+"/v1/distributions", map[string]any{
		"name": "Limited", "trigger": map[string]any{"events": []string{"customer.order.paid"}},
		"webhook": map[string]any{"event_name": "Order-paid", "url": recv.URL + "/hooks", "rate_limit": fmt.Sprintf("%d/s", limit)},
	})
	if status != 201 {
		t.Fatalf("create distribution: %d %s", status, body)
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < events; i += 4 {
				if status, body := postEvent(apiURL, fmt.Sprintf("evt_rlw_%03d", i)); status != 202 {
					t.Errorf("send %d: %d %s", i, status, body)
				}
			}
		}()
	}
	wg.Wait()
	got := recv.waitRequests(t, events, 120*time.Second)
	if distinct, total := recv.counts(); distinct != events || total != events {
		t.Errorf("got %d requests of %d webhook-ids, want %d each once", total, distinct, events)
	}
	seconds, counts := perSecond(got)
	worst := 0
	for _, s := range seconds {
		worst = max(worst, counts[s])
		if counts[s] > limit+1 {
			t.Errorf("%d requests in the second from %s, over the bound of %d (5/s + 1)", counts[s], time.Unix(s, 0).UTC().Format(time.TimeOnly), limit+1)
		}
	}
	c := dialTemporal(t, temporalAddr, nil)
	workers := map[string]bool{}
	for i := range events {
		for id := range activityIdentities(t, c, workflows.WorkflowID(fmt.Sprintf("evt_rlw_%03d", i))) {
			workers[id] = true
		}
	}
	if !workers["worker-1"] || !workers["worker-2"] {
		t.Errorf("the workflow tasks were done by %v, want both worker-1 and worker-2", workers)
	}
	report(t, "rate limit 5/s across two workers: %d events over %d seconds of the receiver's clock, at most %d in one second", events, len(seconds), worst)
}

// TestRateLimit: two distributions take the same 400 events, sent as fast as the API takes
// them: A limited to 10/s, B without a limit. B's receiver gets all of them while A's has
// had only a part; A's receiver, counting by the seconds of its own clock, never gets more
// than the documented bound (N + 1 in any second, N·T + 1 over any T whole seconds) and
// gets every event in the end, each once. While A's deliveries wait, the delivery log lists them
// as throttled.
func TestRateLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("starts hookflow dev")
	}
	const (
		events = 400
		limit  = 10 // per second
	)
	d := startDev(t, t.TempDir(), nil)
	c := d.client(t)
	recvA, recvB := newReceiver(t), newReceiver(t)
	create := func(name, url, rateLimit string) string {
		hook := map[string]any{"event_name": "Order-paid", "url": url}
		if rateLimit != "" {
			hook["rate_limit"] = rateLimit
		}
		status, body := call(t, "POST", d.api+"/v1/distributions", map[string]any{
			"name": name, "status": "live",
			"trigger": map[string]any{"events": []string{"customer.order.paid"}},
			"action":  map[string]any{"type": "plain_message"},
			"webhook": hook,
		})
		if status != 201 {
			t.Fatalf("create %s: %d %s", name, status, body)
		}
		var out distributionOut
		mustJSON(t, body, &out)
		return out.ID
	}
	limitedID := create("Limited", recvA.URL, fmt.Sprintf("%d/s", limit))
	create("Unlimited", recvB.URL, "")

	ids := make(chan string, events)
	for i := range events {
		ids <- fmt.Sprintf("evt_rl_%03d", i)
	}
	close(ids)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range ids {
				if status, body := postEvent(d.api, id); status != 202 {
					t.Errorf("send %s: %d %s", id, status, body)
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	// B gets every event while A has had only a part: A is held to its limit, B is not held
	// by A. (400 events at 10/s take A 40 s; B needs no more than the intake.)
	recvB.waitRequests(t, events, 90*time.Second)
	_, atA := recvA.counts()
	if atA > events/2 {
		t.Errorf("A had %d of %d events when B had all of them: A is not limited", atA, events)
	}

	// The delivery log lists A's deliveries as throttled while they wait.
	var throttled string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		throttled = runCLI(t, d, "deliveries", "list", "--status", workflows.StatusThrottled, "-o", "json")
		if strings.Contains(throttled, "evt_rl_") {
			break
		}
	}
	if !strings.Contains(throttled, "evt_rl_") {
		t.Errorf("deliveries list --status throttled lists none of the waiting events:\n%s", throttled)
	}
	// The last event's delivery to A waits behind all the others: it shows as throttled.
	lastDelivery := payloads.DeliveryID(fmt.Sprintf("evt_rl_%03d", events-1), limitedID)
	var shown string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		// Not found until the visibility store has the upsert that names it.
		shown, _ = runCLIOutput(d, "deliveries", "show", lastDelivery)
		if strings.Contains(shown, ": "+workflows.StatusThrottled) {
			break
		}
	}
	if !strings.Contains(shown, ": "+workflows.StatusThrottled) {
		t.Errorf("deliveries show %s while it waits:\n%s", lastDelivery, shown)
	}

	recvA.waitRequests(t, events, 180*time.Second)
	got := recvA.requests()
	if distinct, total := recvA.counts(); distinct != events || total != events {
		t.Errorf("A got %d requests of %d webhook-ids, want %d each once", total, distinct, events)
	}
	// Count by the seconds of the receiver's clock.
	seconds, inSecond := perSecond(got)
	worst, counts := 0, make([]string, 0, len(seconds))
	for _, s := range seconds {
		worst = max(worst, inSecond[s])
		counts = append(counts, fmt.Sprint(inSecond[s]))
		if inSecond[s] > limit+1 {
			t.Errorf("A got %d requests in the second from %s, over the bound of %d (10/s + 1)", inSecond[s], time.Unix(s, 0).UTC().Format(time.TimeOnly), limit+1)
		}
	}
	// Over any 30 whole seconds of the receiver's clock: at most 30·N + 1.
	worst30 := 0
	for i := range seconds {
		n := 0
		for _, s := range seconds[i:] {
			if s >= seconds[i]+30 {
				break
			}
			n += inSecond[s]
		}
		worst30 = max(worst30, n)
	}
	if worst30 > 30*limit+1 {
		t.Errorf("A got %d requests in 30 seconds, over the bound of %d", worst30, 30*limit+1)
	}
	t.Logf("A per second: %s", strings.Join(counts, " "))
	report(t, "rate limit 10/s: %d events to A over %d seconds of its receiver's clock, at most %d in one second and %d in 30 s; "+
		"B (no limit) had all %d when A had %d", events, len(seconds), worst, worst30, events, atA)

	// The last event's delivery to A waited: its history is the recorded throttled one.
	last := workflows.WorkflowID(fmt.Sprintf("evt_rl_%03d", events-1))
	var res workflows.DeliveryResult
	waitWorkflow(t, c, last, 30*time.Second, &res)
	if res.Status != workflows.StatusDelivered {
		t.Errorf("last event: %+v", res)
	}
	recordWorkflowHistory(t, c, last, "delivery_NAME_throttled.history.json")
}
