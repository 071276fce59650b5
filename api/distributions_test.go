package api

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/payloads"
)

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
		{"trace_context not a boolean", strings.Replace(validDistribution, `"version"`, `"trace_context":"yes","version"`, 1), 400, []string{"webhook.trace_context"}},
		{"trace_context as a number", strings.Replace(validDistribution, `"version"`, `"trace_context":1,"version"`, 1), 400, []string{"webhook.trace_context"}},
		{"trace_context beside an own traceparent", strings.Replace(validDistribution, `"version"`,
			`"trace_context":true,"headers":[{"name":"traceparent","value":"00-x"}],"version"`, 1), 422, []string{"webhook.headers[0].name"}},
		{"rate_limit malformed", strings.Replace(validDistribution, `"version"`, `"rate_limit":"fast","version"`, 1), 422, []string{"webhook.rate_limit"}},
		{"rate_limit of zero", strings.Replace(validDistribution, `"version"`, `"rate_limit":"0/s","version"`, 1), 422, []string{"webhook.rate_limit"}},
		{"rate_limit out of bounds", strings.Replace(validDistribution, `"version"`, `"rate_limit":"`+strings.Repeat("9", 400)+`/s","version"`, 1), 422, []string{"webhook.rate_limit"}},
		{"rate_limit as a number", strings.Replace(validDistribution, `"version"`, `"rate_limit":50,"version"`, 1), 400, []string{"webhook.rate_limit"}},
		{"ordering key does not compile", strings.Replace(validDistribution, `"version"`, `"ordering":{"key":"data.customer.id +"},"version"`, 1), 422, []string{"webhook.ordering.key"}},
		{"ordering key hostile", strings.Replace(validDistribution, `"version"`, `"ordering":{"key":"data.customer.id\u001b[2J"},"version"`, 1), 422, []string{"webhook.ordering.key"}},
		{"ordering key oversized", strings.Replace(validDistribution, `"version"`, `"ordering":{"key":"`+strings.Repeat("a", 5000)+`"},"version"`, 1), 422, []string{"webhook.ordering.key"}},
		{"ordering not an object", strings.Replace(validDistribution, `"version"`, `"ordering":"data.customer.id","version"`, 1), 400, []string{"webhook.ordering"}},
		{"ordering unknown field", strings.Replace(validDistribution, `"version"`, `"ordering":{"by":"data.customer.id"},"version"`, 1), 400, []string{"webhook.ordering.by"}},
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
	if status, e, _ := do(t, "PUT", srv.URL+"/v1/distributions/"+id, string(b)); status != 409 || e.Field != "version" || e.Type != "conflict" ||
		!strings.Contains(e.Message, "; get the new version (hookflow distributions get "+id+") and apply your change to it") {
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

// TestDistributionDryRun: ?dry_run=true on a create or an update makes every check the
// request would make and answers as it would (200 with the result, or the 4xx), and
// stores nothing.
func TestDistributionDryRun(t *testing.T) {
	srv, _, st := newAPI(t)
	stored := func() string {
		t.Helper()
		ds, err := st.ListDistributions(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(ds)
		return string(b)
	}

	status, _, body := do(t, "POST", srv.URL+"/v1/distributions?dry_run=true", validDistribution)
	var would map[string]any
	_ = json.Unmarshal(body, &would)
	if status != 200 || would["name"] != "Paid orders" || would["id"] != "" || would["version"] != 1.0 {
		t.Errorf("dry run of a valid create: %d %s", status, body)
	}
	invalid := `{"trigger":{"events":["nope"]},"webhook":{"event_name":"e","url":"ftp://x"}}`
	status, e, body := do(t, "POST", srv.URL+"/v1/distributions?dry_run=true", invalid)
	var fields []string
	for _, p := range e.Problems {
		fields = append(fields, p.Field)
	}
	if status != 422 || strings.Join(fields, ",") != "name,trigger.events[0],webhook.url" {
		t.Errorf("dry run of an invalid create: %d %s", status, body)
	}
	for _, q := range []string{"dry_run=maybe", "dry_run="} {
		status, e, body := do(t, "POST", srv.URL+"/v1/distributions?"+q+"x", validDistribution)
		if status != 400 || e.Field != "dry_run" {
			t.Errorf("?%sx: %d %s", q, status, body)
		}
	}
	if got := stored(); got != "[]" {
		t.Fatalf("dry runs of creates stored %s", got)
	}

	status, _, body = do(t, "POST", srv.URL+"/v1/distributions?dry_run=false", validDistribution)
	if status != 201 {
		t.Fatalf("create with dry_run=false: %d %s", status, body)
	}
	var d map[string]any
	_ = json.Unmarshal(body, &d)
	id := d["id"].(string)
	before := stored()

	d["name"] = "Renamed"
	b, _ := json.Marshal(d)
	status, _, body = do(t, "PUT", srv.URL+"/v1/distributions/"+id+"?dry_run=true", string(b))
	if status != 200 || !strings.Contains(string(body), `"version":2`) || !strings.Contains(string(body), `"name":"Renamed"`) {
		t.Errorf("dry run of a valid update: %d %s", status, body)
	}
	d["webhook"] = map[string]any{"event_name": "e", "url": "gopher://x"}
	b, _ = json.Marshal(d)
	if status, e, body := do(t, "PUT", srv.URL+"/v1/distributions/"+id+"?dry_run=true", string(b)); status != 422 || len(e.Problems) == 0 || e.Problems[0].Field != "webhook.url" {
		t.Errorf("dry run of an invalid update: %d %s", status, body)
	}
	d["webhook"], d["version"] = would["webhook"], 7
	b, _ = json.Marshal(d)
	if status, e, body := do(t, "PUT", srv.URL+"/v1/distributions/"+id+"?dry_run=true", string(b)); status != 409 || e.Field != "version" {
		t.Errorf("dry run of a stale update: %d %s", status, body)
	}
	if status, _, body := do(t, "PUT", srv.URL+"/v1/distributions/distr_missing?dry_run=true", validDistribution[:1]+`"version":1,`+validDistribution[1:]); status != 404 {
		t.Errorf("dry run of an update of a missing distribution: %d %s", status, body)
	}
	if got := stored(); got != before {
		t.Errorf("dry runs of updates changed the store:\n%s\nwas\n%s", got, before)
	}
}

// TestDistributionUpdateUnchanged: an update that changes nothing (what GET showed, sent
// back) answers 200 with the same version and stores no new one, dry run or not; a stale
// version is still 409, naming the version and what to do.
func TestDistributionUpdateUnchanged(t *testing.T) {
	srv, _, st := newAPI(t)
	withSecret := strings.Replace(validDistribution, `"version"`, `"secret":"`+payloads.NewSecret()+`","version"`, 1)
	status, _, body := do(t, "POST", srv.URL+"/v1/distributions", withSecret)
	if status != 201 {
		t.Fatalf("create: %d %s", status, body)
	}
	var d map[string]any
	_ = json.Unmarshal(body, &d)
	id := d["id"].(string)
	shown, _ := json.Marshal(d)
	for _, path := range []string{"?dry_run=true", ""} {
		status, _, body = do(t, "PUT", srv.URL+"/v1/distributions/"+id+path, string(shown))
		if status != 200 || !strings.Contains(string(body), `"version":1`) {
			t.Errorf("PUT%s of what GET showed: %d %s, want 200 and version 1", path, status, body)
		}
	}
	if stored, _ := st.GetDistribution(context.Background(), id); stored.Version != 1 {
		t.Errorf("stored version %d after an update that changed nothing", stored.Version)
	}
	d["name"] = "Renamed"
	changed, _ := json.Marshal(d)
	if status, _, body = do(t, "PUT", srv.URL+"/v1/distributions/"+id, string(changed)); status != 200 || !strings.Contains(string(body), `"version":2`) {
		t.Fatalf("rename: %d %s", status, body)
	}
	d["name"] = "Renamed again"
	stale, _ := json.Marshal(d) // still names version 1
	status, e, _ := do(t, "PUT", srv.URL+"/v1/distributions/"+id, string(stale))
	if status != 409 || e.Field != "version" || !strings.Contains(e.Message, "version 1") || !strings.Contains(e.Message, "get the new version") {
		t.Errorf("stale update: %d %+v", status, e)
	}
}

// TestDistributionUnknownFieldsAllAtOnce: every unknown key of a distribution is named
// with its parents in one answer, with the field that was meant, so a user fixes a file
// in one go.
func TestDistributionUnknownFieldsAllAtOnce(t *testing.T) {
	srv, _, _ := newAPI(t)
	body := `{"name":"n","trigger":{"event":["customer.order.paid"]},"action":{"type":"plain_message"},
		"webhook":{"event_name":"e","url":"https://example.com/h","headers":[{"name":"x-a","valeu":"1"}],"retries":3},"colour":"red"}`
	for _, path := range []string{"/v1/distributions", "/v1/distributions?dry_run=true"} {
		status, e, raw := do(t, "POST", srv.URL+path, body)
		if status != 400 || e.Type != "validation_error" {
			t.Fatalf("POST %s: %d %s, want 400 validation_error", path, status, raw)
		}
		want := map[string]string{
			"colour":                   "unknown field",
			"trigger.event":            "did you mean events?",
			"webhook.headers[0].valeu": "did you mean value?",
			"webhook.retries":          "known fields at this level: auth, circuit_breaker, event_name, has_secret, headers, ordering, rate_limit, raw, retry_schedule, secret, template, timeout, trace_context, url, version",
		}
		if len(e.Problems) != len(want) {
			t.Errorf("POST %s: problems %+v, want one for each of %v", path, e.Problems, want)
		}
		for _, p := range e.Problems {
			if w, ok := want[p.Field]; !ok || !strings.Contains(p.Message, w) {
				t.Errorf("POST %s: %s: %q, want it to say %q", path, p.Field, p.Message, w)
			}
		}
	}
}

// TestUnknownEventTypeNamesTheNearest: a mistyped event type is answered with the types
// meant, never with a pointer to a document the user does not have.
func TestUnknownEventTypeNamesTheNearest(t *testing.T) {
	srv, _, _ := newAPI(t)
	for _, tc := range []struct{ path, body, field, want string }{
		{"/v1/distributions", strings.Replace(validDistribution, `"customer.order.paid"`, `"customer.order.payed"`, 1),
			"trigger.events[0]", `unknown event type "customer.order.payed"; did you mean customer.order.paid?`},
		{"/v1/webhooks", `{"url":"https://example.com/h","events":["voucher.create"]}`,
			"events[0]", `unknown event type "voucher.create"; did you mean voucher.created`},
		{"/v1/events", `{"type":"customer.order.payed","data":{}}`,
			"type", `unknown event type "customer.order.payed"; did you mean customer.order.paid?`},
		{"/v1/distributions", strings.Replace(validDistribution, `"customer.order.paid"`, `"qqqq"`, 1),
			"trigger.events[0]", `unknown event type "qqqq"; the known types are customer.segment.entered, `},
	} {
		status, e, raw := do(t, "POST", srv.URL+tc.path, tc.body)
		var msg string
		for _, p := range e.Problems {
			if p.Field == tc.field {
				msg = p.Message
			}
		}
		if e.Field == tc.field {
			msg = e.Message
		}
		if status/100 != 4 || !strings.Contains(msg, tc.want) || strings.Contains(string(raw), "spec section") {
			t.Errorf("POST %s: %d %s, want %s to say %q", tc.path, status, raw, tc.field, tc.want)
		}
	}
}

// TestManualMessageActionNamed: a plain_message distribution of manual messages is told
// which actions a manual message takes.
func TestManualMessageActionNamed(t *testing.T) {
	srv, _, _ := newAPI(t)
	body := strings.Replace(validDistribution, `"customer.order.paid"`, `"manual_distribution_schedule"`, 1)
	status, e, raw := do(t, "POST", srv.URL+"/v1/distributions", body)
	want := "plain_message is not allowed for manual_distribution_schedule, which takes action.type notify_promotion or publish_code"
	if status != 422 || len(e.Problems) != 1 || e.Problems[0].Field != "trigger.events[0]" || e.Problems[0].Message != want {
		t.Errorf("%d %s, want 422 trigger.events[0]: %s", status, raw, want)
	}
}

// TestDistributionTraceContext: webhook.trace_context is kept as given and shown back; a
// distribution created without it shows none (off).
func TestDistributionTraceContext(t *testing.T) {
	srv, _, _ := newAPI(t)
	for _, tt := range []struct {
		name, body string
		want       bool
	}{
		{"opted in", strings.Replace(validDistribution, `"version"`, `"trace_context":true,"version"`, 1), true},
		{"left out", validDistribution, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := do(t, "POST", srv.URL+"/v1/distributions", tt.body)
			if status != 201 {
				t.Fatalf("create: %d %s", status, body)
			}
			var created struct {
				ID string `json:"id"`
			}
			_ = json.Unmarshal(body, &created)
			status, _, body = do(t, "GET", srv.URL+"/v1/distributions/"+created.ID, "")
			var got struct {
				Webhook map[string]any `json:"webhook"`
			}
			if err := json.Unmarshal(body, &got); err != nil || status != 200 {
				t.Fatalf("get: %d %s", status, body)
			}
			if v, present := got.Webhook["trace_context"]; (v == true) != tt.want || (!tt.want && present) {
				t.Errorf("webhook %v, want trace_context %v", got.Webhook, tt.want)
			}
		})
	}
}
