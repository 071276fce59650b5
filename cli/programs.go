package cli

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/api"
	"github.com/hookflow/hookflow/distributions"
)

// newProgramsCommand is `programs`: the loyalty and referral presets, and the programs
// they made, managed together.
func newProgramsCommand(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "programs", Aliases: []string{"program"}, Short: "Loyalty and referral program notifications (presets of distributions)"}
	cmd.AddCommand(
		newProgramPresetCommand(g, distributions.ProgramLoyalty,
			`  hookflow programs loyalty camp_loyal --url https://example.com/hooks
  hookflow programs loyalty camp_loyal --url https://example.com/hooks --notify points-added,reward-redeemed`),
		newProgramPresetCommand(g, distributions.ProgramReferral,
			`  hookflow programs referral camp_ref --url https://example.com/hooks --recipient both`),
		newProgramsListCommand(g),
		newProgramActionCommand(g, "pause", "Pause every notification of a program's campaign"),
		newProgramActionCommand(g, "resume", "Resume every notification of a program's campaign"),
		newProgramActionCommand(g, "delete", "Delete every notification of a program's campaign"),
	)
	return cmd
}

func newProgramPresetCommand(g *globalFlags, program, example string) *cobra.Command {
	var req distributions.ProgramRequest
	var version string
	var notify []string
	var draft bool
	names := make([]string, 0, 3)
	for _, n := range distributions.ProgramNotifications[program] {
		names = append(names, n.Name)
	}
	cmd := &cobra.Command{
		Use:   program + " CAMPAIGN_ID",
		Short: fmt.Sprintf("Create (or update) the %s program notifications of a campaign", program),
		Long: fmt.Sprintf("Creates one distribution per notification (%s), scoped to the campaign and labelled\n"+
			"program=%s, campaign=ID, notification=NAME. Running it again updates them.", strings.Join(names, ", "), program),
		Example: example,
		Args: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("campaign") {
				// The deprecated form: --campaign ID.
				if len(args) > 0 {
					return newUsageError(cmd, "give the campaign once: hookflow programs %s CAMPAIGN_ID", program)
				}
				return nil
			}
			return usageArgs(cmd, args)
		},
		RunE: g.withClient(func(c *apiClient, cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				req.Campaign = args[0]
			}
			if err := checkURLFlag("url", req.URL); err != nil {
				return err
			}
			if len(notify) > 0 {
				req.Notify = listFlag(notify)
			}
			req.Version = version
			if draft {
				req.Status = distributions.StatusDraft
			}
			body, err := jsonBody(req)
			if err != nil {
				return err
			}
			var out api.ProgramResult
			if err := c.create("/v1/programs/"+program, body, &out); err != nil {
				return err
			}
			if !c.isText() {
				return c.data(out)
			}
			fmt.Fprintf(c.out, "%s program for campaign %s: %d created, %d updated\n", program, out.Campaign, len(out.Created), len(out.Updated))
			printProgramMembers(c, out.Distributions)
			return nil
		}),
	}
	f := cmd.Flags()
	f.StringVar(&req.URL, "url", "", "where the notifications are sent (required)")
	f.StringArrayVar(&notify, "notify", nil, "notifications, of "+strings.Join(names, ", ")+" (default all; repeat the flag or separate with commas)")
	f.StringVar(&version, "version", "", "payload version (default v2024-01-01)")
	f.BoolVar(&draft, "draft", false, "create them as drafts, not live")
	if program == distributions.ProgramReferral {
		f.StringVar(&req.Recipient, "recipient", "", "whom the payload's customer is: referrer (default), referee or both")
	}
	f.StringVar(&req.Campaign, "campaign", "", "the campaign's id (deprecated: give it as the argument)")
	deprecateFlag(cmd, "campaign", "hookflow programs "+program+" CAMPAIGN_ID --url URL")
	g.idempotencyFlag(cmd)
	return cmd
}

func newProgramsListCommand(g *globalFlags) *cobra.Command {
	var pages pageFlags
	cmd := &cobra.Command{
		Use: "list", Short: "List the programs and their notifications", Args: usageArgs,
		Example: `  hookflow programs list
  hookflow programs list -o yaml`,
		RunE: g.withClient(func(c *apiClient, cmd *cobra.Command, _ []string) error {
			out, done, err := getList[distributions.Program](c, cmd, pages, "/v1/programs", nil)
			if done {
				return err
			}
			if len(out) == 0 {
				fmt.Fprintln(c.out, "no programs: make one with hookflow programs loyalty|referral")
			}
			for _, p := range out {
				fmt.Fprintf(c.out, "%s %s (%s)\n", p.Program, p.Campaign, p.Status)
				printProgramMembers(c, p.Distributions)
			}
			return nil
		}),
	}
	pages.register(cmd)
	return cmd
}

func newProgramActionCommand(g *globalFlags, action, short string) *cobra.Command {
	return &cobra.Command{
		Use: action + " PROGRAM CAMPAIGN", Short: short, Args: usageArgs,
		Example: fmt.Sprintf("  hookflow programs %s loyalty camp_loyal", action),
		RunE: g.withClient(func(c *apiClient, cmd *cobra.Command, args []string) error {
			if err := distributions.CheckProgram(args[0]); err != nil {
				return fmt.Errorf("%v (hookflow programs %s PROGRAM CAMPAIGN)", err, action)
			}
			path := "/v1/programs/" + url.PathEscape(args[0]) + "/" + url.PathEscape(args[1])
			if action == "delete" {
				if err := c.do(http.MethodDelete, path, nil, nil); err != nil {
					return err
				}
				if !c.isText() {
					return c.data(map[string]any{"program": args[0], "campaign": args[1], "deleted": true})
				}
				fmt.Fprintf(c.out, "deleted the %s program notifications of %s\n", args[0], args[1])
				return nil
			}
			var out distributions.Program
			if err := c.do(http.MethodPost, path+"/"+action, nil, &out); err != nil {
				return err
			}
			if !c.isText() {
				return c.data(out)
			}
			fmt.Fprintf(c.out, "%s %s is %s\n", out.Program, out.Campaign, out.Status)
			printProgramMembers(c, out.Distributions)
			return nil
		}),
	}
}

func printProgramMembers(c *apiClient, ms []distributions.ProgramMember) {
	tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	for _, m := range ms {
		recipient := m.Recipient
		if recipient == "" {
			recipient = "-"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", m.ID, m.Notification, recipient, m.Status, m.URL)
	}
	tw.Flush()
}
