package bench

import (
	"context"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/hookflow/hookflow/worker"
)

// The yardsticks: bare Temporal workflows on the same server in the same process, whose
// rates the bench divides hookflow's by, so that the ratios hold across machines.
//
//   - floor: the least Temporal can do per event with hookflow's worker options: eager
//     start, one local no-op activity, the workflow closing in its first task, no search
//     attributes, no store. What hookflow adds to the engine is the distance to it.
//   - activity: a workflow with one regular no-op activity, the SDK's default options.
//   - empty: a workflow that does nothing.
//
// Each yardstick's unit arrives when its no-op runs (the activity, or for the empty
// workflow its code), as a delivery arrives at the receiver.
const (
	floorTaskQueue    = "hookflow-bench-floor"
	baselineTaskQueue = "hookflow-bench-baseline"

	floorWorkflow    = "BenchFloor"
	activityWorkflow = "BenchBaselineActivity"
	emptyWorkflow    = "BenchBaselineEmpty"
	noopActivity     = "BenchNoop"
)

// arrivals routes a yardstick's unit (the workflow's index) to the tracker of the phase
// that runs: the no-ops run in this process.
type arrivals struct {
	mu sync.Mutex
	tr *tracker
}

func (a *arrivals) set(tr *tracker) {
	a.mu.Lock()
	a.tr = tr
	a.mu.Unlock()
}

func (a *arrivals) arrived(i int) {
	a.mu.Lock()
	tr := a.tr
	a.mu.Unlock()
	if tr != nil {
		tr.arrived(i)
	}
}

// startYardsticks starts the workers of the yardsticks on c: the floor's with hookflow's
// worker options, the others with the SDK's defaults.
func startYardsticks(c client.Client, a *arrivals) (stop func(), err error) {
	noop := func(_ context.Context, i int) error { a.arrived(i); return nil }
	floor := func(ctx workflow.Context, i int) error {
		ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 10 * time.Second})
		return workflow.ExecuteLocalActivity(ctx, noopActivity, i).Get(ctx, nil)
	}
	oneActivity := func(ctx workflow.Context, i int) error {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
		return workflow.ExecuteActivity(ctx, noopActivity, i).Get(ctx, nil)
	}
	empty := func(_ workflow.Context, i int) error {
		a.arrived(i) // a bench's shortcut: the workflow's code ran; replays count nothing twice
		return nil
	}

	fw := sdkworker.New(c, floorTaskQueue, worker.Options())
	fw.RegisterWorkflowWithOptions(floor, workflow.RegisterOptions{Name: floorWorkflow})
	fw.RegisterActivityWithOptions(noop, activity.RegisterOptions{Name: noopActivity})
	bw := sdkworker.New(c, baselineTaskQueue, sdkworker.Options{})
	bw.RegisterWorkflowWithOptions(oneActivity, workflow.RegisterOptions{Name: activityWorkflow})
	bw.RegisterWorkflowWithOptions(empty, workflow.RegisterOptions{Name: emptyWorkflow})
	bw.RegisterActivityWithOptions(noop, activity.RegisterOptions{Name: noopActivity})
	if err := fw.Start(); err != nil {
		return nil, err
	}
	if err := bw.Start(); err != nil {
		fw.Stop()
		return nil, err
	}
	return func() { bw.Stop(); fw.Stop() }, nil
}
