package e2e

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/hookflow/hookflow/api"
	"github.com/hookflow/hookflow/workflows"
)

// createManualDistribution makes a live distribution that takes manual messages.
func createManualDistribution(t *testing.T, apiURL, target string) string {
	t.Helper()
	status, body := call(t, "POST", apiURL+"/v1/distributions", map[string]any{
		"name":    "Spring sale",
		"trigger": map[string]any{"events": []string{workflows.ManualEventType}},
		"action": map[string]any{"type": "notify_promotion",
			"campaign":       map[string]any{"id": "camp_spring", "name": "Spring"},
			"promotion_tier": map[string]any{"id": "promo_10", "name": "10% off"}},
		"webhook": map[string]any{"event_name": "Manual-message", "url": target, "retry_schedule": []string{"1s", "2s", "4s", "8s", "16s"}},
	})
	if status != 201 {
		t.Fatalf("create distribution: %d %s", status, body)
	}
	var d struct {
		ID string `json:"id"`
	}
	mustJSON(t, body, &d)
	return d.ID
}

func getMessage(t *testing.T, apiURL, id string) api.MessageView {
	t.Helper()
	status, body := call(t, "GET", apiURL+"/v1/messages/"+id, nil)
	if status != 200 {
		t.Fatalf("get message %s: %d %s", id, status, body)
	}
	var m api.MessageView
	mustJSON(t, body, &m)
	return m
}

// TestMessagesDev sends manual messages through `hookflow dev` with the CLI: one with a 2 s
// delay is delivered after it, one canceled in its window is never delivered.
func TestMessagesDev(t *testing.T) {
	if testing.Short() {
		t.Skip("starts hookflow dev")
	}
	d := startDev(t, t.TempDir(), nil)
	recv := newReceiver(t)
	distr := createManualDistribution(t, d.api, recv.URL+"/hooks")

	var sent api.MessageView
	t.Run("a 2 s delay delivers after it, signed, with the distribution and the customer", func(t *testing.T) {
		customer := `{"id":"cust_1","email":"ann@example.com","name":"Ann <& Co>","metadata":{"tier":"gold"}}`
		posted := time.Now()
		out := runCLI(t, d, "messages", "send", distr, "--customer", customer, "--delay", "2s", "-o", "json")
		mustJSON(t, []byte(out), &sent)
		if sent.Status != "scheduled" || sent.Total != 1 || sent.Delay != "2s" {
			t.Fatalf("send: %s", out)
		}
		got := recv.waitRequests(t, 1, time.Minute)[0]
		if waited := got.at.Sub(posted); waited < 2*time.Second {
			t.Errorf("delivered %v after the send, before the 2 s delay", waited)
		}
		var env struct {
			ID   string `json:"id"`
			Type string `json:"type"`
			Data struct {
				Distribution  json.RawMessage `json:"distribution"`
				Customer      json.RawMessage `json:"customer"`
				Campaign      json.RawMessage `json:"campaign"`
				PromotionTier json.RawMessage `json:"promotion_tier"`
			} `json:"data"`
			Source struct {
				ID     string `json:"id"`
				Object string `json:"object"`
			} `json:"source"`
			Event struct {
				ID      string `json:"id"`
				Type    string `json:"type"`
				GroupID string `json:"group_id"`
			} `json:"event"`
		}
		mustJSON(t, got.body, &env)
		wantDistribution := fmt.Sprintf(`{"id":%q,"message_id":%q,"name":"Spring sale"}`, distr, sent.ID)
		if env.Type != "Manual-message" || string(env.Data.Customer) != customer || string(env.Data.Distribution) != wantDistribution ||
			string(env.Data.Campaign) != `{"id":"camp_spring","name":"Spring"}` || string(env.Data.PromotionTier) != `{"id":"promo_10","name":"10% off"}` ||
			env.Source.ID != distr || env.Source.Object != "distribution" ||
			env.Event.Type != workflows.ManualEventType || env.Event.ID != sent.ID+"/0" || env.Event.GroupID != sent.ID {
			t.Errorf("body %s", got.body)
		}
		if env.ID != got.header.Get("webhook-id") || !strings.HasPrefix(env.ID, "whs_") ||
			got.header.Get("webhook-signature") == "" || got.header.Get("webhook-timestamp") == "" {
			t.Errorf("headers %v", got.header)
		}
		mac := hmac.New(sha256.New, []byte(d.secret))
		mac.Write(got.body)
		if sig := got.header.Get("x-voucherify-signature"); sig != hex.EncodeToString(mac.Sum(nil)) {
			t.Errorf("x-voucherify-signature %q does not verify", sig)
		}
		waitFor(t, 30*time.Second, func() bool { return getMessage(t, d.api, sent.ID).Status == "sent" })
		if m := getMessage(t, d.api, sent.ID); m.Sent != 1 || m.FinishedAt == nil {
			t.Errorf("message after sending %+v", m)
		}
		if out := runCLI(t, d, "messages", "show", sent.ID); !strings.Contains(out, "sent") || !strings.Contains(out, "1 of 1 customers (100%)") {
			t.Errorf("show:\n%s", out)
		}
		// Too late to cancel.
		err := runCLIErr(t, d, "messages", "cancel", sent.ID)
		if err == nil || err.Error() != fmt.Sprintf("409 conflict: message %s is already sent: a message can be canceled only during its delay; to skip what is left, pause its distribution (hookflow distributions pause %s)", sent.ID, distr) {
			t.Errorf("cancel a sent message: %v", err)
		}
		var p workflows.MessageProgress
		waitWorkflow(t, d.client(t), workflows.MessageWorkflowID(sent.ID), 30*time.Second, &p)
		if p.Status != "sent" || p.Sent != 1 {
			t.Errorf("workflow result %+v", p)
		}
		recordWorkflowHistory(t, d.client(t), workflows.MessageWorkflowID(sent.ID), "message_NAME.history.json")
	})

	t.Run("canceled in its window, nothing is delivered", func(t *testing.T) {
		before := len(recv.requests())
		file := filepath.Join(t.TempDir(), "customers.csv")
		if err := os.WriteFile(file, []byte("id,email,metadata.tier\ncust_a,a@example.com,gold\ncust_b,b@example.com,silver\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		var m api.MessageView
		mustJSON(t, []byte(runCLI(t, d, "messages", "send", distr, "-f", file, "--delay", "3s", "-o", "json")), &m)
		if m.Total != 2 || m.Status != "scheduled" {
			t.Fatalf("send %+v", m)
		}
		out := runCLI(t, d, "messages", "cancel", m.ID)
		if out != fmt.Sprintf("canceled message %s: none of its 2 customers will be sent\n", m.ID) {
			t.Errorf("cancel: %q", out)
		}
		// Past the window, and then some: nothing came.
		time.Sleep(time.Until(m.SendAt.Add(4 * time.Second)))
		if n := len(recv.requests()); n != before {
			t.Errorf("%d deliveries of a canceled message", n-before)
		}
		got := getMessage(t, d.api, m.ID)
		if got.Status != "canceled" || got.Sent != 0 || got.CanceledAt == nil {
			t.Errorf("after cancel %+v", got)
		}
		var p workflows.MessageProgress
		waitWorkflow(t, d.client(t), workflows.MessageWorkflowID(m.ID), 30*time.Second, &p)
		if p.Status != "canceled" || p.Sent != 0 {
			t.Errorf("workflow result %+v", p)
		}
		recordWorkflowHistory(t, d.client(t), workflows.MessageWorkflowID(m.ID), "message_NAME_canceled.history.json")
		// The list shows both, newest first.
		var l api.List[api.MessageView]
		mustJSON(t, []byte(runCLI(t, d, "messages", "list", "-o", "json")), &l)
		if l.Total != 2 || l.Data[0].ID != m.ID || l.Data[1].ID != sent.ID {
			t.Errorf("list %+v", l)
		}
	})
}

// TestMessagesDeliveredTogether: the customers of a message are delivered several to a
// workflow, and still each is its own delivery: found by its id with its own attempts and
// event, and when one fails, recovering the distribution sends that one again and no other.
func TestMessagesDeliveredTogether(t *testing.T) {
	if testing.Short() {
		t.Skip("starts hookflow dev")
	}
	d := startDev(t, t.TempDir(), nil)
	recv := newReceiver(t)
	distr := createManualDistribution(t, d.api, recv.URL+"/hooks")
	recv.refuseCustomer("cust_c", http.StatusBadRequest) // stops at once, without pausing the distribution
	since := time.Now().Add(-time.Second)
	file := filepath.Join(t.TempDir(), "customers.jsonl")
	var lines []string
	for _, c := range []string{"a", "b", "c", "d", "e"} {
		lines = append(lines, fmt.Sprintf(`{"id":"cust_%s"}`, c))
	}
	if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var m api.MessageView
	mustJSON(t, []byte(runCLI(t, d, "messages", "send", distr, "-f", file, "--delay", "0s", "-o", "json")), &m)
	recv.waitRequests(t, 5, time.Minute)
	waitFor(t, 30*time.Second, func() bool { return getMessage(t, d.api, m.ID).Status == "sent" })
	// All five in one workflow, which failed for one of them.
	group := workflows.WorkflowID(m.ID + "/0-4")
	var res workflows.DeliveryResult
	waitWorkflow(t, d.client(t), group, 30*time.Second, &res)
	if res.Status != workflows.StatusFailed || len(res.Deliveries) != 5 {
		t.Fatalf("the workflow of the message's customers: %+v", res)
	}
	recordWorkflowHistory(t, d.client(t), group, "delivery_NAME_message.history.json")
	// The Web UI's list names the message and counts its customers, never naming one; the
	// details name the one distribution.
	summary, details := workflowLabels(t, d.client(t), nil, group)
	if want := " " + m.ID + "/0-4 · 5 customers of a message"; !strings.HasSuffix(summary, want) || strings.Contains(summary+details, "cust_") {
		t.Errorf("the workflow's summary %q, want one ending %q", summary, want)
	}
	if n := strings.Count(details, "\n- "); n != 1 || !strings.Contains(details, strings.TrimPrefix(recv.URL, "http://")) {
		t.Errorf("the workflow's details name %d distributions, want the message's one:\n%s", n, details)
	}
	byCustomer := recv.webhookIDsByCustomer()
	idOf := recv.webhookIDOf
	if len(byCustomer) != 5 {
		t.Fatalf("customers received %v", byCustomer)
	}
	type shown struct {
		Status   string `json:"status"`
		EventID  string `json:"event_id"`
		Distrib  string `json:"distribution_id"`
		Attempts []struct {
			StatusCode int `json:"status_code"`
		} `json:"attempts"`
	}
	for i, c := range []string{"cust_a", "cust_c"} {
		var got shown
		waitFor(t, 15*time.Second, func() bool {
			status, body := call(t, "GET", d.api+"/v1/deliveries/"+idOf(c), nil)
			return status == 200 && json.Unmarshal(body, &got) == nil && got.Status != ""
		})
		wantStatus, wantCode, wantEvent := "delivered", 200, m.ID+"/0"
		if i == 1 {
			wantStatus, wantCode, wantEvent = "failed", 400, m.ID+"/2"
		}
		if got.Status != wantStatus || got.EventID != wantEvent || got.Distrib != distr || len(got.Attempts) != 1 || got.Attempts[0].StatusCode != wantCode {
			t.Errorf("delivery of %s: %+v", c, got)
		}
	}
	// The receiver takes cust_c again; recovering sends it, and only it.
	recv.refuseCustomer("cust_c", 0)
	before := len(recv.requests())
	status, body := call(t, "POST", d.api+"/v1/distributions/"+distr+"/recover", map[string]any{"since": since})
	var recovered api.List[struct {
		DeliveryID string          `json:"delivery_id"`
		EventID    string          `json:"event_id"`
		Resent     json.RawMessage `json:"resent"`
	}]
	mustJSON(t, body, &recovered)
	if status != 200 || len(recovered.Data) != 1 || recovered.Data[0].DeliveryID != idOf("cust_c") || recovered.Data[0].EventID != m.ID+"/2" || len(recovered.Data[0].Resent) == 0 {
		t.Fatalf("recover: %d %s", status, body)
	}
	got := recv.waitRequests(t, before+1, 30*time.Second)
	time.Sleep(500 * time.Millisecond)
	if n := len(recv.requests()); n != before+1 || got[before].header.Get("webhook-id") != idOf("cust_c") {
		t.Errorf("after recover: %d new requests, the first for %s", n-before, got[before].header.Get("webhook-id"))
	}
}

// TestMessagesBulkWorkerKilled sends one message to 2,000 customers (10,000 in CI:
// HOOKFLOW_TEST_MESSAGE_CUSTOMERS changes it) through `hookflow server` + `api` + one
// `worker`, and SIGKILLs the worker while it sends, starting a new one. Every customer must
// be delivered, each under one webhook-id; duplicate POSTs (an attempt cut short by the
// kill and made again, with the same webhook-id) are counted and reported.
func TestMessagesBulkWorkerKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Temporal and hookflow processes; takes minutes")
	}
	// 2,000 in go test ./...; .ci/run runs it again with 10,000 (about 4 minutes here), in a
	// step of its own so that the package stays well inside go test's default timeout.
	n := 2_000
	if v := os.Getenv("HOOKFLOW_TEST_MESSAGE_CUSTOMERS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 || n > api.MaxMessageCustomers {
			t.Fatalf("HOOKFLOW_TEST_MESSAGE_CUSTOMERS=%q", v)
		}
	}
	temporalAddr, apiURL, startWorker := startCluster(t)
	worker := startWorker(1, loopbackTargets)
	recv := newReceiver(t)
	distr := createManualDistribution(t, apiURL, recv.URL+"/hooks")

	var file strings.Builder
	for i := range n {
		fmt.Fprintf(&file, `{"id":"cust_%d","email":"c%d@example.com"}`+"\n", i, i)
	}
	start := time.Now()
	req, _ := http.NewRequest("POST", apiURL+"/v1/distributions/"+distr+"/messages?delay=0s", strings.NewReader(file.String()))
	req.Header.Set("content-type", "application/x-ndjson")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("post message: %d %s", resp.StatusCode, body)
	}
	accepted := time.Since(start)
	var m api.MessageView
	mustJSON(t, body, &m)

	// Kill the worker twice: while the message's workflow starts the deliveries (a quarter
	// of the customers started), and while they are delivered (half of them received).
	timeout := 10*time.Minute + time.Duration(n)*60*time.Millisecond
	var kills []string
	for i, reached := range []func() (bool, string){
		func() (bool, string) {
			m := getMessage(t, apiURL, m.ID)
			c, _, _ := recv.customerCounts()
			return m.Sent >= n/4, fmt.Sprintf("%d started, %d delivered", m.Sent, c)
		},
		func() (bool, string) {
			c, _, _ := recv.customerCounts()
			return c >= n/2, fmt.Sprintf("%d started, %d delivered", getMessage(t, apiURL, m.ID).Sent, c)
		},
	} {
		var at string
		waitFor(t, timeout, func() bool { ok, s := reached(); at = s; return ok })
		_ = worker.cmd.Process.Signal(syscall.SIGKILL) // a crash: no drain, no clean exit
		if !worker.wait(30 * time.Second) {
			t.Fatal("the worker did not die")
		}
		before, _, _ := recv.customerCounts()
		killed := time.Now()
		worker = startWorker(i+2, loopbackTargets)
		waitFor(t, 3*time.Minute, func() bool { c, _, _ := recv.customerCounts(); return c > before })
		kills = append(kills, fmt.Sprintf("at %s (first new delivery %v after)", at, time.Since(killed).Round(time.Millisecond)))
	}

	waitFor(t, timeout, func() bool { c, _, _ := recv.customerCounts(); return c >= n })
	elapsed := time.Since(start)
	customers, distinct, total := recv.customerCounts()

	// The last record of the message may queue behind deliveries still being answered.
	var final api.MessageView
	waitFor(t, 3*time.Minute, func() bool { final = getMessage(t, apiURL, m.ID); return final.Status == "sent" })
	if final.Sent != n || final.FinishedAt == nil {
		t.Errorf("message at the end %+v", final)
	}
	for id, hooks := range recv.webhookIDsByCustomer() {
		if hooks != 1 {
			t.Errorf("customer %s received under %d webhook-ids", id, hooks)
		}
	}
	if customers != n || distinct != n {
		t.Errorf("%d customers under %d webhook-ids received, want %d", customers, distinct, n)
	}

	// Every run of the message's workflow, and how long its history is.
	c := dialTemporal(t, temporalAddr, nil)
	var runs []int64
	waitFor(t, time.Minute, func() bool {
		resp, err := c.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf("WorkflowId = '%s'", workflows.MessageWorkflowID(m.ID)), PageSize: 1000})
		if err != nil {
			return false
		}
		runs = runs[:0]
		closed := true
		for _, e := range resp.GetExecutions() {
			runs = append(runs, e.GetHistoryLength())
			closed = closed && e.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
		}
		return len(runs) > 0 && closed
	})
	var longest int64
	for _, h := range runs {
		longest = max(longest, h)
	}
	if perRun := workflows.MessageBatchSize * workflows.MessageBatchesPerRun; len(runs) < (n+perRun-1)/perRun {
		t.Errorf("%d runs of the message's workflow for %d customers, %d per run", len(runs), n, perRun)
	}
	report(t, "accounting: %d customers, %d delivered (distinct webhook-id), %d POSTs, %d duplicates; message accepted in %v; "+
		"worker SIGKILLed %s; all delivered in %v: %.0f customers/s; "+
		"%d workflow runs, longest history %d events",
		n, distinct, total, total-distinct, accepted.Round(time.Millisecond), strings.Join(kills, " and "),
		elapsed.Round(time.Second), float64(n)/elapsed.Seconds(), len(runs), longest)
}
