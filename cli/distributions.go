package cli

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/distributions"
)

// distributionFlags are the fields that create and update take as flags.
type distributionFlags struct {
	file, name, url, eventName, version, status, timeout, filter, rateLimit string
	events, schedule                                                        []string
	auth                                                                    authFlags
	// breakerFailures and breakerProbe are webhook.circuit_breaker's fields, as written.
	breakerFailures, breakerProbe string
	// orderingKey and ordered set webhook.ordering; flags tells whether --ordered was given
	// (--ordered=false takes ordering off on update).
	orderingKey string
	ordered     bool
	flags       interface{ Changed(string) bool }
}

func (f *distributionFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVarP(&f.file, "file", "f", "", "the distribution as JSON or YAML (a file, or - for standard input)")
	fl.StringVar(&f.name, "name", "", "name")
	fl.StringArrayVar(&f.events, "events", nil, "event types or patterns, e.g. customer.order.paid (repeat the flag or separate with commas)")
	fl.StringVar(&f.url, "url", "", "webhook URL")
	fl.StringVar(&f.eventName, "event-name", "", "the label sent as the payload's type, e.g. Order-paid")
	fl.StringVar(&f.version, "version", "", "payload version (default v2024-01-01)")
	fl.StringVar(&f.status, "status", "", "live (default), paused or draft")
	fl.StringArrayVar(&f.schedule, "retry-schedule", nil, "voucherify (default), standard, or intervals such as 10s,1m,5m (repeat the flag or separate with commas)")
	fl.StringVar(&f.timeout, "timeout", "", "HTTP timeout of one attempt (default 10s)")
	fl.StringVar(&f.filter, "filter", "", `CEL condition on the event, e.g. 'data.order.amount >= 10000'`)
	f.auth.register(cmd)
	fl.StringVar(&f.rateLimit, "rate-limit", "", "at most this many deliveries, across every worker: 50/s, 1000/m or 100/h (default no limit)")
	fl.StringVar(&f.breakerFailures, "breaker-failures", "", "hold new deliveries after this many failed first attempts in a row (0 turns the circuit breaker off; default: the installation's)")
	fl.StringVar(&f.breakerProbe, "breaker-probe-interval", "", "time between the circuit breaker's probes (default 30s)")
	fl.BoolVar(&f.ordered, "ordered", false, "deliver one at a time in intake order (per --ordering-key, or the whole distribution); --ordered=false takes it off")
	fl.StringVar(&f.orderingKey, "ordering-key", "", "the stream of an event for ordered delivery: a dotted path or CEL, e.g. data.customer.id (implies --ordered)")
	f.flags = fl
}

// orderedChanged says whether --ordered was given.
func (f *distributionFlags) orderedChanged() bool {
	return f.flags != nil && f.flags.Changed("ordered")
}

func (f *distributionFlags) anyField() bool {
	return f.name != "" || len(f.events) > 0 || f.url != "" || f.eventName != "" || f.version != "" ||
		f.status != "" || len(f.schedule) > 0 || f.timeout != "" || f.filter != "" || f.auth.any() || f.rateLimit != "" ||
		f.breakerFailures != "" || f.breakerProbe != "" ||
		f.orderingKey != "" || f.orderedChanged()
}

// check refuses flags whose values the API would refuse, naming the flag and the form it
// takes.
func (f *distributionFlags) check() error {
	if err := checkURLFlag("url", f.url); err != nil {
		return err
	}
	if err := checkDurationFlag("timeout", f.timeout); err != nil {
		return err
	}
	if err := f.auth.check(); err != nil {
		return err
	}
	if _, err := distributions.ParseRateLimit(f.rateLimit); err != nil {
		return fmt.Errorf("--rate-limit: %v", err)
	}
	if f.breakerFailures != "" {
		if n, err := strconv.Atoi(f.breakerFailures); err != nil || n < 0 || n > distributions.MaxBreakerFailures {
			return fmt.Errorf("--breaker-failures: %q is not a number from 0 (off) to %d", f.breakerFailures, distributions.MaxBreakerFailures)
		}
	}
	if err := checkDurationFlag("breaker-probe-interval", f.breakerProbe); err != nil {
		return err
	}
	if f.orderingKey != "" && f.orderedChanged() && !f.ordered {
		return errors.New("--ordering-key and --ordered=false exclude each other")
	}
	schedule := listFlag(f.schedule)
	if len(schedule) == 0 || len(schedule) == 1 && (schedule[0] == distributions.ScheduleVoucherify || schedule[0] == distributions.ScheduleStandard) {
		return nil
	}
	for _, v := range schedule {
		if _, err := distributions.ParseDuration(v); err != nil {
			return fmt.Errorf("--retry-schedule: %v; the flag takes voucherify, standard or intervals such as 10s,1m,5m", err)
		}
	}
	return nil
}

// applyTo sets the fields given as flags on a JSON-shaped distribution.
func (f *distributionFlags) applyTo(d map[string]any) {
	section := func(name string) map[string]any {
		m, ok := d[name].(map[string]any)
		if !ok {
			m = map[string]any{}
			d[name] = m
		}
		return m
	}
	set := func(m map[string]any, key, v string) {
		if v != "" {
			m[key] = v
		}
	}
	set(d, "name", f.name)
	set(d, "status", f.status)
	if len(f.events) > 0 {
		section("trigger")["events"] = listFlag(f.events)
	}
	set(section("trigger"), "filter", f.filter)
	hook := section("webhook")
	set(hook, "url", f.url)
	set(hook, "event_name", f.eventName)
	set(hook, "version", f.version)
	set(hook, "timeout", f.timeout)
	f.auth.applyTo(hook)
	set(hook, "rate_limit", f.rateLimit)
	if f.breakerFailures != "" || f.breakerProbe != "" {
		cb, ok := hook["circuit_breaker"].(map[string]any)
		if !ok {
			cb = map[string]any{}
			hook["circuit_breaker"] = cb
		}
		if n, err := strconv.Atoi(f.breakerFailures); err == nil {
			cb["failures"] = n
		}
		set(cb, "probe_interval", f.breakerProbe)
	}
	switch {
	case f.orderingKey != "":
		hook["ordering"] = map[string]any{"key": f.orderingKey}
	case f.orderedChanged() && f.ordered:
		if _, ok := hook["ordering"].(map[string]any); !ok {
			hook["ordering"] = map[string]any{} // one stream; an update keeps a key it has
		}
	case f.orderedChanged():
		delete(hook, "ordering")
	}
	switch schedule := listFlag(f.schedule); {
	case len(schedule) == 0:
	case len(schedule) == 1 && (schedule[0] == distributions.ScheduleVoucherify || schedule[0] == distributions.ScheduleStandard):
		hook["retry_schedule"] = schedule[0]
	default:
		hook["retry_schedule"] = schedule
	}
}

func newDistributionsCommand(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "distributions", Aliases: []string{"distribution", "distr"}, Short: "Manage distributions"}

	var cf distributionFlags
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a distribution",
		Example: `  hookflow distributions create --name "Paid orders" --events customer.order.paid \
      --url http://127.0.0.1:9000/hooks --event-name Order-paid
  hookflow distributions create -f distribution.yaml`,
		Args: usageArgs,
		RunE: g.withClient(func(c *apiClient, cmd *cobra.Command, _ []string) error {
			if err := cf.check(); err != nil {
				return err
			}
			d := map[string]any{"action": map[string]any{"type": distributions.ActionPlainMessage}}
			if cf.file != "" {
				if cf.anyField() {
					return errors.New("--file and the field flags exclude each other")
				}
				doc, err := readDocument(cmd, cf.file)
				if err != nil {
					return err
				}
				d = doc
			} else {
				cf.applyTo(d)
			}
			body, err := jsonBody(d)
			if err != nil {
				return err
			}
			var out distributions.Distribution
			if err := c.create("/v1/distributions", body, &out); err != nil {
				return err
			}
			if !c.isText() {
				return c.data(out)
			}
			fmt.Fprintf(c.out, "created distribution %s (%s)\n", out.ID, out.Status)
			return nil
		}),
	}
	cf.register(create)
	g.idempotencyFlag(create)

	var uf distributionFlags
	update := &cobra.Command{
		Use:   "update ID",
		Short: "Change a distribution: the fields given as flags, or the whole of it from --file",
		Example: `  hookflow distributions update distr_123 --url https://example.com/new
  hookflow distributions update distr_123 -f distribution.yaml`,
		Args: usageArgs,
		RunE: g.withClient(func(c *apiClient, cmd *cobra.Command, args []string) error {
			switch {
			case uf.file != "" && uf.anyField():
				return errors.New("--file and the field flags exclude each other")
			case uf.file == "" && !uf.anyField():
				return errors.New("nothing to change: give --file or field flags such as --url")
			}
			if err := uf.check(); err != nil {
				return err
			}
			var out distributions.Distribution
			sent, err := c.putEdited(cmd, "/v1/distributions/"+url.PathEscape(args[0]), "version", uf.file, uf.applyTo, &out)
			if err != nil {
				return staleAdvice(err, "hookflow distributions get "+args[0]+" -o yaml")
			}
			if !c.isText() {
				return c.data(out)
			}
			if fmt.Sprint(sent) == fmt.Sprint(out.Version) {
				fmt.Fprintf(c.out, "distribution %s unchanged (version %d)\n", out.ID, out.Version)
				return nil
			}
			fmt.Fprintf(c.out, "updated distribution %s (version %d)\n", out.ID, out.Version)
			return nil
		}),
	}
	uf.register(update)

	list := newListCommand(g, "List distributions", "/v1/distributions", "ID\tSTATUS\tVERSION\tNAME\tEVENTS\tURL", "",
		func(d distributions.Distribution) string {
			return fmt.Sprintf("%s\t%s\t%d\t%s\t%s\t%s", d.ID, d.Status, d.Version, d.Name, strings.Join(d.Trigger.Events, ","), d.Webhook.URL)
		})
	get := newGetCommand(g, "/v1/distributions", "Show one distribution (-o yaml prints what apply reads)")
	get.Aliases = append(get.Aliases, "show") // as deliveries show and messages show
	del := newDeleteCommand(g, "/v1/distributions", "distribution")
	cmd.AddCommand(create, update, list, get, del,
		newStatusCommand(g, "pause", "Pause a distribution: it sends nothing, matching events are recorded as skipped"),
		newStatusCommand(g, "resume", "Set a distribution live again"),
		newApplyCommand(g),
		newRecoverCommand(g),
		newDistributionsTestCommand(g))
	return cmd
}

func newStatusCommand(g *globalFlags, verb, short string) *cobra.Command {
	return &cobra.Command{
		Use: verb + " ID", Short: short, Args: usageArgs,
		Example: "  hookflow distributions " + verb + " distr_123",
		RunE: g.withClient(func(c *apiClient, cmd *cobra.Command, args []string) error {
			var d distributions.Distribution
			if err := c.do(http.MethodPost, "/v1/distributions/"+url.PathEscape(args[0])+"/"+verb, nil, &d); err != nil {
				return err
			}
			if !c.isText() {
				return c.data(d)
			}
			fmt.Fprintf(c.out, "distribution %s is %s (version %d)\n", d.ID, d.Status, d.Version)
			return nil
		}),
	}
}
