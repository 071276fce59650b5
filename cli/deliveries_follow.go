package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/deliverylog"
	"github.com/hookflow/hookflow/workflows"
)

// hookflow deliveries show ID --follow: the delivery, then each attempt as it ends, until
// the delivery is final, by polling GET /v1/deliveries/{id} (as `kubectl logs -f` or
// `gh run watch` do; Temporal's history is read through the API, which holds the codec).

// minPollInterval bounds --interval (and --watch's) from below: a poll reads a workflow's
// history.
const minPollInterval = 100 * time.Millisecond

// followGrace is how long --follow waits for a delivery id the API does not know yet: an
// event sent a moment ago (hookflow trigger, send) is in Temporal's visibility store only
// after its workflow's first task.
const followGrace = 5 * time.Second

// checkInterval refuses an --interval that is no interval to poll at.
func checkInterval(d time.Duration) error {
	if d < minPollInterval || d > time.Hour {
		return fmt.Errorf("--interval %s: want a duration from %s to 1h, such as 1s", d, minPollInterval)
	}
	return nil
}

// isFinal says whether a delivery's status is one it keeps: delivered, failed, skipped or
// no_match (pending, attempting and retrying move on).
func isFinal(status string) bool {
	switch status {
	case workflows.StatusDelivered, workflows.StatusFailed, workflows.StatusSkipped, workflows.StatusNoMatch:
		return true
	}
	return false
}

// attemptLine is an attempt as --follow -o jsonl prints it: the attempt and the delivery
// and run it belongs to.
type attemptLine struct {
	Object     string `json:"object"`
	DeliveryID string `json:"delivery_id"`
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
	deliverylog.Attempt
}

// poll runs get in the background so that ctx (Ctrl-C) ends the wait at once, not after a
// request's timeout; the request left behind ends with the process.
func poll[T any](ctx context.Context, get func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := get()
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// sleepCtx waits d or until ctx ends, and says whether ctx is still on.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// followDelivery prints the delivery, then every attempt as it ends, until the delivery is
// final. It ends with an error (exit 1) when the delivery ended other than delivered, and
// without one on Ctrl-C.
func followDelivery(ctx context.Context, c *apiClient, id string, interval time.Duration) error {
	path := "/v1/deliveries/" + url.PathEscape(id)
	get := func() (deliverylog.Delivery, error) {
		var d deliverylog.Delivery
		err := c.do(http.MethodGet, path, nil, &d)
		return d, err
	}
	start := time.Now()
	printed := map[string]bool{} // attempts printed, by run and number
	first := true
	var lastStatus string
	for {
		d, err := poll(ctx, get)
		var ae *apiError
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.As(err, &ae) && ae.status == http.StatusNotFound && time.Since(start) < followGrace:
			// Not in the delivery log yet; asked again below.
		case err != nil:
			return err
		default:
			if err := followStep(c, d, first, printed, &lastStatus); err != nil {
				return err
			}
			first = false
			if isFinal(d.Status) {
				return followEnd(c, d)
			}
		}
		if !sleepCtx(ctx, interval) {
			return nil
		}
	}
}

// followStep prints what is new in d: all of it the first time, then each attempt that
// ended since, and a change of status.
func followStep(c *apiClient, d deliverylog.Delivery, first bool, printed map[string]bool, lastStatus *string) error {
	var fresh []attemptLine
	for _, r := range d.Runs {
		for _, a := range r.Attempts {
			key := r.WorkflowID + "/" + r.RunID + "/" + strconv.Itoa(a.Number)
			if printed[key] || a.Outcome == "running" {
				continue
			}
			printed[key] = true
			fresh = append(fresh, attemptLine{Object: "attempt", DeliveryID: d.ID, WorkflowID: r.WorkflowID, RunID: r.RunID, Attempt: a})
		}
	}
	switch {
	case c.format == formatJSONL:
		for _, a := range fresh {
			if err := c.data(a); err != nil {
				return err
			}
		}
	case !c.isText():
		// -o json and yaml print the delivery once, when it is final.
	case first:
		printDelivery(c.out, d)
		if !isFinal(d.Status) {
			fmt.Fprintln(c.out) // what follows comes apart from the delivery as it was
		}
	default:
		for _, a := range fresh {
			printFollowedAttempt(c.out, a)
		}
		if d.Status != *lastStatus {
			fmt.Fprintf(c.out, "%s  %s\n", time.Now().Local().Format(tableTime), statusLine(d))
		}
	}
	*lastStatus = d.Status
	return nil
}

// followEnd prints the final delivery (-o json, yaml: all of it; jsonl: its last line) and
// answers an error unless it was delivered.
func followEnd(c *apiClient, d deliverylog.Delivery) error {
	switch {
	case c.format == formatJSONL:
		if err := c.data(map[string]any{"object": "delivery", "id": d.ID, "status": d.Status, "reason": d.Reason, "last_error": d.LastError}); err != nil {
			return err
		}
	case !c.isText():
		if err := c.data(d); err != nil {
			return err
		}
	}
	if d.Status == workflows.StatusDelivered {
		return nil
	}
	return fmt.Errorf("delivery %s ended %s", d.ID, statusLine(d))
}

// statusLine is a delivery's status with its reason and error.
func statusLine(d deliverylog.Delivery) string {
	s := d.Status
	if d.Reason != "" {
		s += " (" + d.Reason + ")"
	}
	// A skipped or no_match delivery's reason says it all; a failed one's error says why.
	if d.LastError != "" && (!isFinal(d.Status) || d.Status == workflows.StatusFailed) {
		s += ": " + d.LastError
	}
	return s
}

func printFollowedAttempt(w io.Writer, a attemptLine) {
	at := time.Now()
	if a.EndedAt != nil {
		at = *a.EndedAt
	} else if a.StartedAt != nil {
		at = *a.StartedAt
	}
	fmt.Fprintf(w, "%s  attempt %d: %s", at.Local().Format(tableTime), a.Number, a.Outcome)
	if a.StatusCode != 0 {
		fmt.Fprintf(w, " %d", a.StatusCode)
	}
	if a.LatencyMs != 0 || a.StatusCode != 0 {
		fmt.Fprintf(w, " in %dms", a.LatencyMs)
	}
	if a.Error != "" {
		fmt.Fprintf(w, ": %s", a.Error)
	}
	fmt.Fprintln(w)
}

// followFlags gives show --follow and --interval.
func followFlags(cmd *cobra.Command, follow *bool, interval *time.Duration) {
	cmd.Flags().BoolVarP(follow, "follow", "f", false, "print each attempt as it happens until the delivery is final (exit 1 unless delivered)")
	cmd.Flags().DurationVar(interval, "interval", time.Second, "with --follow, how often to ask the API")
}
