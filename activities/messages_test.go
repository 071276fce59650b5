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
// Temporal server, with a stand-in Delivery workflow that records the events it gets. One
// customer's delivery exists before (as after a crash between its start and the record of
// the batch): it is counted, not started again. Small batches make the workflow continue as
// new on the way.
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

	// Customer 3's delivery ran already.
	pre, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.WorkflowID(MessageEventID("msg_t", 3)), TaskQueue: "q"},
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

	// Every customer's delivery ran once; the already-started one was not started again.
	waitUntil(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == total })
	mu.Lock()
	var ids []string
	for id, runs := range got {
		ids = append(ids, id)
		if id == "msg_t/3" {
			if len(runs) != 1 || runs[0].Event.ID != "" {
				t.Errorf("the delivery that existed was started again: %+v", runs)
			}
			continue
		}
		in := runs[0]
		if len(runs) != 1 || in.Event.Type != workflows.ManualEventType || in.Event.GroupID != "msg_t" ||
			len(in.Only) != 1 || in.Only[0] != "distr_1" || !in.Event.CreatedAt.Equal(m.SendAt) ||
			string(in.Event.Data["distribution"]) != `{"id":"distr_1","message_id":"msg_t","name":"Spring"}` {
			t.Errorf("delivery %s: %+v", id, runs)
		}
		var seq int
		fmt.Sscanf(id, "msg_t/%d", &seq)
		if string(in.Event.Data["customer"]) != string(customers[seq]) || in.Event.EntityID != fmt.Sprintf("cust_%d", seq) {
			t.Errorf("delivery %s customer %s", id, in.Event.Data["customer"])
		}
	}
	mu.Unlock()
	sort.Strings(ids)
	if fmt.Sprint(ids) != "[msg_t/0 msg_t/1 msg_t/2 msg_t/3 msg_t/4 msg_t/5 msg_t/6]" {
		t.Errorf("deliveries %v", ids)
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
