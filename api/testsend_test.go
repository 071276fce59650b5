package api

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/payloads"
	"github.com/hookflow/hookflow/starter"
	"github.com/hookflow/hookflow/store"
)

// fakeTester plays the worker for the test of a distribution: it answers what answer
// says and keeps what it was asked.
type fakeTester struct {
	fakeStarter
	mu     sync.Mutex
	inputs []starter.TestInput
	err    error
}

func (f *fakeTester) TestDistribution(_ context.Context, in starter.TestInput) (starter.TestResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inputs = append(f.inputs, in)
	if f.err != nil {
		return starter.TestResult{}, f.err
	}
	id := payloads.DeliveryID(in.Event.ID, in.Distribution.ID)
	return starter.TestResult{DeliveryID: id, DistributionID: in.Distribution.ID, Event: in.Event,
		Response: payloads.TestAnswer{Response: payloads.Response{StatusCode: 503, LatencyMs: 7, Body: "busy"},
			Headers: map[string][]string{"Retry-After": {"9"}}, Outcome: payloads.Retryable, Error: "HTTP 503"}}, nil
}

func newTestAPI(t *testing.T) (*httptest.Server, *fakeTester, *store.SQLite) {
	t.Helper()
	_, _, st := newAPI(t)
	ft := &fakeTester{}
	srv := httptest.NewServer((&Server{Store: st, Starter: ft}).Handler())
	t.Cleanup(srv.Close)
	now := time.Now().UTC()
	for _, d := range []distributions.Distribution{
		{ID: "distr_orders", Name: "Orders", Status: distributions.StatusPaused, Trigger: distributions.Trigger{Events: []string{"customer.order.*", "customer.order.paid", "customer.segment.entered"}}},
		{ID: "distr_none", Name: "Nothing to sample", Status: distributions.StatusLive, Trigger: distributions.Trigger{Events: []string{"customer.nothing.*"}}},
	} {
		d.Version, d.CreatedAt, d.UpdatedAt = 1, now, now
		d.Action = distributions.Action{Type: distributions.ActionPlainMessage}
		d.Webhook = distributions.Webhook{URL: "https://example.com/h", EventName: "E", Version: payloads.Version2024, Secret: "whsec_own",
			Headers: []distributions.Header{{Name: "x-token", Value: "s3cret", Secret: true}}}
		if err := st.CreateDistribution(t.Context(), d); err != nil {
			t.Fatal(err)
		}
	}
	return srv, ft, st
}

// TestDistributionTest: POST /v1/distributions/{id}/test hands the worker a sample event of
// the type asked for (the distribution's first by default, patterns expanded), the
// distribution without its secrets and the project, even when it is paused, and answers
// what the receiver answered with 200, whatever its status; bad input is refused naming
// the field, and nothing is sent.
func TestDistributionTest(t *testing.T) {
	srv, ft, st := newTestAPI(t)
	proj, err := st.Project(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	url := srv.URL + "/v1/distributions/distr_orders/test"
	for _, tc := range []struct{ body, want string }{
		{"", "customer.order.created"},
		{`{}`, "customer.order.created"},
		{`{"type":"customer.order.canceled"}`, "customer.order.canceled"},
		{`{"type":"customer.segment.entered"}`, "customer.segment.entered"},
	} {
		n := len(ft.inputs)
		status, e, body := doWith(t, "POST", url, "application/json", tc.body)
		if status != 200 {
			t.Fatalf("%s: %d %+v", tc.body, status, e)
		}
		var v TestView
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatal(err)
		}
		in := ft.inputs[n]
		if in.Event.Type != tc.want || !strings.HasPrefix(in.Event.ID, "evt_test_") || len(in.Event.Data) != len(payloads.SampleEvent(tc.want).Data) ||
			in.ProjectID != proj.ID || in.Distribution.ID != "distr_orders" || in.Distribution.Status != distributions.StatusPaused ||
			in.Distribution.Webhook.Secret != "" || in.Distribution.Webhook.Headers[0].Value != "" {
			t.Errorf("%s: the worker was asked %+v", tc.body, in)
		}
		if v.Object != "distribution_test" || v.DeliveryID != payloads.DeliveryID(in.Event.ID, "distr_orders") ||
			v.Response.StatusCode != 503 || v.Response.Headers["Retry-After"][0] != "9" || v.Response.Outcome != payloads.Retryable {
			t.Errorf("%s: answer %s", tc.body, body)
		}
	}
	// A repeat under an Idempotency-Key is answered from the first, without a second test.
	n := len(ft.inputs)
	first := post(t, url, "test-key-1", `{"type":"customer.order.paid"}`)
	again := post(t, url, "test-key-1", `{"type":"customer.order.paid"}`)
	if first.status != 200 || first.body != again.body || !again.replayed || len(ft.inputs) != n+1 {
		t.Errorf("an Idempotency-Key repeated: %d tests\n%+v\n%+v", len(ft.inputs)-n, first, again)
	}

	n = len(ft.inputs)
	for _, tc := range []struct {
		path, body string
		status     int
		field, msg string
	}{
		{"distr_orders", `{"type":"customer.order.paid"`, 400, "type", "want {\"type\""},
		{"distr_orders", `{"type":1}`, 400, "type", "want {\"type\""},
		{"distr_orders", `{"typ":"customer.order.paid"}`, 400, "typ", "typ"},
		{"distr_orders", `[]`, 400, "type", ""},
		{"distr_orders", `{"type":"customer.rewarded"}`, 422, "type", `type "customer.rewarded" is not a trigger type of distribution distr_orders; one of: customer.order.created, customer.order.updated, customer.order.paid, customer.order.canceled, customer.segment.entered`},
		{"distr_orders", `{"type":"<script>"}`, 422, "type", "is not a trigger type"},
		{"distr_orders", `{"type":"` + strings.Repeat("a", 5000) + `"}`, 413, "", "larger than"},
		{"distr_nope", `{}`, 404, "id", `no distribution with id "distr_nope"`},
		{"distr_none", `{}`, 422, "trigger.events", "takes no event type hookflow has a sample of"},
	} {
		status, e, _ := doWith(t, "POST", srv.URL+"/v1/distributions/"+tc.path+"/test", "application/json", tc.body)
		if status != tc.status || e.Field != tc.field || !strings.Contains(e.Message, tc.msg) {
			t.Errorf("%s %.40s: %d %+v, want %d naming %q", tc.path, tc.body, status, e, tc.status, tc.field)
		}
	}
	if len(ft.inputs) != n {
		t.Errorf("bad input made %d tests", len(ft.inputs)-n)
	}

	// What the worker's side answers: no result in time, a payload that does not render.
	for _, tc := range []struct {
		err    error
		status int
		field  string
	}{
		{starter.ErrTestTimeout, 504, ""},
		{starter.ErrTestPayload, 422, "webhook.template"},
		{context.Canceled, 500, ""},
	} {
		ft.err = tc.err
		if status, e, _ := doWith(t, "POST", url, "application/json", ""); status != tc.status || e.Field != tc.field {
			t.Errorf("%v: %d %+v", tc.err, status, e)
		}
	}
}

func TestDistributionTestWithoutTester(t *testing.T) {
	srv, _, _ := newAPI(t)
	if status, e, _ := do(t, "POST", srv.URL+"/v1/distributions/distr_1/test", ""); status != 501 || e.Message != "this server cannot test distributions" {
		t.Errorf("%d %+v", status, e)
	}
}
