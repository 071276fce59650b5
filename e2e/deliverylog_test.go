package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/hookflow/hookflow/api"
	"github.com/hookflow/hookflow/deliverylog"
	"github.com/hookflow/hookflow/payloads"
	"github.com/hookflow/hookflow/workflows"
)

// TestDevDeliveryLog reads the delivery log of a real `hookflow dev` as a user does, through
// `hookflow deliveries show` and GET /v1/deliveries/{id}:
//   - a publish_code delivery that got no code is failed, with its reason, error,
//     distribution and URL, while its event's workflow still runs (another distribution
//     retries), and can be sent again then;
//   - a delivery that failed and was recovered shows both runs, each with its attempts,
//     and is delivered now;
//   - the list is in the visibility store's order: a running event before a closed one
//     that started after it;
//   - an event id given for a delivery id says how to find the delivery's.
func TestDevDeliveryLog(t *testing.T) {
	if testing.Short() {
		t.Skip("starts hookflow dev")
	}
	d := startDev(t, t.TempDir(), nil)
	c := d.client(t)
	// show reads a delivery through the API and the CLI; nothing before the visibility
	// store lists it (it is written after the workflow's first task).
	show := func(id string) (string, deliverylog.Delivery) {
		t.Helper()
		var got deliverylog.Delivery
		status, body := call(t, "GET", d.api+"/v1/deliveries/"+id, nil)
		if status == 404 {
			return "", got
		}
		if status != 200 {
			t.Fatalf("GET /v1/deliveries/%s: %d %s", id, status, body)
		}
		mustJSON(t, body, &got)
		return runCLI(t, d, "deliveries", "show", id), got
	}

	// A publish_code distribution with an empty pool, and another that keeps the event's
	// workflow running (its receiver answers 503, the next attempt is in an hour).
	codesRecv, slowRecv := newReceiver(t), newReceiver(t, 503)
	status, body := call(t, "POST", d.api+"/v1/distributions", map[string]any{
		"name":    "Codes",
		"trigger": map[string]any{"events": []string{"customer.order.paid"}},
		"action":  map[string]any{"type": "publish_code", "campaign": map[string]any{"id": "camp_empty", "name": "Empty"}},
		"webhook": map[string]any{"event_name": "Code", "url": codesRecv.URL},
	})
	if status != 201 {
		t.Fatalf("create the publish_code distribution: %d %s", status, body)
	}
	var codes distributionOut
	mustJSON(t, body, &codes)
	slow := createDistribution(t, d, slowRecv.URL, []string{"1h"})

	sendEvent(t, d, "evt_nocode")
	noCode := payloads.DeliveryID("evt_nocode", codes.ID)
	var shown deliverylog.Delivery
	var out string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && shown.Status != workflows.StatusFailed; time.Sleep(200 * time.Millisecond) {
		out, shown = show(noCode)
	}
	desc, err := c.DescribeWorkflowExecution(context.Background(), "event/evt_nocode", "")
	if err != nil || desc.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("the event's workflow should still run (its other delivery retries in an hour): %v %v", desc.GetWorkflowExecutionInfo().GetStatus(), err)
	}
	emptyPool := "the code pool of campaign camp_empty is empty"
	if shown.Status != workflows.StatusFailed || shown.Reason != workflows.ReasonNoCode || !strings.Contains(shown.LastError, emptyPool) ||
		shown.DistributionID != codes.ID || shown.URL != codesRecv.URL || len(shown.Runs) != 1 {
		t.Errorf("GET /v1/deliveries/%s while its workflow runs: %s", noCode, runsOf(shown))
	}
	for _, want := range []string{"delivery " + noCode + ": failed (no_code)", "error         " + emptyPool, "distribution  " + codes.ID, "url           " + codesRecv.URL} {
		if !strings.Contains(out, want) {
			t.Errorf("deliveries show %s while its workflow runs lacks %q:\n%s", noCode, want, out)
		}
	}
	// Failed, so it can be sent again now: after a code is imported, it is delivered.
	file := filepath.Join(t.TempDir(), "codes.txt")
	if err := os.WriteFile(file, []byte("EMPTY-NO-MORE\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	runCLI(t, d, "codes", "import", "camp_empty", "-f", file)
	runCLI(t, d, "deliveries", "retry", noCode)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && shown.Status != workflows.StatusDelivered; time.Sleep(200 * time.Millisecond) {
		out, shown = show(noCode)
	}
	if shown.Status != workflows.StatusDelivered || len(shown.Runs) != 2 || shown.Runs[0].Status != workflows.StatusFailed || shown.Runs[0].Resend ||
		!shown.Runs[1].Resend || len(shown.Runs[1].Attempts) != 1 || shown.Runs[1].Attempts[0].StatusCode != 200 {
		t.Errorf("GET /v1/deliveries/%s after the retry: %s", noCode, runsOf(shown))
	}
	if !regexp.MustCompile(`(?s)delivery \S+: delivered\n.*run 1 of 2, the event's run: failed \(no_code\)\n.*error +` + emptyPool + `.*no attempts\n.*run 2 of 2, sent again: delivered\n.*delivered +200`).MatchString(out) {
		t.Errorf("deliveries show %s after the retry:\n%s", noCode, out)
	}
	for _, id := range []string{codes.ID, slow.ID} {
		if status, body := call(t, "DELETE", d.api+"/v1/distributions/"+id, nil); status != 204 {
			t.Fatalf("delete %s: %d %s", id, status, body)
		}
	}

	// A delivery that failed through every retry, then recovered.
	recv := newReceiver(t, 503)
	distr := createDistribution(t, d, recv.URL, []string{"200ms"})
	since := time.Now().Add(-time.Second).UTC().Format(time.RFC3339)
	h := sendEvent(t, d, "evt_lost")
	var res workflows.DeliveryResult
	waitWorkflow(t, c, h.WorkflowID, 30*time.Second, &res)
	if res.Status != workflows.StatusFailed {
		t.Fatalf("evt_lost: %+v", res)
	}
	lost := res.Deliveries[0].DeliveryID
	recv.setCodes(200)
	runCLI(t, d, "distributions", "resume", distr.ID)
	if out := runCLI(t, d, "distributions", "recover", distr.ID, "--since", since); !strings.Contains(out, "1 of 1 deliveries sent again") {
		t.Fatalf("recover:\n%s", out)
	}
	shown = deliverylog.Delivery{}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && shown.Status != workflows.StatusDelivered; time.Sleep(200 * time.Millisecond) {
		out, shown = show(lost)
	}
	if shown.Status != workflows.StatusDelivered || len(shown.Runs) != 2 ||
		shown.Runs[0].WorkflowID != "event/evt_lost" || shown.Runs[0].Status != workflows.StatusFailed || shown.Runs[0].Reason != workflows.ReasonExhausted ||
		len(shown.Runs[0].Attempts) != 2 || shown.Runs[0].Attempts[0].StatusCode != 503 || shown.Runs[0].Attempts[1].StatusCode != 503 ||
		!shown.Runs[1].Resend || shown.Runs[1].Status != workflows.StatusDelivered || len(shown.Runs[1].Attempts) != 1 {
		t.Errorf("GET /v1/deliveries/%s after recover: %s", lost, runsOf(shown))
	}
	if !regexp.MustCompile(`(?s)delivery \S+: delivered\n.*run 1 of 2, the event's run: failed \(exhausted\)\n.*workflow +event/evt_lost\n` +
		`.*retryable +503 .*retryable +503 .*run 2 of 2, sent again: delivered\n.*workflow +resend/` + lost + `/.*delivered +200`).MatchString(out) {
		t.Errorf("deliveries show %s after recover:\n%s", lost, out)
	}

	// The event's own run stays failed in the list, which says what sending it again did.
	failedLine := regexp.MustCompile(`(?m)^event/evt_lost +failed \(sent again: delivered\) `)
	for deadline := time.Now().Add(15 * time.Second); !failedLine.MatchString(out); time.Sleep(100 * time.Millisecond) {
		if out = runCLI(t, d, "deliveries", "list", "--status", "failed"); time.Now().After(deadline) {
			t.Errorf("deliveries list --status failed after recover:\n%s", out)
			break
		}
	}

	// The list: running first, then closed by close time (docs/decisions.md), so
	// event/evt_nocode, the oldest but still running, comes before event/evt_lost.
	var l api.List[deliverylog.EventSummary]
	var listed []string
	for deadline := time.Now().Add(15 * time.Second); !slices.Contains(listed, "event/evt_lost") || !slices.Contains(listed, "event/evt_nocode"); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the delivery log lists %v after 15s", listed)
		}
		l = api.List[deliverylog.EventSummary]{}
		if err := json.Unmarshal([]byte(runCLI(t, d, "deliveries", "list", "-o", "json")), &l); err != nil {
			t.Fatal(err)
		}
		listed = listed[:0]
		for _, e := range l.Data {
			listed = append(listed, e.WorkflowID)
		}
	}
	for _, e := range l.Data {
		if e.WorkflowID == "event/evt_nocode" && e.Status != workflows.StatusRetrying {
			t.Errorf("event/evt_nocode is %s, want retrying (running)", e.Status)
		}
	}
	checkListOrder(t, "deliveries list", l.Data)
	if slices.Index(listed, "event/evt_nocode") > slices.Index(listed, "event/evt_lost") {
		t.Errorf("deliveries list: %v; want event/evt_nocode (older, running) before event/evt_lost (newer, closed)", listed)
	}

	// An event id where a delivery id belongs: what to type instead; "not found" once.
	err = runCLIErr(t, d, "deliveries", "show", "evt_lost")
	if err == nil || !strings.Contains(err.Error(), `"evt_lost" is an event id`) || !strings.Contains(err.Error(), "hookflow deliveries list --event evt_lost") ||
		strings.Count(strings.ReplaceAll(err.Error(), "_", " "), "not found") != 1 {
		t.Errorf("deliveries show evt_lost: %v", err)
	}
	if out := runCLI(t, d, "deliveries", "list", "--event", "evt_lost"); !strings.Contains(out, lost) || strings.Contains(out, "evt_nocode") {
		t.Errorf("deliveries list --event evt_lost does not list %s alone:\n%s", lost, out)
	}
	missing := payloads.DeliveryID("evt_never", distr.ID)
	err = runCLIErr(t, d, "deliveries", "show", missing)
	if err == nil || !strings.Contains(err.Error(), "no delivery "+missing) || strings.Count(strings.ReplaceAll(err.Error(), "_", " "), "not found") != 1 {
		t.Errorf("deliveries show %s: %v", missing, err)
	}
}

// checkListOrder checks that events are in the order the delivery log documents: the
// running ones first, newest started first, then the closed ones, most recently closed
// first (then newest started first).
func checkListOrder(t *testing.T, what string, events []deliverylog.EventSummary) {
	t.Helper()
	for i := 1; i < len(events); i++ {
		a, b := events[i-1], events[i]
		var inOrder bool
		switch {
		case a.ClosedAt == nil && b.ClosedAt == nil:
			inOrder = !b.StartedAt.After(a.StartedAt)
		case a.ClosedAt == nil:
			inOrder = true // running before closed
		case b.ClosedAt == nil:
			inOrder = false
		default:
			inOrder = b.ClosedAt.Before(*a.ClosedAt) || b.ClosedAt.Equal(*a.ClosedAt) && !b.StartedAt.After(a.StartedAt)
		}
		if !inOrder {
			t.Errorf("%s: %s (started %s, closed %v) after %s (started %s, closed %v): want running first, newest started first, then closed, most recently closed first",
				what, b.WorkflowID, b.StartedAt, b.ClosedAt, a.WorkflowID, a.StartedAt, a.ClosedAt)
		}
	}
}

// TestDevDeliveryLogOrderAcrossPages: the delivery log read a page at a time (the API's
// page_token, and `deliveries list --all`) is in one order across the pages, the one the
// docs give: the events still running first, newest started first, then the closed ones,
// most recently closed first. Running and closed events alternate in time, so that an order
// by start time, or one sorted page by page, differs from it.
func TestDevDeliveryLogOrderAcrossPages(t *testing.T) {
	if testing.Short() {
		t.Skip("starts hookflow dev")
	}
	d := startDev(t, t.TempDir(), nil)
	c := d.client(t)
	okRecv, downRecv := newReceiver(t), newReceiver(t, 503)
	for _, distr := range []map[string]any{
		{"name": "Fast", "status": "live",
			"trigger": map[string]any{"events": []string{"customer.order.paid"}, "filter": `data.order.id == "fast"`},
			"webhook": map[string]any{"event_name": "Order-paid", "url": okRecv.URL}},
		// Its receiver answers 503 and the next attempt is in an hour: the event runs on.
		{"name": "Down", "status": "live",
			"trigger": map[string]any{"events": []string{"customer.order.paid"}, "filter": `data.order.id == "slow"`},
			"webhook": map[string]any{"event_name": "Order-paid", "url": downRecv.URL, "retry_schedule": []string{"1h"}}},
	} {
		if status, body := call(t, "POST", d.api+"/v1/distributions", distr); status != 201 {
			t.Fatalf("create distribution: %d %s", status, body)
		}
	}
	send := func(id, order string) {
		t.Helper()
		body := fmt.Sprintf(`{"id":%q,"type":"customer.order.paid","data":{"customer":{"id":"c"},"order":{"id":%q,"amount":1}}}`, id, order)
		if status, out := call(t, "POST", d.api+"/v1/events", body); status != 202 {
			t.Fatalf("send %s: %d %s", id, status, out)
		}
		if order == "fast" { // closed before the next event starts
			var res workflows.DeliveryResult
			waitWorkflow(t, c, workflows.WorkflowID(id), 30*time.Second, &res)
		}
	}
	for _, e := range [][2]string{{"evt_slow_1", "slow"}, {"evt_fast_1", "fast"}, {"evt_fast_2", "fast"}, {"evt_slow_2", "slow"}, {"evt_fast_3", "fast"}, {"evt_slow_3", "slow"}} {
		send(e[0], e[1])
	}
	want := []string{"event/evt_slow_3", "event/evt_slow_2", "event/evt_slow_1", "event/evt_fast_3", "event/evt_fast_2", "event/evt_fast_1"}

	// Wait until the visibility store lists all six, the three slow ones still running.
	list := func(query string) api.List[deliverylog.EventSummary] {
		t.Helper()
		status, body := call(t, "GET", d.api+"/v1/deliveries?"+query, nil)
		if status != 200 {
			t.Fatalf("GET /v1/deliveries?%s: %d %s", query, status, body)
		}
		var l api.List[deliverylog.EventSummary]
		mustJSON(t, body, &l)
		return l
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		l := list("limit=50")
		running := 0
		for _, e := range l.Data {
			if e.ClosedAt == nil {
				running++
			}
		}
		if len(l.Data) == len(want) && running == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the delivery log lists %d events, %d running, after 30s; want 6, 3 running", len(l.Data), running)
		}
	}

	// Through the API, two events a page.
	var paged []deliverylog.EventSummary
	pages := 0
	for query := "limit=2"; ; {
		l := list(query)
		pages++
		paged = append(paged, l.Data...)
		if !l.HasMore {
			break
		}
		if pages > len(want) {
			t.Fatalf("more than %d pages of 2 for %d events", pages, len(want))
		}
		query = "limit=2&page_token=" + url.QueryEscape(l.NextPageToken)
	}
	var ids []string
	for _, e := range paged {
		ids = append(ids, e.WorkflowID)
	}
	if pages < 3 || !slices.Equal(ids, want) {
		t.Errorf("GET /v1/deliveries, 2 a page: %d pages, %v\nwant %v", pages, ids, want)
	}
	checkListOrder(t, "GET /v1/deliveries, 2 a page", paged)

	// Through the CLI, which appends the pages.
	var all api.List[deliverylog.EventSummary]
	mustJSON(t, []byte(runCLI(t, d, "deliveries", "list", "--limit", "2", "--all", "-o", "json")), &all)
	ids = ids[:0]
	for _, e := range all.Data {
		ids = append(ids, e.WorkflowID)
	}
	if !slices.Equal(ids, want) {
		t.Errorf("deliveries list --limit 2 --all: %v\nwant %v", ids, want)
	}
	checkListOrder(t, "deliveries list --limit 2 --all", all.Data)
}

// runsOf is d without its body, for a message.
func runsOf(d deliverylog.Delivery) string {
	d.Body = nil
	b, _ := json.Marshal(d)
	return string(b)
}

// TestDevDeliveryLogFilterError: a distribution whose filter fails on the event (a key the
// event lacks) is a delivery of the event's own run that a user can look up by its id, in
// `hookflow deliveries show` and GET /v1/deliveries/{id}: no_match, with the filter's error.
func TestDevDeliveryLogFilterError(t *testing.T) {
	if testing.Short() {
		t.Skip("starts hookflow dev")
	}
	d := startDev(t, t.TempDir(), nil)
	c := d.client(t)
	recv := newReceiver(t)
	status, body := call(t, "POST", d.api+"/v1/distributions", map[string]any{
		"name": "Euro orders", "status": "live",
		// The event's order has no currency: the filter errors rather than being false.
		"trigger": map[string]any{"events": []string{"customer.order.paid"}, "filter": `data.order.currency == "EUR"`},
		"action":  map[string]any{"type": "plain_message"},
		"webhook": map[string]any{"event_name": "Order-paid", "url": recv.URL},
	})
	if status != 201 {
		t.Fatalf("create the distribution with a filter: %d %s", status, body)
	}
	var euro distributionOut
	mustJSON(t, body, &euro)
	createDistribution(t, d, recv.URL, nil) // and one that takes the event

	h := sendEvent(t, d, "evt_filter")
	var res workflows.DeliveryResult
	waitWorkflow(t, c, h.WorkflowID, 30*time.Second, &res)
	if res.Status != workflows.StatusDelivered || len(res.FilterErrors) != 1 || res.FilterErrors[0].DistributionID != euro.ID {
		t.Fatalf("evt_filter: %+v", res)
	}
	reason := res.FilterErrors[0].Reason
	if !strings.HasPrefix(reason, "filter: ") || !strings.Contains(reason, "currency") {
		t.Fatalf("filter error %q: want the filter's error, naming the missing key", reason)
	}

	id := payloads.DeliveryID("evt_filter", euro.ID)
	var shown deliverylog.Delivery
	// The visibility store lists the run a moment after it closed.
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && shown.Status == ""; time.Sleep(200 * time.Millisecond) {
		status, body := call(t, "GET", d.api+"/v1/deliveries/"+id, nil)
		if status == 200 {
			mustJSON(t, body, &shown)
		} else if status != 404 {
			t.Fatalf("GET /v1/deliveries/%s: %d %s", id, status, body)
		}
	}
	if shown.Status != workflows.StatusNoMatch || shown.Reason != reason || shown.DistributionID != euro.ID || shown.EventID != "evt_filter" ||
		len(shown.Runs) != 1 || shown.Runs[0].Resend || shown.Runs[0].WorkflowID != "event/evt_filter" {
		t.Fatalf("GET /v1/deliveries/%s: %s", id, runsOf(shown))
	}
	out := runCLI(t, d, "deliveries", "show", id)
	for _, want := range []string{"delivery " + id + ": no_match (" + reason + ")", "distribution  " + euro.ID,
		"run 1 of 1, the event's run: no_match (" + reason + ")"} {
		if !strings.Contains(out, want) {
			t.Errorf("deliveries show %s lacks %q:\n%s", id, want, out)
		}
	}
}

// TestDevDeliveryLogTemplateWarnings: a delivery whose template names paths the event does
// not have is delivered, and the warnings rendering made are in the delivery log, as the
// user reads it: GET /v1/deliveries/{id} (the delivery's and its run's) and `hookflow
// deliveries show` (text and -o json).
func TestDevDeliveryLogTemplateWarnings(t *testing.T) {
	if testing.Short() {
		t.Skip("starts hookflow dev")
	}
	d := startDev(t, t.TempDir(), nil)
	c := d.client(t)
	recv := newReceiver(t)
	status, body := call(t, "POST", d.api+"/v1/distributions", map[string]any{
		"name": "Gift notes", "status": "live",
		"trigger": map[string]any{"events": []string{"customer.order.paid"}},
		"action":  map[string]any{"type": "plain_message"},
		"webhook": map[string]any{"event_name": "Order-paid", "url": recv.URL,
			// The event's order has neither: one renders as null, the other as "".
			"template": `{"order": "{{order.id}}", "note": "{{order.metadata.gift_message}}", "wrapped": {{order.gift_wrap}}}`},
	})
	if status != 201 {
		t.Fatalf("create the distribution with a template: %d %s", status, body)
	}
	var gift distributionOut
	mustJSON(t, body, &gift)
	warnings := []string{
		"template: {{order.metadata.gift_message}} has no value in this event; rendered as an empty string",
		"template: {{order.gift_wrap}} has no value in this event; rendered as null",
	}

	h := sendEvent(t, d, "evt_template")
	var res workflows.DeliveryResult
	waitWorkflow(t, c, h.WorkflowID, 30*time.Second, &res)
	if res.Status != workflows.StatusDelivered || len(res.Deliveries) != 1 {
		t.Fatalf("evt_template: %+v", res)
	}
	if got := recv.requests(); len(got) != 1 || !strings.Contains(string(got[0].body), `"note":"","wrapped":null`) {
		t.Fatalf("the receiver got %d requests, want one with the missing paths empty and null: %v", len(got), got)
	}

	id := payloads.DeliveryID("evt_template", gift.ID)
	var shown deliverylog.Delivery
	// The visibility store lists the run a moment after it closed.
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && shown.Status == ""; time.Sleep(200 * time.Millisecond) {
		status, body := call(t, "GET", d.api+"/v1/deliveries/"+id, nil)
		if status == 200 {
			mustJSON(t, body, &shown)
		} else if status != 404 {
			t.Fatalf("GET /v1/deliveries/%s: %d %s", id, status, body)
		}
	}
	if shown.Status != workflows.StatusDelivered || !slices.Equal(shown.Warnings, warnings) ||
		len(shown.Runs) != 1 || !slices.Equal(shown.Runs[0].Warnings, warnings) {
		t.Errorf("GET /v1/deliveries/%s: status %s, warnings %q, runs %s; want delivered with warnings %q", id, shown.Status, shown.Warnings, runsOf(shown), warnings)
	}

	out := runCLI(t, d, "deliveries", "show", id)
	for _, w := range warnings {
		if want := "  warning       " + w + "\n"; strings.Count(out, want) != 2 { // the delivery's, and its run's
			t.Errorf("deliveries show %s does not print %q for the delivery and its run:\n%s", id, want, out)
		}
	}
	var asJSON deliverylog.Delivery
	mustJSON(t, []byte(runCLI(t, d, "deliveries", "show", id, "-o", "json")), &asJSON)
	if !slices.Equal(asJSON.Warnings, warnings) {
		t.Errorf("deliveries show %s -o json: warnings %q, want %q", id, asJSON.Warnings, warnings)
	}
}
