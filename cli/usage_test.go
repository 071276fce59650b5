package cli

import (
	"strings"
	"testing"
)

// TestUsageErrors: an unknown flag is answered with the nearest flag and the usage, as an
// unknown command is; a missing or extra argument is named, with the usage.
func TestUsageErrors(t *testing.T) {
	h := &harness{t: t, env: map[string]string{}}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"distributions", "create", "--evnts", "customer.order.paid"},
			[]string{"unknown flag --evnts for hookflow distributions create; did you mean --events?", "Usage:\n  hookflow distributions create [flags]"}},
		{[]string{"send", "--tpye", "customer.order.paid"},
			[]string{"unknown flag --tpye for hookflow send; did you mean --type?", "Usage:\n  hookflow send [flags]"}},
		{[]string{"deliveries", "list", "--outptu", "json"},
			[]string{"did you mean --output?"}},
		{[]string{"send", "--zzzzzzzz"},
			[]string{"unknown flag --zzzzzzzz for hookflow send\n\nUsage:"}},
		{[]string{"messages", "list", "--limit", "many"},
			[]string{`invalid argument "many" for "--limit" flag`, "Usage:\n  hookflow messages list [flags]"}},
		{[]string{"distributions", "get"},
			[]string{"missing ID: hookflow distributions get ID", "Usage:\n  hookflow distributions get ID [flags]"}},
		{[]string{"distributions", "get", "distr_1", "distr_2"},
			[]string{`hookflow distributions get takes ID, and was given also ["distr_2"]`, "Usage:"}},
		{[]string{"programs", "pause", "loyalty"},
			[]string{"missing CAMPAIGN: hookflow programs pause PROGRAM CAMPAIGN", "Usage:"}},
		{[]string{"send", "customer.order.paid"},
			[]string{`hookflow send takes no arguments, and was given ["customer.order.paid"]`, "Usage:"}},
		{[]string{"distributions", "recover"},
			[]string{"missing ID: hookflow distributions recover ID", "Usage:"}},
	} {
		_, _, err := h.run(tc.args...)
		for _, want := range tc.want {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%q: %v\nwant it to say %q", tc.args, err, want)
			}
		}
	}
}
