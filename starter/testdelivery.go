package starter

import (
	"context"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/hookflow/hookflow/payloads"
	"github.com/hookflow/hookflow/workflows"
)

// The test of a distribution's input and result, for the API.
type (
	TestInput   = workflows.TestInput
	TestResult  = workflows.TestResult
	TestRequest = workflows.TestRequest
)

// TestDistribution runs the test of a distribution (workflows.TestDelivery) and waits for
// its answer, at most workflows.TestTimeout. With a worker on the same client (hookflow
// dev) the first workflow task comes back with the start, so the attempt is made at once.
func (s *Starter) TestDistribution(ctx context.Context, in workflows.TestInput) (workflows.TestResult, error) {
	opts := client.StartWorkflowOptions{
		ID:        workflows.TestWorkflowID(payloads.DeliveryID(in.Event.ID, in.Distribution.ID)),
		TaskQueue: s.TaskQueue,
		// The test's event id is new every time: a conflict means a client sent it twice.
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowExecutionTimeout: workflows.TestTimeout,
		EnableEagerStart:         true,
		StaticSummary:            "Test of " + in.Distribution.Name + " · " + in.Event.Type,
	}
	run, err := s.Client.ExecuteWorkflow(ctx, opts, workflows.TestDeliveryWorkflow, in)
	if err != nil {
		return workflows.TestResult{}, fmt.Errorf("start the test of %s: %w", in.Distribution.ID, err)
	}
	var res workflows.TestResult
	err = run.Get(ctx, &res)
	var appErr *temporal.ApplicationError
	var timeout *temporal.TimeoutError
	switch {
	case errors.As(err, &appErr) && appErr.Type() == workflows.ErrTypeTestInvalid:
		return res, fmt.Errorf("%w: %s", ErrTestPayload, appErr.Message())
	case errors.As(err, &timeout) || errors.Is(err, context.DeadlineExceeded):
		return res, fmt.Errorf("%w: %v", ErrTestTimeout, err)
	case err != nil:
		return res, fmt.Errorf("the test of %s: %w", in.Distribution.ID, err)
	}
	return res, nil
}

// ErrTestPayload is the error of a test whose payload does not render for the sample event
// (the distribution's template).
var ErrTestPayload = errors.New("the payload does not render")

// ErrTestTimeout is the error of a test that got no result in time: no worker ran it.
var ErrTestTimeout = errors.New("no result in time")

// TestTimeout is the longest a test may take: the longest attempt, and time for a worker.
const TestTimeout = workflows.TestTimeout
