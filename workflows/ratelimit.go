package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/hookflow/hookflow/distributions"
)

// minRateWait is the shortest timer a rate limit's wait becomes: a timer shorter than the
// server's timer resolution only costs a workflow task.
const minRateWait = time.Millisecond

// takeRateToken asks the store for a token of a rate-limited delivery, as a local activity
// (a marker in history, no round trip through the task queues), and when told to wait sleeps
// on a durable timer and asks again, as one that waited its turn. It returns how long it
// waited. wait is called before each wait.
func takeRateToken(ctx workflow.Context, req distributions.RateTokenRequest, name string, attempt, attempts int, wait func()) (time.Duration, error) {
	began := workflow.Now(ctx)
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		// A store that does not answer is waited out, as the rate limit is.
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute},
		Summary:     RateTokenSummary(name, attempt, attempts),
	})
	for {
		var token distributions.RateToken
		if err := workflow.ExecuteLocalActivity(lctx, ActivityTakeRateToken, req).Get(ctx, &token); err != nil {
			return 0, err
		}
		if token.Wait <= 0 {
			return workflow.Now(ctx).Sub(began), nil
		}
		wait()
		timer := workflow.NewTimerWithOptions(ctx, max(token.Wait, minRateWait), workflow.TimerOptions{
			Summary: RateWaitSummary(name, req.RateLimit),
		})
		if err := timer.Get(ctx, nil); err != nil {
			return 0, err
		}
		req.Waited = true
	}
}
