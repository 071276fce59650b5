package payloads

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// TestSampleEventIsAValidEvent checks that every trigger's sample carries exactly the
// trigger's objects and would be accepted as an incoming event.
func TestSampleEventIsAValidEvent(t *testing.T) {
	for _, trigger := range DistributionTriggers {
		ev := SampleEvent(trigger)
		if ev.Type != trigger || ev.ID == "" || ev.CreatedAt.IsZero() || ev.EntityID == "" {
			t.Errorf("%s: sample %+v lacks a field", trigger, ev)
		}
		if len(ev.Data) != len(TriggerObjects(trigger)) {
			t.Errorf("%s: %d objects, want %d", trigger, len(ev.Data), len(TriggerObjects(trigger)))
		}
		for _, name := range TriggerObjects(trigger) {
			if _, ok := member(ev.Data[name], "id"); !ok && name != "referral" && name != "loyalty" && name != "points" && name != "balance" && name != "buckets" {
				t.Errorf("%s: %s has no id: %s", trigger, name, ev.Data[name])
			}
		}
		body, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := ParseEvent(body, time.Now(), func() string { return "unused" })
		if err != nil {
			t.Fatalf("%s: the sample is not a valid event: %v", trigger, err)
		}
		if !reflect.DeepEqual(parsed, ev) {
			t.Errorf("%s: the sample changes when parsed:\n%+v\n%+v", trigger, parsed, ev)
		}
	}
}

func TestSampleEventEntity(t *testing.T) {
	tests := map[string]string{
		"customer.order.paid":                 "ord_123",
		"customer.segment.left":               "seg_vip",
		"customer.voucher.gift.balance_added": "v_g1f7",
		"customer.loyalty.tier.joined":        "cust_0a1b2c",
		"manual_distribution_schedule":        "distr_sample",
		"voucher.created":                     "v_c0d3",
		"campaign.deleted":                    "camp_s1",
	}
	for typ, want := range tests {
		if got := SampleEvent(typ).EntityID; got != want {
			t.Errorf("SampleEvent(%q).EntityID = %q, want %q", typ, got, want)
		}
	}
	if ev := SampleEvent("webhook.tested"); len(ev.Data) != 0 || ev.EntityID != "" {
		t.Errorf("an unknown type's sample = %+v, want no objects", ev)
	}
	if got := string(SampleObject("unheard_of")); got != `{"id":"unheard_of_1"}` {
		t.Errorf("SampleObject of an unknown name = %s", got)
	}
}
