package workflows

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/hookflow/hookflow/codec"
)

// TestReplayRecordedHistories replays histories recorded from real runs, of both
// workflows: a change to Delivery or Message that breaks determinism for workflows already
// running fails here. Record the current code's, all of them, with
//
//	go test -count=1 -run '^(TestDev|TestDevPublishCode|TestMessagesDev|TestMessagesDeliveredTogether|TestTracing|TestRateLimit|TestCircuitBreaker|TestOrderedDelivery)$' ./e2e -record-history=NAME
//
// which writes, with NAME in the file names: delivery_NAME.history.json (TestDev: a
// delivery retried twice), delivery_NAME_message.history.json (TestMessagesDeliveredTogether:
// five customers of a message, one refused), delivery_NAME_publish_code.history.json
// (TestDevPublishCode: a publish_code delivery that published a code),
// message_NAME.history.json (TestMessagesDev: a Message sent after its delay) and
// message_NAME_canceled.history.json (TestMessagesDev: a Message canceled during its
// delay) and delivery_NAME_traced.history.json (TestTracing: a Delivery traced with
// OpenTelemetry, retried by a restarted dev), delivery_NAME_throttled.history.json
// (TestRateLimit: a Delivery that waited for its distribution's rate limit),
// delivery_NAME_breaker.history.json (TestCircuitBreaker: a Delivery held by an open circuit
// breaker, then let go once it closed), delivery_NAME_ordered.history.json
// (TestOrderedDelivery: an ordered delivery that waited for its turn, failed once, then was
// delivered) and stream_NAME.history.json (TestOrderedDelivery: the OrderedStream of one
// key). The older ones stay, for the workflows they stand for.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob("testdata/*.history.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no recorded histories in testdata: %v", err)
	}
	recorded := map[string]int{}
	for _, f := range files {
		recorded[recordedWorkflowType(t, f)]++
		t.Run(filepath.Base(f), func(t *testing.T) {
			r, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{DataConverter: codec.DataConverter})
			if err != nil {
				t.Fatal(err)
			}
			r.RegisterWorkflowWithOptions(Delivery, workflow.RegisterOptions{Name: DeliveryWorkflow})
			r.RegisterWorkflowWithOptions(Message, workflow.RegisterOptions{Name: MessageWorkflow})
			r.RegisterWorkflowWithOptions(Stream, workflow.RegisterOptions{Name: StreamWorkflow})
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
				t.Fatal(err)
			}
		})
	}
	// A worker that traces (OpenTelemetry, Temporal's tracing interceptor) replays them too:
	// turning tracing on does not break the workflows already running.
	tracer, err := temporalotel.NewTracingInterceptor(temporalotel.TracerOptions{
		Tracer: sdktrace.NewTracerProvider().Tracer("replay"), TextMapPropagator: propagation.TraceContext{}, DisableBaggage: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		t.Run("traced/"+filepath.Base(f), func(t *testing.T) {
			r, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{DataConverter: codec.DataConverter,
				Interceptors: []interceptor.WorkerInterceptor{tracer}})
			if err != nil {
				t.Fatal(err)
			}
			r.RegisterWorkflowWithOptions(Delivery, workflow.RegisterOptions{Name: DeliveryWorkflow})
			r.RegisterWorkflowWithOptions(Message, workflow.RegisterOptions{Name: MessageWorkflow})
			r.RegisterWorkflowWithOptions(Stream, workflow.RegisterOptions{Name: StreamWorkflow})
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
				t.Fatal(err)
			}
		})
	}
	for _, name := range []string{DeliveryWorkflow, MessageWorkflow, StreamWorkflow} {
		if recorded[name] == 0 {
			t.Errorf("no recorded history of a %s workflow in testdata: record one with the command above", name)
		}
	}
}

// recordedWorkflowType is the workflow type of a recorded history, from its first event.
func recordedWorkflowType(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Events []struct {
			Started struct {
				WorkflowType struct {
					Name string `json:"name"`
				} `json:"workflowType"`
			} `json:"workflowExecutionStartedEventAttributes"`
		} `json:"events"`
	}
	if err := json.Unmarshal(b, &h); err != nil || len(h.Events) == 0 {
		t.Fatalf("%s is not a recorded history: %v", file, err)
	}
	return h.Events[0].Started.WorkflowType.Name
}

// TestRecordedHistoryLabels: delivery_labels.history.json, recorded with the Web UI's
// labels, has one on every attempt (the local first one's marker included), every wait
// and the workflow's start, so the replay above covers histories that carry them.
func TestRecordedHistoryLabels(t *testing.T) {
	var h struct {
		Events []struct {
			EventType    string `json:"eventType"`
			UserMetadata *struct {
				Summary *struct {
					Data []byte `json:"data"`
				} `json:"summary"`
			} `json:"userMetadata"`
		} `json:"events"`
	}
	readHistoryJSON(t, "delivery_labels.history.json", &h)
	labelled := map[string]int{}
	for _, ev := range h.Events {
		switch ev.EventType {
		case "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED", "EVENT_TYPE_MARKER_RECORDED", "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED", "EVENT_TYPE_TIMER_STARTED":
			if ev.UserMetadata == nil || ev.UserMetadata.Summary == nil || len(ev.UserMetadata.Summary.Data) == 0 {
				t.Errorf("a %s event without a summary", ev.EventType)
				continue
			}
			labelled[ev.EventType]++
		}
	}
	// TestDev's retried delivery: started, a local first attempt, two retries after two waits.
	for kind, want := range map[string]int{"EVENT_TYPE_WORKFLOW_EXECUTION_STARTED": 1, "EVENT_TYPE_MARKER_RECORDED": 1,
		"EVENT_TYPE_ACTIVITY_TASK_SCHEDULED": 2, "EVENT_TYPE_TIMER_STARTED": 2} {
		if labelled[kind] != want {
			t.Errorf("%d labelled %s events, want %d", labelled[kind], kind, want)
		}
	}
}

// TestRecordedTracedHistory: delivery_trace_context_traced.history.json, recorded by
// TestTracing, carries the trace context in the headers of the workflow's start and of
// each Post activity, so the replays above (with and without the tracing interceptor)
// cover histories written by a worker that traces.
func TestRecordedTracedHistory(t *testing.T) {
	var h struct {
		Events []struct {
			EventType string `json:"eventType"`
			Started   *struct {
				Header struct {
					Fields map[string]json.RawMessage `json:"fields"`
				} `json:"header"`
			} `json:"workflowExecutionStartedEventAttributes"`
			Scheduled *struct {
				ActivityType struct {
					Name string `json:"name"`
				} `json:"activityType"`
				Header struct {
					Fields map[string]json.RawMessage `json:"fields"`
				} `json:"header"`
			} `json:"activityTaskScheduledEventAttributes"`
		} `json:"events"`
	}
	readHistoryJSON(t, "delivery_trace_context_traced.history.json", &h)
	const tracerHeader = "_tracer-data" // the interceptor's header
	started, scheduled := false, 0
	for _, ev := range h.Events {
		switch {
		case ev.Started != nil:
			started = ev.Started.Header.Fields[tracerHeader] != nil
		case ev.Scheduled != nil && ev.Scheduled.ActivityType.Name == ActivityPost:
			if ev.Scheduled.Header.Fields[tracerHeader] == nil {
				t.Errorf("a Post activity scheduled without the trace context: %v", ev.Scheduled.Header.Fields)
			}
			scheduled++
		}
	}
	if !started || scheduled == 0 {
		t.Errorf("trace context on the start: %v; Post activities scheduled: %d", started, scheduled)
	}
}

// readHistoryJSON reads the recorded history testdata/name into v, the parts of its JSON a
// test looks at.
func readHistoryJSON(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// TestRecordedOrderedHistories: the ordered histories recorded by TestOrderedDelivery hold
// what the replays above must cover: the Delivery's turn signal before its ordered first
// attempt, its done signal to the stream after the last, and a stream that took enqueues
// and granted turns.
func TestRecordedOrderedHistories(t *testing.T) {
	type event struct {
		EventType string `json:"eventType"`
		Signaled  *struct {
			SignalName string `json:"signalName"`
		} `json:"workflowExecutionSignaledEventAttributes"`
		SignalExternal *struct {
			SignalName string `json:"signalName"`
		} `json:"signalExternalWorkflowExecutionInitiatedEventAttributes"`
	}
	var d, s struct {
		Events []event `json:"events"`
	}
	readHistoryJSON(t, "delivery_ordering_ordered.history.json", &d)
	var order []string
	markers := 0
	for _, ev := range d.Events {
		switch {
		case ev.Signaled != nil && strings.HasPrefix(ev.Signaled.SignalName, signalTurnPrefix):
			order = append(order, "turn")
		case ev.EventType == "EVENT_TYPE_MARKER_RECORDED":
			markers++
			if markers == 2 { // the first is the unordered distribution's first attempt
				order = append(order, "attempt")
			}
		case ev.SignalExternal != nil && ev.SignalExternal.SignalName == SignalDone:
			order = append(order, "done")
		}
	}
	if strings.Join(order, ",") != "turn,attempt,done" {
		t.Errorf("ordered delivery history: %v, want turn, attempt, done", order)
	}
	readHistoryJSON(t, "stream_ordering.history.json", &s)
	enqueues, grants := 0, 0
	for _, ev := range s.Events {
		if ev.Signaled != nil && ev.Signaled.SignalName == SignalEnqueue {
			enqueues++
		}
		if ev.SignalExternal != nil && strings.HasPrefix(ev.SignalExternal.SignalName, signalTurnPrefix) {
			grants++
		}
	}
	if enqueues < 2 || grants != enqueues {
		t.Errorf("stream history: %d enqueues, %d turns granted", enqueues, grants)
	}
}
