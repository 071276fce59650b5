package cli

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow/api"
	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/payloads"
	"github.com/hookflow/hookflow/starter"
	"github.com/hookflow/hookflow/store"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files of testdata/")

// checkGolden compares got with testdata/name, or writes it there with -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *updateGolden {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("the output differs from %s (-update rewrites it):\n%s", path, got)
	}
}

// TestDistribution is the test of a distribution for TestOutputEveryCommand: delivered.
func (f *cliMessages) TestDistribution(_ context.Context, in starter.TestInput) (starter.TestResult, error) {
	return starter.TestResult{DeliveryID: payloads.DeliveryID(in.Event.ID, in.Distribution.ID), DistributionID: in.Distribution.ID,
		Event: in.Event, Response: payloads.TestAnswer{Response: payloads.Response{StatusCode: 204}, Outcome: payloads.Delivered}}, nil
}

// scriptedTester plays the worker for distributions test: the answer of each
// distribution, by its id, with a fixed event so that the output is the same every run.
type scriptedTester struct {
	recordingStarter
	mu      sync.Mutex
	answers map[string]payloads.TestAnswer
	asked   []starter.TestInput
}

func (f *scriptedTester) TestDistribution(_ context.Context, in starter.TestInput) (starter.TestResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, in)
	ev := in.Event
	ev.ID, ev.CreatedAt = "evt_test_fixed", time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	return starter.TestResult{DeliveryID: payloads.DeliveryID(ev.ID, in.Distribution.ID), DistributionID: in.Distribution.ID, Event: ev,
		Request:  starter.TestRequest{URL: in.Distribution.Webhook.URL, Body: json.RawMessage(`{"id":"whs_x"}`)},
		Response: f.answers[in.Distribution.ID]}, nil
}

func testedDistributions(t *testing.T, st *store.SQLite) {
	t.Helper()
	now := time.Now().UTC()
	for _, id := range []string{"distr_ok", "distr_down"} {
		d := distributions.Distribution{ID: id, Name: id, Status: distributions.StatusPaused, Version: 1, CreatedAt: now, UpdatedAt: now,
			Trigger: distributions.Trigger{Events: []string{"customer.order.paid", "customer.order.canceled"}},
			Action:  distributions.Action{Type: distributions.ActionPlainMessage},
			Webhook: distributions.Webhook{URL: "https://example.com/" + id, EventName: "E", Version: payloads.Version2024}}
		if err := st.CreateDistribution(t.Context(), d); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDistributionsTestCommand: distributions test prints the delivery id and the answer
// (status, time, headers, first bytes), in text (testdata/distributions_test*.txt) and
// JSON; a receiver that did not answer 2xx is printed all the same, and the command exits
// 1; a bad --type is refused before anything is sent, and the API's refusals name the flag
// or the id.
func TestDistributionsTestCommand(t *testing.T) {
	tester := &scriptedTester{answers: map[string]payloads.TestAnswer{
		"distr_ok": {Response: payloads.Response{StatusCode: 200, LatencyMs: 12, Body: "thanks\nsee you"}, Outcome: payloads.Delivered,
			Headers: map[string][]string{"X-Request-Id": {"r1"}, "Content-Type": {"text/plain"}, "Set-Cookie": {"a=1", "b=2"}}},
		"distr_down": {Response: payloads.Response{StatusCode: 500, LatencyMs: 3, Body: "boom"}, Outcome: payloads.Retryable,
			Error: "HTTP 500 from https://example.com/distr_down"},
	}}
	h, st := newHarness(t, &api.Server{Starter: tester})
	testedDistributions(t, st)

	out, errOut, err := h.run("distributions", "test", "distr_ok", "--type", "customer.order.canceled")
	if err != nil || errOut != "" {
		t.Fatalf("distributions test: %v %s", err, errOut)
	}
	checkGolden(t, "distributions_test.txt", out)
	if got := tester.asked[len(tester.asked)-1].Event.Type; got != "customer.order.canceled" {
		t.Errorf("--type asked for %s", got)
	}

	out, _, err = h.run("distributions", "test", "distr_down")
	if err == nil || err.Error() != "the receiver of distr_down did not answer 2xx: a delivery would be retried on its schedule" {
		t.Errorf("a 500 answer: %v", err)
	}
	checkGolden(t, "distributions_test_500.txt", out)
	if got := tester.asked[len(tester.asked)-1].Event.Type; got != "customer.order.paid" {
		t.Errorf("without --type it asked for %s, not the distribution's first", got)
	}

	out, _, err = h.run("distributions", "test", "distr_down", "-o", "json")
	var v api.TestView
	if err == nil || json.Unmarshal([]byte(out), &v) != nil || v.Response.StatusCode != 500 || v.DistributionID != "distr_down" || v.Object != "distribution_test" {
		t.Errorf("-o json of a 500: %v\n%s", err, out)
	}

	asked := len(tester.asked)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"distr_ok", "--type", "customer.rewarded"}, `--type: 422 invalid_request: type "customer.rewarded" is not a trigger type of distribution distr_ok; one of: customer.order.paid, customer.order.canceled`},
		{[]string{"distr_ok", "--type", "order.paid"}, `--type "order.paid" is not a distribution trigger type; one of: customer.segment.entered`},
		{[]string{"distr_ok", "--type", ""}, ""}, // empty: the default
		{[]string{"distr_nope"}, `404 not_found: no distribution with id "distr_nope"`},
		{[]string{"distr_ok", "distr_down"}, `hookflow distributions test takes ID, and was given also ["distr_down"]`},
		{[]string{"distr_ok", "--typo", "x"}, "unknown flag --typo for hookflow distributions test; did you mean --type?"},
	} {
		_, _, err := h.run(append([]string{"distributions", "test"}, tc.args...)...)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%v: %v", tc.args, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.args, err, tc.want)
		}
	}
	if len(tester.asked) != asked+1 {
		t.Errorf("bad input made %d tests, want only the valid one", len(tester.asked)-asked-1)
	}
}
