package cli

import (
	"strings"
	"testing"

	"github.com/hookflow/hookflow/api"
)

// TestSendBadInput: what the API refuses of an event is reported with the flag that gave
// it, and the field.
func TestSendBadInput(t *testing.T) {
	h, _ := newHarness(t, &api.Server{})
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--data", "{}"}, "--type is required"},
		{[]string{"--type", "customer.order.paid"}, "--data is required"},
		{[]string{"--type", "customer.order.paid", "--data", `{"order":`}, "--data: not valid JSON"},
		{[]string{"--type", "no.such.type", "--data", "{}"}, `--type: 400 invalid_event: type: unknown event type "no.such.type"`},
		{[]string{"--type", "customer.order.paid", "--data", "[]"}, "--data: 400 invalid_event: data: must be an object"},
		{[]string{"--type", "customer.order.paid", "--data", "{}", "--id", "bad id!"}, "--id: 400 invalid_event: id: "},
	} {
		if _, _, err := h.run(append([]string{"send"}, tc.args...)...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("send %q: %v, want it to say %q", tc.args, err, tc.want)
		}
	}
}
