package workflows

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/payloads"
)

// streamRun is a Stream workflow under the test suite: turns granted are recorded (with
// the time they were granted), and missing[id] says how many more grants to id fail as
// not found (-1: always).
type streamRun struct {
	env     *testsuite.TestWorkflowEnvironment
	mu      sync.Mutex
	granted []string
	at      []time.Duration
	missing map[string]int
}

func newStreamRun(t *testing.T) *streamRun {
	var s testsuite.WorkflowTestSuite
	r := &streamRun{env: s.NewTestWorkflowEnvironment(), missing: map[string]int{}}
	r.env.RegisterWorkflowWithOptions(Stream, workflow.RegisterOptions{Name: StreamWorkflow})
	start := r.env.Now()
	r.env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, "", signalTurnPrefix+"distr_o", mock.Anything).Return(
		func(_, id, _, _ string, _ any) error {
			r.mu.Lock()
			defer r.mu.Unlock()
			if n := r.missing[id]; n != 0 {
				r.missing[id] = n - 1
				return errors.New("workflow not found")
			}
			r.granted = append(r.granted, id)
			r.at = append(r.at, r.env.Now().Sub(start))
			return nil
		})
	return r
}

func (r *streamRun) at_(d time.Duration, signal, id string) {
	r.env.RegisterDelayedCallback(func() { r.env.SignalWorkflow(signal, StreamItem{WorkflowID: id}) }, d)
}

func (r *streamRun) run(t *testing.T, in StreamInput) error {
	t.Helper()
	in.DistributionID = "distr_o"
	r.env.ExecuteWorkflow(StreamWorkflow, in)
	if !r.env.IsWorkflowCompleted() {
		t.Fatal("stream did not end")
	}
	return r.env.GetWorkflowError()
}

func TestStreamGrantsTurnsInOrderOneAtATime(t *testing.T) {
	r := newStreamRun(t)
	s := time.Second
	r.at_(1*s, SignalEnqueue, "event/a")
	r.at_(1*s, SignalEnqueue, "event/b")
	r.at_(1*s, SignalEnqueue, "event/a") // submitted twice: queued once
	r.at_(2*s, SignalEnqueue, "event/c")
	r.at_(3*s, SignalEnqueue, "event/d")
	r.at_(4*s, SignalDone, "event/d") // matched nothing: leaves the queue before its turn
	r.at_(10*s, SignalDone, "event/a")
	r.at_(20*s, SignalDone, "event/b")
	r.at_(25*s, SignalEnqueue, "event/b") // again, after its turn: remembered, not queued
	r.at_(30*s, SignalDone, "event/c")
	if err := r.run(t, StreamInput{}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"event/a", "event/b", "event/c"}; !reflect.DeepEqual(r.granted, want) {
		t.Fatalf("granted %v, want %v", r.granted, want)
	}
	// Each turn comes when the one before is done, not earlier.
	if want := []time.Duration{1 * s, 10 * s, 20 * s}; !reflect.DeepEqual(r.at, want) {
		t.Errorf("granted at %v, want %v", r.at, want)
	}
}

func TestStreamAsksAgainWhileTheWorkflowIsNotFound(t *testing.T) {
	r := newStreamRun(t)
	r.missing["event/late"] = 2   // started just after its enqueue
	r.missing["event/never"] = -1 // its start failed
	r.at_(time.Second, SignalEnqueue, "event/late")
	r.at_(time.Second, SignalEnqueue, "event/never")
	r.at_(time.Second, SignalEnqueue, "event/next")
	r.at_(time.Minute, SignalDone, "event/late")
	r.at_(3*time.Minute, SignalDone, "event/next")
	if err := r.run(t, StreamInput{}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"event/late", "event/next"}; !reflect.DeepEqual(r.granted, want) {
		t.Fatalf("granted %v, want %v", r.granted, want)
	}
	// event/late after the waits of 1 s and 2 s; event/next once event/late is done and
	// event/never's waits have run out.
	var waits time.Duration
	for _, w := range streamNotFound {
		waits += w
	}
	if want := []time.Duration{4 * time.Second, time.Minute + waits}; !reflect.DeepEqual(r.at, want) {
		t.Errorf("granted at %v, want %v", r.at, want)
	}
}

func TestStreamGoesOnWhenItsHeadEndedWithoutDone(t *testing.T) {
	r := newStreamRun(t)
	r.at_(time.Second, SignalEnqueue, "event/terminated")
	r.at_(time.Second, SignalEnqueue, "event/next")
	// The check finds event/terminated gone: the first grant worked, the check's fails.
	r.env.RegisterDelayedCallback(func() {
		r.mu.Lock()
		r.missing["event/terminated"] = -1
		r.mu.Unlock()
	}, time.Minute)
	r.at_(time.Hour, SignalDone, "event/next")
	if err := r.run(t, StreamInput{}); err != nil {
		t.Fatal(err)
	}
	// While it waits for its head's done, the stream grants the turn again now and then:
	// the head's workflow ignores it, and a failure says it has ended.
	if want := int((time.Hour - time.Second - streamCheck) / streamCheck); len(r.granted)-2 != want {
		t.Errorf("granted %v: %d checks, want %d", r.granted, len(r.granted)-2, want)
	}
	if want := []string{"event/terminated", "event/next"}; !reflect.DeepEqual(slices.Compact(slices.Clone(r.granted)), want) {
		t.Fatalf("granted %v, want %v", r.granted, want)
	}
	if want := time.Second + streamCheck; r.at[1] != want {
		t.Errorf("next granted at %v, want %v (at the first check)", r.at[1], want)
	}
}

func TestStreamContinuesAsNewCarryingItsQueue(t *testing.T) {
	defer func(n int) { streamContinueAfter = n }(streamContinueAfter)
	streamContinueAfter = 2
	r := newStreamRun(t)
	for _, id := range []string{"event/a", "event/b", "event/c", "event/d"} {
		r.at_(time.Second, SignalEnqueue, id)
	}
	r.at_(10*time.Second, SignalDone, "event/a")
	r.at_(20*time.Second, SignalDone, "event/b")
	err := r.run(t, StreamInput{Recent: []string{"event/old"}})
	var can *workflow.ContinueAsNewError
	if !errors.As(err, &can) {
		t.Fatalf("ended with %v, want continue-as-new", err)
	}
	var next StreamInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	want := StreamInput{DistributionID: "distr_o", Queue: []string{"event/c", "event/d"},
		Recent: []string{"event/old", "event/a", "event/b"}}
	if !reflect.DeepEqual(next, want) {
		t.Errorf("continued with %+v, want %+v", next, want)
	}
	// The next run grants the carried head first, and still drops what it remembers.
	r2 := newStreamRun(t)
	r2.at_(time.Second, SignalEnqueue, "event/a")
	r2.at_(5*time.Second, SignalDone, "event/c")
	r2.at_(6*time.Second, SignalDone, "event/d")
	if err := r2.run(t, next); err != nil {
		t.Fatal(err)
	}
	if want := []string{"event/c", "event/d"}; !reflect.DeepEqual(r2.granted, want) {
		t.Errorf("next run granted %v, want %v", r2.granted, want)
	}
}

func TestStreamEndsWhenIdle(t *testing.T) {
	r := newStreamRun(t)
	start := r.env.Now()
	if err := r.run(t, StreamInput{}); err != nil {
		t.Fatal(err)
	}
	if got := r.env.Now().Sub(start); got != streamIdle {
		t.Errorf("ended after %v, want %v", got, streamIdle)
	}
}

func TestStreamIDAndOrderedTargets(t *testing.T) {
	ordered := distribution("distr_o", distributions.StatusLive, nil, "customer.order.*")
	ordered.Webhook.Ordering = &distributions.Ordering{Key: "data.order.id"}
	paused := ordered
	paused.ID, paused.Status = "distr_paused", distributions.StatusPaused
	other := ordered
	other.ID, other.Trigger.Events = "distr_other", []string{"customer.segment.entered"}
	plain := distribution("distr_plain", distributions.StatusLive, nil, "customer.order.paid")
	snap := &distributions.Snapshot{Candidates: []distributions.Distribution{plain, paused, ordered, other}}
	got := OrderedTargets(snap, "customer.order.paid", func(d distributions.Distribution) string { return d.Webhook.Ordering.StreamKey(orderPaid) })
	want := []OrderedTarget{{DistributionID: "distr_o", Stream: StreamID("distr_o", "ord_1")}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("targets %+v, want %+v", got, want)
	}
	if OrderedTargets(nil, "customer.order.paid", nil) != nil {
		t.Error("targets without a snapshot")
	}
	if StreamID("d", "a") == StreamID("d", "b") || StreamID("d", "a") == StreamID("e", "a") || StreamID("d", "a") != StreamID("d", "a") {
		t.Error("stream ids do not tell keys and distributions apart")
	}
}

// orderedRun runs a Delivery workflow of orderPaid whose candidates are cands and whose
// input puts it on the streams of ordered; turnAt[distr] is when the stream grants the
// turn (never without). It returns the result, the offsets of the attempts by
// distribution, the stream signals sent (stream id -> workflow ids said done, with the
// time), and the HookflowStatus values written.
type orderedOutcome struct {
	res      DeliveryResult
	attempts map[string][]time.Duration
	done     map[string][]time.Duration
	statuses []string
}

func orderedRun(t *testing.T, f *fakeReceiver, ordered []OrderedTarget, turnAt map[string]time.Duration, moreTurns ...time.Duration) orderedOutcome {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	f.register(env)
	start := env.Now()
	out := orderedOutcome{attempts: map[string][]time.Duration{}, done: map[string][]time.Duration{}}
	var mu sync.Mutex
	record := func(name string, args []any) {
		if name != ActivityPost {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		id := args[0].(payloads.Request).SourceID
		out.attempts[id] = append(out.attempts[id], env.Now().Sub(start))
	}
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, args converter.EncodedValues) {
		var req payloads.Request
		_ = args.Get(&req)
		record(info.ActivityType.Name, []any{req})
	})
	env.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, args []any) {
		record(info.ActivityType.Name, args)
	})
	env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, "", SignalDone, mock.Anything).Return(
		func(_, stream, _, _ string, arg any) error {
			if item := arg.(StreamItem); item.WorkflowID != WorkflowID(orderPaid.ID) {
				t.Errorf("done names %q", item.WorkflowID)
			}
			mu.Lock()
			defer mu.Unlock()
			out.done[stream] = append(out.done[stream], env.Now().Sub(start))
			return nil
		})
	env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		if got, ok := args.Get(0).(temporal.SearchAttributes).GetKeyword(StatusKey); ok {
			out.statuses = append(out.statuses, got)
		}
	}).Return(nil)
	for distr, at := range turnAt {
		env.RegisterDelayedCallback(func() { env.SignalWorkflow(signalTurnPrefix+distr, nil) }, at)
		for _, more := range moreTurns {
			env.RegisterDelayedCallback(func() { env.SignalWorkflow(signalTurnPrefix+distr, nil) }, more)
		}
	}
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: WorkflowID(orderPaid.ID)})
	snap := distributions.Snapshot{ProjectID: "proj_test", Candidates: f.candidates}
	env.ExecuteWorkflow(DeliveryWorkflow, DeliveryInput{Event: orderPaid, LocalFirst: true, Candidates: &snap, Ordered: ordered})
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	if err := env.GetWorkflowResult(&out.res); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDeliveryWaitsForItsTurnOnAnOrderedDistribution(t *testing.T) {
	short := &distributions.RetrySchedule{Intervals: []time.Duration{10 * time.Second}}
	ordered := distribution("distr_o", distributions.StatusLive, short, "customer.order.paid")
	ordered.Webhook.Ordering = &distributions.Ordering{Key: "data.order.id"}
	plain := distribution("distr_plain", distributions.StatusLive, nil, "customer.order.paid")
	notMatching := ordered
	notMatching.ID, notMatching.Trigger.Filter = "distr_nm", `data.order.id == "other"`
	stream := StreamID("distr_o", "ord_1")
	streamNM := StreamID("distr_nm", "ord_1")
	targets := []OrderedTarget{{DistributionID: "distr_o", Stream: stream}, {DistributionID: "distr_nm", Stream: streamNM}}

	tests := []struct {
		name     string
		script   []int
		status   string
		statuses []string
		attempts []time.Duration
	}{
		{"delivered", []int{200}, StatusDelivered, []string{StatusQueued, StatusDelivered}, []time.Duration{time.Minute}},
		{"retried then delivered", []int{500, 200}, StatusDelivered, []string{StatusQueued, StatusRetrying, StatusDelivered},
			[]time.Duration{time.Minute, time.Minute + 10*time.Second}},
		// Retrying while the failure is notified, as an unordered delivery's event shows.
		{"failed for good", []int{400}, StatusFailed, []string{StatusQueued, StatusRetrying, StatusFailed}, []time.Duration{time.Minute}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeReceiver{candidates: []distributions.Distribution{ordered, plain, notMatching},
				script: map[string][]int{"distr_o": tc.script, "distr_plain": {200}}}
			out := orderedRun(t, f, targets, map[string]time.Duration{"distr_o": time.Minute})
			if out.res.Status != tc.status {
				t.Errorf("status %s, want %s", out.res.Status, tc.status)
			}
			// The unordered distribution of the same event is not held.
			if got := out.attempts["distr_plain"]; !reflect.DeepEqual(got, []time.Duration{0}) {
				t.Errorf("plain attempts at %v, want at once", got)
			}
			if got := out.attempts["distr_o"]; !reflect.DeepEqual(got, tc.attempts) {
				t.Errorf("ordered attempts at %v, want %v (none before the turn)", got, tc.attempts)
			}
			// Done once the delivery is final; at once to the stream it matched nothing on.
			last := tc.attempts[len(tc.attempts)-1]
			if got := out.done[stream]; !reflect.DeepEqual(got, []time.Duration{last}) {
				t.Errorf("done to its stream at %v, want %v", got, last)
			}
			if got := out.done[streamNM]; !reflect.DeepEqual(got, []time.Duration{0}) {
				t.Errorf("done to the stream it matched nothing on at %v, want at once", got)
			}
			if !reflect.DeepEqual(out.statuses, tc.statuses) {
				t.Errorf("statuses %v, want %v", out.statuses, tc.statuses)
			}
		})
	}
}

// Without Ordered in the input (a resend, an older starter, a store that could not be read
// at intake) a distribution with ordering is sent at once: nothing would grant a turn.
func TestDeliveryWithoutOrderedInputDoesNotWait(t *testing.T) {
	ordered := distribution("distr_o", distributions.StatusLive, nil, "customer.order.paid")
	ordered.Webhook.Ordering = &distributions.Ordering{}
	f := &fakeReceiver{candidates: []distributions.Distribution{ordered}, script: map[string][]int{"distr_o": {200}}}
	out := orderedRun(t, f, nil, nil)
	if out.res.Status != StatusDelivered || !reflect.DeepEqual(out.attempts["distr_o"], []time.Duration{0}) || len(out.done) != 0 {
		t.Errorf("result %+v, attempts %v, done %v", out.res, out.attempts, out.done)
	}
	if slices.Contains(out.statuses, StatusQueued) {
		t.Errorf("statuses %v", out.statuses)
	}
}

// TestDeliveryAnswersALateTurn: a turn that comes after the delivery was final (the event
// queued again, or a check crossing its done) is answered with done at once while the
// workflow still runs for its other deliveries, so the stream is not held.
func TestDeliveryAnswersALateTurn(t *testing.T) {
	ordered := distribution("distr_o", distributions.StatusLive, nil, "customer.order.paid")
	ordered.Webhook.Ordering = &distributions.Ordering{}
	plain := distribution("distr_plain", distributions.StatusLive, nil, "customer.order.paid")
	stream := StreamID("distr_o", "")
	f := &fakeReceiver{candidates: []distributions.Distribution{ordered, plain},
		script: map[string][]int{"distr_o": {200}, "distr_plain": {503, 200}}} // plain retried at 1 min
	out := orderedRun(t, f, []OrderedTarget{{DistributionID: "distr_o", Stream: stream}},
		map[string]time.Duration{"distr_o": 10 * time.Second}, 30*time.Second)
	if want := []time.Duration{10 * time.Second, 30 * time.Second}; !reflect.DeepEqual(out.done[stream], want) {
		t.Errorf("done at %v, want %v", out.done[stream], want)
	}
	if got := out.attempts["distr_o"]; len(got) != 1 {
		t.Errorf("ordered attempts %v, want one: a late turn sends nothing", got)
	}
}
