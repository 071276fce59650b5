package distributions

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/payloads"
)

// FuzzFilter evaluates any filter of at most MaxFilterLength bytes (what Validate lets
// through) on an event whose order object is built from the fuzzed data. It must never
// panic and always return (the cost limit stops any filter; one that did not would hang the
// test until go test's -timeout ends it with the goroutine's stack). Its seeds, and any
// failing input the fuzzer saves in testdata/fuzz/FuzzFilter, run with every go test.
func FuzzFilter(f *testing.F) {
	const order = `{"id":"ord_1","amount":12000,"status":"PAID","items":[{"sku":"a","qty":2},{"sku":"b","qty":1}],"metadata":{"channel":"web"}}`
	for _, seed := range []struct{ expr, order string }{
		{`data.order.amount >= 10000 && "seg_vip" in data.customer.segments`, order},
		{`data.order.metadata.channel == "web" && event_type.startsWith("customer.order.") && source.channel == "API"`, order},
		{`data.order.items.exists(i, i.sku == "a" && i.qty > 1)`, order},
		{`data.referrer.id == "x"`, order},
		{`size(data.order.items.map(a, data.order.items.map(b, data.order.items.map(c, [a, b, c])))) > 0`, `{"items":[` + strings.TrimSuffix(strings.Repeat(`1,`, 200), ",") + `]}`},
		{`[1,2,3,4,5,6,7,8,9,10].all(a, [1,2,3,4,5,6,7,8,9,10].all(b, [1,2,3,4,5,6,7,8,9,10].all(c, [1,2,3,4,5,6,7,8,9,10].all(d, [1,2,3,4,5,6,7,8,9,10].all(e, a+b+c+d+e > 0)))))`, order},
		{`data.order.s + data.order.s + data.order.s + data.order.s + data.order.s + data.order.s + data.order.s + data.order.s != ""`, `{"s":"` + strings.Repeat("x", 10000) + `"}`},
		{`data.order.s.matches("(a+)+$")`, `{"s":"` + strings.Repeat("a", 5000) + `!"}`},
		{`created_at > timestamp("2026-01-01T00:00:00Z") && duration("1h") > duration("1m")`, order},
		{`int(data.order.amount) / 0 == 1`, order},
		{`data.order.amount == 1e999999`, `{"amount":1e999999}`},
		{`"text"`, order},
		{`data.order.amount >=`, order},
		{`dyn(data).order.amount`, order},
		{`has(data.order.id) && !has(data.order.nothing)`, order},
		{`data.order.items[5].sku == "a"`, order},
		{`data.order == null`, `null`},
		{`size(data.order) == 3`, `[1,2,3]`},
	} {
		f.Add(seed.expr, seed.order)
	}
	f.Fuzz(func(t *testing.T, expr, order string) {
		if len(expr) > MaxFilterLength {
			return
		}
		ev := payloads.SampleEvent("customer.order.paid")
		data := make(map[string]json.RawMessage, len(ev.Data)+1)
		for k, v := range ev.Data {
			data[k] = v
		}
		if !json.Valid([]byte(order)) {
			s, _ := json.Marshal(order)
			order = string(s)
		}
		data["order"] = json.RawMessage(order)
		ev.Data = data
		_, _ = EvalFilter(expr, ev)
	})
}

// TestFilterCostLimitStops checks that a filter whose work grows with the event stops at
// the cost limit with an error, however large the event.
func TestFilterCostLimitStops(t *testing.T) {
	items := "[" + strings.TrimSuffix(strings.Repeat("1,", 5000), ",") + "]"
	ev := payloads.Event{Type: "customer.order.paid", Data: map[string]json.RawMessage{"order": json.RawMessage(`{"items":` + items + `}`)}}
	for _, expr := range []string{
		`data.order.items.all(a, data.order.items.all(b, a == b || a != b))`,
		`size(data.order.items.map(a, data.order.items.map(b, [a, b]))) > 0`,
	} {
		ok, err := EvalFilter(expr, ev)
		if ok || err == nil || !strings.Contains(err.Error(), "cost limit") {
			t.Errorf("%s: %v %v, want the cost limit error", expr, ok, err)
		}
	}
}
