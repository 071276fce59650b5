package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

// deprecateFlag keeps an old flag working for one release, hidden from the help: using it
// prints on standard error that it is deprecated and the form to write instead. Standard
// error, where cobra would print it on standard output, so that -o json stays readable
// by the scripts the old flag is kept for.
func deprecateFlag(cmd *cobra.Command, name, instead string) {
	if err := cmd.Flags().MarkDeprecated(name, fmt.Sprintf("use `%s` instead", instead)); err != nil {
		panic(err) // no such flag: a mistake in this package
	}
	cmd.Flags().SetOutput(commandStderr{cmd})
}

// commandStderr writes to the command's standard error as it is when written to, after
// the caller's SetErr.
type commandStderr struct{ cmd *cobra.Command }

func (w commandStderr) Write(p []byte) (int, error) { return w.cmd.ErrOrStderr().Write(p) }
