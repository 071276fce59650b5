package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/payloads"
)

// runTest runs TestDelivery on ev for d, with the TestPost activity answering answer; it
// returns the result, the workflow's error and the requests posted. No other activity is
// registered: a test that asked for a notification, a pause or a code would fail.
func runTest(t *testing.T, d distributions.Distribution, ev payloads.Event, answer payloads.TestAnswer) (TestResult, error, []payloads.Request) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(TestDelivery, workflow.RegisterOptions{Name: TestDeliveryWorkflow})
	var posted []payloads.Request
	env.RegisterActivityWithOptions(func(_ context.Context, req payloads.Request) (payloads.TestAnswer, error) {
		posted = append(posted, req)
		return answer, nil
	}, activity.RegisterOptions{Name: ActivityTestPost})
	env.ExecuteWorkflow(TestDeliveryWorkflow, TestInput{Event: ev, ProjectID: "proj_test", Distribution: d})
	if !env.IsWorkflowCompleted() {
		t.Fatal("the test's workflow did not complete")
	}
	var res TestResult
	err := env.GetWorkflowError()
	if err == nil {
		if err := env.GetWorkflowResult(&res); err != nil {
			t.Fatal(err)
		}
	}
	return res, err, posted
}

// TestTestDeliverySendsWhatADeliverySends: the test of a distribution posts, once, the
// request the Delivery workflow posts for the same event (the same body, headers, URL,
// timeout and delivery id), and a 500 answer is its result, with no retry, notification or
// pause.
func TestTestDeliverySendsWhatADeliverySends(t *testing.T) {
	d := distribution("distr_a", distributions.StatusPaused, &distributions.RetrySchedule{Intervals: []time.Duration{time.Second}}, "customer.order.paid")
	d.Webhook.Headers = []distributions.Header{{Name: "x-team", Value: "shop"}, {Name: "x-token", Secret: true}}
	d.Status = distributions.StatusLive // the Delivery workflow sends to live ones only
	f := &fakeReceiver{candidates: []distributions.Distribution{d}, script: map[string][]int{"distr_a": {200}}}
	if res, _ := run(t, f); res.Status != StatusDelivered {
		t.Fatalf("the delivery %+v", res)
	}
	delivered := f.attempts["distr_a"][0]

	d.Status = distributions.StatusPaused
	answer := payloads.TestAnswer{Response: payloads.Response{StatusCode: 500, LatencyMs: 3, Body: "down"},
		Headers: map[string][]string{"Retry-After": {"5"}}, Outcome: payloads.Retryable, Error: "HTTP 500 from http://receiver.test/distr_a"}
	res, err, posted := runTest(t, d, orderPaid, answer)
	if err != nil {
		t.Fatal(err)
	}
	if len(posted) != 1 {
		t.Fatalf("%d attempts, want 1", len(posted))
	}
	got := posted[0]
	if got.DeliveryID != delivered.DeliveryID || got.SourceID != "distr_a" || got.URL != delivered.URL || got.Timeout != delivered.Timeout ||
		len(got.Headers) != 2 || got.Headers[1] != delivered.Headers[1] || got.Headers[1].Value != "" || got.Attempt != 1 {
		t.Errorf("the test posted %+v\nthe delivery %+v", got, delivered)
	}
	// The same body but for the time of its making.
	if strip(got.Body) != strip(delivered.Body) {
		t.Errorf("the test sent %s\nthe delivery %s", got.Body, delivered.Body)
	}
	if res.DeliveryID != delivered.DeliveryID || res.DistributionID != "distr_a" || res.Request.URL != d.Webhook.URL ||
		string(res.Request.Body) != string(got.Body) || res.Event.ID != orderPaid.ID ||
		res.Response.StatusCode != 500 || res.Response.Outcome != payloads.Retryable || res.Response.Headers["Retry-After"][0] != "5" {
		t.Errorf("result %+v", res)
	}
}

// strip is a body without its created_at, the time the delivery was made.
func strip(body []byte) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return string(body)
	}
	delete(m, "created_at")
	out, _ := json.Marshal(m)
	return string(out)
}

// TestTestDeliveryPublishCodeTakesNoCode: a publish_code distribution is tested with
// sample code objects and its campaign: no PublishCode activity runs (none is registered).
func TestTestDeliveryPublishCodeTakesNoCode(t *testing.T) {
	d := publishDistribution("distr_pub")
	res, err, posted := runTest(t, d, withCustomer(orderPaid, `{"id":"cust_7"}`), payloads.TestAnswer{Response: payloads.Response{StatusCode: 200}, Outcome: payloads.Delivered})
	if err != nil || len(posted) != 1 {
		t.Fatalf("%v, %d attempts", err, len(posted))
	}
	var env struct {
		Data map[string]json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(posted[0].Body, &env); err != nil {
		t.Fatal(err)
	}
	if string(env.Data["campaign"]) != `{"id":"camp_1","name":"Spring"}` ||
		string(env.Data["voucher"]) != string(payloads.SampleObject("voucher")) ||
		string(env.Data["publication"]) != string(payloads.SampleObject("publication")) {
		t.Errorf("data %s", posted[0].Body)
	}
	if res.Response.Outcome != payloads.Delivered {
		t.Errorf("result %+v", res)
	}
}

// TestTestDeliveryTemplateThatDoesNotRender: a raw distribution whose template does not
// render ends the test with ErrTypeTestInvalid and posts nothing.
func TestTestDeliveryTemplateThatDoesNotRender(t *testing.T) {
	d := distribution("distr_raw", distributions.StatusLive, nil, "customer.order.paid")
	d.Webhook.Raw = true // raw mode without a template cannot render
	_, err, posted := runTest(t, d, orderPaid, payloads.TestAnswer{})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != ErrTypeTestInvalid || !strings.Contains(appErr.Message(), "raw mode needs a template") || len(posted) != 0 {
		t.Errorf("error %v, %d attempts", err, len(posted))
	}
}
