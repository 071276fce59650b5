package cli

import (
	"fmt"
	"net/http"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/api"
)

func newSecretsCommand(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "secrets", Aliases: []string{"secret"}, Short: "Show or rotate the signing secret"}
	printSecrets := func(c *apiClient, s api.Secrets) error {
		if !c.isText() {
			return c.data(s)
		}
		fmt.Fprintf(c.out, "current secret  %s\n", s.Current)
		for _, p := range s.Previous {
			fmt.Fprintf(c.out, "previous secret signs webhook-signature until %s\n", p.ExpiresAt.Local().Format("2006-01-02 15:04:05 MST"))
		}
		return nil
	}
	show := &cobra.Command{
		Use: "show", Short: "Show the current signing secret", Args: usageArgs,
		Example: `  hookflow secrets show
  hookflow secrets show -o json`,
		RunE: g.withClient(func(c *apiClient, cmd *cobra.Command, _ []string) error {
			var s api.Secrets
			if err := c.do(http.MethodGet, "/v1/secrets", nil, &s); err != nil {
				return err
			}
			return printSecrets(c, s)
		}),
	}
	var expire string
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Make a new signing secret; the old one keeps signing until --expire",
		Long: `Make a new signing secret. Until --expire passes, every delivery carries two
webhook-signature values (new and old, space-separated), so receivers can switch to the new
secret without rejecting a delivery; x-voucherify-signature uses the new secret at once.`,
		Example: `  hookflow secrets rotate
  hookflow secrets rotate --expire 72h
  hookflow secrets rotate --expire 0s`,
		Args: usageArgs,
		RunE: g.withClient(func(c *apiClient, cmd *cobra.Command, _ []string) error {
			body, _ := jsonBody(map[string]string{"expire": expire})
			var s api.Secrets
			if err := c.do(http.MethodPost, "/v1/secrets/rotate", body, &s); err != nil {
				return namingFlag(err, map[string]string{"expire": "--expire"})
			}
			return printSecrets(c, s)
		}),
	}
	rotate.Flags().StringVar(&expire, "expire", "24h", "how long the old secret keeps signing, such as 24h or 7d (0s: stop at once)")
	cmd.AddCommand(show, rotate)
	return cmd
}
