package payloads

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func TestActionObjectNames(t *testing.T) {
	tests := map[string][]string{
		ActionPlainMessage:    nil,
		ActionNotifyPromotion: {"campaign", "promotion_tier"},
		ActionPublishCode:     {"campaign", "voucher", "publication"},
		"send_sms":            nil,
	}
	for action, want := range tests {
		if got := ActionObjectNames(action); !reflect.DeepEqual(got, want) {
			t.Errorf("ActionObjectNames(%q) = %v, want %v", action, got, want)
		}
	}
}

func TestActionAllowed(t *testing.T) {
	promotable := map[string]bool{
		"customer.segment.entered": true, "customer.segment.left": true,
		"customer.order.created": true, "customer.order.updated": true, "customer.order.paid": true, "customer.order.canceled": true,
		"customer.custom_event": true, "manual_distribution_schedule": true,
	}
	for _, trigger := range DistributionTriggers {
		if got, want := ActionAllowed(ActionPlainMessage, trigger), trigger != "manual_distribution_schedule"; got != want {
			t.Errorf("ActionAllowed(plain_message, %s) = %v, want %v", trigger, got, want)
		}
		for _, action := range []string{ActionNotifyPromotion, ActionPublishCode} {
			if got := ActionAllowed(action, trigger); got != promotable[trigger] {
				t.Errorf("ActionAllowed(%s, %s) = %v, want %v", action, trigger, got, promotable[trigger])
			}
		}
		if ActionAllowed("send_sms", trigger) {
			t.Errorf("an unknown action is allowed for %s", trigger)
		}
	}
	for _, notTrigger := range []string{"voucher.created", "customer.order.exploded", ""} {
		for _, action := range Actions {
			if ActionAllowed(action, notTrigger) {
				t.Errorf("ActionAllowed(%s, %q) = true for a type that is no distribution trigger", action, notTrigger)
			}
		}
	}
}

func TestDataObjectActionObjects(t *testing.T) {
	redemption := Event{Type: "customer.redemption.succeeded", Data: map[string]json.RawMessage{
		"customer": json.RawMessage(`{"id":"c"}`),
		"campaign": json.RawMessage(`{"id":"event_campaign"}`),
	}}
	tests := []struct {
		name   string
		ev     Event
		action []NamedObject
		want   string
	}{
		{"none", redemption, nil,
			`{"customer":{"id":"c"},"order":null,"campaign":{"id":"event_campaign"},"voucher":null,"holder":null,"promotion_tier":null,"promotion_stack":null,"redemption":null}`},
		{"replaced in place, added after", redemption,
			[]NamedObject{{"campaign", json.RawMessage(`{"id":"action_campaign"}`)}, {"publication", json.RawMessage(`{"id":"pub"}`)}},
			`{"customer":{"id":"c"},"order":null,"campaign":{"id":"action_campaign"},"voucher":null,"holder":null,"promotion_tier":null,"promotion_stack":null,"redemption":null,"publication":{"id":"pub"}}`},
		{"appended in the given order, absent as null",
			Event{Type: "customer.segment.entered", Data: map[string]json.RawMessage{"segment": json.RawMessage(`{"id":"s"}`)}},
			[]NamedObject{{"voucher", json.RawMessage(`{"code":"A"}`)}, {"campaign", nil}, {"publication", json.RawMessage(`{"id":"p"}`)}},
			`{"customer":null,"segment":{"id":"s"},"voucher":{"code":"A"},"campaign":null,"publication":{"id":"p"}}`},
		{"the later of two of a name wins",
			Event{Type: "customer.segment.left"},
			[]NamedObject{{"campaign", json.RawMessage(`{"id":1}`)}, {"campaign", json.RawMessage(`{"id":2}`)}},
			`{"customer":null,"segment":null,"campaign":{"id":2}}`},
		{"a type without a list: every object by name, then the action's",
			Event{Type: "voucher.created", Data: map[string]json.RawMessage{"voucher": json.RawMessage(`{"id":"v"}`), "campaign": json.RawMessage(`{"id":"old"}`)}},
			[]NamedObject{{"campaign", json.RawMessage(`{"id":"new"}`)}, {"promotion_tier", json.RawMessage(`{"id":"t"}`)}},
			`{"campaign":{"id":"new"},"voucher":{"id":"v"},"promotion_tier":{"id":"t"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DataObject(tt.ev, tt.action...); string(got) != tt.want {
				t.Errorf("DataObject =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestRenderRawNeedsTemplate(t *testing.T) {
	ev := SampleEvent("customer.order.paid")
	if _, err := Render(ev, Target{Raw: true}, "whs_1", time.Now()); err == nil {
		t.Error("raw mode without a template rendered")
	}
	if _, err := Render(ev, Target{Version: "v1999", Template: `{"a":1}`, Raw: true}, "whs_1", time.Now()); err == nil {
		t.Error("an unknown version rendered in raw mode")
	}
}
