package activities

import (
	"context"
	"errors"
	"net/http"
	"sync"

	"go.temporal.io/sdk/temporal"

	"github.com/hookflow/hookflow/payloads"
)

// TestPost makes the one attempt of a distribution's test (workflows.TestDelivery): the
// same signing, headers and guarded client as Post, and the answer's headers besides. Any
// answer is a result, not an error, since the caller asked to see it; only a failure to
// send at all (the store unreachable) is an error. It counts no attempt in the metrics: a
// test is not a delivery.
func (a *Activities) TestPost(ctx context.Context, req payloads.Request) (payloads.TestAnswer, error) {
	rec := &headerRecorder{}
	sender := *a
	sender.HTTP = rec.wrap(a.HTTP)
	resp, err := sender.post(ctx, req)
	answer := payloads.TestAnswer{Response: resp, Outcome: payloads.Delivered, Headers: rec.header()}
	if err == nil {
		return answer, nil
	}
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		return payloads.TestAnswer{}, err
	}
	if appErr.HasDetails() {
		var details payloads.Response
		if appErr.Details(&details) == nil {
			answer.Response = details
		}
	}
	answer.Outcome, answer.Error = payloads.Outcome(appErr.Type()), appErr.Message()
	return answer, nil
}

// headerRecorder keeps the headers of the answer a client gets, for TestPost.
type headerRecorder struct {
	mu   sync.Mutex
	got  http.Header
	next http.RoundTripper
}

// wrap returns c with its transport recording the answer's headers.
func (r *headerRecorder) wrap(c *http.Client) *http.Client {
	if c == nil {
		c = http.DefaultClient
	}
	r.next = c.Transport
	if r.next == nil {
		r.next = http.DefaultTransport
	}
	wrapped := *c
	wrapped.Transport = r
	return &wrapped
}

func (r *headerRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if resp != nil {
		r.mu.Lock()
		r.got = resp.Header.Clone()
		r.mu.Unlock()
	}
	return resp, err
}

func (r *headerRecorder) header() map[string][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got
}
