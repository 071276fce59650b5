package client

import (
	"encoding/json"
	"errors"
	"time"
)

// The API's resources as its JSON has them (the schemas of api/openapi.yaml). They are the
// client's own, not the server's types, so that the client imports nothing of the server.
// Fields the server fills (ids, versions, times, has_secret) are left out of a request
// when empty.

// Event is an event (spec section 2); the API makes ID and CreatedAt when absent.
type Event struct {
	ID        string    `json:"id,omitempty"`
	Type      string    `json:"type"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	EntityID  string    `json:"entity_id,omitempty"`
	GroupID   string    `json:"group_id,omitempty"`
	// Source is where the event came from, a JSON object with at least "channel".
	Source json.RawMessage `json:"source,omitempty"`
	// Data holds the event's named objects (customer, order, voucher, ...).
	Data map[string]any `json:"data,omitempty"`
}

// Run is the workflow run an event (or a resend) started; ID is the event's id.
type Run struct {
	ID         string `json:"id"`
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
}

// Distribution is a standing rule: when an event of these types arrives and these
// conditions hold, do this action and send it to this webhook.
type Distribution struct {
	ID string `json:"id,omitempty"`
	// Name is required.
	Name string `json:"name"`
	// Status is live (the default), paused or draft.
	Status string `json:"status,omitempty"`
	// Version counts the changes; an update names the version it read.
	Version       int                 `json:"version,omitempty"`
	Labels        map[string]string   `json:"labels,omitempty"`
	Trigger       Trigger             `json:"trigger"`
	Action        Action              `json:"action"`
	Webhook       DistributionWebhook `json:"webhook"`
	Notifications *Notifications      `json:"notifications,omitempty"`
	CreatedAt     time.Time           `json:"created_at,omitzero"`
	UpdatedAt     time.Time           `json:"updated_at,omitzero"`
}

// Trigger says which events a distribution takes.
type Trigger struct {
	// Events are event types or patterns such as "customer.order.*".
	Events      []string   `json:"events"`
	Campaign    string     `json:"campaign,omitempty"`
	Segment     string     `json:"segment,omitempty"`
	LoyaltyTier string     `json:"loyalty_tier,omitempty"`
	Filter      string     `json:"filter,omitempty"` // a CEL expression
	LiveFrom    *time.Time `json:"live_from,omitempty"`
	LiveUntil   *time.Time `json:"live_until,omitempty"`
	Recipient   string     `json:"recipient,omitempty"`
}

// Action is what a distribution does with a matching event: plain_message,
// notify_promotion or publish_code.
type Action struct {
	Type          string          `json:"type"`
	Campaign      json.RawMessage `json:"campaign,omitempty"`
	PromotionTier json.RawMessage `json:"promotion_tier,omitempty"`
}

// DistributionWebhook is where and how a distribution delivers.
type DistributionWebhook struct {
	EventName string   `json:"event_name,omitempty"`
	URL       string   `json:"url"`
	Headers   []Header `json:"headers,omitempty"`
	// Version is the payload version, v2024-01-01 (the default) or v2018-01-01.
	Version  string `json:"version,omitempty"`
	Template string `json:"template,omitempty"`
	Raw      bool   `json:"raw,omitempty"`
	// Timeout of one attempt, such as "10s".
	Timeout       string         `json:"timeout,omitempty"`
	RetrySchedule *RetrySchedule `json:"retry_schedule,omitempty"`
	// Secret is the distribution's own signing secret; it is never shown back.
	Secret       string `json:"secret,omitempty"`
	HasSecret    bool   `json:"has_secret,omitempty"`
	TraceContext bool   `json:"trace_context,omitempty"`
	// Auth authenticates hookflow to the receiver; nil for none. An update that keeps what
	// Get answered keeps the secrets the API does not show.
	Auth *Auth `json:"auth,omitempty"`
	// RateLimit caps the deliveries, across every worker: "50/s", "1000/m", "100/h"; empty
	// for none.
	RateLimit string `json:"rate_limit,omitempty"`
	// CircuitBreaker holds new deliveries while the receiver keeps failing; nil follows the
	// installation's default, Failures 0 turns it off.
	CircuitBreaker *CircuitBreaker `json:"circuit_breaker,omitempty"`
	// Ordering sends deliveries one at a time per key, in intake order.
	Ordering *Ordering `json:"ordering,omitempty"`
}

// CircuitBreaker opens after Failures first attempts in a row failed; held deliveries ask
// again every ProbeInterval ("30s" when empty).
type CircuitBreaker struct {
	Failures      int    `json:"failures"`
	ProbeInterval string `json:"probe_interval,omitempty"`
}

// Auth is receiver authentication: an OAuth2 client-credentials token, a client
// certificate for mutual TLS, or both. ClientSecret and PrivateKey are never shown back
// (HasClientSecret, HasPrivateKey say they exist); an update may leave them empty while
// the token URL and client id (the certificate) stay the same.
type Auth struct {
	OAuth2            *OAuth2            `json:"oauth2,omitempty"`
	ClientCertificate *ClientCertificate `json:"client_certificate,omitempty"`
}

// OAuth2 is an OAuth2 client-credentials grant toward the receiver's token endpoint.
type OAuth2 struct {
	TokenURL        string   `json:"token_url"`
	ClientID        string   `json:"client_id"`
	ClientSecret    string   `json:"client_secret,omitempty"`
	HasClientSecret bool     `json:"has_client_secret,omitempty"`
	Scopes          []string `json:"scopes,omitempty"`
}

// ClientCertificate is a PEM certificate (with its chain) and PEM private key.
type ClientCertificate struct {
	Certificate   string `json:"certificate"`
	PrivateKey    string `json:"private_key,omitempty"`
	HasPrivateKey bool   `json:"has_private_key,omitempty"`
}

// Ordering is a distribution's ordered delivery: Key is a dotted path or a CEL expression
// over the event; empty, the whole distribution is one stream.
type Ordering struct {
	Key string `json:"key,omitempty"`
}

// Header is a custom header sent with every delivery; a secret one's value is never shown
// back.
type Header struct {
	Name   string `json:"name"`
	Value  string `json:"value,omitempty"`
	Secret bool   `json:"secret,omitempty"`
}

// RetrySchedule is a named schedule (voucherify, standard) or a list of intervals between
// attempts (durations such as "1m").
type RetrySchedule struct {
	Name      string
	Intervals []string
}

func (s RetrySchedule) MarshalJSON() ([]byte, error) {
	if s.Name != "" {
		return json.Marshal(s.Name)
	}
	return json.Marshal(append([]string{}, s.Intervals...))
}

func (s *RetrySchedule) UnmarshalJSON(b []byte) error {
	var name string
	if json.Unmarshal(b, &name) == nil {
		*s = RetrySchedule{Name: name}
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return errors.New("retry_schedule: want a name or a list of durations")
	}
	*s = RetrySchedule{Intervals: list}
	return nil
}

// Notifications say who hears of a delivery that failed for good.
type Notifications struct {
	Emails   []string `json:"emails,omitempty"`
	InApp    *bool    `json:"in_app,omitempty"`
	AlertURL string   `json:"alert_url,omitempty"`
}

// Webhook is a project webhook: one URL subscribed to project-level event types.
type Webhook struct {
	ID     string   `json:"id,omitempty"`
	URL    string   `json:"url"`
	Events []string `json:"events"`
	// Active is true when absent from a request; exhausted retries set it false.
	Active        *bool          `json:"active,omitempty"`
	Description   string         `json:"description,omitempty"`
	Headers       []Header       `json:"headers,omitempty"`
	Version       string         `json:"version,omitempty"`
	Timeout       string         `json:"timeout,omitempty"`
	RetrySchedule *RetrySchedule `json:"retry_schedule,omitempty"`
	Secret        string         `json:"secret,omitempty"`
	HasSecret     bool           `json:"has_secret,omitempty"`
	// Auth is as a distribution's.
	Auth *Auth `json:"auth,omitempty"`
	// RateLimit is as a distribution's.
	RateLimit string `json:"rate_limit,omitempty"`
	// Revision counts the changes; an update names the revision it read.
	Revision  int       `json:"revision,omitempty"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// MessageRequest is a manual message (Customer) or a bulk one (Customers) through a live
// distribution, sent after Delay ("10m" when empty, at most "168h").
type MessageRequest struct {
	ID        string `json:"id,omitempty"`
	Delay     string `json:"delay,omitempty"`
	Customer  any    `json:"customer,omitempty"`
	Customers []any  `json:"customers,omitempty"`
}

// Message is a message and its progress.
type Message struct {
	Object           string     `json:"object"`
	ID               string     `json:"id"`
	DistributionID   string     `json:"distribution_id"`
	DistributionName string     `json:"distribution_name,omitempty"`
	Status           string     `json:"status"` // scheduled, sending, sent, canceled
	SendAt           time.Time  `json:"send_at"`
	Total            int        `json:"total"`
	Sent             int        `json:"sent"`
	CreatedAt        time.Time  `json:"created_at"`
	UpdatedAt        time.Time  `json:"updated_at"`
	CanceledAt       *time.Time `json:"canceled_at"`
	FinishedAt       *time.Time `json:"finished_at"`
	Delay            string     `json:"delay"`
	WorkflowID       string     `json:"workflow_id"`
}

// Attempt is one POST of a delivery.
type Attempt struct {
	Number    int        `json:"number"`
	StartedAt *time.Time `json:"started_at,omitempty"`
	EndedAt   *time.Time `json:"ended_at,omitempty"`
	// Outcome is delivered, retryable, gone, rejected, timed_out, or running.
	Outcome    string `json:"outcome"`
	StatusCode int    `json:"status_code,omitempty"`
	LatencyMs  int64  `json:"latency_ms,omitempty"`
	Error      string `json:"error,omitempty"`
	Response   string `json:"response,omitempty"`
}

// Delivery is one event's delivery (whs_ id) to one distribution or project webhook, as
// it is now (its latest run), with every run and attempt.
type Delivery struct {
	ID             string          `json:"id"`
	EventID        string          `json:"event_id"`
	EventType      string          `json:"event_type"`
	DistributionID string          `json:"distribution_id"`
	URL            string          `json:"url,omitempty"`
	Status         string          `json:"status"`
	Reason         string          `json:"reason,omitempty"`
	LastError      string          `json:"last_error,omitempty"`
	Warnings       []string        `json:"warnings,omitempty"`
	WorkflowID     string          `json:"workflow_id"`
	RunID          string          `json:"run_id"`
	Body           json.RawMessage `json:"body,omitempty"`
	Attempts       []Attempt       `json:"attempts"`
	Runs           []DeliveryRun   `json:"runs"`
}

// DeliveryRun is one workflow run of a delivery: the event's own, or one that sent it
// again (Resend).
type DeliveryRun struct {
	WorkflowID string     `json:"workflow_id"`
	RunID      string     `json:"run_id"`
	Resend     bool       `json:"resend"`
	StartedAt  time.Time  `json:"started_at"`
	ClosedAt   *time.Time `json:"closed_at,omitempty"`
	Status     string     `json:"status"`
	Reason     string     `json:"reason,omitempty"`
	LastError  string     `json:"last_error,omitempty"`
	Warnings   []string   `json:"warnings,omitempty"`
	URL        string     `json:"url,omitempty"`
	Attempts   []Attempt  `json:"attempts"`
}

// EventSummary is one event of the delivery log, with its deliveries' ids.
type EventSummary struct {
	WorkflowID    string            `json:"workflow_id"`
	RunID         string            `json:"run_id"`
	EventType     string            `json:"event_type"`
	Status        string            `json:"status"`
	Distributions []string          `json:"distributions"`
	Deliveries    []string          `json:"deliveries"`
	StartedAt     time.Time         `json:"started_at"`
	ClosedAt      *time.Time        `json:"closed_at,omitempty"`
	SentAgain     map[string]string `json:"sent_again,omitempty"`
}

// Notification is a failure notification.
type Notification struct {
	ID                 string     `json:"id"`
	Kind               string     `json:"kind"`
	DeliveryID         string     `json:"delivery_id,omitempty"`
	DistributionID     string     `json:"distribution_id,omitempty"`
	DistributionName   string     `json:"distribution_name,omitempty"`
	EventID            string     `json:"event_id,omitempty"`
	EventType          string     `json:"event_type,omitempty"`
	TargetURL          string     `json:"target_url,omitempty"`
	Attempts           int        `json:"attempts,omitempty"`
	LastError          string     `json:"last_error,omitempty"`
	Reason             string     `json:"reason,omitempty"`
	DistributionPaused bool       `json:"distribution_paused,omitempty"`
	WorkflowID         string     `json:"workflow_id,omitempty"`
	Link               string     `json:"link,omitempty"`
	Message            string     `json:"message"`
	CreatedAt          time.Time  `json:"created_at"`
	ReadAt             *time.Time `json:"read_at"`
}

// NewKey asks for an API key with these scopes (events, manage, codec).
type NewKey struct {
	Name   string   `json:"name"`
	Scopes []string `json:"scopes"`
}

// APIKey is an API key's record, never the key itself.
type APIKey struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Scopes     []string   `json:"scopes"`
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

// CreatedKey is a new API key's record and, this once only, the key (hfk_...).
type CreatedKey struct {
	APIKey
	Key string `json:"key"`
}
