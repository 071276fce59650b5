package workflows

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"

	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/payloads"
)

// fakeBreaker answers the breaker's asks from a script and records what it was told.
type fakeBreaker struct {
	// answers[n] answers ask n+1; past the end, go.
	answers []distributions.BreakerAnswer
	// change is answered to every report.
	change distributions.BreakerChange

	mu      sync.Mutex
	asks    []distributions.BreakerAsk
	reports []distributions.BreakerReport
	notices []distributions.BreakerNotice
}

func (b *fakeBreaker) register(env *testsuite.TestWorkflowEnvironment) {
	env.RegisterActivityWithOptions(func(ctx context.Context, a distributions.BreakerAsk) (distributions.BreakerAnswer, error) {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.asks = append(b.asks, a)
		if n := len(b.asks) - 1; n < len(b.answers) {
			return b.answers[n], nil
		}
		return distributions.BreakerAnswer{Decision: distributions.BreakerGo}, nil
	}, activity.RegisterOptions{Name: ActivityAskBreaker})
	env.RegisterActivityWithOptions(func(ctx context.Context, r distributions.BreakerReport) (distributions.BreakerChange, error) {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.reports = append(b.reports, r)
		return b.change, nil
	}, activity.RegisterOptions{Name: ActivityReportBreaker})
	env.RegisterActivityWithOptions(func(ctx context.Context, n distributions.BreakerNotice) error {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.notices = append(b.notices, n)
		return nil
	}, activity.RegisterOptions{Name: ActivityNotifyBreaker})
}

// runBreaker runs the delivery of orderPaid with f and b, and returns the result, the
// offsets of the Post attempts and the search-attribute statuses set, in order.
func runBreaker(t *testing.T, f *fakeReceiver, b *fakeBreaker) (DeliveryResult, []time.Duration) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	f.register(env)
	b.register(env)
	start := env.Now()
	var mu sync.Mutex
	var offsets []time.Duration
	record := func(name string) {
		if name == ActivityPost {
			mu.Lock()
			offsets = append(offsets, env.Now().Sub(start))
			mu.Unlock()
		}
	}
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		record(info.ActivityType.Name)
	})
	env.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, _ []interface{}) { record(info.ActivityType.Name) })
	env.ExecuteWorkflow(DeliveryWorkflow, DeliveryInput{Event: orderPaid, LocalFirst: true})
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res DeliveryResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	return res, offsets
}

func withBreaker(d distributions.Distribution, failures int, interval time.Duration) distributions.Distribution {
	d.Webhook.CircuitBreaker = &distributions.CircuitBreaker{Failures: failures, ProbeInterval: distributions.Duration(interval)}
	return d
}

func TestBreaker(t *testing.T) {
	const interval = 30 * time.Second
	deliveryID := payloads.DeliveryID("evt_1", "distr_a")
	jitter := (&breaker{cfg: distributions.CircuitBreaker{ProbeInterval: distributions.Duration(interval)}, deliveryID: deliveryID}).jitter()
	hold := distributions.BreakerAnswer{Decision: distributions.BreakerHold, HoldSeq: 7, Wait: interval}
	tests := []struct {
		name    string
		script  []int
		answers []distributions.BreakerAnswer
		change  distributions.BreakerChange
		// want: Post offsets, asks made, reports' OK, notices' change, final status.
		offsets []time.Duration
		asks    int
		reports []bool
		notices []string
		status  string
	}{
		{name: "closed: goes at once, a success reported", script: []int{200},
			offsets: []time.Duration{0}, asks: 1, reports: []bool{true}, status: StatusDelivered},
		{name: "a failure that opens it notifies once; the retries go on as scheduled, unreported", script: []int{500, 500, 200},
			change:  distributions.BreakerChange{Opened: true, Opens: 1},
			offsets: []time.Duration{0, time.Minute, 2 * time.Minute}, asks: 1, reports: []bool{false}, notices: []string{"opened"}, status: StatusDelivered},
		{name: "a 4xx is an answer: it does not count against the receiver", script: []int{400},
			offsets: []time.Duration{0}, asks: 1, reports: []bool{true}, status: StatusFailed},
		{name: "held twice, then the probe: its success closes it", script: []int{200},
			answers: []distributions.BreakerAnswer{hold, hold, {Decision: distributions.BreakerProbe, HoldSeq: 7}},
			change:  distributions.BreakerChange{Closed: true, Opens: 1},
			offsets: []time.Duration{2 * (interval + jitter)}, asks: 3, reports: []bool{true}, notices: []string{"closed"}, status: StatusDelivered},
		{name: "a failed probe goes back to the hold, outside its schedule; the next probe delivers", script: []int{503, 200},
			answers: []distributions.BreakerAnswer{hold, {Decision: distributions.BreakerProbe, HoldSeq: 7}, hold, {Decision: distributions.BreakerProbe, HoldSeq: 7}},
			offsets: []time.Duration{interval + jitter, 2 * (interval + jitter)}, asks: 4, reports: []bool{false, true}, status: StatusDelivered},
		{name: "a probe answered 4xx closes it and fails as rejected", script: []int{422},
			answers: []distributions.BreakerAnswer{{Decision: distributions.BreakerProbe}},
			change:  distributions.BreakerChange{Closed: true, Opens: 1},
			offsets: []time.Duration{0}, asks: 1, reports: []bool{true}, notices: []string{"closed"}, status: StatusFailed},
		{name: "held, then let go in hold order after a wait; its schedule starts after it", script: []int{503, 200},
			answers: []distributions.BreakerAnswer{hold, {Decision: distributions.BreakerGo, HoldSeq: 7, Wait: 2 * time.Second}},
			offsets: []time.Duration{interval + jitter + 2*time.Second, interval + jitter + 2*time.Second + time.Minute},
			asks:    2, reports: []bool{false}, status: StatusDelivered},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeReceiver{
				candidates: []distributions.Distribution{withBreaker(distribution("distr_a", distributions.StatusLive, nil, "customer.order.paid"), 3, interval)},
				script:     map[string][]int{"distr_a": tt.script},
			}
			b := &fakeBreaker{answers: tt.answers, change: tt.change}
			res, offsets := runBreaker(t, f, b)
			if !reflect.DeepEqual(offsets, tt.offsets) {
				t.Errorf("attempts at %v, want %v", offsets, tt.offsets)
			}
			if res.Status != tt.status {
				t.Errorf("status %s, want %s", res.Status, tt.status)
			}
			if len(b.asks) != tt.asks {
				t.Errorf("%d asks, want %d", len(b.asks), tt.asks)
			}
			for i, a := range b.asks {
				want := distributions.BreakerAsk{DistributionID: "distr_a", DeliveryID: deliveryID, ProbeInterval: interval,
					Lease: distributions.DefaultTimeout + postMargin + 5*time.Second}
				if i > 0 && len(tt.answers) > 0 {
					want.HoldSeq = 7 // the place it was given is asked with again
				}
				if a != want {
					t.Errorf("ask %d: %+v, want %+v", i+1, a, want)
				}
			}
			var oks []bool
			for _, r := range b.reports {
				if r.DistributionID != "distr_a" || r.DeliveryID != deliveryID || r.Failures != 3 || r.ProbeInterval != interval {
					t.Errorf("report %+v", r)
				}
				oks = append(oks, r.OK)
			}
			if !reflect.DeepEqual(oks, tt.reports) {
				t.Errorf("reports %v, want %v", oks, tt.reports)
			}
			var changes []string
			for _, n := range b.notices {
				if n.Key() != "breaker:distr_a:1:"+n.Change || n.DistributionName != "name of distr_a" || n.Failures != 3 {
					t.Errorf("notice %+v", n)
				}
				changes = append(changes, n.Change)
			}
			if !reflect.DeepEqual(changes, tt.notices) {
				t.Errorf("notices %v, want %v", changes, tt.notices)
			}
		})
	}
}

// TestBreakerOffMakesNoCommand: a distribution without a breaker, or with failures 0, and a
// project webhook never ask or report.
func TestBreakerOffMakesNoCommand(t *testing.T) {
	off := distribution("distr_off", distributions.StatusLive, nil, "customer.order.paid")
	off.Webhook.CircuitBreaker = &distributions.CircuitBreaker{Failures: 0}
	f := &fakeReceiver{
		candidates: []distributions.Distribution{distribution("distr_a", distributions.StatusLive, nil, "customer.order.paid"), off},
		webhooks:   []distributions.ProjectWebhook{{ID: "wh_1", URL: "http://receiver.test/wh", Version: payloads.Version2024, Events: []string{"customer.order.paid"}, Active: true}},
		script:     map[string][]int{"distr_a": {500, 200}, "distr_off": {200}, "wh_1": {200}},
	}
	b := &fakeBreaker{}
	res, _ := runBreaker(t, f, b)
	if res.Status != StatusDelivered || len(b.asks) != 0 || len(b.reports) != 0 {
		t.Fatalf("status %s, %d asks, %d reports, want none", res.Status, len(b.asks), len(b.reports))
	}
}
