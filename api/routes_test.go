package api

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/store"
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

// apiRoutes is every route of Handler's table.
var apiRoutes = []string{
	"POST /v1/events",
	"POST /v1/distributions", "GET /v1/distributions", "GET /v1/distributions/{id}", "PUT /v1/distributions/{id}",
	"DELETE /v1/distributions/{id}", "POST /v1/distributions/{id}/pause", "POST /v1/distributions/{id}/resume",
	"POST /v1/distributions/{id}/messages", "GET /v1/messages", "GET /v1/messages/{id}", "DELETE /v1/messages/{id}",
	"GET /v1/deliveries", "GET /v1/deliveries/{id}", "POST /v1/deliveries/{id}/retry", "POST /v1/distributions/{id}/recover",
	"POST /v1/webhooks", "GET /v1/webhooks", "GET /v1/webhooks/{id}", "PUT /v1/webhooks/{id}", "DELETE /v1/webhooks/{id}",
	"GET /v1/notifications", "POST /v1/notifications/{id}/read",
	"GET /v1/settings/notifications", "PUT /v1/settings/notifications",
	"GET /v1/settings/breaker", "PUT /v1/settings/breaker",
	"GET /v1/secrets", "POST /v1/secrets/rotate",
	"POST /v1/campaigns/{id}/codes", "GET /v1/campaigns/{id}/codes/stats",
	"POST /v1/programs/{program}", "GET /v1/programs", "GET /v1/programs/{program}/{campaign}",
	"POST /v1/programs/{program}/{campaign}/pause", "POST /v1/programs/{program}/{campaign}/resume",
	"DELETE /v1/programs/{program}/{campaign}",
	"POST /v1/keys", "GET /v1/keys", "DELETE /v1/keys/{id}",
	"GET /healthz",
}

var pathParam = regexp.MustCompile(`\{[a-z]+\}`)

// TestRoutes: every route of the API reaches its handler, not the JSON 404 of unknown
// paths nor the 405 of a wrong method.
func TestRoutes(t *testing.T) {
	srv, _, _ := newAPI(t)
	for _, route := range apiRoutes {
		method, pattern, _ := strings.Cut(route, " ")
		status, e, body := doWith(t, method, srv.URL+pathParam.ReplaceAllString(pattern, "x"), "application/json", "")
		if status == http.StatusMethodNotAllowed || strings.HasPrefix(e.Message, "no route for") {
			t.Errorf("%s: %d %s", route, status, body)
		}
	}
}

// allowedMethods maps each path of the route table (its parameters x) to the Allow header
// a wrong method on it must get: its methods sorted, with HEAD where GET is (the mux
// serves HEAD with the GET handler).
func allowedMethods() map[string]string {
	methods := map[string][]string{}
	for _, route := range apiRoutes {
		method, pattern, _ := strings.Cut(route, " ")
		path := pathParam.ReplaceAllString(pattern, "x")
		methods[path] = append(methods[path], method)
		if method == http.MethodGet {
			methods[path] = append(methods[path], http.MethodHead)
		}
	}
	allow := map[string]string{}
	for path, ms := range methods {
		slices.Sort(ms)
		allow[path] = strings.Join(ms, ", ")
	}
	return allow
}

// TestWrongMethod: on every path of the table, every method it does not take is a 405
// with an Allow header of exactly the methods it takes, in the API's JSON error shape;
// an unknown path is still a JSON 404.
func TestWrongMethod(t *testing.T) {
	srv, _, _ := newAPI(t)
	for path, allow := range allowedMethods() {
		for _, method := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} {
			if slices.Contains(strings.Split(allow, ", "), method) {
				continue
			}
			req, _ := http.NewRequest(method, srv.URL+path, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var eb ErrorBody
			if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != allow {
				t.Errorf("%s %s: %d, Allow %q; want 405, Allow %q", method, path, resp.StatusCode, resp.Header.Get("Allow"), allow)
			}
			if ct := resp.Header.Get("content-type"); ct != "application/json" {
				t.Errorf("%s %s: content-type %q", method, path, ct)
			}
			if method == "HEAD" {
				continue // no body
			}
			if err := json.Unmarshal(body, &eb); err != nil || eb.Error.Type != "method_not_allowed" || !strings.Contains(eb.Error.Message, allow) {
				t.Errorf("%s %s: body %s", method, path, body)
			}
		}
	}
	for _, req := range [][2]string{{"GET", "/v1/nothing"}, {"POST", "/nothing"}, {"DELETE", "/v1/distributions/x/y/z"}, {"GET", "/"}} {
		status, e, body := do(t, req[0], srv.URL+req[1], "")
		if status != http.StatusNotFound || e.Type != "not_found" || e.Message != "no route for "+req[0]+" "+req[1] {
			t.Errorf("%s %s: %d %s", req[0], req[1], status, body)
		}
	}
}

// TestWrongMethodNeedsKey: the browser refusal comes first, then the key check, then the
// route: without a key a wrong method gets the 401 any request gets, with no Allow header,
// so only a caller who may use the API learns which methods a path takes.
func TestWrongMethodNeedsKey(t *testing.T) {
	a := newKeyedAPI(t)
	_, key := a.mustKey(t, "ops", store.ScopeManage)
	_, eventsKey := a.mustKey(t, "shop", store.ScopeEvents)
	for _, tc := range []struct {
		name   string
		req    keyRequest
		status int
		allow  string
	}{
		{"no key", keyRequest{method: "PATCH", path: "/v1/distributions"}, http.StatusUnauthorized, ""},
		{"no key, unknown path", keyRequest{method: "GET", path: "/v1/nothing"}, http.StatusUnauthorized, ""},
		{"unknown key", keyRequest{method: "PATCH", path: "/v1/distributions", auth: "Bearer hfk_nope"}, http.StatusUnauthorized, ""},
		{"key of the events scope", keyRequest{method: "GET", path: "/v1/events", auth: "Bearer " + eventsKey}, http.StatusForbidden, ""},
		{"browser with a key", keyRequest{method: "PATCH", path: "/v1/distributions", auth: "Bearer " + key, header: http.Header{"Origin": {"https://evil.example"}}}, http.StatusForbidden, ""},
		{"manage key", keyRequest{method: "PATCH", path: "/v1/distributions", auth: "Bearer " + key}, http.StatusMethodNotAllowed, "GET, HEAD, POST"},
		{"manage key, unknown path", keyRequest{method: "GET", path: "/v1/nothing", auth: "Bearer " + key}, http.StatusNotFound, ""},
	} {
		w := a.do(t, tc.req)
		if w.Code != tc.status || w.Header().Get("Allow") != tc.allow {
			t.Errorf("%s: %d, Allow %q; want %d, Allow %q: %s", tc.name, w.Code, w.Header().Get("Allow"), tc.status, tc.allow, w.Body)
		}
		var eb ErrorBody
		if err := json.Unmarshal(w.Body.Bytes(), &eb); err != nil || eb.Error.Type == "" {
			t.Errorf("%s: body %s is not the API's error", tc.name, w.Body)
		}
	}
}
