package distributions

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"

	"github.com/hookflow/hookflow/payloads"
)

// Ordering, on a distribution's webhook, makes its deliveries go out one at a time per
// stream, in intake order: a delivery is not sent before the one taken in before it on the
// same stream is delivered or has failed for good. Key names the stream of an event: a
// dotted path into the event (data.customer.id) or any CEL expression over the variables a
// filter sees; without a key the whole distribution is one stream.
type Ordering struct {
	Key string `json:"key,omitempty"`
}

// MaxOrderingKeyLength bounds webhook.ordering.key, as a filter is bounded.
const MaxOrderingKeyLength = MaxFilterLength

// keyPrograms keeps compiled key expressions, as filterCache keeps filters, and is bounded
// the same way: every key validated (a dry run too) is compiled once.
var keyPrograms programCache

// compileKey compiles an ordering key expression; any result type is taken.
func compileKey(expr string) (cel.Program, error) {
	return keyPrograms.compile(expr, nil)
}

func (o Ordering) validate(ps *problems) {
	switch {
	case len(o.Key) > MaxOrderingKeyLength:
		ps.add("webhook.ordering.key", "longer than %d bytes", MaxOrderingKeyLength)
	case hasControl(strings.TrimSpace(o.Key)): // a YAML block scalar's last newline is no problem
		ps.add("webhook.ordering.key", "contains a control character or invalid UTF-8")
	case strings.TrimSpace(o.Key) != "":
		if _, err := compileKey(o.Key); err != nil {
			ps.add("webhook.ordering.key", "%v; give a dotted path such as data.customer.id or a CEL expression", err)
		}
	}
}

// StreamKey is the value of o's key for ev: the name of its stream within the
// distribution. It is "" without a key, and also when the key cannot be computed on ev (a
// missing field, null, an error): such events share the stream of the empty key, so they
// are still ordered among themselves rather than sent out of order.
func (o Ordering) StreamKey(ev payloads.Event) string {
	if strings.TrimSpace(o.Key) == "" {
		return ""
	}
	prg, err := compileKey(o.Key)
	if err != nil {
		return ""
	}
	vars, err := eventVars(ev)
	if err != nil {
		return ""
	}
	out, _, err := prg.Eval(vars)
	if err != nil {
		return ""
	}
	if out == types.NullValue {
		return ""
	}
	if v, ok := out.Value().(string); ok {
		return v
	}
	// A number or a bool is named by its JSON; anything else as CEL prints it. A string
	// "42" and a number 42 share a stream: more order than asked, never less.
	if b, err := json.Marshal(out.Value()); err == nil {
		return string(b)
	}
	return fmt.Sprint(out.Value())
}
