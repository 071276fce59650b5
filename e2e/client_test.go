package e2e

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow/client"
	"github.com/hookflow/hookflow/payloads"
)

// losingProxy passes requests to the API and loses the answer of the first POST under
// each Idempotency-Key: the API does the work, then the connection is closed before the
// answer reaches the client, as a timeout or a dropped connection does.
type losingProxy struct {
	next http.Handler
	mu   sync.Mutex
	keys map[string]int // POSTs under each key
}

func (p *losingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get(client.IdempotencyHeader)
	if r.Method != http.MethodPost || key == "" {
		p.next.ServeHTTP(w, r)
		return
	}
	answer := httptest.NewRecorder()
	p.next.ServeHTTP(answer, r)
	p.mu.Lock()
	p.keys[key]++
	first := p.keys[key] == 1
	p.mu.Unlock()
	if first {
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			conn.Close()
		}
		return
	}
	for k, v := range answer.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(answer.Code)
	_, _ = w.Write(answer.Body.Bytes())
}

// TestGoClient: the Go client (package client) against a running `hookflow dev`, through a
// proxy that loses the first answer of every creating POST, so that every create, send,
// retry and message is also a resend under its key: distributions created (the same key
// twice answers the same), listed across pages, got, updated, paused, resumed, deleted; an
// event sent and its delivery read back from Temporal, delivered once; a skipped delivery
// retried; a message scheduled, read, listed and canceled; refusals with their fields.
func TestGoClient(t *testing.T) {
	if testing.Short() {
		t.Skip("starts hookflow dev")
	}
	d := startDev(t, t.TempDir(), nil)
	recv := newReceiver(t)
	target, err := url.Parse(d.api)
	if err != nil {
		t.Fatal(err)
	}
	proxy := &losingProxy{next: httputil.NewSingleHostReverseProxy(target), keys: map[string]int{}}
	front := httptest.NewServer(proxy)
	defer front.Close()
	c, err := client.New(front.URL, client.WithRetryWait(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()

	orders := client.Distribution{
		Name:    "Paid orders",
		Trigger: client.Trigger{Events: []string{"customer.order.paid"}},
		Action:  client.Action{Type: "plain_message"},
		Webhook: client.DistributionWebhook{EventName: "Order-paid", URL: recv.URL + "/hooks"},
	}
	distr, err := c.CreateDistribution(ctx, orders, client.WithIdempotencyKey("e2e-client-orders"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.CreateDistribution(ctx, orders, client.WithIdempotencyKey("e2e-client-orders"))
	if err != nil || again.ID != distr.ID || again.Version != 1 {
		t.Errorf("the same create under its key again: %+v, %v; want %s as first answered", again, err, distr.ID)
	}
	manual := orders
	manual.Name, manual.Trigger.Events = "Manual", []string{payloads.ManualEventType}
	manual.Action = client.Action{Type: "notify_promotion", Campaign: json.RawMessage(`{"id":"camp_1"}`), PromotionTier: json.RawMessage(`{"id":"promo_1"}`)}
	manualDistr, err := c.CreateDistribution(ctx, manual)
	if err != nil {
		t.Fatal(err)
	}
	var drafts []string
	for _, name := range []string{"Draft a", "Draft b", "Draft c"} {
		draft := orders
		draft.Name, draft.Status = name, "draft"
		made, err := c.CreateDistribution(ctx, draft)
		if err != nil {
			t.Fatal(err)
		}
		drafts = append(drafts, made.ID)
	}

	// Five distributions, two a page: three pages.
	var listed []string
	for item, err := range c.AllDistributions(ctx, client.DistributionFilter{Limit: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		listed = append(listed, item.ID)
	}
	want := append([]string{distr.ID, manualDistr.ID}, drafts...)
	if !slices.Equal(slices.Sorted(slices.Values(listed)), slices.Sorted(slices.Values(want))) {
		t.Errorf("listed %v; want each of %v once", listed, want)
	}
	first, err := c.ListDistributions(ctx, client.DistributionFilter{Limit: 2})
	if err != nil || len(first.Data) != 2 || !first.HasMore || first.NextPageToken == "" {
		t.Errorf("the first page of 2: %+v, %v", first, err)
	}

	got, err := c.GetDistribution(ctx, drafts[0])
	if err != nil {
		t.Fatal(err)
	}
	got.Name = "Draft a, renamed"
	if up, err := c.UpdateDistribution(ctx, *got); err != nil || up.Name != got.Name || up.Version != 2 {
		t.Errorf("update: %+v, %v", up, err)
	}
	if err := c.DeleteDistribution(ctx, drafts[1]); err != nil {
		t.Fatal(err)
	}
	var ae *client.Error
	if _, err := c.GetDistribution(ctx, drafts[1]); !errors.As(err, &ae) || ae.StatusCode != 404 || ae.Field != "id" {
		t.Errorf("get after delete: %v; want 404 naming id", err)
	}

	// An event, sent (its first answer lost, so sent twice), delivered once.
	event := client.Event{ID: "evt_client_1", Type: "customer.order.paid",
		Data: map[string]any{"customer": map[string]any{"id": "cust_1"}, "order": map[string]any{"id": "ord_1", "amount": 4200}}}
	run, err := c.SendEvent(ctx, event)
	if err != nil {
		t.Fatal(err)
	}
	if run.ID != event.ID || run.WorkflowID != "event/"+event.ID || run.RunID == "" {
		t.Errorf("sent: %+v", run)
	}
	deliveryID := payloads.DeliveryID(event.ID, distr.ID)
	delivery := waitDelivery(t, c, deliveryID, "delivered")
	if len(delivery.Attempts) != 1 || delivery.Attempts[0].StatusCode != 200 || delivery.DistributionID != distr.ID || delivery.EventType != event.Type {
		t.Errorf("the delivery: %+v", delivery)
	}
	var summary *client.EventSummary
	for deadline := time.Now().Add(15 * time.Second); summary == nil && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		for ev, err := range c.AllDeliveries(ctx, client.DeliveryFilter{Event: event.ID}) {
			if err != nil {
				t.Fatal(err)
			}
			summary = &ev
		}
	}
	if summary == nil || summary.WorkflowID != run.WorkflowID || !slices.Contains(summary.Deliveries, deliveryID) {
		t.Errorf("the delivery log's event: %+v; want %s with %s", summary, run.WorkflowID, deliveryID)
	}

	// Paused, an event is skipped; resumed, the delivery is retried and delivered.
	if p, err := c.PauseDistribution(ctx, distr.ID); err != nil || p.Status != "paused" {
		t.Fatalf("pause: %+v, %v", p, err)
	}
	skippedEvent := event
	skippedEvent.ID = "evt_client_2"
	if _, err := c.SendEvent(ctx, skippedEvent); err != nil {
		t.Fatal(err)
	}
	skippedID := payloads.DeliveryID(skippedEvent.ID, distr.ID)
	waitDelivery(t, c, skippedID, "skipped")
	if _, err := c.ResumeDistribution(ctx, distr.ID); err != nil {
		t.Fatal(err)
	}
	resent, err := c.RetryDelivery(ctx, skippedID)
	if err != nil {
		t.Fatal(err)
	}
	retried := waitDelivery(t, c, skippedID, "delivered")
	if len(retried.Runs) != 2 || !retried.Runs[1].Resend || retried.Runs[1].RunID != resent.RunID {
		t.Errorf("the retried delivery's runs: %+v; want the event's and the resend %+v", retried.Runs, resent)
	}
	if _, err := c.RetryDelivery(ctx, deliveryID); !errors.As(err, &ae) || ae.StatusCode != 409 {
		t.Errorf("retry of a delivered delivery: %v; want 409", err)
	}

	// A message, scheduled in an hour, then canceled.
	msg, err := c.CreateMessage(ctx, manualDistr.ID, client.MessageRequest{Delay: "1h", Customer: map[string]any{"id": "cust_2"}})
	if err != nil {
		t.Fatal(err)
	}
	if msg.ID == "" || msg.Status != "scheduled" || msg.Total != 1 || msg.Delay != "1h0m0s" {
		t.Errorf("message: %+v", msg)
	}
	if m, err := c.GetMessage(ctx, msg.ID); err != nil || m.ID != msg.ID {
		t.Errorf("get message: %+v, %v", m, err)
	}
	if l, err := c.ListMessages(ctx, client.ListOptions{Limit: 10}); err != nil || len(l.Data) != 1 || l.Data[0].ID != msg.ID {
		t.Errorf("messages: %+v, %v", l, err)
	}
	if m, err := c.CancelMessage(ctx, msg.ID); err != nil || m.Status != "canceled" || m.CanceledAt == nil {
		t.Errorf("cancel: %+v, %v", m, err)
	}

	// Refusals name their fields.
	_, err = c.SendEvent(ctx, client.Event{ID: "evt_client_bad"})
	if !errors.As(err, &ae) || ae.StatusCode != 400 || len(ae.FieldProblems()) == 0 || ae.FieldProblems()[0].Field != "type" {
		t.Errorf("an event without a type: %v; want 400 naming type", err)
	}
	_, err = c.CreateMessage(ctx, distr.ID, client.MessageRequest{Customer: map[string]any{"id": "c"}})
	if !errors.As(err, &ae) || ae.StatusCode/100 != 4 || len(ae.FieldProblems()) == 0 {
		t.Errorf("a message through a distribution of order events: %v; want a 4xx naming the field", err)
	}

	// Every creating POST went twice under one key (its first answer lost), and the work
	// was done once: one request to the receiver for each event.
	proxy.mu.Lock()
	for key, n := range proxy.keys {
		if n != 2 && key != "e2e-client-orders" {
			t.Errorf("%d POSTs under %s; want 2", n, key)
		}
	}
	// Five creates, two events, two retries, a message, two refusals; the key given
	// twice was sent three times (the first answer lost, then the create again).
	if len(proxy.keys) != 12 || proxy.keys["e2e-client-orders"] != 3 {
		t.Errorf("POSTs by key %v; want 12 keys, e2e-client-orders 3 times", proxy.keys)
	}
	proxy.mu.Unlock()
	time.Sleep(300 * time.Millisecond)
	ids := map[string]int{}
	for _, r := range recv.requests() {
		ids[r.header.Get("webhook-id")]++
	}
	if len(ids) != 2 || ids[deliveryID] != 1 || ids[skippedID] != 1 {
		t.Errorf("the receiver got %v; want %s and %s once each", ids, deliveryID, skippedID)
	}
}

// waitDelivery reads the delivery id until its status is status (30 s at most).
func waitDelivery(t *testing.T, c *client.Client, id, status string) *client.Delivery {
	t.Helper()
	var last *client.Delivery
	var err error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		last, err = c.GetDelivery(t.Context(), id)
		var ae *client.Error
		if errors.As(err, &ae) && ae.StatusCode == 404 {
			continue // not started yet
		}
		if err != nil {
			t.Fatalf("get delivery %s: %v", id, err)
		}
		if last.Status == status {
			return last
		}
	}
	t.Fatalf("delivery %s: %+v, %v; want it %s within 30s", id, last, err, status)
	return nil
}
