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
	// The cache of receiver authentication is made before the copy, so that a test uses
	// (and warms) the worker's tokens and TLS transports.
	a.authCache()
	sender := *a
	sender.answerHeaders = rec.set
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
	mu  sync.Mutex
	got http.Header
}

// set keeps the headers of the answer.
func (r *headerRecorder) set(h http.Header) {
	r.mu.Lock()
	r.got = h.Clone()
	r.mu.Unlock()
}

func (r *headerRecorder) header() map[string][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got
}
