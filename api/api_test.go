package api

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow/deliverylog"
	"github.com/hookflow/hookflow/payloads"
	"github.com/hookflow/hookflow/starter"
	"github.com/hookflow/hookflow/store"
)

type fakeStarter struct {
	mu     sync.Mutex
	events []payloads.Event
	err    error
}

func (f *fakeStarter) Start(_ context.Context, ev payloads.Event) (starter.Handle, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return starter.Handle{}, f.err
	}
	f.events = append(f.events, ev)
	return starter.Handle{EventID: ev.ID, WorkflowID: "event/" + ev.ID, RunID: "run-1"}, nil
}

func newAPI(t *testing.T) (*httptest.Server, *fakeStarter, *store.SQLite) {
	t.Helper()
	st, err := store.OpenSQLite(filepath.Join(t.TempDir(), "hookflow.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	fs := &fakeStarter{}
	srv := httptest.NewServer((&Server{Store: st, Starter: fs}).Handler())
	t.Cleanup(srv.Close)
	return srv, fs, st
}

func do(t *testing.T, method, url, body string) (int, ErrorDetail, []byte) {
	t.Helper()
	return doWith(t, method, url, "", body)
}

// doWith is do with a content type (none when empty).
func doWith(t *testing.T, method, url, contentType, body string) (int, ErrorDetail, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("content-type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("content-type"); resp.StatusCode != http.StatusNoContent && ct != "application/json" {
		t.Errorf("%s %s: content-type %q", method, url, ct)
	}
	var eb ErrorBody
	if resp.StatusCode >= 400 {
		if err := json.Unmarshal(b, &eb); err != nil {
			t.Errorf("error body %s is not JSON: %v", b, err)
		}
	}
	return resp.StatusCode, eb.Error, b
}

func TestEvents(t *testing.T) {
	srv, fs, _ := newAPI(t)
	nested := strings.Repeat(`{"x":`, 20000) + "1" + strings.Repeat("}", 20000)
	tests := []struct {
		name, body string
		status     int
		field      string
	}{
		{"valid", `{"id":"evt_1","type":"customer.order.paid","data":{"order":{"id":"o"}}}`, 202, ""},
		{"no id", `{"type":"customer.order.paid","data":{}}`, 202, ""},
		{"empty", ``, 400, ""},
		{"malformed", `{"type":"customer.order.paid","data":{`, 400, ""},
		{"missing type", `{"data":{}}`, 400, "type"},
		{"missing data", `{"type":"customer.order.paid"}`, 400, "data"},
		{"unknown type", `{"type":"customer.order.stolen","data":{}}`, 400, "type"},
		{"wrong field type", `{"type":"customer.order.paid","data":{},"entity_id":7}`, 400, "entity_id"},
		{"unknown field", `{"type":"customer.order.paid","data":{},"extra":true}`, 400, "extra"},
		{"deeply nested", `{"type":"customer.order.paid","data":{"order":` + nested + `}}`, 400, ""},
		{"invalid utf-8", "{\"type\":\"customer.order.paid\",\"data\":{\"order\":{\"n\":\"\xff\xfe\"}}}", 400, ""},
		{"huge number", `{"type":"customer.order.paid","data":{"order":{"n":1e999999}}}`, 202, ""},
		{"oversized", `{"type":"customer.order.paid","data":{"order":{"pad":"` + strings.Repeat("a", MaxEventBytes) + `"}}}`, 413, ""},
		{"path in id", `{"id":"../../etc","type":"customer.order.paid","data":{}}`, 400, "id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(fs.events)
			status, e, body := do(t, "POST", srv.URL+"/v1/events", tt.body)
			if status != tt.status || e.Field != tt.field {
				t.Fatalf("status %d field %q (%s), want %d field %q", status, e.Field, body, tt.status, tt.field)
			}
			started := len(fs.events) - before
			if (status == 202) != (started == 1) {
				t.Errorf("status %d but %d workflows started", status, started)
			}
			if status == 202 {
				var h starter.Handle
				if err := json.Unmarshal(body, &h); err != nil || h.EventID == "" || h.WorkflowID != "event/"+h.EventID {
					t.Errorf("handle %s: %v", body, err)
				}
			} else if e.Message == "" {
				t.Error("error without a message")
			}
		})
	}
	fs.err = errors.New("temporal is down")
	if status, e, _ := do(t, "POST", srv.URL+"/v1/events", `{"type":"customer.order.paid","data":{}}`); status != 503 || !strings.Contains(e.Message, "same id") {
		t.Errorf("starter down: %d %+v", status, e)
	}
}

const validDistribution = `{"name":"Paid orders","status":"live","trigger":{"events":["customer.order.paid"]},
"action":{"type":"plain_message"},"webhook":{"event_name":"Order-paid","url":"https://example.com/h","version":"v2024-01-01"}}`

func TestDistributions(t *testing.T) {
	srv, _, _ := newAPI(t)
	status, _, body := do(t, "POST", srv.URL+"/v1/distributions", validDistribution)
	if status != 201 {
		t.Fatalf("create: %d %s", status, body)
	}
	var created struct {
		ID        string    `json:"id"`
		CreatedAt time.Time `json:"created_at"`
	}
	if err := json.Unmarshal(body, &created); err != nil || !strings.HasPrefix(created.ID, "distr_") || created.CreatedAt.IsZero() {
		t.Fatalf("created %s", body)
	}
	if status, _, got := do(t, "GET", srv.URL+"/v1/distributions/"+created.ID, ""); status != 200 || string(got) != string(body) {
		t.Errorf("get: %d %s, want %s", status, got, body)
	}
	if status, _, got := do(t, "GET", srv.URL+"/v1/distributions", ""); status != 200 || !strings.Contains(string(got), `"total":1`) {
		t.Errorf("list: %d %s", status, got)
	}
	if status, _, _ := do(t, "DELETE", srv.URL+"/v1/distributions/"+created.ID, ""); status != 204 {
		t.Errorf("delete: %d", status)
	}
	for _, m := range []string{"GET", "DELETE"} {
		if status, e, _ := do(t, m, srv.URL+"/v1/distributions/"+created.ID, ""); status != 404 || e.Type != "not_found" {
			t.Errorf("%s after delete: %d %+v", m, status, e)
		}
	}
	if status, _, got := do(t, "GET", srv.URL+"/v1/distributions", ""); status != 200 || !strings.Contains(string(got), `"data":[]`) {
		t.Errorf("empty list: %d %s", status, got)
	}
}

func TestDistributionBadInput(t *testing.T) {
	srv, _, st := newAPI(t)
	tests := []struct {
		name, body string
		status     int
		fields     []string
	}{
		{"malformed", `{"name":`, 400, []string{""}},
		{"unknown field", `{"name":"n","colour":"red"}`, 400, []string{"colour"}},
		{"wrong type", `{"name":["n"]}`, 400, []string{"name"}},
		{"id given", strings.Replace(validDistribution, `{"name"`, `{"id":"distr_mine","name"`, 1), 400, []string{"id"}},
		{"every problem listed", `{"status":"on","trigger":{"events":["nope"]},"action":{"type":"send_cake"},"webhook":{"url":"ftp://x","version":"v9"}}`,
			422, []string{"name", "status", "trigger.events[0]", "action.type", "webhook.event_name", "webhook.url", "webhook.version"}},
		{"credentials in url", strings.Replace(validDistribution, "https://example.com/h", "https://u:p@example.com/h", 1), 422, []string{"webhook.url"}},
		{"bad schedule", strings.Replace(validDistribution, `"version"`, `"retry_schedule":"hourly","version"`, 1), 422, []string{"webhook.retry_schedule"}},
		{"oversized", `{"name":"` + strings.Repeat("n", MaxDistributionBytes) + `"}`, 413, []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, e, body := do(t, "POST", srv.URL+"/v1/distributions", tt.body)
			if status != tt.status {
				t.Fatalf("status %d (%s), want %d", status, body, tt.status)
			}
			var fields []string
			for _, p := range e.Problems {
				fields = append(fields, p.Field)
			}
			if len(e.Problems) == 0 {
				fields = []string{e.Field}
			}
			if strings.Join(fields, ",") != strings.Join(tt.fields, ",") {
				t.Errorf("fields %v, want %v (%s)", fields, tt.fields, body)
			}
		})
	}
	if ds, err := st.ListDistributions(context.Background()); err != nil || len(ds) != 0 {
		t.Errorf("bad input stored %d distributions: %v", len(ds), err)
	}
}

func TestNotificationsAndRoutes(t *testing.T) {
	srv, _, st := newAPI(t)
	ctx := context.Background()
	if _, _, err := st.AddNotification(ctx, store.Notification{ID: "ntf_1", DeliveryID: "whs_1", Message: "m", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if status, _, b := do(t, "GET", srv.URL+"/v1/notifications?unread=true", ""); status != 200 || !strings.Contains(string(b), `"total":1`) {
		t.Errorf("unread: %d %s", status, b)
	}
	if status, _, b := do(t, "POST", srv.URL+"/v1/notifications/ntf_1/read", ""); status != 200 || !strings.Contains(string(b), `"read_at":"`) {
		t.Errorf("read: %d %s", status, b)
	}
	if status, _, b := do(t, "GET", srv.URL+"/v1/notifications?unread=true", ""); status != 200 || !strings.Contains(string(b), `"total":0`) {
		t.Errorf("unread after read: %d %s", status, b)
	}
	if status, _, b := do(t, "GET", srv.URL+"/v1/notifications", ""); status != 200 || !strings.Contains(string(b), `"total":1`) {
		t.Errorf("all: %d %s", status, b)
	}
	if status, e, _ := do(t, "GET", srv.URL+"/v1/notifications?unread=maybe", ""); status != 400 || e.Field != "unread" {
		t.Errorf("unread=maybe: %d %+v", status, e)
	}
	if status, _, _ := do(t, "POST", srv.URL+"/v1/notifications/ntf_nope/read", ""); status != 404 {
		t.Errorf("read missing: %d", status)
	}
	if status, _, _ := do(t, "GET", srv.URL+"/v2/everything", ""); status != 404 {
		t.Errorf("unknown route: %d", status)
	}
	if status, _, _ := do(t, "PATCH", srv.URL+"/v1/events", ""); status != 405 && status != 404 {
		t.Errorf("wrong method: %d", status)
	}
}

func TestDistributionLifecycle(t *testing.T) {
	srv, _, st := newAPI(t)
	secret := payloads.NewSecret()
	withSecret := strings.Replace(validDistribution, `"version"`, `"secret":"`+secret+`","headers":[{"name":"x-api-key","value":"k3y","secret":true}],"version"`, 1)
	status, _, body := do(t, "POST", srv.URL+"/v1/distributions", withSecret)
	if status != 201 || strings.Contains(string(body), secret) || strings.Contains(string(body), "k3y") || !strings.Contains(string(body), `"has_secret":true`) {
		t.Fatalf("create: %d %s", status, body)
	}
	var d map[string]any
	_ = json.Unmarshal(body, &d)
	id := d["id"].(string)
	if d["version"].(float64) != 1 {
		t.Errorf("version %v", d["version"])
	}

	// Round-trip what was shown, with a new name: secrets stay.
	d["name"] = "Renamed"
	b, _ := json.Marshal(d)
	status, _, body = do(t, "PUT", srv.URL+"/v1/distributions/"+id, string(b))
	if status != 200 || !strings.Contains(string(body), `"version":2`) || !strings.Contains(string(body), "Renamed") {
		t.Fatalf("put: %d %s", status, body)
	}
	stored, _ := st.GetDistribution(context.Background(), id)
	if stored.Webhook.Secret != secret || stored.Webhook.Headers[0].Value != "k3y" {
		t.Errorf("update lost the secrets: %+v", stored.Webhook)
	}
	// The same body again names version 1: stale.
	if status, e, _ := do(t, "PUT", srv.URL+"/v1/distributions/"+id, string(b)); status != 409 || e.Field != "version" {
		t.Errorf("stale put: %d %+v", status, e)
	}
	delete(d, "version")
	b, _ = json.Marshal(d)
	if status, e, _ := do(t, "PUT", srv.URL+"/v1/distributions/"+id, string(b)); status != 400 || e.Field != "version" {
		t.Errorf("put without version: %d %+v", status, e)
	}
	d["version"], d["webhook"] = 2, map[string]any{"url": "gopher://x"}
	b, _ = json.Marshal(d)
	if status, e, _ := do(t, "PUT", srv.URL+"/v1/distributions/"+id, string(b)); status != 422 || len(e.Problems) == 0 {
		t.Errorf("invalid put: %d %+v", status, e)
	}
	if status, _, _ := do(t, "PUT", srv.URL+"/v1/distributions/distr_missing", `{"version":1}`); status != 422 && status != 404 {
		t.Errorf("put missing: %d", status)
	}

	status, _, body = do(t, "POST", srv.URL+"/v1/distributions/"+id+"/pause", "")
	if status != 200 || !strings.Contains(string(body), `"status":"paused"`) || !strings.Contains(string(body), `"version":3`) {
		t.Errorf("pause: %d %s", status, body)
	}
	status, _, body = do(t, "POST", srv.URL+"/v1/distributions/"+id+"/pause", "")
	if status != 200 || !strings.Contains(string(body), `"version":3`) {
		t.Errorf("pause again changed the version: %d %s", status, body)
	}
	status, _, body = do(t, "POST", srv.URL+"/v1/distributions/"+id+"/resume", "")
	if status != 200 || !strings.Contains(string(body), `"status":"live"`) || !strings.Contains(string(body), `"version":4`) {
		t.Errorf("resume: %d %s", status, body)
	}
	if status, _, _ := do(t, "POST", srv.URL+"/v1/distributions/distr_missing/pause", ""); status != 404 {
		t.Errorf("pause missing: %d", status)
	}
}

func TestWebhooks(t *testing.T) {
	srv, _, _ := newAPI(t)
	status, _, body := do(t, "POST", srv.URL+"/v1/webhooks", `{"url":"https://example.com/wh","events":["voucher.created","campaign.*"]}`)
	if status != 201 || !strings.Contains(string(body), `"active":true`) || !strings.Contains(string(body), `"id":"wh_`) {
		t.Fatalf("create: %d %s", status, body)
	}
	var hook map[string]any
	_ = json.Unmarshal(body, &hook)
	id := hook["id"].(string)
	hook["active"] = false
	b, _ := json.Marshal(hook)
	if status, _, body := do(t, "PUT", srv.URL+"/v1/webhooks/"+id, string(b)); status != 200 || !strings.Contains(string(body), `"active":false`) {
		t.Errorf("put: %d %s", status, body)
	}
	if status, _, _ := do(t, "PUT", srv.URL+"/v1/webhooks/"+id, string(b)); status != 409 {
		t.Errorf("stale put: %d", status)
	}
	if status, _, body := do(t, "GET", srv.URL+"/v1/webhooks", ""); status != 200 || !strings.Contains(string(body), `"total":1`) {
		t.Errorf("list: %d %s", status, body)
	}
	for _, bad := range []struct{ body, field string }{
		{`{"url":"https://example.com","events":["customer.order.paid"]}`, "events[0]"},
		{`{"url":"file:///etc/passwd","events":["voucher.created"]}`, "url"},
		{`{"url":"https://example.com","events":[]}`, "events"},
		{`{"url":"https://example.com","events":["voucher.created"],"headers":[{"name":"Host","value":"x"}]}`, "headers[0].name"},
		{`{"url":"https://example.com","events":["voucher.created"],"retry_schedule":"never"}`, "retry_schedule"},
	} {
		status, e, body := do(t, "POST", srv.URL+"/v1/webhooks", bad.body)
		found := false
		for _, p := range e.Problems {
			found = found || p.Field == bad.field
		}
		if status != 422 || !found {
			t.Errorf("%s: %d %s, want 422 naming %s", bad.body, status, body, bad.field)
		}
	}
	if status, _, _ := do(t, "DELETE", srv.URL+"/v1/webhooks/"+id, ""); status != 204 {
		t.Errorf("delete: %d", status)
	}
	if status, _, _ := do(t, "GET", srv.URL+"/v1/webhooks/"+id, ""); status != 404 {
		t.Errorf("get deleted: %d", status)
	}
}

type fakeLog struct {
	filters   []deliverylog.EventFilter
	recovered []string
}

func (f *fakeLog) Delivery(_ context.Context, id string) (deliverylog.Delivery, error) {
	if id == "whs_00000000000000000000000000000001" {
		return deliverylog.Delivery{ID: id, Status: "delivered", Attempts: []deliverylog.Attempt{{Number: 1, Outcome: "delivered", StatusCode: 200}}}, nil
	}
	return deliverylog.Delivery{}, fmt.Errorf("%w: no delivery %s", deliverylog.ErrNotFound, id)
}

// ListEvents answers an empty page that goes on, a last page for the token of "last", and
// refuses the token of "refused" as the visibility store would.
func (f *fakeLog) ListEvents(_ context.Context, filter deliverylog.EventFilter) (deliverylog.EventPage, error) {
	f.filters = append(f.filters, filter)
	switch filter.PageToken {
	case "":
		return deliverylog.EventPage{NextPageToken: pageToken("last")}, nil
	case pageToken("refused"):
		return deliverylog.EventPage{}, fmt.Errorf("%w: page_token: not a next_page_token of this list (bad token)", deliverylog.ErrInvalidFilter)
	}
	return deliverylog.EventPage{}, nil
}

// pageToken is the delivery log's page token for the visibility store's token s: s and the
// first 8 bytes of its SHA-256, in URL-safe base64 without padding.
func pageToken(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base64.RawURLEncoding.EncodeToString(append([]byte(s), sum[:8]...))
}

func (f *fakeLog) Resend(_ context.Context, id string) (deliverylog.Run, error) {
	switch id {
	case "whs_00000000000000000000000000000001":
		return deliverylog.Run{}, fmt.Errorf("%w: delivery %s is delivered", deliverylog.ErrNotResendable, id)
	case "whs_00000000000000000000000000000002":
		return deliverylog.Run{EventID: "evt_2", WorkflowID: "resend/" + id + "/1", RunID: "r"}, nil
	}
	return deliverylog.Run{}, deliverylog.ErrNotFound
}

func (f *fakeLog) Recover(_ context.Context, id string, since time.Time, limit int) ([]deliverylog.Recovered, error) {
	f.recovered = append(f.recovered, fmt.Sprint(id, " ", since.UTC().Format(time.RFC3339), " ", limit))
	return []deliverylog.Recovered{{DeliveryID: "whs_x", EventID: "evt_x", Resent: &deliverylog.Run{WorkflowID: "resend/whs_x/1"}}}, nil
}

func TestResendAndRecover(t *testing.T) {
	st, err := store.OpenSQLite(filepath.Join(t.TempDir(), "hookflow.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log := &fakeLog{}
	srv := httptest.NewServer((&Server{Store: st, Starter: &fakeStarter{}, Log: log}).Handler())
	defer srv.Close()
	if status, _, body := do(t, "POST", srv.URL+"/v1/deliveries/whs_00000000000000000000000000000002/retry", ""); status != 202 || !strings.Contains(string(body), "resend/") {
		t.Errorf("retry: %d %s", status, body)
	}
	if status, e, _ := do(t, "POST", srv.URL+"/v1/deliveries/whs_00000000000000000000000000000001/retry", ""); status != 409 || !strings.Contains(e.Message, "delivered") {
		t.Errorf("retry of a delivered one: %d %+v", status, e)
	}
	if status, _, _ := do(t, "POST", srv.URL+"/v1/deliveries/whs_missing/retry", ""); status != 404 {
		t.Errorf("retry of a missing one: %d", status)
	}

	status, _, body := do(t, "POST", srv.URL+"/v1/distributions", validDistribution)
	var d struct{ ID string }
	json.Unmarshal(body, &d)
	if status != 201 {
		t.Fatal(status)
	}
	for _, bad := range []struct{ body, field string }{
		{`{}`, "since"},
		{`{"since":"yesterday"}`, "since"},
		{`{"since":"2026-01-01T00:00:00Z","limit":100000}`, "limit"},
		{`[`, "since"},
	} {
		if status, e, _ := do(t, "POST", srv.URL+"/v1/distributions/"+d.ID+"/recover", bad.body); status != 400 || e.Field != bad.field {
			t.Errorf("recover %s: %d %+v", bad.body, status, e)
		}
	}
	do(t, "POST", srv.URL+"/v1/distributions/"+d.ID+"/pause", "")
	if status, e, _ := do(t, "POST", srv.URL+"/v1/distributions/"+d.ID+"/recover", `{"since":"2026-01-01T00:00:00Z"}`); status != 409 || !strings.Contains(e.Message, "resume") {
		t.Errorf("recover of a paused distribution: %d %+v", status, e)
	}
	do(t, "POST", srv.URL+"/v1/distributions/"+d.ID+"/resume", "")
	if status, _, body := do(t, "POST", srv.URL+"/v1/distributions/"+d.ID+"/recover", `{"since":"2026-01-01T01:00:00+01:00","limit":10}`); status != 200 || !strings.Contains(string(body), "resend/whs_x/1") {
		t.Errorf("recover: %d %s", status, body)
	}
	if len(log.recovered) != 1 || log.recovered[0] != d.ID+" 2026-01-01T00:00:00Z 10" {
		t.Errorf("recovered %v", log.recovered)
	}
	if status, _, _ := do(t, "POST", srv.URL+"/v1/distributions/distr_missing/recover", `{"since":"2026-01-01T00:00:00Z"}`); status != 404 {
		t.Errorf("recover of a missing distribution: %d", status)
	}
}

func TestDeliveries(t *testing.T) {
	st, err := store.OpenSQLite(filepath.Join(t.TempDir(), "hookflow.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log := &fakeLog{}
	srv := httptest.NewServer((&Server{Store: st, Starter: &fakeStarter{}, Log: log}).Handler())
	defer srv.Close()
	if status, _, body := do(t, "GET", srv.URL+"/v1/deliveries/whs_00000000000000000000000000000001", ""); status != 200 || !strings.Contains(string(body), `"status_code":200`) {
		t.Errorf("get: %d %s", status, body)
	}
	if status, _, _ := do(t, "GET", srv.URL+"/v1/deliveries/whs_nope", ""); status != 404 {
		t.Errorf("missing: %d", status)
	}
	query := "status=failed&distribution=distr_1&event_type=customer.order.paid&limit=5&since=2026-11-27T08:00:00Z&until=2026-11-27T09:30:00.5%2B01:00"
	if status, _, body := do(t, "GET", srv.URL+"/v1/deliveries?"+query, ""); status != 200 || string(body) != `{"object":"list","data":[],"total":0,"has_more":true,"next_page_token":"`+pageToken("last")+`"}`+"\n" {
		t.Errorf("list: %d %s", status, body)
	}
	since := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	if len(log.filters) != 1 || log.filters[0].Status != "failed" || log.filters[0].DistributionID != "distr_1" || log.filters[0].EventType != "customer.order.paid" ||
		log.filters[0].Limit != 5 || !log.filters[0].Since.Equal(since) || !log.filters[0].Until.Equal(since.Add(30*time.Minute+500*time.Millisecond)) || log.filters[0].PageToken != "" {
		t.Errorf("filters %+v", log.filters)
	}
	if status, _, body := do(t, "GET", srv.URL+"/v1/deliveries?"+query+"&page_token="+pageToken("last"), ""); status != 200 || string(body) != `{"object":"list","data":[],"total":0,"has_more":false}`+"\n" {
		t.Errorf("last page: %d %s", status, body)
	}
	if len(log.filters) != 2 || log.filters[1].PageToken != pageToken("last") {
		t.Errorf("filters %+v", log.filters)
	}
	for _, bad := range []struct{ query, field string }{
		{"status=exploded", "status"},
		{"distribution=" + url.QueryEscape("x' OR 1=1 OR '"), "distribution"},
		{"event_type=" + url.QueryEscape(`customer.order.paid"`), "event_type"},
		{"limit=0", "limit"},
		{"limit=100000", "limit"},
		{"limit=ten", "limit"},
		{"since=yesterday", "since"},
		{"since=" + url.QueryEscape("2026-11-27T08:00:00Z' OR '1'='1"), "since"},
		{"until=2026-11-27", "until"},
		{"since=2026-11-27T08:00:00Z&until=2026-11-27T08:00:00Z", "until"},
		{"page_token=" + url.QueryEscape("not base64!"), "page_token"},
		{"page_token=" + strings.Repeat("A", 3000), "page_token"},
		{"page_token=bGFzdA", "page_token"}, // "last" without its checksum
		{"page_token=" + pageToken("last")[:12] + "x", "page_token"},
	} {
		if status, e, _ := do(t, "GET", srv.URL+"/v1/deliveries?"+bad.query, ""); status != 400 || e.Field != bad.field {
			t.Errorf("%s: %d %+v", bad.query, status, e)
		}
	}
	if len(log.filters) != 2 {
		t.Error("a bad query reached the delivery log")
	}
	// A token that decodes but that the visibility store refuses is the caller's error too.
	if status, e, _ := do(t, "GET", srv.URL+"/v1/deliveries?page_token="+pageToken("refused"), ""); status != 400 || e.Field != "page_token" || !strings.Contains(e.Message, "not a next_page_token") {
		t.Errorf("refused token: %d %+v", status, e)
	}
}

func TestRefusesBrowserRequests(t *testing.T) {
	srv, fs, _ := newAPI(t)
	for _, h := range []map[string]string{{"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}} {
		req, _ := http.NewRequest("POST", srv.URL+"/v1/events", strings.NewReader(`{"type":"customer.order.paid","data":{}}`))
		req.Header.Set("content-type", "text/plain")
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 403 {
			t.Errorf("%v: %d", h, resp.StatusCode)
		}
	}
	if len(fs.events) != 0 {
		t.Error("a browser request started a workflow")
	}
}
