// Package cli is the hookflow command line: a file per command (named for the command tree,
// distributions.go, distributions_apply.go, ...), one output printer (printer.go), one HTTP
// client of the API (client.go), one reader of files and standard input (input.go), and the
// config loader that fills the long-running processes' settings from flags, HOOKFLOW_*
// variables and a YAML file (config.go). The processes themselves are built by package app.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/app"
)

// Main runs hookflow with the process's arguments and returns its exit code: 0, or 1 after
// printing the error to standard error (as JSON with -o json, jsonl or yaml). version names
// the release (main's -ldflags -X).
// The first SIGINT or SIGTERM cancels the command's context, which every command stops on;
// a second one ends the process at once.
func Main(version string) int {
	app.SetVersion(version)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second signal is not caught: it ends the process
	}()
	if format, err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		writeError(os.Stderr, format, err)
		return 1
	}
	return 0
}

// Run runs one hookflow command line, args without the program's name, with these
// streams, until it ends or ctx does.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	_, err := run(ctx, args, stdin, stdout, stderr)
	return err
}

// run is Run, and says the -o the command line asked for.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) (format string, err error) {
	root := newRootCommand(os.Getenv)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err = root.ExecuteContext(ctx)
	return root.PersistentFlags().Lookup("output").Value.String(), err
}

// writeError prints the error of a command line: "hookflow: ..." with -o text, otherwise
// one line of JSON, {"error":{"message":...}}, with the API's status, type, field and
// problems when the API refused, and the usage apart when the command line did not fit.
func writeError(w io.Writer, format string, err error) {
	if format == formatText || !slices.Contains(formats, format) {
		fmt.Fprintln(w, "hookflow:", err)
		return
	}
	e := map[string]any{"message": err.Error()}
	var ae *apiError
	if errors.As(err, &ae) {
		e["status"], e["type"] = ae.status, ae.detail.Type
		if ae.detail.Field != "" {
			e["field"] = ae.detail.Field
		}
		if len(ae.detail.Problems) > 0 {
			e["problems"] = ae.detail.Problems
		}
	}
	var ue *usageError
	if errors.As(err, &ue) {
		e["message"], e["usage"] = ue.msg, ue.usage
	}
	b, merr := marshal(map[string]any{"error": e})
	if merr != nil {
		fmt.Fprintln(w, "hookflow:", err)
		return
	}
	fmt.Fprintf(w, "%s\n", b)
}

// noOutputAnnotation marks a command that prints no data for -o to format.
const noOutputAnnotation = "hookflow/no-output"

// noOutput marks cmd as printing no data: -o on it is refused.
func noOutput(cmd *cobra.Command) *cobra.Command {
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations[noOutputAnnotation] = "true"
	return cmd
}

func newRootCommand(getenv func(string) string) *cobra.Command {
	g := &globalFlags{getenv: getenv}
	root := &cobra.Command{
		Use:           "hookflow",
		Short:         "Durable webhooks on Temporal",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return g.resolve(cmd)
		},
	}
	g.register(root)
	// A flag that does not parse, or an unknown one, is answered with the usage (and the
	// nearest flag), as an unknown command is; every command inherits this.
	root.SetFlagErrorFunc(flagError)
	root.AddCommand(
		newDevCommand(getenv),
		newServerCommand(getenv),
		newWorkerCommand(getenv),
		newAPICommand(getenv),
		newVersionCommand(g),
		newSendCommand(g),
		newTriggerCommand(g),
		newDistributionsCommand(g),
		newNotificationsCommand(g),
		newWebhooksCommand(g),
		newDeliveriesCommand(g),
		newSecretsCommand(g),
		newSettingsCommand(g),
		newBenchCommand(g),
		newHealthCommand(g),
		newKeysCommand(g),
		newReceiveCommand(getenv),
		newProgramsCommand(g),
		newCodesCommand(g),
		newMessagesCommand(g),
	)
	registerCompletions(g, root)
	return root
}
