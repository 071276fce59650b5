package deliverylog

import (
	"testing"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/converter"

	"github.com/hookflow/hookflow/payloads"
	"github.com/hookflow/hookflow/workflows"
)

// TestOrderedDeliveryQueued: an ordered delivery without an attempt is queued until its
// turn comes (then pending, then as its attempts say); another distribution's turn, or an
// unordered delivery, is not queued.
func TestOrderedDeliveryQueued(t *testing.T) {
	in := workflows.DeliveryInput{Event: event, Ordered: []workflows.OrderedTarget{
		{DistributionID: "distr_o", Stream: workflows.StreamID("distr_o", "cust_1")}}}
	turn := func(distr string) *historypb.WorkflowExecutionSignaledEventAttributes {
		return &historypb.WorkflowExecutionSignaledEventAttributes{SignalName: workflows.TurnSignal(distr)}
	}
	tests := []struct {
		name, distr string
		events      []any
		want        string
	}{
		{"waiting", "distr_o", []any{started(t, in)}, workflows.StatusQueued},
		{"another's turn", "distr_o", []any{started(t, in), turn("distr_x")}, workflows.StatusQueued},
		{"its turn", "distr_o", []any{started(t, in), turn("distr_o")}, "pending"},
		{"unordered", "distr_plain", []any{started(t, in)}, "pending"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Delivery{ID: payloads.DeliveryID(event.ID, tt.distr), Attempts: []Attempt{}}
			readHistory(&d, history(tt.events...), converter.GetDefaultDataConverter())
			if d.Status != tt.want {
				t.Errorf("status %q, want %q", d.Status, tt.want)
			}
		})
	}
}
