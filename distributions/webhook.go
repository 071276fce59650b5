package distributions

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/hookflow/hookflow/payloads"
)

// ProjectWebhook subscribes one URL to project-level event types (spec sections 3 and 6).
// Unlike a distribution it has no conditions or action: it gets every event of its types,
// with `type` the system event type. Exhausted retries disable it (Active false).
type ProjectWebhook struct {
	ID          string   `json:"id"`
	URL         string   `json:"url"`
	Events      []string `json:"events"`
	Active      bool     `json:"active"`
	Description string   `json:"description,omitempty"`
	Headers     []Header `json:"headers,omitempty"`
	Version     string   `json:"version"`
	Timeout     Duration `json:"timeout,omitempty"`
	// RetrySchedule names a schedule or lists the intervals between attempts.
	RetrySchedule *RetrySchedule `json:"retry_schedule,omitempty"`
	Secret        string         `json:"secret,omitempty"`
	HasSecret     bool           `json:"has_secret,omitempty"`
	// Auth is as a distribution's webhook.auth.
	Auth *Auth `json:"auth,omitempty"`
	// RateLimit caps the deliveries to this webhook, as a distribution's webhook.rate_limit.
	RateLimit string `json:"rate_limit,omitempty"`
	// Revision counts the changes, as a distribution's version does.
	Revision  int       `json:"revision"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// DecodeWebhook reads a project webhook from JSON. A missing "active" means true.
func DecodeWebhook(body []byte) (ProjectWebhook, error) {
	w := ProjectWebhook{Active: true}
	return w, decodeStrict(body, &w)
}

// SameSettings says whether w and o are the same project webhook settings: everything but
// the id, the revision and the times of creation and change. An update that changes nothing
// is not a new revision, as for distributions.
func (w ProjectWebhook) SameSettings(o ProjectWebhook) bool {
	return bytes.Equal(w.settingsJSON(), o.settingsJSON())
}

// settingsJSON is w as JSON without what SameSettings leaves out.
func (w ProjectWebhook) settingsJSON() []byte {
	w.ID, w.Revision, w.CreatedAt, w.UpdatedAt, w.HasSecret = "", 0, time.Time{}, time.Time{}, false
	w.Auth = w.Auth.withoutFlags()
	b, _ := json.Marshal(w)
	return b
}

// Normalize fills the default payload version.
func (w *ProjectWebhook) Normalize() {
	if w.Version == "" {
		w.Version = payloads.DefaultVersion
	}
	w.HasSecret = false
	w.Auth.clearFlags()
}

// AsWebhook is the delivery settings of w in a distribution's terms, so both kinds share the
// sending path.
func (w ProjectWebhook) AsWebhook() Webhook {
	return Webhook{URL: w.URL, Headers: w.Headers, Version: w.Version, Timeout: w.Timeout,
		RetrySchedule: w.RetrySchedule, Secret: w.Secret, Auth: w.Auth, RateLimit: w.RateLimit}
}

// SubscribesTo reports whether w takes events of type eventType, whatever Active says.
func (w ProjectWebhook) SubscribesTo(eventType string) bool {
	for _, p := range w.Events {
		if payloads.MatchesPattern(p, eventType) {
			return true
		}
	}
	return false
}

// Redacted is w without secret values.
func (w ProjectWebhook) Redacted() ProjectWebhook {
	r := w.AsWebhook().redacted()
	w.Secret, w.HasSecret, w.Headers, w.Auth = "", r.HasSecret, r.Headers, r.Auth
	return w
}

// KeepSecrets fills what an update left empty from the stored version.
func (w *ProjectWebhook) KeepSecrets(stored ProjectWebhook) {
	hook := w.AsWebhook()
	keepWebhookSecrets(&hook, stored.AsWebhook())
	w.Secret, w.Headers, w.Auth = hook.Secret, hook.Headers, hook.Auth
}

// Validate lists every problem of a normalized project webhook.
func (w ProjectWebhook) Validate() error {
	var ps problems
	if msg := checkURL(w.URL); msg != "" {
		ps.add("url", "%s", msg)
	}
	if len(w.Events) == 0 {
		ps.add("events", "is required: at least one project event type such as voucher.created")
	}
	for i, e := range w.Events {
		if !validProjectPattern(e) {
			ps.add(fmt.Sprintf("events[%d]", i), "%s; or give a pattern such as voucher.*", payloads.UnknownTypeMessage(e, payloads.ProjectEventTypes))
		}
	}
	if len(w.Description) > 500 {
		ps.add("description", "longer than 500 characters")
	}
	validateHeaders(&ps, "headers", w.Headers)
	authHeaderConflicts(&ps, "headers", w.Auth, w.Headers)
	hook := w.AsWebhook()
	hook.EventName = "-"
	var hookProblems problems
	hook.validate(&hookProblems)
	for _, p := range hookProblems {
		if p.Field == "webhook.url" || p.Field == "webhook.event_name" || strings.HasPrefix(p.Field, "webhook.headers") {
			continue // checked above under their own names
		}
		ps = append(ps, Problem{strings.TrimPrefix(p.Field, "webhook."), p.Message})
	}
	return ps.err()
}

func validProjectPattern(p string) bool {
	if p == "*" {
		return true
	}
	for _, t := range payloads.ProjectEventTypes {
		if payloads.MatchesPattern(p, t) {
			return p == t || strings.HasSuffix(p, ".*")
		}
	}
	return false
}

// MatchWebhooks returns the active project webhooks that take events of eventType, and
// the ids of the inactive ones that would have, each ordered by id.
func MatchWebhooks(eventType string, candidates []ProjectWebhook) (matched []ProjectWebhook, skipped []Skip) {
	for _, w := range candidates {
		if !w.SubscribesTo(eventType) {
			continue
		}
		if w.Active {
			matched = append(matched, w)
		} else {
			skipped = append(skipped, Skip{DistributionID: w.ID, Reason: "inactive"})
		}
	}
	sortByID(matched, func(w ProjectWebhook) string { return w.ID })
	sortByID(skipped, func(s Skip) string { return s.DistributionID })
	return matched, skipped
}
