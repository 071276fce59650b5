package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The HTTP helpers: requests to hookflow's API and health endpoints and to the Web UI,
// and the API calls that several tests share.

// call sends a request and returns the status and body. body is sent as it is (a string
// or []byte) or as JSON (anything else); nil sends none.
func call(t *testing.T, method, url string, body any) (int, []byte) {
	t.Helper()
	status, out, _ := callFull(t, method, url, body, nil)
	return status, out
}

// callWithHeaders is call with request headers.
func callWithHeaders(t *testing.T, method, url string, body any, header map[string]string) (int, []byte) {
	t.Helper()
	status, out, _ := callFull(t, method, url, body, header)
	return status, out
}

// callFull is call with request headers that returns the response's headers too.
func callFull(t *testing.T, method, url string, body any, header map[string]string) (int, []byte, http.Header) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out, resp.Header
}

func mustJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}

// probeClient bounds a request to the API: a route that hangs is a failure, not a wait.
var probeClient = &http.Client{Timeout: 20 * time.Second}

// getBody GETs u and returns the status, the body and how long the answer took.
func getBody(t *testing.T, u string) (int, string, time.Duration) {
	t.Helper()
	began := time.Now()
	resp, err := probeClient.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v (after %v)", u, err, time.Since(began))
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), time.Since(began)
}

// readiness is the answer of /livez and /readyz.
type readiness struct {
	// Status is live (/livez), or ready, not ready or stopping (/readyz).
	Status string `json:"status"`
	// Checks is what /readyz checked: temporal and store, each "ok" or what failed.
	Checks map[string]string `json:"checks"`
}

// getJSON GETs a health endpoint and decodes its answer, and says how long it took.
func getJSON(t *testing.T, u string) (int, readiness, time.Duration) {
	t.Helper()
	status, body, took := getBody(t, u)
	var r readiness
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("GET %s: %d %s: %v", u, status, body, err)
	}
	return status, r, took
}

// probe answers a health endpoint: its status and decoded body.
func probe(t *testing.T, u string) (int, readiness) {
	t.Helper()
	status, body, _ := getJSON(t, u)
	return status, body
}

// waitProbe polls u until it answers status, for at most timeout.
func waitProbe(t *testing.T, u string, status int, timeout time.Duration) readiness {
	t.Helper()
	var got int
	var body readiness
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if got, body = probe(t, u); got == status {
			return body
		}
	}
	t.Fatalf("GET %s: %d %+v, want %d within %v", u, got, body, status, timeout)
	return body
}

type distributionOut struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

// handleOut is the answer to POST /v1/events: the event's workflow.
type handleOut struct {
	ID         string `json:"id"`
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
}

// createDistribution makes a live distribution of customer.order.paid events to target,
// with schedule as its retry_schedule when not nil, and deletes it at the test's cleanup.
func createDistribution(t *testing.T, d *devProcess, target string, schedule any) distributionOut {
	t.Helper()
	hook := map[string]any{"event_name": "Order-paid", "url": target, "version": "v2024-01-01"}
	if schedule != nil {
		hook["retry_schedule"] = schedule
	}
	status, body := call(t, "POST", d.api+"/v1/distributions", map[string]any{
		"name": "Paid orders", "status": "live",
		"trigger": map[string]any{"events": []string{"customer.order.paid"}},
		"action":  map[string]any{"type": "plain_message"},
		"webhook": hook,
	})
	if status != 201 {
		t.Fatalf("create distribution: %d %s", status, body)
	}
	var out distributionOut
	mustJSON(t, body, &out)
	if !strings.HasPrefix(out.ID, "distr_") || out.Status != "live" {
		t.Fatalf("created %s", body)
	}
	// Later subtests share the process: take this one out of their way. The process may
	// be gone by then, which is fine.
	t.Cleanup(func() {
		if req, err := http.NewRequest("DELETE", d.api+"/v1/distributions/"+out.ID, nil); err == nil {
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}
	})
	return out
}

// sendEvent sends a customer.order.paid event with id to d.
func sendEvent(t *testing.T, d *devProcess, id string) handleOut {
	t.Helper()
	status, body := call(t, "POST", d.api+"/v1/events", fmt.Sprintf(
		`{"id":%q,"type":"customer.order.paid","data":{"customer":{"id":"cust_1"},"order":{"id":"ord_1","amount":100}}}`, id))
	if status != 202 {
		t.Fatalf("send event: %d %s", status, body)
	}
	var h handleOut
	mustJSON(t, body, &h)
	return h
}

// postEvent sends the same event as sendEvent to the API without failing the test, so
// that a goroutine may call it.
func postEvent(apiURL, id string) (int, string) {
	body := fmt.Sprintf(`{"id":%q,"type":"customer.order.paid","data":{"customer":{"id":"cust_1"},"order":{"id":"ord_1","amount":100}}}`, id)
	resp, err := http.Post(apiURL+"/v1/events", "application/json", strings.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitMetrics reads the Prometheus exposition at url until it matches re (the series a
// reporter adds a moment later), for up to 30 s, and returns the last status and body.
func waitMetrics(t *testing.T, url, re string) (int, string) {
	t.Helper()
	var status int
	var body []byte
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if status, body = call(t, "GET", url, nil); status == 200 && regexp.MustCompile(re).Match(body) {
			break
		}
	}
	return status, string(body)
}
