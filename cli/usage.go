package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// usageError is a command line that does not fit the command: what is wrong, and the
// command's usage to show with it.
type usageError struct {
	msg   string
	usage string
}

func (e *usageError) Error() string { return e.msg + "\n\n" + strings.TrimRight(e.usage, "\n") }

func newUsageError(cmd *cobra.Command, format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...), usage: cmd.UsageString()}
}

// flagError is every command's answer to a flag it cannot parse: the error, with the
// nearest flag for one it does not know, and the usage.
func flagError(cmd *cobra.Command, err error) error {
	msg := err.Error()
	if name, ok := unknownFlag(msg); ok {
		msg = fmt.Sprintf("unknown flag %s for %s", name, cmd.CommandPath())
		if near := nearestFlag(cmd, strings.TrimLeft(name, "-")); near != "" {
			msg += "; did you mean " + near + "?"
		}
	}
	return newUsageError(cmd, "%s", msg)
}

// unknownFlag reads the flag out of pflag's error for one it does not know.
func unknownFlag(msg string) (string, bool) {
	if name, ok := strings.CutPrefix(msg, "unknown flag: "); ok {
		return name, true
	}
	if rest, ok := strings.CutPrefix(msg, "unknown shorthand flag: '"); ok {
		if c, _, ok := strings.Cut(rest, "'"); ok {
			return "-" + c, true
		}
	}
	return "", false
}

// nearestFlag is the flag of cmd whose name is nearest to name (within a third of its
// length, or one that starts with it), as --name; empty if none is near.
func nearestFlag(cmd *cobra.Command, name string) string {
	best, bestDist := "", len(name)/3+1
	visit := func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		d := editDistance(name, f.Name)
		if strings.HasPrefix(f.Name, name) && len(name) >= 3 {
			d = 0
		}
		if d < bestDist || (d == bestDist && best == "") {
			best, bestDist = "--"+f.Name, d
		}
	}
	cmd.Flags().VisitAll(visit)
	cmd.InheritedFlags().VisitAll(visit)
	if best == "" && len(name) == 1 {
		// A shorthand: only an exact one is a suggestion, and it was not found.
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// usageArgs checks a command's arguments against the ones its Use names (the words in
// capitals that are not a flag's value: ID in "get ID", FILE in "apply -f FILE" is
// not one): a missing one is named, an extra one too, each with the usage.
func usageArgs(cmd *cobra.Command, args []string) error {
	names := argNames(cmd.Use)
	if len(args) > len(names) {
		for _, a := range args[len(names):] {
			switch a {
			case "true", "false", "on", "off":
				return newUsageError(cmd, "%s takes no argument %q: a yes-or-no flag takes no value apart, write --flag or --flag=false", cmd.CommandPath(), a)
			}
		}
	}
	switch {
	case len(args) < len(names):
		return newUsageError(cmd, "missing %s: %s", strings.Join(names[len(args):], " "), cmd.CommandPath()+" "+strings.Join(names, " "))
	case len(args) > len(names) && len(names) == 0:
		return newUsageError(cmd, "%s takes no arguments, and was given %q", cmd.CommandPath(), args)
	case len(args) > len(names):
		return newUsageError(cmd, "%s takes %s, and was given also %q", cmd.CommandPath(), strings.Join(names, " "), args[len(names):])
	}
	return nil
}

// argNames are the arguments that use (a command's Use) names.
func argNames(use string) []string {
	words := strings.Fields(use)
	var names []string
	for i := 1; i < len(words); i++ {
		w := words[i]
		switch {
		case strings.HasPrefix(w, "-"):
			i++ // the flag's value
		case w == strings.ToUpper(w) && strings.Trim(w, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") == "":
			names = append(names, w)
		}
	}
	return names
}
