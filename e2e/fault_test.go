package e2e

import (
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hookflow/hookflow/codec"
	"github.com/hookflow/hookflow/workflows"
)

// TestFaultWorkerKilledTwice sends a burst of 1,000 events to `hookflow server` + `api` +
// one `worker`, SIGKILLs the worker twice while they are delivered and starts a new one each
// time. Every event must arrive at least once; duplicates (a POST cut short and made again,
// with the same webhook-id) are counted and reported; every workflow must close delivered,
// none left running.
func TestFaultWorkerKilledTwice(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Temporal and hookflow processes")
	}
	const events = 1000
	temporalAddr, apiURL, startWorker := startCluster(t)
	worker := startWorker(1, loopbackTargets)

	recv := newSlowReceiver(t, 20*time.Millisecond)
	status, body := call(t, "POST", apiURL+"/v1/distributions", map[string]any{
		"name": "Burst", "trigger": map[string]any{"events": []string{"customer.order.paid"}},
		"webhook": map[string]any{"event_name": "Order-paid", "url": recv.URL + "/hooks", "retry_schedule": []string{"1s", "2s", "4s", "8s", "16s"}},
	})
	if status != 201 {
		t.Fatalf("create distribution: %d %s", status, body)
	}

	start := time.Now()
	var wg sync.WaitGroup
	ids := make(chan int, events)
	for i := 0; i < events; i++ {
		ids <- i
	}
	close(ids)
	intakeErrors := make(chan string, events)
	for c := 0; c < 10; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range ids {
				if status, body := postEvent(apiURL, fmt.Sprintf("evt_burst_%d", i)); status != 202 {
					intakeErrors <- fmt.Sprintf("event %d: %d %s", i, status, body)
				}
			}
		}()
	}

	// Kill the worker at a quarter and at two thirds of the deliveries.
	var recoveries []time.Duration
	for n, at := range []int{events / 4, events * 2 / 3} {
		waitFor(t, 3*time.Minute, func() bool { d, _ := recv.counts(); return d >= at })
		_ = worker.cmd.Process.Signal(syscall.SIGKILL) // a crash: no drain, no clean exit
		if !worker.wait(30 * time.Second) {
			t.Fatal("the worker did not die")
		}
		before, _ := recv.counts()
		killed := time.Now()
		worker = startWorker(n+2, loopbackTargets)
		waitFor(t, 3*time.Minute, func() bool { d, _ := recv.counts(); return d > before })
		recoveries = append(recoveries, time.Since(killed))
	}
	wg.Wait()
	close(intakeErrors)
	for e := range intakeErrors {
		t.Error(e)
	}
	waitFor(t, 3*time.Minute, func() bool { d, _ := recv.counts(); return d >= events })
	elapsed := time.Since(start)
	distinct, total := recv.counts()

	// Nothing stuck: every Delivery workflow closes, and closes delivered, as the visibility
	// store tells it (a workflow that closed failed after its POST reached the receiver
	// would be a delivery the log reports wrongly).
	c := dialTemporal(t, temporalAddr, nil)
	var running, delivered int64 = -1, -1
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		running = countWorkflows(c, "WorkflowType = 'Delivery' AND ExecutionStatus = 'Running'")
		delivered = countWorkflows(c, "WorkflowType = 'Delivery' AND ExecutionStatus = 'Completed' AND HookflowStatus = 'delivered'")
		if running == 0 && delivered == events || time.Now().After(deadline) {
			break
		}
	}
	report(t, "accounting: %d events, %d delivered (distinct webhook-id), %d POSTs received, %d duplicates, %d workflows closed as delivered, %d still running; "+
		"worker SIGKILLed twice, first new delivery %v and %v after each kill; all delivered in %v",
		events, distinct, total, total-distinct, delivered, running, recoveries[0].Round(time.Millisecond), recoveries[1].Round(time.Millisecond), elapsed.Round(time.Second))
	if distinct != events {
		t.Errorf("%d of %d events delivered", distinct, events)
	}
	if running != 0 || delivered != events {
		t.Errorf("%d of %d Delivery workflows closed delivered, %d still running", delivered, events, running)
	}
}

// loopbackTargets admits the tests' receivers, on loopback, to a worker.
const loopbackTargets = "--allow-target=127.0.0.0/8"

// TestWorkerRefusesLoopbackTargets: a `hookflow worker` started without --allow-target
// installs the target guard: a distribution whose URL is a receiver on loopback gets
// an attempt that fails with the guard's error, nothing reaches the receiver, and the
// delivery ends failed at once: a refused target is a final failure, not retried
// (docs/decisions.md).
func TestWorkerRefusesLoopbackTargets(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Temporal and hookflow processes")
	}
	temporalAddr, apiURL, startWorker := startCluster(t)
	worker := startWorker(1)
	recv := newReceiver(t)
	for _, url := range []string{recv.URL + "/hooks", strings.Replace(recv.URL, "127.0.0.1", "localhost", 1) + "/by-name"} {
		status, body := call(t, "POST", apiURL+"/v1/distributions", map[string]any{
			"name": "Loopback " + url, "trigger": map[string]any{"events": []string{"customer.order.paid"}},
			"webhook": map[string]any{"event_name": "Order-paid", "url": url, "retry_schedule": []string{"1s"}},
		})
		if status != 201 {
			t.Fatalf("create distribution: %d %s", status, body)
		}
	}
	if status, body := postEvent(apiURL, "evt_guarded"); status != 202 {
		t.Fatalf("send: %d %s", status, body)
	}
	c := dialTemporal(t, temporalAddr, codec.DataConverter)
	var res workflows.DeliveryResult
	waitWorkflow(t, c, workflows.WorkflowID("evt_guarded"), 60*time.Second, &res)
	if res.Status != workflows.StatusFailed || len(res.Deliveries) != 2 {
		t.Fatalf("result %+v, want two deliveries, failed", res)
	}
	for _, d := range res.Deliveries {
		if d.Status != workflows.StatusFailed || d.Attempts != 1 || !strings.Contains(d.LastError, "refused target") || !strings.Contains(d.LastError, "loopback") {
			t.Errorf("delivery to %s: %s after %d attempts, last error %q; want failed after 1 with the guard's loopback refusal", d.URL, d.Status, d.Attempts, d.LastError)
		}
	}
	if got := recv.requests(); len(got) != 0 {
		t.Errorf("the receiver on loopback got %d requests through a worker without --allow-target", len(got))
	}
	if out := worker.output.String(); !strings.Contains(out, "refused target") {
		t.Errorf("the worker's log does not tell of the refusal:\n%s", out)
	}
}
