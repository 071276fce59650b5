package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow/store"
	"github.com/hookflow/hookflow/workflows"
)

// TestDevPublishCode imports a pool of 5 codes into a real `hookflow dev`, makes a
// publish_code distribution, and sends 8 events for 8 customers at once (one of them twice):
// 5 deliveries carry 5 distinct codes of the pool, 3 fail with a failure notification naming
// the empty pool, and after a refill the next event gets the new code.
func TestDevPublishCode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts hookflow dev")
	}
	testPublishCodeE2E(t)
}

// TestDevPublishCodeOnPostgres is the same with the store on PostgreSQL
// (HOOKFLOW_TEST_POSTGRES_DSN).
func TestDevPublishCodeOnPostgres(t *testing.T) {
	testPublishCodeE2E(t, "--database-url", postgresStoreURL(t, "hookflow_e2e_codes"))
}

func testPublishCodeE2E(t *testing.T, devArgs ...string) {
	d := startDev(t, t.TempDir(), nil, devArgs...)
	c := d.client(t)
	recv := newReceiver(t)

	pool := []string{"SPRING-A1", "SPRING-B2", "SPRING-C3", "SPRING-D4", "SPRING-E5"}
	file := filepath.Join(t.TempDir(), "codes.txt")
	if err := os.WriteFile(file, []byte(strings.Join(pool, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := runCLI(t, d, "codes", "import", "camp_spring", "-f", file); !strings.Contains(out, "imported 5 code(s) into campaign camp_spring, 0 duplicate(s) skipped") {
		t.Fatalf("import:\n%s", out)
	}
	status, body := call(t, "POST", d.api+"/v1/distributions", map[string]any{
		"name":    "Spring codes",
		"trigger": map[string]any{"events": []string{"customer.order.paid"}},
		"action":  map[string]any{"type": "publish_code", "campaign": map[string]any{"id": "camp_spring", "name": "Spring"}},
		"webhook": map[string]any{"event_name": "Spring-code", "url": recv.URL},
	})
	if status != 201 {
		t.Fatalf("create the publish_code distribution: %d %s", status, body)
	}
	var distr distributionOut
	mustJSON(t, body, &distr)

	// 8 events for 8 customers, all at once; the first is sent twice, which is one event.
	var wg sync.WaitGroup
	for i := range 9 {
		n := max(i-1, 0)
		wg.Go(func() {
			status, body := call(t, "POST", d.api+"/v1/events", fmt.Sprintf(
				`{"id":"evt_code_%d","type":"customer.order.paid","data":{"customer":{"id":"cust_%d","name":"Customer %d"},"order":{"id":"ord_%d","amount":1000}}}`, n, n, n, n))
			if status != 202 {
				t.Errorf("send event %d: %d %s", n, status, body)
			}
		})
	}
	wg.Wait()
	results := map[string]workflows.DeliveryOutcome{}
	for n := range 8 {
		var res workflows.DeliveryResult
		waitWorkflow(t, c, fmt.Sprintf("event/evt_code_%d", n), 60*time.Second, &res)
		if len(res.Deliveries) != 1 {
			t.Fatalf("event %d: %+v", n, res)
		}
		results[fmt.Sprintf("evt_code_%d", n)] = res.Deliveries[0]
	}
	var delivered, failed []string
	for ev, out := range results {
		switch {
		case out.Status == workflows.StatusDelivered:
			delivered = append(delivered, ev)
		case out.Status == workflows.StatusFailed && out.Reason == workflows.ReasonNoCode &&
			strings.Contains(out.LastError, "the code pool of campaign camp_spring is empty: all 5 codes are published"):
			failed = append(failed, ev)
		default:
			t.Errorf("%s: %+v", ev, out)
		}
	}
	if len(delivered) != 5 || len(failed) != 3 {
		t.Fatalf("%d delivered, %d failed; want 5 and 3", len(delivered), len(failed))
	}
	recordWorkflowHistory(t, c, "event/"+delivered[0], "delivery_NAME_publish_code.history.json")
	// The Web UI labels the publication step, without the customer; and a delivery that got
	// no code says so where the event stands.
	if steps := historyLabels(t, c, nil, "event/"+delivered[0]); !slices.Contains(steps, "Spring codes: publish a code to the event's customer") ||
		strings.Contains(strings.Join(steps, "\n"), "cust_") {
		t.Errorf("the labels of a publish_code delivery: %q", steps)
	}
	if got, want := currentDetails(t, c, "event/"+failed[0]), "Finished: 0 of 1 delivered; Spring codes failed (no_code)"; got != want {
		t.Errorf("current details of a delivery without a code: %q, want %q", got, want)
	}

	// Each delivery carries its own code of the pool, published to its customer.
	reqs := recv.requests()
	if len(reqs) != 5 {
		t.Fatalf("the receiver got %d requests, want 5", len(reqs))
	}
	var got []string
	for _, r := range reqs {
		var env struct {
			Event struct {
				ID string `json:"id"`
			} `json:"event"`
			Data struct {
				Customer struct {
					ID string `json:"id"`
				} `json:"customer"`
				Campaign    map[string]any `json:"campaign"`
				Voucher     map[string]any `json:"voucher"`
				Publication struct {
					ID         string            `json:"id"`
					Object     string            `json:"object"`
					CustomerID string            `json:"customer_id"`
					Voucher    map[string]string `json:"voucher"`
					Result     string            `json:"result"`
				} `json:"publication"`
			} `json:"data"`
		}
		mustJSON(t, r.body, &env)
		code, _ := env.Data.Voucher["code"].(string)
		p := env.Data.Publication
		if env.Data.Voucher["object"] != "voucher" || env.Data.Voucher["campaign_id"] != "camp_spring" || env.Data.Voucher["campaign"] != "Spring" ||
			env.Data.Campaign["id"] != "camp_spring" || !strings.HasPrefix(p.ID, "pub_") || p.Object != "publication" ||
			p.CustomerID != env.Data.Customer.ID || p.Voucher["code"] != code || p.Result != "SUCCESS" ||
			results[env.Event.ID].Status != workflows.StatusDelivered {
			t.Errorf("delivery of %s: %s", env.Event.ID, r.body)
		}
		got = append(got, code)
	}
	sort.Strings(got)
	if !slices.Equal(got, pool) {
		t.Errorf("published codes %v, want each of %v once", got, pool)
	}

	// The 3 failures are in the notifications, naming the empty pool; the distribution is
	// not paused.
	status, body = call(t, "GET", d.api+"/v1/notifications", nil)
	var notes struct {
		Data []store.Notification `json:"data"`
	}
	mustJSON(t, body, &notes)
	noted := 0
	for _, n := range notes.Data {
		if n.DistributionID == distr.ID && n.Reason == workflows.ReasonNoCode && !n.DistributionPaused &&
			strings.Contains(n.Message, "the code pool of campaign camp_spring is empty") {
			noted++
		}
	}
	if status != 200 || noted != 3 {
		t.Errorf("%d notifications of the empty pool, want 3: %s", noted, body)
	}
	status, body = call(t, "GET", d.api+"/v1/distributions/"+distr.ID, nil)
	if status != 200 || !strings.Contains(string(body), `"status":"live"`) {
		t.Errorf("the distribution after an empty pool: %d %s", status, body)
	}
	var stats store.CodeStats
	mustJSON(t, []byte(runCLI(t, d, "codes", "stats", "camp_spring", "-o", "json")), &stats)
	if stats != (store.CodeStats{Campaign: "camp_spring", Total: 5, Published: 5}) {
		t.Errorf("stats %+v", stats)
	}

	// A refill (a code already published is a duplicate), then a new event: the new code.
	status, body = call(t, "POST", d.api+"/v1/campaigns/camp_spring/codes", map[string]any{"codes": []string{"SPRING-F6", "SPRING-A1"}})
	if status != 415 {
		t.Errorf("JSON without its content type: %d %s", status, body)
	}
	refill := filepath.Join(t.TempDir(), "more.csv")
	if err := os.WriteFile(refill, []byte("code,batch\nSPRING-F6,2\nSPRING-A1,2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := runCLI(t, d, "codes", "import", "camp_spring", "-f", refill); !strings.Contains(out, "imported 1 code(s) into campaign camp_spring, 1 duplicate(s) skipped") {
		t.Errorf("refill:\n%s", out)
	}
	// A delivery that failed for want of a code, sent again: it takes the new code (the
	// publication key is its event's, which had none).
	var noCode workflows.DeliveryOutcome
	for _, out := range results {
		if out.Reason == workflows.ReasonNoCode {
			noCode = out
			break
		}
	}
	if out := runCLI(t, d, "deliveries", "retry", noCode.DeliveryID); !strings.Contains(out, noCode.DeliveryID) {
		t.Errorf("retry %s:\n%s", noCode.DeliveryID, out)
	}
	reqs = recv.waitRequests(t, 6, 60*time.Second)
	if !strings.Contains(string(reqs[5].body), `"voucher":{"object":"voucher","code":"SPRING-F6"`) || reqs[5].header.Get("webhook-id") != noCode.DeliveryID {
		t.Errorf("the delivery sent again after a refill: %s %s", reqs[5].header.Get("webhook-id"), reqs[5].body)
	}
	var shown struct {
		Status string `json:"status"`
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && shown.Status != workflows.StatusDelivered; time.Sleep(200 * time.Millisecond) {
		_, body := call(t, "GET", d.api+"/v1/deliveries/"+noCode.DeliveryID, nil)
		mustJSON(t, body, &shown)
	}
	if shown.Status != workflows.StatusDelivered {
		t.Errorf("GET /v1/deliveries/%s after the retry: %s", noCode.DeliveryID, shown.Status)
	}
	mustJSON(t, []byte(runCLI(t, d, "codes", "stats", "camp_spring", "-o", "json")), &stats)
	if stats != (store.CodeStats{Campaign: "camp_spring", Total: 6, Published: 6}) {
		t.Errorf("stats after the refill %+v", stats)
	}
}
