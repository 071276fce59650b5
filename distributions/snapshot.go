package distributions

import (
	"strings"
	"time"
)

// Snapshot is what the matching activity reads from the store for one event: the project's
// id and the distributions that subscribe to the event's type, whatever their status. The
// workflow matches on it, so a delivery keeps what it matched even if the store changes.
type Snapshot struct {
	ProjectID  string         `json:"project_id"`
	Candidates []Distribution `json:"candidates"`
	// Webhooks are the project webhooks that subscribe to the event's type.
	Webhooks []ProjectWebhook `json:"webhooks,omitempty"`
}

// Restrict keeps only the candidates and webhooks whose ids are listed.
func (s Snapshot) Restrict(ids []string) Snapshot {
	keep := map[string]bool{}
	for _, id := range ids {
		keep[id] = true
	}
	out := Snapshot{ProjectID: s.ProjectID}
	for _, d := range s.Candidates {
		if keep[d.ID] {
			out.Candidates = append(out.Candidates, d)
		}
	}
	for _, w := range s.Webhooks {
		if keep[w.ID] {
			out.Webhooks = append(out.Webhooks, w)
		}
	}
	return out
}

// FailureNotice describes a delivery that failed for good, for the operator.
type FailureNotice struct {
	DeliveryID string `json:"delivery_id"`
	// DistributionID is the distribution's id, or the project webhook's (wh_...).
	DistributionID   string `json:"distribution_id"`
	DistributionName string `json:"distribution_name"`
	EventID          string `json:"event_id"`
	EventType        string `json:"event_type"`
	TargetURL        string `json:"target_url"`
	Attempts         int    `json:"attempts"`
	LastError        string `json:"last_error"`
	// Reason is "exhausted" (every retry used), "gone" (410) or "rejected" (other 4xx).
	Reason string `json:"reason"`
	// Paused is true when the distribution was paused (or the project webhook disabled).
	Paused     bool   `json:"paused"`
	WorkflowID string `json:"workflow_id"`
	// EventStartedAt is when the event's workflow started: what `distributions recover
	// --since` takes to send this delivery again, and every later one.
	EventStartedAt time.Time `json:"event_started_at,omitzero"`
	// Notifications are the distribution's own (none for a project webhook).
	Notifications Notifications `json:"notifications"`
}

// IsWebhook reports whether the failed delivery was to a project webhook.
func (f FailureNotice) IsWebhook() bool { return strings.HasPrefix(f.DistributionID, "wh_") }
