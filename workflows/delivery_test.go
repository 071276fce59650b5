package workflows

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/payloads"
)

// fakeReceiver plays the activities: it answers each attempt from a script per
// distribution and records what the workflow asked for.
type fakeReceiver struct {
	candidates []distributions.Distribution
	webhooks   []distributions.ProjectWebhook
	// script[distrID][n] is the status answered to attempt n+1; past its end, the last one.
	script map[string][]int
	// retryAfter[distrID][n] is the Retry-After seconds answered with attempt n+1.
	retryAfter map[string][]int64
	// byDelivery[deliveryID], when set, scripts one delivery's attempts in place of script.
	byDelivery map[string][]int

	mu       sync.Mutex
	attempts map[string][]payloads.Request
	notices  []distributions.FailureNotice
	paused   []string
	disabled []string
	outbound []string
}

func (f *fakeReceiver) register(env *testsuite.TestWorkflowEnvironment) {
	f.attempts = map[string][]payloads.Request{}
	env.RegisterWorkflowWithOptions(Delivery, workflow.RegisterOptions{Name: DeliveryWorkflow})
	env.RegisterActivityWithOptions(func(ctx context.Context, eventType string) (distributions.Snapshot, error) {
		return distributions.Snapshot{ProjectID: "proj_test", Candidates: f.candidates, Webhooks: f.webhooks}, nil
	}, activity.RegisterOptions{Name: ActivityLoadCandidates})
	env.RegisterActivityWithOptions(func(ctx context.Context, req payloads.Request) (payloads.Response, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		n := len(f.attempts[req.SourceID])
		s := f.script[req.SourceID]
		if own, ok := f.byDelivery[req.DeliveryID]; ok {
			n, s = 0, own
			for _, r := range f.attempts[req.SourceID] {
				if r.DeliveryID == req.DeliveryID {
					n++
				}
			}
		}
		f.attempts[req.SourceID] = append(f.attempts[req.SourceID], req)
		code := s[min(n, len(s)-1)]
		resp := payloads.Response{StatusCode: code}
		if ra := f.retryAfter[req.SourceID]; n < len(ra) {
			resp.RetryAfterSeconds = ra[n]
		}
		if o := payloads.ClassifyStatus(code); o != payloads.Delivered {
			return resp, temporal.NewApplicationErrorWithOptions(fmt.Sprintf("HTTP %d", code), string(o),
				temporal.ApplicationErrorOptions{NonRetryable: true, Details: []any{resp}})
		}
		return resp, nil
	}, activity.RegisterOptions{Name: ActivityPost})
	env.RegisterActivityWithOptions(func(ctx context.Context, n distributions.FailureNotice) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.notices = append(f.notices, n)
		return nil
	}, activity.RegisterOptions{Name: ActivityNotifyFailure})
	env.RegisterActivityWithOptions(func(ctx context.Context, id string) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.paused = append(f.paused, id)
		return nil
	}, activity.RegisterOptions{Name: ActivityPauseDistribution})
	env.RegisterActivityWithOptions(func(ctx context.Context, id string) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.disabled = append(f.disabled, id)
		return nil
	}, activity.RegisterOptions{Name: ActivityDisableWebhook})
	for _, name := range []string{ActivitySendFailureEmail, ActivitySendFailureAlert} {
		env.RegisterActivityWithOptions(func(ctx context.Context, n distributions.FailureNotice) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.outbound = append(f.outbound, name+":"+n.DeliveryID)
			return nil
		}, activity.RegisterOptions{Name: name})
	}
}

func distribution(id, status string, schedule *distributions.RetrySchedule, events ...string) distributions.Distribution {
	return distributions.Distribution{
		ID: id, Name: "name of " + id, Status: status,
		Trigger: distributions.Trigger{Events: events},
		Action:  distributions.Action{Type: distributions.ActionPlainMessage},
		Webhook: distributions.Webhook{EventName: "Order-paid", URL: "http://receiver.test/" + id,
			Version: payloads.Version2024, RetrySchedule: schedule},
	}
}

var orderPaid = payloads.Event{
	ID: "evt_1", Type: "customer.order.paid", CreatedAt: time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC),
	Source: json.RawMessage(`{"channel":"API"}`),
	Data:   map[string]json.RawMessage{"order": json.RawMessage(`{"id":"ord_1"}`)},
}

// run executes the workflow and returns its result and the offsets from the start at
// which each Post attempt began.
func run(t *testing.T, f *fakeReceiver) (DeliveryResult, []time.Duration) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	f.register(env)
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
	// First attempts are local activities.
	env.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, _ []interface{}) {
		record(info.ActivityType.Name)
	})
	env.ExecuteWorkflow(DeliveryWorkflow, DeliveryInput{Event: orderPaid})
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

func minutes(ms ...int) []time.Duration {
	out := make([]time.Duration, len(ms))
	for i, m := range ms {
		out[i] = time.Duration(m) * time.Minute
	}
	return out
}

func TestDeliveryNoMatch(t *testing.T) {
	f := &fakeReceiver{candidates: []distributions.Distribution{distribution("distr_seg", distributions.StatusLive, nil, "customer.segment.entered")}}
	res, offsets := run(t, f)
	if res.Status != StatusNoMatch || len(offsets) != 0 || len(res.Deliveries) != 0 {
		t.Errorf("result %+v, %d attempts", res, len(offsets))
	}
}

func TestDeliverySkipsPausedAndDraft(t *testing.T) {
	f := &fakeReceiver{candidates: []distributions.Distribution{
		distribution("distr_p", distributions.StatusPaused, nil, "customer.order.paid"),
		distribution("distr_d", distributions.StatusDraft, nil, "customer.order.*"),
	}}
	res, offsets := run(t, f)
	if res.Status != StatusSkipped || len(offsets) != 0 || !reflect.DeepEqual(res.Skipped, []distributions.Skip{{DistributionID: "distr_d", Reason: "draft"}, {DistributionID: "distr_p", Reason: "paused"}}) {
		t.Errorf("result %+v, %d attempts", res, len(offsets))
	}
}

func TestDeliveryRetriesOnTheVoucherifySchedule(t *testing.T) {
	f := &fakeReceiver{
		candidates: []distributions.Distribution{distribution("distr_a", distributions.StatusLive, nil, "customer.order.paid")},
		script:     map[string][]int{"distr_a": {503, 500, 200}},
	}
	res, offsets := run(t, f)
	if !reflect.DeepEqual(offsets, minutes(0, 1, 2)) {
		t.Errorf("attempts at %v, want %v", offsets, minutes(0, 1, 2))
	}
	want := DeliveryOutcome{DeliveryID: payloads.DeliveryID("evt_1", "distr_a"), DistributionID: "distr_a", SourceObject: "distribution",
		URL: "http://receiver.test/distr_a", Status: StatusDelivered, Attempts: 3}
	if res.Status != StatusDelivered || len(res.Deliveries) != 1 || !reflect.DeepEqual(res.Deliveries[0], want) {
		t.Errorf("result %+v", res)
	}
	// Every attempt carries the same delivery id and the same body.
	reqs := f.attempts["distr_a"]
	for _, r := range reqs[1:] {
		if r.DeliveryID != reqs[0].DeliveryID || string(r.Body) != string(reqs[0].Body) {
			t.Errorf("attempt differs: %+v vs %+v", r, reqs[0])
		}
	}
	if reqs[0].Timeout != distributions.DefaultTimeout {
		t.Errorf("timeout %v", reqs[0].Timeout)
	}
	if len(f.notices) != 0 || len(f.paused) != 0 {
		t.Errorf("notices %v paused %v", f.notices, f.paused)
	}
}

func TestDeliveryExhaustsNotifiesAndPauses(t *testing.T) {
	f := &fakeReceiver{
		candidates: []distributions.Distribution{distribution("distr_a", distributions.StatusLive, nil, "customer.order.paid")},
		script:     map[string][]int{"distr_a": {500}},
	}
	res, offsets := run(t, f)
	want := minutes(0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 1440)
	if !reflect.DeepEqual(offsets, want) {
		t.Errorf("attempts at %v\nwant %v", offsets, want)
	}
	if res.Status != StatusFailed || res.Deliveries[0].Attempts != 13 || res.Deliveries[0].Reason != ReasonExhausted {
		t.Errorf("result %+v", res)
	}
	if !reflect.DeepEqual(f.paused, []string{"distr_a"}) {
		t.Errorf("paused %v", f.paused)
	}
	id := payloads.DeliveryID("evt_1", "distr_a")
	if !reflect.DeepEqual(f.outbound, []string{ActivitySendFailureEmail + ":" + id, ActivitySendFailureAlert + ":" + id}) {
		t.Errorf("e-mail and alert: %v", f.outbound)
	}
	if len(f.notices) != 1 {
		t.Fatalf("notices %v", f.notices)
	}
	n := f.notices[0]
	if n.Reason != ReasonExhausted || !n.Paused || n.Attempts != 13 || n.LastError != "HTTP 500" ||
		n.EventID != "evt_1" || n.DistributionName != "name of distr_a" || n.WorkflowID == "" {
		t.Errorf("notice %+v", n)
	}
}

func TestDeliveryFinalStatuses(t *testing.T) {
	tests := []struct {
		code   int
		reason string
		pause  bool
	}{
		{410, ReasonGone, true},
		{400, ReasonRejected, false},
		{404, ReasonRejected, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.code), func(t *testing.T) {
			f := &fakeReceiver{
				candidates: []distributions.Distribution{distribution("distr_a", distributions.StatusLive, nil, "customer.order.paid")},
				script:     map[string][]int{"distr_a": {tt.code}},
			}
			res, offsets := run(t, f)
			if len(offsets) != 1 || res.Deliveries[0].Reason != tt.reason || res.Status != StatusFailed {
				t.Errorf("result %+v after %d attempts", res, len(offsets))
			}
			if (len(f.paused) == 1) != tt.pause || len(f.notices) != 1 || f.notices[0].Paused != tt.pause {
				t.Errorf("paused %v notices %+v", f.paused, f.notices)
			}
		})
	}
}

func TestDeliveryToSeveralDistributionsInParallel(t *testing.T) {
	custom := &distributions.RetrySchedule{Intervals: []time.Duration{10 * time.Second, 20 * time.Second}}
	f := &fakeReceiver{
		candidates: []distributions.Distribution{
			distribution("distr_b", distributions.StatusLive, custom, "customer.order.*"),
			distribution("distr_a", distributions.StatusLive, nil, "customer.order.paid"),
		},
		script: map[string][]int{"distr_a": {200}, "distr_b": {503}},
	}
	res, offsets := run(t, f)
	want := []time.Duration{0, 0, 10 * time.Second, 30 * time.Second}
	if !reflect.DeepEqual(offsets, want) {
		t.Errorf("attempts at %v, want %v (both first attempts at once)", offsets, want)
	}
	if res.Status != StatusFailed || len(res.Deliveries) != 2 ||
		res.Deliveries[0].DistributionID != "distr_a" || res.Deliveries[0].Status != StatusDelivered ||
		res.Deliveries[1].DistributionID != "distr_b" || res.Deliveries[1].Attempts != 3 {
		t.Errorf("result %+v", res)
	}
	a, b := f.attempts["distr_a"][0], f.attempts["distr_b"][0]
	if a.DeliveryID == b.DeliveryID {
		t.Error("two distributions share a delivery id")
	}
	var env struct {
		Type   string `json:"type"`
		Source struct {
			ID        string `json:"id"`
			TargetURL string `json:"target_url"`
		} `json:"source"`
	}
	if err := json.Unmarshal(b.Body, &env); err != nil || env.Source.ID != "distr_b" || env.Source.TargetURL != "http://receiver.test/distr_b" || env.Type != "Order-paid" {
		t.Errorf("body %s: %v", b.Body, err)
	}
}

func TestDeliveryToAProjectWebhookDisablesItWhenExhausted(t *testing.T) {
	hook := distributions.ProjectWebhook{ID: "wh_1", URL: "http://receiver.test/wh", Events: []string{"customer.order.*"},
		Active: true, Version: payloads.Version2024, RetrySchedule: &distributions.RetrySchedule{Intervals: []time.Duration{time.Second}}}
	inactive := hook
	inactive.ID, inactive.Active = "wh_0", false
	f := &fakeReceiver{webhooks: []distributions.ProjectWebhook{hook, inactive}, script: map[string][]int{"wh_1": {503}}}
	res, offsets := run(t, f)
	if len(offsets) != 2 || res.Status != StatusFailed || res.Deliveries[0].SourceObject != "webhook" {
		t.Fatalf("result %+v after %d attempts", res, len(offsets))
	}
	if !reflect.DeepEqual(f.disabled, []string{"wh_1"}) || len(f.paused) != 0 || len(f.notices) != 1 || !f.notices[0].Paused {
		t.Errorf("disabled %v paused %v notices %+v", f.disabled, f.paused, f.notices)
	}
	if !reflect.DeepEqual(res.Skipped, []distributions.Skip{{DistributionID: "wh_0", Reason: "inactive"}}) {
		t.Errorf("skipped %v", res.Skipped)
	}
	var env struct {
		Type   string `json:"type"`
		Source struct {
			ID     string `json:"id"`
			Object string `json:"object"`
		} `json:"source"`
	}
	body := f.attempts["wh_1"][0].Body
	if err := json.Unmarshal(body, &env); err != nil || env.Type != "customer.order.paid" || env.Source.ID != "wh_1" || env.Source.Object != "webhook" {
		t.Errorf("body %s", body)
	}
}

func TestDeliveryRecordsFilterErrorsAndRendersTheAction(t *testing.T) {
	promo := distribution("distr_promo", distributions.StatusLive, nil, "customer.order.paid")
	promo.Action = distributions.Action{Type: distributions.ActionNotifyPromotion,
		Campaign: json.RawMessage(`{"id":"camp_1"}`), PromotionTier: json.RawMessage(`{"id":"promo_1"}`)}
	promo.Webhook.Headers = []distributions.Header{{Name: "x-plain", Value: "p"}, {Name: "x-key", Secret: true}}
	broken := distribution("distr_broken", distributions.StatusLive, nil, "customer.order.paid")
	broken.Trigger.Filter = `data.customer.id == "x"` // orderPaid has no customer
	templated := distribution("distr_tpl", distributions.StatusLive, nil, "customer.order.paid")
	templated.Webhook.Template = `{"order": "{{order.id}}", "missing": {{customer.name}}}`
	templated.Webhook.Raw = true
	f := &fakeReceiver{candidates: []distributions.Distribution{promo, broken, templated},
		script: map[string][]int{"distr_promo": {200}, "distr_tpl": {200}}}
	res, _ := run(t, f)
	if len(res.FilterErrors) != 1 || res.FilterErrors[0].DistributionID != "distr_broken" || len(res.Deliveries) != 2 {
		t.Fatalf("result %+v", res)
	}
	req := f.attempts["distr_promo"][0]
	if !strings.Contains(string(req.Body), `"order":{"id":"ord_1"},"redemption":null,"campaign":{"id":"camp_1"},"promotion_tier":{"id":"promo_1"}}`) {
		t.Errorf("promotion body %s", req.Body)
	}
	if !reflect.DeepEqual(req.Headers, promo.Webhook.Headers) {
		t.Errorf("headers %+v", req.Headers)
	}
	if got := string(f.attempts["distr_tpl"][0].Body); got != `{"order":"ord_1","missing":null}` {
		t.Errorf("raw template body %s", got)
	}
	if w := res.Deliveries[1].Warnings; len(w) != 1 || !strings.Contains(w[0], "customer.name") {
		t.Errorf("warnings %v", w)
	}
}

// upsertedDeliveries runs the workflow on in and returns its result and the delivery ids
// it wrote to the HookflowDeliveries search attribute, by which the delivery log finds a
// delivery.
func upsertedDeliveries(t *testing.T, f *fakeReceiver, in DeliveryInput) (DeliveryResult, []string) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	f.register(env)
	var ids []string
	env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		if got, ok := args.Get(0).(temporal.SearchAttributes).GetKeywordList(DeliveriesKey); ok {
			ids = got
		}
	}).Return(nil)
	env.ExecuteWorkflow(DeliveryWorkflow, in)
	var res DeliveryResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	return res, ids
}

// TestDeliveryFilterErrorsAreFoundByTheirDeliveryID: a distribution whose filter failed on
// the event has its delivery id in HookflowDeliveries, whether the event went to no one, to
// others, or was skipped by others, so that the delivery log shows why it matched nothing.
func TestDeliveryFilterErrorsAreFoundByTheirDeliveryID(t *testing.T) {
	broken := distribution("distr_broken", distributions.StatusLive, nil, "customer.order.paid")
	broken.Trigger.Filter = `data.customer.id == "x"` // orderPaid has no customer
	ok := distribution("distr_ok", distributions.StatusLive, nil, "customer.order.paid")
	paused := distribution("distr_paused", distributions.StatusPaused, nil, "customer.order.paid")
	brokenID := payloads.DeliveryID(orderPaid.ID, broken.ID)
	tests := []struct {
		name       string
		candidates []distributions.Distribution
		status     string
		want       []string
	}{
		{"alone", []distributions.Distribution{broken}, StatusNoMatch, []string{brokenID}},
		{"beside a delivery", []distributions.Distribution{broken, ok}, StatusDelivered,
			[]string{payloads.DeliveryID(orderPaid.ID, ok.ID), brokenID}},
		{"beside a skip", []distributions.Distribution{broken, paused}, StatusSkipped,
			[]string{payloads.DeliveryID(orderPaid.ID, paused.ID), brokenID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeReceiver{candidates: tt.candidates, script: map[string][]int{ok.ID: {200}}}
			res, ids := upsertedDeliveries(t, f, DeliveryInput{Event: orderPaid, LocalFirst: true})
			if res.Status != tt.status || len(res.FilterErrors) != 1 || !reflect.DeepEqual(ids, tt.want) {
				t.Errorf("status %s, filter errors %+v, HookflowDeliveries %v, want %v", res.Status, res.FilterErrors, ids, tt.want)
			}
		})
	}

	// Many events (a message's customers): each filter error is its event's delivery.
	events := []payloads.Event{orderPaid, orderPaid}
	events[1].ID = "evt_2"
	res, ids := upsertedDeliveries(t, &fakeReceiver{candidates: []distributions.Distribution{broken}},
		DeliveryInput{Events: events, LocalFirst: true})
	want := []string{brokenID, payloads.DeliveryID("evt_2", broken.ID)}
	if len(res.FilterErrors) != 2 || res.FilterErrors[1].EventID != "evt_2" || !reflect.DeepEqual(ids, want) {
		t.Errorf("many events: filter errors %+v, HookflowDeliveries %v, want %v", res.FilterErrors, ids, want)
	}
}

func TestDeliveryHonoursRetryAfterWithinBounds(t *testing.T) {
	tests := []struct {
		name       string
		retryAfter []int64
		want       []time.Duration
	}{
		// Asked for 10 min after the first: at most twice the 1 min interval, and the next
		// retry (planned at +2 min) moves by the extra minute.
		{"long wait capped", []int64{600}, minutes(0, 2, 3)},
		// Asked for 10 s: never sooner than the schedule's interval.
		{"short wait raised", []int64{10}, minutes(0, 1, 2)},
		{"within bounds", []int64{90}, []time.Duration{0, 90 * time.Second, 150 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeReceiver{
				candidates: []distributions.Distribution{distribution("distr_a", distributions.StatusLive, nil, "customer.order.paid")},
				script:     map[string][]int{"distr_a": {429, 503, 200}},
				retryAfter: map[string][]int64{"distr_a": tt.retryAfter},
			}
			res, offsets := run(t, f)
			if !reflect.DeepEqual(offsets, tt.want) || res.Status != StatusDelivered {
				t.Errorf("attempts at %v, want %v (%+v)", offsets, tt.want, res)
			}
		})
	}
}

// TestDeliveryFanOutIsBounded: more matches than the limit deliver to the first
// MaxTargetsPerEvent and record the rest as skipped; the search attributes stay under the
// server's size limit.
func TestDeliveryFanOutIsBounded(t *testing.T) {
	n := MaxTargetsPerEvent + 3
	f := &fakeReceiver{script: map[string][]int{}}
	for i := 0; i < n; i++ {
		d := distribution(fmt.Sprintf("distr_%04d", i), distributions.StatusLive, nil, "customer.order.paid")
		f.candidates = append(f.candidates, d)
		f.script[d.ID] = []int{200}
	}
	res, offsets := run(t, f)
	if len(res.Deliveries) != MaxTargetsPerEvent || len(offsets) != MaxTargetsPerEvent || len(res.Skipped) != 3 ||
		!strings.Contains(res.Skipped[0].Reason, "limit") || res.Status != StatusDelivered {
		t.Errorf("%d deliveries, %d attempts, skipped %v", len(res.Deliveries), len(offsets), res.Skipped)
	}
}

func TestCapList(t *testing.T) {
	var ids []string
	for i := 0; i < 200; i++ {
		ids = append(ids, payloads.DeliveryID("evt", fmt.Sprint(i)))
	}
	got := capList(ids)
	b, _ := json.Marshal(got)
	if len(b) > maxSearchAttributeBytes || len(got) < 40 || got[0] != ids[0] {
		t.Errorf("capped to %d ids, %d bytes", len(got), len(b))
	}
	if short := capList(ids[:3]); len(short) != 3 {
		t.Errorf("a short list was cut: %d", len(short))
	}
}

// fakePool plays the PublishCode activity: failFirst calls fail with a store error first,
// then each key gets the next code, the same on every call; past the codes, the pool is
// empty.
type fakePool struct {
	codes     []string
	failFirst int

	mu     sync.Mutex
	calls  []publishCall
	issued map[string]string
}

type publishCall struct {
	EventID, DistributionID, CustomerID string
	Campaign                            json.RawMessage
}

func (p *fakePool) publish(ctx context.Context, eventID, distributionID, customerID string, campaign json.RawMessage) (publishedCode, error) {
	in := publishCall{eventID, distributionID, customerID, campaign}
	var c struct{ ID string }
	_ = json.Unmarshal(campaign, &c)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, in)
	if len(p.calls) <= p.failFirst {
		return publishedCode{}, fmt.Errorf("store unreachable")
	}
	if p.issued == nil {
		p.issued = map[string]string{}
	}
	key := in.EventID + "/" + in.DistributionID + "/" + in.CustomerID
	code, ok := p.issued[key]
	if !ok {
		if len(p.issued) == len(p.codes) {
			return publishedCode{}, temporal.NewNonRetryableApplicationError(
				"the code pool of campaign "+c.ID+" is empty: all codes are published", errTypePoolEmpty, nil)
		}
		code = p.codes[len(p.issued)]
		p.issued[key] = code
	}
	return publishedCode{
		Campaign:    in.Campaign,
		Voucher:     json.RawMessage(fmt.Sprintf(`{"object":"voucher","code":%q,"campaign_id":%q}`, code, c.ID)),
		Publication: json.RawMessage(fmt.Sprintf(`{"id":"pub_%s","object":"publication","customer_id":%q,"voucher":{"code":%q},"result":"SUCCESS"}`, code, in.CustomerID, code)),
	}, nil
}

func publishDistribution(id string) distributions.Distribution {
	d := distribution(id, distributions.StatusLive, nil, "customer.order.paid")
	d.Action = distributions.Action{Type: distributions.ActionPublishCode, Campaign: json.RawMessage(`{"id":"camp_1","name":"Spring"}`)}
	return d
}

// runPublish runs the workflow on ev with the PublishCode activity played by pool.
func runPublish(t *testing.T, f *fakeReceiver, pool *fakePool, ev payloads.Event) DeliveryResult {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	f.register(env)
	env.RegisterActivityWithOptions(pool.publish, activity.RegisterOptions{Name: ActivityPublishCode})
	env.ExecuteWorkflow(DeliveryWorkflow, DeliveryInput{Event: ev})
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
	return res
}

func withCustomer(ev payloads.Event, customer string) payloads.Event {
	data := map[string]json.RawMessage{}
	for k, v := range ev.Data {
		data[k] = v
	}
	data["customer"] = json.RawMessage(customer)
	ev.Data = data
	return ev
}

func TestDeliveryPublishCodeAddsTheObjects(t *testing.T) {
	plain := distribution("distr_plain", distributions.StatusLive, nil, "customer.order.paid")
	f := &fakeReceiver{candidates: []distributions.Distribution{publishDistribution("distr_pub"), plain},
		script: map[string][]int{"distr_pub": {500, 200}, "distr_plain": {200}}}
	// The store fails twice: the activity is retried, and the retries of the POST reuse the
	// rendered body (one code).
	pool := &fakePool{codes: []string{"CODE-1", "CODE-2"}, failFirst: 2}
	res := runPublish(t, f, pool, withCustomer(orderPaid, `{"id":"cust_7","name":"Ann"}`))
	if res.Status != StatusDelivered || len(res.Deliveries) != 2 || len(f.attempts["distr_pub"]) != 2 {
		t.Fatalf("result %+v", res)
	}
	want := publishCall{EventID: "evt_1", DistributionID: "distr_pub", CustomerID: "cust_7",
		Campaign: json.RawMessage(`{"id":"camp_1","name":"Spring"}`)}
	if len(pool.calls) != 3 || !reflect.DeepEqual(pool.calls[2], want) {
		t.Errorf("PublishCode calls %+v\nwant 3, the last %+v", pool.calls, want)
	}
	for i, req := range f.attempts["distr_pub"] {
		if !strings.Contains(string(req.Body), `"order":{"id":"ord_1"},"redemption":null,"campaign":{"id":"camp_1","name":"Spring"},`+
			`"voucher":{"object":"voucher","code":"CODE-1","campaign_id":"camp_1"},`+
			`"publication":{"id":"pub_CODE-1","object":"publication","customer_id":"cust_7","voucher":{"code":"CODE-1"},"result":"SUCCESS"}}`) {
			t.Errorf("attempt %d body %s", i+1, req.Body)
		}
	}
	if body := string(f.attempts["distr_plain"][0].Body); strings.Contains(body, "voucher") {
		t.Errorf("the plain distribution got the code: %s", body)
	}
}

func TestDeliveryPublishCodeFailsWithoutACode(t *testing.T) {
	tests := []struct {
		name, customer, wantError string
		calls                     int
	}{
		{"empty pool", `{"id":"cust_7"}`, "the code pool of campaign camp_1 is empty: all codes are published", 1},
		{"no customer", `null`, "publish_code: the event names no customer (data.customer.id or data.customer.source_id) to publish a code to", 0},
		{"customer without an id", `{"name":"Ann","id":7}`, "publish_code: the event names no customer", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeReceiver{candidates: []distributions.Distribution{publishDistribution("distr_pub")}, script: map[string][]int{"distr_pub": {200}}}
			pool := &fakePool{}
			res := runPublish(t, f, pool, withCustomer(orderPaid, tt.customer))
			out := res.Deliveries[0]
			if res.Status != StatusFailed || out.Status != StatusFailed || out.Reason != ReasonNoCode ||
				!strings.HasPrefix(out.LastError, tt.wantError) || out.Attempts != 0 {
				t.Errorf("result %+v", res)
			}
			if len(pool.calls) != tt.calls || len(f.attempts["distr_pub"]) != 0 {
				t.Errorf("%d PublishCode calls, %d POSTs", len(pool.calls), len(f.attempts["distr_pub"]))
			}
			// Notified on every channel, not paused.
			id := payloads.DeliveryID("evt_1", "distr_pub")
			if len(f.notices) != 1 || f.notices[0].Reason != ReasonNoCode || f.notices[0].LastError != out.LastError || f.notices[0].Paused {
				t.Errorf("notices %+v", f.notices)
			}
			if !reflect.DeepEqual(f.outbound, []string{ActivitySendFailureEmail + ":" + id, ActivitySendFailureAlert + ":" + id}) || len(f.paused) != 0 {
				t.Errorf("outbound %v, paused %v", f.outbound, f.paused)
			}
		})
	}
}

// The code goes to the payload's customer: for a referrer recipient, the referrer; a
// customer known by its source_id only is published to by it.
func TestDeliveryPublishCodeCustomer(t *testing.T) {
	toReferrer := publishDistribution("distr_ref")
	toReferrer.Trigger.Recipient = distributions.RecipientReferrer
	bySource := publishDistribution("distr_src")
	f := &fakeReceiver{candidates: []distributions.Distribution{toReferrer}, script: map[string][]int{"distr_ref": {200}, "distr_src": {200}}}
	ev := withCustomer(orderPaid, `{"id":"cust_referee"}`)
	ev.Data["referrer"] = json.RawMessage(`{"id":"cust_referrer"}`)
	pool := &fakePool{codes: []string{"A", "B"}}
	runPublish(t, f, pool, ev)
	f = &fakeReceiver{candidates: []distributions.Distribution{bySource}, script: map[string][]int{"distr_src": {200}}}
	runPublish(t, f, pool, withCustomer(orderPaid, `{"source_id":"shop-42"}`))
	if len(pool.calls) != 2 || pool.calls[0].CustomerID != "cust_referrer" || pool.calls[1].CustomerID != "shop-42" {
		t.Errorf("calls %+v", pool.calls)
	}
}

// TestDeliveryLocalFirstFromTheInput: with LocalFirst in the input (as every starter sends
// it) the first attempt is a local activity and the version marker is not asked, so the
// workflow upserts no TemporalChangeVersion; without it, the version marker decides, and
// the DefaultVersion of a history recorded before local first makes the attempt a regular
// activity.
func TestDeliveryLocalFirstFromTheInput(t *testing.T) {
	for _, tc := range []struct {
		name       string
		in         DeliveryInput
		wantLocal  bool
		wantMarker bool
	}{
		{"input says local first", DeliveryInput{Event: orderPaid, LocalFirst: true}, true, false},
		{"no word in the input, the marker's default version", DeliveryInput{Event: orderPaid}, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s testsuite.WorkflowTestSuite
			env := s.NewTestWorkflowEnvironment()
			f := &fakeReceiver{candidates: []distributions.Distribution{distribution("d1", distributions.StatusLive, nil, "customer.order.paid")},
				script: map[string][]int{"d1": {200}}}
			f.register(env)
			askedVersion := false
			env.OnGetVersion(localFirstVersion, workflow.DefaultVersion, 1).Return(func(string, workflow.Version, workflow.Version) workflow.Version {
				askedVersion = true
				return workflow.DefaultVersion
			})
			var local, regular int
			env.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, _ []interface{}) {
				if info.ActivityType.Name == ActivityPost {
					local++
				}
			})
			env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
				if info.ActivityType.Name == ActivityPost {
					regular++
				}
			})
			env.ExecuteWorkflow(DeliveryWorkflow, tc.in)
			var res DeliveryResult
			if err := env.GetWorkflowResult(&res); err != nil || res.Status != StatusDelivered {
				t.Fatalf("result %+v, %v", res, err)
			}
			if askedVersion != tc.wantMarker || (local == 1) != tc.wantLocal || local+regular != 1 {
				t.Errorf("asked the version marker %v (want %v); Post as a local activity %d, regular %d", askedVersion, tc.wantMarker, local, regular)
			}
		})
	}
}

// TestDeliveryOfManyEvents: a workflow that delivers the customers of a message (Events)
// makes one delivery per customer, each with its own delivery id, body, schedule and
// outcome, as if each were its own workflow; a paused distribution skips each of them, by
// its own delivery id.
func TestDeliveryOfManyEvents(t *testing.T) {
	manual := func(seq int) payloads.Event {
		return payloads.Event{ID: payloads.MessageEventID("msg_1", seq), Type: payloads.ManualEventType, CreatedAt: orderPaid.CreatedAt,
			Source: json.RawMessage(`{"channel":"API"}`),
			Data:   map[string]json.RawMessage{"customer": json.RawMessage(fmt.Sprintf(`{"id":"cust_%d"}`, seq))}}
	}
	events := []payloads.Event{manual(0), manual(1), manual(2)}
	d := distribution("distr_m", distributions.StatusLive, &distributions.RetrySchedule{Intervals: []time.Duration{time.Minute, time.Minute}}, payloads.ManualEventType)
	other := distribution("distr_other", distributions.StatusLive, nil, payloads.ManualEventType)
	for _, dist := range []*distributions.Distribution{&d, &other} {
		dist.Action = distributions.Action{Type: distributions.ActionNotifyPromotion,
			Campaign: json.RawMessage(`{"id":"camp_1"}`), PromotionTier: json.RawMessage(`{"id":"promo_1"}`)}
	}
	f := &fakeReceiver{candidates: []distributions.Distribution{d, other}, script: map[string][]int{"distr_m": {200}},
		byDelivery: map[string][]int{payloads.DeliveryID(events[1].ID, d.ID): {503, 200}}}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	f.register(env)
	env.ExecuteWorkflow(DeliveryWorkflow, DeliveryInput{Events: events, Only: []string{d.ID}, LocalFirst: true})
	var res DeliveryResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Status != StatusDelivered || len(res.Deliveries) != 3 || len(f.attempts["distr_other"]) != 0 {
		t.Fatalf("result %+v, attempts %v", res, f.attempts)
	}
	for i, out := range res.Deliveries {
		wantAttempts := 1
		if i == 1 {
			wantAttempts = 2
		}
		if out.EventID != events[i].ID || out.DeliveryID != payloads.DeliveryID(events[i].ID, d.ID) || out.Status != StatusDelivered || out.Attempts != wantAttempts {
			t.Errorf("delivery %d: %+v", i, out)
		}
	}
	bodies := map[string]string{}
	for _, r := range f.attempts[d.ID] {
		if prev, seen := bodies[r.DeliveryID]; seen && prev != string(r.Body) {
			t.Errorf("the attempts of %s differ in body", r.DeliveryID)
		}
		bodies[r.DeliveryID] = string(r.Body)
	}
	for i, ev := range events {
		if body := bodies[payloads.DeliveryID(ev.ID, d.ID)]; !strings.Contains(body, fmt.Sprintf(`"id":"cust_%d"`, i)) || !strings.Contains(body, `"id":"`+payloads.DeliveryID(ev.ID, d.ID)+`"`) {
			t.Errorf("customer %d's body: %s", i, body)
		}
	}

	d.Status = distributions.StatusPaused
	f = &fakeReceiver{candidates: []distributions.Distribution{d}, script: map[string][]int{"distr_m": {200}}}
	env = s.NewTestWorkflowEnvironment()
	f.register(env)
	env.ExecuteWorkflow(DeliveryWorkflow, DeliveryInput{Events: events, Only: []string{d.ID}, LocalFirst: true})
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Status != StatusSkipped || len(res.Skipped) != 3 || len(f.attempts[d.ID]) != 0 {
		t.Fatalf("paused: %+v", res)
	}
	for i, skip := range res.Skipped {
		if skip.EventID != events[i].ID || skip.DistributionID != d.ID || skip.Reason != distributions.StatusPaused {
			t.Errorf("skip %d: %+v", i, skip)
		}
	}
	if ids := skippedDeliveryIDs("unused", res.Skipped); ids[2] != payloads.DeliveryID(events[2].ID, d.ID) {
		t.Errorf("skipped delivery ids %v", ids)
	}
}

// TestDeliveryWithCandidatesInItsInput: candidates the starter read at intake are matched as
// they are, and no activity reads them again.
func TestDeliveryWithCandidatesInItsInput(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	f := &fakeReceiver{script: map[string][]int{"d1": {200}}} // the activity would find nothing
	f.register(env)
	loads := 0
	env.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, _ []interface{}) {
		if info.ActivityType.Name == ActivityLoadCandidates {
			loads++
		}
	})
	snap := &distributions.Snapshot{ProjectID: "proj_intake", Candidates: []distributions.Distribution{distribution("d1", distributions.StatusLive, nil, "customer.order.paid")}}
	env.ExecuteWorkflow(DeliveryWorkflow, DeliveryInput{Event: orderPaid, LocalFirst: true, Candidates: snap})
	var res DeliveryResult
	if err := env.GetWorkflowResult(&res); err != nil || res.Status != StatusDelivered || len(res.Deliveries) != 1 || res.Deliveries[0].DistributionID != "d1" {
		t.Fatalf("result %+v, %v", res, err)
	}
	if loads != 0 || !strings.Contains(string(f.attempts["d1"][0].Body), `"project_id":"proj_intake"`) {
		t.Errorf("candidates read %d times; body %s", loads, f.attempts["d1"][0].Body)
	}
}
