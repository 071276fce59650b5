package api

import (
	"errors"
	"net/http"

	"github.com/hookflow/hookflow/payloads"
)

// POST /v1/events: an event in, its delivery to every distribution that takes it started
// in Temporal.

// MaxEventBytes bounds the body of POST /v1/events.
const MaxEventBytes = 256 << 10

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
