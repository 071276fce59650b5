// Command hookflow sends webhooks durably: every event is a Temporal workflow that matches
// the distributions, renders, signs, posts and retries. Run `hookflow dev` to start
// everything on one machine.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	if err := newRootCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "hookflow:", err)
		os.Exit(1)
	}
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "hookflow",
		Short:         "Durable webhooks on Temporal",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	g := &globalFlags{}
	g.register(root)
	root.AddCommand(
		newDevCommand(),
		newServerCommand(),
		newWorkerCommand(),
		newAPICommand(),
		newVersionCommand(),
		newSendCommand(g),
		newDistributionsCommand(g),
		newNotificationsCommand(g),
		newWebhooksCommand(g),
		newDeliveriesCommand(g),
		newSecretsCommand(g),
		newSettingsCommand(g),
		newBenchCommand(),
		newHealthCommand(),
		newKeysCommand(g),
		newReceiveCommand(),
		newProgramsCommand(g),
		newCodesCommand(g),
		newMessagesCommand(g),
	)
	return root
}
