package api

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/deliverylog"
	"github.com/hookflow/hookflow/store"
)

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

func (f *fakeLog) Recover(_ context.Context, id string, since, until time.Time, limit int) ([]deliverylog.Recovered, error) {
	to := "-"
	if !until.IsZero() {
		to = until.UTC().Format(time.RFC3339)
	}
	f.recovered = append(f.recovered, fmt.Sprint(id, " ", since.UTC().Format(time.RFC3339), " ", to, " ", limit))
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
	if status, e, _ := do(t, "POST", srv.URL+"/v1/deliveries/whs_00000000000000000000000000000001/retry", ""); status != 409 || e.Type != "conflict" || !strings.Contains(e.Message, "delivered") || !strings.Contains(e.Message, "wait for it to end") {
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
		{`{"since":"2026-01-01T00:00:00Z","until":"2026-01-01T00:00:00Z"}`, "until"},
		{`{"since":"2026-01-02T00:00:00Z","until":"2026-01-01T00:00:00Z"}`, "until"},
		{`{"since":"2026-01-01T00:00:00Z","until":"tomorrow"}`, "until"},
		{`{"since":"2026-01-01T00:00:00Z","limit":"ten"}`, "limit"},
		{`[`, "since"},
	} {
		if status, e, _ := do(t, "POST", srv.URL+"/v1/distributions/"+d.ID+"/recover", bad.body); status != 400 || e.Field != bad.field {
			t.Errorf("recover %s: %d %+v", bad.body, status, e)
		}
	}
	// A misspelt key would widen what recover sends: every unknown key is refused by name.
	status, e, body := do(t, "POST", srv.URL+"/v1/distributions/"+d.ID+"/recover", `{"since":"2026-01-01T00:00:00Z","untill":"2026-01-02T00:00:00Z","limt":5}`)
	if status != 400 || e.Type != "validation_error" || len(e.Problems) != 2 ||
		e.Problems[0].Field != "limt" || !strings.Contains(e.Problems[0].Message, "did you mean limit?") ||
		e.Problems[1].Field != "untill" || !strings.Contains(e.Problems[1].Message, "did you mean until?") {
		t.Errorf("recover with unknown fields: %d %s", status, body)
	}
	if len(log.recovered) != 0 {
		t.Errorf("recover with unknown fields recovered %v", log.recovered)
	}
	do(t, "POST", srv.URL+"/v1/distributions/"+d.ID+"/pause", "")
	if status, e, _ := do(t, "POST", srv.URL+"/v1/distributions/"+d.ID+"/recover", `{"since":"2026-01-01T00:00:00Z"}`); status != 409 || e.Type != "conflict" || !strings.Contains(e.Message, "resume it first (hookflow distributions resume "+d.ID+")") {
		t.Errorf("recover of a paused distribution: %d %+v", status, e)
	}
	do(t, "POST", srv.URL+"/v1/distributions/"+d.ID+"/resume", "")
	if status, _, body := do(t, "POST", srv.URL+"/v1/distributions/"+d.ID+"/recover", `{"since":"2026-01-01T01:00:00+01:00","limit":10}`); status != 200 || !strings.Contains(string(body), "resend/whs_x/1") {
		t.Errorf("recover: %d %s", status, body)
	}
	if status, _, body := do(t, "POST", srv.URL+"/v1/distributions/"+d.ID+"/recover", `{"since":"2026-01-01T00:00:00Z","until":"2026-01-01T12:00:00-02:00"}`); status != 200 {
		t.Errorf("recover with until: %d %s", status, body)
	}
	if len(log.recovered) != 2 || log.recovered[0] != d.ID+" 2026-01-01T00:00:00Z - 10" || log.recovered[1] != d.ID+" 2026-01-01T00:00:00Z 2026-01-01T14:00:00Z 0" {
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
	// The answer's type says "not found"; the message says what was not, once.
	if status, e, _ := do(t, "GET", srv.URL+"/v1/deliveries/whs_nope", ""); status != 404 || e.Type != "not_found" || e.Message != "no delivery whs_nope" {
		t.Errorf("missing: %d %+v", status, e)
	}
	if status, _, _ := do(t, "GET", srv.URL+"/v1/deliveries?event=evt_1", ""); status != 200 || log.filters[len(log.filters)-1].EventID != "evt_1" {
		t.Errorf("?event=evt_1: %d %+v", status, log.filters)
	}
	log.filters = nil
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
