package cli

import (
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/store"
)

func newNotificationsCommand(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "notifications", Aliases: []string{"notification"}, Short: "Read failure notifications"}
	var unread bool
	var pages pageFlags
	list := &cobra.Command{
		Use: "list", Short: "List notifications, newest first", Args: usageArgs,
		Example: `  hookflow notifications list --unread
  hookflow notifications list -o json`,
		RunE: g.withClient(func(c *apiClient, cmd *cobra.Command, _ []string) error {
			q := url.Values{}
			if unread {
				q.Set("unread", "true")
			}
			items, done, err := getList[store.Notification](c, cmd, pages, "/v1/notifications", q)
			if done {
				return err
			}
			if len(items) == 0 {
				fmt.Fprintln(c.out, "no notifications")
				return nil
			}
			for _, n := range items {
				state := "unread"
				if n.ReadAt != nil {
					state = "read"
				}
				fmt.Fprintf(c.out, "%s  %s  %s\n  %s\n", n.ID, n.CreatedAt.Format(time.RFC3339), state, n.Message)
				if n.Link != "" {
					fmt.Fprintf(c.out, "  %s\n", n.Link)
				}
			}
			return nil
		}),
	}
	list.Flags().BoolVar(&unread, "unread", false, "only unread notifications")
	pages.register(list)
	read := &cobra.Command{
		Use: "read ID", Short: "Mark a notification read", Args: usageArgs,
		Example: `  hookflow notifications read ntf_123`,
		RunE: g.withClient(func(c *apiClient, cmd *cobra.Command, args []string) error {
			var n store.Notification
			if err := c.do(http.MethodPost, "/v1/notifications/"+url.PathEscape(args[0])+"/read", nil, &n); err != nil {
				return err
			}
			if !c.isText() {
				return c.data(n)
			}
			fmt.Fprintf(c.out, "marked %s read\n", n.ID)
			return nil
		}),
	}
	cmd.AddCommand(list, read)
	return cmd
}
