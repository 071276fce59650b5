package starter

import (
	"context"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/payloads"
	"github.com/hookflow/hookflow/workflows"
)

// StartDeliveries starts the Delivery workflow of the customers of a message in events,
// restricted to one distribution: its id is event/<key>, and key is the one event's id, or
// payloads.MessageGroupKey of several. already is true when a workflow of that id exists
// (running or closed): it is not started again, so a batch that runs twice starts each
// customer once. With the worker's own client, the first workflow task comes back with the
// start.
func (s *Starter) StartDeliveries(ctx context.Context, key string, events []payloads.Event, distributionID string) (already bool, err error) {
	if len(events) == 0 {
		return false, errors.New("no event to deliver")
	}
	in := workflows.DeliveryInput{Only: []string{distributionID}, LocalFirst: true, Candidates: s.candidates(ctx, events[0].Type)}
	// The Web UI's labels: the distribution alone, as the workflow restricts itself to it.
	var only *distributions.Snapshot
	if in.Candidates != nil {
		restricted := in.Candidates.Restrict(in.Only)
		only = &restricted
	}
	if len(events) == 1 {
		in.Event = events[0]
	} else {
		in.Events = events
	}
	opts := client.StartWorkflowOptions{
		ID:                                       workflows.WorkflowID(key),
		TaskQueue:                                s.TaskQueue,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		EnableEagerStart:                         true,
		TypedSearchAttributes:                    temporal.NewSearchAttributes(workflows.EventTypeKey.ValueSet(events[0].Type)),
		StaticSummary:                            workflows.MessageSummary(events[0].Type, key, len(events)),
		StaticDetails:                            workflows.EventDetails(events[0].Type, only),
	}
	_, err = s.Client.ExecuteWorkflow(ctx, opts, workflows.DeliveryWorkflow, in)
	var exists *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &exists) || temporal.IsWorkflowExecutionAlreadyStartedError(err) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("start delivery of %s: %w", key, err)
	}
	return false, nil
}

// The message workflow's input and progress, for the API.
type (
	MessageInput    = workflows.MessageInput
	MessageProgress = workflows.MessageProgress
)

// MessageWorkflowID is the id of the workflow of a message.
func MessageWorkflowID(messageID string) string { return workflows.MessageWorkflowID(messageID) }

// ErrNotCancelable is returned when a message's workflow refuses a cancel: sending began.
var ErrNotCancelable = errors.New("not cancelable")

// ErrMessageClosed is returned when a message's workflow has ended (sent, or canceled
// before) or does not exist.
var ErrMessageClosed = errors.New("the message's workflow is not running")

// StartMessage starts the Message workflow of a message, or finds the running one: a
// repeated call (a client retrying its POST) starts nothing new.
func (s *Starter) StartMessage(ctx context.Context, in workflows.MessageInput) (Handle, error) {
	h := Handle{EventID: in.MessageID, WorkflowID: workflows.MessageWorkflowID(in.MessageID)}
	opts := client.StartWorkflowOptions{
		ID:                       h.WorkflowID,
		TaskQueue:                s.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes:    temporal.NewSearchAttributes(workflows.EventTypeKey.ValueSet(workflows.ManualEventType)),
	}
	run, err := s.Client.ExecuteWorkflow(ctx, opts, workflows.MessageWorkflow, in)
	if err != nil {
		return Handle{}, fmt.Errorf("start the workflow of message %s: %w", in.MessageID, err)
	}
	h.RunID = run.GetRunID()
	return h, nil
}

// CancelMessage asks the Message workflow to cancel the message. It answers
// ErrNotCancelable (with the workflow's reason) once sending began, and ErrMessageClosed
// when the workflow is not running.
func (s *Starter) CancelMessage(ctx context.Context, messageID string) (workflows.MessageProgress, error) {
	var p workflows.MessageProgress
	h, err := s.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   workflows.MessageWorkflowID(messageID),
		UpdateName:   workflows.UpdateCancelMessage,
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(ctx, &p)
	}
	var appErr *temporal.ApplicationError
	var notFound *serviceerror.NotFound
	switch {
	case err == nil:
		return p, nil
	case errors.As(err, &appErr) && appErr.Type() == workflows.ErrTypeMessageNotCancelable:
		return p, fmt.Errorf("%w: %s", ErrNotCancelable, appErr.Message())
	case errors.As(err, &notFound):
		return p, fmt.Errorf("%w: %s", ErrMessageClosed, notFound.Message)
	}
	return p, fmt.Errorf("cancel message %s: %w", messageID, err)
}
