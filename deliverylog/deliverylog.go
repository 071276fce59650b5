// Package deliverylog reads hookflow's delivery log back from Temporal, where it lives: the
// events from the visibility store (hookflow's search attributes), a delivery's attempts from
// its workflow's history. It pages through the log and sends failed or skipped deliveries
// again (resend, recover) as new runs of the Delivery workflow.
package deliverylog

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/hookflow/hookflow/codec"
	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/payloads"
	"github.com/hookflow/hookflow/workflows"
)

// Log reads the delivery log of one namespace and sends deliveries again on TaskQueue.
type Log struct {
	Client    client.Client
	TaskQueue string
	// DataConverter reads payloads from history: the client's, with its codec when payloads
	// are encrypted. codec.DataConverter when nil.
	DataConverter converter.DataConverter
}

// dataConverter is l.DataConverter or codec.DataConverter.
func (l *Log) dataConverter() converter.DataConverter {
	if l.DataConverter != nil {
		return l.DataConverter
	}
	return codec.DataConverter
}

// Run is the workflow run that sends a delivery again.
type Run struct {
	EventID    string `json:"id"`
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
}

// ErrNotFound is returned for a delivery id that no workflow holds.
var ErrNotFound = errors.New("not found")

// Attempt is one POST of a delivery, as its workflow history records it.
type Attempt struct {
	Number    int        `json:"number"`
	StartedAt *time.Time `json:"started_at,omitempty"`
	EndedAt   *time.Time `json:"ended_at,omitempty"`
	// Outcome is delivered, retryable, gone, rejected, timed_out, or running.
	Outcome    string `json:"outcome"`
	StatusCode int    `json:"status_code,omitempty"`
	LatencyMs  int64  `json:"latency_ms,omitempty"`
	Error      string `json:"error,omitempty"`
	// Response holds the first bytes of the receiver's answer.
	Response string `json:"response,omitempty"`
}

// Delivery is one event's delivery to one distribution or project webhook, read from the
// histories of its runs: the event's own workflow and each that sent it again. Status,
// Reason, LastError, Warnings, WorkflowID, RunID and Attempts are its latest run's: the
// delivery as it is now; Runs holds every run with its attempts, oldest first.
type Delivery struct {
	ID             string `json:"id"`
	EventID        string `json:"event_id"`
	EventType      string `json:"event_type"`
	DistributionID string `json:"distribution_id"`
	URL            string `json:"url"`
	// Status is pending (not attempted yet), queued (an ordered delivery waiting for the one
	// before it on its stream), throttled (waiting for its distribution's rate limit), held
	// (by its distribution's open circuit breaker, before its first attempt), attempting,
	// retrying, delivered, failed, skipped, or no_match (the run matched nothing, such as
	// when the distribution's filter failed on the event, in the event's own run or one that
	// sent it again: Reason says why, "filter: " and the filter's error).
	Status    string `json:"status"`
	Reason    string `json:"reason,omitempty"`
	LastError string `json:"last_error,omitempty"`
	// Warnings are what rendering the payload warned of (a template's missing field).
	Warnings   []string        `json:"warnings,omitempty"`
	WorkflowID string          `json:"workflow_id"`
	RunID      string          `json:"run_id"`
	Body       json.RawMessage `json:"body,omitempty"`
	Attempts   []Attempt       `json:"attempts"`
	Runs       []DeliveryRun   `json:"runs"`

	// event is the triggering event, from the workflow's input, to send it again.
	event payloads.Event
}

// DeliveryRun is one workflow run of a delivery, with its attempts.
type DeliveryRun struct {
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
	// Resend is true for a run that sent the delivery again (retry, recover).
	Resend    bool       `json:"resend"`
	StartedAt time.Time  `json:"started_at"`
	ClosedAt  *time.Time `json:"closed_at,omitempty"`
	Status    string     `json:"status"`
	Reason    string     `json:"reason,omitempty"`
	LastError string     `json:"last_error,omitempty"`
	Warnings  []string   `json:"warnings,omitempty"`
	URL       string     `json:"url,omitempty"`
	Attempts  []Attempt  `json:"attempts"`
}

// EventSummary is one event's workflow as the visibility store lists it.
type EventSummary struct {
	WorkflowID    string     `json:"workflow_id"`
	RunID         string     `json:"run_id"`
	EventType     string     `json:"event_type"`
	Status        string     `json:"status"`
	Distributions []string   `json:"distributions"`
	Deliveries    []string   `json:"deliveries"`
	StartedAt     time.Time  `json:"started_at"`
	ClosedAt      *time.Time `json:"closed_at,omitempty"`
	// SentAgain is, for a failed or skipped event, the status of the latest run that sent
	// each of its deliveries again (retry, recover), by delivery id: Status stays the
	// event's own run's, which the visibility store keeps.
	SentAgain map[string]string `json:"sent_again,omitempty"`
}

// EventFilter selects events in the delivery log; empty fields select all.
type EventFilter struct {
	Status         string
	DistributionID string
	EventType      string
	// EventID selects the workflow of one event (event/<id>).
	EventID string
	// Since and Until bound the events' start times: at or after Since, before Until.
	Since, Until time.Time
	Limit        int
	// PageToken continues a listing where an EventPage's NextPageToken left it; the
	// filter must stay the same.
	PageToken string
}

// EventPage is one page of the delivery log. NextPageToken, when set, reads the next page;
// that page may come back empty when this one ended exactly at the last event.
type EventPage struct {
	Events        []EventSummary
	NextPageToken string
}

// ErrInvalidFilter is returned for a filter that cannot select anything: the message
// starts with the name of the query parameter at fault.
var ErrInvalidFilter = errors.New("invalid filter")

// MaxListLimit bounds one page of the delivery log.
const MaxListLimit = 500

var safeID = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,128}$`)

// Query builds the visibility query of f, or an error naming the bad field. Values are
// checked against strict patterns, so nothing a caller sends can change the query's shape.
func (f EventFilter) Query() (string, error) {
	var parts []string
	if f.Status != "" {
		switch f.Status {
		case workflows.StatusDelivered, workflows.StatusRetrying, workflows.StatusQueued, workflows.StatusFailed, workflows.StatusNoMatch, workflows.StatusSkipped,
			workflows.StatusThrottled, workflows.StatusHeld:
		default:
			return "", fmt.Errorf("status: %q is not one of delivered, retrying, queued, failed, no_match, skipped, throttled, held", f.Status)
		}
		parts = append(parts, fmt.Sprintf("%s = '%s'", workflows.StatusKey.GetName(), f.Status))
	}
	if f.DistributionID != "" {
		if !safeID.MatchString(f.DistributionID) {
			return "", fmt.Errorf("distribution: %q is not a distribution or webhook id", f.DistributionID)
		}
		parts = append(parts, fmt.Sprintf("%s = '%s'", workflows.DistributionsKey.GetName(), f.DistributionID))
	}
	if f.EventID != "" {
		if !safeID.MatchString(f.EventID) {
			return "", fmt.Errorf("event: %q is not an event id", excerpt(f.EventID))
		}
		parts = append(parts, fmt.Sprintf("WorkflowId = '%s'", workflows.WorkflowID(f.EventID)))
	}
	if f.EventType != "" {
		if !payloads.IsEventType(f.EventType) {
			return "", fmt.Errorf("event_type: %q is not an event type", f.EventType)
		}
		parts = append(parts, fmt.Sprintf("%s = '%s'", workflows.EventTypeKey.GetName(), f.EventType))
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return "", fmt.Errorf("until: %s is not after since (%s)", f.Until.UTC().Format(time.RFC3339), f.Since.UTC().Format(time.RFC3339))
	}
	// Times are formatted here, never copied from the caller.
	if !f.Since.IsZero() {
		parts = append(parts, fmt.Sprintf("StartTime >= '%s'", f.Since.UTC().Format(time.RFC3339Nano)))
	}
	if !f.Until.IsZero() {
		parts = append(parts, fmt.Sprintf("StartTime < '%s'", f.Until.UTC().Format(time.RFC3339Nano)))
	}
	if _, err := f.pageToken(); err != nil {
		return "", err
	}
	parts = append(parts, fmt.Sprintf("WorkflowType = '%s'", workflows.DeliveryWorkflow))
	return strings.Join(parts, " AND "), nil
}

// pageToken is the visibility store's token that f.PageToken carries. The store reads its
// tokens unchecked (a made-up one is an internal error there), so hookflow's token is the
// store's followed by a checksum, in URL-safe base64: whatever a caller makes up is refused
// here, as the caller's error.
func (f EventFilter) pageToken() ([]byte, error) {
	if f.PageToken == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(f.PageToken)
	if err != nil || len(f.PageToken) > maxPageToken || len(b) <= pageTokenSum {
		return nil, fmt.Errorf("page_token: %q is not a next_page_token of the delivery log", excerpt(f.PageToken))
	}
	token, sum := b[:len(b)-pageTokenSum], b[len(b)-pageTokenSum:]
	if want := sha256.Sum256(token); !bytes.Equal(sum, want[:pageTokenSum]) {
		return nil, fmt.Errorf("page_token: %q is not a next_page_token of the delivery log", excerpt(f.PageToken))
	}
	return token, nil
}

// encodePageToken is the page token a caller gets for the visibility store's token.
func encodePageToken(token []byte) string {
	sum := sha256.Sum256(token)
	return base64.RawURLEncoding.EncodeToString(append(token[:len(token):len(token)], sum[:pageTokenSum]...))
}

const (
	// maxPageToken bounds a page token; the visibility store's tokens are far shorter.
	maxPageToken = 2048
	// pageTokenSum is the length of a page token's checksum.
	pageTokenSum = 8
)

// excerpt shortens a caller's value for an error message.
func excerpt(s string) string {
	if len(s) <= 40 {
		return s
	}
	return s[:40] + "..."
}

// ListEvents lists the events of the delivery log that f selects, one page of at most
// f.Limit (50 when unset), in the visibility store's order, the same on every page: the
// events still running first (newest started first), then the closed ones, most recently
// closed first (then newest started first). A filter that cannot select anything, or a page
// token that the visibility store refuses, is an ErrInvalidFilter.
//
// The order is Temporal's: its SQL visibility (SQLite, PostgreSQL) refuses ORDER BY and
// pages by (close time, start time, run id), so no other order holds across pages without
// reading every event first. An order of the page alone (by start time, say) would put a
// page's events in one order and the pages in another; the page is kept as it comes
// (docs/decisions.md).
func (l *Log) ListEvents(ctx context.Context, f EventFilter) (EventPage, error) {
	q, err := f.Query()
	if err != nil {
		return EventPage{}, fmt.Errorf("%w: %w", ErrInvalidFilter, err)
	}
	token, _ := f.pageToken()
	limit := f.Limit
	if limit <= 0 || limit > MaxListLimit {
		limit = 50
	}
	resp, err := l.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: q, PageSize: int32(limit), NextPageToken: token})
	var invalid *serviceerror.InvalidArgument
	if token != nil && errors.As(err, &invalid) {
		return EventPage{}, fmt.Errorf("%w: page_token: the visibility store refuses it: %s", ErrInvalidFilter, invalid.Message)
	}
	if err != nil {
		return EventPage{}, fmt.Errorf("list the delivery log: %w", err)
	}
	out := []EventSummary{}
	for _, e := range resp.GetExecutions() {
		sum := EventSummary{
			WorkflowID: e.GetExecution().GetWorkflowId(),
			RunID:      e.GetExecution().GetRunId(),
			StartedAt:  e.GetStartTime().AsTime(),
		}
		if e.GetCloseTime() != nil {
			t := e.GetCloseTime().AsTime()
			sum.ClosedAt = &t
		}
		fields := e.GetSearchAttributes().GetIndexedFields()
		decode := func(name string, v any) { _ = converter.GetDefaultDataConverter().FromPayload(fields[name], v) }
		decode(workflows.EventTypeKey.GetName(), &sum.EventType)
		decode(workflows.StatusKey.GetName(), &sum.Status)
		decode(workflows.DistributionsKey.GetName(), &sum.Distributions)
		decode(workflows.DeliveriesKey.GetName(), &sum.Deliveries)
		if sum.Status == "" && e.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			sum.Status = "matching"
		}
		out = append(out, sum)
	}
	if err := l.sentAgain(ctx, out); err != nil {
		return EventPage{}, err
	}
	page := EventPage{Events: out}
	if next := resp.GetNextPageToken(); len(next) > 0 {
		page.NextPageToken = encodePageToken(next)
	}
	return page, nil
}

// maxSentAgain bounds the runs sentAgain reads for one page.
const maxSentAgain = 1000

// sentAgain fills SentAgain of the failed and skipped events: one listing of the runs that
// sent deliveries again since the oldest of them started, the latest run of each delivery.
func (l *Log) sentAgain(ctx context.Context, events []EventSummary) error {
	var since time.Time
	wanted := map[string]*EventSummary{}
	for i := range events {
		e := &events[i]
		if e.Status != workflows.StatusFailed && e.Status != workflows.StatusSkipped {
			continue
		}
		for _, id := range e.Deliveries {
			wanted[id] = e
		}
		if since.IsZero() || e.StartedAt.Before(since) {
			since = e.StartedAt
		}
	}
	if len(wanted) == 0 {
		return nil
	}
	query := fmt.Sprintf("WorkflowId STARTS_WITH 'resend/' AND StartTime >= '%s'", since.UTC().Format(time.RFC3339Nano))
	latest := map[string]time.Time{}
	var token []byte
	for read := 0; read < maxSentAgain; {
		resp, err := l.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, PageSize: 200, NextPageToken: token})
		if err != nil {
			return fmt.Errorf("list the deliveries sent again: %w", err)
		}
		for _, run := range resp.GetExecutions() {
			read++
			id, _, _ := strings.Cut(strings.TrimPrefix(run.GetExecution().GetWorkflowId(), "resend/"), "/")
			e, ok := wanted[id]
			started := run.GetStartTime().AsTime()
			if !ok || started.Before(latest[id]) {
				continue
			}
			latest[id] = started
			status := "matching"
			_ = converter.GetDefaultDataConverter().FromPayload(run.GetSearchAttributes().GetIndexedFields()[workflows.StatusKey.GetName()], &status)
			if e.SentAgain == nil {
				e.SentAgain = map[string]string{}
			}
			e.SentAgain[id] = status
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	return nil
}

var deliveryIDPattern = regexp.MustCompile(`^whs_[0-9a-f]{32}$`)

// maxRuns bounds the runs of one delivery read back: the event's own and those that sent
// it again.
const maxRuns = 100

// Delivery finds the delivery with this id and reads every run of it from the workflow
// histories: the event's own run and each that sent it again (retry, recover), oldest
// first, with their attempts. The delivery's status is its latest run's.
func (l *Log) Delivery(ctx context.Context, id string) (Delivery, error) {
	if !deliveryIDPattern.MatchString(id) {
		if strings.HasPrefix(id, "evt_") || strings.HasPrefix(id, "event/") {
			event := strings.TrimPrefix(id, "event/")
			return Delivery{}, fmt.Errorf("%w: id: %q is an event id, and a delivery id is whs_ and 32 hex digits: "+
				"the event's are listed by `hookflow deliveries list --event %s` (GET /v1/deliveries?event=%s)", ErrNotFound, excerpt(id), excerpt(event), excerpt(event))
		}
		return Delivery{}, fmt.Errorf("%w: id: %q is not a delivery id: it is whs_ and 32 hex digits, the webhook-id header of the delivery, "+
			"listed by `hookflow deliveries list`", ErrNotFound, excerpt(id))
	}
	// The runs that hold the delivery: those whose search attribute names it, and those
	// started to send it again (whose workflow id names it), which may not name it when
	// the distribution no longer matched.
	query := fmt.Sprintf("%s = '%s' OR WorkflowId STARTS_WITH 'resend/%s/'", workflows.DeliveriesKey.GetName(), id, id)
	var execs []*workflowpb.WorkflowExecutionInfo
	var token []byte
	for len(execs) < maxRuns {
		resp, err := l.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, PageSize: maxRuns, NextPageToken: token})
		if err != nil {
			return Delivery{}, fmt.Errorf("find delivery %s: %w", id, err)
		}
		execs = append(execs, resp.GetExecutions()...)
		if token = resp.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	if len(execs) == 0 {
		return Delivery{}, fmt.Errorf("%w: id: no delivery %s in the delivery log (it keeps deliveries for the namespace's retention)", ErrNotFound, id)
	}
	sort.SliceStable(execs, func(i, j int) bool { return execs[i].GetStartTime().AsTime().Before(execs[j].GetStartTime().AsTime()) })
	d := Delivery{ID: id, Attempts: []Attempt{}}
	for _, e := range execs {
		exec := e.GetExecution()
		iter := l.Client.GetWorkflowHistory(ctx, exec.GetWorkflowId(), exec.GetRunId(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		var events []*historypb.HistoryEvent
		for iter.HasNext() {
			ev, err := iter.Next()
			if err != nil {
				return Delivery{}, fmt.Errorf("read the history of %s: %w", exec.GetWorkflowId(), err)
			}
			events = append(events, ev)
		}
		r := Delivery{ID: id, Attempts: []Attempt{}}
		readHistory(&r, events, l.dataConverter())
		if r.DistributionID == "" {
			// Not posted yet, nor ended: the distribution is the one of the run's that
			// makes this delivery id.
			var ids []string
			_ = converter.GetDefaultDataConverter().FromPayload(e.GetSearchAttributes().GetIndexedFields()[workflows.DistributionsKey.GetName()], &ids)
			for _, distr := range ids {
				if r.EventID != "" && payloads.DeliveryID(r.EventID, distr) == id {
					r.DistributionID = distr
				}
			}
		}
		run := DeliveryRun{
			WorkflowID: exec.GetWorkflowId(), RunID: exec.GetRunId(), Resend: strings.HasPrefix(exec.GetWorkflowId(), "resend/"),
			StartedAt: e.GetStartTime().AsTime(),
			Status:    r.Status, Reason: r.Reason, LastError: r.LastError, Warnings: r.Warnings, URL: r.URL, Attempts: r.Attempts,
		}
		if e.GetCloseTime() != nil {
			t := e.GetCloseTime().AsTime()
			run.ClosedAt = &t
		}
		d.Runs = append(d.Runs, run)
		// The delivery as it is now is its latest run; what a run does not know (a run that
		// matched nothing has no URL) is the earlier runs'.
		d.Status, d.Reason, d.LastError, d.Warnings = r.Status, r.Reason, r.LastError, r.Warnings
		d.WorkflowID, d.RunID, d.Attempts = run.WorkflowID, run.RunID, r.Attempts
		if r.EventID != "" {
			d.EventID, d.EventType, d.event = r.EventID, r.EventType, r.event
		}
		if r.DistributionID != "" {
			d.DistributionID = r.DistributionID
		}
		if r.URL != "" {
			d.URL = r.URL
		}
		if len(r.Body) > 0 {
			d.Body = r.Body
		}
	}
	return d, nil
}

// readHistory fills d from a Delivery workflow's history: the event from its input, one
// attempt per Post activity of this delivery, the outcome from its result. dc decodes the
// payloads (with the codec, when they are encrypted).
func readHistory(d *Delivery, events []*historypb.HistoryEvent, dc converter.DataConverter) {
	decode := func(p *commonpb.Payloads, v any) bool { return p != nil && dc.FromPayloads(p, v) == nil }
	attempts := map[int64]int{} // scheduled event id -> index in d.Attempts
	// The events the workflow delivers: one, or the customers of a message; which one is
	// d's is known with its distribution.
	var delivered []payloads.Event
	// throttled: the delivery's last step is a wait for its rate limit.
	throttled := false
	// held: the delivery's last step is a hold by its circuit breaker (before its first
	// attempt, or after a failed probe).
	held := false
	// turn is the signal that lets d go, when it is an ordered delivery; turned, that it came.
	var turn string
	var turned bool
	for _, ev := range events {
		at := ev.GetEventTime().AsTime()
		switch a := ev.GetAttributes().(type) {
		case *historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes:
			var in workflows.DeliveryInput
			if decode(a.WorkflowExecutionStartedEventAttributes.GetInput(), &in) {
				delivered = in.Events
				if len(delivered) == 0 {
					delivered = []payloads.Event{in.Event}
					d.EventID, d.EventType, d.event = in.Event.ID, in.Event.Type, in.Event
				}
				for _, o := range in.Ordered {
					if payloads.DeliveryID(in.Event.ID, o.DistributionID) == d.ID {
						turn, d.DistributionID = workflows.TurnSignal(o.DistributionID), o.DistributionID
					}
				}
			}
		case *historypb.HistoryEvent_WorkflowExecutionSignaledEventAttributes:
			if turn != "" && a.WorkflowExecutionSignaledEventAttributes.GetSignalName() == turn {
				turned = true
			}
		case *historypb.HistoryEvent_ActivityTaskScheduledEventAttributes:
			attrs := a.ActivityTaskScheduledEventAttributes
			// The failure notice, scheduled as soon as a delivery failed for good, tells its
			// state while the workflow still runs (its other deliveries, the notices).
			var notice failureNotice
			if attrs.GetActivityType().GetName() == workflows.ActivityNotifyFailure && decode(attrs.GetInput(), &notice) && notice.DeliveryID == d.ID {
				d.Status, d.Reason, d.LastError = workflows.StatusFailed, notice.Reason, notice.LastError
				d.DistributionID = notice.DistributionID
				if d.URL == "" {
					d.URL = notice.TargetURL
				}
			}
			var req payloads.Request
			if attrs.GetActivityType().GetName() != workflows.ActivityPost || !decode(attrs.GetInput(), &req) || req.DeliveryID != d.ID {
				continue
			}
			d.DistributionID, d.URL, d.Body = req.SourceID, req.URL, req.Body
			throttled = false
			held = false
			attempts[ev.GetEventId()] = len(d.Attempts)
			d.Attempts = append(d.Attempts, Attempt{Number: len(d.Attempts) + 1, Outcome: "running"})
		case *historypb.HistoryEvent_MarkerRecordedEventAttributes:
			// A first attempt made as a local activity: its marker holds the answer, and the
			// answer the request (see payloads.Response.Request).
			attrs := a.MarkerRecordedEventAttributes
			var marker struct{ ActivityType string }
			if attrs.GetMarkerName() != "LocalActivity" || !decode(attrs.GetDetails()["data"], &marker) {
				continue
			}
			if marker.ActivityType == workflows.ActivityTakeRateToken {
				// Told to wait for its rate limit: throttled until its next attempt.
				var token distributions.RateToken
				if decode(attrs.GetDetails()["result"], &token) && token.DeliveryID == d.ID {
					throttled = token.Wait > 0
				}
				continue
			}
			if marker.ActivityType == workflows.ActivityAskBreaker {
				var ans distributions.BreakerAnswer
				if decode(attrs.GetDetails()["result"], &ans) && ans.DeliveryID == d.ID {
					held = ans.Decision == distributions.BreakerHold
				}
				continue
			}
			if marker.ActivityType != workflows.ActivityPost {
				continue
			}
			var resp payloads.Response
			outcome, errMsg := string(payloads.Delivered), ""
			if f := attrs.GetFailure(); f != nil {
				outcome, errMsg = string(payloads.Retryable), f.GetMessage()
				if info := f.GetApplicationFailureInfo(); info != nil {
					decode(info.GetDetails(), &resp)
					if info.GetType() != "" {
						outcome = info.GetType()
					}
				}
			} else {
				decode(attrs.GetDetails()["result"], &resp)
			}
			if resp.Request == nil || resp.Request.DeliveryID != d.ID {
				continue
			}
			throttled = false
			held = false
			d.DistributionID, d.URL, d.Body = resp.Request.SourceID, resp.Request.URL, resp.Request.Body
			started := at.Add(-time.Duration(resp.LatencyMs) * time.Millisecond)
			attempt := Attempt{Number: len(d.Attempts) + 1, StartedAt: &started}
			attempt.fill(outcome, errMsg, resp, at)
			d.Attempts = append(d.Attempts, attempt)
		case *historypb.HistoryEvent_ActivityTaskStartedEventAttributes:
			if i, ok := attempts[a.ActivityTaskStartedEventAttributes.GetScheduledEventId()]; ok {
				d.Attempts[i].StartedAt = &at
			}
		case *historypb.HistoryEvent_ActivityTaskCompletedEventAttributes:
			if i, ok := attempts[a.ActivityTaskCompletedEventAttributes.GetScheduledEventId()]; ok {
				var resp payloads.Response
				decode(a.ActivityTaskCompletedEventAttributes.GetResult(), &resp)
				d.Attempts[i].fill(string(payloads.Delivered), "", resp, at)
			}
		case *historypb.HistoryEvent_ActivityTaskFailedEventAttributes:
			if i, ok := attempts[a.ActivityTaskFailedEventAttributes.GetScheduledEventId()]; ok {
				f := a.ActivityTaskFailedEventAttributes.GetFailure()
				var resp payloads.Response
				outcome := string(payloads.Retryable)
				if info := f.GetApplicationFailureInfo(); info != nil {
					decode(info.GetDetails(), &resp)
					if info.GetType() != "" {
						outcome = info.GetType()
					}
				}
				d.Attempts[i].fill(outcome, f.GetMessage(), resp, at)
			}
		case *historypb.HistoryEvent_ActivityTaskTimedOutEventAttributes:
			if i, ok := attempts[a.ActivityTaskTimedOutEventAttributes.GetScheduledEventId()]; ok {
				d.Attempts[i].fill("timed_out", "the attempt timed out (the worker may have stopped)", payloads.Response{}, at)
			}
		case *historypb.HistoryEvent_WorkflowExecutionCompletedEventAttributes:
			var res workflows.DeliveryResult
			if decode(a.WorkflowExecutionCompletedEventAttributes.GetResult(), &res) {
				for _, o := range res.Deliveries {
					if o.DeliveryID == d.ID {
						d.Status, d.Reason, d.LastError, d.Warnings = o.Status, o.Reason, o.LastError, o.Warnings
						// A delivery that never posted (no code, a template that failed)
						// is known by its outcome alone.
						d.DistributionID = o.DistributionID
						if d.URL == "" {
							d.URL = o.URL
						}
					}
				}
				for _, skip := range res.Skipped {
					eventID := skip.EventID
					if eventID == "" {
						eventID = d.EventID
					}
					if payloads.DeliveryID(eventID, skip.DistributionID) == d.ID {
						d.Status, d.Reason, d.DistributionID = workflows.StatusSkipped, skip.Reason, skip.DistributionID
					}
				}
				// A distribution whose filter failed on the event took no delivery: the
				// run matched nothing, for that reason.
				for _, fe := range res.FilterErrors {
					eventID := fe.EventID
					if eventID == "" {
						eventID = d.EventID
					}
					if payloads.DeliveryID(eventID, fe.DistributionID) == d.ID {
						d.Status, d.Reason, d.DistributionID = workflows.StatusNoMatch, fe.Reason, fe.DistributionID
					}
				}
			}
		}
	}
	if d.EventID == "" && d.DistributionID != "" {
		for _, e := range delivered {
			if payloads.DeliveryID(e.ID, d.DistributionID) == d.ID {
				d.EventID, d.EventType, d.event = e.ID, e.Type, e
			}
		}
	}
	if d.Status == "" && throttled {
		d.Status = workflows.StatusThrottled
	}
	if d.Status == "" && held {
		d.Status = workflows.StatusHeld
	}
	if d.Status == "" {
		d.Status = "pending"
		if turn != "" && !turned {
			d.Status = workflows.StatusQueued
		}
		if n := len(d.Attempts); n > 0 {
			switch last := d.Attempts[n-1]; last.Outcome {
			case "running":
				d.Status = "attempting"
			case string(payloads.Delivered):
				d.Status = workflows.StatusDelivered
			case string(payloads.Retryable), "timed_out":
				d.Status, d.LastError = workflows.StatusRetrying, last.Error
			default:
				d.Status, d.LastError = workflows.StatusFailed, last.Error
			}
		}
	}
}

// failureNotice is the part of the NotifyFailure activity's input (distributions.FailureNotice)
// that tells how a delivery failed.
type failureNotice struct {
	DeliveryID     string `json:"delivery_id"`
	DistributionID string `json:"distribution_id"`
	TargetURL      string `json:"target_url"`
	LastError      string `json:"last_error"`
	Reason         string `json:"reason"`
}

func (a *Attempt) fill(outcome, errMsg string, resp payloads.Response, at time.Time) {
	a.Outcome, a.Error, a.EndedAt = outcome, errMsg, &at
	a.StatusCode, a.LatencyMs, a.Response = resp.StatusCode, resp.LatencyMs, resp.Body
}

// ErrNotResendable is returned for a delivery that is not failed or skipped.
var ErrNotResendable = errors.New("not failed or skipped")

// Resend sends a failed or skipped delivery again, as a new run of the Delivery workflow
// restricted to the delivery's distribution (or project webhook), which matches again on
// its current version. The delivery id, and so webhook-id, stays the same.
func (l *Log) Resend(ctx context.Context, deliveryID string) (Run, error) {
	d, err := l.Delivery(ctx, deliveryID)
	if err != nil {
		return Run{}, err
	}
	if d.Status != workflows.StatusFailed && d.Status != workflows.StatusSkipped {
		return Run{}, fmt.Errorf("%w: delivery %s is %s", ErrNotResendable, deliveryID, d.Status)
	}
	if d.event.ID == "" || d.DistributionID == "" {
		return Run{}, fmt.Errorf("delivery %s: its workflow history does not hold the event", deliveryID)
	}
	h := Run{EventID: d.EventID, WorkflowID: fmt.Sprintf("resend/%s/%d", deliveryID, time.Now().UnixMilli())}
	run, err := l.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    h.WorkflowID,
		TaskQueue:             l.TaskQueue,
		TypedSearchAttributes: temporal.NewSearchAttributes(workflows.EventTypeKey.ValueSet(d.EventType)),
	}, workflows.DeliveryWorkflow, workflows.DeliveryInput{Event: d.event, Only: []string{d.DistributionID}, LocalFirst: true})
	if err != nil {
		return Run{}, fmt.Errorf("resend delivery %s: %w", deliveryID, err)
	}
	h.RunID = run.GetRunID()
	return h, nil
}

// undelivered reads the result of a workflow that delivered many events and returns, as
// (delivery id, event id), its deliveries to distributionID that were not delivered:
// failed or skipped.
func (l *Log) undelivered(ctx context.Context, workflowID, runID, distributionID string) ([][2]string, error) {
	iter := l.Client.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT)
	var res workflows.DeliveryResult
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			return nil, fmt.Errorf("read the result of %s: %w", workflowID, err)
		}
		if done := ev.GetWorkflowExecutionCompletedEventAttributes(); done != nil {
			if err := l.dataConverter().FromPayloads(done.GetResult(), &res); err != nil {
				return nil, fmt.Errorf("read the result of %s: %w", workflowID, err)
			}
		}
	}
	var out [][2]string
	for _, o := range res.Deliveries {
		if o.DistributionID == distributionID && o.Status != workflows.StatusDelivered {
			out = append(out, [2]string{o.DeliveryID, o.EventID})
		}
	}
	for _, skip := range res.Skipped {
		if skip.DistributionID == distributionID {
			out = append(out, [2]string{payloads.DeliveryID(skip.EventID, skip.DistributionID), skip.EventID})
		}
	}
	return out, nil
}

// Recovered is one delivery that Recover looked at.
type Recovered struct {
	DeliveryID string `json:"delivery_id"`
	EventID    string `json:"event_id"`
	// Resent is the handle of the new run, when it was sent again.
	Resent *Run `json:"resent,omitempty"`
	// Status is why it was not sent again (its latest run is delivered, or retrying).
	Status string `json:"status,omitempty"`
}

// MaxRecover bounds how many deliveries one Recover sends again.
const MaxRecover = 1000

// Recover sends again every failed or skipped delivery to distributionID of the events that
// started since then (and before until, unless until is zero), oldest first, at most limit. A delivery whose latest run (it may have
// been sent again already) is not failed or skipped is left alone, so recovering twice
// does not send twice what the first recovery delivered.
func (l *Log) Recover(ctx context.Context, distributionID string, since, until time.Time, limit int) ([]Recovered, error) {
	if !safeID.MatchString(distributionID) {
		return nil, fmt.Errorf("distribution: %q is not a distribution or webhook id", distributionID)
	}
	if limit <= 0 || limit > MaxRecover {
		limit = MaxRecover
	}
	query := fmt.Sprintf("%s = '%s' AND %s IN ('%s', '%s') AND StartTime >= '%s' AND WorkflowId STARTS_WITH 'event/'",
		workflows.DistributionsKey.GetName(), distributionID, workflows.StatusKey.GetName(),
		workflows.StatusFailed, workflows.StatusSkipped, since.UTC().Format(time.RFC3339Nano))
	if !until.IsZero() {
		query += fmt.Sprintf(" AND StartTime < '%s'", until.UTC().Format(time.RFC3339Nano))
	}
	// The deliveries to look at, oldest event first (the list is newest first): the event's
	// delivery to the distribution, or for a workflow of many customers of a message, those
	// of its deliveries to it that it did not deliver.
	var listed []*workflowpb.WorkflowExecutionInfo
	var token []byte
	for len(listed) < limit {
		resp, err := l.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, PageSize: 100, NextPageToken: token})
		if err != nil {
			return nil, fmt.Errorf("list failed and skipped deliveries: %w", err)
		}
		listed = append(listed, resp.GetExecutions()...)
		if token = resp.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	if len(listed) > limit {
		listed = listed[:limit] // the newest
	}
	type pending struct{ deliveryID, eventID string }
	var todo []pending
	for i := len(listed) - 1; i >= 0 && len(todo) < limit; i-- {
		exec := listed[i].GetExecution()
		key := strings.TrimPrefix(exec.GetWorkflowId(), "event/")
		if _, many := payloads.ParseMessageGroupKey(key); !many {
			todo = append(todo, pending{payloads.DeliveryID(key, distributionID), key})
			continue
		}
		left, err := l.undelivered(ctx, exec.GetWorkflowId(), exec.GetRunId(), distributionID)
		if err != nil {
			return nil, err
		}
		for _, p := range left {
			todo = append(todo, pending{p[0], p[1]})
		}
	}
	if len(todo) > limit {
		todo = todo[:limit]
	}
	out := []Recovered{}
	for _, p := range todo {
		r := Recovered{DeliveryID: p.deliveryID, EventID: p.eventID}
		h, err := l.Resend(ctx, p.deliveryID)
		switch {
		case errors.Is(err, ErrNotResendable):
			r.Status = strings.TrimPrefix(err.Error(), ErrNotResendable.Error()+": ")
		case err != nil:
			return out, err
		default:
			r.Resent = &h
		}
		out = append(out, r)
	}
	return out, nil
}
