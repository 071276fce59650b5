package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/api"
	"github.com/hookflow/hookflow/starter"
)

func newDeliveriesCommand(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "deliveries", Aliases: []string{"delivery"}, Short: "Read the delivery log"}

	show := &cobra.Command{
		Use: "show ID", Short: "Show a delivery (whs_...) with every attempt", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client(cmd)
			if err != nil {
				return err
			}
			var d starter.Delivery
			if err := c.do(http.MethodGet, "/v1/deliveries/"+url.PathEscape(args[0]), nil, &d); err != nil {
				return err
			}
			if c.output != "text" {
				return c.printData(d)
			}
			fmt.Fprintf(c.out, "delivery %s: %s", d.ID, d.Status)
			if d.Reason != "" {
				fmt.Fprintf(c.out, " (%s)", d.Reason)
			}
			fmt.Fprintf(c.out, "\n  event         %s (%s)\n  distribution  %s\n  url           %s\n  workflow      %s\n",
				d.EventID, d.EventType, d.DistributionID, d.URL, d.WorkflowID)
			tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "  #\tSTARTED\tOUTCOME\tSTATUS\tLATENCY\tERROR")
			for _, a := range d.Attempts {
				started, status, latency := "-", "-", "-"
				if a.StartedAt != nil {
					started = a.StartedAt.Local().Format(time.DateTime)
				}
				if a.StatusCode != 0 {
					status = strconv.Itoa(a.StatusCode)
				}
				if a.LatencyMs != 0 || a.StatusCode != 0 {
					latency = fmt.Sprintf("%dms", a.LatencyMs)
				}
				fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t%s\n", a.Number, started, a.Outcome, status, latency, a.Error)
			}
			return tw.Flush()
		},
	}

	var status, distribution, eventType string
	var limit int
	list := &cobra.Command{
		Use: "list", Short: "List events of the delivery log, newest first", Args: cobra.NoArgs,
		Example: `  hookflow deliveries list --status failed
  hookflow deliveries list --distribution distr_123 --limit 20`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client(cmd)
			if err != nil {
				return err
			}
			q := url.Values{}
			for k, v := range map[string]string{"status": status, "distribution": distribution, "event_type": eventType} {
				if v != "" {
					q.Set(k, v)
				}
			}
			q.Set("limit", strconv.Itoa(limit))
			var l api.List[starter.EventSummary]
			if err := c.do(http.MethodGet, "/v1/deliveries?"+q.Encode(), nil, &l); err != nil {
				return err
			}
			if c.output != "text" {
				return c.printData(l)
			}
			tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "WORKFLOW\tSTATUS\tEVENT TYPE\tSTARTED\tDELIVERIES")
			for _, e := range l.Data {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.WorkflowID, e.Status, e.EventType,
					e.StartedAt.Local().Format(time.DateTime), strings.Join(e.Deliveries, ","))
			}
			return tw.Flush()
		},
	}
	f := list.Flags()
	f.StringVar(&status, "status", "", "delivered, retrying, failed, no_match or skipped")
	f.StringVar(&distribution, "distribution", "", "only events delivered to this distribution (or webhook) id")
	f.StringVar(&eventType, "event-type", "", "only events of this type")
	f.IntVar(&limit, "limit", 50, fmt.Sprintf("at most this many (1 to %d)", starter.MaxListLimit))
	cmd.AddCommand(show, list)
	return cmd
}
