package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/hookflow/hookflow/codec"
	"github.com/hookflow/hookflow/payloads"
	"github.com/hookflow/hookflow/workflows"
)

// uiEmail is the customer e-mail address no label may show.
const uiEmail = "ula.webui-test@example.com"

// TestWebUILabels runs `hookflow dev` with an encryption key, sends one event that a good
// and a failing receiver take, and reads what the Temporal Web UI shows of its workflow:
// the summary and details of the workflow (the list and the page's header), the label of
// every attempt, wait, pause and notification (the timeline), and the current details
// (where the event stands, while an attempt is in flight and at the end). None of them may
// hold a signing secret, a secret header's value or the customer's e-mail: labels are
// built from names, hosts, paths and counts only.
func TestWebUILabels(t *testing.T) {
	if testing.Short() {
		t.Skip("starts hookflow dev")
	}
	material := make([]byte, 32)
	if _, err := rand.Read(material); err != nil {
		t.Fatal(err)
	}
	d := startDev(t, t.TempDir(), nil, "--encryption-key", "e2e-ui:"+base64.StdEncoding.EncodeToString(material))
	dc, err := codec.NewDataConverter(codec.Key{ID: "e2e-ui", Key: material})
	if err != nil {
		t.Fatal(err)
	}
	c := dialTemporal(t, d.temporal, dc)

	good, failing := newReceiver(t), newReceiver(t, 503)
	// The failing receiver holds its second request: an attempt in flight, whatever the
	// machine's speed, to read the current details at.
	failing.holdFrom(2)
	ownSecret := payloads.NewSecret()
	const headerValue = "h3ader-webui-s3cr3t"
	create := func(name, target string, schedule any) string {
		t.Helper()
		hook := map[string]any{"event_name": "Order-paid", "url": target, "version": "v2024-01-01", "secret": ownSecret,
			"headers": []map[string]any{{"name": "x-api-key", "value": headerValue, "secret": true}}}
		if schedule != nil {
			hook["retry_schedule"] = schedule
		}
		status, body := call(t, "POST", d.api+"/v1/distributions", map[string]any{
			"name": name, "status": "live",
			"trigger": map[string]any{"events": []string{"customer.order.paid"}},
			"action":  map[string]any{"type": "plain_message"},
			"webhook": hook,
		})
		var out distributionOut
		mustJSON(t, body, &out)
		if status != 201 {
			t.Fatalf("create distribution %s: %d %s", name, status, body)
		}
		return out.ID
	}
	goodID := create("Paid orders", good.URL+"/hooks/orders?token=q-s3cr3t", nil)
	failingID := create("Failing orders", failing.URL+"/fail", []string{"1s", "1s"})
	goodHost, failingHost := strings.TrimPrefix(good.URL, "http://"), strings.TrimPrefix(failing.URL, "http://")

	status, body := call(t, "POST", d.api+"/v1/events", fmt.Sprintf(
		`{"id":"evt_ui_1","type":"customer.order.paid","data":{"customer":{"id":"cust_ula","email":%q},"order":{"id":"ord_1","amount":100}}}`, uiEmail))
	if status != 202 {
		t.Fatalf("send event: %d %s", status, body)
	}
	const workflowID = "event/evt_ui_1"

	// While the second attempt to the failing receiver is in flight, the first delivery is
	// done and the workflow says so.
	waitFor(t, 30*time.Second, func() bool { return failing.holding() == 1 })
	if got, want := currentDetails(t, c, workflowID), "1 of 2 delivered; Failing orders sending attempt 2 of 3"; got != want {
		t.Errorf("current details while attempt 2 is in flight:\n%q\nwant\n%q", got, want)
	}
	failing.release()
	var res workflows.DeliveryResult
	waitWorkflow(t, c, workflowID, 60*time.Second, &res)
	if res.Status != workflows.StatusFailed || len(res.Deliveries) != 2 {
		t.Fatalf("result %+v", res)
	}
	var labels []string // every label the UI shows, for the secret check

	// The list and the workflow's header: what the event is and where it goes.
	summary, details := workflowLabels(t, c, dc, workflowID)
	labels = append(labels, summary, details)
	if want := "customer.order.paid evt_ui_1 · 2 distributions"; summary != want {
		t.Errorf("workflow summary %q, want %q", summary, want)
	}
	for _, line := range []string{"Subscribed to customer.order.paid at intake:",
		"- Paid orders → " + goodHost + " (live)", "- Failing orders → " + failingHost + " (live)"} {
		if !slices.Contains(strings.Split(details, "\n"), line) {
			t.Errorf("workflow details do not hold the line %q:\n%s", line, details)
		}
	}

	// The timeline: every attempt (the first ones local, in markers), wait and step says
	// what it is.
	steps := historyLabels(t, c, dc, workflowID)
	labels = append(labels, steps...)
	wantSteps := []string{
		"customer.order.paid evt_ui_1 · 2 distributions", // the started event's
		"Paid orders → " + goodHost + "/hooks/orders, attempt 1 of 13",
		"Failing orders → " + failingHost + "/fail, attempt 1 of 3",
		"Failing orders: wait for attempt 2 of 3 (custom schedule (1s, 1s))",
		"Failing orders → " + failingHost + "/fail, attempt 2 of 3",
		"Failing orders: wait for attempt 3 of 3 (custom schedule (1s, 1s))",
		"Failing orders → " + failingHost + "/fail, attempt 3 of 3",
		"Pause distribution Failing orders: failed for good (exhausted after 3 attempts)",
		"Record failure notice: Failing orders failed (exhausted after 3 attempts)",
		"E-mail failure notice: Failing orders failed (exhausted after 3 attempts)",
		"Send failure alert: Failing orders failed (exhausted after 3 attempts)",
	}
	// The two first attempts are recorded in the order they were answered.
	gotSorted, wantSorted := slices.Sorted(slices.Values(steps)), slices.Sorted(slices.Values(wantSteps))
	if !slices.Equal(gotSorted, wantSorted) {
		t.Errorf("the labels of the history:\n%s\nwant\n%s", strings.Join(steps, "\n"), strings.Join(wantSteps, "\n"))
	}

	// The outcome, where the workflow's page shows its current details.
	final := currentDetails(t, c, workflowID)
	labels = append(labels, final)
	if want := "Finished: 1 of 2 delivered; Failing orders failed (exhausted after 3 attempts), paused"; final != want {
		t.Errorf("current details at the end:\n%q\nwant\n%q", final, want)
	}

	// No label shows a secret or the customer's data, though the deliveries carried them.
	got := failing.requests()[0]
	if !strings.Contains(string(got.body), uiEmail) || got.header.Get("x-api-key") != headerValue {
		t.Fatalf("the receiver did not get the e-mail and the header: the check below proves nothing: %s %v", got.body, got.header)
	}
	for what, s := range map[string]string{
		"customer e-mail":         uiEmail,
		"signing secret":          strings.TrimPrefix(ownSecret, payloads.SecretPrefix),
		"project signing secret":  strings.TrimPrefix(d.secret, payloads.SecretPrefix),
		"secret header value":     headerValue,
		"the URL's query (token)": "q-s3cr3t",
	} {
		for _, l := range labels {
			if strings.Contains(l, s) {
				t.Errorf("the %s is in the label %q", what, l)
			}
		}
	}
	// The banner's link to the failed deliveries, the one `deliveries list --status failed
	// --web` prints, opens the Web UI's list with the event in it.
	link := runCLI(t, d, "deliveries", "list", "--status", "failed", "--web", "--ui-url", d.ui)
	link = strings.TrimSpace(link)
	if !regexp.MustCompile(`(?m)^  Failed in UI +` + regexp.QuoteMeta(link) + `$`).MatchString(d.output.String()) {
		t.Errorf("the banner does not show the link %s:\n%s", link, d.output)
	}
	if !strings.Contains(d.output.String(), "  Retrying in UI  "+d.ui+"/namespaces/default/workflows?query=") {
		t.Errorf("the banner does not link the retrying deliveries:\n%s", d.output)
	}
	u, err := url.Parse(link)
	if err != nil || u.Path != "/namespaces/default/workflows" || u.Query().Get("query") == "" {
		t.Fatalf("deliveries list --web printed %q: %v", link, err)
	}
	waitListedInUI(t, d, workflowID, u.Query().Get("query"))
	// Per distribution: the failing one's link lists the event, the good one's too (it
	// took the event), and no other distribution's does.
	for _, id := range []string{failingID, goodID} {
		link := strings.TrimSpace(runCLI(t, d, "deliveries", "list", "--distribution", id, "--web", "--ui-url", d.ui))
		u, err := url.Parse(link)
		if err != nil {
			t.Fatal(err)
		}
		waitListedInUI(t, d, workflowID, u.Query().Get("query"))
	}
}

// workflowLabels are the summary and details of a workflow, as the Web UI shows them in the
// list and atop its page, read with dc (nil: the SDK's, for a dev without encryption).
func workflowLabels(t *testing.T, c client.Client, dc converter.DataConverter, workflowID string) (summary, details string) {
	t.Helper()
	desc, err := c.DescribeWorkflowExecution(context.Background(), workflowID, "")
	if err != nil {
		t.Fatal(err)
	}
	md := desc.GetExecutionConfig().GetUserMetadata()
	return decodeLabel(t, dc, md.GetSummary()), decodeLabel(t, dc, md.GetDetails())
}

// historyLabels are the summaries of a workflow's history events, in order, as the Web
// UI's timeline and event history show them.
func historyLabels(t *testing.T, c client.Client, dc converter.DataConverter, workflowID string) []string {
	t.Helper()
	var steps []string
	for _, ev := range workflowHistory(t, c, workflowID).GetEvents() {
		if s := ev.GetUserMetadata().GetSummary(); s != nil {
			steps = append(steps, decodeLabel(t, dc, s))
		}
	}
	return steps
}

// decodeLabel reads a label's payload with dc, which decrypts it when encryption is on.
func decodeLabel(t *testing.T, dc converter.DataConverter, p *commonpb.Payload) string {
	t.Helper()
	if p == nil {
		return ""
	}
	if dc == nil {
		dc = converter.GetDefaultDataConverter()
	}
	var s string
	if err := dc.FromPayload(p, &s); err != nil {
		t.Fatalf("decode a label: %v", err)
	}
	return s
}

// currentDetails are the workflow's current details, as the Web UI reads them: through
// the built-in metadata query, which a worker answers.
func currentDetails(t *testing.T, c client.Client, workflowID string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	v, err := c.QueryWorkflow(ctx, workflowID, "", "__temporal_workflow_metadata")
	if err != nil {
		t.Fatalf("query the metadata of %s: %v", workflowID, err)
	}
	var md sdkpb.WorkflowMetadata
	if err := v.Get(&md); err != nil {
		t.Fatal(err)
	}
	return md.GetCurrentDetails()
}
