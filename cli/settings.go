package cli

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/api"
	"github.com/hookflow/hookflow/distributions"
)

func newSettingsCommand(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "settings", Short: "The installation's settings"}
	notifications := &cobra.Command{
		Use:   "notifications",
		Short: "Show or change who hears of failed deliveries",
		Long: `Show the failure-notification settings, or change them with flags. Distribution
webhooks and project webhooks have separate settings (--for). A distribution's own
notifications (e-mails, in-app, alert URL) add to these.`,
		Example: `  hookflow settings notifications
  hookflow settings notifications --for distributions --email --recipients ops@example.com --recipients dev@example.com
  hookflow settings notifications --for webhooks --in-app=false`,
		Args: usageArgs,
	}
	var kind string
	var email, inApp bool
	var recipients []string
	notifications.RunE = g.withClient(func(c *apiClient, cmd *cobra.Command, _ []string) error {
		var view api.NotificationSettingsView
		if err := c.do(http.MethodGet, "/v1/settings/notifications", nil, &view); err != nil {
			return err
		}
		ns := &view.NotificationSettings
		flags := cmd.Flags()
		if flags.Changed("email") || len(recipients) > 0 || flags.Changed("in-app") {
			var ch *distributions.ChannelSettings
			switch kind {
			case "distributions":
				ch = &ns.Distributions
			case "webhooks":
				ch = &ns.Webhooks
			default:
				return fmt.Errorf("--for %q: use distributions or webhooks", kind)
			}
			if flags.Changed("email") {
				ch.Email = email
			}
			if flags.Changed("in-app") {
				ch.InApp = inApp
			}
			if len(recipients) > 0 {
				ch.Recipients = listFlag(recipients)
			}
			body, _ := jsonBody(ns)
			view = api.NotificationSettingsView{}
			if err := c.do(http.MethodPut, "/v1/settings/notifications", body, &view); err != nil {
				return err
			}
			ns = &view.NotificationSettings
		}
		if (ns.Distributions.Email || ns.Webhooks.Email) && view.EmailConfigured != nil && !*view.EmailConfigured {
			fmt.Fprintln(cmd.ErrOrStderr(), "warning: e-mail is on, but this hookflow has no SMTP server, so no failure e-mail goes out:"+
				" restart hookflow dev (or the workers) with --smtp-url smtp://user:pass@host:587; in-app notifications work without it")
		}
		if !c.isText() {
			return c.data(view)
		}
		for _, k := range []struct {
			name string
			ch   distributions.ChannelSettings
		}{{"distributions", ns.Distributions}, {"webhooks", ns.Webhooks}} {
			fmt.Fprintf(c.out, "%-14s e-mail %s to [%s], in-app %s\n", k.name, onOff(k.ch.Email), strings.Join(k.ch.Recipients, ", "), onOff(k.ch.InApp))
		}
		return nil
	})
	f := notifications.Flags()
	f.StringVar(&kind, "for", "distributions", "which settings to change: distributions or webhooks")
	f.BoolVar(&email, "email", false, "send failure e-mails (--email) or not (--email=false)")
	f.StringArrayVar(&recipients, "recipients", nil, "e-mail addresses (repeat the flag or separate with commas)")
	f.BoolVar(&inApp, "in-app", false, "record in-app notifications (--in-app) or not (--in-app=false)")
	cmd.AddCommand(notifications, newBreakerSettingsCommand(g))
	return cmd
}

// newBreakerSettingsCommand shows or sets the installation's default circuit breaker.
func newBreakerSettingsCommand(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "breaker",
		Short: "Show or change the default circuit breaker of distributions",
		Long: `Show the circuit breaker that every distribution without a webhook.circuit_breaker of
its own uses, or change it with flags. --failures 0 removes the default. A change applies to
events taken in after it.`,
		Example: `  hookflow settings breaker
  hookflow settings breaker --failures 5 --probe-interval 1m
  hookflow settings breaker --failures 0`,
		Args: usageArgs,
	}
	var failures int
	var probe string
	cmd.RunE = g.withClient(func(c *apiClient, cmd *cobra.Command, _ []string) error {
		flags := cmd.Flags()
		if flags.Changed("failures") && (failures < 0 || failures > distributions.MaxBreakerFailures) {
			return fmt.Errorf("--failures: %d is not a number from 0 (no default) to %d", failures, distributions.MaxBreakerFailures)
		}
		if err := checkDurationFlag("probe-interval", probe); err != nil {
			return err
		}
		var bs distributions.BreakerSettings
		if err := c.do(http.MethodGet, "/v1/settings/breaker", nil, &bs); err != nil {
			return err
		}
		if flags.Changed("failures") || probe != "" {
			next := distributions.CircuitBreaker{}
			if bs.Default != nil {
				next = *bs.Default
			}
			if flags.Changed("failures") {
				next.Failures = failures
			}
			if probe != "" {
				d, _ := distributions.ParseDuration(probe)
				next.ProbeInterval = distributions.Duration(d)
			}
			if next.Failures == 0 && !flags.Changed("failures") {
				return errors.New("--probe-interval: there is no default breaker to change; give --failures too")
			}
			body, _ := jsonBody(distributions.BreakerSettings{Default: &next})
			bs = distributions.BreakerSettings{}
			if err := c.do(http.MethodPut, "/v1/settings/breaker", body, &bs); err != nil {
				return err
			}
		}
		if !c.isText() {
			return c.data(bs)
		}
		if !bs.Default.On() {
			fmt.Fprintln(c.out, "default circuit breaker: off")
			return nil
		}
		fmt.Fprintf(c.out, "default circuit breaker: opens after %d failed first attempts in a row, probes every %s\n",
			bs.Default.Failures, bs.Default.Interval())
		return nil
	})
	f := cmd.Flags()
	f.IntVar(&failures, "failures", 0, "failed first attempts in a row that open it (0: no default)")
	f.StringVar(&probe, "probe-interval", "", "time between probes (default 30s)")
	return cmd
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
