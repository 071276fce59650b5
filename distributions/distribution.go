// Package distributions is the distribution model: what a distribution is, how it is
// validated, and which distributions an event matches. Pure code, no I/O.
package distributions

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
const (
	ActionPlainMessage    = payloads.ActionPlainMessage
	ActionNotifyPromotion = payloads.ActionNotifyPromotion
	ActionPublishCode     = payloads.ActionPublishCode
)

// DefaultTimeout is the HTTP timeout of one attempt (spec section 9).
const DefaultTimeout = 10 * time.Second

// MaxTimeout bounds a distribution's HTTP timeout.
const MaxTimeout = 60 * time.Second

// Distribution is a standing rule: when an event of these types arrives and these
// conditions hold, do this action and send it to this webhook.
type Distribution struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Status string `json:"status"`
	// Version counts the changes: 1 when created, one more on every update, pause or resume.
	Version int `json:"version"`
	// Labels are free key/value pairs that group distributions, such as the ones a program
	// preset creates (program=loyalty, campaign=camp_1); hookflow only stores them.
	Labels        map[string]string `json:"labels,omitempty"`
	Trigger       Trigger           `json:"trigger"`
	Action        Action            `json:"action"`
	Webhook       Webhook           `json:"webhook"`
	Notifications Notifications     `json:"notifications"`
	CreatedAt     time.Time         `json:"created_at"`
	UpdatedAt     time.Time         `json:"updated_at"`
}

// Trigger says which events a distribution takes.
type Trigger struct {
	// Events are event types or patterns such as "customer.order.*".
	Events []string `json:"events"`
	// Campaign, when set, is the id of the campaign the event must concern.
	Campaign string `json:"campaign,omitempty"`
	// Segment, when set, is the id of the segment the event or its customer must be in.
	Segment string `json:"segment,omitempty"`
	// LoyaltyTier, when set, is the id of the loyalty tier the event must concern.
	LoyaltyTier string `json:"loyalty_tier,omitempty"`
	// Filter is a CEL expression over the event that must be true (the validation rule).
	Filter string `json:"filter,omitempty"`
	// LiveFrom and LiveUntil bound when the distribution takes events.
	LiveFrom  *time.Time `json:"live_from,omitempty"`
	LiveUntil *time.Time `json:"live_until,omitempty"`
	// Recipient, for referral program notifications, is whom the payload's customer object
	// is about: RecipientReferrer or RecipientReferee (see Trigger.EventFor).
	Recipient string `json:"recipient,omitempty"`
}

// Recipients of a referral program notification.
const (
	RecipientReferrer = "referrer"
	RecipientReferee  = "referee"
)

// EventFor returns ev as this trigger's recipient sees it. Events that name both sides of a
// referral (customer.referred, order events) carry the referee as customer and the referrer
// as referrer; for a referrer recipient the payload's customer is then the referrer. Every
// other event is returned unchanged, as is an event without a referrer object.
func (t Trigger) EventFor(ev payloads.Event) payloads.Event {
	if t.Recipient != RecipientReferrer {
		return ev
	}
	referrer := ev.Data["referrer"]
	if len(referrer) == 0 || string(referrer) == "null" {
		return ev
	}
	data := make(map[string]json.RawMessage, len(ev.Data))
	for k, v := range ev.Data {
		data[k] = v
	}
	data["customer"] = referrer
	ev.Data = data
	return ev
}

// namesBothSides reports whether events of type eventType carry the referrer beside the
// customer, so that a recipient can be chosen.
func namesBothSides(eventType string) bool {
	for _, o := range payloads.TriggerObjects(eventType) {
		if o == "referrer" {
			return true
		}
	}
	return false
}

// Action is what the distribution does with a matching event.
type Action struct {
	Type string `json:"type"`
	// Campaign is the campaign object that notify_promotion and publish_code add.
	Campaign json.RawMessage `json:"campaign,omitempty"`
	// PromotionTier is the promotion tier object that notify_promotion adds.
	PromotionTier json.RawMessage `json:"promotion_tier,omitempty"`
}

// Webhook is where and how a distribution delivers.
type Webhook struct {
	EventName string   `json:"event_name"`
	URL       string   `json:"url"`
	Headers   []Header `json:"headers,omitempty"`
	Version   string   `json:"version"`
	// Template, when set, replaces the content of data; with Raw it is the whole body.
	Template string   `json:"template,omitempty"`
	Raw      bool     `json:"raw,omitempty"`
	Timeout  Duration `json:"timeout,omitempty"`
	// RetrySchedule names a schedule or lists the intervals between attempts.
	RetrySchedule *RetrySchedule `json:"retry_schedule,omitempty"`
	// Secret is the distribution's own signing secret (whsec_...), used instead of the
	// project's. It is never shown back and never enters workflow history.
	Secret string `json:"secret,omitempty"`
	// HasSecret is set in what hookflow shows when the distribution has its own secret.
	HasSecret bool `json:"has_secret,omitempty"`
	// TraceContext sends the W3C trace context (traceparent, and tracestate when there is
	// one) of the delivery's trace to the receiver, when hookflow traces. Off by default: a
	// third party's endpoint should not learn hookflow's trace ids unasked. It changes
	// neither the delivery id nor what is signed.
	TraceContext bool `json:"trace_context,omitempty"`
	// Auth authenticates hookflow to the receiver (OAuth2 client credentials, a client
	// certificate); its secrets are kept like Secret.
	Auth *Auth `json:"auth,omitempty"`
	// RateLimit caps the deliveries to this distribution (or project webhook), counted
	// across every worker (ParseRateLimit; docs/distributions.md, "Rate limits"): those over
	// it wait for their turn. Empty is no limit.
	RateLimit string `json:"rate_limit,omitempty"`
	// CircuitBreaker holds new deliveries while the receiver keeps failing (breaker.go);
	// absent follows the installation's default, failures 0 is off.
	CircuitBreaker *CircuitBreaker `json:"circuit_breaker,omitempty"`
	// Ordering, when set, sends the distribution's deliveries one at a time per stream, in
	// intake order (ordering.go).
	Ordering *Ordering `json:"ordering,omitempty"`
}

// Header is a custom header sent with every delivery. A secret header's value is never
// shown back and never enters workflow history: the sender looks it up.
type Header = payloads.Header

// Notifications say who hears of a delivery that failed for good, beyond the installation's
// settings.
type Notifications struct {
	Emails []string `json:"emails,omitempty"`
	// InApp turns the in-app notification on or off for this distribution; unset follows
	// the installation's settings.
	InApp *bool `json:"in_app,omitempty"`
	// AlertURL receives a JSON alert.
	AlertURL string `json:"alert_url,omitempty"`
}

// InAppEnabled reports whether failures are recorded in-app, given the installation's
// setting.
func (n Notifications) InAppEnabled(installation bool) bool {
	if n.InApp != nil {
		return *n.InApp
	}
	return installation
}

// Recipients are who gets the failure e-mail: the installation's recipients when its
// e-mail is on, and the distribution's own, each once.
func (n Notifications) Recipients(installation ChannelSettings) []string {
	var out []string
	seen := map[string]bool{}
	add := func(list []string) {
		for _, r := range list {
			if key := strings.ToLower(r); !seen[key] {
				seen[key] = true
				out = append(out, r)
			}
		}
	}
	if installation.Email {
		add(installation.Recipients)
	}
	add(n.Emails)
	return out
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

// Redacted is d without secret values: what the API shows and what enters workflow
// history. HasSecret tells that an own secret exists.
func (d Distribution) Redacted() Distribution {
	d.Webhook = d.Webhook.redacted()
	return d
}

func (w Webhook) redacted() Webhook {
	if w.Secret != "" {
		w.HasSecret = true
	}
	w.Secret = ""
	w.Auth = w.Auth.redacted()
	if len(w.Headers) > 0 {
		hs := make([]Header, len(w.Headers))
		for i, h := range w.Headers {
			if h.Secret {
				h.Value = ""
			}
			hs[i] = h
		}
		w.Headers = hs
	}
	return w
}

// SameSettings says whether d and o are the same distribution settings: everything but
// the id, the version and the times of creation and change. An update that changes
// nothing is not a new version.
func (d Distribution) SameSettings(o Distribution) bool {
	return bytes.Equal(d.settingsJSON(), o.settingsJSON())
}

// settingsJSON is d as JSON without what SameSettings leaves out, its times in UTC.
func (d Distribution) settingsJSON() []byte {
	d.ID, d.Version, d.CreatedAt, d.UpdatedAt = "", 0, time.Time{}, time.Time{}
	d.Webhook.HasSecret = false
	d.Webhook.Auth = d.Webhook.Auth.withoutFlags()
	for _, t := range []**time.Time{&d.Trigger.LiveFrom, &d.Trigger.LiveUntil} {
		if *t != nil {
			utc := (*t).UTC()
			*t = &utc
		}
	}
	b, _ := json.Marshal(d)
	return b
}

// KeepSecrets fills what an update left empty from the stored version: an own secret that
// was not given again, and secret header values given empty. Updates can then round-trip
// what the API showed without erasing secrets.
func (d *Distribution) KeepSecrets(stored Distribution) {
	keepWebhookSecrets(&d.Webhook, stored.Webhook)
}

func keepWebhookSecrets(w *Webhook, stored Webhook) {
	if w.Secret == "" {
		w.Secret = stored.Secret
	}
	w.HasSecret = false
	w.Auth.keepSecrets(stored.Auth)
	for i, h := range w.Headers {
		if !h.Secret || h.Value != "" {
			continue
		}
		for _, old := range stored.Headers {
			if strings.EqualFold(old.Name, h.Name) && old.Secret {
				w.Headers[i].Value = old.Value
			}
		}
	}
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
	var d Distribution
	return d, decodeStrict(body, &d)
}

// DecodeStrict reads one JSON object into v as Decode does: an unknown field, a value of
// the wrong type, malformed JSON or data after the object is a *ValidationError naming
// the field when there is one.
func DecodeStrict(body []byte, v any) error { return decodeStrict(body, v) }

func decodeStrict(body []byte, v any) error {
	if !utf8.Valid(body) {
		return &ValidationError{[]Problem{{"", "the body is not valid UTF-8"}}}
	}
	if ps := FieldProblems(body, v); ps != nil {
		return ps
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeProblem(body, err)
	}
	if dec.More() {
		return &ValidationError{[]Problem{{"", "invalid JSON: data after the object"}}}
	}
	return nil
}

// FieldProblems is a *ValidationError listing every key of the JSON document body that
// v's type does not have (with the field meant) and every value its type refuses (such as
// a duration), each at its path; or nil.
func FieldProblems(body []byte, v any) *ValidationError {
	found := payloads.FieldProblems(body, v)
	if len(found) == 0 {
		return nil
	}
	ps := make([]Problem, len(found))
	for i, f := range found {
		if f.Err != nil {
			ps[i] = Problem{f.Path, f.Err.Error()}
			continue
		}
		msg := "unknown field"
		if near := payloads.Nearest(f.Key, f.Known, 1); len(near) > 0 {
			msg += fmt.Sprintf("; did you mean %s?", near[0])
		}
		msg += "; known fields at this level: " + strings.Join(f.Known, ", ")
		ps[i] = Problem{f.Path, msg}
	}
	return &ValidationError{ps}
}

func decodeProblem(body []byte, err error) error {
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typeErr):
		return &ValidationError{[]Problem{{typeErr.Field, fmt.Sprintf("wrong type: got a JSON %s", typeErr.Value)}}}
	case errors.Is(err, io.EOF):
		return &ValidationError{[]Problem{{"", "empty body: send a JSON object"}}}
	}
	if msg, ok := payloads.JSONSyntaxError(body, err); ok {
		return &ValidationError{[]Problem{{"", msg}}}
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return &ValidationError{[]Problem{{strings.Trim(name, `"`), "unknown field"}}}
	}
	return &ValidationError{[]Problem{{"", "invalid JSON: " + msg}}}
}
