package cli

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/deliverylog"
	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/payloads"
	"github.com/hookflow/hookflow/workflows"
)

// Shell completion: cobra's `completion` command writes the scripts (bash, zsh, fish,
// powershell), which call `hookflow __complete ...` as the user presses Tab. Ids are
// completed through the API (the --api and --api-key of the line, or HOOKFLOW_API and
// HOOKFLOW_API_KEY), with a short timeout: a completion that cannot reach the API offers
// nothing, prints nothing else and never keeps the shell waiting long.

// completionTimeout bounds a completion's request to the API.
const completionTimeout = 2 * time.Second

// completionLimit is how many items a completion reads: one page.
const completionLimit = "100"

// idLister lists the ids of one kind of resource with a short description each.
type idLister func(c *apiClient) ([]cobra.Completion, error)

// The ids each command's ID argument takes, by the command's path.
func idArguments() map[string]idLister {
	distrs := map[string]idLister{}
	for _, verb := range []string{"get", "update", "delete", "pause", "resume", "recover", "test"} {
		distrs["hookflow distributions "+verb] = listDistributionIDs
	}
	distrs["hookflow messages send"] = listDistributionIDs
	distrs["hookflow deliveries show"] = listDeliveryIDs
	distrs["hookflow deliveries retry"] = listDeliveryIDs
	distrs["hookflow messages show"] = listMessageIDs
	distrs["hookflow messages cancel"] = listMessageIDs
	for _, verb := range []string{"get", "update", "delete"} {
		distrs["hookflow webhooks "+verb] = listWebhookIDs
	}
	return distrs
}

// registerCompletions gives root's commands their completions: ids through the API for the
// ID arguments and --distribution, fixed values for -o, --status and event types.
func registerCompletions(g *globalFlags, root *cobra.Command) {
	ids := idArguments()
	_ = root.RegisterFlagCompletionFunc("output", fixedValues(formats...))
	var visit func(cmd *cobra.Command)
	visit = func(cmd *cobra.Command) {
		if list, ok := ids[cmd.CommandPath()]; ok && cmd.ValidArgsFunction == nil {
			cmd.ValidArgsFunction = firstArg(g.completeIDs(list))
		}
		flags := cmd.LocalNonPersistentFlags()
		if flags.Lookup("distribution") != nil {
			_ = cmd.RegisterFlagCompletionFunc("distribution", g.completeIDs(listDistributionIDs))
		}
		switch cmd.CommandPath() {
		case "hookflow trigger":
			cmd.ValidArgsFunction = firstArg(fixedValues(payloads.AllEventTypes()...))
		case "hookflow deliveries list":
			_ = cmd.RegisterFlagCompletionFunc("status", fixedValues(workflows.StatusDelivered, workflows.StatusRetrying, workflows.StatusQueued,
				workflows.StatusFailed, workflows.StatusNoMatch, workflows.StatusSkipped, workflows.StatusThrottled, workflows.StatusHeld))
			_ = cmd.RegisterFlagCompletionFunc("event-type", fixedValues(payloads.AllEventTypes()...))
		case "hookflow distributions create", "hookflow distributions update":
			_ = cmd.RegisterFlagCompletionFunc("status", fixedValues(distributions.StatusLive, distributions.StatusPaused, distributions.StatusDraft))
			_ = cmd.RegisterFlagCompletionFunc("events", fixedValues(payloads.DistributionTriggers...))
		case "hookflow distributions test":
			_ = cmd.RegisterFlagCompletionFunc("type", g.completeTestTypes)
		}
		for _, sub := range cmd.Commands() {
			visit(sub)
		}
	}
	visit(root)
}

// fixedValues completes from values, those that start with what is typed.
func fixedValues(values ...string) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		var out []cobra.Completion
		for _, v := range values {
			if strings.HasPrefix(v, toComplete) {
				out = append(out, v)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// firstArg completes the first argument with f and nothing after it.
func firstArg(f cobra.CompletionFunc) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return f(cmd, args, toComplete)
	}
}

// completionClient is the API client of a completion: the line's --api and --api-key (or
// their variables; cobra runs no PersistentPreRunE for __complete) and a short timeout.
func (g *globalFlags) completionClient(cmd *cobra.Command) (*apiClient, error) {
	_ = g.resolve(cmd) // only its reading of HOOKFLOW_API and HOOKFLOW_API_KEY matters here
	c, err := g.client(cmd)
	if err != nil {
		return nil, err
	}
	// The client is this completion's own: its timeout is changed in place, where every
	// request of c reads it.
	c.http.Timeout = completionTimeout
	return c, nil
}

// completeIDs completes the first argument (or a flag's value) with the ids list reads
// from the API; nothing when the API cannot be reached.
func (g *globalFlags) completeIDs(list idLister) cobra.CompletionFunc {
	return func(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		c, err := g.completionClient(cmd)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		all, err := list(c)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, item := range all {
			id, _, _ := strings.Cut(item, "\t")
			if strings.HasPrefix(id, toComplete) && !slices.ContainsFunc(out, func(o string) bool { return strings.HasPrefix(o, id+"\t") || o == id }) {
				out = append(out, item)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeTestTypes completes distributions test's --type with the trigger types of the
// distribution named, or every distribution trigger when it cannot be read.
func (g *globalFlags) completeTestTypes(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	types := payloads.DistributionTriggers
	if len(args) > 0 {
		if c, err := g.completionClient(cmd); err == nil {
			var d distributions.Distribution
			if c.do(http.MethodGet, "/v1/distributions/"+url.PathEscape(args[0]), nil, &d) == nil {
				var own []string
				for _, p := range d.Trigger.Events {
					for _, t := range payloads.DistributionTriggers {
						if payloads.MatchesPattern(p, t) && !slices.Contains(own, t) {
							own = append(own, t)
						}
					}
				}
				types = own
			}
		}
	}
	return fixedValues(types...)(cmd, args, toComplete)
}

// getPage reads the first page of a list route into items.
func getPage[T any](c *apiClient, path string, q url.Values) ([]T, error) {
	var page struct {
		Data []T `json:"data"`
	}
	if q == nil {
		q = url.Values{}
	}
	q.Set("limit", completionLimit)
	err := c.do(http.MethodGet, path+"?"+q.Encode(), nil, &page)
	return page.Data, err
}

func listDistributionIDs(c *apiClient) ([]cobra.Completion, error) {
	items, err := getPage[distributions.Distribution](c, "/v1/distributions", nil)
	out := make([]cobra.Completion, 0, len(items))
	for _, d := range items {
		out = append(out, cobra.CompletionWithDesc(d.ID, fmt.Sprintf("%s (%s)", d.Name, d.Status)))
	}
	return out, err
}

// listDeliveryIDs offers the deliveries of the latest events of the delivery log (its first
// page, running ones first).
func listDeliveryIDs(c *apiClient) ([]cobra.Completion, error) {
	items, err := getPage[deliverylog.EventSummary](c, "/v1/deliveries", nil)
	var out []cobra.Completion
	for _, e := range items {
		for _, id := range e.Deliveries {
			out = append(out, cobra.CompletionWithDesc(id, fmt.Sprintf("%s %s (%s)", e.EventType, strings.TrimPrefix(e.WorkflowID, "event/"), e.Status)))
		}
	}
	return out, err
}

func listMessageIDs(c *apiClient) ([]cobra.Completion, error) {
	var page struct {
		Data []struct {
			ID               string `json:"id"`
			DistributionName string `json:"distribution_name"`
			Status           string `json:"status"`
			Sent             int    `json:"sent"`
			Total            int    `json:"total"`
		} `json:"data"`
	}
	err := c.do(http.MethodGet, "/v1/messages?limit="+completionLimit, nil, &page)
	out := make([]cobra.Completion, 0, len(page.Data))
	for _, m := range page.Data {
		out = append(out, cobra.CompletionWithDesc(m.ID, fmt.Sprintf("%s, %s %d/%d", m.DistributionName, m.Status, m.Sent, m.Total)))
	}
	return out, err
}

func listWebhookIDs(c *apiClient) ([]cobra.Completion, error) {
	items, err := getPage[distributions.ProjectWebhook](c, "/v1/webhooks", nil)
	out := make([]cobra.Completion, 0, len(items))
	for _, w := range items {
		out = append(out, cobra.CompletionWithDesc(w.ID, w.URL))
	}
	return out, err
}
