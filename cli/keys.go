package cli

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/api"
	"github.com/hookflow/hookflow/store"
)

// newKeysCommand is `hookflow keys`: create, list and revoke the API keys that the API
// asks for when it requires keys.
func newKeysCommand(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "keys",
		Aliases: []string{"key"},
		Short:   "Create, list and revoke API keys",
		Long: `API keys let programs and people use the hookflow API. A key has one or more scopes:

  events   send events (POST /v1/events) and nothing else
  manage   everything else: distributions, webhooks, deliveries, settings, keys
  codec    the codec endpoint (/codec) and nothing else: for the proxy in front of the
           Temporal Web UI, so that the UI shows payloads decrypted

hookflow stores only a hash of each key: the key is shown once, when it is created.
While no key exists, the first one (with the manage scope) can be created without a key,
but only on the machine that runs the API.`,
	}

	var name string
	var scopes []string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create an API key and print it, once",
		Example: `  export HOOKFLOW_API_KEY=$(hookflow keys create --name ops --scope manage)
  hookflow keys create --name "shop backend" --scope events
  hookflow keys create --name ci --scope events,manage
  hookflow keys create --name "web ui proxy" --scope codec`,
		Args: usageArgs,
		RunE: g.withClient(func(c *apiClient, cmd *cobra.Command, _ []string) error {
			if strings.TrimSpace(name) == "" {
				return errors.New("--name is required: what the key is for, e.g. --name \"shop backend\"")
			}
			var list []string
			for _, s := range scopes {
				list = append(list, splitList(s)...)
			}
			if len(list) == 0 {
				return errors.New("--scope is required: events (send events), manage (everything else), codec (the codec endpoint only), or several as --scope events,manage")
			}
			for _, s := range list {
				if !slices.Contains(store.Scopes, s) {
					return fmt.Errorf("--scope %q: use events, manage or codec", s)
				}
			}
			body, err := jsonBody(api.NewKeyRequest{Name: name, Scopes: list})
			if err != nil {
				return err
			}
			var k api.CreatedKey
			if err := c.create("/v1/keys", body, &k); err != nil {
				return err
			}
			if !c.isText() {
				return c.data(k)
			}
			// The key alone on standard output, so that it can be captured; what it is on
			// standard error.
			fmt.Fprintf(cmd.ErrOrStderr(), "created API key %s %q (%s), scopes %s.\nStore it now: it is not shown again. Use it as --api-key or HOOKFLOW_API_KEY.\n",
				k.ID, k.Name, k.Prefix, strings.Join(k.Scopes, ", "))
			fmt.Fprintln(c.out, k.Key)
			return nil
		}),
	}
	create.Flags().StringVar(&name, "name", "", "what the key is for, e.g. \"shop backend\"")
	create.Flags().StringSliceVar(&scopes, "scope", nil, "events, manage, codec, or several (repeat the flag or separate with commas)")

	list := newListCommand(g, "List API keys (their prefixes, never the keys)", "/v1/keys",
		"ID\tPREFIX\tSCOPES\tNAME\tCREATED\tLAST USED", "no API keys", func(k store.APIKey) string {
			used := "never"
			if k.LastUsedAt != nil {
				used = k.LastUsedAt.Local().Format(tableTime)
			}
			return fmt.Sprintf("%s\t%s...\t%s\t%s\t%s\t%s", k.ID, k.Prefix, strings.Join(k.Scopes, ","), k.Name, k.CreatedAt.Local().Format(tableTime), used)
		})

	revoke := &cobra.Command{
		Use: "revoke ID", Short: "Revoke an API key: it stops working at once", Args: usageArgs,
		Example: `  hookflow keys revoke key_0123456789abcdef01234567`,
		RunE: g.withClient(func(c *apiClient, cmd *cobra.Command, args []string) error {
			if err := c.do(http.MethodDelete, "/v1/keys/"+url.PathEscape(args[0]), nil, nil); err != nil {
				return err
			}
			return c.print(map[string]any{"id": args[0], "revoked": true}, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "revoked API key %s\n", args[0])
				return err
			})
		}),
	}
	g.idempotencyFlag(create)
	cmd.AddCommand(create, list, revoke)
	return cmd
}
