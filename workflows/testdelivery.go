package workflows

import (
	"encoding/json"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/payloads"
)

// The test of a distribution (POST /v1/distributions/{id}/test, hookflow distributions
// test): one attempt of a sample event, now, rendered and sent exactly as a delivery's
// first attempt is, by a worker (so with its target guard and its access to the secrets),
// without a schedule, a notification or a pause, whatever the answer.
const (
	TestDeliveryWorkflow = "TestDelivery"
	ActivityTestPost     = "TestPost"
)

// TestWorkflowID is the id of the workflow of a test: one per test event.
func TestWorkflowID(deliveryID string) string { return "test/" + deliveryID }

// ErrTypeTestInvalid is the type of the error of a test whose payload does not render (a
// template the sample event breaks).
const ErrTypeTestInvalid = "TestPayloadInvalid"

// TestInput is the input of a test: the sample event and the distribution as read when the
// test was asked for, without its secrets (the activity reads them).
type TestInput struct {
	Event        payloads.Event             `json:"event"`
	ProjectID    string                     `json:"project_id"`
	Distribution distributions.Distribution `json:"distribution"`
}

// TestResult is what a test sent and what the receiver answered.
type TestResult struct {
	DeliveryID     string              `json:"delivery_id"`
	DistributionID string              `json:"distribution_id"`
	Event          payloads.Event      `json:"event"`
	Request        TestRequest         `json:"request"`
	Warnings       []string            `json:"warnings,omitempty"`
	Response       payloads.TestAnswer `json:"response"`
}

// TestRequest is what a test posted: the signature headers are made at send time and are
// not kept, as for every attempt.
type TestRequest struct {
	URL  string          `json:"url"`
	Body json.RawMessage `json:"body"`
}

// TestDelivery renders the sample event for the distribution as a delivery would and makes
// one attempt, a local activity, whose answer (any status) is the result.
func TestDelivery(ctx workflow.Context, in TestInput) (TestResult, error) {
	t := distributionTarget(in.Distribution)
	if t.publishCampaign != nil {
		// A test takes no code from the pool: samples stand for what a publication adds.
		campaign := t.publishCampaign
		if string(campaign) == "null" {
			campaign = payloads.SampleObject("campaign")
		}
		t.actionObjects = []payloads.NamedObject{
			{Name: "campaign", Value: campaign},
			{Name: "voucher", Value: payloads.SampleObject("voucher")},
			{Name: "publication", Value: payloads.SampleObject("publication")},
		}
	}
	deliveryID := payloads.DeliveryID(in.Event.ID, t.id)
	res := TestResult{DeliveryID: deliveryID, DistributionID: t.id, Event: in.Event, Request: TestRequest{URL: t.webhook.URL}}
	req, warnings, err := t.request(in.Event, in.ProjectID, deliveryID, workflow.Now(ctx))
	res.Warnings = warnings
	if err != nil {
		return res, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeTestInvalid, nil)
	}
	req.Attempt = 1
	res.Request.Body = req.Body
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: req.Timeout + postMargin,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
		Summary:             "Test: " + AttemptSummary(t.name, t.webhook.URL, 1, 1),
	})
	err = workflow.ExecuteLocalActivity(lctx, ActivityTestPost, req).Get(ctx, &res.Response)
	return res, err
}

// TestTimeout is how long a test may take from its start: the longest attempt and the
// margin of its activity, and time for a worker to pick it up.
const TestTimeout = distributions.MaxTimeout + postMargin + 15*time.Second
