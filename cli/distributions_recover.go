package cli

import (
	"fmt"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/api"
	"github.com/hookflow/hookflow/deliverylog"
)

// newRecoverCommand is `distributions recover ID --since TIME [--until TIME]`.
func newRecoverCommand(g *globalFlags) *cobra.Command {
	var since, until string
	var limit int
	cmd := &cobra.Command{
		Use:   "recover ID --since TIME [--until TIME]",
		Short: "Send again every failed or skipped delivery of a live distribution since TIME (and before --until)",
		Example: `  hookflow distributions resume distr_123
  hookflow distributions recover distr_123 --since 2026-11-27T08:00:00Z
  hookflow distributions recover distr_123 --since 24h
  hookflow distributions recover distr_123 --since 2026-11-27T08:00:00Z --until 2026-11-27T09:00:00Z`,
		Args: usageArgs,
		RunE: g.withClient(func(c *apiClient, cmd *cobra.Command, args []string) error {
			at, err := parseSince(since, time.Now())
			if err != nil {
				return err
			}
			in := map[string]any{"since": at, "limit": limit}
			if until != "" {
				to, err := parseTimeFlag("until", until, time.Now())
				if err != nil {
					return err
				}
				in["until"] = to
			}
			body, _ := jsonBody(in)
			var l api.List[deliverylog.Recovered]
			if err := c.create("/v1/distributions/"+url.PathEscape(args[0])+"/recover", body, &l); err != nil {
				return err
			}
			if !c.isText() {
				return c.data(l)
			}
			resent := 0
			for _, r := range l.Data {
				if r.Resent != nil {
					resent++
					fmt.Fprintf(c.out, "resent   %s  event %s  (workflow %s)\n", r.DeliveryID, r.EventID, r.Resent.WorkflowID)
				} else {
					fmt.Fprintf(c.out, "left     %s  event %s  (%s)\n", r.DeliveryID, r.EventID, r.Status)
				}
			}
			fmt.Fprintf(c.out, "%d of %d deliveries sent again\n", resent, len(l.Data))
			return nil
		}),
	}
	cmd.Flags().StringVar(&since, "since", "", "RFC 3339 time, or a duration back from now such as 24h")
	cmd.Flags().StringVar(&until, "until", "", "only events that started before this RFC 3339 time, or duration back from now (default: up to now)")
	cmd.Flags().IntVar(&limit, "limit", deliverylog.MaxRecover, "send at most this many")
	g.idempotencyFlag(cmd)
	return cmd
}

// parseSince reads the required --since flag: an RFC 3339 time or a duration back from now.
func parseSince(v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, fmt.Errorf("--since is required: an RFC 3339 time or a duration such as 24h")
	}
	return parseTimeFlag("since", v, now)
}
