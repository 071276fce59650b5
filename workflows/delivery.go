// Package workflows holds the Delivery workflow: one run per event, from matching the
// distributions to the last attempt of every delivery. Deterministic code only.
package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
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
	ActivityDisableWebhook    = "DisableWebhook"
	ActivitySendFailureEmail  = "SendFailureEmail"
	ActivitySendFailureAlert  = "SendFailureAlert"
	ActivityTakeRateToken     = "TakeRateToken"
)

// WorkflowID is the id of the workflow of one event: submitting an event twice starts it once.
func WorkflowID(eventID string) string { return "event/" + eventID }

// Search attributes that make the Web UI's workflow list the delivery log.
var (
	EventTypeKey     = temporal.NewSearchAttributeKeyKeyword("HookflowEventType")
	DistributionsKey = temporal.NewSearchAttributeKeyKeywordList("HookflowDistributions")
	StatusKey        = temporal.NewSearchAttributeKeyKeyword("HookflowStatus")
	TargetHostsKey   = temporal.NewSearchAttributeKeyKeywordList("HookflowTargetHosts")
	// DeliveriesKey holds the delivery ids (whs_...), so a delivery can be found by its id.
	DeliveriesKey = temporal.NewSearchAttributeKeyKeywordList("HookflowDeliveries")
)

// SearchAttributes are the custom search attributes to register on the namespace.
var SearchAttributes = map[string]enumspb.IndexedValueType{
	EventTypeKey.GetName():     enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	DistributionsKey.GetName(): enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST,
	StatusKey.GetName():        enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	TargetHostsKey.GetName():   enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST,
	DeliveriesKey.GetName():    enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST,
}

// Values of HookflowStatus.
const (
	StatusDelivered = "delivered"
	StatusRetrying  = "retrying"
	StatusFailed    = "failed"
	StatusNoMatch   = "no_match"
	StatusSkipped   = "skipped"
	// StatusThrottled is set the first time a delivery of the event waits for its
	// distribution's rate limit, until every first attempt is answered.
	StatusThrottled = "throttled"
)

// Reasons a delivery failed for good.
const (
	ReasonExhausted = "exhausted"
	ReasonGone      = "gone"
	ReasonRejected  = "rejected"
	ReasonInvalid   = "invalid"
)

// localFirstVersion names the change that made the first attempts local activities, for
// the workflows whose input does not say it (LocalFirst): those started before the input
// said it, and those an older starter starts.
const localFirstVersion = "local-first-attempt"

// MaxTargetsPerEvent bounds the deliveries of one event; those past it are recorded as
// skipped, and can be sent again later.
const MaxTargetsPerEvent = 500

// maxSearchAttributeBytes keeps each list search attribute under the server's limit on one
// value (2 KiB by default): past it the server would refuse the upsert and end the workflow.
// Lists longer than this are cut; what is cut is still in the workflow's result and history.
const maxSearchAttributeBytes = 1800

// capList keeps the leading items of ids whose JSON encoding fits maxSearchAttributeBytes.
func capList(ids []string) []string {
	size := 2 // []
	for i, id := range ids {
		size += len(id) + 3 // "id",
		if size > maxSearchAttributeBytes {
			return ids[:i]
		}
	}
	return ids
}

// postMargin is added to the HTTP timeout for the Post activity's StartToClose timeout.
const postMargin = 5 * time.Second

// DeliveryInput starts a Delivery workflow.
type DeliveryInput struct {
	Event payloads.Event `json:"event"`
	// Events, when set, are delivered in place of Event: the customers of a message, many
	// deliveries in one workflow (as an event that many distributions take is), each with
	// its own delivery id, schedule and attempts. They have one type.
	Events []payloads.Event `json:"events,omitempty"`
	// Only, when set, restricts the run to these distributions and project webhooks: a
	// delivery sent again (a retry or a recovery) goes to its own target alone.
	Only []string `json:"only,omitempty"`
	// Candidates, when set, are the distributions and project webhooks that subscribe to the
	// event's type, read by the starter at intake (redacted, as LoadCandidates reads them):
	// the workflow then needs no activity to read them. Without them it reads them itself.
	Candidates *distributions.Snapshot `json:"candidates,omitempty"`
	// LocalFirst runs the candidates' read and every first attempt as local activities in
	// the first workflow task; every starter sets it. It is the input's rather than a
	// GetVersion marker's to say, because GetVersion also upserts TemporalChangeVersion:
	// one more history event, and one more visibility write per event when the workflow
	// is still running as the server writes it. Without it (workflows started before it
	// existed), the version marker decides, as it did.
	LocalFirst bool `json:"local_first,omitempty"`
	// Ordered are the streams the starter put the event on at intake (ordering.go): each
	// of these deliveries waits for its turn, and says when it is final. Only set with
	// Candidates; without it no delivery waits, as before ordering existed.
	Ordered []OrderedTarget `json:"ordered,omitempty"`
}

// DeliveryResult is what a Delivery workflow returns, for the Web UI and the API.
type DeliveryResult struct {
	Status     string            `json:"status"`
	Deliveries []DeliveryOutcome `json:"deliveries"`
	// Skipped lists the distributions (and project webhooks) that would have taken the event
	// but were paused, drafts or inactive: it can be sent to them again later.
	Skipped []distributions.Skip `json:"skipped,omitempty"`
	// FilterErrors lists the distributions whose filter failed on this event: no match. Their
	// delivery ids are in the HookflowDeliveries search attribute, so the delivery log shows
	// them with the filter's error; EventID is set as a skip's is.
	FilterErrors []distributions.Skip `json:"filter_errors,omitempty"`
}

// DeliveryOutcome is how one delivery ended.
type DeliveryOutcome struct {
	DeliveryID string `json:"delivery_id"`
	// EventID is the event delivered, when the workflow delivers many (Events); empty for
	// the workflow's one event.
	EventID string `json:"event_id,omitempty"`
	// DistributionID is the distribution's id, or the project webhook's (wh_...).
	DistributionID string `json:"distribution_id"`
	// SourceObject is "distribution" or "webhook".
	SourceObject string `json:"source_object"`
	// Version is the distribution's (or webhook's) version that matched.
	Version   int      `json:"version"`
	URL       string   `json:"url"`
	Status    string   `json:"status"`
	Attempts  int      `json:"attempts"`
	LastError string   `json:"last_error,omitempty"`
	Reason    string   `json:"reason,omitempty"`
	Warnings  []string `json:"warnings,omitempty"`
}

// target is what one delivery goes to: a distribution or a project webhook, in the terms
// the sending path needs.
type target struct {
	id, object, name string
	version          int
	eventName        string
	webhook          distributions.Webhook
	actionObjects    []payloads.NamedObject
	notifications    distributions.Notifications
	// trigger is the distribution's trigger: its recipient decides whom the payload's
	// customer is about.
	trigger distributions.Trigger
	// publishCampaign is the campaign object of a publish_code action, whose pool the
	// delivery takes a code from before rendering (codes.go); nil for other actions.
	publishCampaign json.RawMessage
}

func distributionTarget(d distributions.Distribution) target {
	t := target{id: d.ID, object: "distribution", name: d.Name, version: d.Version,
		eventName: d.Webhook.EventName, webhook: d.Webhook, notifications: d.Notifications, trigger: d.Trigger}
	if d.Action.Type == distributions.ActionNotifyPromotion {
		t.actionObjects = []payloads.NamedObject{
			{Name: "campaign", Value: d.Action.Campaign},
			{Name: "promotion_tier", Value: d.Action.PromotionTier},
		}
	}
	if d.Action.Type == distributions.ActionPublishCode {
		t.publishCampaign = d.Action.Campaign
		if len(t.publishCampaign) == 0 {
			t.publishCampaign = json.RawMessage(`null`) // no campaign: the activity refuses it
		}
	}
	return t
}

// request renders the body of the delivery of ev to t, created at now, and the request
// that posts it, with the warnings of its template. A real delivery and the test of a
// distribution (testdelivery.go) both send what it makes.
func (t target) request(ev payloads.Event, projectID, deliveryID string, now time.Time) (payloads.Request, []string, error) {
	body, warnings, err := payloads.RenderWithWarnings(t.trigger.EventFor(ev), payloads.Target{
		ProjectID: projectID, SourceID: t.id, SourceObject: t.object,
		URL: t.webhook.URL, EventName: t.eventName, Version: t.webhook.Version,
		ActionObjects: t.actionObjects, Template: t.webhook.Template, Raw: t.webhook.Raw,
	}, deliveryID, now)
	if err != nil {
		return payloads.Request{}, warnings, err
	}
	return payloads.Request{DeliveryID: deliveryID, SourceID: t.id, URL: t.webhook.URL,
		Headers: t.webhook.Headers, Body: body, Timeout: t.webhook.AttemptTimeout()}, warnings, nil
}

func webhookTarget(w distributions.ProjectWebhook, eventType string) target {
	name := w.Description
	if name == "" {
		name = "project webhook " + w.URL
	}
	return target{id: w.ID, object: "webhook", name: name, version: w.Revision, eventName: eventType, webhook: w.AsWebhook()}
}

// Delivery matches the event against the distributions and project webhooks and delivers
// it to each match in parallel, every delivery on its own retry schedule.
func Delivery(ctx workflow.Context, in DeliveryInput) (DeliveryResult, error) {
	events := in.Events
	if len(events) == 0 {
		events = []payloads.Event{in.Event}
	}
	loadCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute},
		Summary:             LoadCandidatesSummary(events[0].Type),
	})
	// Local first: read the candidates and make every first attempt as local activities, in
	// the first workflow task, so no round trip through the server's task queues comes
	// before the first POST. Retries stay regular activities on durable timers. The input
	// says so; a workflow whose input does not asks the version marker (version 1 is local
	// first), which replays the histories recorded before the input said it.
	localFirst := in.LocalFirst || workflow.GetVersion(ctx, localFirstVersion, workflow.DefaultVersion, 1) == 1
	var snap distributions.Snapshot
	switch {
	case in.Candidates != nil:
		snap = *in.Candidates
	case localFirst:
		lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
			StartToCloseTimeout: 30 * time.Second,
			RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute},
			Summary:             LoadCandidatesSummary(events[0].Type),
		})
		if err := workflow.ExecuteLocalActivity(lctx, ActivityLoadCandidates, events[0].Type).Get(ctx, &snap); err != nil {
			return DeliveryResult{}, err
		}
	default:
		if err := workflow.ExecuteActivity(loadCtx, ActivityLoadCandidates, events[0].Type).Get(ctx, &snap); err != nil {
			return DeliveryResult{}, err
		}
	}
	if len(in.Only) > 0 {
		snap = snap.Restrict(in.Only)
	}
	// Every (event, target) pair is one delivery.
	var deliveries []delivery
	var skipped, filterErrors []distributions.Skip
	now := workflow.Now(ctx)
	for _, ev := range events {
		decision := distributions.Match(ev, snap.Candidates, now)
		hooks, inactive := distributions.MatchWebhooks(ev.Type, snap.Webhooks)
		for _, d := range decision.Matched {
			deliveries = append(deliveries, delivery{ev, distributionTarget(d)})
		}
		for _, w := range hooks {
			deliveries = append(deliveries, delivery{ev, webhookTarget(w, ev.Type)})
		}
		for _, skip := range append(decision.Skipped, inactive...) {
			if len(events) > 1 {
				skip.EventID = ev.ID // a single event's skips are its own
			}
			skipped = append(skipped, skip)
		}
		for _, fe := range decision.FilterErrors {
			if len(events) > 1 {
				fe.EventID = ev.ID // as a skip's: its delivery id is its event's
			}
			filterErrors = append(filterErrors, fe)
		}
	}
	if len(deliveries) > MaxTargetsPerEvent {
		// Bounded fan-out: one workflow keeps its history and its first task small enough.
		for _, d := range deliveries[MaxTargetsPerEvent:] {
			skip := distributions.Skip{DistributionID: d.target.id, Reason: fmt.Sprintf("over the limit of %d deliveries per event", MaxTargetsPerEvent)}
			if len(events) > 1 {
				skip.EventID = d.event.ID
			}
			skipped = append(skipped, skip)
		}
		deliveries = deliveries[:MaxTargetsPerEvent]
	}
	// The streams of ordered distributions this event is not delivered to (conditions, a
	// pause) are told done at once, so that the events behind it go on.
	ordered := orderedOf(ctx, in, len(events), targetIDs(deliveries))
	result := DeliveryResult{
		Deliveries:   make([]DeliveryOutcome, len(deliveries)),
		Skipped:      skipped,
		FilterErrors: filterErrors,
	}
	if len(deliveries) == 0 {
		result.Status = StatusNoMatch
		workflow.SetCurrentDetails(ctx, unmatchedDetails(len(result.Skipped), len(result.FilterErrors)))
		if len(result.Skipped) == 0 {
			if len(result.FilterErrors) == 0 {
				return result, workflow.UpsertTypedSearchAttributes(ctx, StatusKey.ValueSet(result.Status))
			}
			// A filter that failed on the event is a delivery that matched nothing, and
			// the delivery log finds it by its id, to say why.
			return result, workflow.UpsertTypedSearchAttributes(ctx,
				StatusKey.ValueSet(result.Status),
				DeliveriesKey.ValueSet(capList(skippedDeliveryIDs(events[0].ID, result.FilterErrors))),
			)
		}
		// Skipped deliveries are listed too, so they can be found and sent again later.
		result.Status = StatusSkipped
		return result, workflow.UpsertTypedSearchAttributes(ctx,
			StatusKey.ValueSet(result.Status),
			DistributionsKey.ValueSet(capList(skippedIDs(result.Skipped))),
			DeliveriesKey.ValueSet(capList(append(skippedDeliveryIDs(events[0].ID, result.Skipped),
				skippedDeliveryIDs(events[0].ID, result.FilterErrors)...))),
		)
	}

	firstAttempts, done := 0, 0
	queued := 0 // ordered deliveries waiting for their turn
	// Where every delivery stands, for the current details the Web UI shows; they are
	// workflow state alone (a query answers them), no command.
	states := make([]deliveryState, len(deliveries))
	for i, d := range deliveries {
		states[i] = deliveryState{name: d.target.name, attempt: 1, attempts: len(d.target.webhook.Schedule().Gaps()) + 1}
	}
	showProgress := func() { workflow.SetCurrentDetails(ctx, currentDetails(states)) }
	showProgress()
	// listed are the search attributes of the event's deliveries with status: set once every
	// first attempt is answered, or before, when a delivery first waits for its rate limit
	// or is first held by its circuit breaker, so that the delivery log finds a throttled or
	// held delivery by its id.
	listed := func(status string) []temporal.SearchAttributeUpdate {
		return []temporal.SearchAttributeUpdate{
			StatusKey.ValueSet(status),
			DistributionsKey.ValueSet(capList(uniqueIDs(append(targetIDs(deliveries), skippedIDs(result.Skipped)...)))),
			TargetHostsKey.ValueSet(capList(targetHosts(deliveries))),
			// The filter errors last: a long list is cut at its end.
			DeliveriesKey.ValueSet(capList(append(append(deliveryIDs(deliveries), skippedDeliveryIDs(events[0].ID, result.Skipped)...),
				skippedDeliveryIDs(events[0].ID, result.FilterErrors)...))),
		}
	}
	// Only rate-limited deliveries call it, once each wait: one upsert for the event, the
	// first time. The status set once every first attempt is answered replaces it.
	throttledOnce := false
	throttled := func(ctx workflow.Context) {
		if throttledOnce {
			return
		}
		throttledOnce = true
		if err := workflow.UpsertTypedSearchAttributes(ctx, listed(StatusThrottled)...); err != nil {
			workflow.GetLogger(ctx).Warn("upsert status throttled", "error", err)
		}
	}
	// Only held deliveries call it: one upsert for the event, the first time, and once more
	// if one is held again (after a failed probe) once the status below replaced it.
	heldOnce := false
	held := func(ctx workflow.Context) {
		if heldOnce {
			return
		}
		heldOnce = true
		if err := workflow.UpsertTypedSearchAttributes(ctx, listed(StatusHeld)...); err != nil {
			workflow.GetLogger(ctx).Warn("upsert status held", "error", err)
		}
	}
	wg := workflow.NewWaitGroup(ctx)
	for i, d := range deliveries {
		wg.Add(1)
		workflow.Go(ctx, func(ctx workflow.Context) {
			defer wg.Done()
			stream, isOrdered := ordered[d.target.id]
			if isOrdered {
				queued++
				states[i].status = StatusQueued
				showProgress()
				awaitTurn(ctx, d.target.id)
				queued--
				states[i].status = ""
			}
			out := deliver(ctx, d.event, snap.ProjectID, d.target, localFirst, func() { firstAttempts++ }, &states[i], showProgress, throttled, held)
			if len(events) > 1 {
				out.EventID = d.event.ID // a single event's deliveries are its own
			}
			result.Deliveries[i] = out
			recordOutcome(ctx, out)
			done++
			if isOrdered {
				// After done: the event's status does not wait on the stream's answer.
				sayDone(ctx, stream)
				answerLateTurns(ctx, stream)
			}
		})
	}
	// One visibility write once every first attempt is answered, one more at the end if the
	// status changed: each upsert costs the server a write.
	// Ordered deliveries waiting for their turn count as answered here: the event shows
	// queued until they have their turn (queued is always 0 without Ordered).
	_ = workflow.Await(ctx, func() bool { return firstAttempts+queued == len(deliveries) || done == len(deliveries) })
	status := StatusRetrying
	if done == len(deliveries) {
		status = finalStatus(result.Deliveries)
	} else if queued > 0 {
		status = StatusQueued
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, listed(status)...); err != nil {
		return result, err
	}
	heldOnce = false
	if status == StatusQueued {
		// One more write once the last of them has had its first attempt.
		_ = workflow.Await(ctx, func() bool { return (queued == 0 && firstAttempts == len(deliveries)) || done == len(deliveries) })
		if done < len(deliveries) {
			status = StatusRetrying
			if err := workflow.UpsertTypedSearchAttributes(ctx, StatusKey.ValueSet(status)); err != nil {
				return result, err
			}
		}
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

// Metrics recorded by the workflow, through the SDK's replay-safe handler.
const (
	MetricDeliveries      = "hookflow_deliveries_total"
	MetricDeliveryLatency = "hookflow_delivery_latency_seconds"
	// MetricDistributionDeliveries counts them by distribution too; the metrics registry
	// bounds how many distributions get their own series.
	MetricDistributionDeliveries = "hookflow_distribution_deliveries_total"
)

// recordOutcome counts a finished delivery by result (and by distribution and result) and,
// when delivered, how long it took from the workflow's start (the event's intake).
func recordOutcome(ctx workflow.Context, out DeliveryOutcome) {
	h := workflow.GetMetricsHandler(ctx)
	h.WithTags(map[string]string{"distribution": out.DistributionID, "result": out.Status}).Counter(MetricDistributionDeliveries).Inc(1)
	m := h.WithTags(map[string]string{"result": out.Status, "source": out.SourceObject})
	m.Counter(MetricDeliveries).Inc(1)
	if out.Status == StatusDelivered {
		m.Timer(MetricDeliveryLatency).Record(workflow.Now(ctx).Sub(workflow.GetInfo(ctx).WorkflowStartTime))
	}
}

// deliver runs every attempt of one delivery. firstAnswered is called once the first
// attempt has an outcome.
//
// state is where the delivery stands, for the Web UI: deliver updates it and calls
// changed after every change.
//
// throttled is called each time the delivery waits for its rate limit, held each time it
// is held by its distribution's circuit breaker.
func deliver(ctx workflow.Context, ev payloads.Event, projectID string, t target, localFirst bool, firstAnswered func(),
	state *deliveryState, changed func(), throttled, held func(workflow.Context)) DeliveryOutcome {
	deliveryID := payloads.DeliveryID(ev.ID, t.id)
	out := DeliveryOutcome{DeliveryID: deliveryID, DistributionID: t.id, SourceObject: t.object, Version: t.version, URL: t.webhook.URL}
	logger := workflow.GetLogger(ctx)
	defer func() {
		state.status, state.reason, state.attempt = out.Status, out.Reason, out.Attempts
		changed()
	}()

	if t.publishCampaign != nil {
		// publish_code: the code is published before rendering, once per (event,
		// distribution, customer). No code means no delivery: it fails and the operator is
		// told, but the distribution is not paused, since its receiver did nothing wrong.
		// No GetVersion: only publish_code distributions get here, and they were refused at
		// save before code pools existed, so no recorded history is changed by this.
		objects, err := publishCode(ctx, ev, t, localFirst)
		if err != nil {
			firstAnswered()
			out.Status, out.Reason, out.LastError = StatusFailed, ReasonNoCode, err.Error()
			logger.Warn("no code published", "delivery", deliveryID, "error", out.LastError)
			notify(ctx, ev, t, out, false)
			return out
		}
		t.actionObjects = objects
	}
	req, warnings, err := t.request(ev, projectID, deliveryID, workflow.Now(ctx))
	out.Warnings = warnings
	if err != nil {
		firstAnswered()
		out.Status, out.Reason, out.LastError = StatusFailed, ReasonInvalid, err.Error()
		notify(ctx, ev, t, out, false)
		return out
	}
	timeout := req.Timeout
	schedule := t.webhook.Schedule()
	gaps := schedule.Gaps()
	attempts := len(gaps) + 1
	// A distribution with a circuit breaker asks it first (breaker.go); without one, this
	// makes no command.
	brk := newBreaker(t, deliveryID, timeout)
	// probes counts the failed probes: POSTs made outside the retry schedule.
	probes := 0
	if brk != nil {
		if err := brk.hold(ctx, state, changed, held); err != nil {
			firstAnswered()
			out.Status, out.Reason, out.LastError = StatusFailed, "canceled", err.Error()
			return out
		}
	}
	start := workflow.Now(ctx)
	var offset time.Duration
	for {
		out.Attempts++
		state.status, state.attempt = "", out.Attempts
		if out.Attempts > 1 {
			changed() // the first attempts are shown before they start, all at once
		}
		// Each attempt is labelled in the Web UI with its target and its place in the
		// schedule; user metadata is not compared on replay, so the label may change.
		summary := AttemptSummary(t.name, t.webhook.URL, out.Attempts, attempts)
		req.Attempt = out.Attempts
		if t.webhook.RateLimit != "" {
			// Only a rate-limited delivery gets here: one without a limit makes the same
			// commands as before limits existed, so their histories replay unchanged.
			waited, err := takeRateToken(ctx, distributions.RateTokenRequest{DeliveryID: deliveryID, SourceID: t.id, RateLimit: t.webhook.RateLimit},
				t.name, out.Attempts, attempts, func() {
					state.status = StatusThrottled
					changed()
					throttled(ctx)
				})
			if err != nil {
				if out.Attempts == 1 {
					firstAnswered()
				}
				out.Attempts-- // not made
				// Canceled while it waited, or a rate_limit the activity cannot read (only
				// a hand-made input has one: the API validates it).
				out.Status, out.Reason, out.LastError = StatusFailed, ReasonInvalid, err.Error()
				if temporal.IsCanceledError(err) {
					out.Reason = "canceled"
				}
				return out
			}
			// The wait is not the receiver's doing: the schedule starts after it, and moves
			// by it for a retry, so no attempt of the schedule is spent waiting.
			if out.Attempts == 1 {
				start = workflow.Now(ctx)
			} else {
				start = start.Add(waited)
			}
			if waited > 0 {
				state.status = ""
				changed()
			}
		}
		var resp payloads.Response
		var err error
		if out.Attempts == 1 && localFirst {
			lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
				StartToCloseTimeout: timeout + postMargin,
				RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
				Summary:             summary,
			})
			err = workflow.ExecuteLocalActivity(lctx, ActivityPost, req).Get(ctx, &resp)
		} else {
			postCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
				StartToCloseTimeout: timeout + postMargin,
				// The workflow runs the retry schedule itself, on durable timers.
				RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 1},
				Summary:     summary,
			})
			err = workflow.ExecuteActivity(postCtx, ActivityPost, req).Get(ctx, &resp)
		}
		if out.Attempts == 1 {
			firstAnswered()
		}
		if brk != nil && brk.asked {
			brk.report(ctx, err)
		}
		if err == nil {
			out.Status, out.LastError = StatusDelivered, ""
			return out
		}
		outcome, msg, failed := attemptFailure(err)
		out.LastError = msg
		logger.Info("attempt failed", "delivery", deliveryID, "attempt", out.Attempts, "outcome", outcome, "error", msg)
		if outcome == payloads.Gone || outcome == payloads.Rejected {
			out.Reason = string(outcome)
			break
		}
		if brk != nil && brk.probed {
			// A failed probe goes back to the hold: its schedule has not started.
			if err := brk.hold(ctx, state, changed, held); err != nil {
				out.Status, out.Reason = StatusFailed, "canceled"
				return out
			}
			probes++
			start, offset = workflow.Now(ctx), 0
			continue
		}
		if out.Attempts-probes > len(gaps) {
			out.Reason = ReasonExhausted
			break
		}
		// Retries are timed from the first attempt, so slow answers do not shift the schedule.
		offset += gaps[out.Attempts-probes-1]
		if failed.RetryAfterSeconds > 0 {
			// A Retry-After on 429/503 is honoured within [next interval, 2 × next interval];
			// the rest of the schedule moves by the extra wait.
			planned := start.Add(offset).Sub(workflow.Now(ctx))
			asked := time.Duration(failed.RetryAfterSeconds) * time.Second
			offset += min(max(asked, planned), 2*planned) - planned
		}
		state.status, state.attempt, state.next = StatusRetrying, out.Attempts+1, start.Add(offset)
		changed()
		if wait := start.Add(offset).Sub(workflow.Now(ctx)); wait > 0 {
			// A timer as workflow.Sleep starts, with a label: the same command.
			timer := workflow.NewTimerWithOptions(ctx, wait, workflow.TimerOptions{
				Summary: WaitSummary(t.name, out.Attempts+1, attempts, schedule),
			})
			if err := timer.Get(ctx, nil); err != nil {
				out.Status, out.Reason = StatusFailed, "canceled"
				return out
			}
		}
	}
	out.Status = StatusFailed
	state.status, state.reason = out.Status, out.Reason
	changed()
	pause := out.Reason == ReasonExhausted || out.Reason == ReasonGone
	if pause {
		// A distribution is paused, a project webhook disabled (spec section 9).
		activityName, arg := ActivityPauseDistribution, t.id
		if t.object == "webhook" {
			activityName = ActivityDisableWebhook
		}
		opts := sideEffectOptions
		opts.Summary = PauseSummary(t.name, t.object, out.Reason, out.Attempts)
		actCtx := workflow.WithActivityOptions(ctx, opts)
		if err := workflow.ExecuteActivity(actCtx, activityName, arg).Get(ctx, nil); err != nil {
			logger.Error("pause", "target", t.id, "error", err)
			pause = false
		}
	}
	state.paused = pause
	notify(ctx, ev, t, out, pause)
	return out
}

var sideEffectOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 30 * time.Second,
	RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute},
}

// notify tells the operator, one activity per channel, so that a crash repeats only the
// channels that had not gone out. A channel that fails for good is logged; it does not fail
// the workflow.
func notify(ctx workflow.Context, ev payloads.Event, t target, out DeliveryOutcome, paused bool) {
	notice := distributions.FailureNotice{
		DeliveryID: out.DeliveryID, DistributionID: t.id, DistributionName: t.name,
		EventID: ev.ID, EventType: ev.Type, TargetURL: t.webhook.URL,
		Attempts: out.Attempts, LastError: out.LastError, Reason: out.Reason, Paused: paused,
		WorkflowID:     workflow.GetInfo(ctx).WorkflowExecution.ID,
		EventStartedAt: workflow.GetInfo(ctx).WorkflowStartTime,
		Notifications:  t.notifications,
	}
	for _, channel := range []struct {
		activity string
		options  workflow.ActivityOptions
	}{
		{ActivityNotifyFailure, sideEffectOptions},
		{ActivitySendFailureEmail, outboundOptions},
		{ActivitySendFailureAlert, outboundOptions},
	} {
		opts := channel.options
		opts.Summary = NotifySummary(channel.activity, t.name, out.Reason, out.Attempts)
		actCtx := workflow.WithActivityOptions(ctx, opts)
		if err := workflow.ExecuteActivity(actCtx, channel.activity, notice).Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Error("failure notification", "channel", channel.activity, "delivery", out.DeliveryID, "error", err)
		}
	}
}

// outboundOptions are for notifications that leave hookflow (e-mail, alert webhook): they
// may wait on a slow server, and give up after about an hour of failures.
var outboundOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 20 * time.Second,
	RetryPolicy: &temporal.RetryPolicy{InitialInterval: 5 * time.Second, BackoffCoefficient: 2,
		MaximumInterval: 10 * time.Minute, MaximumAttempts: 12},
}

// attemptFailure reads the outcome the Post activity put in the error type, and the
// receiver's answer from its details; anything else (a timeout, a lost worker) is worth
// another attempt.
func attemptFailure(err error) (payloads.Outcome, string, payloads.Response) {
	var resp payloads.Response
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		if appErr.HasDetails() {
			_ = appErr.Details(&resp)
		}
		switch o := payloads.Outcome(appErr.Type()); o {
		case payloads.Gone, payloads.Rejected, payloads.Retryable:
			return o, appErr.Message(), resp
		}
		return payloads.Retryable, appErr.Message(), resp
	}
	var timeoutErr *temporal.TimeoutError
	if errors.As(err, &timeoutErr) {
		return payloads.Retryable, "attempt timed out: " + timeoutErr.Error(), resp
	}
	return payloads.Retryable, err.Error(), resp
}

func finalStatus(outs []DeliveryOutcome) string {
	for _, o := range outs {
		if o.Status != StatusDelivered {
			return StatusFailed
		}
	}
	return StatusDelivered
}

// delivery is one event to one target.
type delivery struct {
	event  payloads.Event
	target target
}

func targetIDs(ds []delivery) []string {
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.target.id
	}
	return ids
}

// uniqueIDs keeps the first of every id, in order: the deliveries of many events to one
// distribution name it once.
func uniqueIDs(ids []string) []string {
	seen := map[string]bool{}
	out := ids[:0:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

func deliveryIDs(ds []delivery) []string {
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = payloads.DeliveryID(d.event.ID, d.target.id)
	}
	return ids
}

func skippedIDs(skips []distributions.Skip) []string {
	ids := make([]string, len(skips))
	for i, s := range skips {
		ids[i] = s.DistributionID
	}
	return ids
}

// skippedDeliveryIDs are the delivery ids of skips (or filter errors): of their event, or
// of eventID, the workflow's one event, when they name none.
func skippedDeliveryIDs(eventID string, skips []distributions.Skip) []string {
	ids := make([]string, len(skips))
	for i, s := range skips {
		ev := s.EventID
		if ev == "" {
			ev = eventID
		}
		ids[i] = payloads.DeliveryID(ev, s.DistributionID)
	}
	return ids
}

func targetHosts(ds []delivery) []string {
	seen := map[string]bool{}
	var hosts []string
	for _, d := range ds {
		u, err := url.Parse(d.target.webhook.URL)
		if err != nil || seen[u.Hostname()] {
			continue
		}
		seen[u.Hostname()] = true
		hosts = append(hosts, u.Hostname())
	}
	sort.Strings(hosts)
	return hosts
}
