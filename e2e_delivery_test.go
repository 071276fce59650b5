package main

import (
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/workflows"
)

// TestDevRecover pauses a distribution through exhaustion, resumes it, recovers, and sees
// every failed and skipped delivery arrive once more, with its own webhook-id.
func TestDevRecover(t *testing.T) {
	if testing.Short() {
		t.Skip("starts hookflow dev")
	}
	d := startDev(t, t.TempDir(), nil)
	c := d.client(t)
	recv := newReceiver(t, 503)
	distr := createDistribution(t, d, recv.URL, []string{"200ms"})
	since := time.Now().Add(-time.Second).UTC().Format(time.RFC3339)

	h := sendEvent(t, d, "evt_lost_1")
	var res workflows.DeliveryResult
	waitWorkflow(t, c, h.WorkflowID, 30*time.Second, &res)
	if res.Status != workflows.StatusFailed {
		t.Fatalf("first event: %+v", res)
	}
	failedID := res.Deliveries[0].DeliveryID
	// Paused now: the next two are skipped.
	for _, id := range []string{"evt_lost_2", "evt_lost_3"} {
		h := sendEvent(t, d, id)
		waitWorkflow(t, c, h.WorkflowID, 30*time.Second, &res)
		if res.Status != workflows.StatusSkipped {
			t.Fatalf("%s while paused: %+v", id, res)
		}
	}
	if n := len(recv.requests()); n != 2 {
		t.Fatalf("receiver got %d requests before recovery, want 2", n)
	}
	// A skipped delivery can be read back too.
	skippedID := strings.TrimSpace(runCLI(t, d, "deliveries", "list", "--status", "skipped", "-o", "json"))
	if !strings.Contains(skippedID, "evt_lost_2") {
		t.Errorf("deliveries list --status skipped:\n%s", skippedID)
	}

	if err := runCLIErr(t, d, "distributions", "recover", distr.ID, "--since", since); err == nil || !strings.Contains(err.Error(), "resume") {
		t.Errorf("recover while paused: %v", err)
	}
	recv.setCodes(200)
	runCLI(t, d, "distributions", "resume", distr.ID)
	out := runCLI(t, d, "distributions", "recover", distr.ID, "--since", since)
	if !strings.Contains(out, "3 of 3 deliveries sent again") {
		t.Fatalf("recover:\n%s", out)
	}
	got := recv.waitRequests(t, 5, 30*time.Second)
	ids := map[string]int{}
	for _, r := range got[2:] {
		ids[r.header.Get("webhook-id")]++
	}
	if len(ids) != 3 || ids[failedID] != 1 {
		t.Errorf("recovered deliveries by webhook-id: %v (the failed one was %s)", ids, failedID)
	}
	// Each resend is a workflow of its own; once they are done, recovering again sends
	// nothing twice.
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == "resent" {
			wf := strings.TrimSuffix(strings.TrimPrefix(f[len(f)-1], "("), ")")
			waitWorkflow(t, c, wf, 30*time.Second, &res)
			if res.Status != workflows.StatusDelivered {
				t.Errorf("resend %s: %+v", wf, res)
			}
		}
	}
	out = runCLI(t, d, "distributions", "recover", distr.ID, "--since", since)
	if !strings.Contains(out, "0 of 3 deliveries sent again") || strings.Count(out, "delivered") != 3 {
		t.Errorf("second recover:\n%s", out)
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(recv.requests()); n != 5 {
		t.Errorf("receiver got %d requests, want 5", n)
	}
	// A single delivery: delivered now, so it is not sent again.
	if err := runCLIErr(t, d, "deliveries", "retry", failedID); err == nil || !strings.Contains(err.Error(), "409") {
		t.Errorf("retry of a delivered delivery: %v", err)
	}
	if out := runCLI(t, d, "deliveries", "show", failedID); !strings.Contains(out, "delivered") {
		t.Errorf("show after recovery:\n%s", out)
	}
}
