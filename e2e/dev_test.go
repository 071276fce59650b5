package e2e

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/hookflow/hookflow/cli"
	"github.com/hookflow/hookflow/workflows"
)

// listWorkflowsInUI asks the Web UI's server, as the browser does, for the workflows that
// a visibility query selects.
func listWorkflowsInUI(t *testing.T, d *devProcess, query string) []string {
	t.Helper()
	status, body := call(t, "GET", d.ui+"/api/v1/namespaces/default/workflows?query="+url.QueryEscape(query), nil)
	if status != 200 {
		t.Fatalf("Web UI list %q: %d %s", query, status, body)
	}
	var list struct {
		Executions []struct {
			Execution struct {
				WorkflowID string `json:"workflowId"`
			} `json:"execution"`
		} `json:"executions"`
	}
	mustJSON(t, body, &list)
	var ids []string
	for _, e := range list.Executions {
		ids = append(ids, e.Execution.WorkflowID)
	}
	return ids
}

// waitListedInUI waits until the Web UI lists workflowID for query: visibility is written
// after the workflow's own state, so a closed workflow may take a moment to appear.
func waitListedInUI(t *testing.T, d *devProcess, workflowID, query string) {
	t.Helper()
	var ids []string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if ids = listWorkflowsInUI(t, d, query); slices.Contains(ids, workflowID) {
			return
		}
	}
	t.Errorf("the Web UI does not list %s for %s: %v", workflowID, query, ids)
}

// TestDev runs one `hookflow dev` and checks, through its API, a real receiver and the Web
// UI, what a user would check.
func TestDev(t *testing.T) {
	if testing.Short() {
		t.Skip("starts hookflow dev")
	}
	d := startDev(t, t.TempDir(), nil)
	c := d.client(t)

	t.Run("body matches the golden envelope and both signatures verify", func(t *testing.T) {
		recv := newReceiver(t)
		target := recv.URL + "/hooks?a=1&b=2"
		distr := createDistribution(t, d, target, nil)
		event, err := os.ReadFile("testdata/e2e_order_paid.event.json")
		if err != nil {
			t.Fatal(err)
		}
		before := time.Now().UTC().Add(-time.Second)
		status, body := call(t, "POST", d.api+"/v1/events", event)
		if status != 202 {
			t.Fatalf("%d %s", status, body)
		}
		got := recv.waitRequests(t, 1, 30*time.Second)[0]

		var env struct {
			ID        string `json:"id"`
			CreatedAt string `json:"created_at"`
		}
		mustJSON(t, got.body, &env)
		created, err := time.Parse("2006-01-02T15:04:05.000Z", env.CreatedAt)
		if err != nil || created.Before(before) || created.After(time.Now().Add(time.Second)) {
			t.Errorf("created_at %q is not the delivery's creation time: %v", env.CreatedAt, err)
		}
		golden, err := os.ReadFile("testdata/e2e_order_paid.v2024-01-01.golden.json")
		if err != nil {
			t.Fatal(err)
		}
		want := strings.NewReplacer(
			"{{DELIVERY_ID}}", got.header.Get("webhook-id"),
			"{{PROJECT_ID}}", d.projectID,
			"{{CREATED_AT}}", env.CreatedAt,
			"{{DISTRIBUTION_ID}}", distr.ID,
			"{{URL}}", target,
		).Replace(strings.TrimSuffix(string(golden), "\n"))
		if string(got.body) != want {
			t.Errorf("body differs from the golden envelope\ngot:  %s\nwant: %s", got.body, want)
		}
		if env.ID != got.header.Get("webhook-id") || !strings.HasPrefix(env.ID, "whs_") {
			t.Errorf("envelope id %q, webhook-id %q", env.ID, got.header.Get("webhook-id"))
		}
		if got.path != "/hooks?a=1&b=2" || got.header.Get("content-type") != "application/json" ||
			!strings.HasPrefix(got.header.Get("user-agent"), "hookflow/") {
			t.Errorf("path %q headers %v", got.path, got.header)
		}

		// x-voucherify-signature: HMAC-SHA256 keyed with the whole secret string, computed
		// here without hookflow's code.
		mac := hmac.New(sha256.New, []byte(d.secret))
		mac.Write(got.body)
		if sig := got.header.Get("x-voucherify-signature"); sig != hex.EncodeToString(mac.Sum(nil)) {
			t.Errorf("x-voucherify-signature %q does not verify", sig)
		}
		wh, err := standardwebhooks.NewWebhook(d.secret)
		if err != nil {
			t.Fatal(err)
		}
		if err := wh.Verify(got.body, got.header); err != nil {
			t.Errorf("Standard Webhooks signature does not verify: %v", err)
		}
		var res workflows.DeliveryResult
		waitWorkflow(t, c, "event/evt_8f14e45f", 30*time.Second, &res)
		if res.Status != workflows.StatusDelivered || len(res.Deliveries) != 1 || res.Deliveries[0].Attempts != 1 {
			t.Errorf("result %+v", res)
		}
		// A delivery at the first attempt costs the fewest events: its start (its input holds
		// the candidates the API read), one workflow task that posts (one local-activity
		// marker, no version marker), one search-attribute upsert, and the close.
		var types []string
		for _, ev := range workflowHistory(t, c, "event/evt_8f14e45f").GetEvents() {
			types = append(types, ev.GetEventType().String())
		}
		if want := []string{"WorkflowExecutionStarted", "WorkflowTaskScheduled", "WorkflowTaskStarted", "WorkflowTaskCompleted",
			"MarkerRecorded", "UpsertWorkflowSearchAttributes", "WorkflowExecutionCompleted"}; !slices.Equal(types, want) {
			t.Errorf("history of a delivery at the first attempt:\n%v\nwant\n%v", types, want)
		}
	})

	t.Run("fails twice then answers 200: three attempts with one webhook-id", func(t *testing.T) {
		recv := newReceiver(t, 503, 500, 200)
		distr := createDistribution(t, d, recv.URL, []string{"1s", "1s", "1s"})
		h := sendEvent(t, d, "evt_retried")
		var res workflows.DeliveryResult
		waitWorkflow(t, c, h.WorkflowID, 60*time.Second, &res)
		got := recv.requests()
		if len(got) != 3 {
			t.Fatalf("receiver got %d attempts, want 3", len(got))
		}
		for _, r := range got[1:] {
			if r.header.Get("webhook-id") != got[0].header.Get("webhook-id") || !bytes.Equal(r.body, got[0].body) {
				t.Errorf("attempts differ in webhook-id or body")
			}
		}
		if gap := got[1].at.Sub(got[0].at); gap < 900*time.Millisecond {
			t.Errorf("retry came %v after the first attempt, before the 1s of the schedule", gap)
		}
		if res.Status != workflows.StatusDelivered || res.Deliveries[0].Attempts != 3 || res.Deliveries[0].DistributionID != distr.ID {
			t.Errorf("result %+v", res)
		}
		waitListedInUI(t, d, h.WorkflowID, `HookflowStatus = "delivered" AND HookflowEventType = "customer.order.paid" AND HookflowDistributions = "`+distr.ID+`" AND HookflowTargetHosts = "127.0.0.1"`)
		// The delivery log shows the three attempts, as the history recorded them.
		var shown struct {
			Status   string `json:"status"`
			Body     json.RawMessage
			Attempts []struct {
				Outcome    string `json:"outcome"`
				StatusCode int    `json:"status_code"`
				Response   string `json:"response"`
			} `json:"attempts"`
		}
		deliveryID := got[0].header.Get("webhook-id")
		status, body := call(t, "GET", d.api+"/v1/deliveries/"+deliveryID, nil)
		mustJSON(t, body, &shown)
		if status != 200 || shown.Status != "delivered" || len(shown.Attempts) != 3 || string(shown.Body) != string(got[0].body) ||
			shown.Attempts[0].StatusCode != 503 || shown.Attempts[0].Outcome != "retryable" || shown.Attempts[0].Response != "answer 503" ||
			shown.Attempts[1].StatusCode != 500 || shown.Attempts[2].StatusCode != 200 || shown.Attempts[2].Outcome != "delivered" {
			t.Errorf("GET /v1/deliveries/%s: %d %s", deliveryID, status, body)
		}
		if out := runCLI(t, d, "deliveries", "show", deliveryID); !strings.Contains(out, "delivered") || strings.Count(out, "retryable") != 2 {
			t.Errorf("hookflow deliveries show:\n%s", out)
		}
		// The proto bytes, where payloads are as stored (the JSON base64-encodes them).
		raw, _, _ := rawHistory(t, c, h.WorkflowID)
		if !strings.Contains(string(raw), `"amount":100`) {
			t.Errorf("the history of %s does not show the event in clear: the secret check below could not fail", h.WorkflowID)
		} else if strings.Contains(string(raw), strings.TrimPrefix(d.secret, "whsec_")) {
			t.Errorf("the signing secret is in the history of %s", h.WorkflowID)
		}
		recordWorkflowHistory(t, c, h.WorkflowID, "delivery_NAME.history.json")
	})

	t.Run("never 2xx: one notification and a paused distribution", func(t *testing.T) {
		recv := newReceiver(t, 503)
		distr := createDistribution(t, d, recv.URL, []string{"500ms", "500ms"})
		h := sendEvent(t, d, "evt_doomed")
		var res workflows.DeliveryResult
		waitWorkflow(t, c, h.WorkflowID, 60*time.Second, &res)
		if n := len(recv.requests()); n != 3 {
			t.Errorf("receiver got %d attempts, want 3", n)
		}
		if res.Status != workflows.StatusFailed || res.Deliveries[0].Reason != workflows.ReasonExhausted {
			t.Errorf("result %+v", res)
		}
		status, body := call(t, "GET", d.api+"/v1/distributions/"+distr.ID, nil)
		var got distributionOut
		mustJSON(t, body, &got)
		if status != 200 || got.Status != "paused" {
			t.Errorf("distribution after exhaustion: %d %s", status, body)
		}
		status, body = call(t, "GET", d.api+"/v1/notifications?unread=true", nil)
		var list struct {
			Data []struct {
				ID             string `json:"id"`
				DeliveryID     string `json:"delivery_id"`
				DistributionID string `json:"distribution_id"`
				EventID        string `json:"event_id"`
				Attempts       int    `json:"attempts"`
				Message        string `json:"message"`
				Link           string `json:"link"`
				Paused         bool   `json:"distribution_paused"`
			} `json:"data"`
		}
		mustJSON(t, body, &list)
		var mine int
		for _, n := range list.Data {
			if n.EventID != "evt_doomed" {
				continue
			}
			mine++
			if n.DistributionID != distr.ID || n.Attempts != 3 || !n.Paused || n.DeliveryID != res.Deliveries[0].DeliveryID ||
				!strings.Contains(n.Message, "HTTP 503") || !strings.Contains(n.Link, url.PathEscape(h.WorkflowID)) {
				t.Errorf("notification %+v", n)
			}
		}
		if status != 200 || mine != 1 {
			t.Errorf("want one notification for evt_doomed: %d %s", status, body)
		}
		waitListedInUI(t, d, h.WorkflowID, `HookflowStatus = "failed"`)
		if out := runCLI(t, d, "deliveries", "list", "--status", "failed", "--distribution", distr.ID); !strings.Contains(out, h.WorkflowID) {
			t.Errorf("hookflow deliveries list --status failed:\n%s", out)
		}
		// A paused distribution takes nothing: the next event is recorded as skipped.
		h2 := sendEvent(t, d, "evt_while_paused")
		var res2 workflows.DeliveryResult
		waitWorkflow(t, c, h2.WorkflowID, 30*time.Second, &res2)
		if len(recv.requests()) != 3 || len(res2.Skipped) != 1 || res2.Skipped[0].DistributionID != distr.ID || res2.Status != workflows.StatusSkipped {
			t.Errorf("event while paused: result %+v, %d requests", res2, len(recv.requests()))
		}
		out := runCLI(t, d, "notifications", "list", "--unread")
		if !strings.Contains(out, "evt_doomed") || !strings.Contains(out, "paused") {
			t.Errorf("hookflow notifications list:\n%s", out)
		}
	})

	t.Run("metrics name deliveries, attempts, latency, notifications, the SDK's worker and the server", func(t *testing.T) {
		if status, body := call(t, "GET", d.api+"/readyz", nil); status != 200 || !strings.Contains(string(body), `"ready"`) {
			t.Errorf("dev /readyz: %d %s", status, body)
		}
		// Not on the API's listener: the API's own 404.
		if status, body := call(t, "GET", d.api+"/metrics", nil); status != 404 || strings.Contains(string(body), "hookflow_") {
			t.Errorf("dev: GET /metrics on the API: %d %s", status, body)
		}
		if !strings.Contains(d.output.String(), "Metrics         "+d.ready.Metrics+" ") || !strings.HasPrefix(d.ready.Metrics, "http://127.0.0.1:") {
			t.Errorf("dev's banner does not show its metrics URL %q:\n%s", d.ready.Metrics, d.output)
		}
		// The embedded server reports its series once a second: wait for them.
		status, text := waitMetrics(t, d.ready.Metrics, `(?m)^service_requests\{`)
		// Series carry the SDK's tags too (namespace, task queue, ...): match the name and
		// the label that matters.
		for _, want := range []string{
			`(?m)^hookflow_deliveries_total\{[^}]*result="delivered"[^}]*\} [1-9]`,
			`(?m)^hookflow_deliveries_total\{[^}]*result="failed"[^}]*\} [1-9]`,
			`(?m)^hookflow_attempts_total\{[^}]*class="2xx"[^}]*\} [1-9]`,
			`(?m)^hookflow_attempts_total\{[^}]*class="5xx"[^}]*\} [1-9]`,
			`(?m)^hookflow_attempt_duration_seconds_bucket\{`,
			`(?m)^hookflow_delivery_latency_seconds_count\{[^}]*\} [1-9]`,
			`(?m)^hookflow_notifications_sent_total\{[^}]*channel="in_app"[^}]*\} 1$`,
			`(?m)^hookflow_distribution_deliveries_total\{[^}]*result="delivered"[^}]*\} [1-9]`,
			// Temporal's Prometheus naming, which its dashboards query.
			`(?m)^temporal_workflow_completed_total\{`,
			`(?m)^temporal_request_total\{`,
			`(?m)^temporal_activity_execution_latency_seconds_bucket\{`,
			`(?m)^# HELP hookflow_deliveries_total `,
			`(?m)^process_cpu_seconds_total `,
			`(?m)^go_gc_duration_seconds\{`,
			`(?m)^process_resident_memory_bytes [1-9]`,
			// The embedded Temporal server's own, as its Prometheus reporter names them.
			`(?m)^service_requests\{[^}]*operation="StartWorkflowExecution"`,
			`(?m)^persistence_latency_bucket\{`,
		} {
			if !regexp.MustCompile(want).MatchString(text) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
		if status != 200 || t.Failed() {
			t.Logf("/metrics (%d):\n%s", status, text)
		}
	})

	t.Run("request ids on answers and error bodies, and an access log line for each", func(t *testing.T) {
		status, body, header := callFull(t, "GET", d.api+"/v1/distributions/dis_none", nil, map[string]string{"X-Request-Id": "e2e-req-1"})
		var e struct {
			Error struct {
				RequestID string `json:"request_id"`
			} `json:"error"`
		}
		mustJSON(t, body, &e)
		if status != 404 || header.Get("X-Request-Id") != "e2e-req-1" || e.Error.RequestID != "e2e-req-1" {
			t.Errorf("GET a missing distribution with a request id: %d %v %s", status, header, body)
		}
		status, _, header = callFull(t, "GET", d.api+"/v1/distributions", nil, map[string]string{"X-Request-Id": "bad id; drop"})
		made := header.Get("X-Request-Id")
		if status != 200 || !regexp.MustCompile(`^req_[0-9a-f]{24}$`).MatchString(made) {
			t.Errorf("an insane request id is replaced: %d %q", status, made)
		}
		for _, want := range []string{
			`(?m)msg=request method=GET route="GET /v1/distributions/\{id\}" status=404 bytes=[1-9][0-9]* duration_ms=[0-9.]+ request_id=e2e-req-1$`,
			`(?m)msg=request method=GET route="GET /v1/distributions" status=200 bytes=[1-9][0-9]* duration_ms=[0-9.]+ request_id=` + made + `$`,
		} {
			// The log line follows the answer, and the process's stderr reaches the test
			// through a pipe: wait for it.
			re := regexp.MustCompile(want)
			for deadline := time.Now().Add(10 * time.Second); !re.MatchString(d.output.String()) && time.Now().Before(deadline); {
				time.Sleep(50 * time.Millisecond)
			}
			if !re.MatchString(d.output.String()) {
				t.Errorf("dev's log lacks %s:\n%s", want, d.output)
			}
		}
	})

	t.Run("a duplicate event id delivers once", func(t *testing.T) {
		recv := newReceiver(t)
		createDistribution(t, d, recv.URL, nil)
		first := sendEvent(t, d, "evt_twice")
		again := sendEvent(t, d, "evt_twice") // while the first may still run
		var res workflows.DeliveryResult
		waitWorkflow(t, c, first.WorkflowID, 30*time.Second, &res)
		late := sendEvent(t, d, "evt_twice") // after it closed
		if first != again || first != late {
			t.Errorf("handles differ: %+v %+v %+v", first, again, late)
		}
		time.Sleep(500 * time.Millisecond)
		if n := len(recv.requests()); n != 1 {
			t.Errorf("receiver got %d deliveries, want 1", n)
		}
	})

	t.Run("the CLI manages distributions and sends events", func(t *testing.T) {
		recv := newReceiver(t)
		out := runCLI(t, d, "distributions", "create", "--name", "CLI", "--events", "customer.order.paid",
			"--url", recv.URL, "--event-name", "Order-paid", "-o", "json")
		var distr distributionOut
		mustJSON(t, []byte(out), &distr)
		if !strings.Contains(runCLI(t, d, "distributions", "list"), distr.ID) {
			t.Error("list misses the new distribution")
		}
		if !strings.Contains(runCLI(t, d, "distributions", "get", distr.ID), `"event_name": "Order-paid"`) {
			t.Error("get does not show the distribution")
		}
		out = runCLI(t, d, "send", "--type", "customer.order.paid", "--id", "evt_cli", "--data", `{"order":{"id":"o"}}`)
		if !strings.Contains(out, "evt_cli") {
			t.Errorf("send: %s", out)
		}
		recv.waitRequests(t, 1, 30*time.Second)
		runCLI(t, d, "distributions", "delete", distr.ID)
		if status, _ := call(t, "GET", d.api+"/v1/distributions/"+distr.ID, nil); status != 404 {
			t.Errorf("after delete: %d", status)
		}
		if err := runCLIErr(t, d, "send", "--type", "customer.order.paid", "--data", `{"order":`); err == nil || !strings.Contains(err.Error(), "--data") {
			t.Errorf("invalid --data: %v", err)
		}
		if err := runCLIErr(t, d, "send", "--type", "no.such.type", "--data", `{}`); err == nil || !strings.Contains(err.Error(), "--type: ") {
			t.Errorf("unknown type: %v", err)
		}
		if err := runCLIErr(t, d, "distributions", "get", "distr_missing"); err == nil || !strings.Contains(err.Error(), `404 not_found: no distribution with id "distr_missing"`) {
			t.Errorf("missing distribution: %v", err)
		}
	})
}

// TestDevResumesAfterRestart stops `hookflow dev` while a delivery waits for its retry and
// starts it again on the same data dir: the retry still happens, once.
func TestDevResumesAfterRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts hookflow dev")
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			d := startDev(t, dir, nil)
			recv := newReceiver(t, 503)
			createDistribution(t, d, recv.URL, []string{"6s", "6s"})
			h := sendEvent(t, d, "evt_restart")
			recv.waitRequests(t, 1, 30*time.Second)
			d.stop(sig, 30*time.Second)
			recv.setCodes(200)

			restart := time.Now()
			d2 := startDev(t, dir, d)
			ready := time.Now()
			var res workflows.DeliveryResult
			waitWorkflow(t, d2.client(t), h.WorkflowID, 90*time.Second, &res)
			got := recv.requests()
			if res.Status != workflows.StatusDelivered || len(got) != 2 {
				t.Fatalf("after restart: result %+v, %d attempts", res, len(got))
			}
			if got[0].header.Get("webhook-id") != got[1].header.Get("webhook-id") {
				t.Error("the retry after the restart has another webhook-id")
			}
			// The retry was due 6 s after the first attempt; dev was down for part of that.
			report(t, "accounting: 1 event, 1 delivered, 2 POSTs (the first answered 503), 0 duplicates, 0 still running; "+
				"dev ready %v after the restart, retry sent %v after the first attempt (due after 6s)",
				ready.Sub(restart).Round(10*time.Millisecond), got[1].at.Sub(got[0].at).Round(10*time.Millisecond))
			if d2.projectID != d.projectID || d2.secret != d.secret {
				t.Error("project id or secret changed across a restart")
			}
		})
	}
}

// TestDevTakenPort: a port that is taken, or a setting that is not valid, ends `hookflow
// dev` at once with an error that names the flag to change.
func TestDevTakenPort(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	port := taken.Addr().String()
	for _, args := range [][]string{
		{"--http", port},
		{"--temporal-port", port[strings.LastIndex(port, ":")+1:]},
		{"--allow-target", "the office"},
		{"--http", "no-port"},
		{"--ui-port", "70000"},
	} {
		// Bounded, so that a dev that starts after all ends (and fails the check) instead
		// of running until go test's timeout.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		var out bytes.Buffer
		err := cli.Run(ctx, append([]string{"dev", "--data-dir", t.TempDir(), "--ui-port", "0", "--http", "127.0.0.1:0"}, args...),
			strings.NewReader(""), &out, &out)
		cancel()
		if err == nil || !strings.Contains(err.Error(), args[0]) {
			t.Errorf("dev %v: err %v, want one that names %s\n%s", args, err, args[0], out.String())
		}
	}
}
