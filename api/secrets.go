package api

import (
	"bytes"
	"encoding/json"
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
