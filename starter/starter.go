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
}

// Start starts the Delivery workflow of ev, or finds the one a first submission of the same
// event id started.
func (s *Starter) Start(ctx context.Context, ev payloads.Event) (Handle, error) {
	h := Handle{EventID: ev.ID, WorkflowID: workflows.WorkflowID(ev.ID)}
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
	}
	// Without WorkflowExecutionErrorWhenAlreadyStarted, a repeated id returns the first
	// submission's run, running or closed, instead of an error.
	run, err := s.Client.ExecuteWorkflow(ctx, opts, workflows.DeliveryWorkflow, workflows.DeliveryInput{Event: ev, LocalFirst: true})
	if err != nil {
		return Handle{}, fmt.Errorf("start the workflow of event %s: %w", ev.ID, err)
	}
	h.RunID = run.GetRunID()
	return h, nil
}
