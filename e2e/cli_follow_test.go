package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow/api"
	"github.com/hookflow/hookflow/cli"
	"github.com/hookflow/hookflow/payloads"
)

// The CLI commands that watch or try things on a real `hookflow dev`: distributions test,
// deliveries show --follow, messages show --watch, and the completion of ids.

// runCLISplit runs a hookflow command line in-process against d's API: its stdout, its
// stderr and its error.
func runCLISplit(d *devProcess, args ...string) (stdout, stderr string, err error) {
	var out, errOut bytes.Buffer
	err = cli.Run(context.Background(), append(args, "--api", d.api), strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), err
}

// verifyingReceiver answers every request that carries valid signatures of secret with
// status, a header X-Receiver and a body of its own; one that does not verify, 401. It
// keeps what it got.
type verifyingReceiver struct {
	*httptest.Server
	mu  sync.Mutex
	got []receivedRequest
	bad []string // why requests did not verify
}

func newVerifyingReceiver(t *testing.T, secret string, status int) *verifyingReceiver {
	r := &verifyingReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		id, ts := req.Header.Get("webhook-id"), req.Header.Get("webhook-timestamp")
		sec, _ := strconv.ParseInt(ts, 10, 64)
		want, err := payloads.StandardSignature(secret, id, sec, body)
		problem := ""
		switch {
		case err != nil:
			problem = err.Error()
		case req.Header.Get("webhook-signature") != want:
			problem = "webhook-signature " + req.Header.Get("webhook-signature") + " does not verify"
		case req.Header.Get("x-voucherify-signature") != payloads.VoucherifySignature(secret, body):
			problem = "x-voucherify-signature does not verify"
		case req.Header.Get("content-type") != "application/json" || !strings.HasPrefix(req.Header.Get("user-agent"), "hookflow/"):
			problem = fmt.Sprintf("headers %v", req.Header)
		}
		r.mu.Lock()
		r.got = append(r.got, receivedRequest{header: req.Header.Clone(), body: body, path: req.URL.RequestURI(), at: time.Now()})
		if problem != "" {
			r.bad = append(r.bad, problem)
		}
		r.mu.Unlock()
		if problem != "" {
			http.Error(w, problem, http.StatusUnauthorized)
			return
		}
		w.Header().Set("X-Receiver", "checked")
		w.WriteHeader(status)
		fmt.Fprintf(w, "verified, answering %d", status)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *verifyingReceiver) requests() ([]receivedRequest, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]receivedRequest(nil), r.got...), append([]string(nil), r.bad...)
}

// createDistributionOf makes a distribution of events to target with the retry schedule
// given, in status.
func createDistributionOf(t *testing.T, d *devProcess, name, status string, events []string, target string, schedule any) string {
	t.Helper()
	status0, body := call(t, "POST", d.api+"/v1/distributions", map[string]any{
		"name": name, "status": status,
		"trigger": map[string]any{"events": events},
		"action":  map[string]any{"type": "plain_message"},
		"webhook": map[string]any{"event_name": "Tested", "url": target, "version": "v2024-01-01", "retry_schedule": schedule},
	})
	if status0 != 201 {
		t.Fatalf("create distribution: %d %s", status0, body)
	}
	var out distributionOut
	mustJSON(t, body, &out)
	return out.ID
}

// TestCLIWatchAndTry: on a real `hookflow dev`, distributions test sends one signed sample
// to a receiver that verifies it (also to a paused distribution) and prints its answer, and
// a 500 answer neither retries nor pauses; deliveries show --follow prints a failed first
// attempt before the retry is made, and ends when the delivery is delivered; messages show
// --watch prints a message's progress until it is sent; completion offers the ids of the
// API.
func TestCLIWatchAndTry(t *testing.T) {
	if testing.Short() {
		t.Skip("starts hookflow dev")
	}
	d := startDev(t, t.TempDir(), nil)

	t.Run("distributions test: a paused distribution gets one signed sample and the answer is printed", func(t *testing.T) {
		recv := newVerifyingReceiver(t, d.secret, 200)
		id := createDistributionOf(t, d, "Tested", "paused", []string{"customer.order.*"}, recv.URL+"/hooks?token=abc", []string{"1s"})
		out, errOut, err := runCLISplit(d, "distributions", "test", id, "--type", "customer.order.canceled", "-o", "json")
		if err != nil {
			t.Fatalf("distributions test: %v\n%s%s", err, out, errOut)
		}
		var res api.TestView
		mustJSON(t, []byte(out), &res)
		got, bad := recv.requests()
		if len(got) != 1 || len(bad) != 0 {
			t.Fatalf("the receiver got %d requests, not verified: %v", len(got), bad)
		}
		var env struct {
			ID     string `json:"id"`
			Type   string `json:"type"`
			Source struct {
				ID        string `json:"id"`
				TargetURL string `json:"target_url"`
			} `json:"source"`
			Event struct {
				ID   string `json:"id"`
				Type string `json:"type"`
			} `json:"event"`
			Data map[string]json.RawMessage `json:"data"`
		}
		mustJSON(t, got[0].body, &env)
		if env.ID != res.DeliveryID || got[0].header.Get("webhook-id") != res.DeliveryID || env.Type != "Tested" ||
			env.Source.ID != id || env.Source.TargetURL != recv.URL+"/hooks?token=abc" || got[0].path != "/hooks?token=abc" ||
			env.Event.Type != "customer.order.canceled" || env.Event.ID != res.Event.ID || env.Data["order"] == nil ||
			res.DeliveryID != payloads.DeliveryID(res.Event.ID, id) {
			t.Errorf("sent %s under webhook-id %s; the answer %s", got[0].body, got[0].header.Get("webhook-id"), out)
		}
		var sent bytes.Buffer
		if err := json.Compact(&sent, res.Request.Body); err != nil || sent.String() != string(got[0].body) {
			t.Errorf("the answer says it sent %s; the receiver got %s", res.Request.Body, got[0].body)
		}
		r := res.Response
		if r.StatusCode != 200 || r.Outcome != payloads.Delivered || r.Body != "verified, answering 200" ||
			len(r.Headers["X-Receiver"]) != 1 || r.Headers["X-Receiver"][0] != "checked" || r.LatencyMs < 0 {
			t.Errorf("the answer %+v", r)
		}
		// The text shows the same, and the distribution is still paused.
		text, errOut, err := runCLISplit(d, "distributions", "test", id)
		if err != nil {
			t.Fatalf("distributions test: %v %s", err, errOut)
		}
		for _, want := range []string{"delivery  whs_", "answer    200 OK in ", "X-Receiver: checked", "verified, answering 200", "customer.order.created"} {
			if !strings.Contains(text, want) {
				t.Errorf("distributions test prints no %q:\n%s", want, text)
			}
		}
		if status, body := call(t, "GET", d.api+"/v1/distributions/"+id, nil); status != 200 || !strings.Contains(string(body), `"status":"paused"`) {
			t.Errorf("after the tests: %d %s", status, body)
		}
		// The test's delivery is none of the delivery log's.
		if status, body := call(t, "GET", d.api+"/v1/deliveries/"+res.DeliveryID, nil); status != 404 {
			t.Errorf("GET /v1/deliveries/%s: %d %s", res.DeliveryID, status, body)
		}
	})

	t.Run("distributions test: a 500 is printed, exits 1, and neither retries nor pauses", func(t *testing.T) {
		recv := newVerifyingReceiver(t, d.secret, 500)
		id := createDistributionOf(t, d, "Failing", "live", []string{"customer.order.paid"}, recv.URL+"/hooks", []string{"1s"})
		out, _, err := runCLISplit(d, "distributions", "test", id, "-o", "json")
		if err == nil || !strings.Contains(err.Error(), "did not answer 2xx") {
			t.Errorf("a 500 answer: error %v", err)
		}
		var res api.TestView
		mustJSON(t, []byte(out), &res)
		if res.Response.StatusCode != 500 || res.Response.Outcome != payloads.Retryable || res.Response.Body != "verified, answering 500" ||
			!strings.Contains(res.Response.Error, "HTTP 500") {
			t.Errorf("the answer %+v", res.Response)
		}
		// A delivery would be retried after 1 s and, with one retry, fail and pause.
		time.Sleep(4 * time.Second)
		if got, _ := recv.requests(); len(got) != 1 {
			t.Errorf("the receiver got %d requests, want the test's alone", len(got))
		}
		if status, body := call(t, "GET", d.api+"/v1/distributions/"+id, nil); status != 200 || !strings.Contains(string(body), `"status":"live"`) {
			t.Errorf("after a failed test: %d %s", status, body)
		}
		if status, body := call(t, "GET", d.api+"/v1/notifications", nil); status != 200 || strings.Contains(string(body), res.DeliveryID) {
			t.Errorf("a notification of the test: %d %s", status, body)
		}
	})

	t.Run("distributions test: bad input names what is wrong", func(t *testing.T) {
		id := createDistributionOf(t, d, "Orders", "live", []string{"customer.order.paid"}, "http://127.0.0.1:9/hooks", nil)
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"distr_nope"}, `404 not_found: no distribution with id "distr_nope"`},
			{[]string{id, "--type", "customer.order.canceled"}, `--type: 422 invalid_request: type "customer.order.canceled" is not a trigger type of distribution ` + id},
			{[]string{id, "--type", "order.paid"}, `--type "order.paid" is not a distribution trigger type`},
			{[]string{}, "missing ID: hookflow distributions test ID"},
		} {
			_, _, err := runCLISplit(d, append([]string{"distributions", "test"}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("distributions test %v: %v, want %q", tc.args, err, tc.want)
			}
		}
	})

	var deliveryID string
	t.Run("deliveries show --follow prints the failed attempt before the retry", func(t *testing.T) {
		recv := newReceiver(t, 503, 200)
		id := createDistributionOf(t, d, "Followed", "live", []string{"customer.order.paid"}, recv.URL+"/hooks", []string{"4s"})
		var trig struct {
			Deliveries []struct {
				ID string `json:"id"`
			} `json:"deliveries"`
		}
		mustJSON(t, []byte(runCLIStdout(t, d, "trigger", "customer.order.paid", "--distribution", id, "-o", "json")), &trig)
		if len(trig.Deliveries) != 1 {
			t.Fatalf("trigger: %+v", trig)
		}
		deliveryID = trig.Deliveries[0].ID
		var out lockedBuffer
		done := make(chan error, 1)
		go func() {
			done <- cli.Run(context.Background(), []string{"deliveries", "show", deliveryID, "--follow", "--interval", "200ms", "--api", d.api},
				strings.NewReader(""), &out, &out)
		}()
		var printedAt time.Time
		waitFor(t, 30*time.Second, func() bool {
			if strings.Contains(out.String(), "503") {
				printedAt = time.Now()
				return true
			}
			return false
		})
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("--follow: %v\n%s", err, out.String())
			}
		case <-time.After(time.Minute):
			t.Fatalf("--follow still running after a minute:\n%s", out.String())
		}
		got := recv.requests()
		if len(got) != 2 {
			t.Fatalf("the receiver got %d requests", len(got))
		}
		if !printedAt.Before(got[1].at) {
			t.Errorf("the failed attempt was printed at %v, after the retry at %v", printedAt, got[1].at)
		}
		text := out.String()
		for _, want := range []string{"delivery " + deliveryID, "attempt 2: delivered 200", "delivered"} {
			if !strings.Contains(text, want) {
				t.Errorf("--follow prints no %q:\n%s", want, text)
			}
		}
		if i, j := strings.Index(text, "503"), strings.Index(text, "attempt 2: delivered"); i < 0 || j < i {
			t.Errorf("--follow prints the attempts out of order:\n%s", text)
		}

		// -o jsonl: an object per attempt, then the delivery's end.
		stdout, _, err := runCLISplit(d, "deliveries", "show", deliveryID, "--follow", "-o", "jsonl")
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(stdout), "\n")
		var objects []map[string]any
		for _, l := range lines {
			var o map[string]any
			mustJSON(t, []byte(l), &o)
			objects = append(objects, o)
		}
		if len(objects) != 3 || objects[0]["object"] != "attempt" || objects[0]["status_code"] != float64(503) ||
			objects[1]["status_code"] != float64(200) || objects[2]["object"] != "delivery" || objects[2]["status"] != "delivered" {
			t.Errorf("--follow -o jsonl:\n%s", stdout)
		}
	})

	t.Run("deliveries show --follow exits 1 when the delivery failed", func(t *testing.T) {
		recv := newReceiver(t, 500)
		id := createDistributionOf(t, d, "Down", "live", []string{"customer.order.paid"}, recv.URL+"/hooks", []string{"1s"})
		var trig struct {
			Deliveries []struct {
				ID string `json:"id"`
			} `json:"deliveries"`
		}
		mustJSON(t, []byte(runCLIStdout(t, d, "trigger", "customer.order.paid", "--distribution", id, "-o", "json")), &trig)
		stdout, _, err := runCLISplit(d, "deliveries", "show", trig.Deliveries[0].ID, "--follow", "--interval", "300ms")
		if err == nil || !strings.Contains(err.Error(), "ended failed (exhausted)") {
			t.Errorf("--follow of a failing delivery: %v\n%s", err, stdout)
		}
		// The first attempt in the delivery as first printed, the second as it ended.
		if strings.Count(stdout, "  1  ") != 1 || strings.Count(stdout, "attempt 2: retryable 500") != 1 {
			t.Errorf("--follow prints the two failed attempts once each:\n%s", stdout)
		}
	})

	t.Run("deliveries show --follow of an unknown id", func(t *testing.T) {
		start := time.Now()
		_, _, err := runCLISplit(d, "deliveries", "show", "whs_00000000000000000000000000000000", "--follow")
		if err == nil || !strings.Contains(err.Error(), "404") || time.Since(start) > 20*time.Second {
			t.Errorf("--follow of an unknown id: %v after %v", err, time.Since(start))
		}
	})

	var messageID string
	t.Run("messages show --watch prints the progress until it is sent", func(t *testing.T) {
		recv := newReceiver(t)
		distr := createManualDistribution(t, d.api, recv.URL+"/hooks")
		file := filepath.Join(t.TempDir(), "customers.jsonl")
		writeFile(t, file, "{\"id\":\"cust_1\"}\n{\"id\":\"cust_2\"}\n{\"id\":\"cust_3\"}\n")
		var m api.MessageView
		mustJSON(t, []byte(runCLIStdout(t, d, "messages", "send", distr, "-f", file, "--delay", "2s", "-o", "json")), &m)
		messageID = m.ID
		stdout, _, err := runCLISplit(d, "messages", "show", m.ID, "--watch", "--interval", "200ms")
		if err != nil {
			t.Fatalf("--watch: %v\n%s", err, stdout)
		}
		lines := strings.Split(strings.TrimSpace(stdout), "\n")
		if !strings.Contains(lines[0], m.ID+" 0/3 sent (0%), scheduled, sends at ") ||
			!strings.HasSuffix(lines[len(lines)-1], m.ID+" 3/3 sent (100%), sent") || strings.Contains(stdout, "\r") {
			t.Errorf("--watch, not on a terminal:\n%s", stdout)
		}
		stdout, _, err = runCLISplit(d, "messages", "show", m.ID, "--watch", "-o", "jsonl")
		var last api.MessageView
		if err != nil || strings.Count(stdout, "\n") != 1 || json.Unmarshal([]byte(stdout), &last) != nil || last.Status != "sent" {
			t.Errorf("--watch -o jsonl of a sent message: %v\n%s", err, stdout)
		}
	})

	t.Run("completion offers the API's ids", func(t *testing.T) {
		// What is completed is the last word: --api goes before it.
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"distributions", "show", "--api", d.api, ""}, "distr_"},
			{[]string{"deliveries", "show", "--api", d.api, ""}, deliveryID},
			{[]string{"messages", "show", "--api", d.api, ""}, messageID},
			{[]string{"trigger", "--api", d.api, "--distribution", "distr_"}, "distr_"},
		} {
			line := append([]string{"__complete"}, tc.args...)
			var out, errOut bytes.Buffer
			err := cli.Run(context.Background(), line, strings.NewReader(""), &out, &errOut)
			stdout := out.String()
			if err != nil || tc.want == "" || !strings.Contains(stdout, "\n"+tc.want) && !strings.HasPrefix(stdout, tc.want) {
				t.Errorf("__complete %v: %v\n%s", tc.args, err, stdout)
			}
		}
	})
}

// TestDistributionsTestThroughTheWorker: with `hookflow api` and `hookflow worker` apart,
// the test of a distribution is made by the worker, behind its target guard: a worker
// without --allow-target refuses a receiver on loopback, the test answers that refusal (as
// a real delivery's first attempt would end), and nothing reaches the receiver.
func TestDistributionsTestThroughTheWorker(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Temporal and hookflow processes")
	}
	_, apiURL, startWorker := startCluster(t)
	startWorker(1)
	recv := newReceiver(t)
	status, body := call(t, "POST", apiURL+"/v1/distributions", map[string]any{
		"name": "Loopback", "status": "paused", "trigger": map[string]any{"events": []string{"customer.order.paid"}},
		"webhook": map[string]any{"event_name": "Order-paid", "url": recv.URL + "/hooks"},
	})
	if status != 201 {
		t.Fatalf("create distribution: %d %s", status, body)
	}
	var distr distributionOut
	mustJSON(t, body, &distr)
	status, body = call(t, "POST", apiURL+"/v1/distributions/"+distr.ID+"/test", nil)
	var res api.TestView
	mustJSON(t, body, &res)
	if status != 200 || res.Response.Outcome != payloads.Rejected || res.Response.StatusCode != 0 ||
		!strings.Contains(res.Response.Error, "refused target") || !strings.Contains(res.Response.Error, "loopback") {
		t.Errorf("the test through a guarded worker: %d %s", status, body)
	}
	if got := recv.requests(); len(got) != 0 {
		t.Errorf("the receiver on loopback got %d requests", len(got))
	}
}
