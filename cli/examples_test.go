package cli

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestEveryCommandHasExamples: every command that runs shows examples in its --help (cobra's
// Example), and every hookflow command line of them parses: its command, flags and
// arguments exist.
func TestEveryCommandHasExamples(t *testing.T) {
	var walk func(cmd *cobra.Command)
	n, lines := 0, 0
	walk = func(cmd *cobra.Command) {
		if cmd.Runnable() && cmd.Name() != "help" {
			n++
			if !strings.Contains(cmd.Example, cmd.CommandPath()) {
				t.Errorf("%s --help has no example of it (Example: %q)", cmd.CommandPath(), cmd.Example)
			}
			for _, line := range exampleLines(cmd.Example) {
				lines++
				root := newRootCommand(func(string) string { return "" })
				sub, rest, err := root.Find(line[1:])
				if err == nil {
					if err = sub.ParseFlags(rest); err == nil {
						err = sub.ValidateArgs(sub.Flags().Args())
					}
				}
				if err != nil {
					t.Errorf("%s --help: the example %q does not parse: %v", cmd.CommandPath(), strings.Join(line, " "), err)
				}
			}
		}
		for _, sub := range cmd.Commands() {
			walk(sub)
		}
	}
	walk(newRootCommand(func(string) string { return "" }))
	if n < 40 || lines < n {
		t.Errorf("walked %d runnable commands and %d example lines; the tree has more", n, lines)
	}
}

// exampleLines are the hookflow command lines of an Example, as the shell would split them:
// lines joined at a trailing backslash, quotes removed, cut before a pipe or a redirection.
func exampleLines(example string) [][]string {
	var out [][]string
	text := strings.ReplaceAll(example, "\\\n", " ")
	for _, l := range strings.Split(text, "\n") {
		if _, after, ok := strings.Cut(l, "| hookflow "); ok {
			l = "hookflow " + after
		}
		if _, after, ok := strings.Cut(l, "$(hookflow "); ok {
			l = "hookflow " + strings.TrimSuffix(strings.TrimSpace(after), ")")
		}
		l = strings.TrimSpace(l)
		if !strings.HasPrefix(l, "hookflow ") && l != "hookflow" {
			continue
		}
		var words []string
		var word strings.Builder
		var quote rune
		inWord := false
		for _, r := range l {
			switch {
			case quote != 0 && r == quote:
				quote = 0
			case quote != 0:
				word.WriteRune(r)
			case r == '\'' || r == '"':
				quote, inWord = r, true
			case r == ' ' || r == '\t':
				if inWord {
					words = append(words, word.String())
					word.Reset()
					inWord = false
				}
			default:
				word.WriteRune(r)
				inWord = true
			}
		}
		if inWord {
			words = append(words, word.String())
		}
		for i, w := range words {
			if w == "|" || w == ">" {
				words = words[:i]
				break
			}
		}
		out = append(out, words)
	}
	return out
}
