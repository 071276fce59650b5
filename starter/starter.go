// Package starter starts the workflows of events and messages, idempotently: the
// Delivery workflow of an event (workflow id event/<event id>) and the Message workflow of a
// manual or bulk message.
package starter

import (
	"context"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/payloads"
	"github.com/hookflow/hookflow/workflows"
)

// Handle identifies the workflow that delivers an event; every submission of the same
// event id gets the same handle.
type Handle struct {
	EventID    string `json:"id"`
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
}

// Starter starts Delivery workflows.
type Starter struct {
	Client    client.Client
	TaskQueue string
	// Candidates, when set, reads the distributions and project webhooks that subscribe to
	// an event type (activities.Activities.LoadCandidates does), for the workflow's input:
	// the workflow then reads nothing before its first POST. When it fails (the store is
	// down), the event is started without them, and the workflow reads them itself.
	Candidates func(ctx context.Context, eventType string) (distributions.Snapshot, error)
}

// candidates are what s.Candidates reads for eventType, nil without them.
func (s *Starter) candidates(ctx context.Context, eventType string) *distributions.Snapshot {
	if s.Candidates == nil {
		return nil
	}
	snap, err := s.Candidates(ctx, eventType)
	if err != nil {
		return nil
	}
	return &snap
}

// Start starts the Delivery workflow of ev, or finds the one a first submission of the same
// event id started.
func (s *Starter) Start(ctx context.Context, ev payloads.Event) (Handle, error) {
	h := Handle{EventID: ev.ID, WorkflowID: workflows.WorkflowID(ev.ID)}
	cands := s.candidates(ctx, ev.Type)
	opts := client.StartWorkflowOptions{
		ID:        h.WorkflowID,
		TaskQueue: s.TaskQueue,
		// A running workflow of the same event is reused, a closed one is not started again.
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes:    temporal.NewSearchAttributes(workflows.EventTypeKey.ValueSet(ev.Type)),
		// With a worker on the same client (hookflow dev), the first workflow task comes back
		// with the start: one round trip less. Elsewhere it is a normal start.
		EnableEagerStart: true,
		// What the Web UI shows in the list and atop the workflow's page: the event and the
		// distributions it goes to, from names, hosts and counts only (user metadata is
		// kept in clear unless the data converter encrypts).
		StaticSummary: workflows.EventSummary(ev.Type, ev.ID, cands),
		StaticDetails: workflows.EventDetails(ev.Type, cands),
	}
	// Without WorkflowExecutionErrorWhenAlreadyStarted, a repeated id returns the first
	// submission's run, running or closed, instead of an error.
	in := workflows.DeliveryInput{Event: ev, LocalFirst: true, Candidates: cands}
	// Ordered distributions: the event takes its place in their streams before the API
	// answers, so sequential intakes keep their order (ordering.go).
	ordered, err := s.enqueue(ctx, ev, cands, h.WorkflowID)
	if err != nil {
		return Handle{}, err
	}
	in.Ordered = ordered
	run, err := s.Client.ExecuteWorkflow(ctx, opts, workflows.DeliveryWorkflow, in)
	if err != nil {
		return Handle{}, fmt.Errorf("start the workflow of event %s: %w", ev.ID, err)
	}
	h.RunID = run.GetRunID()
	return h, nil
}
