package cli

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/api"
	"github.com/hookflow/hookflow/payloads"
)

// hookflow distributions test ID: one delivery of a sample event to a distribution now,
// and the receiver's answer (POST /v1/distributions/{id}/test); Svix's "send example" and
// Hookdeck's "test connection".

// testWait is how long the command waits for the API's answer: the longest a test may take
// there (an attempt of up to a minute, and a worker to run it), and a margin.
const testWait = 2 * time.Minute

func newDistributionsTestCommand(g *globalFlags) *cobra.Command {
	var eventType string
	cmd := &cobra.Command{
		Use:   "test ID",
		Short: "Send one sample event to a distribution now and print what its receiver answered",
		Long: `Send one sample event (of --type, one of the distribution's trigger types; its first by
default) to the distribution now, rendered, signed and posted as a delivery's first attempt
is, and print the delivery id and the receiver's answer: status, time taken, headers and the
first bytes of the body. A paused or draft distribution can be tested; its conditions are
not asked. Whatever the answer, nothing is retried, nobody is notified and the
distribution is not paused. The command exits 1 when the receiver did not answer 2xx (the
answer is printed all the same), so a script can check a receiver with it.`,
		Example: `  hookflow distributions test distr_123
  hookflow distributions test distr_123 --type customer.order.canceled -o json`,
		Args: usageArgs,
		RunE: g.withClient(func(c *apiClient, cmd *cobra.Command, args []string) error {
			if eventType != "" && !slices.Contains(payloads.DistributionTriggers, eventType) {
				return fmt.Errorf("--type %q is not a distribution trigger type; one of: %s", eventType, strings.Join(payloads.DistributionTriggers, ", "))
			}
			var body []byte
			if eventType != "" {
				var err error
				if body, err = jsonBody(map[string]string{"type": eventType}); err != nil {
					return err
				}
			}
			// A test waits for the receiver's answer, up to a distribution's longest timeout.
			// The client is this command's own: its timeout is changed in place, where
			// every request of c reads it.
			c.http.Timeout = testWait
			var res api.TestView
			if err := c.do(http.MethodPost, "/v1/distributions/"+url.PathEscape(args[0])+"/test", body, &res); err != nil {
				return namingFlag(err, map[string]string{"type": "--type"})
			}
			if c.isText() {
				printTest(c.out, res)
			} else if err := c.data(res); err != nil {
				return err
			}
			if res.Response.Outcome != payloads.Delivered {
				return fmt.Errorf("the receiver of %s did not answer 2xx: %s", res.DistributionID, testVerdict(res.Response))
			}
			return nil
		}),
	}
	cmd.Flags().StringVar(&eventType, "type", "", "the sample event's type: one of the distribution's trigger types (default its first)")
	return cmd
}

// printTest prints what a test sent and what the receiver answered.
func printTest(w io.Writer, res api.TestView) {
	r := res.Response
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "tested\t%s with a %s event (%s)\n", res.DistributionID, res.Event.Type, res.Event.ID)
	fmt.Fprintf(tw, "delivery\t%s\n", res.DeliveryID)
	fmt.Fprintf(tw, "url\t%s\n", res.Request.URL)
	for _, warning := range res.Warnings {
		fmt.Fprintf(tw, "warning\t%s\n", warning)
	}
	status := "no answer"
	if r.StatusCode != 0 {
		status = fmt.Sprintf("%d %s", r.StatusCode, http.StatusText(r.StatusCode))
	}
	fmt.Fprintf(tw, "answer\t%s in %dms: %s\n", strings.TrimSpace(status), r.LatencyMs, testVerdict(r))
	if r.Error != "" {
		fmt.Fprintf(tw, "error\t%s\n", r.Error)
	}
	tw.Flush()
	if len(r.Headers) > 0 {
		fmt.Fprintln(w, "headers")
		names := make([]string, 0, len(r.Headers))
		for name := range r.Headers {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			for _, v := range r.Headers[name] {
				fmt.Fprintf(w, "  %s: %s\n", name, v)
			}
		}
	}
	if r.Body != "" {
		fmt.Fprintf(w, "body (first bytes)\n  %s\n", strings.ReplaceAll(strings.TrimRight(r.Body, "\n"), "\n", "\n  "))
	}
}

// testVerdict says what an answer would mean for a delivery.
func testVerdict(r payloads.TestAnswer) string {
	switch r.Outcome {
	case payloads.Delivered:
		return "delivered"
	case payloads.Retryable:
		return "a delivery would be retried on its schedule"
	case payloads.Gone:
		return "410: a delivery would stop and pause the distribution"
	case payloads.Rejected:
		return "a delivery would fail at once"
	}
	return string(r.Outcome)
}
