package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"go.temporal.io/server/temporaltest"

	"github.com/hookflow/hookflow/codec"
	"github.com/hookflow/hookflow/payloads"
	"github.com/hookflow/hookflow/starter"
	"github.com/hookflow/hookflow/store"
	"github.com/hookflow/hookflow/workflows"
)

// TestMessageOnTemporal runs the Message workflow and its activities on a real (in-memory)
// Temporal server, with a stand-in Delivery workflow that records the events it gets. The
// delivery of two customers exists before (as after a crash between its start and the
// record of the batch): it is counted, not started again. Small batches make the workflow
// continue as new on the way, and deliver two customers in each workflow.
func TestMessageOnTemporal(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal server")
	}
	ts := temporaltest.NewServer(temporaltest.WithT(t), temporaltest.WithBaseClientOptions(client.Options{DataConverter: codec.DataConverter}))
	c := ts.GetDefaultClient()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	attrs := map[string]enumspb.IndexedValueType{}
	for k, v := range workflows.SearchAttributes {
		attrs[k] = v
	}
	if _, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: ts.GetDefaultNamespace(), SearchAttributes: attrs}); err != nil {
		t.Fatal(err)
	}

	st, err := store.OpenSQLite(filepath.Join(t.TempDir(), "hookflow.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const total = 7
	var customers []json.RawMessage
	for i := range total {
		customers = append(customers, json.RawMessage(fmt.Sprintf(`{"id":"cust_%d","name":"<C%d>"}`, i, i)))
	}
	now := time.Now().UTC()
	m := store.Message{ID: "msg_t", DistributionID: "distr_1", DistributionName: "Spring", Status: store.MessageScheduled,
		SendAt: now.Add(time.Second), Delay: time.Second, CreatedAt: now, UpdatedAt: now}
	if err := st.CreateMessage(ctx, m, customers); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	got := map[string][]workflows.DeliveryInput{}
	fakeDelivery := func(ctx workflow.Context, in workflows.DeliveryInput) (workflows.DeliveryResult, error) {
		mu.Lock()
		defer mu.Unlock()
		id := strings.TrimPrefix(workflow.GetInfo(ctx).WorkflowExecution.ID, "event/")
		got[id] = append(got[id], in)
		return workflows.DeliveryResult{Status: workflows.StatusDelivered}, nil
	}
	acts := &Activities{Store: st, Deliveries: &starter.Starter{Client: c, TaskQueue: "q"}}
	ts.NewWorker("q", func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(fakeDelivery, workflow.RegisterOptions{Name: workflows.DeliveryWorkflow})
		r.RegisterWorkflowWithOptions(workflows.Message, workflow.RegisterOptions{Name: workflows.MessageWorkflow})
		r.RegisterActivityWithOptions(acts.StartMessageBatch, activity.RegisterOptions{Name: workflows.ActivityStartMessageBatch})
		r.RegisterActivityWithOptions(acts.RecordMessage, activity.RegisterOptions{Name: workflows.ActivityRecordMessage})
	})

	// The delivery of customers 2 and 3 ran already.
	pre, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.WorkflowID(payloads.MessageGroupKey("msg_t", 2, 3)), TaskQueue: "q"},
		workflows.DeliveryWorkflow, workflows.DeliveryInput{})
	if err != nil {
		t.Fatal(err)
	}
	if err := pre.Get(ctx, nil); err != nil {
		t.Fatal(err)
	}

	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.MessageWorkflowID(m.ID), TaskQueue: "q"},
		workflows.MessageWorkflow, workflows.MessageInput{MessageID: m.ID, SendAt: m.SendAt, Total: total, BatchSize: 2, BatchesPerRun: 2})
	if err != nil {
		t.Fatal(err)
	}
	var p workflows.MessageProgress
	if err := run.Get(ctx, &p); err != nil {
		t.Fatal(err)
	}
	if p.Status != workflows.MessageSent || p.Sent != total || p.Run != 2 {
		t.Errorf("result %+v", p)
	}
	if time.Now().Before(m.SendAt) {
		t.Errorf("done before the send time")
	}

	// Every customer's delivery ran once, two to a workflow; the delivery that existed was
	// not started again.
	waitUntil(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 4 })
	mu.Lock()
	var ids []string
	delivered := map[int]int{}
	for id, runs := range got {
		ids = append(ids, id)
		if id == "msg_t/2-3" {
			if len(runs) != 1 || len(runs[0].Events) != 0 || runs[0].Event.ID != "" {
				t.Errorf("the delivery that existed was started again: %+v", runs)
			}
			delivered[2]++
			delivered[3]++
			continue
		}
		in := runs[0]
		events := in.Events
		if len(events) == 0 {
			events = []payloads.Event{in.Event}
		}
		if len(runs) != 1 || len(in.Only) != 1 || in.Only[0] != "distr_1" || !in.LocalFirst {
			t.Errorf("delivery %s: %+v", id, runs)
		}
		for _, ev := range events {
			var seq int
			fmt.Sscanf(ev.ID, "msg_t/%d", &seq)
			delivered[seq]++
			if ev.Type != workflows.ManualEventType || ev.GroupID != "msg_t" || !ev.CreatedAt.Equal(m.SendAt) ||
				string(ev.Data["distribution"]) != `{"id":"distr_1","message_id":"msg_t","name":"Spring"}` {
				t.Errorf("delivery %s, event %s: %+v", id, ev.ID, ev)
			}
			if string(ev.Data["customer"]) != string(customers[seq]) || ev.EntityID != fmt.Sprintf("cust_%d", seq) {
				t.Errorf("delivery %s customer %s", id, ev.Data["customer"])
			}
		}
	}
	mu.Unlock()
	sort.Strings(ids)
	if fmt.Sprint(ids) != "[msg_t/0-1 msg_t/2-3 msg_t/4-5 msg_t/6]" {
		t.Errorf("deliveries %v", ids)
	}
	for seq := range total {
		if delivered[seq] != 1 {
			t.Errorf("customer %d delivered %d times", seq, delivered[seq])
		}
	}
	stored, err := st.GetMessage(ctx, m.ID)
	if err != nil || stored.Status != store.MessageSent || stored.Sent != total || stored.FinishedAt == nil {
		t.Errorf("stored %+v %v", stored, err)
	}

	// Canceling now is refused by the store (the workflow is gone).
	if _, err := st.CancelMessage(ctx, m.ID, time.Now()); err == nil {
		t.Error("a sent message was canceled")
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("not true within 30s")
}

// TestMessageEventIDIsNoEventID: the API refuses every message event id as the id of an
// event, so an event sent to the API never shares a workflow id (or a webhook-id) with a
// customer of a message, whatever ids the client chose for both.
func TestMessageEventIDIsNoEventID(t *testing.T) {
	for _, id := range []string{MessageEventID("spring-sale", 0), MessageEventID("msg_1", 41), MessageEventID("a", 99999)} {
		body := fmt.Sprintf(`{"id":%q,"type":"customer.order.paid","data":{}}`, id)
		if _, err := payloads.ParseEvent([]byte(body), time.Now(), func() string { return "evt_new" }); err == nil {
			t.Errorf("an event with the id %q is accepted", id)
		}
	}
}

// fakeStarter records what StartMessageBatch starts; the keys in exists are there already.
type fakeStarter struct {
	mu      sync.Mutex
	started map[string][]string // key -> event ids
	exists  map[string]bool
}

func (f *fakeStarter) StartDeliveries(_ context.Context, key string, events []payloads.Event, _ string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.exists[key] {
		return true, nil
	}
	for _, ev := range events {
		f.started[key] = append(f.started[key], ev.ID)
	}
	return false, nil
}

// TestStartMessageBatchPerWorkflow: a batch starts its customers PerWorkflow to a workflow,
// keyed by their seqs; a batch asked without PerWorkflow (by a Message workflow that ran
// before it existed) starts one workflow per customer, keyed by its event id, as then.
func TestStartMessageBatchPerWorkflow(t *testing.T) {
	st, err := store.OpenSQLite(filepath.Join(t.TempDir(), "hookflow.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var customers []json.RawMessage
	for i := range 7 {
		customers = append(customers, json.RawMessage(fmt.Sprintf(`{"id":"cust_%d"}`, i)))
	}
	now := time.Now().UTC()
	m := store.Message{ID: "msg_b", DistributionID: "distr_1", DistributionName: "B", Status: store.MessageSending, SendAt: now, CreatedAt: now, UpdatedAt: now}
	if err := st.CreateMessage(t.Context(), m, customers); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		per        int
		exists     string
		want       string
		started    int
		alreadyRan int
	}{
		{per: 3, exists: "msg_b/3-5", want: "map[msg_b/0-2:[msg_b/0 msg_b/1 msg_b/2] msg_b/6:[msg_b/6]]", started: 4, alreadyRan: 3},
		{per: 0, exists: "msg_b/1", want: "map[msg_b/0:[msg_b/0] msg_b/2:[msg_b/2] msg_b/3:[msg_b/3] msg_b/4:[msg_b/4] msg_b/5:[msg_b/5] msg_b/6:[msg_b/6]]", started: 6, alreadyRan: 1},
	} {
		f := &fakeStarter{started: map[string][]string{}, exists: map[string]bool{tc.exists: true}}
		a := &Activities{Store: st, Deliveries: f}
		var s testsuite.WorkflowTestSuite
		env := s.NewTestActivityEnvironment()
		env.RegisterActivity(a.StartMessageBatch)
		var res MessageBatchResult
		val, err := env.ExecuteActivity(a.StartMessageBatch, MessageBatch{MessageID: m.ID, From: 0, Limit: 100, PerWorkflow: tc.per})
		if err == nil {
			err = val.Get(&res)
		}
		if err != nil || fmt.Sprint(f.started) != tc.want || res.Started != tc.started || res.AlreadyStarted != tc.alreadyRan || res.Next != 7 {
			t.Errorf("per workflow %d: %+v %v, started %v", tc.per, res, err, f.started)
		}
	}
}
