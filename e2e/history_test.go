package e2e

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// The Temporal helpers: a client, a workflow's result, counts of workflows, and one
// reader of a workflow's history (workflowHistory) that the others build on.

// dialTemporal is a client of the default namespace at hostPort, closed at the test's
// cleanup; dc is its data converter, the SDK's when nil (a client without a codec).
func dialTemporal(t *testing.T, hostPort string, dc converter.DataConverter) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: hostPort, Namespace: "default", Logger: quietSDKLogger{}, DataConverter: dc})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

type quietSDKLogger struct{}

func (quietSDKLogger) Debug(string, ...any) {}
func (quietSDKLogger) Info(string, ...any)  {}
func (quietSDKLogger) Warn(string, ...any)  {}
func (quietSDKLogger) Error(string, ...any) {}

// waitWorkflow waits for the workflow of an event to close and decodes its result.
func waitWorkflow(t *testing.T, c client.Client, workflowID string, timeout time.Duration, result any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := c.GetWorkflow(ctx, workflowID, "").Get(ctx, result); err != nil {
		t.Fatalf("workflow %s: %v", workflowID, err)
	}
}

// countWorkflows counts the workflows a visibility query selects; -1 when Temporal does
// not answer.
func countWorkflows(c client.Client, query string) int64 {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: query})
	if err != nil {
		return -1
	}
	return resp.GetCount()
}

// workflowHistory reads the whole history of a workflow's latest run. The events are as
// Temporal stores them: a client's codec does not decode them.
func workflowHistory(t *testing.T, c client.Client, workflowID string) *historypb.History {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hist := &historypb.History{}
	it := c.GetWorkflowHistory(ctx, workflowID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatalf("history of %s: %v", workflowID, err)
		}
		hist.Events = append(hist.Events, ev)
	}
	return hist
}

// historyJSON is a workflow's history in the JSON that the replayer reads.
func historyJSON(t *testing.T, c client.Client, workflowID string) []byte {
	t.Helper()
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(workflowHistory(t, c, workflowID))
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// rawHistory reads a workflow's history with c, which should have no codec, and returns
// it serialized as protobuf (where a payload's bytes appear as they are) and as JSON,
// with the history itself.
func rawHistory(t *testing.T, c client.Client, workflowID string) (raw, text []byte, hist *historypb.History) {
	t.Helper()
	hist = workflowHistory(t, c, workflowID)
	raw, err := proto.Marshal(hist)
	if err != nil {
		t.Fatal(err)
	}
	text, err = protojson.Marshal(hist)
	if err != nil {
		t.Fatal(err)
	}
	return raw, text, hist
}

// activityIdentities returns, from a workflow's history, the identities of the workers
// that did its work: that completed its workflow tasks (which run the local activities,
// recorded as markers in them) or ran its regular activities.
func activityIdentities(t *testing.T, c client.Client, workflowID string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, ev := range workflowHistory(t, c, workflowID).GetEvents() {
		if a := ev.GetWorkflowTaskCompletedEventAttributes(); a != nil {
			out[a.GetIdentity()] = true
		}
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil {
			out[a.GetIdentity()] = true
		}
	}
	return out
}
