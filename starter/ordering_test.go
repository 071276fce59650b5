package starter

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/server/temporaltest"

	"github.com/hookflow/hookflow/codec"
	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/payloads"
	"github.com/hookflow/hookflow/workflows"
)

// TestStartEnqueuesOrderedEvents: on a real (in-memory) Temporal server with no worker, an
// event is put on the stream of each live ordered distribution that takes its type, by its
// key, before its workflow starts, and the workflow's input names those streams; events
// taken in one after the other are enqueued in that order; an event of no ordered
// distribution starts no stream.
func TestStartEnqueuesOrderedEvents(t *testing.T) {
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
	distr := func(id, status string, ordering *distributions.Ordering, events ...string) distributions.Distribution {
		return distributions.Distribution{ID: id, Status: status, Trigger: distributions.Trigger{Events: events},
			Action:  distributions.Action{Type: distributions.ActionPlainMessage},
			Webhook: distributions.Webhook{URL: "http://127.0.0.1:9/" + id, Ordering: ordering}}
	}
	snap := distributions.Snapshot{ProjectID: "proj_1", Candidates: []distributions.Distribution{
		distr("distr_key", distributions.StatusLive, &distributions.Ordering{Key: "data.customer.id"}, "customer.order.*"),
		distr("distr_one", distributions.StatusLive, &distributions.Ordering{}, "customer.order.paid"),
		distr("distr_paused", distributions.StatusPaused, &distributions.Ordering{}, "customer.order.paid"),
		distr("distr_plain", distributions.StatusLive, nil, "customer.order.paid"),
	}}
	s := &Starter{Client: c, TaskQueue: "no-worker", Candidates: func(_ context.Context, eventType string) (distributions.Snapshot, error) {
		if eventType != "customer.order.paid" {
			return distributions.Snapshot{ProjectID: "proj_1"}, nil
		}
		return snap, nil
	}}
	event := func(id, customer string) payloads.Event {
		return payloads.Event{ID: id, Type: "customer.order.paid", Data: map[string]json.RawMessage{"customer": json.RawMessage(`{"id":"` + customer + `"}`)}}
	}
	for _, ev := range []payloads.Event{event("evt_1", "cust_a"), event("evt_2", "cust_b"), event("evt_3", "cust_a"), event("evt_1", "cust_a")} {
		if _, err := s.Start(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Start(ctx, payloads.Event{ID: "evt_seg", Type: "customer.segment.entered"}); err != nil {
		t.Fatal(err)
	}

	// What each stream was sent, in order (the event submitted twice is sent twice: the
	// stream drops it).
	enqueued := func(stream string) []string {
		t.Helper()
		var ids []string
		it := c.GetWorkflowHistory(ctx, stream, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				t.Errorf("history of %s: %v", stream, err)
				return nil
			}
			if a := ev.GetWorkflowExecutionSignaledEventAttributes(); a != nil && a.GetSignalName() == workflows.SignalEnqueue {
				var item workflows.StreamItem
				if err := codec.DataConverter.FromPayloads(a.GetInput(), &item); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, item.WorkflowID)
			}
		}
		return ids
	}
	for stream, want := range map[string][]string{
		workflows.StreamID("distr_key", "cust_a"): {"event/evt_1", "event/evt_3", "event/evt_1"},
		workflows.StreamID("distr_key", "cust_b"): {"event/evt_2"},
		workflows.StreamID("distr_one", ""):       {"event/evt_1", "event/evt_2", "event/evt_3", "event/evt_1"},
	} {
		if got := enqueued(stream); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: enqueued %v, want %v", stream, got, want)
		}
	}
	// The workflow's input names its streams.
	it := c.GetWorkflowHistory(ctx, workflows.WorkflowID("evt_3"), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	first, err := it.Next()
	if err != nil {
		t.Fatal(err)
	}
	var in workflows.DeliveryInput
	if err := codec.DataConverter.FromPayloads(first.GetWorkflowExecutionStartedEventAttributes().GetInput(), &in); err != nil {
		t.Fatal(err)
	}
	want := []workflows.OrderedTarget{{DistributionID: "distr_key", Stream: workflows.StreamID("distr_key", "cust_a")},
		{DistributionID: "distr_one", Stream: workflows.StreamID("distr_one", "")}}
	if !reflect.DeepEqual(in.Ordered, want) {
		t.Errorf("input ordered %+v, want %+v", in.Ordered, want)
	}
	resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: "WorkflowType = '" + workflows.StreamWorkflow + "'"})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(resp.GetExecutions()); n != 3 {
		t.Errorf("%d streams started, want 3 (none for the segment event, none for the paused distribution)", n)
	}
}
