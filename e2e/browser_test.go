package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/codec"
	"github.com/hookflow/hookflow/internal/browsertest"
	"github.com/hookflow/hookflow/workflows"
)

// TestWebUIInBrowser opens the Web UI that `hookflow dev` embeds in headless Chromium, as
// a person would after sending two events with an encryption key on: one that a good
// receiver takes and one that a failing receiver refuses until its schedule ends. It reads
// the rendered text of the workflow list and of the failed event's page, and checks what
// the README's tour says is there: the summary of each event, the distribution's name, the
// attempts' labels, the failure, and the event's payload decrypted (the UI decodes through
// dev's codec). Screenshots of both pages are kept in a directory the log names.
//
// It skips when no Chromium-based browser is installed and CI is unset; .ci/run installs
// Debian's chromium, and under CI a missing browser fails the test.
func TestWebUIInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts hookflow dev and a browser")
	}
	chromium := browsertest.Find()
	if chromium == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no Chromium-based browser on the PATH: .ci/run installs Debian's chromium (apt-get install chromium)")
		}
		t.Skip("no Chromium-based browser on the PATH (apt-get install chromium); CI is unset")
	}
	material := make([]byte, 32)
	if _, err := rand.Read(material); err != nil {
		t.Fatal(err)
	}
	d := startDev(t, t.TempDir(), nil, "--encryption-key", "e2e-browser:"+base64.StdEncoding.EncodeToString(material))
	dc, err := codec.NewDataConverter(codec.Key{ID: "e2e-browser", Key: material})
	if err != nil {
		t.Fatal(err)
	}
	c := dialTemporal(t, d.temporal, dc)

	good, failing := newReceiver(t), newReceiver(t, 503)
	create := func(name, event, target string, schedule any) {
		t.Helper()
		hook := map[string]any{"event_name": "Order", "url": target, "version": "v2024-01-01"}
		if schedule != nil {
			hook["retry_schedule"] = schedule
		}
		status, body := call(t, "POST", d.api+"/v1/distributions", map[string]any{
			"name": name, "status": "live",
			"trigger": map[string]any{"events": []string{event}},
			"action":  map[string]any{"type": "plain_message"},
			"webhook": hook,
		})
		if status != 201 {
			t.Fatalf("create distribution %s: %d %s", name, status, body)
		}
	}
	create("Paid orders", "customer.order.paid", good.URL+"/hooks/paid", nil)
	create("Order relay", "customer.order.created", failing.URL+"/hooks/created", []string{"1s", "1s"})
	failingHost := strings.TrimPrefix(failing.URL, "http://")
	for _, ev := range []string{
		`{"id":"evt_br_paid","type":"customer.order.paid","data":{"order":{"id":"ord_paid_77"}}}`,
		`{"id":"evt_br_created","type":"customer.order.created","data":{"order":{"id":"ord_created_88"}}}`,
	} {
		if status, body := call(t, "POST", d.api+"/v1/events", ev); status != 202 {
			t.Fatalf("send event: %d %s", status, body)
		}
	}
	for id, want := range map[string]string{"event/evt_br_paid": workflows.StatusDelivered, "event/evt_br_created": workflows.StatusFailed} {
		var res workflows.DeliveryResult
		waitWorkflow(t, c, id, 90*time.Second, &res)
		if res.Status != want {
			t.Fatalf("%s ended %s, want %s", id, res.Status, want)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	b, err := browsertest.Start(ctx, chromium)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	page, err := b.NewPage(ctx, 1600, 1200)
	if err != nil {
		t.Fatal(err)
	}
	defer page.Close()
	shots, err := os.MkdirTemp("", "hookflow-webui-screenshots-")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots of the Web UI in %s", shots)
	// look opens path of the UI and waits, a bounded while, until its rendered text holds
	// every one of want; the screenshot is saved either way.
	look := func(name, path string, want ...string) string {
		t.Helper()
		if err := page.Navigate(ctx, d.ui+path); err != nil {
			t.Fatal(err)
		}
		wait, cancel := context.WithTimeout(ctx, 45*time.Second)
		defer cancel()
		text, err := page.WaitText(wait, want...)
		if serr := page.Screenshot(ctx, filepath.Join(shots, name+".png")); serr != nil {
			t.Errorf("screenshot of %s: %v", name, serr)
		}
		if err != nil {
			t.Errorf("%s (%s): %v; the page reads:\n%s", name, path, err, text)
		}
		return text
	}

	// The list: both events, and the banner's "Failed in UI" link lists the failed one only.
	look("workflow-list", "/namespaces/default/workflows", "event/evt_br_created", "event/evt_br_paid")
	failedQuery := url.Values{"query": {"HookflowStatus = 'failed' AND WorkflowType = 'Delivery'"}}.Encode()
	if text := look("failed-list", "/namespaces/default/workflows?"+failedQuery, "event/evt_br_created"); strings.Contains(text, "evt_br_paid") {
		t.Errorf("the list of failed deliveries shows the delivered event:\n%s", text)
	}

	// The failed event's page: the input decrypted (the UI decodes through dev's codec),
	// the result's failure, and the timeline's labels of the attempts, the waits and the
	// pause.
	page1 := "/namespaces/default/workflows/" + url.PathEscape("event/evt_br_created")
	look("failed-workflow", page1,
		`"id": "ord_created_88"`, // the event's data, decrypted
		`"status": "failed"`, `"last_error": "HTTP 503 from http://`+failingHost+`/hooks/created"`,
		"Order relay → "+failingHost+"/hooks/created, attempt 2 of 3",
		"Order relay → "+failingHost+"/hooks/created, attempt 3 of 3",
		"Order relay: wait for attempt 3 of 3 (custom schedule (1s, 1s))",
		"Pause distribution Order relay: failed for good (exhausted after 3 attempts)",
		"Record failure notice: Order relay failed (exhausted after 3 attempts)",
	)
	// Its summary, details and where it ended, on the page's User Metadata tab.
	var clicked bool
	if err := page.Eval(ctx, `(() => { const tab = [...document.querySelectorAll('a,button,[role=tab]')]
		.find(e => e.innerText.trim() === 'User Metadata'); if (!tab) return false; tab.click(); return true })()`, &clicked); err != nil || !clicked {
		t.Fatalf("no User Metadata tab to click on the workflow's page: %v", err)
	}
	wait, cancelWait := context.WithTimeout(ctx, 45*time.Second)
	defer cancelWait()
	text, err := page.WaitText(wait,
		"customer.order.created evt_br_created · 1 distribution",
		"- Order relay → "+failingHost+" (live)",
		"Finished: 0 of 1 delivered; Order relay failed (exhausted after 3 attempts), paused",
	)
	if serr := page.Screenshot(ctx, filepath.Join(shots, "failed-workflow-metadata.png")); serr != nil {
		t.Errorf("screenshot: %v", serr)
	}
	if err != nil {
		t.Errorf("the User Metadata tab: %v; the page reads:\n%s", err, text)
	}
	// The payload was encrypted in Temporal: what the page shows decrypted came through
	// the codec, not from history in clear.
	raw, _, _ := rawHistory(t, dialTemporal(t, d.temporal, nil), "event/evt_br_created")
	if strings.Contains(string(raw), "ord_created_88") {
		t.Errorf("the event's data is in clear in history: the check of the decrypted payload proves nothing")
	}
}
