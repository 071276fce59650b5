// Package distributions is the distribution model: what a distribution is, how it is
// validated, and which distributions an event matches. Pure code, no I/O.
package distributions

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hookflow/hookflow/payloads"
)

// Statuses of a distribution.
const (
	StatusLive   = "live"
	StatusPaused = "paused"
	StatusDraft  = "draft"
)

// Action types (spec section 5).
const ActionPlainMessage = "plain_message"

// DefaultTimeout is the HTTP timeout of one attempt (spec section 9).
const DefaultTimeout = 10 * time.Second

// MaxTimeout bounds a distribution's HTTP timeout.
const MaxTimeout = 60 * time.Second

// Distribution is a standing rule: when an event of these types arrives, do this action and
// send it to this webhook.
type Distribution struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Status    string    `json:"status"`
	Trigger   Trigger   `json:"trigger"`
	Action    Action    `json:"action"`
	Webhook   Webhook   `json:"webhook"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Trigger says which events a distribution takes.
type Trigger struct {
	// Events are event types or patterns such as "customer.order.*".
	Events []string `json:"events"`
}

// Action is what the distribution does with a matching event.
type Action struct {
	Type string `json:"type"`
}

// Webhook is where and how a distribution delivers.
type Webhook struct {
	EventName string   `json:"event_name"`
	URL       string   `json:"url"`
	Version   string   `json:"version"`
	Timeout   Duration `json:"timeout,omitempty"`
	// RetrySchedule names a schedule or lists the intervals between attempts.
	RetrySchedule *RetrySchedule `json:"retry_schedule,omitempty"`
}

// AttemptTimeout is the HTTP timeout of one attempt.
func (w Webhook) AttemptTimeout() time.Duration {
	if w.Timeout <= 0 {
		return DefaultTimeout
	}
	return time.Duration(w.Timeout)
}

// Schedule is the retry schedule in force: the distribution's, or voucherify.
func (w Webhook) Schedule() RetrySchedule {
	if w.RetrySchedule == nil {
		return RetrySchedule{Name: ScheduleVoucherify}
	}
	return *w.RetrySchedule
}

// Duration is a time.Duration written in JSON as a Go duration string ("10s").
type Duration time.Duration

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a duration string such as "10s" or "1m30s".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("must be a duration string such as \"10s\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("must be a duration string such as \"10s\": %v", err)
	}
	*d = Duration(v)
	return nil
}

// Problem is one thing wrong with a distribution, at a JSON field path.
type Problem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ValidationError lists every problem found.
type ValidationError struct {
	Problems []Problem
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Field + ": " + p.Message
	}
	return strings.Join(parts, "; ")
}

// Decode reads a distribution from JSON, rejecting unknown fields and values of the wrong
// type with the field's name.
func Decode(body []byte) (Distribution, error) {
	if !utf8.Valid(body) {
		return Distribution{}, &ValidationError{[]Problem{{"", "the body is not valid UTF-8"}}}
	}
	var d Distribution
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return Distribution{}, decodeProblem(err)
	}
	if dec.More() {
		return Distribution{}, &ValidationError{[]Problem{{"", "invalid JSON: data after the distribution object"}}}
	}
	return d, nil
}

func decodeProblem(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		return &ValidationError{[]Problem{{typeErr.Field, fmt.Sprintf("wrong type: got a JSON %s", typeErr.Value)}}}
	case errors.As(err, &syntaxErr):
		return &ValidationError{[]Problem{{"", fmt.Sprintf("invalid JSON at byte %d: %v", syntaxErr.Offset, err)}}}
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return &ValidationError{[]Problem{{strings.Trim(name, `"`), "unknown field"}}}
	}
	return &ValidationError{[]Problem{{"", "invalid JSON: " + msg}}}
}

// Normalize fills defaults: status live, action plain_message, version v2024-01-01.
func (d *Distribution) Normalize() {
	if d.Status == "" {
		d.Status = StatusLive
	}
	if d.Action.Type == "" {
		d.Action.Type = ActionPlainMessage
	}
	if d.Webhook.Version == "" {
		d.Webhook.Version = payloads.DefaultVersion
	}
}

// Validate checks a normalized distribution and returns a *ValidationError listing every
// problem, or nil.
func (d Distribution) Validate() error {
	var ps []Problem
	add := func(field, format string, args ...any) {
		ps = append(ps, Problem{field, fmt.Sprintf(format, args...)})
	}
	switch {
	case strings.TrimSpace(d.Name) == "":
		add("name", "is required")
	case len(d.Name) > 200:
		add("name", "longer than 200 characters")
	}
	switch d.Status {
	case StatusLive, StatusPaused, StatusDraft:
	default:
		add("status", "%q is not one of live, paused, draft", d.Status)
	}
	if len(d.Trigger.Events) == 0 {
		add("trigger.events", "is required: at least one event type such as customer.order.paid")
	}
	for i, e := range d.Trigger.Events {
		if !validPattern(e) {
			add(fmt.Sprintf("trigger.events[%d]", i), "%q is not a distribution trigger (spec section 6) or a pattern such as customer.order.*", e)
		}
	}
	if d.Action.Type != ActionPlainMessage {
		add("action.type", "%q is not supported: use plain_message", d.Action.Type)
	}
	switch name := strings.TrimSpace(d.Webhook.EventName); {
	case name == "":
		add("webhook.event_name", "is required: the label sent as the payload's type, e.g. Order-paid")
	case len(name) > 200:
		add("webhook.event_name", "longer than 200 characters")
	}
	if msg := checkURL(d.Webhook.URL); msg != "" {
		add("webhook.url", "%s", msg)
	}
	if !payloads.IsVersion(d.Webhook.Version) {
		add("webhook.version", "%q is not one of %s, %s", d.Webhook.Version, payloads.Version2024, payloads.Version2018)
	}
	if t := time.Duration(d.Webhook.Timeout); t < 0 || t > MaxTimeout || (t > 0 && t < time.Second) {
		add("webhook.timeout", "must be between 1s and %s", MaxTimeout)
	}
	if d.Webhook.RetrySchedule != nil {
		if msg := d.Webhook.RetrySchedule.check(); msg != "" {
			add("webhook.retry_schedule", "%s", msg)
		}
	}
	if len(ps) == 0 {
		return nil
	}
	return &ValidationError{ps}
}

func validPattern(p string) bool {
	if payloads.IsDistributionTrigger(p) {
		return true
	}
	if p == "*" {
		return true
	}
	if !strings.HasSuffix(p, ".*") {
		return false
	}
	for _, t := range payloads.DistributionTriggers {
		if payloads.MatchesPattern(p, t) {
			return true
		}
	}
	return false
}

// MaxURLLength bounds webhook URLs.
const MaxURLLength = 2048

func checkURL(raw string) string {
	if raw == "" {
		return "is required"
	}
	if len(raw) > MaxURLLength {
		return fmt.Sprintf("longer than %d characters", MaxURLLength)
	}
	if strings.ContainsAny(raw, " \t\r\n") {
		return "must not contain whitespace"
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "is not a valid URL"
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "must be an absolute http or https URL"
	}
	if u.Host == "" || u.Hostname() == "" {
		return "has no host"
	}
	if u.User != nil {
		return "must not carry credentials; use custom headers instead"
	}
	if u.Fragment != "" {
		return "must not have a fragment"
	}
	return ""
}
