package api

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestWebhooks(t *testing.T) {
	srv, _, _ := newAPI(t)
	status, _, body := do(t, "POST", srv.URL+"/v1/webhooks", `{"url":"https://example.com/wh","events":["voucher.created","campaign.*"]}`)
	if status != 201 || !strings.Contains(string(body), `"active":true`) || !strings.Contains(string(body), `"id":"wh_`) {
		t.Fatalf("create: %d %s", status, body)
	}
	var hook map[string]any
	_ = json.Unmarshal(body, &hook)
	id := hook["id"].(string)
	// What GET showed, sent back unchanged, is no new revision.
	shown, _ := json.Marshal(hook)
	if status, _, body := do(t, "PUT", srv.URL+"/v1/webhooks/"+id, string(shown)); status != 200 || !strings.Contains(string(body), `"revision":1`) {
		t.Errorf("put of what was shown: %d %s, want 200 and revision 1", status, body)
	}
	hook["active"] = false
	b, _ := json.Marshal(hook)
	if status, _, body := do(t, "PUT", srv.URL+"/v1/webhooks/"+id, string(b)); status != 200 || !strings.Contains(string(body), `"active":false`) || !strings.Contains(string(body), `"revision":2`) {
		t.Errorf("put: %d %s", status, body)
	}
	if status, e, _ := do(t, "PUT", srv.URL+"/v1/webhooks/"+id, string(b)); status != 409 || e.Type != "conflict" ||
		!strings.Contains(e.Message, "; get the new revision (hookflow webhooks get "+id+") and apply your change to it") {
		t.Errorf("stale put: %d %+v", status, e)
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
