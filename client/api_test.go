package client_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hookflow/hookflow/api"
	"github.com/hookflow/hookflow/client"
	"github.com/hookflow/hookflow/store"
)

// The client against the real API handler on a real SQLite store: the routes that need no
// Temporal. e2e/client_test.go runs it against `hookflow dev`, events and deliveries too.

// lossyAPI serves the API and, while lose is set, loses the answer of the first POST under
// each Idempotency-Key: the API does the work, and the connection is closed before the
// answer is sent, as a timeout does to a client. It counts the POSTs under each key.
type lossyAPI struct {
	next http.Handler
	mu   sync.Mutex
	lose bool
	keys map[string]int
}

func (l *lossyAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		l.next.ServeHTTP(w, r)
		return
	}
	key := r.Header.Get(client.IdempotencyHeader)
	answer := httptest.NewRecorder()
	l.next.ServeHTTP(answer, r)
	l.mu.Lock()
	l.keys[key]++
	lose := l.lose && key != "" && l.keys[key] == 1
	l.mu.Unlock()
	if lose {
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

// newAPI serves the API on a SQLite store of the test's own, behind a lossyAPI, and
// returns a client of it.
func newAPI(t *testing.T) (*client.Client, *store.SQLite, *lossyAPI) {
	t.Helper()
	st, err := store.OpenSQLite(filepath.Join(t.TempDir(), "hookflow.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	lossy := &lossyAPI{next: (&api.Server{Store: st}).Handler(), keys: map[string]int{}}
	srv := httptest.NewServer(lossy)
	t.Cleanup(srv.Close)
	return newTestClient(t, srv), st, lossy
}

// TestConstantsAsTheAPI: the client's copies of the API's limits and header name are the
// API's.
func TestConstantsAsTheAPI(t *testing.T) {
	if client.IdempotencyHeader != api.IdempotencyHeader || client.MaxIdempotencyKeyLength != api.MaxIdempotencyKeyLength ||
		client.MaxPageLimit != api.MaxPageLimit {
		t.Errorf("client %q %d %d; the API %q %d %d", client.IdempotencyHeader, client.MaxIdempotencyKeyLength, client.MaxPageLimit,
			api.IdempotencyHeader, api.MaxIdempotencyKeyLength, api.MaxPageLimit)
	}
}

func paidOrders(name, url string) client.Distribution {
	return client.Distribution{
		Name:    name,
		Labels:  map[string]string{"team": "shop"},
		Trigger: client.Trigger{Events: []string{"customer.order.paid"}},
		Action:  client.Action{Type: "plain_message"},
		Webhook: client.DistributionWebhook{EventName: "Order-paid", URL: url, Timeout: "5s",
			RetrySchedule: &client.RetrySchedule{Intervals: []string{"1m", "5m"}},
			Headers:       []client.Header{{Name: "x-token", Value: "s3cret", Secret: true}}},
	}
}

// TestDistributionsThroughAPI: create, list across pages (one page at a time and with the
// iterator), get, update (and a stale update refused), pause, resume and delete; the
// answers decode into the client's types with every field the client sent.
func TestDistributionsThroughAPI(t *testing.T) {
	c, _, _ := newAPI(t)
	ctx := t.Context()
	var made []string
	for i := range 5 {
		d, err := c.CreateDistribution(ctx, paidOrders(fmt.Sprintf("Paid %d", i), "https://example.com/paid"))
		if err != nil {
			t.Fatal(err)
		}
		if d.ID == "" || d.Version != 1 || d.Status != "live" || d.CreatedAt.IsZero() || d.Webhook.Timeout != "5s" ||
			d.Webhook.RetrySchedule == nil || fmt.Sprint(d.Webhook.RetrySchedule.Intervals) != "[1m0s 5m0s]" ||
			len(d.Webhook.Headers) != 1 || d.Webhook.Headers[0].Value != "" || !d.Webhook.Headers[0].Secret || d.Labels["team"] != "shop" {
			t.Fatalf("created %+v", d)
		}
		made = append(made, d.ID)
	}

	// A page at a time, by hand.
	var listed []string
	pages := 0
	f := client.DistributionFilter{Labels: map[string]string{"team": "shop"}, Limit: 2}
	for {
		page, err := c.ListDistributions(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if page.Total != len(page.Data) || len(page.Data) > 2 {
			t.Errorf("page %+v", page)
		}
		for _, d := range page.Data {
			listed = append(listed, d.ID)
		}
		if !page.HasMore {
			break
		}
		f.PageToken = page.NextPageToken
	}
	// With the iterator.
	var iterated []string
	for d, err := range c.AllDistributions(ctx, client.DistributionFilter{Limit: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		iterated = append(iterated, d.ID)
	}
	slices.Sort(made)
	for name, got := range map[string][]string{"by page": listed, "iterated": iterated} {
		sorted := slices.Sorted(slices.Values(got))
		if !slices.Equal(sorted, made) {
			t.Errorf("%s: %v; want each of %v once", name, got, made)
		}
	}
	if pages != 3 {
		t.Errorf("%d pages of 2 for 5 distributions; want 3", pages)
	}
	if none, err := c.ListDistributions(ctx, client.DistributionFilter{Labels: map[string]string{"team": "other"}}); err != nil || len(none.Data) != 0 || none.HasMore {
		t.Errorf("another label: %+v, %v", none, err)
	}

	d, err := c.GetDistribution(ctx, made[0])
	if err != nil {
		t.Fatal(err)
	}
	d.Name = "Renamed"
	updated, err := c.UpdateDistribution(ctx, *d)
	if err != nil {
		t.Fatal(err)
	}
	if updated.Name != "Renamed" || updated.Version != 2 {
		t.Errorf("updated %+v", updated)
	}
	// d names version 1: someone changed it since.
	d.Name = "Stale"
	_, err = c.UpdateDistribution(ctx, *d)
	var ae *client.Error
	if !errors.As(err, &ae) || ae.StatusCode != 409 || ae.Type != "conflict" {
		t.Errorf("a stale update: %v; want 409 conflict", err)
	}

	if p, err := c.PauseDistribution(ctx, made[0]); err != nil || p.Status != "paused" {
		t.Errorf("pause: %+v, %v", p, err)
	}
	if r, err := c.ResumeDistribution(ctx, made[0]); err != nil || r.Status != "live" {
		t.Errorf("resume: %+v, %v", r, err)
	}
	if err := c.DeleteDistribution(ctx, made[0]); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetDistribution(ctx, made[0])
	if !errors.As(err, &ae) || ae.StatusCode != 404 || ae.Type != "not_found" || ae.Field != "id" {
		t.Errorf("get after delete: %v; want 404 not_found naming id", err)
	}
}

// TestFieldProblemsThroughAPI: an invalid distribution is refused with every problem by
// field; a malformed query with the parameter named.
func TestFieldProblemsThroughAPI(t *testing.T) {
	c, _, _ := newAPI(t)
	ctx := t.Context()
	bad := paidOrders("", "ftp://example.com/x")
	bad.Trigger.Events = nil
	_, err := c.CreateDistribution(ctx, bad)
	var ae *client.Error
	if !errors.As(err, &ae) || ae.StatusCode != 422 || ae.Type != "validation_error" {
		t.Fatalf("err %v; want 422 validation_error", err)
	}
	fields := map[string]bool{}
	for _, p := range ae.FieldProblems() {
		fields[p.Field] = p.Message != ""
	}
	for _, want := range []string{"name", "trigger.events", "webhook.url"} {
		if !fields[want] {
			t.Errorf("problems %+v; want one about %s", ae.Problems, want)
		}
	}

	huge := paidOrders(strings.Repeat("n", api.MaxDistributionBytes), "https://example.com/x")
	_, err = c.CreateDistribution(ctx, huge)
	if !errors.As(err, &ae) || ae.StatusCode != 413 || ae.Type != "too_large" {
		t.Errorf("a distribution over %d bytes: %v; want 413 too_large", api.MaxDistributionBytes, err)
	}
	hostile := paidOrders("<script>alert(1)</script> & ü", "https://example.com/x?a=<b>&c=d")
	made, err := c.CreateDistribution(ctx, hostile)
	if err != nil || made.Name != hostile.Name || made.Webhook.URL != hostile.Webhook.URL {
		t.Errorf("a distribution with markup in its name and URL: %+v, %v; want it stored as sent", made, err)
	}
	_, err = c.CreateDistribution(ctx, paidOrders("nul \u0000 and\nnewline", "https://example.com/x"))
	if !errors.As(err, &ae) || ae.StatusCode != 422 || ae.Field != "name" {
		t.Errorf("a name with control characters: %v; want 422 naming name", err)
	}

	_, err = c.ListDistributions(ctx, client.DistributionFilter{Limit: client.MaxPageLimit + 1})
	if !errors.As(err, &ae) || ae.StatusCode != 400 || ae.Field != "limit" {
		t.Errorf("limit %d: %v; want 400 naming limit", client.MaxPageLimit+1, err)
	}
	_, err = c.ListWebhooks(ctx, client.ListOptions{PageToken: "not-a-token-of-this-list"})
	if !errors.As(err, &ae) || ae.StatusCode != 400 || ae.Field != "page_token" {
		t.Errorf("a foreign page token: %v; want 400 naming page_token", err)
	}
}

// TestIdempotentCreateThroughAPI: the same create sent twice under one key answers the
// same and makes one distribution; another body under the key is refused naming the
// header; a create whose first answer is lost is sent again under its key and answered,
// the distribution made once.
func TestIdempotentCreateThroughAPI(t *testing.T) {
	c, st, lossy := newAPI(t)
	ctx := t.Context()
	first, err := c.CreateDistribution(ctx, paidOrders("Keyed", "https://example.com/k"), client.WithIdempotencyKey("deploy-42"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.CreateDistribution(ctx, paidOrders("Keyed", "https://example.com/k"), client.WithIdempotencyKey("deploy-42"))
	if err != nil || again.ID != first.ID || !again.CreatedAt.Equal(first.CreatedAt) {
		t.Errorf("the same key again: %+v, %v; want the first answer %+v", again, err, first)
	}
	_, err = c.CreateDistribution(ctx, paidOrders("Other", "https://example.com/k"), client.WithIdempotencyKey("deploy-42"))
	var ae *client.Error
	if !errors.As(err, &ae) || ae.StatusCode != 422 || ae.Field != client.IdempotencyHeader {
		t.Errorf("another body under the key: %v; want 422 naming %s", err, client.IdempotencyHeader)
	}

	lossy.mu.Lock()
	lossy.lose = true
	lossy.mu.Unlock()
	lost, err := c.CreateDistribution(ctx, paidOrders("Lost", "https://example.com/lost"))
	if err != nil {
		t.Fatalf("a create whose first answer was lost: %v", err)
	}
	hook, err := c.CreateWebhook(ctx, client.Webhook{URL: "https://example.com/wh", Events: []string{"voucher.created"}})
	if err != nil {
		t.Fatalf("a webhook whose first answer was lost: %v", err)
	}
	lossy.mu.Lock()
	for key, n := range lossy.keys {
		if key != "deploy-42" && n != 2 {
			t.Errorf("%d POSTs under %s; want 2 (the first answer lost)", n, key)
		}
	}
	if len(lossy.keys) != 3 {
		t.Errorf("POSTs under the keys %v; want deploy-42 and one key for each lost answer", lossy.keys)
	}
	lossy.mu.Unlock()
	ds, err := st.ListDistributions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]int{}
	for _, d := range ds {
		names[d.Name]++
	}
	if names["Keyed"] != 1 || names["Lost"] != 1 || len(ds) != 2 || ds[0].ID != first.ID && ds[1].ID != first.ID {
		t.Errorf("stored %v (lost answer's id %s); want Keyed and Lost once each", names, lost.ID)
	}
	if hooks, err := st.ListWebhooks(ctx); err != nil || len(hooks) != 1 || hooks[0].ID != hook.ID {
		t.Errorf("webhooks stored: %d, %v; want the one answered", len(hooks), err)
	}
}

// TestWebhooksAndKeysThroughAPI: project webhooks (create, get, list, update, delete)
// and API keys (create, list, revoke), and the empty notifications list.
func TestWebhooksAndKeysThroughAPI(t *testing.T) {
	c, _, _ := newAPI(t)
	ctx := t.Context()
	w, err := c.CreateWebhook(ctx, client.Webhook{URL: "https://example.com/wh", Events: []string{"voucher.created"}, Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})
	if err != nil {
		t.Fatal(err)
	}
	if w.ID == "" || w.Active == nil || !*w.Active || w.Revision != 1 || !w.HasSecret || w.Secret != "" {
		t.Errorf("created %+v", w)
	}
	got, err := c.GetWebhook(ctx, w.ID)
	if err != nil || got.URL != w.URL {
		t.Fatalf("get: %+v, %v", got, err)
	}
	off := false
	got.Active, got.Description = &off, "paused for the migration"
	up, err := c.UpdateWebhook(ctx, *got)
	if err != nil || *up.Active || up.Revision != 2 || !up.HasSecret {
		t.Errorf("update: %+v, %v", up, err)
	}
	var n int
	for h, err := range c.AllWebhooks(ctx, client.ListOptions{Limit: 1}) {
		if err != nil || h.ID != w.ID {
			t.Errorf("listed %+v, %v", h, err)
		}
		n++
	}
	if n != 1 {
		t.Errorf("%d webhooks listed; want 1", n)
	}
	if err := c.DeleteWebhook(ctx, w.ID); err != nil {
		t.Fatal(err)
	}

	k, err := c.CreateKey(ctx, client.NewKey{Name: "admin", Scopes: []string{"manage"}})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := c.CreateKey(ctx, client.NewKey{Name: "shop", Scopes: []string{"events"}})
	if err != nil {
		t.Fatal(err)
	}
	if k.Key == "" || k.ID == "" || k.Prefix == "" || k.LastUsedAt != nil {
		t.Errorf("created key %+v", k)
	}
	keys, err := c.ListKeys(ctx, client.ListOptions{})
	if err != nil || len(keys.Data) != 2 {
		t.Fatalf("keys %+v, %v", keys, err)
	}
	if err := c.RevokeKey(ctx, ev.ID); err != nil {
		t.Fatal(err)
	}
	err = c.RevokeKey(ctx, k.ID)
	var ae *client.Error
	if !errors.As(err, &ae) || ae.StatusCode != 409 {
		t.Errorf("revoking the last manage key: %v; want 409", err)
	}
	_, err = c.CreateKey(ctx, client.NewKey{Name: "bad", Scopes: []string{"everything"}})
	if !errors.As(err, &ae) || ae.StatusCode/100 != 4 || len(ae.FieldProblems()) == 0 {
		t.Errorf("an unknown scope: %v; want a 4xx naming the field", err)
	}

	ns, err := c.ListNotifications(ctx, client.NotificationFilter{Unread: true})
	if err != nil || ns.Object != "list" || len(ns.Data) != 0 {
		t.Errorf("notifications %+v, %v", ns, err)
	}
}
