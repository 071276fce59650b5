package starter

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/payloads"
	"github.com/hookflow/hookflow/workflows"
)

// enqueue puts the event's workflow on the stream of each ordered distribution that takes
// its type, starting the stream if it is not running, and returns them for the workflow's
// input. It runs before the event's workflow starts: an error leaves no delivery waiting
// for a turn that no stream will give, and a stream that grants the turn before the
// workflow exists asks again (workflows.Stream).
func (s *Starter) enqueue(ctx context.Context, ev payloads.Event, cands *distributions.Snapshot, workflowID string) ([]workflows.OrderedTarget, error) {
	ordered := workflows.OrderedTargets(cands, ev.Type, func(d distributions.Distribution) string {
		return d.Webhook.Ordering.StreamKey(ev)
	})
	for _, o := range ordered {
		_, err := s.Client.SignalWithStartWorkflow(ctx, o.Stream, workflows.SignalEnqueue,
			workflows.StreamItem{WorkflowID: workflowID},
			client.StartWorkflowOptions{ID: o.Stream, TaskQueue: s.TaskQueue},
			workflows.StreamWorkflow, workflows.StreamInput{DistributionID: o.DistributionID})
		if err != nil {
			return nil, fmt.Errorf("queue event %s for the ordered distribution %s: %w", ev.ID, o.DistributionID, err)
		}
	}
	return ordered, nil
}
