package cli

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/app"
	"github.com/hookflow/hookflow/deliverylog"
	"github.com/hookflow/hookflow/distributions"
)

func newDeliveriesCommand(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "deliveries", Aliases: []string{"delivery"}, Short: "Read the delivery log"}

	var follow bool
	var interval time.Duration
	show := &cobra.Command{
		Use: "show ID", Short: "Show a delivery (whs_...): its state, why it failed, and every run with its attempts", Args: usageArgs,
		Long: `Show a delivery (whs_...): its state, why it failed, and every run with its attempts.

With --follow, print it, then each attempt as it ends and each change of its status, asking
the API every --interval, until the delivery is final (delivered, failed, skipped or
no_match); then exit 0 if it was delivered and 1 otherwise. -o jsonl prints one JSON object
per attempt and, last, the delivery's final status; -o json and yaml print the final
delivery. A delivery id the API does not know yet is asked for again for 5 s (an event sent
a moment ago). Ctrl-C stops following.`,
		Example: `  hookflow deliveries show whs_123
  hookflow deliveries show whs_123 -o json
  hookflow deliveries show whs_123 --follow
  hookflow deliveries show whs_123 --follow --interval 5s -o jsonl`,
		RunE: g.withClient(func(c *apiClient, cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("interval") && !follow {
				return errors.New("--interval goes with --follow")
			}
			if follow {
				if err := checkInterval(interval); err != nil {
					return err
				}
				return followDelivery(cmd.Context(), c, args[0], interval)
			}
			var d deliverylog.Delivery
			if err := c.do(http.MethodGet, "/v1/deliveries/"+url.PathEscape(args[0]), nil, &d); err != nil {
				return err
			}
			if !c.isText() {
				return c.data(d)
			}
			printDelivery(c.out, d)
			return nil
		}),
	}

	followFlags(show, &follow, &interval)

	var status, distribution, eventType, event, since, until, pageToken, uiURL, namespace string
	var limit int
	var all, web bool
	list := &cobra.Command{
		Use: "list", Short: "List events of the delivery log, a page at a time: running ones first, then the closed ones, most recently closed first",
		Long: `List events of the delivery log, a page at a time (--all: every page), in the order of
Temporal's visibility store, the same across pages: the events still running first (newest
started first), then the closed ones, most recently closed first. An old event still retrying
so comes before a newer one that closed.`,
		Args: usageArgs,
		Example: `  hookflow deliveries list --status failed --since 24h
  hookflow deliveries list --distribution distr_123 --limit 20
  hookflow deliveries list --event evt_123
  hookflow deliveries list --status failed --page-token TOKEN_FROM_THE_LAST_PAGE
  hookflow deliveries list --since 2026-11-27T08:00:00Z --until 2026-11-27T09:00:00Z --all -o json
  hookflow deliveries list --status failed --web
  hookflow deliveries list --distribution distr_123 --web --ui-url https://temporal.example.com`,
		RunE: g.withClient(func(c *apiClient, cmd *cobra.Command, _ []string) error {
			if web {
				return printUILink(c.out, uiURL, namespace, status, distribution, eventType, event, since, until)
			}
			q := url.Values{}
			for k, v := range map[string]string{"status": status, "distribution": distribution, "event_type": eventType, "event": event, "page_token": pageToken} {
				if v != "" {
					q.Set(k, v)
				}
			}
			now := time.Now()
			for _, bound := range []struct{ name, value string }{{"since", since}, {"until", until}} {
				if bound.value == "" {
					continue
				}
				at, err := parseTimeFlag(bound.name, bound.value, now)
				if err != nil {
					return err
				}
				q.Set(bound.name, at.UTC().Format(time.RFC3339Nano))
			}
			items, done, err := getList[deliverylog.EventSummary](c, cmd, pageFlags{limit: limit, pageToken: pageToken, all: all}, "/v1/deliveries", q)
			if done {
				return err
			}
			return printTable(c.out, "WORKFLOW\tSTATUS\tEVENT TYPE\tSTARTED\tDELIVERIES", items, func(e deliverylog.EventSummary) string {
				return fmt.Sprintf("%s\t%s\t%s\t%s\t%s", e.WorkflowID, eventStatus(e), e.EventType, e.StartedAt.Local().Format(tableTime), strings.Join(e.Deliveries, ","))
			})
		}),
	}
	f := list.Flags()
	f.StringVar(&status, "status", "", "delivered, retrying, queued, failed, no_match, skipped, throttled or held")
	f.StringVar(&distribution, "distribution", "", "only events delivered to this distribution (or webhook) id")
	f.StringVar(&eventType, "event-type", "", "only events of this type")
	f.StringVar(&event, "event", "", "only this event (evt_...): its deliveries' whs_ ids")
	f.StringVar(&since, "since", "", "only events started at or after this RFC 3339 time, or this long ago such as 24h")
	f.StringVar(&until, "until", "", "only events started before this RFC 3339 time, or this long ago such as 1h")
	f.IntVar(&limit, "limit", 50, fmt.Sprintf("at most this many a page (1 to %d)", deliverylog.MaxListLimit))
	f.StringVar(&pageToken, "page-token", "", "read on from the page that printed this token")
	f.BoolVar(&all, "all", false, "read every page (-o jsonl prints each as it arrives)")
	f.BoolVar(&web, "web", false, "print the Temporal Web UI's link to the same events (its list with the filter as a query) instead of listing them")
	f.StringVar(&uiURL, "ui-url", app.DefaultUIURL, "Temporal Web UI base URL for --web; the default is where hookflow dev serves it")
	f.StringVar(&namespace, "namespace", "default", "Temporal namespace for --web")
	retry := &cobra.Command{
		Use: "retry ID", Short: "Send a failed or skipped delivery again, as a new run", Args: usageArgs,
		Example: `  hookflow deliveries list --status failed
  hookflow deliveries retry whs_123`,
		RunE: g.withClient(func(c *apiClient, cmd *cobra.Command, args []string) error {
			var h deliverylog.Run
			if err := c.create("/v1/deliveries/"+url.PathEscape(args[0])+"/retry", nil, &h); err != nil {
				return err
			}
			if !c.isText() {
				return c.data(h)
			}
			fmt.Fprintf(c.out, "sending %s again (workflow %s)\n", args[0], h.WorkflowID)
			return nil
		}),
	}
	g.idempotencyFlag(retry)
	cmd.AddCommand(show, list, retry)
	return cmd
}

// printUILink prints the Web UI's link to the events the list's filters select: the UI's
// workflow list with their visibility query, which the delivery log runs too.
func printUILink(w io.Writer, uiURL, namespace, status, distribution, eventType, event, since, until string) error {
	u, err := url.Parse(uiURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--ui-url %q: want the Web UI's base URL, such as %s", uiURL, app.DefaultUIURL)
	}
	f := deliverylog.EventFilter{Status: status, DistributionID: distribution, EventType: eventType, EventID: event}
	now := time.Now()
	for _, bound := range []struct {
		name, value string
		at          *time.Time
	}{{"since", since, &f.Since}, {"until", until, &f.Until}} {
		if bound.value == "" {
			continue
		}
		if *bound.at, err = parseTimeFlag(bound.name, bound.value, now); err != nil {
			return err
		}
	}
	link, err := app.UIWorkflowsURL(uiURL, namespace, f)
	if err != nil {
		return fmt.Errorf("--%s", strings.Replace(err.Error(), "_", "-", 1))
	}
	_, err = fmt.Fprintln(w, link)
	return err
}

// parseTimeFlag reads the flag --name: an RFC 3339 time or a duration back from now.
func parseTimeFlag(name, v string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if d, err := distributions.ParseDuration(v); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("--%s %q: not an RFC 3339 time (2026-11-27T08:00:00Z) or a duration back from now (24h, 7d)", name, v)
}

// printDelivery prints a delivery as it is now (status, reason, error, warnings), then
// every run of it, the event's own and each that sent it again, with its attempts.
func printDelivery(w io.Writer, d deliverylog.Delivery) {
	fmt.Fprintf(w, "delivery %s: %s", d.ID, d.Status)
	if d.Reason != "" {
		fmt.Fprintf(w, " (%s)", d.Reason)
	}
	fmt.Fprintln(w)
	if d.LastError != "" {
		fmt.Fprintf(w, "  error         %s\n", d.LastError)
	}
	for _, warning := range d.Warnings {
		fmt.Fprintf(w, "  warning       %s\n", warning)
	}
	fmt.Fprintf(w, "  event         %s (%s)\n  distribution  %s\n  url           %s\n  workflow      %s\n",
		d.EventID, d.EventType, d.DistributionID, d.URL, d.WorkflowID)
	for i, r := range d.Runs {
		kind := "the event's run"
		if r.Resend {
			kind = "sent again"
		}
		fmt.Fprintf(w, "\nrun %d of %d, %s: %s", i+1, len(d.Runs), kind, r.Status)
		if r.Reason != "" {
			fmt.Fprintf(w, " (%s)", r.Reason)
		}
		fmt.Fprintf(w, "\n  workflow      %s\n  started       %s\n", r.WorkflowID, r.StartedAt.Local().Format(tableTime))
		if r.LastError != "" {
			fmt.Fprintf(w, "  error         %s\n", r.LastError)
		}
		for _, warning := range r.Warnings {
			fmt.Fprintf(w, "  warning       %s\n", warning)
		}
		if len(r.Attempts) == 0 {
			fmt.Fprintln(w, "  no attempts")
			continue
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  #\tSTARTED\tOUTCOME\tSTATUS\tLATENCY\tERROR")
		for _, a := range r.Attempts {
			started, status, latency := "-", "-", "-"
			if a.StartedAt != nil {
				started = a.StartedAt.Local().Format(tableTime)
			}
			if a.StatusCode != 0 {
				status = strconv.Itoa(a.StatusCode)
			}
			if a.LatencyMs != 0 || a.StatusCode != 0 {
				latency = fmt.Sprintf("%dms", a.LatencyMs)
			}
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t%s\n", a.Number, started, a.Outcome, status, latency, a.Error)
		}
		_ = tw.Flush()
	}
}

// eventStatus is an event's status in the list, and what the runs that sent its deliveries
// again came to: "failed (sent again: delivered)".
func eventStatus(e deliverylog.EventSummary) string {
	if len(e.SentAgain) == 0 {
		return e.Status
	}
	var again []string
	for _, id := range e.Deliveries {
		if status, ok := e.SentAgain[id]; ok && !slices.Contains(again, status) {
			again = append(again, status)
		}
	}
	return fmt.Sprintf("%s (sent again: %s)", e.Status, strings.Join(again, ", "))
}
