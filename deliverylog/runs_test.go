package deliverylog

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/payloads"
	"github.com/hookflow/hookflow/workflows"
)

// fakeTemporal answers ListWorkflow with its executions (and records the queries) and
// GetWorkflowHistory with the history of a run; the rest of client.Client is not used.
type fakeTemporal struct {
	client.Client
	executions []*workflowpb.WorkflowExecutionInfo
	// resends answer the listing of runs that sent deliveries again.
	resends   []*workflowpb.WorkflowExecutionInfo
	histories map[string][]*historypb.HistoryEvent // by run id
	queries   []string
	// byDeliveryID, when set, answers a delivery's query as the visibility store does: with
	// the executions whose HookflowDeliveries names it.
	byDeliveryID bool
}

func (f *fakeTemporal) ListWorkflow(_ context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	f.queries = append(f.queries, req.GetQuery())
	if strings.HasPrefix(req.GetQuery(), "WorkflowId STARTS_WITH 'resend/'") {
		return &workflowservice.ListWorkflowExecutionsResponse{Executions: f.resends}, nil
	}
	if _, rest, ok := strings.Cut(req.GetQuery(), workflows.DeliveriesKey.GetName()+" = '"); ok && f.byDeliveryID {
		id, _, _ := strings.Cut(rest, "'")
		var named []*workflowpb.WorkflowExecutionInfo
		for _, e := range f.executions {
			var ids []string
			_ = converter.GetDefaultDataConverter().FromPayload(e.GetSearchAttributes().GetIndexedFields()[workflows.DeliveriesKey.GetName()], &ids)
			if slices.Contains(ids, id) {
				named = append(named, e)
			}
		}
		return &workflowservice.ListWorkflowExecutionsResponse{Executions: named}, nil
	}
	return &workflowservice.ListWorkflowExecutionsResponse{Executions: f.executions}, nil
}

func (f *fakeTemporal) GetWorkflowHistory(_ context.Context, _, runID string, _ bool, _ enumspb.HistoryEventFilterType) client.HistoryEventIterator {
	return &historyIter{events: f.histories[runID]}
}

type historyIter struct{ events []*historypb.HistoryEvent }

func (it *historyIter) HasNext() bool { return len(it.events) > 0 }
func (it *historyIter) Next() (*historypb.HistoryEvent, error) {
	ev := it.events[0]
	it.events = it.events[1:]
	return ev, nil
}

var t0 = time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)

// history builds a run's history from its events' attributes, a second apart.
func history(attrs ...any) []*historypb.HistoryEvent {
	var out []*historypb.HistoryEvent
	for i, a := range attrs {
		ev := &historypb.HistoryEvent{EventId: int64(i + 1), EventTime: timestamppb.New(t0.Add(time.Duration(i) * time.Second))}
		switch a := a.(type) {
		case *historypb.WorkflowExecutionStartedEventAttributes:
			ev.Attributes = &historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes{WorkflowExecutionStartedEventAttributes: a}
		case *historypb.ActivityTaskScheduledEventAttributes:
			ev.Attributes = &historypb.HistoryEvent_ActivityTaskScheduledEventAttributes{ActivityTaskScheduledEventAttributes: a}
		case *historypb.ActivityTaskCompletedEventAttributes:
			ev.Attributes = &historypb.HistoryEvent_ActivityTaskCompletedEventAttributes{ActivityTaskCompletedEventAttributes: a}
		case *historypb.WorkflowExecutionCompletedEventAttributes:
			ev.Attributes = &historypb.HistoryEvent_WorkflowExecutionCompletedEventAttributes{WorkflowExecutionCompletedEventAttributes: a}
		case *historypb.MarkerRecordedEventAttributes:
			ev.Attributes = &historypb.HistoryEvent_MarkerRecordedEventAttributes{MarkerRecordedEventAttributes: a}
		case *historypb.WorkflowExecutionSignaledEventAttributes:
			ev.Attributes = &historypb.HistoryEvent_WorkflowExecutionSignaledEventAttributes{WorkflowExecutionSignaledEventAttributes: a}
		default:
			panic("history: unknown attributes")
		}
		out = append(out, ev)
	}
	return out
}

func encode(t *testing.T, v any) *commonpb.Payloads {
	t.Helper()
	p, err := converter.GetDefaultDataConverter().ToPayloads(v)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func started(t *testing.T, in workflows.DeliveryInput) *historypb.WorkflowExecutionStartedEventAttributes {
	return &historypb.WorkflowExecutionStartedEventAttributes{Input: encode(t, in)}
}

func scheduled(t *testing.T, activity string, input any) *historypb.ActivityTaskScheduledEventAttributes {
	return &historypb.ActivityTaskScheduledEventAttributes{ActivityType: &commonpb.ActivityType{Name: activity}, Input: encode(t, input)}
}

func completed(t *testing.T, res workflows.DeliveryResult) *historypb.WorkflowExecutionCompletedEventAttributes {
	return &historypb.WorkflowExecutionCompletedEventAttributes{Result: encode(t, res)}
}

var event = payloads.Event{ID: "evt_1", Type: "customer.order.paid"}

// TestDeliveryFailedWhileItsWorkflowRuns: a publish_code delivery that got no code has failed
// as soon as its failure notice is scheduled, though its workflow still runs (its other
// deliveries, the notices): its state, distribution, URL and reason are known then.
func TestDeliveryFailedWhileItsWorkflowRuns(t *testing.T) {
	id := payloads.DeliveryID(event.ID, "distr_codes")
	notice := distributions.FailureNotice{DeliveryID: id, DistributionID: "distr_codes", EventID: event.ID, TargetURL: "http://127.0.0.1:9/codes",
		Reason: workflows.ReasonNoCode, LastError: "the code pool of campaign camp_spring is empty: all 5 codes are published"}
	d := Delivery{ID: id, Attempts: []Attempt{}}
	readHistory(&d, history(
		started(t, workflows.DeliveryInput{Event: event}),
		scheduled(t, workflows.ActivityNotifyFailure, notice),
	), converter.GetDefaultDataConverter())
	if d.Status != workflows.StatusFailed || d.Reason != workflows.ReasonNoCode || d.LastError != notice.LastError ||
		d.DistributionID != "distr_codes" || d.URL != notice.TargetURL || len(d.Attempts) != 0 {
		t.Errorf("a delivery with no code, its workflow running: %+v", d)
	}
}

// localActivity is the marker of a local activity of type activity that returned result.
func localActivity(t *testing.T, activity string, result any) *historypb.MarkerRecordedEventAttributes {
	return &historypb.MarkerRecordedEventAttributes{MarkerName: "LocalActivity", Details: map[string]*commonpb.Payloads{
		"data":   encode(t, struct{ ActivityType string }{activity}),
		"result": encode(t, result),
	}}
}

// TestDeliveryThrottled: a delivery whose last step is a wait for its rate limit is
// throttled; another delivery's attempt meanwhile does not change that; its own attempt
// (or a token taken at once) does.
func TestDeliveryThrottled(t *testing.T) {
	id := payloads.DeliveryID(event.ID, "distr_lim")
	other := payloads.DeliveryID(event.ID, "distr_free")
	wait := localActivity(t, workflows.ActivityTakeRateToken, distributions.RateToken{DeliveryID: id, Wait: 30 * time.Second})
	took := localActivity(t, workflows.ActivityTakeRateToken, distributions.RateToken{DeliveryID: id})
	otherWait := localActivity(t, workflows.ActivityTakeRateToken, distributions.RateToken{DeliveryID: other, Wait: time.Second})
	post := func(delivery string) *historypb.MarkerRecordedEventAttributes {
		return localActivity(t, workflows.ActivityPost, payloads.Response{StatusCode: 200,
			Request: &payloads.Request{DeliveryID: delivery, SourceID: "distr", URL: "http://127.0.0.1:9/h"}})
	}
	tests := []struct {
		name  string
		steps []any
		want  string
	}{
		{"waiting", []any{wait}, workflows.StatusThrottled},
		{"waiting, another delivery posted", []any{wait, post(other)}, workflows.StatusThrottled},
		{"another delivery waits", []any{otherWait}, "pending"},
		{"waited, then posted", []any{wait, took, post(id)}, workflows.StatusDelivered},
		{"waited, then took the token", []any{wait, took}, "pending"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Delivery{ID: id, Attempts: []Attempt{}}
			readHistory(&d, history(append([]any{started(t, workflows.DeliveryInput{Event: event})}, tt.steps...)...), converter.GetDefaultDataConverter())
			if d.Status != tt.want {
				t.Errorf("status %s, want %s", d.Status, tt.want)
			}
		})
	}
}

// TestDeliveryWarningsAndFilterErrors: a delivery's template warnings are its own; a run
// sent again in which the distribution's filter failed matched nothing, and says why.
func TestDeliveryWarningsAndFilterErrors(t *testing.T) {
	id := payloads.DeliveryID(event.ID, "distr_1")
	d := Delivery{ID: id, Attempts: []Attempt{}}
	readHistory(&d, history(
		started(t, workflows.DeliveryInput{Event: event}),
		completed(t, workflows.DeliveryResult{Status: workflows.StatusDelivered, Deliveries: []workflows.DeliveryOutcome{{
			DeliveryID: id, DistributionID: "distr_1", URL: "http://127.0.0.1:9/", Status: workflows.StatusDelivered,
			Warnings: []string{`template: data.customer.email is missing`}}}}),
	), converter.GetDefaultDataConverter())
	if d.Status != workflows.StatusDelivered || len(d.Warnings) != 1 || d.Warnings[0] != `template: data.customer.email is missing` {
		t.Errorf("warnings: %+v", d)
	}

	d = Delivery{ID: id, Attempts: []Attempt{}}
	readHistory(&d, history(
		started(t, workflows.DeliveryInput{Event: event, Only: []string{"distr_1"}}),
		completed(t, workflows.DeliveryResult{Status: workflows.StatusNoMatch,
			FilterErrors: []distributions.Skip{{DistributionID: "distr_1", Reason: "filter: no such key: tier"}}}),
	), converter.GetDefaultDataConverter())
	if d.Status != workflows.StatusNoMatch || d.Reason != "filter: no such key: tier" || d.DistributionID != "distr_1" {
		t.Errorf("filter error: %+v", d)
	}
}

// TestDeliveryWhoseFilterFailedOnTheEvent: a distribution whose filter failed on the event
// is a delivery of the event's own run (the workflow names its id in HookflowDeliveries):
// it matched nothing, says the filter's error, and is not sent again.
func TestDeliveryWhoseFilterFailedOnTheEvent(t *testing.T) {
	id := payloads.DeliveryID(event.ID, "distr_1")
	other := payloads.DeliveryID(event.ID, "distr_2")
	named, err := converter.GetDefaultDataConverter().ToPayload([]string{other, id})
	if err != nil {
		t.Fatal(err)
	}
	fake := &fakeTemporal{
		byDeliveryID: true,
		executions: []*workflowpb.WorkflowExecutionInfo{{
			Execution: &commonpb.WorkflowExecution{WorkflowId: "event/evt_1", RunId: "run1"},
			StartTime: timestamppb.New(t0), CloseTime: timestamppb.New(t0.Add(time.Second)),
			SearchAttributes: &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{workflows.DeliveriesKey.GetName(): named}},
		}},
		histories: map[string][]*historypb.HistoryEvent{"run1": history(
			started(t, workflows.DeliveryInput{Event: event}),
			completed(t, workflows.DeliveryResult{Status: workflows.StatusDelivered,
				Deliveries:   []workflows.DeliveryOutcome{{DeliveryID: other, DistributionID: "distr_2", URL: "http://127.0.0.1:9/", Status: workflows.StatusDelivered}},
				FilterErrors: []distributions.Skip{{DistributionID: "distr_1", Reason: "filter: no such key: customer"}}}),
		)},
	}
	l := &Log{Client: fake}
	d, err := l.Delivery(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != workflows.StatusNoMatch || d.Reason != "filter: no such key: customer" || d.DistributionID != "distr_1" ||
		d.EventID != "evt_1" || d.WorkflowID != "event/evt_1" || len(d.Runs) != 1 {
		t.Fatalf("delivery %+v", d)
	}
	if r := d.Runs[0]; r.Resend || r.Status != workflows.StatusNoMatch || r.Reason != "filter: no such key: customer" || len(r.Attempts) != 0 {
		t.Errorf("the event's run: %+v", r)
	}
	if _, err := l.Resend(context.Background(), id); !errors.Is(err, ErrNotResendable) {
		t.Errorf("resend of a filter error: %v, want %v", err, ErrNotResendable)
	}
}

// TestDeliveryRuns: a delivery that failed and was sent again shows both runs with their
// attempts, oldest first, and is as its latest run left it: delivered.
func TestDeliveryRuns(t *testing.T) {
	id := payloads.DeliveryID(event.ID, "distr_1")
	req := payloads.Request{DeliveryID: id, SourceID: "distr_1", URL: "http://127.0.0.1:9/", Body: []byte(`{"n":1}`)}
	exec := func(workflowID, runID string, start time.Time) *workflowpb.WorkflowExecutionInfo {
		return &workflowpb.WorkflowExecutionInfo{Execution: &commonpb.WorkflowExecution{WorkflowId: workflowID, RunId: runID},
			StartTime: timestamppb.New(start), CloseTime: timestamppb.New(start.Add(time.Minute))}
	}
	fake := &fakeTemporal{
		// The visibility store's order: the latest closed first.
		executions: []*workflowpb.WorkflowExecutionInfo{exec("resend/"+id+"/1", "run2", t0.Add(time.Hour)), exec("event/evt_1", "run1", t0)},
		histories: map[string][]*historypb.HistoryEvent{
			"run1": history(
				started(t, workflows.DeliveryInput{Event: event}),
				scheduled(t, workflows.ActivityPost, req),
				&historypb.ActivityTaskCompletedEventAttributes{ScheduledEventId: 2, Result: encode(t, payloads.Response{StatusCode: 410})},
				completed(t, workflows.DeliveryResult{Status: workflows.StatusFailed, Deliveries: []workflows.DeliveryOutcome{{
					DeliveryID: id, DistributionID: "distr_1", URL: req.URL, Status: workflows.StatusFailed, Reason: workflows.ReasonGone, LastError: "410 Gone"}}}),
			),
			"run2": history(
				started(t, workflows.DeliveryInput{Event: event, Only: []string{"distr_1"}}),
				scheduled(t, workflows.ActivityPost, req),
				&historypb.ActivityTaskCompletedEventAttributes{ScheduledEventId: 2, Result: encode(t, payloads.Response{StatusCode: 200})},
				completed(t, workflows.DeliveryResult{Status: workflows.StatusDelivered, Deliveries: []workflows.DeliveryOutcome{{
					DeliveryID: id, DistributionID: "distr_1", URL: req.URL, Status: workflows.StatusDelivered}}}),
			),
		},
	}
	l := &Log{Client: fake}
	d, err := l.Delivery(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if len(fake.queries) != 1 || fake.queries[0] != "HookflowDeliveries = '"+id+"' OR WorkflowId STARTS_WITH 'resend/"+id+"/'" {
		t.Errorf("queries %q", fake.queries)
	}
	if d.Status != workflows.StatusDelivered || d.Reason != "" || d.WorkflowID != "resend/"+id+"/1" || d.EventID != "evt_1" || d.DistributionID != "distr_1" || len(d.Runs) != 2 {
		t.Fatalf("delivery %+v", d)
	}
	first, again := d.Runs[0], d.Runs[1]
	if first.WorkflowID != "event/evt_1" || first.Resend || first.Status != workflows.StatusFailed || first.Reason != workflows.ReasonGone ||
		len(first.Attempts) != 1 || first.Attempts[0].StatusCode != 410 {
		t.Errorf("the event's run: %+v", first)
	}
	if !again.Resend || again.Status != workflows.StatusDelivered || len(again.Attempts) != 1 || again.Attempts[0].StatusCode != 200 {
		t.Errorf("the run that sent it again: %+v", again)
	}
}

// TestDeliveryIDErrors: an event id given for a delivery id is told how to find the
// event's deliveries; "not found" is said once, by the error it wraps.
func TestDeliveryIDErrors(t *testing.T) {
	l := &Log{Client: &fakeTemporal{}}
	for _, tt := range []struct{ id, want string }{
		{"evt_123", `id: "evt_123" is an event id, and a delivery id is whs_ and 32 hex digits: the event's are listed by ` + "`hookflow deliveries list --event evt_123`"},
		{"nope", `id: "nope" is not a delivery id`},
		{"whs_00000000000000000000000000000001", "id: no delivery whs_00000000000000000000000000000001"},
	} {
		_, err := l.Delivery(context.Background(), tt.id)
		if !errors.Is(err, ErrNotFound) || !strings.HasPrefix(err.Error(), "not found: "+tt.want) || strings.Count(err.Error(), "not found") != 1 {
			t.Errorf("Delivery(%q): %v; want not found: %s...", tt.id, err, tt.want)
		}
	}
}

// TestListEventsInTheVisibilityOrder: a page keeps the visibility store's order, the one
// its pages follow: running first, then closed by close time, most recent first; not
// re-sorted by start time, which would give the page an order the pages do not have.
func TestListEventsInTheVisibilityOrder(t *testing.T) {
	exec := func(id string, start time.Time, closedAfter time.Duration) *workflowpb.WorkflowExecutionInfo {
		e := &workflowpb.WorkflowExecutionInfo{Execution: &commonpb.WorkflowExecution{WorkflowId: id, RunId: id}, StartTime: timestamppb.New(start)}
		if closedAfter > 0 {
			e.CloseTime = timestamppb.New(start.Add(closedAfter))
		}
		return e
	}
	// As Temporal's SQL visibility lists them: the running one (the oldest), then the one
	// that closed last though it started before the other closed one.
	fake := &fakeTemporal{executions: []*workflowpb.WorkflowExecutionInfo{
		exec("event/old_running", t0, 0), exec("event/late_closer", t0.Add(time.Hour), 2*time.Hour), exec("event/early_closer", t0.Add(2*time.Hour), time.Second),
	}}
	page, err := (&Log{Client: fake}).ListEvents(context.Background(), EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range page.Events {
		got = append(got, e.WorkflowID)
	}
	if want := "event/old_running event/late_closer event/early_closer"; strings.Join(got, " ") != want {
		t.Errorf("ListEvents: %v, want the visibility store's order %s", got, want)
	}
}

// TestListEventsSentAgain: a failed event whose delivery was sent again says what the latest
// run that sent it came to; its own status stays failed, as the visibility store keeps it.
func TestListEventsSentAgain(t *testing.T) {
	id := payloads.DeliveryID("evt_1", "distr_1")
	withSearch := func(e *workflowpb.WorkflowExecutionInfo, attrs map[string]any) *workflowpb.WorkflowExecutionInfo {
		e.SearchAttributes = &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{}}
		for k, v := range attrs {
			p, err := converter.GetDefaultDataConverter().ToPayload(v)
			if err != nil {
				t.Fatal(err)
			}
			e.SearchAttributes.IndexedFields[k] = p
		}
		return e
	}
	run := func(workflowID string, start time.Time, status string) *workflowpb.WorkflowExecutionInfo {
		return withSearch(&workflowpb.WorkflowExecutionInfo{Execution: &commonpb.WorkflowExecution{WorkflowId: workflowID, RunId: workflowID},
			StartTime: timestamppb.New(start), CloseTime: timestamppb.New(start.Add(time.Second))},
			map[string]any{workflows.StatusKey.GetName(): status, workflows.DeliveriesKey.GetName(): []string{id}})
	}
	fake := &fakeTemporal{
		executions: []*workflowpb.WorkflowExecutionInfo{run("event/evt_1", t0, workflows.StatusFailed)},
		resends: []*workflowpb.WorkflowExecutionInfo{
			run("resend/"+id+"/2", t0.Add(2*time.Hour), workflows.StatusDelivered),
			run("resend/"+id+"/1", t0.Add(time.Hour), workflows.StatusFailed),
			run("resend/whs_other/1", t0.Add(3*time.Hour), workflows.StatusFailed),
		},
	}
	page, err := (&Log{Client: fake}).ListEvents(context.Background(), EventFilter{Status: workflows.StatusFailed})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != 1 || page.Events[0].Status != workflows.StatusFailed || len(page.Events[0].SentAgain) != 1 || page.Events[0].SentAgain[id] != workflows.StatusDelivered {
		t.Errorf("ListEvents: %+v", page.Events)
	}
	if len(fake.queries) != 2 || fake.queries[1] != "WorkflowId STARTS_WITH 'resend/' AND StartTime >= '2026-11-27T08:00:00Z'" {
		t.Errorf("queries %q", fake.queries)
	}
}
