package distributions

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hookflow/hookflow/payloads"
)

// Limits on a distribution's fields.
const (
	MaxURLLength    = 2048
	MaxHeaders      = 20
	MaxHeaderValue  = 4096
	MaxFilterLength = 4096
	MaxEmails       = 20
	MaxTemplate     = 32 << 10
	maxIDLength     = 128
)

// ReservedHeaders may not be set as custom headers: hookflow sets them, or they would break
// the request.
var ReservedHeaders = []string{
	"x-voucherify-signature", "webhook-id", "webhook-timestamp", "webhook-signature",
	"content-type", "host", "content-length", "transfer-encoding", "connection", "user-agent",
}

// The W3C trace context headers, sent to a distribution's receiver with
// webhook.trace_context.
const (
	TraceParentHeader = "traceparent"
	TraceStateHeader  = "tracestate"
)

var headerNamePattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

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
	d.Webhook.HasSecret = false
	d.Webhook.Auth.clearFlags()
}

// problems collects what is wrong, by field path.
type problems []Problem

func (ps *problems) add(field, format string, args ...any) {
	*ps = append(*ps, Problem{field, fmt.Sprintf(format, args...)})
}

func (ps problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	return &ValidationError{ps}
}

// hasControl reports whether s holds a control character (C0, DEL or C1) or is not UTF-8.
func hasControl(s string) bool {
	return !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || (r >= 0x7f && r < 0xa0) })
}

// Validate checks a normalized distribution and returns a *ValidationError listing every
// problem, or nil.
func (d Distribution) Validate() error {
	var ps problems
	switch {
	case strings.TrimSpace(d.Name) == "":
		ps.add("name", "is required")
	case len(d.Name) > 200:
		ps.add("name", "longer than 200 characters")
	case hasControl(d.Name):
		// A name is shown in tables, e-mails and logs: a NUL, a newline or an escape
		// sequence in it would cut or forge the lines it is printed on.
		ps.add("name", "contains a control character or invalid UTF-8")
	}
	switch d.Status {
	case StatusLive, StatusPaused, StatusDraft:
	default:
		ps.add("status", "%q is not one of live, paused, draft", d.Status)
	}
	validateLabels(&ps, d.Labels)
	d.Trigger.validate(&ps)
	d.Action.validate(&ps, d.Trigger.Events)
	d.Webhook.validate(&ps)
	d.validateTemplate(&ps)
	d.Notifications.validate(&ps)
	return ps.err()
}

// validateTemplate compiles the template and renders it on a sample event of each type the
// trigger takes: a template that is not JSON after rendering is refused now, never at send
// time.
func (d Distribution) validateTemplate(ps *problems) {
	if d.Webhook.Template == "" || len(d.Webhook.Template) > MaxTemplate {
		return
	}
	tpl, err := payloads.CompileTemplate(d.Webhook.Template)
	if err != nil {
		ps.add("webhook.template", "%v", err)
		return
	}
	for _, t := range payloads.DistributionTriggers {
		if !d.SubscribesTo(t) {
			continue
		}
		if err := tpl.Validate(payloads.SampleEvent(t)); err != nil {
			ps.add("webhook.template", "on a sample %s event: %v", t, err)
			return
		}
	}
}

func (t Trigger) validate(ps *problems) {
	if len(t.Events) == 0 {
		ps.add("trigger.events", "is required: at least one event type such as customer.order.paid")
	}
	for i, e := range t.Events {
		if !validPattern(e) {
			ps.add(fmt.Sprintf("trigger.events[%d]", i), "%s; or give a pattern such as customer.order.*", payloads.UnknownTypeMessage(e, payloads.DistributionTriggers))
		}
	}
	for field, id := range map[string]string{"trigger.campaign": t.Campaign, "trigger.segment": t.Segment, "trigger.loyalty_tier": t.LoyaltyTier} {
		if msg := checkID(id); msg != "" {
			ps.add(field, "%s", msg)
		}
	}
	if len(t.Filter) > MaxFilterLength {
		ps.add("trigger.filter", "longer than %d characters", MaxFilterLength)
	} else if t.Filter != "" {
		if _, err := compileFilter(t.Filter); err != nil {
			ps.add("trigger.filter", "%v", err)
		}
	}
	if t.LiveFrom != nil && t.LiveUntil != nil && !t.LiveUntil.After(*t.LiveFrom) {
		ps.add("trigger.live_until", "must be after live_from")
	}
	switch t.Recipient {
	case "", RecipientReferrer:
	case RecipientReferee:
		// Only events that carry both sides know who the referee is.
		for i, e := range t.Events {
			if !payloads.IsDistributionTrigger(e) || !namesBothSides(e) {
				ps.add(fmt.Sprintf("trigger.events[%d]", i), "%s does not name the referee: recipient referee takes customer.referred and customer.order.* events", e)
			}
		}
	default:
		ps.add("trigger.recipient", "%q is not one of referrer, referee", t.Recipient)
	}
}

// Limits on labels.
const (
	MaxLabels           = 16
	maxLabelKeyLength   = 63
	maxLabelValueLength = 128
)

var labelKeyPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9._/-]*[a-z0-9])?$`)

func validateLabels(ps *problems, labels map[string]string) {
	if len(labels) > MaxLabels {
		ps.add("labels", "at most %d labels", MaxLabels)
		return
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		field := "labels." + k
		switch v := labels[k]; {
		case len(k) > maxLabelKeyLength || !labelKeyPattern.MatchString(k):
			ps.add(field, "a label key is 1 to %d lower-case letters, digits and . _ / - (starting and ending with a letter or digit)", maxLabelKeyLength)
		case len(v) > maxLabelValueLength:
			ps.add(field, "longer than %d characters", maxLabelValueLength)
		case strings.ContainsFunc(v, func(r rune) bool { return r < ' ' || r == 0x7f }) || !utf8.ValidString(v):
			ps.add(field, "must not contain control characters")
		}
	}
}

// checkID checks an optional id such as a campaign's.
func checkID(id string) string {
	switch {
	case id == "":
		return ""
	case len(id) > maxIDLength:
		return fmt.Sprintf("longer than %d characters", maxIDLength)
	case !utf8.ValidString(id):
		return "is not valid UTF-8"
	case strings.ContainsFunc(id, func(r rune) bool { return r <= ' ' || r == 0x7f || unicode.IsSpace(r) || unicode.IsControl(r) }):
		// The same rule as the code pool routes' campaign id: a campaign this accepts can
		// always have codes imported.
		return "must not contain whitespace or control characters"
	}
	return ""
}

func (a Action) validate(ps *problems, events []string) {
	switch a.Type {
	case ActionPlainMessage:
		if len(a.Campaign) > 0 || len(a.PromotionTier) > 0 {
			ps.add("action", "plain_message takes no campaign or promotion_tier")
		}
	case ActionNotifyPromotion:
		for field, obj := range map[string]json.RawMessage{"action.campaign": a.Campaign, "action.promotion_tier": a.PromotionTier} {
			if msg := checkObject(obj); msg != "" {
				ps.add(field, "%s", msg)
			}
		}
	case ActionPublishCode:
		// The campaign's id names the code pool the codes come from (hookflow codes import
		// CAMPAIGN_ID -f FILE); the object itself is sent as the payload's campaign.
		if msg := checkObject(a.Campaign); msg != "" {
			ps.add("action.campaign", "%s", msg)
		} else {
			var c struct {
				ID string `json:"id"`
			}
			_ = json.Unmarshal(a.Campaign, &c)
			if msg := checkID(c.ID); msg != "" {
				ps.add("action.campaign.id", "%s", msg)
			}
		}
		if len(a.PromotionTier) > 0 {
			ps.add("action.promotion_tier", "publish_code takes no promotion_tier: it adds campaign, voucher and publication")
		}
	default:
		ps.add("action.type", "%q is not one of plain_message, notify_promotion, publish_code", a.Type)
		return
	}
	// An exact type must allow the action; a pattern must cover at least one type that
	// does, and matches only those (see SubscribesTo).
	for i, e := range events {
		if payloads.IsDistributionTrigger(e) {
			if !payloads.ActionAllowed(a.Type, e) {
				ps.add(fmt.Sprintf("trigger.events[%d]", i), "%s is not allowed for %s, which takes action.type %s", a.Type, e, orList(payloads.AllowedActions(e)))
			}
			continue
		}
		allowed := false
		for _, t := range payloads.DistributionTriggers {
			allowed = allowed || (payloads.MatchesPattern(e, t) && payloads.ActionAllowed(a.Type, t))
		}
		if validPattern(e) && !allowed {
			ps.add(fmt.Sprintf("trigger.events[%d]", i), "%s is not allowed for any type %q covers: choose another action.type or name the event types (plain_message takes every trigger but manual_distribution_schedule; notify_promotion and publish_code take segment, order, custom event and manual triggers)", a.Type, e)
		}
	}
}

// checkObject checks that an action's object is given as a JSON object with an id.
func checkObject(obj json.RawMessage) string {
	if len(bytes.TrimSpace(obj)) == 0 || bytes.Equal(bytes.TrimSpace(obj), []byte("null")) {
		return "is required: an object such as {\"id\": \"camp_1\", \"name\": \"...\"}"
	}
	var o map[string]json.RawMessage
	if json.Unmarshal(obj, &o) != nil {
		return "must be a JSON object"
	}
	var id string
	if json.Unmarshal(o["id"], &id) != nil || id == "" {
		return "must have a string id"
	}
	return ""
}

func (w Webhook) validate(ps *problems) {
	switch name := strings.TrimSpace(w.EventName); {
	case name == "":
		ps.add("webhook.event_name", "is required: the label sent as the payload's type, e.g. Order-paid")
	case len(name) > 200:
		ps.add("webhook.event_name", "longer than 200 characters")
	}
	if msg := checkURL(w.URL); msg != "" {
		ps.add("webhook.url", "%s", msg)
	}
	validateHeaders(ps, "webhook.headers", w.Headers)
	if !payloads.IsVersion(w.Version) {
		ps.add("webhook.version", "%q is not one of %s, %s", w.Version, payloads.Version2024, payloads.Version2018)
	}
	if len(w.Template) > MaxTemplate {
		ps.add("webhook.template", "longer than %d bytes", MaxTemplate)
	}
	if w.TraceContext {
		for i, h := range w.Headers {
			if h.Name == TraceParentHeader || h.Name == TraceStateHeader {
				ps.add(fmt.Sprintf("webhook.headers[%d].name", i), "%q is set by webhook.trace_context: leave it out, or turn trace_context off", h.Name)
			}
		}
	}
	w.Auth.validate(ps, w)
	authHeaderConflicts(ps, "webhook.headers", w.Auth, w.Headers)
	if w.Raw && w.Template == "" {
		ps.add("webhook.raw", "needs a template: raw sends the rendered template as the whole body")
	}
	if t := time.Duration(w.Timeout); t < 0 || t > MaxTimeout || (t > 0 && t < time.Second) {
		ps.add("webhook.timeout", "must be between 1s and %s", MaxTimeout)
	}
	if _, err := ParseRateLimit(w.RateLimit); err != nil {
		ps.add("webhook.rate_limit", "%v", err)
	}
	w.CircuitBreaker.check("webhook.circuit_breaker", ps)
	if w.Ordering != nil {
		w.Ordering.validate(ps)
	}
	if w.RetrySchedule != nil {
		if msg := w.RetrySchedule.check(); msg != "" {
			ps.add("webhook.retry_schedule", "%s", msg)
		}
	}
	if w.Secret != "" {
		if !strings.HasPrefix(w.Secret, payloads.SecretPrefix) {
			ps.add("webhook.secret", "must be whsec_ followed by base64, as `hookflow dev` prints")
		} else if _, err := payloads.StandardSignature(w.Secret, "", 0, nil); err != nil || len(w.Secret) < len(payloads.SecretPrefix)+32 {
			ps.add("webhook.secret", "must be whsec_ followed by the base64 of at least 24 random bytes")
		}
	}
}

func validateHeaders(ps *problems, field string, hs []Header) {
	if len(hs) > MaxHeaders {
		ps.add(field, "at most %d headers", MaxHeaders)
	}
	seen := map[string]bool{}
	for i, h := range hs {
		f := fmt.Sprintf("%s[%d]", field, i)
		switch {
		case !headerNamePattern.MatchString(h.Name):
			ps.add(f+".name", "%q: only lowercase letters, digits and single dashes between them", h.Name)
		case isReserved(h.Name):
			ps.add(f+".name", "%q is set by hookflow and may not be overridden", h.Name)
		case seen[h.Name]:
			ps.add(f+".name", "%q is given twice", h.Name)
		}
		seen[h.Name] = true
		switch {
		case len(h.Value) > MaxHeaderValue:
			ps.add(f+".value", "longer than %d characters", MaxHeaderValue)
		case strings.ContainsAny(h.Value, "\r\n\x00"):
			ps.add(f+".value", "must not contain CR, LF or NUL")
		}
	}
}

func isReserved(name string) bool {
	for _, r := range ReservedHeaders {
		if r == name {
			return true
		}
	}
	return false
}

func (n Notifications) validate(ps *problems) {
	if len(n.Emails) > MaxEmails {
		ps.add("notifications.emails", "at most %d addresses", MaxEmails)
	}
	for i, e := range n.Emails {
		a, err := mail.ParseAddress(e)
		if err != nil || a.Address != e {
			ps.add(fmt.Sprintf("notifications.emails[%d]", i), "%q is not an e-mail address such as ops@example.com", e)
		}
	}
	if n.AlertURL != "" {
		if msg := checkURL(n.AlertURL); msg != "" {
			ps.add("notifications.alert_url", "%s", msg)
		}
	}
}

func validPattern(p string) bool {
	if payloads.IsDistributionTrigger(p) || p == "*" {
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

func checkURL(raw string) string {
	if raw == "" {
		return "is required"
	}
	if len(raw) > MaxURLLength {
		return fmt.Sprintf("longer than %d characters", MaxURLLength)
	}
	if strings.ContainsFunc(raw, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return "must not contain whitespace or control characters"
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

// orList writes items as "a", "a or b", "a, b or c".
func orList(items []string) string {
	if len(items) <= 1 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}
