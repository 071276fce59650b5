package cli

import (
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
	cmd.AddCommand(notifications)
	return cmd
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
