package api

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

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

// TestRoutes: every route of the API reaches its handler, not the JSON 404 of unknown
// paths nor the mux's 405.
func TestRoutes(t *testing.T) {
	srv, _, _ := newAPI(t)
	param := regexp.MustCompile(`\{[a-z]+\}`)
	for _, route := range []string{
		"POST /v1/events",
		"POST /v1/distributions", "GET /v1/distributions", "GET /v1/distributions/{id}", "PUT /v1/distributions/{id}",
		"DELETE /v1/distributions/{id}", "POST /v1/distributions/{id}/pause", "POST /v1/distributions/{id}/resume",
		"POST /v1/distributions/{id}/messages", "GET /v1/messages", "GET /v1/messages/{id}", "DELETE /v1/messages/{id}",
		"GET /v1/deliveries", "GET /v1/deliveries/{id}", "POST /v1/deliveries/{id}/retry", "POST /v1/distributions/{id}/recover",
		"POST /v1/webhooks", "GET /v1/webhooks", "GET /v1/webhooks/{id}", "PUT /v1/webhooks/{id}", "DELETE /v1/webhooks/{id}",
		"GET /v1/notifications", "POST /v1/notifications/{id}/read",
		"GET /v1/settings/notifications", "PUT /v1/settings/notifications",
		"GET /v1/secrets", "POST /v1/secrets/rotate",
		"POST /v1/campaigns/{id}/codes", "GET /v1/campaigns/{id}/codes/stats",
		"POST /v1/programs/{program}", "GET /v1/programs", "GET /v1/programs/{program}/{campaign}",
		"POST /v1/programs/{program}/{campaign}/pause", "POST /v1/programs/{program}/{campaign}/resume",
		"DELETE /v1/programs/{program}/{campaign}",
		"POST /v1/keys", "GET /v1/keys", "DELETE /v1/keys/{id}",
		"GET /healthz",
	} {
		method, pattern, _ := strings.Cut(route, " ")
		status, e, body := doWith(t, method, srv.URL+param.ReplaceAllString(pattern, "x"), "application/json", "")
		if status == http.StatusMethodNotAllowed || strings.HasPrefix(e.Message, "no route for") {
			t.Errorf("%s: %d %s", route, status, body)
		}
	}
}
