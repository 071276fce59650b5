package api

import (
	"net/http"

	"github.com/hookflow/hookflow/distributions"
)

// GET and PUT /v1/settings/notifications: how the operator hears of a delivery that failed
// for good (in the app, by e-mail), for distributions and for project webhooks.

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
