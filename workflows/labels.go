package workflows

// The labels the Temporal Web UI shows: a workflow's summary and details (set at start by
// the starter), every attempt's, wait's and notification's summary, and the current
// details that say where an event stands. They make the UI read as a delivery log without
// opening any payload.
//
// Labels are user metadata, which the server keeps beside the history and the UI shows to
// everyone who can open it (encrypted only when the client's data converter encrypts). So
// they are built here, from distribution names, the target's host and path, counts,
// schedule names and times only: never from the event's data, a header, a secret, a URL's
// query or user info. Every builder takes exactly those, so no caller can pass more.

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/hookflow/hookflow/distributions"
)

// maxLabelName bounds a distribution's name in a label: a summary is one line.
const maxLabelName = 80

// maxListed bounds how many deliveries the details and the current details name; the rest
// are counted.
const maxListed = 10

// labelName makes a distribution's name fit a one-line label.
func labelName(name string) string {
	name = strings.Join(strings.Fields(name), " ")
	if name == "" {
		name = "(unnamed)"
	}
	if r := []rune(name); len(r) > maxLabelName {
		name = string(r[:maxLabelName-1]) + "…"
	}
	return name
}

// labelTarget is a URL's host and path: no scheme, no user info, no query, no fragment,
// which may carry tokens.
func labelTarget(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return "(invalid URL)"
	}
	return u.Host + u.EscapedPath()
}

// labelHost is a URL's host alone.
func labelHost(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return "(invalid URL)"
	}
	return u.Host
}

// plural is "1 distribution", "2 distributions".
func plural(n int, one string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %ss", n, one)
}

// webhookLabelName is a project webhook's name in labels: its description, or its host
// (the name the workflow gives it carries the whole URL).
func webhookLabelName(w distributions.ProjectWebhook) string {
	if w.Description != "" {
		return w.Description
	}
	return "project webhook " + labelHost(w.URL)
}

// EventSummary is the one-line summary of an event's workflow: its type, its id and how
// many distributions (and project webhooks) subscribe to its type, when the starter read
// them (snap nil: the workflow reads them itself).
func EventSummary(eventType, eventID string, snap *distributions.Snapshot) string {
	s := eventType + " " + eventID
	if snap == nil {
		return s + " · distributions read by the workflow"
	}
	return s + " · " + plural(len(snap.Candidates)+len(snap.Webhooks), "distribution")
}

// MessageSummary is the one-line summary of the workflow that delivers customers of a
// message (manual or bulk) to one distribution: the event type, the workflow's key (the
// message id and the customers' numbers, never a customer's own id) and how many customers.
func MessageSummary(eventType, key string, customers int) string {
	return eventType + " " + key + " · " + plural(customers, "customer") + " of a message"
}

// EventDetails are the details of an event's workflow (Markdown, as the UI renders them):
// the distributions and project webhooks that subscribe to the event's type, each with its
// status and target host. Which of them take the event is decided by the workflow, so the
// status is said as read at intake.
func EventDetails(eventType string, snap *distributions.Snapshot) string {
	if snap == nil {
		return "The workflow reads the distributions that subscribe to " + eventType + " itself."
	}
	n := len(snap.Candidates) + len(snap.Webhooks)
	if n == 0 {
		return "No distribution subscribes to " + eventType + "."
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Subscribed to %s at intake:\n", eventType)
	listed := 0
	for _, d := range snap.Candidates {
		if listed == maxListed {
			break
		}
		listed++
		fmt.Fprintf(&b, "- %s → %s (%s)\n", labelName(d.Name), labelHost(d.Webhook.URL), d.Status)
	}
	for _, w := range snap.Webhooks {
		if listed == maxListed {
			break
		}
		listed++
		state := "active"
		if !w.Active {
			state = "inactive"
		}
		fmt.Fprintf(&b, "- %s → %s (project webhook, %s)\n", labelName(webhookLabelName(w)), labelHost(w.URL), state)
	}
	if n > listed {
		fmt.Fprintf(&b, "- and %d more\n", n-listed)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// AttemptSummary labels one attempt of a delivery: "Paid orders → hooks.example.com/orders,
// attempt 2 of 13".
func AttemptSummary(name, rawURL string, attempt, attempts int) string {
	return fmt.Sprintf("%s → %s, attempt %d of %d", labelName(name), labelTarget(rawURL), attempt, attempts)
}

// ScheduleLabel names a retry schedule: its name, or "custom" with its intervals.
func ScheduleLabel(s distributions.RetrySchedule) string {
	if s.Name != "" {
		return s.Name + " schedule"
	}
	gaps := s.Gaps()
	parts := make([]string, 0, min(len(gaps), 5))
	for i, g := range gaps {
		if i == 5 {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, g.String())
	}
	return "custom schedule (" + strings.Join(parts, ", ") + ")"
}

// WaitSummary labels the timer before a retry: "Paid orders: wait for attempt 3 of 13
// (voucherify schedule)".
func WaitSummary(name string, attempt, attempts int, schedule distributions.RetrySchedule) string {
	return fmt.Sprintf("%s: wait for attempt %d of %d (%s)", labelName(name), attempt, attempts, ScheduleLabel(schedule))
}

// RateTokenSummary labels the take of a rate limit's token before an attempt.
func RateTokenSummary(name string, attempt, attempts int) string {
	return fmt.Sprintf("%s: rate limit token for attempt %d of %d", labelName(name), attempt, attempts)
}

// RateWaitSummary labels the wait for a rate limit's turn.
func RateWaitSummary(name, rateLimit string) string {
	return fmt.Sprintf("%s: throttled, wait for a turn (rate limit %s)", labelName(name), rateLimit)
}

// LoadCandidatesSummary labels the step that reads the distributions of an event type,
// when the starter could not.
func LoadCandidatesSummary(eventType string) string {
	return "Read the distributions that subscribe to " + eventType
}

// PublishCodeSummary labels the step that publishes a code to the event's customer before a
// publish_code delivery (the customer is not named: customer data stays out of labels).
func PublishCodeSummary(name string) string {
	return labelName(name) + ": publish a code to the event's customer"
}

// PauseSummary labels the step that pauses a distribution (or disables a project webhook)
// whose delivery failed for good.
func PauseSummary(name, object, reason string, attempts int) string {
	what := "Pause distribution"
	if object == "webhook" {
		what = "Disable project webhook"
	}
	return fmt.Sprintf("%s %s: failed for good (%s)", what, labelName(name), failure(reason, attempts))
}

// NotifySummary labels one failure notification: channel is the activity's name.
func NotifySummary(channel, name, reason string, attempts int) string {
	what := map[string]string{
		ActivityNotifyFailure:    "Record failure notice",
		ActivitySendFailureEmail: "E-mail failure notice",
		ActivitySendFailureAlert: "Send failure alert",
	}[channel]
	if what == "" {
		what = channel
	}
	return fmt.Sprintf("%s: %s failed (%s)", what, labelName(name), failure(reason, attempts))
}

// failure says why a delivery failed: "exhausted after 4 attempts", or the reason alone
// when no attempt was made (no code to publish, a template that did not render).
func failure(reason string, attempts int) string {
	if attempts == 0 {
		return reason
	}
	return reason + " after " + plural(attempts, "attempt")
}

// deliveryState is where one delivery stands, for the current details.
type deliveryState struct {
	name string
	// attempt is the attempt in flight or waited for; attempts the schedule's most.
	attempt, attempts int
	// status is "" while an attempt is in flight, StatusRetrying while it waits until next,
	// StatusThrottled while it waits for its rate limit, then StatusDelivered or
	// StatusFailed.
	status string
	next   time.Time
	reason string
	paused bool
}

// CurrentDetails says where an event stands: "2 of 3 delivered; Paid orders retrying,
// attempt 3 of 13 at 20:15 UTC", and when every delivery has ended, the outcome:
// "Finished: 1 of 2 delivered; Failing orders failed (exhausted after 4 attempts),
// paused".
func currentDetails(states []deliveryState) string {
	delivered, ended := 0, 0
	var notes []string
	for _, s := range states {
		switch s.status {
		case StatusDelivered:
			delivered++
			ended++
		case StatusFailed:
			ended++
			note := fmt.Sprintf("%s failed (%s)", labelName(s.name), failure(s.reason, s.attempt))
			if s.paused {
				note += ", paused"
			}
			notes = append(notes, note)
		case "":
			notes = append(notes, fmt.Sprintf("%s sending attempt %d of %d", labelName(s.name), s.attempt, s.attempts))
		case StatusThrottled:
			notes = append(notes, fmt.Sprintf("%s throttled by its rate limit, attempt %d of %d", labelName(s.name), s.attempt, s.attempts))
		case StatusHeld:
			notes = append(notes, fmt.Sprintf("%s held by its circuit breaker", labelName(s.name)))
		case StatusQueued:
			notes = append(notes, fmt.Sprintf("%s queued behind an earlier event of its stream", labelName(s.name)))
		case StatusRetrying:
			notes = append(notes, fmt.Sprintf("%s retrying, attempt %d of %d at %s", labelName(s.name), s.attempt, s.attempts,
				s.next.UTC().Format("15:04 UTC")))
		}
	}
	if len(notes) > maxListed {
		notes = append(notes[:maxListed], fmt.Sprintf("%d more", len(notes)-maxListed))
	}
	head := fmt.Sprintf("%d of %d delivered", delivered, len(states))
	if ended == len(states) {
		head = "Finished: " + head
	}
	return strings.Join(append([]string{head}, notes...), "; ")
}

// unmatchedDetails are the current details of an event that no delivery took: skipped
// distributions (paused, drafts, inactive) and filters that failed on it.
func unmatchedDetails(skipped, filterErrors int) string {
	switch {
	case skipped > 0:
		return fmt.Sprintf("Finished: skipped; %s that take it are paused, drafts or inactive, it can be sent again", plural(skipped, "distribution"))
	case filterErrors > 0:
		return fmt.Sprintf("Finished: no delivery; the filter of %s failed on this event", plural(filterErrors, "distribution"))
	}
	return "Finished: no live distribution matched this event"
}
