package workflows

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/hookflow/hookflow/codec"
)

// fakeMessageStore plays the message activities: it records every batch asked for (with
// the workflow clock's time) and every status recorded.
type fakeMessageStore struct {
	env     *testsuite.TestWorkflowEnvironment
	total   int
	mu      sync.Mutex
	batches []MessageBatch
	at      []time.Time
	records []MessageRecord
}

func newMessageEnv(t *testing.T, total int) (*testsuite.TestWorkflowEnvironment, *fakeMessageStore) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	f := &fakeMessageStore{env: env, total: total}
	env.RegisterWorkflowWithOptions(Message, workflow.RegisterOptions{Name: MessageWorkflow})
	env.RegisterActivityWithOptions(func(ctx context.Context, b MessageBatch) (MessageBatchResult, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.batches = append(f.batches, b)
		f.at = append(f.at, env.Now())
		next := min(b.From+b.Limit, f.total)
		return MessageBatchResult{Next: next, Started: next - b.From}, nil
	}, activity.RegisterOptions{Name: ActivityStartMessageBatch})
	env.RegisterActivityWithOptions(func(ctx context.Context, r MessageRecord) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.records = append(f.records, r)
		return nil
	}, activity.RegisterOptions{Name: ActivityRecordMessage})
	return env, f
}

func (f *fakeMessageStore) statuses() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var s []string
	for _, r := range f.records {
		s = append(s, r.Status)
	}
	return strings.Join(s, ",")
}

// cancel sends the cancel update and returns its outcome through the pointers.
func cancel(env *testsuite.TestWorkflowEnvironment, accepted *bool, result *MessageProgress, err *error) {
	env.UpdateWorkflow(UpdateCancelMessage, "cancel-1", &testsuite.TestUpdateCallback{
		OnAccept: func() { *accepted = true },
		OnReject: func(e error) { *err = e },
		OnComplete: func(v any, e error) {
			if e != nil {
				*err = e
				return
			}
			*result = v.(MessageProgress)
		},
	})
}

func TestMessageWaitsTheDelayThenSendsInBatches(t *testing.T) {
	env, f := newMessageEnv(t, 450)
	start := env.Now()
	sendAt := start.Add(10 * time.Minute)
	var during MessageProgress
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(QueryMessageProgress)
		if err != nil {
			t.Error(err)
			return
		}
		_ = v.Get(&during)
	}, 5*time.Minute)
	env.ExecuteWorkflow(MessageWorkflow, MessageInput{MessageID: "msg_1", SendAt: sendAt, Total: 450})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var p MessageProgress
	if err := env.GetWorkflowResult(&p); err != nil {
		t.Fatal(err)
	}
	if p.Status != MessageSent || p.Sent != 450 || p.Total != 450 || p.Run != 1 {
		t.Errorf("result %+v", p)
	}
	if during.Status != MessageScheduled || during.Sent != 0 || !during.SendAt.Equal(sendAt) {
		t.Errorf("progress during the delay %+v", during)
	}
	if len(f.batches) != 3 || f.batches[0].From != 0 || f.batches[1].From != 200 || f.batches[2].From != 400 || f.batches[0].Limit != MessageBatchSize {
		t.Errorf("batches %+v", f.batches)
	}
	if f.at[0].Before(sendAt) {
		t.Errorf("first batch at %v, before the send time %v", f.at[0], sendAt)
	}
	if got := f.statuses(); got != "sending,sent" {
		t.Errorf("records %s", got)
	}
	if f.records[1].Sent != 450 {
		t.Errorf("sent record %+v", f.records[1])
	}
}

func TestMessageZeroDelaySendsAtOnce(t *testing.T) {
	env, f := newMessageEnv(t, 3)
	start := env.Now()
	env.ExecuteWorkflow(MessageWorkflow, MessageInput{MessageID: "msg_1", SendAt: start, Total: 3})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if len(f.batches) != 1 || f.at[0].Sub(start) > time.Second {
		t.Errorf("batches %+v at %v", f.batches, f.at)
	}
}

func TestMessageCanceledInItsWindowSendsNothing(t *testing.T) {
	env, f := newMessageEnv(t, 10)
	start := env.Now()
	var accepted bool
	var result MessageProgress
	var updateErr error
	env.RegisterDelayedCallback(func() { cancel(env, &accepted, &result, &updateErr) }, 3*time.Minute)
	env.ExecuteWorkflow(MessageWorkflow, MessageInput{MessageID: "msg_1", SendAt: start.Add(10 * time.Minute), Total: 10})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if !accepted || updateErr != nil || result.Status != MessageCanceled || result.CanceledAt == nil {
		t.Fatalf("cancel: accepted %v, %+v, %v", accepted, result, updateErr)
	}
	var p MessageProgress
	_ = env.GetWorkflowResult(&p)
	if p.Status != MessageCanceled || p.Sent != 0 {
		t.Errorf("result %+v", p)
	}
	if len(f.batches) != 0 {
		t.Errorf("sent batches %+v", f.batches)
	}
	if got := f.statuses(); got != "canceled" || !f.records[0].At.Equal(*result.CanceledAt) {
		t.Errorf("records %s %+v", got, f.records)
	}
	// The workflow ended when canceled, not at the send time.
	if d := env.Now().Sub(start); d > 4*time.Minute {
		t.Errorf("ran %v", d)
	}
}

func TestMessageCancelRefusedOnceSending(t *testing.T) {
	env, f := newMessageEnv(t, 400)
	// Each batch takes a minute of workflow time, so the cancel comes mid-sending.
	env.OnActivity(ActivityStartMessageBatch, mock.Anything, mock.Anything).After(time.Minute).Return(
		func(ctx context.Context, b MessageBatch) (MessageBatchResult, error) {
			return MessageBatchResult{Next: min(b.From+b.Limit, 400)}, nil
		})
	start := env.Now()
	var accepted bool
	var result MessageProgress
	var updateErr error
	env.RegisterDelayedCallback(func() { cancel(env, &accepted, &result, &updateErr) }, 10*time.Minute+30*time.Second)
	env.ExecuteWorkflow(MessageWorkflow, MessageInput{MessageID: "msg_1", SendAt: start.Add(10 * time.Minute), Total: 400})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var appErr *temporal.ApplicationError
	if accepted || !errors.As(updateErr, &appErr) || appErr.Type() != ErrTypeMessageNotCancelable ||
		appErr.Message() != "message msg_1 is already sending" {
		t.Fatalf("cancel while sending: accepted %v, %v", accepted, updateErr)
	}
	var p MessageProgress
	_ = env.GetWorkflowResult(&p)
	if p.Status != MessageSent || p.Sent != 400 {
		t.Errorf("result %+v", p)
	}
	if got := f.statuses(); got != "sending,sent" {
		t.Errorf("records %s", got)
	}
}

func TestMessageContinuesAsNewCarryingTheNextCustomer(t *testing.T) {
	env, f := newMessageEnv(t, 1000)
	start := env.Now()
	in := MessageInput{MessageID: "msg_1", SendAt: start.Add(time.Minute), Total: 1000, BatchSize: 100, BatchesPerRun: 3}
	env.ExecuteWorkflow(MessageWorkflow, in)
	var can *workflow.ContinueAsNewError
	if err := env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("want continue-as-new, got %v", err)
	}
	var next MessageInput
	if err := codec.DataConverter.FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	if next.NextSeq != 300 || !next.Sending || next.Run != 2 || next.Total != 1000 || next.BatchSize != 100 || !next.SendAt.Equal(in.SendAt) {
		t.Fatalf("next run's input %+v", next)
	}
	if len(f.batches) != 3 || f.statuses() != "sending" {
		t.Fatalf("first run: batches %+v, records %s", f.batches, f.statuses())
	}

	// The next run sends from 300 at once, without waiting again, and refuses a cancel.
	env2, f2 := newMessageEnv(t, 1000)
	var accepted bool
	var result MessageProgress
	var updateErr error
	env2.RegisterDelayedCallback(func() { cancel(env2, &accepted, &result, &updateErr) }, 0)
	next.BatchesPerRun = 100
	env2.ExecuteWorkflow(MessageWorkflow, next)
	if err := env2.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if len(f2.batches) != 7 || f2.batches[0].From != 300 || f2.batches[6].From != 900 {
		t.Errorf("second run batches %+v", f2.batches)
	}
	if accepted || updateErr == nil {
		t.Errorf("cancel in a continued run: accepted %v, %v", accepted, updateErr)
	}
	var p MessageProgress
	_ = env2.GetWorkflowResult(&p)
	if p.Status != MessageSent || p.Sent != 1000 || p.Run != 2 || f2.statuses() != "sent" {
		t.Errorf("result %+v, records %s", p, f2.statuses())
	}
}

// A batch that finds no customer (the store holds fewer than the total) ends the message
// instead of looping.
func TestMessageStopsWhenTheStoreRunsOut(t *testing.T) {
	env, f := newMessageEnv(t, 250)
	env.ExecuteWorkflow(MessageWorkflow, MessageInput{MessageID: "msg_1", SendAt: env.Now(), Total: 300})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var p MessageProgress
	_ = env.GetWorkflowResult(&p)
	if p.Status != MessageSent || p.Sent != 250 || len(f.batches) != 3 {
		t.Errorf("result %+v, batches %+v", p, f.batches)
	}
}

func TestMessageWorkflowID(t *testing.T) {
	if got := MessageWorkflowID("msg_abc"); got != "message/msg_abc" {
		t.Errorf("%q", got)
	}
}
