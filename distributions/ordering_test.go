package distributions

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/payloads"
)

func TestOrderingValidation(t *testing.T) {
	tests := []struct {
		name, ordering string
		problem        string // the field refused, "" when valid
		want           string // a part of its message
	}{
		{"no ordering", ``, "", ""},
		{"one stream", `,"ordering":{}`, "", ""},
		{"empty key", `,"ordering":{"key":""}`, "", ""},
		{"dotted path", `,"ordering":{"key":"data.customer.id"}`, "", ""},
		{"CEL", `,"ordering":{"key":"data.customer.id + '/' + string(data.order.amount)"}`, "", ""},
		{"top-level field", `,"ordering":{"key":"entity_id"}`, "", ""},
		{"does not compile", `,"ordering":{"key":"data.customer.id +"}`, "webhook.ordering.key", "does not compile"},
		{"unknown variable", `,"ordering":{"key":"customer.id"}`, "webhook.ordering.key", "customer"},
		{"control character", `,"ordering":{"key":"data.customer\u0000.id"}`, "webhook.ordering.key", "control character"},
		{"too long", `,"ordering":{"key":"` + strings.Repeat("a", MaxOrderingKeyLength+1) + `"}`, "webhook.ordering.key", "longer than"},
		{"unknown field", `,"ordering":{"keys":"data.customer.id"}`, "webhook.ordering.keys", ""},
		{"not an object", `,"ordering":"data.customer.id"`, "webhook.ordering", ""},
		{"key not a string", `,"ordering":{"key":5}`, "webhook.ordering.key", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"name":"n","trigger":{"events":["customer.order.paid"]},"webhook":{"event_name":"e","url":"http://127.0.0.1:9/x"` + tt.ordering + `}}`
			d, err := Decode([]byte(body))
			if err == nil {
				d.Normalize()
				err = d.Validate()
			}
			var ve *ValidationError
			switch {
			case tt.problem == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.problem == "":
			case !errors.As(err, &ve):
				t.Fatalf("err %v, want a ValidationError naming %s", err, tt.problem)
			case ve.Problems[0].Field != tt.problem || !strings.Contains(ve.Problems[0].Message, tt.want):
				t.Errorf("problem %+v, want %s: ...%s...", ve.Problems[0], tt.problem, tt.want)
			}
		})
	}
}

func TestOrderingStreamKey(t *testing.T) {
	ev := payloads.Event{ID: "evt_1", Type: "customer.order.paid", EntityID: "cust_9",
		Data: map[string]json.RawMessage{
			"customer": json.RawMessage(`{"id":"cust_1","metadata":{"tier":null},"n":42,"vip":true}`),
			"order":    json.RawMessage(`{"id":"ord_1","amount":12000}`),
		}}
	tests := []struct{ key, want string }{
		{"", ""},
		{"  ", ""},
		{"data.customer.id", "cust_1"},
		{"entity_id", "cust_9"},
		{"data.customer.n", "42"},
		{"data.customer.vip", "true"},
		{"data.order.amount", "12000"},
		{"data.customer.id + ':' + data.order.id", "cust_1:ord_1"},
		// Missing, null or failing: the stream of the empty key.
		{"data.referrer.id", ""},
		{"data.customer.email", ""},
		{"data.customer.metadata.tier", ""},
		{"data.customer.id / 2", ""},
		{"data.customer.id +", ""}, // does not compile (refused at save)
	}
	for _, tt := range tests {
		if got := (Ordering{Key: tt.key}).StreamKey(ev); got != tt.want {
			t.Errorf("StreamKey(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
}
