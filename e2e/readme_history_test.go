package e2e

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/payloads"
	"github.com/hookflow/hookflow/workflows"
)

// TestREADMEHistoryShowsAttempts: what the README says the Web UI shows of a delivery's
// attempts is in its history. The first attempt is a local-activity marker whose failure
// details hold the receiver's answer and, under request, the body sent; the retry is a Post
// activity whose input is the request and whose result is the answer.
func TestREADMEHistoryShowsAttempts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts hookflow dev")
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, claim := range []string{"it is a `MarkerRecorded` event", "under `request`, what was sent", "Each retry is a `Post` activity: `ActivityTaskScheduled` shows\nthe same request as its input"} {
		if !strings.Contains(string(readme), claim) {
			t.Errorf("the README does not say %q", claim)
		}
	}
	d := startDev(t, t.TempDir(), nil)
	c := d.client(t)
	recv := newReceiver(t, 503, 200)
	createDistribution(t, d, recv.URL+"/hooks", []string{"1s"})
	h := sendEvent(t, d, "evt_readme_history")
	var res workflows.DeliveryResult
	waitWorkflow(t, c, h.WorkflowID, 60*time.Second, &res)
	got := recv.requests()
	if len(got) != 2 {
		t.Fatalf("receiver got %d attempts, want 2", len(got))
	}

	var marker, input, result []byte
	for _, ev := range workflowHistory(t, c, h.WorkflowID).GetEvents() {
		if a := ev.GetMarkerRecordedEventAttributes(); a != nil && marker == nil {
			if ds := a.GetFailure().GetApplicationFailureInfo().GetDetails().GetPayloads(); len(ds) > 0 {
				marker = ds[0].GetData()
			}
		}
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil && a.GetActivityType().GetName() == workflows.ActivityPost {
			input = a.GetInput().GetPayloads()[0].GetData()
		}
		if a := ev.GetActivityTaskCompletedEventAttributes(); a != nil && input != nil {
			result = a.GetResult().GetPayloads()[0].GetData()
		}
	}
	var first payloads.Response
	if err := json.Unmarshal(marker, &first); err != nil || first.StatusCode != 503 || first.Request == nil ||
		string(first.Request.Body) != string(got[0].body) || first.Request.URL != recv.URL+"/hooks" {
		t.Errorf("the first attempt's marker: %v %s\nwant status 503 and the request with the body the receiver got:\n%s", err, marker, got[0].body)
	}
	var retry payloads.Request
	if err := json.Unmarshal(input, &retry); err != nil || string(retry.Body) != string(got[1].body) {
		t.Errorf("the retry's Post input: %v %s\nwant the body the receiver got:\n%s", err, input, got[1].body)
	}
	var answer payloads.Response
	if err := json.Unmarshal(result, &answer); err != nil || answer.StatusCode != 200 {
		t.Errorf("the retry's Post result: %v %s, want status 200", err, result)
	}
}
