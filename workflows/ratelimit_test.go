package workflows

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/payloads"
)

// TestDeliveryWaitsForItsRateLimit: with time skipping, a rate-limited delivery asks for a
// token before each attempt; told to wait, it sleeps on a timer and asks again as one that
// waited; its attempts and retry schedule do not advance while it waits; the event's status
// becomes throttled once, before its final status; an unlimited delivery of the same event
// goes at once and asks for no token.
func TestDeliveryWaitsForItsRateLimit(t *testing.T) {
	limited := distribution("distr_lim", distributions.StatusLive, nil, "customer.order.paid")
	limited.Webhook.RateLimit = "2/m"
	free := distribution("distr_free", distributions.StatusLive, nil, "customer.order.paid")
	f := &fakeReceiver{
		candidates: []distributions.Distribution{limited, free},
		script:     map[string][]int{"distr_lim": {503, 200}, "distr_free": {200}},
	}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	f.register(env)
	start := env.Now()

	// The store's answers, in turn: wait 30s, go (attempt 1); wait 10s, wait 5s, go
	// (attempt 2).
	answers := []time.Duration{30 * time.Second, 0, 10 * time.Second, 5 * time.Second, 0}
	var mu sync.Mutex
	var takes []distributions.RateTokenRequest
	var takenAt []time.Duration
	env.RegisterActivityWithOptions(func(ctx context.Context, req distributions.RateTokenRequest) (distributions.RateToken, error) {
		mu.Lock()
		defer mu.Unlock()
		takes = append(takes, req)
		takenAt = append(takenAt, env.Now().Sub(start))
		return distributions.RateToken{DeliveryID: req.DeliveryID, Wait: answers[min(len(takes)-1, len(answers)-1)]}, nil
	}, activity.RegisterOptions{Name: ActivityTakeRateToken})

	posts := map[string][]time.Duration{}
	record := func(name string, args any) {
		if name != ActivityPost {
			return
		}
		var req payloads.Request
		switch a := args.(type) {
		case converter.EncodedValues:
			_ = a.Get(&req)
		case []any:
			req = a[0].(payloads.Request)
		}
		mu.Lock()
		posts[req.SourceID] = append(posts[req.SourceID], env.Now().Sub(start))
		mu.Unlock()
	}
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, args converter.EncodedValues) {
		record(info.ActivityType.Name, args)
	})
	env.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, args []any) {
		record(info.ActivityType.Name, args)
	})
	var statuses []string
	env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		if got, ok := args.Get(0).(temporal.SearchAttributes).GetKeyword(StatusKey); ok {
			statuses = append(statuses, got)
		}
	}).Return(nil)

	env.ExecuteWorkflow(DeliveryWorkflow, DeliveryInput{Event: orderPaid, LocalFirst: true})
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	var res DeliveryResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}

	if want := []time.Duration{0}; !reflect.DeepEqual(posts["distr_free"], want) {
		t.Errorf("unlimited delivery posted at %v, want %v", posts["distr_free"], want)
	}
	// Attempt 1 after the 30s wait; attempt 2 one minute (the schedule's first gap) after
	// attempt 1, then the 15s it waited.
	if want := []time.Duration{30 * time.Second, 30*time.Second + time.Minute + 15*time.Second}; !reflect.DeepEqual(posts["distr_lim"], want) {
		t.Errorf("limited delivery posted at %v, want %v", posts["distr_lim"], want)
	}
	if want := []time.Duration{0, 30 * time.Second, 90 * time.Second, 100 * time.Second, 105 * time.Second}; !reflect.DeepEqual(takenAt, want) {
		t.Errorf("tokens asked for at %v, want %v", takenAt, want)
	}
	id := payloads.DeliveryID(orderPaid.ID, "distr_lim")
	for i, req := range takes {
		waited := i == 1 || i == 3 || i == 4
		if req.SourceID != "distr_lim" || req.DeliveryID != id || req.RateLimit != "2/m" || req.Waited != waited {
			t.Errorf("take %d: %+v, want distr_lim's with waited %v", i, req, waited)
		}
	}
	if len(res.Deliveries) != 2 || res.Deliveries[1].DistributionID != "distr_lim" || res.Deliveries[1].Attempts != 2 ||
		res.Deliveries[1].Status != StatusDelivered || res.Status != StatusDelivered {
		t.Errorf("result %+v: want distr_lim delivered in 2 attempts", res)
	}
	if want := []string{StatusThrottled, StatusRetrying, StatusDelivered}; !reflect.DeepEqual(statuses, want) {
		t.Errorf("statuses upserted %v, want %v", statuses, want)
	}
}

// TestDeliveryWithAnUnreadableRateLimit: a rate_limit the store refuses (only a hand-made
// input has one) fails the delivery as invalid without an attempt, and does not hold up the
// event's other deliveries.
func TestDeliveryWithAnUnreadableRateLimit(t *testing.T) {
	limited := distribution("distr_lim", distributions.StatusLive, nil, "customer.order.paid")
	limited.Webhook.RateLimit = "lots"
	free := distribution("distr_free", distributions.StatusLive, nil, "customer.order.paid")
	f := &fakeReceiver{candidates: []distributions.Distribution{limited, free}, script: map[string][]int{"distr_free": {200}, "distr_lim": {200}}}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	f.register(env)
	env.RegisterActivityWithOptions(func(ctx context.Context, req distributions.RateTokenRequest) (distributions.RateToken, error) {
		return distributions.RateToken{}, temporal.NewNonRetryableApplicationError("webhook.rate_limit of "+req.SourceID+": not a rate", "invalid", nil)
	}, activity.RegisterOptions{Name: ActivityTakeRateToken})
	env.ExecuteWorkflow(DeliveryWorkflow, DeliveryInput{Event: orderPaid, LocalFirst: true})
	var res DeliveryResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if len(res.Deliveries) != 2 || res.Deliveries[0].Status != StatusDelivered ||
		res.Deliveries[1].Status != StatusFailed || res.Deliveries[1].Reason != ReasonInvalid || res.Deliveries[1].Attempts != 0 {
		t.Errorf("result %+v", res)
	}
	if len(f.attempts["distr_lim"]) != 0 {
		t.Errorf("the limited distribution got %d attempts", len(f.attempts["distr_lim"]))
	}
}
