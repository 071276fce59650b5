package cli

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/payloads"
)

// hookflow trigger TYPE: send a sample event of any trigger type (the samples of package
// payloads, the ones templates are checked on), so that a developer sees a delivery of a
// type without making up its objects (Stripe's `stripe trigger`).

// triggered is what trigger prints with -o json.
type triggered struct {
	Event      payloads.Event      `json:"event"`
	WorkflowID string              `json:"workflow_id"`
	RunID      string              `json:"run_id"`
	Deliveries []triggeredDelivery `json:"deliveries"`
}

// triggeredDelivery is the delivery the event makes to one distribution that subscribes
// to its type, if that distribution's conditions take it.
type triggeredDelivery struct {
	ID             string `json:"id"`
	DistributionID string `json:"distribution_id"`
	Name           string `json:"name"`
}

func newTriggerCommand(g *globalFlags) *cobra.Command {
	var distribution string
	cmd := &cobra.Command{
		Use:   "trigger TYPE",
		Short: "Send a sample event of a trigger type",
		Long: `Send a sample event of TYPE (any type of spec section 6, e.g. customer.order.paid)
with plausible objects and a new id, and print the delivery ids it makes: one for each live
distribution that subscribes to TYPE (its conditions may still refuse the event; see
hookflow deliveries show ID). With --distribution, only that distribution's delivery is
printed; the event goes to every distribution that takes it all the same.`,
		Example: `  hookflow trigger customer.order.paid
  hookflow trigger customer.rewarded --distribution distr_... -o json`,
		Args: usageArgs,
		RunE: g.withClient(func(c *apiClient, cmd *cobra.Command, args []string) error {
			typ := args[0]
			if !slices.Contains(payloads.AllEventTypes(), typ) {
				return fmt.Errorf("TYPE %q is not an event type; one of: %s", typ, strings.Join(payloads.AllEventTypes(), ", "))
			}
			all, err := getAll[struct {
				ID      string `json:"id"`
				Name    string `json:"name"`
				Status  string `json:"status"`
				Trigger struct {
					Events []string `json:"events"`
				} `json:"trigger"`
			}](c, "/v1/distributions")
			if err != nil {
				return err
			}
			ev := payloads.SampleEvent(typ)
			ev.ID = payloads.NewID("evt_")
			ev.CreatedAt = time.Now().UTC().Truncate(time.Millisecond)
			out := triggered{Event: ev, Deliveries: []triggeredDelivery{}}
			found := false
			for _, d := range all {
				if distribution != "" && d.ID != distribution {
					continue
				}
				found = found || d.ID == distribution
				if d.Status != "live" || !slices.ContainsFunc(d.Trigger.Events, func(p string) bool { return payloads.MatchesPattern(p, typ) }) {
					if distribution != "" {
						return fmt.Errorf("--distribution %s is %s and takes %s: it would not get a %s event", d.ID, d.Status, strings.Join(d.Trigger.Events, ", "), typ)
					}
					continue
				}
				out.Deliveries = append(out.Deliveries, triggeredDelivery{payloads.DeliveryID(ev.ID, d.ID), d.ID, d.Name})
			}
			if distribution != "" && !found {
				return fmt.Errorf("--distribution %s: no such distribution (hookflow distributions list)", distribution)
			}
			body, err := jsonBody(ev)
			if err != nil {
				return err
			}
			var h struct {
				WorkflowID string `json:"workflow_id"`
				RunID      string `json:"run_id"`
			}
			if err := c.create("/v1/events", body, &h); err != nil {
				return err
			}
			out.WorkflowID, out.RunID = h.WorkflowID, h.RunID
			if !c.isText() {
				return c.data(out)
			}
			fmt.Fprintf(c.out, "sent %s event %s (workflow %s) with %s\n", typ, ev.ID, h.WorkflowID, objectNames(ev))
			if len(out.Deliveries) == 0 {
				fmt.Fprintf(c.out, "no live distribution subscribes to %s: nothing is delivered\n", typ)
			}
			for _, d := range out.Deliveries {
				fmt.Fprintf(c.out, "delivery %s to %s (%s)\n", d.ID, d.DistributionID, d.Name)
			}
			return nil
		}),
	}
	cmd.Flags().StringVar(&distribution, "distribution", "", "print only the delivery to this distribution (distr_...)")
	g.idempotencyFlag(cmd)
	return cmd
}

// objectNames lists the objects an event carries, in order.
func objectNames(ev payloads.Event) string {
	names := make([]string, 0, len(ev.Data))
	for k := range ev.Data {
		names = append(names, k)
	}
	slices.Sort(names)
	if len(names) == 0 {
		return "no objects"
	}
	return strings.Join(names, ", ")
}
