// Package client is the Go client of the hookflow HTTP API (api/openapi.yaml, served at
// /openapi.yaml): typed methods for events, distributions, deliveries, messages, project
// webhooks, notifications and API keys, and a generic core (Do, Create, Send, GetPage,
// All) for any route.
//
// It imports the standard library only, so a program that imports it compiles no
// Temporal. The hookflow CLI talks to the API through it.
//
// Every method takes a context. A request that creates or sends (SendEvent,
// CreateDistribution, RetryDelivery, ...) carries an Idempotency-Key, a new one unless
// WithIdempotencyKey gives it, and is sent again under that key when its answer may be
// lost (the connection failed after it was made, 502, 503, 504, or 409 with Retry-After
// while the same request is in flight): the API answers a repeat with the first answer and
// does the work once. A refusal of the API is an *Error, with the status, the type and
// every problem by field; a request that got no answer is a *NoAnswerError; a creating
// request that never got its answer is an *IncompleteError naming its key.
//
// Lists page by keyset (limit, page_token, has_more, next_page_token): the List methods
// read one page, the All methods iterate over every item of every page.
package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	// IdempotencyHeader is the request header that makes a POST idempotent.
	IdempotencyHeader = "Idempotency-Key"
	// MaxIdempotencyKeyLength bounds an Idempotency-Key, as the API does.
	MaxIdempotencyKeyLength = 255
	// CreateAttempts is how many times a creating request is sent at most.
	CreateAttempts = 4
	// MaxAnswerBytes bounds an answer the client reads; a longer one is an error, never
	// a truncated document.
	MaxAnswerBytes = 16 << 20
	// DefaultRetryWait is the first wait before a creating request is sent again; it
	// doubles at each attempt.
	DefaultRetryWait = 500 * time.Millisecond
	// DefaultTimeout bounds a request of the default *http.Client.
	DefaultTimeout = 30 * time.Second
)

// Client calls one hookflow API. It is safe for concurrent use.
type Client struct {
	base      string
	apiKey    string
	http      *http.Client
	userAgent string
	retryWait time.Duration
	keyPrefix string
}

// Option sets up a Client.
type Option func(*Client)

// WithAPIKey sends key (hfk_...) as "Authorization: Bearer key" on every request.
func WithAPIKey(key string) Option { return func(c *Client) { c.apiKey = key } }

// WithHTTPClient sends the requests through hc (its transport, timeout, proxy) instead of
// a client with DefaultTimeout.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// WithUserAgent sets the User-Agent of every request.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// WithRetryWait sets the first wait before a creating request is sent again
// (DefaultRetryWait); it doubles at each attempt, and a Retry-After of the API of up to
// 5 s replaces it.
func WithRetryWait(d time.Duration) Option { return func(c *Client) { c.retryWait = d } }

// WithKeyPrefix sets the start of the Idempotency-Keys the client makes up
// ("hookflow-go-" by default), so that the API's logs tell which program sent them.
func WithKeyPrefix(prefix string) Option { return func(c *Client) { c.keyPrefix = prefix } }

// New is a client of the API at baseURL, such as http://127.0.0.1:7280 (hookflow dev).
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("baseURL %q: want an http or https URL without a query, such as http://127.0.0.1:7280", baseURL)
	}
	c := &Client{
		base:      strings.TrimRight(baseURL, "/"),
		http:      &http.Client{Timeout: DefaultTimeout},
		userAgent: "hookflow-go-client",
		retryWait: DefaultRetryWait,
		keyPrefix: "hookflow-go-",
	}
	for _, o := range opts {
		o(c)
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: DefaultTimeout}
	}
	return c, nil
}

// BaseURL is the API's URL the client was made with, without a trailing slash.
func (c *Client) BaseURL() string { return c.base }

// Request is one request of the generic core, for a route the typed methods do not cover
// or a body that is not JSON (a CSV of customers, a text file of codes).
type Request struct {
	Method string
	// Path is the path under the base URL with its query, such as
	// /v1/distributions?dry_run=true.
	Path string
	// Body is sent as it is; nil sends none.
	Body []byte
	// ContentType is Body's; application/json when empty.
	ContentType string
	// IdempotencyKey goes in the Idempotency-Key header when set.
	IdempotencyKey string
	// Idempotent makes the request carry an Idempotency-Key (IdempotencyKey, or a new
	// one) and be sent again under it when its answer may be lost.
	Idempotent bool
}

// CallOption changes one request of a typed method or of Create.
type CallOption func(*Request)

// WithIdempotencyKey sends a creating request under key instead of a new one: a program
// that sends it again with the same key and input after a crash gets the first answer,
// and the work is done once.
func WithIdempotencyKey(key string) CallOption {
	return func(r *Request) { r.IdempotencyKey = key }
}

// Do sends a request with in as its JSON body and decodes a 2xx answer into out. in is
// nil (no body), a json.RawMessage or []byte (sent as it is), or a value marshaled to
// JSON (without escaping <, > and &). out is nil (the answer is dropped), a
// *json.RawMessage (the answer as it is), or a value to decode into; numbers decoded into
// an any are json.Number, so they keep their digits.
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	body, err := jsonBody(in)
	if err != nil {
		return err
	}
	return c.Send(ctx, Request{Method: method, Path: path, Body: body}, out)
}

// Create is Do for a POST that creates or sends: it carries an Idempotency-Key and is
// sent again under it when its answer may be lost (see Send).
func (c *Client) Create(ctx context.Context, path string, in, out any, opts ...CallOption) error {
	body, err := jsonBody(in)
	if err != nil {
		return err
	}
	req := Request{Method: http.MethodPost, Path: path, Body: body, Idempotent: true}
	for _, o := range opts {
		o(&req)
	}
	return c.Send(ctx, req, out)
}

// Send sends req and decodes a 2xx answer into out, as Do does. An idempotent request is
// sent again, under the same key, when the first answer may be lost or late: the
// connection failed after it was made (the API may have done the work and not answered),
// the API or a proxy in front of it was briefly unavailable (502, 503, 504), or the API
// is still working on the same request (409 with Retry-After). A refused connection is
// not sent again: nothing was sent. When the answer is still missing after CreateAttempts
// sends, or ctx ends before the next, the error is an *IncompleteError naming the key.
func (c *Client) Send(ctx context.Context, req Request, out any) error {
	if !strings.HasPrefix(req.Path, "/") {
		return fmt.Errorf("path %q: want one that starts with /, such as /v1/distributions", req.Path)
	}
	if req.Idempotent && req.IdempotencyKey == "" {
		req.IdempotencyKey = c.keyPrefix + rand.Text()
	}
	if err := CheckIdempotencyKey(req.IdempotencyKey); err != nil {
		return err
	}
	if !req.Idempotent {
		return c.send(ctx, req, out)
	}
	wait := c.retryWait
	var err error
	for attempt := 1; ; attempt++ {
		err = c.send(ctx, req, out)
		again, after := sendAgain(err)
		if !again {
			return err
		}
		if attempt == CreateAttempts || ctx.Err() != nil {
			return &IncompleteError{Key: req.IdempotencyKey, Attempts: attempt, Err: err}
		}
		if after > 0 && after <= 5*time.Second {
			wait = after
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return &IncompleteError{Key: req.IdempotencyKey, Attempts: attempt, Err: err}
		case <-t.C:
		}
		wait *= 2
	}
}

// CheckIdempotencyKey refuses a key the API would refuse: 1 to MaxIdempotencyKeyLength
// printable ASCII characters without spaces; "" passes (no key).
func CheckIdempotencyKey(key string) error {
	if len(key) > MaxIdempotencyKeyLength || strings.ContainsFunc(key, func(c rune) bool { return c < 0x21 || c > 0x7e }) {
		return fmt.Errorf("%s: 1 to %d printable ASCII characters without spaces, such as a UUID", IdempotencyHeader, MaxIdempotencyKeyLength)
	}
	return nil
}

// sendAgain says whether an idempotent request that ended in err is sent again, and after
// how long the API asked for (0: not said).
func sendAgain(err error) (bool, time.Duration) {
	var na *NoAnswerError
	if errors.As(err, &na) {
		return !errors.Is(na.Err, syscall.ECONNREFUSED) && !errors.Is(na.Err, context.Canceled), 0
	}
	var ae *Error
	if !errors.As(err, &ae) {
		return false, 0
	}
	switch {
	case ae.StatusCode == http.StatusBadGateway || ae.StatusCode == http.StatusServiceUnavailable || ae.StatusCode == http.StatusGatewayTimeout:
	case ae.StatusCode == http.StatusConflict && ae.RetryAfter > 0:
	default:
		return false, 0
	}
	return true, ae.RetryAfter
}

// send sends req once.
func (c *Client) send(ctx context.Context, req Request, out any) error {
	var rd io.Reader
	if req.Body != nil {
		rd = bytes.NewReader(req.Body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.Method, c.base+req.Path, rd)
	if err != nil {
		return fmt.Errorf("%s %s: %w", req.Method, req.Path, err)
	}
	if req.Body != nil {
		ct := req.ContentType
		if ct == "" {
			ct = "application/json"
		}
		hr.Header.Set("Content-Type", ct)
	}
	if c.apiKey != "" {
		hr.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	if c.userAgent != "" {
		hr.Header.Set("User-Agent", c.userAgent)
	}
	if req.IdempotencyKey != "" {
		hr.Header.Set(IdempotencyHeader, req.IdempotencyKey)
	}
	resp, err := c.http.Do(hr)
	if err != nil {
		return &NoAnswerError{Method: req.Method, URL: c.base + req.Path, Err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxAnswerBytes+1))
	if err != nil {
		return &NoAnswerError{Method: req.Method, URL: c.base + req.Path, Err: err}
	}
	if len(data) > MaxAnswerBytes {
		return fmt.Errorf("%s %s: the answer (HTTP %d) is larger than %d bytes", req.Method, req.Path, resp.StatusCode, MaxAnswerBytes)
	}
	if resp.StatusCode/100 != 2 {
		return newError(req, resp, data)
	}
	if out == nil || len(data) == 0 {
		return nil
	}
	if raw, ok := out.(*json.RawMessage); ok {
		*raw = append((*raw)[:0], data...)
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("%s %s: the answer (HTTP %d) is not the JSON expected: %w", req.Method, req.Path, resp.StatusCode, err)
	}
	return nil
}

// jsonBody is in as a request body: see Do.
func jsonBody(in any) ([]byte, error) {
	switch v := in.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		return v, nil
	case []byte:
		return v, nil
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(in); err != nil {
		return nil, fmt.Errorf("the request body: %w", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// Problem is one thing wrong with a request, at a JSON field path such as
// webhook.url or trigger.events[0].
type Problem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is an answer of the API that is not 2xx. Type, Message, Field, Problems and
// RequestID are the API's error body ({"error": {...}}); they are empty when the answer
// was not one (a proxy's page, say).
type Error struct {
	StatusCode int
	Type       string
	Message    string
	// Field is the field at fault, when one is.
	Field string
	// Problems lists every problem by field (a validation error).
	Problems  []Problem
	RequestID string
	// RetryAfter is the answer's Retry-After, 0 when it had none.
	RetryAfter time.Duration
	// Method and Path are the request's.
	Method, Path string
}

func newError(req Request, resp *http.Response, data []byte) *Error {
	retryAfter, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	e := &Error{StatusCode: resp.StatusCode, RetryAfter: time.Duration(max(retryAfter, 0)) * time.Second, Method: req.Method, Path: req.Path}
	var body struct {
		Error struct {
			Type      string    `json:"type"`
			Message   string    `json:"message"`
			Field     string    `json:"field"`
			Problems  []Problem `json:"problems"`
			RequestID string    `json:"request_id"`
		} `json:"error"`
	}
	if json.Unmarshal(data, &body) == nil && body.Error.Message != "" {
		b := body.Error
		e.Type, e.Message, e.Field, e.Problems, e.RequestID = b.Type, b.Message, b.Field, b.Problems, b.RequestID
	}
	if e.RequestID == "" {
		e.RequestID = resp.Header.Get("X-Request-Id")
	}
	return e
}

func (e *Error) Error() string {
	switch {
	case e.Type == "" && e.Message != "":
		return e.Message
	case e.Type == "": // not the API's error body: a proxy's, say
		return fmt.Sprintf("%s %s: HTTP %d", e.Method, e.Path, e.StatusCode)
	case len(e.Problems) > 1:
		var b strings.Builder
		fmt.Fprintf(&b, "%d %s:", e.StatusCode, e.Type)
		for _, p := range e.Problems {
			fmt.Fprintf(&b, "\n  %s: %s", p.Field, p.Message)
		}
		return b.String()
	}
	return fmt.Sprintf("%d %s: %s", e.StatusCode, e.Type, e.Message)
}

// FieldProblems is every problem by field: Problems, or the one field at fault with the
// message, or nil when the error names no field.
func (e *Error) FieldProblems() []Problem {
	if len(e.Problems) > 0 {
		return e.Problems
	}
	if e.Field != "" {
		return []Problem{{Field: e.Field, Message: e.Message}}
	}
	return nil
}

// NoAnswerError is a request that got no answer, or part of one: the API could not be
// reached, or the connection failed.
type NoAnswerError struct {
	Method, URL string
	Err         error
}

func (e *NoAnswerError) Error() string {
	// Err (a *url.Error) names the method and the URL already.
	return fmt.Sprintf("no answer from hookflow: %v", e.Err)
}

func (e *NoAnswerError) Unwrap() error { return e.Err }

// IncompleteError is a creating request that was sent Attempts times under Key without
// its answer: it may have been done. Sending it again under Key (WithIdempotencyKey)
// gets its answer without doing it twice.
type IncompleteError struct {
	Key      string
	Attempts int
	// Err is what the last send ended in.
	Err error
}

func (e *IncompleteError) Error() string {
	return fmt.Sprintf("%v\n  it may have been done: send it again with %s %s to get its answer without doing it twice", e.Err, IdempotencyHeader, e.Key)
}

func (e *IncompleteError) Unwrap() error { return e.Err }
