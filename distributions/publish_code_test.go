package distributions

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// publish_code takes its codes from the pool of action.campaign's id.
func TestValidatePublishCode(t *testing.T) {
	base := func() Distribution {
		d := Distribution{Name: "n", Trigger: Trigger{Events: []string{"customer.order.paid", "customer.segment.*"}},
			Action:  Action{Type: ActionPublishCode, Campaign: json.RawMessage(`{"id":"camp_spring","name":"Spring"}`)},
			Webhook: Webhook{EventName: "e", URL: "https://example.com/h"}}
		d.Normalize()
		return d
	}
	if err := base().Validate(); err != nil {
		t.Fatalf("a valid publish_code distribution: %v", err)
	}
	tests := []struct {
		name   string
		change func(d *Distribution)
		want   string // field: message
	}{
		{"no campaign", func(d *Distribution) { d.Action.Campaign = nil }, `action.campaign: is required`},
		{"null campaign", func(d *Distribution) { d.Action.Campaign = json.RawMessage(`null`) }, `action.campaign: is required`},
		{"campaign not an object", func(d *Distribution) { d.Action.Campaign = json.RawMessage(`"camp_1"`) }, `action.campaign: must be a JSON object`},
		{"campaign without id", func(d *Distribution) { d.Action.Campaign = json.RawMessage(`{"name":"Spring"}`) }, `action.campaign: must have a string id`},
		{"campaign with an empty id", func(d *Distribution) { d.Action.Campaign = json.RawMessage(`{"id":""}`) }, `action.campaign: must have a string id`},
		{"campaign with a number id", func(d *Distribution) { d.Action.Campaign = json.RawMessage(`{"id":7}`) }, `action.campaign: must have a string id`},
		{"campaign id with a space", func(d *Distribution) { d.Action.Campaign = json.RawMessage(`{"id":"camp 1"}`) }, `action.campaign.id: must not contain whitespace`},
		{"campaign id too long", func(d *Distribution) {
			d.Action.Campaign = json.RawMessage(`{"id":"` + strings.Repeat("c", maxIDLength+1) + `"}`)
		}, `action.campaign.id: longer than 128 characters`},
		{"promotion tier", func(d *Distribution) { d.Action.PromotionTier = json.RawMessage(`{"id":"p"}`) }, `action.promotion_tier: publish_code takes no promotion_tier`},
		{"redemption trigger", func(d *Distribution) { d.Trigger.Events = []string{"customer.redemption.succeeded"} }, `trigger.events[0]: publish_code is not allowed`},
		{"loyalty pattern", func(d *Distribution) { d.Trigger.Events = []string{"customer.loyalty.*"} }, `trigger.events[0]: publish_code is not allowed for any type`},
		{"publication trigger", func(d *Distribution) { d.Trigger.Events = []string{"customer.publication.succeeded"} }, `trigger.events[0]: publish_code is not allowed for customer.publication.succeeded`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := base()
			tt.change(&d)
			var ve *ValidationError
			if err := d.Validate(); !errors.As(err, &ve) {
				t.Fatalf("no problem found (%v)", err)
			}
			if len(ve.Problems) != 1 || !strings.HasPrefix(ve.Problems[0].Field+": "+ve.Problems[0].Message, tt.want) {
				t.Errorf("problems %v, want one: %s...", ve.Problems, tt.want)
			}
		})
	}
	// Manual messages and custom events may publish codes too.
	d := base()
	d.Trigger.Events = []string{"manual_distribution_schedule", "customer.custom_event"}
	if err := d.Validate(); err != nil {
		t.Errorf("manual and custom event triggers: %v", err)
	}
}
