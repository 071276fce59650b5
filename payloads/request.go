package payloads

import (
	"encoding/json"
	"time"
)

// Request is one delivery as the sender posts it. It carries no secret: the sender looks
// the signing secrets up at send time, so they never enter workflow history.
type Request struct {
	DeliveryID string `json:"delivery_id"`
	// SourceID is the distribution (or project webhook) the delivery belongs to.
	SourceID string          `json:"source_id"`
	URL      string          `json:"url"`
	Headers  []Header        `json:"headers,omitempty"`
	Body     json.RawMessage `json:"body"`
	Timeout  time.Duration   `json:"timeout"`
	// Attempt is the attempt's number in the delivery's schedule, 1 for the first; it
	// labels the attempt's HTTP span. Zero in histories recorded before it existed.
	Attempt int `json:"attempt,omitempty"`
}

// Header is a custom header of a delivery. A secret header travels without its value
// (Value is empty): the sender looks the value up, so it never enters workflow history.
type Header struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Secret bool   `json:"secret,omitempty"`
}

// Response is what a receiver answered to one attempt.
type Response struct {
	StatusCode int   `json:"status_code"`
	LatencyMs  int64 `json:"latency_ms"`
	// Body holds the first bytes of the response body.
	Body string `json:"body,omitempty"`
	// RetryAfterSeconds is the receiver's Retry-After on a 429 or 503, in seconds.
	RetryAfterSeconds int64 `json:"retry_after_seconds,omitempty"`
	// Request is what was sent, for an attempt made as a local activity: its history
	// records no input, so the response carries it for the delivery log.
	Request *Request `json:"request,omitempty"`
}

// Outcome is what an attempt's result means for the delivery (spec section 9).
type Outcome string

const (
	// Delivered: a 2xx answer.
	Delivered Outcome = "delivered"
	// Retryable: 3xx (redirects are not followed), 408, 409, 425, 429, 5xx, or no answer
	// (timeout, refused connection, DNS or TLS failure).
	Retryable Outcome = "retryable"
	// Gone: 410 stops retrying and pauses the distribution.
	Gone Outcome = "gone"
	// Rejected: any other 4xx stops retrying at once.
	Rejected Outcome = "rejected"
)

// ClassifyStatus maps an HTTP status code to an Outcome.
func ClassifyStatus(code int) Outcome {
	switch {
	case code >= 200 && code < 300:
		return Delivered
	case code == 410:
		return Gone
	case code == 408, code == 409, code == 425, code == 429, code >= 500, code >= 300 && code < 400:
		return Retryable
	case code >= 400 && code < 500:
		return Rejected
	}
	return Retryable
}
