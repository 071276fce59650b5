package cli

import (
	"encoding/json"
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
  hookflow settings notifications --for distributions --email on --recipients ops@example.com,dev@example.com
  hookflow settings notifications --for webhooks --in-app off`,
		Args: cobra.NoArgs,
	}
	var kind, email, recipients, inApp string
	notifications.RunE = g.withClient(func(c *apiClient, cmd *cobra.Command, _ []string) error {
		var view api.NotificationSettingsView
		if err := c.do(http.MethodGet, "/v1/settings/notifications", nil, &view); err != nil {
			return err
		}
		ns := &view.NotificationSettings
		if email != "" || recipients != "" || inApp != "" {
			var ch *distributions.ChannelSettings
			switch kind {
			case "distributions":
				ch = &ns.Distributions
			case "webhooks":
				ch = &ns.Webhooks
			default:
				return fmt.Errorf("--for %q: use distributions or webhooks", kind)
			}
			if err := setSwitch(&ch.Email, "--email", email); err != nil {
				return err
			}
			if err := setSwitch(&ch.InApp, "--in-app", inApp); err != nil {
				return err
			}
			if recipients != "" {
				ch.Recipients = splitList(recipients)
			}
			body, _ := json.Marshal(ns)
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
	f.StringVar(&email, "email", "", "on or off")
	f.StringVar(&recipients, "recipients", "", "comma-separated e-mail addresses")
	f.StringVar(&inApp, "in-app", "", "on or off")
	cmd.AddCommand(notifications)
	return cmd
}

func setSwitch(dst *bool, flag, v string) error {
	switch v {
	case "":
	case "on", "true":
		*dst = true
	case "off", "false":
		*dst = false
	default:
		return fmt.Errorf("%s %q: use on or off", flag, v)
	}
	return nil
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
