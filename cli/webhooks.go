package cli

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/hookflow/hookflow/distributions"
)

// webhookFlags are the fields that webhooks create and update take as flags.
type webhookFlags struct {
	file, url, description string
	events                 []string
	active                 bool
	// activeFlag is --active, which tells whether it was given.
	activeFlag *pflag.Flag
}

func (f *webhookFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVarP(&f.file, "file", "f", "", "the webhook as JSON or YAML (a file, or - for standard input)")
	fl.StringVar(&f.url, "url", "", "URL to post to")
	fl.StringArrayVar(&f.events, "events", nil, "project event types or patterns, e.g. voucher.created (repeat the flag or separate with commas)")
	fl.StringVar(&f.description, "description", "", "what the webhook is for")
	fl.BoolVar(&f.active, "active", false, "deliver to it (--active) or not (--active=false)")
	f.activeFlag = fl.Lookup("active")
}

func (f *webhookFlags) fields() (map[string]any, error) {
	m := map[string]any{}
	if err := checkURLFlag("url", f.url); err != nil {
		return nil, err
	}
	if f.url != "" {
		m["url"] = f.url
	}
	if len(f.events) > 0 {
		m["events"] = listFlag(f.events)
	}
	if f.description != "" {
		m["description"] = f.description
	}
	if f.activeFlag.Changed {
		m["active"] = f.active
	}
	if f.file != "" && len(m) > 0 {
		return nil, errors.New("--file and the field flags exclude each other")
	}
	return m, nil
}

func newWebhooksCommand(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "webhooks", Aliases: []string{"webhook"}, Short: "Manage project webhooks (project-level event types)"}

	var cf webhookFlags
	create := &cobra.Command{
		Use:     "create",
		Short:   "Subscribe a URL to project event types",
		Example: `  hookflow webhooks create --url https://example.com/hooks --events voucher.created,voucher.published`,
		Args:    usageArgs,
		RunE: g.withClient(func(c *apiClient, cmd *cobra.Command, _ []string) error {
			fields, err := cf.fields()
			if err != nil {
				return err
			}
			if cf.file != "" {
				if fields, err = readDocument(cmd, cf.file); err != nil {
					return err
				}
			}
			body, err := jsonBody(fields)
			if err != nil {
				return err
			}
			var out distributions.ProjectWebhook
			if err := c.create("/v1/webhooks", body, &out); err != nil {
				return err
			}
			if !c.isText() {
				return c.data(out)
			}
			fmt.Fprintf(c.out, "created webhook %s\n", out.ID)
			return nil
		}),
	}
	cf.register(create)
	g.idempotencyFlag(create)

	var uf webhookFlags
	update := &cobra.Command{
		Use:   "update ID",
		Short: "Change a project webhook",
		Example: `  hookflow webhooks update wh_123 --active=false
  hookflow webhooks update wh_123 --events voucher.created --events voucher.published`,
		Args: usageArgs,
		RunE: g.withClient(func(c *apiClient, cmd *cobra.Command, args []string) error {
			fields, err := uf.fields()
			if err != nil {
				return err
			}
			if uf.file == "" && len(fields) == 0 {
				return errors.New("nothing to change: give --file or field flags such as --active")
			}
			var out distributions.ProjectWebhook
			_, err = c.putEdited(cmd, "/v1/webhooks/"+url.PathEscape(args[0]), "revision", uf.file, func(next map[string]any) {
				for k, v := range fields {
					next[k] = v
				}
			}, &out)
			if err != nil {
				return err
			}
			if !c.isText() {
				return c.data(out)
			}
			fmt.Fprintf(c.out, "updated webhook %s (revision %d, active %v)\n", out.ID, out.Revision, out.Active)
			return nil
		}),
	}
	uf.register(update)

	list := newListCommand(g, "List project webhooks", "/v1/webhooks", "ID\tACTIVE\tEVENTS\tURL", "",
		func(w distributions.ProjectWebhook) string {
			return fmt.Sprintf("%s\t%v\t%s\t%s", w.ID, w.Active, strings.Join(w.Events, ","), w.URL)
		})
	get := newGetCommand(g, "/v1/webhooks", "Show one project webhook")
	del := newDeleteCommand(g, "/v1/webhooks", "webhook")
	cmd.AddCommand(create, update, list, get, del)
	return cmd
}
