package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/hookflow/hookflow/payloads"
)

// ActivityPublishCode publishes a code of a campaign's pool for a publish_code delivery.
const ActivityPublishCode = "PublishCode"

// ReasonNoCode is the reason of a publish_code delivery that got no code: the pool is
// empty, the event names no customer, or the store stayed unreachable.
const ReasonNoCode = "no_code"

// Error types of the PublishCode activity (activities.ErrTypePoolEmpty and
// activities.ErrTypeBadPublication; workflows may not import activities).
const (
	errTypePoolEmpty      = "CodePoolEmpty"
	errTypeBadPublication = "BadPublication"
)

// ActivityPublishCode's arguments are (event id, distribution id, customer id, the action's
// campaign object as json.RawMessage); its result is publishedCode.

// publishedCode is the PublishCode activity's result (activities.PublishedCode, the same
// JSON: a result goes through the data converter, even a local activity's).
type publishedCode struct {
	Campaign    json.RawMessage `json:"campaign"`
	Voucher     json.RawMessage `json:"voucher"`
	Publication json.RawMessage `json:"publication"`
}

// publishRetry and the timeouts: a store error is retried for up to an hour, then the delivery fails
// with ReasonNoCode and the operator is notified; an empty pool fails at once (the
// activity's error is non-retryable).
var publishRetry = &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute}

const (
	publishAttemptTimeout = 30 * time.Second
	publishTimeout        = time.Hour
)

// publishCode runs the PublishCode activity for a publish_code target and returns the
// objects the action adds (campaign, voucher, publication), or the reason the delivery
// fails. The publication's key is (event, distribution, customer), so a retried activity
// or a replayed workflow gets the same code: exactly one per key.
//
// With localFirst it is a local activity in the first workflow task, like LoadCandidates
// and the first POST: the activity is idempotent by its key, so the extra runs a local
// activity may see (a worker lost before the task completes) publish nothing new, and
// the first attempt costs no round trip through the server.
//
// No GetVersion guards this: only publish_code distributions run it, and those were
// refused when saved before code pools existed, so no recorded history can have reached
// this point without it.
func publishCode(ctx workflow.Context, ev payloads.Event, t target, localFirst bool) ([]payloads.NamedObject, error) {
	customer := customerID(t.trigger.EventFor(ev))
	if customer == "" {
		return nil, errors.New("publish_code: the event names no customer (data.customer.id or data.customer.source_id) to publish a code to")
	}
	// The arguments are of standard types: a local activity gets them as Go values, not
	// through JSON, and the activity's package is not imported here.
	args := []any{ev.ID, t.id, customer, t.publishCampaign}
	var out publishedCode
	var err error
	if localFirst {
		lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
			StartToCloseTimeout: publishAttemptTimeout, ScheduleToCloseTimeout: publishTimeout, RetryPolicy: publishRetry,
			Summary: PublishCodeSummary(t.name),
		})
		err = workflow.ExecuteLocalActivity(lctx, ActivityPublishCode, args...).Get(ctx, &out)
	} else {
		actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: publishAttemptTimeout, ScheduleToCloseTimeout: publishTimeout, RetryPolicy: publishRetry,
			Summary: PublishCodeSummary(t.name),
		})
		err = workflow.ExecuteActivity(actx, ActivityPublishCode, args...).Get(ctx, &out)
	}
	if err != nil {
		var appErr *temporal.ApplicationError
		switch {
		case errors.As(err, &appErr) && (appErr.Type() == errTypePoolEmpty || appErr.Type() == errTypeBadPublication):
			return nil, errors.New(appErr.Message())
		case errors.As(err, &appErr):
			return nil, fmt.Errorf("publish_code: no code published: %s", appErr.Message())
		}
		return nil, fmt.Errorf("publish_code: no code published: %v", err)
	}
	return []payloads.NamedObject{
		{Name: "campaign", Value: out.Campaign},
		{Name: "voucher", Value: out.Voucher},
		{Name: "publication", Value: out.Publication},
	}, nil
}

// customerID is the id of the event's customer: data.customer.id, or its source_id.
func customerID(ev payloads.Event) string {
	var c struct {
		ID       any `json:"id"`
		SourceID any `json:"source_id"`
	}
	if json.Unmarshal(ev.Data["customer"], &c) != nil {
		return ""
	}
	for _, v := range []any{c.ID, c.SourceID} {
		if s, ok := v.(string); ok && s != "" {
			return s
		}
	}
	return ""
}
