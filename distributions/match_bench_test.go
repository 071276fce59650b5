package distributions

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkMatch matches one order event against n candidates, a tenth of them with a CEL
// filter (compiled once, as in a running worker).
func BenchmarkMatch(b *testing.B) {
	ev := event("customer.order.paid", map[string]string{
		"customer": `{"id":"cust_1","segments":["seg_vip"]}`,
		"order":    `{"id":"ord_1","amount":12000,"status":"PAID"}`,
		"campaign": `{"id":"camp_1"}`,
	})
	for _, n := range []int{1, 10, 100} {
		cands := make([]Distribution, n)
		for i := range cands {
			cands[i] = Distribution{ID: fmt.Sprintf("distr_%03d", i), Status: StatusLive,
				Action: Action{Type: ActionPlainMessage}, Trigger: Trigger{Events: []string{"customer.order.*"}, Segment: "seg_vip"}}
			if i%10 == 0 {
				cands[i].Trigger.Filter = `data.order.amount >= 10000 && "seg_vip" in data.customer.segments`
			}
		}
		b.Run(fmt.Sprintf("candidates=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			at := time.Now()
			for b.Loop() {
				if d := Match(ev, cands, at); len(d.Matched) != n {
					b.Fatalf("matched %d", len(d.Matched))
				}
			}
		})
	}
}
