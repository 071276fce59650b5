package api

import (
	"net/http"

	"github.com/hookflow/hookflow/distributions"
)

// GET and PUT /v1/settings/notifications: how the operator hears of a delivery that failed
// for good (in the app, by e-mail), for distributions and for project webhooks.

// NotificationSettingsView is what the settings routes answer: the settings, and whether
// e-mail can go out at all.
type NotificationSettingsView struct {
	distributions.NotificationSettings
	// EmailConfigured is false when this installation has no SMTP server, so e-mail that
	// is on sends nothing; absent when the API cannot tell (it runs apart from the
	// workers). A PUT may send it back; it is ignored.
	EmailConfigured *bool `json:"email_configured,omitempty"`
}

func (s *Server) getNotificationSettings(w http.ResponseWriter, r *http.Request) {
	ns, err := s.Store.NotificationSettings(r.Context())
	if err != nil {
		s.internal(w, "read notification settings", err)
		return
	}
	writeJSON(w, http.StatusOK, NotificationSettingsView{ns, s.EmailConfigured})
}

func (s *Server) putNotificationSettings(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r, 16<<10)
	if !ok {
		return
	}
	// What GET answered may come back as it is: email_configured is read and ignored.
	in := NotificationSettingsView{NotificationSettings: distributions.DefaultNotificationSettings()}
	if err := distributions.DecodeStrict(body, &in); err != nil {
		writeValidation(w, http.StatusBadRequest, err)
		return
	}
	ns := in.NotificationSettings
	if err := ns.Validate(); err != nil {
		writeValidation(w, http.StatusUnprocessableEntity, err)
		return
	}
	if err := s.Store.SetNotificationSettings(r.Context(), ns); err != nil {
		s.internal(w, "save notification settings", err)
		return
	}
	writeJSON(w, http.StatusOK, NotificationSettingsView{ns, s.EmailConfigured})
}

// GET and PUT /v1/settings/breaker: the installation's default circuit breaker, for every
// distribution that sets no webhook.circuit_breaker of its own ({"default": null}: none).
// A change applies to events taken in after it.

func (s *Server) getBreakerSettings(w http.ResponseWriter, r *http.Request) {
	bs, err := s.Store.BreakerSettings(r.Context())
	if err != nil {
		s.internal(w, "read circuit-breaker settings", err)
		return
	}
	writeJSON(w, http.StatusOK, bs)
}

func (s *Server) putBreakerSettings(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r, 4<<10)
	if !ok {
		return
	}
	bs, err := distributions.DecodeBreakerSettings(body)
	if err != nil {
		writeValidation(w, http.StatusBadRequest, err)
		return
	}
	if err := bs.Validate(); err != nil {
		writeValidation(w, http.StatusUnprocessableEntity, err)
		return
	}
	if !bs.Default.On() {
		bs.Default = nil // failures 0 is no default, stored as such
	}
	if err := s.Store.SetBreakerSettings(r.Context(), bs); err != nil {
		s.internal(w, "save circuit-breaker settings", err)
		return
	}
	writeJSON(w, http.StatusOK, bs)
}
