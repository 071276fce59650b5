package starter

import (
	"context"
	"errors"
	"testing"

	"github.com/hookflow/hookflow/distributions"
)

// TestCandidates: the candidates read at intake go into the workflow's input; when they
// cannot be read (the store is down), the event is still started, without them.
func TestCandidates(t *testing.T) {
	if got := (&Starter{}).candidates(t.Context(), "customer.order.paid"); got != nil {
		t.Errorf("no reader: %+v", got)
	}
	read := &Starter{Candidates: func(_ context.Context, eventType string) (distributions.Snapshot, error) {
		return distributions.Snapshot{ProjectID: "proj_1:" + eventType}, nil
	}}
	if got := read.candidates(t.Context(), "customer.order.paid"); got == nil || got.ProjectID != "proj_1:customer.order.paid" {
		t.Errorf("read: %+v", got)
	}
	down := &Starter{Candidates: func(context.Context, string) (distributions.Snapshot, error) {
		return distributions.Snapshot{}, errors.New("database is closed")
	}}
	if got := down.candidates(t.Context(), "customer.order.paid"); got != nil {
		t.Errorf("store down: %+v", got)
	}
}
