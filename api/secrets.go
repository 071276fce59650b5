package api

import (
	"bytes"
	"fmt"
	"net/http"
	"time"

	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/payloads"
	"github.com/hookflow/hookflow/store"
)

// The signing secrets routes: show the project's secret, which signs webhook-signature,
// and rotate it with an overlap in which the previous one signs too.

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
// Malformed JSON, an unknown field and an expire that is no duration string answer 400;
// an expire out of range answers 422; each names its field. Neither secret is logged.
func (s *Server) rotateSecret(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r, 4<<10)
	if !ok {
		return
	}
	var in struct {
		Expire *string `json:"expire"`
	}
	if len(bytes.TrimSpace(body)) > 0 {
		if err := distributions.DecodeStrict(body, &in); err != nil {
			writeValidation(w, http.StatusBadRequest, err)
			return
		}
	}
	overlap := 24 * time.Hour
	if in.Expire != nil {
		d, err := distributions.ParseDuration(*in.Expire)
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid_request", "expire: "+err.Error(), "expire")
			return
		}
		overlap = d
	}
	if overlap < 0 || overlap > MaxSecretOverlap {
		writeError(w, http.StatusUnprocessableEntity, "validation_error", fmt.Sprintf("expire: %s is not between 0s and %s", overlap, MaxSecretOverlap), "expire")
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
