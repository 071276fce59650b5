// Package workflows holds the Delivery workflow: one run per event, from matching the
// distributions to the last attempt of every delivery. Deterministic code only.
package workflows

import (
	"errors"
	"net/url"
	"sort"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/payloads"
)

// TaskQueue is where hookflow's workers poll by default.
const TaskQueue = "hookflow"

// Names the workflow and its activities are registered under.
const (
	DeliveryWorkflow          = "Delivery"
	ActivityLoadCandidates    = "LoadCandidates"
	ActivityPost              = "Post"
	ActivityNotifyFailure     = "NotifyFailure"
	ActivityPauseDistribution = "PauseDistribution"
)

// WorkflowID is the id of the workflow of one event: submitting an event twice starts it once.
func WorkflowID(eventID string) string { return "event/" + eventID }

// Search attributes that make the Web UI's workflow list the delivery log.
var (
	EventTypeKey     = temporal.NewSearchAttributeKeyKeyword("HookflowEventType")
	DistributionsKey = temporal.NewSearchAttributeKeyKeywordList("HookflowDistributions")
	StatusKey        = temporal.NewSearchAttributeKeyKeyword("HookflowStatus")
	TargetHostsKey   = temporal.NewSearchAttributeKeyKeywordList("HookflowTargetHosts")
)

// SearchAttributes are the custom search attributes to register on the namespace.
var SearchAttributes = map[string]enumspb.IndexedValueType{
	EventTypeKey.GetName():     enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	DistributionsKey.GetName(): enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST,
	StatusKey.GetName():        enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	TargetHostsKey.GetName():   enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST,
}

// Values of HookflowStatus.
const (
	StatusDelivered = "delivered"
	StatusRetrying  = "retrying"
	StatusFailed    = "failed"
	StatusNoMatch   = "no_match"
	StatusSkipped   = "skipped"
)

// Reasons a delivery failed for good.
const (
	ReasonExhausted = "exhausted"
	ReasonGone      = "gone"
	ReasonRejected  = "rejected"
	ReasonInvalid   = "invalid"
)

// postMargin is added to the HTTP timeout for the Post activity's StartToClose timeout.
const postMargin = 5 * time.Second

// DeliveryInput starts a Delivery workflow.
type DeliveryInput struct {
	Event payloads.Event `json:"event"`
}

// DeliveryResult is what a Delivery workflow returns, for the Web UI and the API.
type DeliveryResult struct {
	Status     string            `json:"status"`
	Deliveries []DeliveryOutcome `json:"deliveries"`
	// Skipped lists the distributions that subscribe to the event but were not live.
	Skipped []string `json:"skipped,omitempty"`
}

// DeliveryOutcome is how one delivery ended.
type DeliveryOutcome struct {
	DeliveryID     string `json:"delivery_id"`
	DistributionID string `json:"distribution_id"`
	URL            string `json:"url"`
	Status         string `json:"status"`
	Attempts       int    `json:"attempts"`
	LastError      string `json:"last_error,omitempty"`
	Reason         string `json:"reason,omitempty"`
}

// Delivery matches the event against the live distributions and delivers it to each of
// them in parallel, every delivery on its distribution's retry schedule.
func Delivery(ctx workflow.Context, in DeliveryInput) (DeliveryResult, error) {
	ev := in.Event
	loadCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute},
	})
	var snap distributions.Snapshot
	if err := workflow.ExecuteActivity(loadCtx, ActivityLoadCandidates, ev.Type).Get(ctx, &snap); err != nil {
		return DeliveryResult{}, err
	}
	matched, skipped := distributions.Match(ev, snap.Candidates)
	result := DeliveryResult{Deliveries: make([]DeliveryOutcome, len(matched))}
	for _, d := range skipped {
		result.Skipped = append(result.Skipped, d.ID)
	}
	if len(matched) == 0 {
		result.Status = StatusNoMatch
		if len(skipped) > 0 {
			result.Status = StatusSkipped
		}
		return result, workflow.UpsertTypedSearchAttributes(ctx, StatusKey.ValueSet(result.Status))
	}

	firstAttempts, done := 0, 0
	wg := workflow.NewWaitGroup(ctx)
	for i, d := range matched {
		wg.Add(1)
		workflow.Go(ctx, func(ctx workflow.Context) {
			defer wg.Done()
			result.Deliveries[i] = deliver(ctx, ev, snap.ProjectID, d, func() { firstAttempts++ })
			done++
		})
	}
	// One visibility write once every first attempt is answered, one more at the end if the
	// status changed: each upsert costs the server a write.
	_ = workflow.Await(ctx, func() bool { return firstAttempts == len(matched) || done == len(matched) })
	status := StatusRetrying
	if done == len(matched) {
		status = finalStatus(result.Deliveries)
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx,
		StatusKey.ValueSet(status),
		DistributionsKey.ValueSet(distributionIDs(matched)),
		TargetHostsKey.ValueSet(targetHosts(matched)),
	); err != nil {
		return result, err
	}
	wg.Wait(ctx)
	result.Status = finalStatus(result.Deliveries)
	if result.Status != status {
		if err := workflow.UpsertTypedSearchAttributes(ctx, StatusKey.ValueSet(result.Status)); err != nil {
			return result, err
		}
	}
	return result, nil
}

// deliver runs every attempt of one delivery. firstAnswered is called once the first
// attempt has an outcome.
func deliver(ctx workflow.Context, ev payloads.Event, projectID string, d distributions.Distribution, firstAnswered func()) DeliveryOutcome {
	deliveryID := payloads.DeliveryID(ev.ID, d.ID)
	out := DeliveryOutcome{DeliveryID: deliveryID, DistributionID: d.ID, URL: d.Webhook.URL}
	logger := workflow.GetLogger(ctx)

	body, err := payloads.Render(ev, payloads.Target{
		ProjectID: projectID, SourceID: d.ID, SourceObject: "distribution",
		URL: d.Webhook.URL, EventName: d.Webhook.EventName, Version: d.Webhook.Version,
	}, deliveryID, workflow.Now(ctx))
	if err != nil {
		firstAnswered()
		out.Status, out.Reason, out.LastError = StatusFailed, ReasonInvalid, err.Error()
		notify(ctx, ev, d, out, false)
		return out
	}
	timeout := d.Webhook.AttemptTimeout()
	postCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: timeout + postMargin,
		// The workflow runs the retry schedule itself, on durable timers.
		RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 1},
	})
	req := payloads.Request{DeliveryID: deliveryID, SourceID: d.ID, URL: d.Webhook.URL, Body: body, Timeout: timeout}
	gaps := d.Webhook.Schedule().Gaps()
	start := workflow.Now(ctx)
	var offset time.Duration
	for {
		out.Attempts++
		var resp payloads.Response
		err := workflow.ExecuteActivity(postCtx, ActivityPost, req).Get(ctx, &resp)
		if out.Attempts == 1 {
			firstAnswered()
		}
		if err == nil {
			out.Status, out.LastError = StatusDelivered, ""
			return out
		}
		outcome, msg := attemptFailure(err)
		out.LastError = msg
		logger.Info("attempt failed", "delivery", deliveryID, "attempt", out.Attempts, "outcome", outcome, "error", msg)
		if outcome == payloads.Gone || outcome == payloads.Rejected {
			out.Reason = string(outcome)
			break
		}
		if out.Attempts > len(gaps) {
			out.Reason = ReasonExhausted
			break
		}
		// Retries are timed from the first attempt, so slow answers do not shift the schedule.
		offset += gaps[out.Attempts-1]
		if wait := start.Add(offset).Sub(workflow.Now(ctx)); wait > 0 {
			if err := workflow.Sleep(ctx, wait); err != nil {
				out.Status, out.Reason = StatusFailed, "canceled"
				return out
			}
		}
	}
	out.Status = StatusFailed
	pause := out.Reason == ReasonExhausted || out.Reason == ReasonGone
	if pause {
		actCtx := workflow.WithActivityOptions(ctx, sideEffectOptions)
		if err := workflow.ExecuteActivity(actCtx, ActivityPauseDistribution, d.ID).Get(ctx, nil); err != nil {
			logger.Error("pause distribution", "distribution", d.ID, "error", err)
			pause = false
		}
	}
	notify(ctx, ev, d, out, pause)
	return out
}

var sideEffectOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 30 * time.Second,
	RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute},
}

func notify(ctx workflow.Context, ev payloads.Event, d distributions.Distribution, out DeliveryOutcome, paused bool) {
	notice := distributions.FailureNotice{
		DeliveryID: out.DeliveryID, DistributionID: d.ID, DistributionName: d.Name,
		EventID: ev.ID, EventType: ev.Type, TargetURL: d.Webhook.URL,
		Attempts: out.Attempts, LastError: out.LastError, Reason: out.Reason, Paused: paused,
		WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID,
	}
	actCtx := workflow.WithActivityOptions(ctx, sideEffectOptions)
	if err := workflow.ExecuteActivity(actCtx, ActivityNotifyFailure, notice).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("notify failure", "delivery", out.DeliveryID, "error", err)
	}
}

// attemptFailure reads the outcome the Post activity put in the error type; anything else
// (a timeout, a lost worker) is worth another attempt.
func attemptFailure(err error) (payloads.Outcome, string) {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		switch o := payloads.Outcome(appErr.Type()); o {
		case payloads.Gone, payloads.Rejected, payloads.Retryable:
			return o, appErr.Message()
		}
		return payloads.Retryable, appErr.Message()
	}
	var timeoutErr *temporal.TimeoutError
	if errors.As(err, &timeoutErr) {
		return payloads.Retryable, "attempt timed out: " + timeoutErr.Error()
	}
	return payloads.Retryable, err.Error()
}

func finalStatus(outs []DeliveryOutcome) string {
	for _, o := range outs {
		if o.Status != StatusDelivered {
			return StatusFailed
		}
	}
	return StatusDelivered
}

func distributionIDs(ds []distributions.Distribution) []string {
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	return ids
}

func targetHosts(ds []distributions.Distribution) []string {
	seen := map[string]bool{}
	var hosts []string
	for _, d := range ds {
		u, err := url.Parse(d.Webhook.URL)
		if err != nil || seen[u.Hostname()] {
			continue
		}
		seen[u.Hostname()] = true
		hosts = append(hosts, u.Hostname())
	}
	sort.Strings(hosts)
	return hosts
}
