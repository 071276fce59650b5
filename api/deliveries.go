package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hookflow/hookflow/deliverylog"
	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/payloads"
)

// The delivery log, read from Temporal through Server.Log: list and get deliveries, send
// one again, and recover what a distribution failed or skipped since a time. A server
// without a Log answers 501 on these routes.

// listDeliveries lists the events of the delivery log, running ones first, then closed ones,
// most recently closed first (see deliverylog.ListEvents), a page at a time: ?status=failed, ?distribution=distr_...,
// ?event_type=..., ?event=evt_... (one event), ?since=T&until=T (RFC 3339, on
// the events' start times), ?limit=N, and ?page_token= from the previous page's
// next_page_token.
func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request) {
	if s.Log == nil {
		writeError(w, http.StatusNotImplemented, "not_implemented", "this server does not read the delivery log", "")
		return
	}
	q := r.URL.Query()
	f := deliverylog.EventFilter{Status: q.Get("status"), DistributionID: q.Get("distribution"), EventType: q.Get("event_type"), EventID: q.Get("event"), PageToken: q.Get("page_token")}
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

func (s *Server) getDelivery(w http.ResponseWriter, r *http.Request) {
	if s.Log == nil {
		writeError(w, http.StatusNotImplemented, "not_implemented", "this server does not read the delivery log", "")
		return
	}
	d, err := s.Log.Delivery(r.Context(), r.PathValue("id"))
	if errors.Is(err, deliverylog.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", notFoundMessage(err), "id")
		return
	}
	if err != nil {
		s.internal(w, "get delivery", err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// notFoundMessage is what a deliverylog.ErrNotFound says, without its "not found: ": the
// answer's type says that once.
func notFoundMessage(err error) string {
	return strings.TrimPrefix(err.Error(), deliverylog.ErrNotFound.Error()+": ")
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
		writeError(w, http.StatusNotFound, "not_found", notFoundMessage(err), "id")
	case errors.Is(err, deliverylog.ErrNotResendable):
		writeConflict(w, "id", err.Error()+": only failed or skipped deliveries are sent again",
			"a delivery still retrying is sent by its schedule: wait for it to end (hookflow deliveries show ID)")
	case err != nil:
		s.internal(w, "retry delivery", err)
	default:
		writeJSON(w, http.StatusAccepted, h)
	}
}

// recoverDistribution sends again the failed and skipped deliveries of a live distribution
// of the events that started since a time, and before another if given:
// {"since": "2026-01-01T00:00:00Z", "until": "2026-01-02T00:00:00Z", "limit": 1000}.
func (s *Server) recoverDistribution(w http.ResponseWriter, r *http.Request) {
	if s.Log == nil {
		writeError(w, http.StatusNotImplemented, "not_implemented", "this server does not read the delivery log", "")
		return
	}
	body, ok := readBody(w, r, maxRecoverBytes)
	if !ok {
		return
	}
	var in struct {
		Since json.RawMessage `json:"since"`
		Until json.RawMessage `json:"until"`
		Limit int             `json:"limit"`
	}
	const want = `want {"since": "2026-01-01T00:00:00Z", "until": "2026-01-02T00:00:00Z", "limit": 1000} (until and limit optional)`
	// A misspelt key (sinse, untill) would otherwise be dropped, and recover would send
	// more than was asked for: every unknown key is named, with the fields meant.
	if unknown := distributions.FieldProblems(body, in); unknown != nil {
		writeValidation(w, http.StatusBadRequest, unknown)
		return
	}
	if err := json.Unmarshal(body, &in); err != nil {
		msg, field := err.Error(), "since"
		if syntax, ok := payloads.JSONSyntaxError(body, err); ok {
			msg = syntax
		}
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			field = typeErr.Field
		}
		writeError(w, http.StatusBadRequest, "invalid_request", want+": "+msg, field)
		return
	}
	if len(in.Since) == 0 || string(in.Since) == "null" {
		writeError(w, http.StatusBadRequest, "invalid_request", "since is required: recover what failed or was skipped since this time (RFC 3339)", "since")
		return
	}
	var since, until time.Time
	if err := json.Unmarshal(in.Since, &since); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "since: not an RFC 3339 time such as \"2026-01-01T00:00:00Z\": "+err.Error(), "since")
		return
	}
	if len(in.Until) > 0 && string(in.Until) != "null" {
		if err := json.Unmarshal(in.Until, &until); err != nil {
			writeError(w, http.StatusBadRequest, "invalid_request", "until: not an RFC 3339 time such as \"2026-01-02T00:00:00Z\": "+err.Error(), "until")
			return
		}
		if !until.After(since) {
			writeError(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("until (%s) must be after since (%s): recover what failed or was skipped from since up to until", until.Format(time.RFC3339), since.Format(time.RFC3339)), "until")
			return
		}
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
		writeConflict(w, "status", fmt.Sprintf("distribution %s is %s", id, d.Status), fmt.Sprintf("resume it first (hookflow distributions resume %s)", id))
		return
	}
	out, err := s.Log.Recover(r.Context(), id, since, until, in.Limit)
	if err != nil {
		s.internal(w, "recover distribution", err)
		return
	}
	writeJSON(w, http.StatusOK, list(out))
}
