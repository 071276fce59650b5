package workflows

import (
	"fmt"
	"hash/fnv"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/payloads"
)

// Names of the circuit breaker's activities.
const (
	ActivityAskBreaker    = "AskBreaker"
	ActivityReportBreaker = "ReportBreaker"
	ActivityNotifyBreaker = "NotifyBreaker"
)

// StatusHeld is set when a delivery of the event is held by its distribution's open
// circuit breaker, until every first attempt is answered.
const StatusHeld = "held"

// breaker is the circuit breaker of one delivery's distribution (docs/distributions.md,
// "Circuit breaker"): asked before the first attempt, told its outcome after. Deliveries
// whose distribution has none (newBreaker nil) make no command of it, so their histories
// are the same as before breakers existed.
type breaker struct {
	cfg        distributions.CircuitBreaker
	t          target
	deliveryID string
	// lease is how long a probe may take: its attempt's timeout and the activity's margin.
	lease time.Duration
	// seq is the delivery's place in the hold order, once held.
	seq int64
	// asked is set by await and cleared by report: the next attempt is the one it allowed,
	// whose outcome the breaker counts. probed says it is a probe.
	asked, probed bool
}

// newBreaker is t's breaker for the delivery, nil when t has none (a project webhook never
// has: the breaker is a distribution's).
func newBreaker(t target, deliveryID string, timeout time.Duration) *breaker {
	if t.object != "distribution" || !t.webhook.CircuitBreaker.On() {
		return nil
	}
	return &breaker{cfg: *t.webhook.CircuitBreaker, t: t, deliveryID: deliveryID, lease: timeout + postMargin + 5*time.Second}
}

// breakerLocalOptions: a store that does not answer is waited out, as an open breaker is.
func breakerLocalOptions(ctx workflow.Context, summary string) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute},
		Summary:             summary,
	})
}

// jitter spreads the asks of held deliveries over a tenth of the probe interval, the same
// on every replay: it comes from the delivery id.
func (b *breaker) jitter() time.Duration {
	spread := b.cfg.Interval() / 10
	if spread <= 0 {
		return 0
	}
	h := fnv.New32a()
	h.Write([]byte(b.deliveryID))
	return time.Duration(h.Sum32()) % spread
}

// await asks the breaker before the first attempt and returns when the delivery may make
// it: at once when closed; as the probe, holding the probe lease; or, while another probes
// or the receiver rests, after waiting on durable timers and asking again. held is called
// before each wait; its schedule has not started while it waits. A returned error is the
// workflow's cancellation.
func (b *breaker) await(ctx workflow.Context, held func()) error {
	b.asked, b.probed = true, false
	lctx := breakerLocalOptions(ctx, fmt.Sprintf("Ask the circuit breaker of %s", labelName(b.t.name)))
	for {
		var ans distributions.BreakerAnswer
		err := workflow.ExecuteLocalActivity(lctx, ActivityAskBreaker, distributions.BreakerAsk{
			DistributionID: b.t.id, DeliveryID: b.deliveryID, ProbeInterval: b.cfg.Interval(), Lease: b.lease, HoldSeq: b.seq,
		}).Get(ctx, &ans)
		if err != nil {
			return err
		}
		if ans.HoldSeq != 0 {
			b.seq = ans.HoldSeq
		}
		wait, summary := ans.Wait, ""
		switch ans.Decision {
		case distributions.BreakerProbe:
			b.probed = true
			return nil
		case distributions.BreakerHold:
			held()
			wait += b.jitter()
			summary = fmt.Sprintf("Held by the open circuit breaker of %s: ask again in %s", labelName(b.t.name), wait.Round(time.Second))
		default:
			if wait <= 0 {
				return nil
			}
			summary = fmt.Sprintf("Circuit breaker of %s closed: go in hold order, in %s", labelName(b.t.name), wait.Round(time.Millisecond))
		}
		timer := workflow.NewTimerWithOptions(ctx, max(wait, time.Millisecond), workflow.TimerOptions{Summary: summary})
		if err := timer.Get(ctx, nil); err != nil {
			return err
		}
		if ans.Decision != distributions.BreakerHold {
			return nil
		}
	}
}

// hold is await, showing the delivery as held (and the event, through held) while it waits.
func (b *breaker) hold(ctx workflow.Context, state *deliveryState, changed func(), held func(workflow.Context)) error {
	err := b.await(ctx, func() {
		state.status = StatusHeld
		changed()
		held(ctx)
	})
	if state.status == StatusHeld {
		state.status = ""
		changed()
	}
	return err
}

// report tells the breaker how the first attempt went, and when that opened or closed it,
// notifies the operator (once per opening and closing, whichever worker reports it). Only a
// failure worth a retry counts against the receiver: a 4xx or 410 is an answer.
func (b *breaker) report(ctx workflow.Context, err error) {
	b.asked = false
	ok := err == nil
	lastError := ""
	if err != nil {
		outcome, msg, _ := attemptFailure(err)
		ok = outcome != payloads.Retryable
		lastError = msg
	}
	lctx := breakerLocalOptions(ctx, fmt.Sprintf("Report to the circuit breaker of %s", labelName(b.t.name)))
	var ch distributions.BreakerChange
	if err := workflow.ExecuteLocalActivity(lctx, ActivityReportBreaker, distributions.BreakerReport{
		DistributionID: b.t.id, DeliveryID: b.deliveryID, Failures: b.cfg.Failures, OK: ok, ProbeInterval: b.cfg.Interval(),
	}).Get(ctx, &ch); err != nil {
		workflow.GetLogger(ctx).Error("report to the circuit breaker", "distribution", b.t.id, "error", err)
		return
	}
	if ok {
		b.probed = false // it goes on as any delivery: delivered, or failed for good
	}
	if !ch.Opened && !ch.Closed {
		return
	}
	change := "closed"
	if ch.Opened {
		change = "opened"
	}
	opts := outboundOptions
	opts.Summary = fmt.Sprintf("Notify: circuit breaker of %s %s", labelName(b.t.name), change)
	actCtx := workflow.WithActivityOptions(ctx, opts)
	notice := distributions.BreakerNotice{
		DistributionID: b.t.id, DistributionName: b.t.name, TargetURL: b.t.webhook.URL, Change: change, Opens: ch.Opens,
		Failures: b.cfg.Failures, ProbeInterval: b.cfg.Interval(), LastError: lastError, DeliveryID: b.deliveryID,
		WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID, Notifications: b.t.notifications,
	}
	if err := workflow.ExecuteActivity(actCtx, ActivityNotifyBreaker, notice).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("circuit breaker notification", "distribution", b.t.id, "change", change, "error", err)
	}
}
