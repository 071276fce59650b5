package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/hookflow/hookflow/client"
)

// A program that subscribes a URL to paid orders, sends an event and reads its delivery
// log. It compiles as part of the tests; it runs against a hookflow API (hookflow dev).
func Example() {
	ctx := context.Background()
	c, err := client.New("http://127.0.0.1:7280", client.WithAPIKey(os.Getenv("HOOKFLOW_API_KEY")))
	if err != nil {
		log.Fatal(err)
	}

	d, err := c.CreateDistribution(ctx, client.Distribution{
		Name:    "Paid orders",
		Trigger: client.Trigger{Events: []string{"customer.order.paid"}},
		Action:  client.Action{Type: "plain_message"},
		Webhook: client.DistributionWebhook{EventName: "Order-paid", URL: "https://example.com/hooks"},
	}, client.WithIdempotencyKey("setup-paid-orders")) // run again: the same distribution
	var apiErr *client.Error
	if errors.As(err, &apiErr) {
		for _, p := range apiErr.FieldProblems() {
			fmt.Printf("%s: %s\n", p.Field, p.Message)
		}
		return
	} else if err != nil {
		log.Fatal(err)
	}

	run, err := c.SendEvent(ctx, client.Event{
		ID:   "evt_order_1001",
		Type: "customer.order.paid",
		Data: map[string]any{
			"customer": map[string]any{"id": "cust_1"},
			"order":    map[string]any{"id": "ord_1001", "amount": 4200},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("sent", run.ID, "to", d.ID)

	for ev, err := range c.AllDeliveries(ctx, client.DeliveryFilter{Distribution: d.ID}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(ev.WorkflowID, ev.Status, ev.Deliveries)
	}
}
