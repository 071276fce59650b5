// Package api is hookflow's HTTP API: event intake, distributions and notifications.
package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hookflow/hookflow/deliverylog"
	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/payloads"
	"github.com/hookflow/hookflow/starter"
	"github.com/hookflow/hookflow/store"
)

// Body size limits.
const (
	MaxEventBytes        = 256 << 10
	MaxDistributionBytes = 64 << 10
)

// EventStarter starts the delivery of an event.
type EventStarter interface {
	Start(ctx context.Context, ev payloads.Event) (starter.Handle, error)
}

// DeliveryLog reads deliveries and their attempts from Temporal.
type DeliveryLog interface {
	Delivery(ctx context.Context, id string) (deliverylog.Delivery, error)
	ListEvents(ctx context.Context, f deliverylog.EventFilter) (deliverylog.EventPage, error)
	Resend(ctx context.Context, deliveryID string) (deliverylog.Run, error)
	Recover(ctx context.Context, distributionID string, since time.Time, limit int) ([]deliverylog.Recovered, error)
}

// Server serves the API.
type Server struct {
	Store   store.Store
	Starter EventStarter
	// Log reads the delivery log; nil answers 501 on its routes.
	Log    DeliveryLog
	Logger *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// RequireKeys makes every route but the health checks (/healthz, /livez, /readyz)
	// need an API key with the route's scope; see Handler. When false the API is open to
	// whoever reaches it, which suits only a loopback address.
	RequireKeys bool

	// verified are the API keys the store confirmed lately, for when it cannot answer.
	verified verifiedKeys
}

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
	mux.HandleFunc("POST /v1/events", s.postEvent)
	mux.HandleFunc("POST /v1/distributions", s.createDistribution)
	mux.HandleFunc("GET /v1/distributions", s.listDistributions)
	mux.HandleFunc("GET /v1/distributions/{id}", s.getDistribution)
	mux.HandleFunc("PUT /v1/distributions/{id}", s.updateDistribution)
	mux.HandleFunc("DELETE /v1/distributions/{id}", s.deleteDistribution)
	mux.HandleFunc("POST /v1/distributions/{id}/pause", s.setDistributionStatus(distributions.StatusPaused))
	mux.HandleFunc("POST /v1/distributions/{id}/resume", s.setDistributionStatus(distributions.StatusLive))
	mux.HandleFunc("POST /v1/webhooks", s.createWebhook)
	mux.HandleFunc("GET /v1/webhooks", s.listWebhooks)
	mux.HandleFunc("GET /v1/webhooks/{id}", s.getWebhook)
	mux.HandleFunc("PUT /v1/webhooks/{id}", s.updateWebhook)
	mux.HandleFunc("DELETE /v1/webhooks/{id}", s.deleteWebhook)
	mux.HandleFunc("GET /v1/settings/notifications", s.getNotificationSettings)
	mux.HandleFunc("PUT /v1/settings/notifications", s.putNotificationSettings)
	mux.HandleFunc("GET /v1/secrets", s.getSecrets)
	mux.HandleFunc("POST /v1/secrets/rotate", s.rotateSecret)
	mux.HandleFunc("GET /v1/deliveries", s.listDeliveries)
	mux.HandleFunc("GET /v1/deliveries/{id}", s.getDelivery)
	mux.HandleFunc("POST /v1/deliveries/{id}/retry", s.retryDelivery)
	mux.HandleFunc("POST /v1/distributions/{id}/recover", s.recoverDistribution)
	mux.HandleFunc("GET /v1/notifications", s.listNotifications)
	mux.HandleFunc("POST /v1/notifications/{id}/read", s.readNotification)
	mux.HandleFunc("POST /v1/keys", s.createKey)
	mux.HandleFunc("GET /v1/keys", s.listKeys)
	mux.HandleFunc("DELETE /v1/keys/{id}", s.revokeKey)
	s.codeRoutes(mux)
	s.messageRoutes(mux)
	s.programRoutes(mux)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path), "")
	})
	return refuseBrowsers(s.authenticate(mux))
}

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

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// readBody reads at most limit bytes, answering 413 past it.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the body is larger than %d bytes", limit), "")
		return nil, false
	case err != nil:
		writeError(w, http.StatusBadRequest, "invalid_request", "could not read the body: "+err.Error(), "")
		return nil, false
	}
	return body, true
}

func (s *Server) postEvent(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r, MaxEventBytes)
	if !ok {
		return
	}
	ev, err := payloads.ParseEvent(body, s.now(), func() string { return payloads.NewID("evt_") })
	if err != nil {
		var fe *payloads.FieldError
		if errors.As(err, &fe) {
			writeError(w, http.StatusBadRequest, "invalid_event", fe.Error(), fe.Field)
			return
		}
		writeError(w, http.StatusBadRequest, "invalid_event", err.Error(), "")
		return
	}
	h, err := s.Starter.Start(r.Context(), ev)
	if err != nil {
		s.logger().Error("start delivery", "event", ev.ID, "error", err)
		writeError(w, http.StatusServiceUnavailable, "unavailable", "the event could not be accepted now; send it again with the same id", "")
		return
	}
	writeJSON(w, http.StatusAccepted, h)
}

// readEdit reads the body of a create (pathID "") or an update of a distribution or a
// project webhook: decoded strictly, its id absent, or on an update equal to the path's. It
// answers the problem itself and returns false.
func readEdit[T any](w http.ResponseWriter, r *http.Request, decode func([]byte) (T, error), idOf func(T) string, pathID, collection string) (T, bool) {
	var zero T
	body, ok := readBody(w, r, MaxDistributionBytes)
	if !ok {
		return zero, false
	}
	v, err := decode(body)
	if err != nil {
		writeValidation(w, http.StatusBadRequest, err)
		return zero, false
	}
	switch id := idOf(v); {
	case pathID == "" && id != "":
		writeError(w, http.StatusBadRequest, "invalid_request", "id is assigned by hookflow; to change one, PUT "+collection+"/{id}", "id")
		return zero, false
	case pathID != "" && id != "" && id != pathID:
		writeError(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("id %q in the body is not %q of the path", id, pathID), "id")
		return zero, false
	}
	return v, true
}

func (s *Server) createDistribution(w http.ResponseWriter, r *http.Request) {
	d, ok := readEdit(w, r, distributions.Decode, func(d distributions.Distribution) string { return d.ID }, "", "/v1/distributions")
	if !ok {
		return
	}
	d.Normalize()
	if err := d.Validate(); err != nil {
		writeValidation(w, http.StatusUnprocessableEntity, err)
		return
	}
	now := s.now().UTC()
	d.ID, d.Version = payloads.NewID("distr_"), 1
	d.CreatedAt, d.UpdatedAt = now, now
	if err := s.Store.CreateDistribution(r.Context(), d); err != nil {
		s.internal(w, "create distribution", err)
		return
	}
	writeJSON(w, http.StatusCreated, d.Redacted())
}

// listDistributions lists every distribution, or with ?label=key=value (repeatable) those
// that have all the labels asked for.
func (s *Server) listDistributions(w http.ResponseWriter, r *http.Request) {
	want := map[string]string{}
	for i, l := range r.URL.Query()["label"] {
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			writeError(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("label %q is not key=value, such as program=loyalty", l), fmt.Sprintf("label[%d]", i))
			return
		}
		want[k] = v
	}
	ds, err := s.Store.ListDistributions(r.Context())
	if err != nil {
		s.internal(w, "list distributions", err)
		return
	}
	out := ds[:0]
	for _, d := range ds {
		if hasLabels(d.Labels, want) {
			out = append(out, d.Redacted())
		}
	}
	writeJSON(w, http.StatusOK, list(out))
}

func hasLabels(labels, want map[string]string) bool {
	for k, v := range want {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

func (s *Server) getDistribution(w http.ResponseWriter, r *http.Request) {
	d, err := s.Store.GetDistribution(r.Context(), r.PathValue("id"))
	if s.failed(w, err, "get distribution", r.PathValue("id")) {
		return
	}
	writeJSON(w, http.StatusOK, d.Redacted())
}

// updateDistribution replaces a distribution. The body names the version it was read at;
// if the distribution changed since, the answer is 409 and nothing is written.
func (s *Server) updateDistribution(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	d, ok := readEdit(w, r, distributions.Decode, func(d distributions.Distribution) string { return d.ID }, id, "/v1/distributions")
	if !ok {
		return
	}
	if d.Version <= 0 {
		writeError(w, http.StatusBadRequest, "invalid_request", "version is required: the version you read, so a concurrent change is not overwritten", "version")
		return
	}
	stored, err := s.Store.GetDistribution(r.Context(), id)
	if s.failed(w, err, "get distribution", id) {
		return
	}
	d.ID = id
	d.Normalize()
	d.KeepSecrets(stored)
	if err := d.Validate(); err != nil {
		writeValidation(w, http.StatusUnprocessableEntity, err)
		return
	}
	d.UpdatedAt = s.now().UTC()
	updated, err := s.Store.UpdateDistribution(r.Context(), d)
	if errors.Is(err, store.ErrConflict) {
		writeError(w, http.StatusConflict, "conflict", fmt.Sprintf("distribution %s changed since version %d; GET it and apply your change again", id, d.Version), "version")
		return
	}
	if s.failed(w, err, "update distribution", id) {
		return
	}
	writeJSON(w, http.StatusOK, updated.Redacted())
}

func (s *Server) setDistributionStatus(status string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		d, _, err := s.Store.SetDistributionStatus(r.Context(), r.PathValue("id"), status, s.now())
		if s.failed(w, err, "set distribution status", r.PathValue("id")) {
			return
		}
		writeJSON(w, http.StatusOK, d.Redacted())
	}
}

func (s *Server) deleteDistribution(w http.ResponseWriter, r *http.Request) {
	err := s.Store.DeleteDistribution(r.Context(), r.PathValue("id"))
	if s.failed(w, err, "delete distribution", r.PathValue("id")) {
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request) {
	hook, ok := readEdit(w, r, distributions.DecodeWebhook, func(h distributions.ProjectWebhook) string { return h.ID }, "", "/v1/webhooks")
	if !ok {
		return
	}
	hook.Normalize()
	if err := hook.Validate(); err != nil {
		writeValidation(w, http.StatusUnprocessableEntity, err)
		return
	}
	now := s.now().UTC()
	hook.ID, hook.Revision = payloads.NewID("wh_"), 1
	hook.CreatedAt, hook.UpdatedAt = now, now
	if err := s.Store.CreateWebhook(r.Context(), hook); err != nil {
		s.internal(w, "create webhook", err)
		return
	}
	writeJSON(w, http.StatusCreated, hook.Redacted())
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request) {
	hooks, err := s.Store.ListWebhooks(r.Context())
	if err != nil {
		s.internal(w, "list webhooks", err)
		return
	}
	for i := range hooks {
		hooks[i] = hooks[i].Redacted()
	}
	writeJSON(w, http.StatusOK, list(hooks))
}

func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request) {
	hook, err := s.Store.GetWebhook(r.Context(), r.PathValue("id"))
	if s.failed(w, err, "get webhook", r.PathValue("id")) {
		return
	}
	writeJSON(w, http.StatusOK, hook.Redacted())
}

func (s *Server) updateWebhook(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	hook, ok := readEdit(w, r, distributions.DecodeWebhook, func(h distributions.ProjectWebhook) string { return h.ID }, id, "/v1/webhooks")
	if !ok {
		return
	}
	if hook.Revision <= 0 {
		writeError(w, http.StatusBadRequest, "invalid_request", "revision is required: the revision you read, so a concurrent change is not overwritten", "revision")
		return
	}
	stored, err := s.Store.GetWebhook(r.Context(), id)
	if s.failed(w, err, "get webhook", id) {
		return
	}
	hook.ID = id
	hook.Normalize()
	hook.KeepSecrets(stored)
	if err := hook.Validate(); err != nil {
		writeValidation(w, http.StatusUnprocessableEntity, err)
		return
	}
	hook.UpdatedAt = s.now().UTC()
	updated, err := s.Store.UpdateWebhook(r.Context(), hook)
	if errors.Is(err, store.ErrConflict) {
		writeError(w, http.StatusConflict, "conflict", fmt.Sprintf("webhook %s changed since revision %d; GET it and apply your change again", id, hook.Revision), "revision")
		return
	}
	if s.failed(w, err, "update webhook", id) {
		return
	}
	writeJSON(w, http.StatusOK, updated.Redacted())
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	err := s.Store.DeleteWebhook(r.Context(), r.PathValue("id"))
	if s.failed(w, err, "delete webhook", r.PathValue("id")) {
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) getNotificationSettings(w http.ResponseWriter, r *http.Request) {
	ns, err := s.Store.NotificationSettings(r.Context())
	if err != nil {
		s.internal(w, "read notification settings", err)
		return
	}
	writeJSON(w, http.StatusOK, ns)
}

func (s *Server) putNotificationSettings(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r, 16<<10)
	if !ok {
		return
	}
	ns, err := distributions.DecodeNotificationSettings(body)
	if err != nil {
		writeValidation(w, http.StatusBadRequest, err)
		return
	}
	if err := ns.Validate(); err != nil {
		writeValidation(w, http.StatusUnprocessableEntity, err)
		return
	}
	if err := s.Store.SetNotificationSettings(r.Context(), ns); err != nil {
		s.internal(w, "save notification settings", err)
		return
	}
	writeJSON(w, http.StatusOK, ns)
}

// MaxSecretOverlap bounds how long a rotated-out secret may keep signing.
const MaxSecretOverlap = 30 * 24 * time.Hour

// Secrets is what the secrets routes show: the current secret, and when each previous one
// stops signing (never its value).
type Secrets struct {
	Current  string           `json:"current"`
	Previous []SecretValidity `json:"previous"`
}

// SecretValidity says until when a previous secret signs.
type SecretValidity struct {
	ExpiresAt time.Time `json:"expires_at"`
}

func secretsOf(p store.Project, now time.Time) Secrets {
	out := Secrets{Current: p.Secret, Previous: []SecretValidity{}}
	for _, old := range p.Previous {
		if now.Before(old.ExpiresAt) {
			out.Previous = append(out.Previous, SecretValidity{old.ExpiresAt})
		}
	}
	return out
}

func (s *Server) getSecrets(w http.ResponseWriter, r *http.Request) {
	p, err := s.Store.Project(r.Context())
	if err != nil {
		s.internal(w, "read secrets", err)
		return
	}
	writeJSON(w, http.StatusOK, secretsOf(p, s.now()))
}

// rotateSecret makes a new signing secret; the old one keeps signing webhook-signature
// for "expire" (24h when absent), so receivers can switch without losing a delivery.
func (s *Server) rotateSecret(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r, 4<<10)
	if !ok {
		return
	}
	var in struct {
		Expire *distributions.Duration `json:"expire"`
	}
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &in); err != nil {
			writeError(w, http.StatusBadRequest, "invalid_request", "expire: "+err.Error(), "expire")
			return
		}
	}
	overlap := 24 * time.Hour
	if in.Expire != nil {
		overlap = time.Duration(*in.Expire)
	}
	if overlap < 0 || overlap > MaxSecretOverlap {
		writeError(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("expire: must be between 0s and %s", MaxSecretOverlap), "expire")
		return
	}
	now := s.now()
	p, err := s.Store.RotateSecret(r.Context(), payloads.NewSecret(), now, now.Add(overlap))
	if err != nil {
		s.internal(w, "rotate secret", err)
		return
	}
	s.logger().Info("signing secret rotated", "old_secret_signs_until", now.Add(overlap))
	writeJSON(w, http.StatusOK, secretsOf(p, now))
}

func (s *Server) getDelivery(w http.ResponseWriter, r *http.Request) {
	if s.Log == nil {
		writeError(w, http.StatusNotImplemented, "not_implemented", "this server does not read the delivery log", "")
		return
	}
	d, err := s.Log.Delivery(r.Context(), r.PathValue("id"))
	if errors.Is(err, deliverylog.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", err.Error(), "id")
		return
	}
	if err != nil {
		s.internal(w, "get delivery", err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// retryDelivery sends a failed or skipped delivery again, as a new run.
func (s *Server) retryDelivery(w http.ResponseWriter, r *http.Request) {
	if s.Log == nil {
		writeError(w, http.StatusNotImplemented, "not_implemented", "this server does not read the delivery log", "")
		return
	}
	h, err := s.Log.Resend(r.Context(), r.PathValue("id"))
	switch {
	case errors.Is(err, deliverylog.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", err.Error(), "id")
	case errors.Is(err, deliverylog.ErrNotResendable):
		writeError(w, http.StatusConflict, "conflict", err.Error()+": only failed or skipped deliveries are sent again", "id")
	case err != nil:
		s.internal(w, "retry delivery", err)
	default:
		writeJSON(w, http.StatusAccepted, h)
	}
}

// recoverDistribution sends again the failed and skipped deliveries of a live distribution
// since a time: {"since": "2026-01-01T00:00:00Z", "limit": 1000}.
func (s *Server) recoverDistribution(w http.ResponseWriter, r *http.Request) {
	if s.Log == nil {
		writeError(w, http.StatusNotImplemented, "not_implemented", "this server does not read the delivery log", "")
		return
	}
	body, ok := readBody(w, r, 4<<10)
	if !ok {
		return
	}
	var in struct {
		Since *time.Time `json:"since"`
		Limit int        `json:"limit"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "want {\"since\": \"2026-01-01T00:00:00Z\", \"limit\": 1000}: "+err.Error(), "since")
		return
	}
	if in.Since == nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "since is required: recover what failed or was skipped since this time (RFC 3339)", "since")
		return
	}
	if in.Limit < 0 || in.Limit > deliverylog.MaxRecover {
		writeError(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("limit: must be between 1 and %d", deliverylog.MaxRecover), "limit")
		return
	}
	id := r.PathValue("id")
	d, err := s.Store.GetDistribution(r.Context(), id)
	if s.failed(w, err, "get distribution", id) {
		return
	}
	if d.Status != distributions.StatusLive {
		writeError(w, http.StatusConflict, "conflict", fmt.Sprintf("distribution %s is %s: resume it first (hookflow distributions resume %s)", id, d.Status, id), "status")
		return
	}
	out, err := s.Log.Recover(r.Context(), id, *in.Since, in.Limit)
	if err != nil {
		s.internal(w, "recover distribution", err)
		return
	}
	writeJSON(w, http.StatusOK, list(out))
}

// listDeliveries lists the events of the delivery log, newest first, a page at a time:
// ?status=failed, ?distribution=distr_..., ?event_type=..., ?since=T&until=T (RFC 3339, on
// the events' start times), ?limit=N, and ?page_token= from the previous page's
// next_page_token.
func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request) {
	if s.Log == nil {
		writeError(w, http.StatusNotImplemented, "not_implemented", "this server does not read the delivery log", "")
		return
	}
	q := r.URL.Query()
	f := deliverylog.EventFilter{Status: q.Get("status"), DistributionID: q.Get("distribution"), EventType: q.Get("event_type"), PageToken: q.Get("page_token")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > deliverylog.MaxListLimit {
			writeError(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("limit: %q is not a number from 1 to %d", v, deliverylog.MaxListLimit), "limit")
			return
		}
		f.Limit = n
	}
	for _, bound := range []struct {
		name string
		at   *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		v := q.Get(bound.name)
		if v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("%s: %q is not an RFC 3339 time such as 2026-11-27T08:00:00Z", bound.name, v), bound.name)
			return
		}
		*bound.at = t
	}
	if _, err := f.Query(); err != nil {
		field, _, _ := strings.Cut(err.Error(), ":")
		writeError(w, http.StatusBadRequest, "invalid_request", err.Error(), field)
		return
	}
	page, err := s.Log.ListEvents(r.Context(), f)
	if errors.Is(err, deliverylog.ErrInvalidFilter) {
		msg := strings.TrimPrefix(err.Error(), deliverylog.ErrInvalidFilter.Error()+": ")
		field, _, _ := strings.Cut(msg, ":")
		writeError(w, http.StatusBadRequest, "invalid_request", msg, field)
		return
	}
	if err != nil {
		s.internal(w, "list deliveries", err)
		return
	}
	l := list(page.Events)
	l.HasMore, l.NextPageToken = page.NextPageToken != "", page.NextPageToken
	writeJSON(w, http.StatusOK, l)
}

func (s *Server) listNotifications(w http.ResponseWriter, r *http.Request) {
	unread := false
	switch v := r.URL.Query().Get("unread"); v {
	case "", "false", "0":
	case "true", "1":
		unread = true
	default:
		writeError(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("unread: %q is not true or false", v), "unread")
		return
	}
	ns, err := s.Store.ListNotifications(r.Context(), unread)
	if err != nil {
		s.internal(w, "list notifications", err)
		return
	}
	writeJSON(w, http.StatusOK, list(ns))
}

func (s *Server) readNotification(w http.ResponseWriter, r *http.Request) {
	n, err := s.Store.MarkNotificationRead(r.Context(), r.PathValue("id"), s.now())
	if s.failed(w, err, "read notification", r.PathValue("id")) {
		return
	}
	writeJSON(w, http.StatusOK, n)
}

// List is the shape of every list answer.
type List[T any] struct {
	Object string `json:"object"`
	Data   []T    `json:"data"`
	// Total counts Data, this page.
	Total int `json:"total"`
	// HasMore tells that a list read a page at a time (the delivery log) goes on: pass
	// NextPageToken as ?page_token= to read on.
	HasMore       bool   `json:"has_more"`
	NextPageToken string `json:"next_page_token,omitempty"`
}

func list[T any](items []T) List[T] {
	if items == nil {
		items = []T{}
	}
	return List[T]{Object: "list", Data: items, Total: len(items)}
}

// failed answers an error, if there is one: 404 for a missing record (what names the kind,
// e.g. "get distribution"), 500 otherwise. It reports whether it answered.
func (s *Server) failed(w http.ResponseWriter, err error, what, id string) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, store.ErrNotFound):
		kind := what[strings.LastIndex(what, " ")+1:]
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no %s with id %q", kind, id), "id")
	default:
		s.internal(w, what, err)
	}
	return true
}

func (s *Server) internal(w http.ResponseWriter, what string, err error) {
	s.logger().Error(what, "error", err)
	writeError(w, http.StatusInternalServerError, "internal", what+" failed; see the server log", "")
}

// ErrorBody is the shape of every error answer.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what went wrong and, when one field is at fault, which.
type ErrorDetail struct {
	Type     string                  `json:"type"`
	Message  string                  `json:"message"`
	Field    string                  `json:"field,omitempty"`
	Problems []distributions.Problem `json:"problems,omitempty"`
}

func writeError(w http.ResponseWriter, status int, typ, msg, field string) {
	writeJSON(w, status, ErrorBody{ErrorDetail{Type: typ, Message: msg, Field: field}})
}

func writeValidation(w http.ResponseWriter, status int, err error) {
	var ve *distributions.ValidationError
	if !errors.As(err, &ve) {
		writeError(w, status, "invalid_request", err.Error(), "")
		return
	}
	detail := ErrorDetail{Type: "validation_error", Message: ve.Error(), Problems: ve.Problems}
	if len(ve.Problems) == 1 {
		detail.Field = ve.Problems[0].Field
	}
	writeJSON(w, status, ErrorBody{detail})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("content-type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
