// Package worker builds the Temporal worker that runs hookflow's workflows and activities.
package worker

import (
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/hookflow/hookflow/activities"
	"github.com/hookflow/hookflow/workflows"
)

// Options are the worker settings hookflow runs with. Deliveries are short and CPU-light on
// the worker side, so more pollers keep the server's matching busy rather than the worker
// waiting on long polls.
func Options() sdkworker.Options {
	return sdkworker.Options{
		MaxConcurrentWorkflowTaskPollers: 8,
		MaxConcurrentActivityTaskPollers: 8,
		WorkerStopTimeout:                30 * time.Second,
	}
}

// New returns a worker on taskQueue with the Delivery workflow and acts registered under
// the names the workflow calls them by. Start it with Start or Run.
func New(c client.Client, taskQueue string, acts *activities.Activities, opts sdkworker.Options) sdkworker.Worker {
	w := sdkworker.New(c, taskQueue, opts)
	Register(w, acts)
	return w
}

// Register adds the workflow and the activities to a registry (a worker, a replayer or a
// test environment).
func Register(r interface {
	sdkworker.WorkflowRegistry
	sdkworker.ActivityRegistry
}, acts *activities.Activities) {
	r.RegisterWorkflowWithOptions(workflows.Delivery, workflow.RegisterOptions{Name: workflows.DeliveryWorkflow})
	r.RegisterWorkflowWithOptions(workflows.Stream, workflow.RegisterOptions{Name: workflows.StreamWorkflow})
	r.RegisterActivityWithOptions(acts.LoadCandidates, activity.RegisterOptions{Name: workflows.ActivityLoadCandidates})
	r.RegisterActivityWithOptions(acts.Post, activity.RegisterOptions{Name: workflows.ActivityPost})
	r.RegisterActivityWithOptions(acts.NotifyFailure, activity.RegisterOptions{Name: workflows.ActivityNotifyFailure})
	r.RegisterActivityWithOptions(acts.PauseDistribution, activity.RegisterOptions{Name: workflows.ActivityPauseDistribution})
	r.RegisterActivityWithOptions(acts.DisableWebhook, activity.RegisterOptions{Name: workflows.ActivityDisableWebhook})
	r.RegisterActivityWithOptions(acts.SendFailureEmail, activity.RegisterOptions{Name: workflows.ActivitySendFailureEmail})
	r.RegisterActivityWithOptions(acts.SendFailureAlert, activity.RegisterOptions{Name: workflows.ActivitySendFailureAlert})
	r.RegisterActivityWithOptions(acts.PublishCode, activity.RegisterOptions{Name: workflows.ActivityPublishCode})
	r.RegisterActivityWithOptions(acts.AskBreaker, activity.RegisterOptions{Name: workflows.ActivityAskBreaker})
	r.RegisterActivityWithOptions(acts.ReportBreaker, activity.RegisterOptions{Name: workflows.ActivityReportBreaker})
	r.RegisterActivityWithOptions(acts.NotifyBreaker, activity.RegisterOptions{Name: workflows.ActivityNotifyBreaker})
	// The test of a distribution: one attempt now, outside any schedule.
	r.RegisterWorkflowWithOptions(workflows.TestDelivery, workflow.RegisterOptions{Name: workflows.TestDeliveryWorkflow})
	r.RegisterActivityWithOptions(acts.TestPost, activity.RegisterOptions{Name: workflows.ActivityTestPost})
	r.RegisterActivityWithOptions(acts.TakeRateToken, activity.RegisterOptions{Name: workflows.ActivityTakeRateToken})
	// Manual and bulk messages.
	r.RegisterWorkflowWithOptions(workflows.Message, workflow.RegisterOptions{Name: workflows.MessageWorkflow})
	r.RegisterActivityWithOptions(acts.StartMessageBatch, activity.RegisterOptions{Name: workflows.ActivityStartMessageBatch})
	r.RegisterActivityWithOptions(acts.RecordMessage, activity.RegisterOptions{Name: workflows.ActivityRecordMessage})
}
