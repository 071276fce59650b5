package cli

import (
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/spf13/cobra"
)

// newHealthCommand checks a readiness endpoint and exits non-zero when it is not ready: a
// container health check for images without curl (the distroless one has no shell).
func newHealthCommand(g *globalFlags) *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:     "health URL",
		Short:   "Exit 0 when URL (a /readyz or /livez endpoint) answers 200",
		Example: `  hookflow health http://127.0.0.1:7280/readyz`,
		Args:    usageArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c := &http.Client{Timeout: timeout}
			resp, err := c.Get(args[0])
			if err != nil {
				return fmt.Errorf("not healthy: %w", err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("not healthy: HTTP %d: %s", resp.StatusCode, body)
			}
			p := g.printer(cmd)
			return p.print(map[string]any{"url": args[0], "status": resp.StatusCode, "healthy": true}, func(w io.Writer) error {
				_, err := fmt.Fprintln(w, "healthy")
				return err
			})
		},
	}
	durationVar(cmd.Flags(), &timeout, "timeout", 5*time.Second, "how long to wait for the answer")
	return cmd
}
