package e2e

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/api"
	"github.com/hookflow/hookflow/deliverylog"
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

	checkDeliveryLogPages(t, d, since, []string{"event/evt_lost_1", "event/evt_lost_2", "event/evt_lost_3"})

	if err := runCLIErr(t, d, "distributions", "recover", distr.ID, "--since", since); err == nil || !strings.Contains(err.Error(), "resume") {
		t.Errorf("recover while paused: %v", err)
	}
	recv.setCodes(200)
	runCLI(t, d, "distributions", "resume", distr.ID)
	// A window that ends before the events sends nothing.
	if out := runCLI(t, d, "distributions", "recover", distr.ID, "--since", "2h", "--until", since); !strings.Contains(out, "0 of 0 deliveries sent again") {
		t.Errorf("recover --until before the events:\n%s", out)
	}
	out := runCLI(t, d, "distributions", "recover", distr.ID, "--since", since, "--until", time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
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
	report(t, "accounting: 3 events (1 failed on a receiver down through every retry, 2 skipped while paused), "+
		"%d deliveries received once each after resume + recover, %d POSTs in all, 0 duplicates", len(ids), len(recv.requests()))
	// A single delivery: delivered now, so it is not sent again.
	if err := runCLIErr(t, d, "deliveries", "retry", failedID); err == nil || !strings.Contains(err.Error(), "409") {
		t.Errorf("retry of a delivered delivery: %v", err)
	}
	if out := runCLI(t, d, "deliveries", "show", failedID); !strings.Contains(out, "delivered") {
		t.Errorf("show after recovery:\n%s", out)
	}
}

// checkDeliveryLogPages reads the delivery log of d, which holds exactly the event workflows
// want, all started after since: a page at a time by following next_page_token, with --all,
// and through --since and --until windows.
func checkDeliveryLogPages(t *testing.T, d *devProcess, since string, want []string) {
	t.Helper()
	list := func(args ...string) api.List[deliverylog.EventSummary] {
		t.Helper()
		var l api.List[deliverylog.EventSummary]
		// stdout alone: a page that has more also tells so on stderr.
		out := runCLIStdout(t, d, append([]string{"deliveries", "list", "-o", "json"}, args...)...)
		if err := json.Unmarshal([]byte(out), &l); err != nil {
			t.Fatalf("deliveries list %v: %v\n%s", args, err, out)
		}
		return l
	}
	ids := func(l api.List[deliverylog.EventSummary]) []string {
		var ids []string
		for _, e := range l.Data {
			ids = append(ids, e.WorkflowID)
		}
		slices.Sort(ids)
		return ids
	}
	// Visibility is written after the workflow: wait until it lists every event.
	for deadline := time.Now().Add(15 * time.Second); len(list("--limit", "100").Data) < len(want); {
		if time.Now().After(deadline) {
			t.Fatalf("the delivery log does not list %d events after 15s", len(want))
		}
		time.Sleep(100 * time.Millisecond)
	}

	var paged []string
	var pages int
	for token := ""; pages <= len(want); pages++ {
		args := []string{"--limit", "2"}
		if token != "" {
			args = append(args, "--page-token", token)
		}
		l := list(args...)
		if len(l.Data) > 2 || l.Total != len(l.Data) || l.HasMore != (l.NextPageToken != "") {
			t.Fatalf("page %d: %+v", pages, l)
		}
		paged = append(paged, ids(l)...)
		if !l.HasMore {
			break
		}
		token = l.NextPageToken
	}
	slices.Sort(paged)
	if !slices.Equal(paged, want) || pages < 1 {
		t.Errorf("pages of 2 list %v in %d more pages, want %v once each", paged, pages, want)
	}
	if got := ids(list("--limit", "1", "--all")); !slices.Equal(got, want) {
		t.Errorf("--all with pages of 1: %v, want %v", got, want)
	}
	if got := ids(list("--since", since)); !slices.Equal(got, want) {
		t.Errorf("--since %s: %v, want %v", since, got, want)
	}
	if l := list("--until", since); len(l.Data) != 0 || l.HasMore {
		t.Errorf("--until %s (before every event): %+v", since, l)
	}
	if l := list("--since", time.Now().Add(time.Hour).UTC().Format(time.RFC3339)); len(l.Data) != 0 {
		t.Errorf("--since an hour ahead: %+v", l)
	}
	// Text output says how to read on.
	if out := runCLI(t, d, "deliveries", "list", "--limit", "1"); !strings.Contains(out, "more: the same command with --page-token ") {
		t.Errorf("deliveries list --limit 1 does not say how to read on:\n%s", out)
	}
	if err := runCLIErr(t, d, "deliveries", "list", "--page-token", "bm90IGEgdG9rZW4"); err == nil || !strings.Contains(err.Error(), "page_token") {
		t.Errorf("a made-up page token: %v", err)
	}
	if err := runCLIErr(t, d, "deliveries", "list", "--since", "last tuesday"); err == nil || !strings.Contains(err.Error(), `--since "last tuesday"`) {
		t.Errorf("--since last tuesday: %v", err)
	}
}
