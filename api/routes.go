package api

import (
	"fmt"
	"net/http"

	"github.com/hookflow/hookflow/distributions"
)

// The route table: every route of the API in one place, grouped by the file that serves
// it, and what stands in front of them all. The codec endpoint (codec.go) is not here: the
// caller mounts CodecHandler under CodecPath, outside refuseBrowsers.

// Handler returns the API's routes.
//
// With RequireKeys, a request needs "Authorization: Bearer <API key>": without one, or
// with a key that is unknown or revoked, the answer is 401 with a WWW-Authenticate
// header. POST /v1/events needs a key with the events scope; every other route, reading
// ones too, needs the manage scope, and answers 403 to a key without it. The exception
// that lets the first key be made: while no key exists, POST /v1/keys is allowed without
// one from the machine itself (see the keys routes).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.routeTable() {
		mux.HandleFunc(rt.pattern, rt.handler)
	}
	// Browsers are refused before anything else, and a key is checked before the route:
	// without a valid key, a wrong method and an unknown path get the same 401 as a
	// right one, so that the answers tell nothing of which paths and methods exist.
	return refuseBrowsers(s.authenticate(routes{mux}))
}

// route is one row of the route table: a ServeMux pattern and what serves it.
type route struct {
	pattern string
	handler http.HandlerFunc
}

// routeTable is every route of the API. Handler registers them, and the OpenAPI test
// (openapi_test.go) holds api/openapi.yaml to them, so that the document names every
// route and no other.
func (s *Server) routeTable() []route {
	return []route{
		// events.go
		{"POST /v1/events", s.idempotent(MaxEventBytes, s.postEvent)},

		// distributions.go
		{"POST /v1/distributions", s.idempotent(MaxDistributionBytes, s.createDistribution)},
		{"GET /v1/distributions", s.listDistributions},
		{"GET /v1/distributions/{id}", s.getDistribution},
		{"PUT /v1/distributions/{id}", s.updateDistribution},
		{"DELETE /v1/distributions/{id}", s.deleteDistribution},
		{"POST /v1/distributions/{id}/pause", s.setDistributionStatus(distributions.StatusPaused)},
		{"POST /v1/distributions/{id}/resume", s.setDistributionStatus(distributions.StatusLive)},
		{"POST /v1/distributions/{id}/test", s.idempotent(maxRecoverBytes, s.testDistribution)},

		// messages.go: a distribution's manual and bulk messages.
		{"POST /v1/distributions/{id}/messages", s.idempotent(MaxMessageBytes, s.createMessage)},
		{"GET /v1/messages", s.listMessages},
		{"GET /v1/messages/{id}", s.getMessage},
		{"DELETE /v1/messages/{id}", s.cancelMessage},

		// deliveries.go: the delivery log.
		{"GET /v1/deliveries", s.listDeliveries},
		{"GET /v1/deliveries/{id}", s.getDelivery},
		{"POST /v1/deliveries/{id}/retry", s.idempotent(maxRecoverBytes, s.retryDelivery)},
		{"POST /v1/distributions/{id}/recover", s.idempotent(maxRecoverBytes, s.recoverDistribution)},

		// webhooks.go: project webhooks.
		{"POST /v1/webhooks", s.idempotent(MaxDistributionBytes, s.createWebhook)},
		{"GET /v1/webhooks", s.listWebhooks},
		{"GET /v1/webhooks/{id}", s.getWebhook},
		{"PUT /v1/webhooks/{id}", s.updateWebhook},
		{"DELETE /v1/webhooks/{id}", s.deleteWebhook},

		// notifications.go and settings.go
		{"GET /v1/notifications", s.listNotifications},
		{"POST /v1/notifications/{id}/read", s.readNotification},
		{"GET /v1/settings/notifications", s.getNotificationSettings},
		{"PUT /v1/settings/notifications", s.putNotificationSettings},
		{"GET /v1/settings/breaker", s.getBreakerSettings},
		{"PUT /v1/settings/breaker", s.putBreakerSettings},

		// secrets.go
		{"GET /v1/secrets", s.getSecrets},
		{"POST /v1/secrets/rotate", s.rotateSecret},

		// codes.go: campaigns' code pools.
		{"POST /v1/campaigns/{id}/codes", s.importCodes},
		{"GET /v1/campaigns/{id}/codes/stats", s.codeStats},

		// programs.go: program presets.
		{"POST /v1/programs/{program}", s.idempotent(MaxDistributionBytes, s.applyProgram)},
		{"GET /v1/programs", s.listPrograms},
		{"GET /v1/programs/{program}/{campaign}", s.getProgram},
		{"POST /v1/programs/{program}/{campaign}/pause", s.setProgramStatus(distributions.StatusPaused)},
		{"POST /v1/programs/{program}/{campaign}/resume", s.setProgramStatus(distributions.StatusLive)},
		{"DELETE /v1/programs/{program}/{campaign}", s.deleteProgram},

		// keys.go: API keys.
		{"POST /v1/keys", s.idempotentSecret(maxKeyBytes, s.createKey)},
		{"GET /v1/keys", s.listKeys},
		{"DELETE /v1/keys/{id}", s.revokeKey},

		// Probes and the OpenAPI document need no key (publicPaths, in keys.go). A request
		// no route takes is answered by routes.ServeHTTP: there is no catch-all "/"
		// pattern, which would take every method of every path and so turn a wrong method
		// into a 404.
		{"GET /healthz", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		}},
		{"GET " + OpenAPIPath, serveOpenAPI},
	}
}

// routes is the API's mux, with its own answers to a request no pattern takes, 404 or 405
// and the Allow header (which the mux works out from the patterns, with HEAD for GET), given
// in the API's JSON error shape instead of the mux's plain text.
type routes struct{ *http.ServeMux }

func (m routes) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h, pattern := m.Handler(r)
	if pattern != "" {
		SetRoute(r, pattern)
		// ServeMux.ServeHTTP, not h: it sets the path values the handlers read.
		m.ServeMux.ServeHTTP(w, r)
		return
	}
	answer := &statusRecorder{header: http.Header{}}
	h.ServeHTTP(answer, r)
	switch answer.status {
	case http.StatusMethodNotAllowed:
		allow := answer.header.Get("Allow")
		w.Header().Set("Allow", allow)
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", fmt.Sprintf("%s is not allowed on %s: use %s", r.Method, r.URL.Path, allow), "")
	case http.StatusNotFound:
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path), "")
	default:
		// The mux's redirect of an unclean path (/v1//x) to the clean one.
		m.ServeMux.ServeHTTP(w, r)
	}
}

// statusRecorder keeps the status and headers a handler answers and drops its body.
type statusRecorder struct {
	header http.Header
	status int
}

func (a *statusRecorder) Header() http.Header         { return a.header }
func (a *statusRecorder) WriteHeader(status int)      { a.status = status }
func (a *statusRecorder) Write(b []byte) (int, error) { return len(b), nil }

// refuseBrowsers answers 403 to requests a web browser sends on a page's behalf (they carry
// Origin or Sec-Fetch-Site: cross-site). hookflow's clients are programs; without this, any
// page a user visits could post to an API open on loopback, as `hookflow dev` runs it.
func refuseBrowsers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Origin") != "" || r.Header.Get("Sec-Fetch-Site") == "cross-site" {
			writeError(w, http.StatusForbidden, "forbidden", "requests from web pages are not accepted: call the API from a program", "")
			return
		}
		next.ServeHTTP(w, r)
	})
}
