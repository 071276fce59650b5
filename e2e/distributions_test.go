package e2e

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/hookflow/hookflow/payloads"
	"github.com/hookflow/hookflow/workflows"
)

// TestDevDistributions applies a YAML file of distributions to a real `hookflow dev`, sends
// events, and checks that exactly the matching ones deliver.
func TestDevDistributions(t *testing.T) {
	if testing.Short() {
		t.Skip("starts hookflow dev")
	}
	d := startDev(t, t.TempDir(), nil)
	c := d.client(t)
	big, vip, segment, paused, own := newReceiver(t), newReceiver(t), newReceiver(t), newReceiver(t), newReceiver(t)
	ownSecret := payloads.NewSecret()
	yamlDoc := fmt.Sprintf(`name: Big orders
trigger:
  events: [customer.order.paid]
  filter: data.order.amount >= 10000
webhook:
  event_name: Big-order
  url: %s
---
name: VIP orders
trigger:
  events: ["customer.order.*"]
  segment: seg_vip
webhook:
  event_name: VIP-order
  url: %s
  retry_schedule: [1s]
---
name: Segment entered
trigger:
  events: [customer.segment.entered]
webhook:
  event_name: Segment
  url: %s
---
name: Paused orders
status: paused
trigger:
  events: [customer.order.paid]
webhook:
  event_name: Paused
  url: %s
---
name: Own secret
trigger:
  events: [customer.order.paid]
  campaign: camp_1
  live_from: 2020-01-01T00:00:00Z
webhook:
  event_name: Own
  url: %s
  secret: %s
  headers:
    - {name: x-api-key, value: k3y-s3cr3t, secret: true}
    - {name: x-tenant, value: acme}
`, big.URL, vip.URL, segment.URL, paused.URL, own.URL, ownSecret)
	file := filepath.Join(t.TempDir(), "distributions.yaml")
	if err := os.WriteFile(file, []byte(yamlDoc), 0o600); err != nil {
		t.Fatal(err)
	}
	out := runCLI(t, d, "distributions", "apply", "-f", file, "--dry-run")
	if strings.Count(out, "would create") != 5 {
		t.Fatalf("dry run:\n%s", out)
	}
	if strings.Contains(runCLI(t, d, "distributions", "list"), "distr_") {
		t.Fatal("--dry-run created distributions")
	}
	out = runCLI(t, d, "distributions", "apply", "-f", file)
	if strings.Count(out, "created distr_") != 5 {
		t.Fatalf("apply:\n%s", out)
	}
	ids := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		ids[strings.Trim(strings.Join(f[2:], " "), `"`)] = f[1]
	}

	send := func(id string, amount int, segments string) workflows.DeliveryResult {
		t.Helper()
		status, body := call(t, "POST", d.api+"/v1/events", fmt.Sprintf(
			`{"id":%q,"type":"customer.order.paid","data":{"customer":{"id":"cust_1","segments":%s},"order":{"id":"o","amount":%d},"campaign":{"id":"camp_1"}}}`,
			id, segments, amount))
		if status != 202 {
			t.Fatalf("%d %s", status, body)
		}
		var res workflows.DeliveryResult
		waitWorkflow(t, c, "event/"+id, 30*time.Second, &res)
		return res
	}
	res := send("evt_big_vip", 12000, `["seg_vip"]`)
	if res.Status != workflows.StatusDelivered || len(res.Deliveries) != 3 || len(res.Skipped) != 1 || res.Skipped[0].DistributionID != ids["Paused orders"] {
		t.Errorf("big vip order: %+v", res)
	}
	res = send("evt_small", 500, `[]`)
	if len(res.Deliveries) != 1 || res.Deliveries[0].DistributionID != ids["Own secret"] {
		t.Errorf("small order: %+v", res)
	}
	counts := func() string {
		return fmt.Sprint(len(big.requests()), len(vip.requests()), len(segment.requests()), len(paused.requests()), len(own.requests()))
	}
	if got := counts(); got != "1 1 0 0 2" {
		t.Errorf("deliveries big vip segment paused own = %s, want 1 1 0 0 2", got)
	}

	// The own secret signs, the secret header arrives, and neither is in history.
	r := own.requests()[0]
	wh, _ := standardwebhooks.NewWebhook(ownSecret)
	if err := wh.Verify(r.body, r.header); err != nil || r.header.Get("x-voucherify-signature") != payloads.VoucherifySignature(ownSecret, r.body) {
		t.Errorf("own secret does not verify: %v", err)
	}
	if r.header.Get("x-api-key") != "k3y-s3cr3t" || r.header.Get("x-tenant") != "acme" {
		t.Errorf("custom headers: %v", r.header)
	}
	// The proto bytes, where payloads are as stored (JSON would base64-encode them).
	raw, _, _ := rawHistory(t, c, "event/evt_big_vip")
	if hist := string(raw); !strings.Contains(hist, "acme") {
		t.Error("the history does not hold the distribution's plain header: the secret check below could not fail")
	} else if strings.Contains(hist, "k3y-s3cr3t") || strings.Contains(hist, strings.TrimPrefix(ownSecret, "whsec_")) || strings.Contains(hist, strings.TrimPrefix(d.secret, "whsec_")) {
		t.Error("a secret is in workflow history")
	}
	if shown := runCLI(t, d, "distributions", "get", ids["Own secret"], "-o", "yaml"); strings.Contains(shown, "k3y-s3cr3t") || strings.Contains(shown, ownSecret) || !strings.Contains(shown, "has_secret: true") {
		t.Errorf("get -o yaml shows a secret:\n%s", shown)
	}

	// Resume the paused one: the next event reaches it.
	runCLI(t, d, "distributions", "resume", ids["Paused orders"])
	send("evt_after_resume", 100, `[]`)
	if got := len(paused.requests()); got != 1 {
		t.Errorf("resumed distribution got %d deliveries", got)
	}

	// What get -o yaml prints, applied again, changes nothing; a changed field is named.
	shown := runCLI(t, d, "distributions", "get", ids["Big orders"], "-o", "yaml")
	if err := os.WriteFile(file, []byte(shown), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := runCLI(t, d, "distributions", "apply", "-f", file); !strings.HasPrefix(out, "unchanged "+ids["Big orders"]) {
		t.Errorf("re-apply of get -o yaml: %s", out)
	}
	if err := os.WriteFile(file, []byte(strings.Replace(shown, "data.order.amount >= 10000", "data.order.amount >= 50000", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := runCLI(t, d, "distributions", "apply", "-f", file, "--dry-run"); !strings.Contains(out, "would update "+ids["Big orders"]) || !strings.Contains(out, "trigger.filter") {
		t.Errorf("dry run of a change: %s", out)
	}
	if out := runCLI(t, d, "distributions", "apply", "-f", file); !strings.Contains(out, "version 2") {
		t.Errorf("apply of a change: %s", out)
	}
	send("evt_big_again", 12000, `[]`)
	if got := len(big.requests()); got != 1 {
		t.Errorf("the updated filter still matched: %d deliveries", got)
	}

	// Bad files change nothing.
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("name: ok\ntrigger: {events: [customer.order.paid]}\nwebhook: {event_name: e, url: 'http://127.0.0.1:1/'}\n---\ntrigger: {}\n"), 0o600)
	if err := runCLIErr(t, d, "distributions", "apply", "-f", bad); err == nil || !strings.Contains(err.Error(), "document 2 (no name): name: ") {
		t.Errorf("apply of a file with a nameless document: %v", err)
	}
	var l struct {
		Total int `json:"total"`
	}
	_, body := call(t, "GET", d.api+"/v1/distributions", nil)
	json.Unmarshal(body, &l)
	if l.Total != 5 {
		t.Errorf("%d distributions after a refused apply, want 5", l.Total)
	}
}

// TestDevProjectWebhook subscribes a project webhook, delivers a project event to it, and
// disables it after its retries run out.
func TestDevProjectWebhook(t *testing.T) {
	if testing.Short() {
		t.Skip("starts hookflow dev")
	}
	d := startDev(t, t.TempDir(), nil)
	c := d.client(t)
	recv := newReceiver(t)
	out := runCLI(t, d, "webhooks", "create", "--url", recv.URL, "--events", "voucher.created,voucher.published", "-o", "json")
	var hook struct {
		ID     string `json:"id"`
		Active bool   `json:"active"`
	}
	mustJSON(t, []byte(out), &hook)
	if !strings.HasPrefix(hook.ID, "wh_") || !hook.Active {
		t.Fatalf("created %s", out)
	}
	status, body := call(t, "POST", d.api+"/v1/events", `{"id":"evt_voucher_1","type":"voucher.created","data":{"voucher":{"code":"SPRING"}}}`)
	if status != 202 {
		t.Fatalf("%d %s", status, body)
	}
	got := recv.waitRequests(t, 1, 30*time.Second)[0]
	var env struct {
		Type   string `json:"type"`
		Data   map[string]json.RawMessage
		Source struct {
			ID, Object string
		} `json:"source"`
	}
	mustJSON(t, got.body, &env)
	if env.Type != "voucher.created" || env.Source.ID != hook.ID || env.Source.Object != "webhook" || string(env.Data["voucher"]) != `{"code":"SPRING"}` {
		t.Errorf("envelope %s", got.body)
	}

	// Now the receiver fails for good, on a short schedule.
	recv.setCodes(503)
	var full map[string]any
	_, body = call(t, "GET", d.api+"/v1/webhooks/"+hook.ID, nil)
	mustJSON(t, body, &full)
	full["retry_schedule"] = []string{"200ms", "200ms"}
	if status, body := call(t, "PUT", d.api+"/v1/webhooks/"+hook.ID, full); status != 200 {
		t.Fatalf("put: %d %s", status, body)
	}
	call(t, "POST", d.api+"/v1/events", `{"id":"evt_voucher_2","type":"voucher.published","data":{"voucher":{"code":"SUMMER"}}}`)
	var res workflows.DeliveryResult
	waitWorkflow(t, c, "event/evt_voucher_2", 30*time.Second, &res)
	if res.Status != workflows.StatusFailed || res.Deliveries[0].Attempts != 3 || res.Deliveries[0].Reason != workflows.ReasonExhausted {
		t.Errorf("result %+v", res)
	}
	if out := runCLI(t, d, "webhooks", "get", hook.ID, "-o", "json"); !strings.Contains(out, `"active": false`) {
		t.Errorf("webhook after exhaustion:\n%s", out)
	}
	if out := runCLI(t, d, "notifications", "list"); !strings.Contains(out, "evt_voucher_2") {
		t.Errorf("no notification:\n%s", out)
	}
	// Disabled, it takes nothing: the next event is skipped.
	call(t, "POST", d.api+"/v1/events", `{"id":"evt_voucher_3","type":"voucher.created","data":{"voucher":{"code":"X"}}}`)
	waitWorkflow(t, c, "event/evt_voucher_3", 30*time.Second, &res)
	if res.Status != workflows.StatusSkipped || len(recv.requests()) != 4 {
		t.Errorf("event for a disabled webhook: %+v, %d requests", res, len(recv.requests()))
	}
	runCLI(t, d, "webhooks", "update", hook.ID, "--active")
	recv.setCodes(200)
	call(t, "POST", d.api+"/v1/events", `{"id":"evt_voucher_4","type":"voucher.created","data":{"voucher":{"code":"Y"}}}`)
	waitWorkflow(t, c, "event/evt_voucher_4", 30*time.Second, &res)
	if res.Status != workflows.StatusDelivered {
		t.Errorf("after enabling again: %+v", res)
	}
}

// TestDevOnPostgres runs `hookflow dev` with its store on this machine's PostgreSQL
// (HOOKFLOW_TEST_POSTGRES_DSN, set by CI) and delivers an event through it.
func TestDevOnPostgres(t *testing.T) {
	storeURL := postgresStoreURL(t, "hookflow_e2e")
	d := startDev(t, t.TempDir(), nil, "--database-url", storeURL)
	if !strings.Contains(d.output.String(), "Store           postgres://") {
		t.Errorf("banner does not show the PostgreSQL store:\n%s", d.output)
	}
	recv := newReceiver(t)
	distr := createDistribution(t, d, recv.URL, nil)
	h := sendEvent(t, d, "evt_on_postgres")
	var res workflows.DeliveryResult
	waitWorkflow(t, d.client(t), h.WorkflowID, 30*time.Second, &res)
	if res.Status != workflows.StatusDelivered || len(recv.requests()) != 1 || res.Deliveries[0].DistributionID != distr.ID {
		t.Errorf("result %+v, %d requests", res, len(recv.requests()))
	}
	var n int
	db, _ := sql.Open("pgx", storeURL)
	defer db.Close()
	if err := db.QueryRow(`SELECT count(*) FROM distributions`).Scan(&n); err != nil || n != 1 {
		t.Errorf("distributions in PostgreSQL: %d %v", n, err)
	}
}

// TestDevSecretRotation rotates the signing secret: deliveries carry two signatures that
// verify with the old and the new secret while the old one's overlap lasts, and a secret
// whose overlap has passed signs no more. No race with the clock: the overlap that is
// checked lasts an hour, and the one that is checked to end is waited out before the event
// is sent.
func TestDevSecretRotation(t *testing.T) {
	if testing.Short() {
		t.Skip("starts hookflow dev")
	}
	d := startDev(t, t.TempDir(), nil)
	c := d.client(t)
	recv := newReceiver(t)
	createDistribution(t, d, recv.URL, nil)
	first := d.secret
	type rotation struct {
		Current  string `json:"current"`
		Previous []struct {
			ExpiresAt time.Time `json:"expires_at"`
		} `json:"previous"`
	}
	rotate := func(expire string, previous int, hidden ...string) rotation {
		t.Helper()
		out := runCLI(t, d, "secrets", "rotate", "--expire", expire, "-o", "json")
		var r rotation
		mustJSON(t, []byte(out), &r)
		if !strings.HasPrefix(r.Current, "whsec_") || len(r.Previous) != previous {
			t.Fatalf("rotate --expire %s: %s, want a new whsec_ secret and %d previous", expire, out, previous)
		}
		for _, old := range hidden {
			if r.Current == old || strings.Contains(out, old) {
				t.Fatalf("rotate --expire %s shows a previous secret's value: %s", expire, out)
			}
		}
		return r
	}
	// deliver sends an event and returns what the receiver got for it.
	deliver := func(id string) receivedRequest {
		t.Helper()
		var res workflows.DeliveryResult
		waitWorkflow(t, c, sendEvent(t, d, id).WorkflowID, 30*time.Second, &res)
		got := recv.requests()
		return got[len(got)-1]
	}
	verifies := func(secret string, got receivedRequest) bool {
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			t.Fatal(err)
		}
		return wh.Verify(got.body, got.header) == nil
	}

	// An hour's overlap: the first secret signs beside the second.
	second := rotate("1h", 1, first).Current
	got := deliver("evt_during_overlap")
	if sigs := strings.Fields(got.header.Get("webhook-signature")); len(sigs) != 2 {
		t.Errorf("during the overlap: webhook-signature %q, want two", got.header.Get("webhook-signature"))
	}
	for name, secret := range map[string]string{"new": second, "old": first} {
		if !verifies(secret, got) {
			t.Errorf("the %s secret does not verify during the overlap", name)
		}
	}
	if got.header.Get("x-voucherify-signature") != payloads.VoucherifySignature(second, got.body) {
		t.Error("x-voucherify-signature is not the new secret's")
	}

	// A second rotation with a two-second overlap, waited out: the second secret signs no
	// more, the first (still in its hour) and the third do.
	r := rotate("2s", 2, first, second)
	third := r.Current
	ends := r.Previous[0].ExpiresAt
	for _, p := range r.Previous {
		if p.ExpiresAt.Before(ends) {
			ends = p.ExpiresAt
		}
	}
	time.Sleep(time.Until(ends) + 100*time.Millisecond)
	got = deliver("evt_after_expiry")
	if sigs := strings.Fields(got.header.Get("webhook-signature")); len(sigs) != 2 {
		t.Errorf("after the second overlap: webhook-signature %q, want two (the third secret's and the first's)", got.header.Get("webhook-signature"))
	}
	if verifies(second, got) {
		t.Error("the second secret still verifies after its overlap ended")
	}
	if !verifies(third, got) || !verifies(first, got) {
		t.Errorf("after the second overlap: the third secret verifies %v, the first (within its hour) %v; want both",
			verifies(third, got), verifies(first, got))
	}
	if got.header.Get("x-voucherify-signature") != payloads.VoucherifySignature(third, got.body) {
		t.Error("x-voucherify-signature is not the newest secret's")
	}
	out := runCLI(t, d, "secrets", "show", "-o", "json")
	var shown rotation
	mustJSON(t, []byte(out), &shown)
	if shown.Current != third || len(shown.Previous) != 1 || strings.Contains(out, first) || strings.Contains(out, second) {
		t.Errorf("secrets show after the second overlap: %s, want the third secret and one previous (without its value)", out)
	}
	if err := runCLIErr(t, d, "secrets", "rotate", "--expire", "9999h"); err == nil || !strings.Contains(err.Error(), "--expire: ") {
		t.Errorf("a too long overlap: %v", err)
	}
}
