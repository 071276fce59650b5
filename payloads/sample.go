package payloads

import (
	"encoding/json"
	"strings"
	"time"
)

// SampleEvent builds a plausible event of eventType, with fixed ids and times, that carries
// every object of TriggerObjects(eventType) as a small object (an id and a few fields). It
// is what templates are validated on when a distribution is saved, and what the payload
// documentation shows. For a type without a documented list of objects (a project-level
// type such as voucher.created) it carries the object its type names, when there is one.
func SampleEvent(eventType string) Event {
	names := TriggerObjects(eventType)
	if names == nil {
		if first, _, _ := strings.Cut(eventType, "."); sampleObjects[first] != "" {
			names = []string{first}
		}
	}
	ev := Event{
		ID:        "evt_sample",
		Type:      eventType,
		CreatedAt: time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC),
		GroupID:   "req_sample",
		Source:    json.RawMessage(`{"channel":"API"}`),
		Data:      make(map[string]json.RawMessage, len(names)),
	}
	program := programObjects[programOf(eventType)]
	for _, name := range names {
		if v, ok := program[name]; ok {
			ev.Data[name] = json.RawMessage(v)
		} else {
			ev.Data[name] = SampleObject(name)
		}
	}
	ev.EntityID = entityOf(eventType, names, ev.Data)
	return ev
}

// SampleObject returns a small plausible object of the given name (customer, order,
// voucher, ...), or one with only an id for a name hookflow has no sample of.
func SampleObject(name string) json.RawMessage {
	if s, ok := sampleObjects[name]; ok {
		return json.RawMessage(s)
	}
	return json.RawMessage(`{"id":` + string(appendJSONString(nil, name+"_1")) + `}`)
}

// entityOf picks the id of the object the event is about: the first object that a word of
// the type names (order in customer.order.paid), else the first object.
func entityOf(eventType string, names []string, objects map[string]json.RawMessage) string {
	if len(names) == 0 {
		return ""
	}
	subject := names[0]
	for word := range strings.SplitSeq(eventType, ".") {
		if _, ok := objects[word]; ok && word != "customer" {
			subject = word
			break
		}
	}
	id, ok := member(objects[subject], "id")
	if !ok || len(id) < 2 || id[0] != '"' {
		return ""
	}
	var s string
	if json.Unmarshal(id, &s) != nil {
		return ""
	}
	return s
}

// programOf names the kind of campaign an event type is about, so that its sample carries
// a loyalty card for a loyalty trigger rather than a discount coupon.
func programOf(eventType string) string {
	switch {
	case strings.Contains(eventType, "loyalty"), strings.Contains(eventType, "reward_redemptions"):
		return "loyalty"
	case strings.Contains(eventType, "gift"):
		return "gift"
	case eventType == "customer.referred", eventType == "customer.rewarded":
		return "referral"
	}
	return "discount"
}

// programObjects are the objects of a program's samples that differ from sampleObjects
// (whose campaign and voucher are a discount program's).
var programObjects = map[string]map[string]string{
	"loyalty": {
		"campaign": `{"id":"camp_loyal","name":"Coffee club","type":"LOYALTY_PROGRAM"}`,
		"voucher":  `{"id":"v_l0y4","code":"LC-ANN-1","type":"LOYALTY_CARD","loyalty_card":{"points":1200,"balance":980},"campaign_id":"camp_loyal"}`,
	},
	"gift": {
		"campaign":    `{"id":"camp_gift","name":"Gift cards","type":"GIFT_VOUCHERS"}`,
		"voucher":     `{"id":"v_g1f7","code":"GIFT-50","type":"GIFT_VOUCHER","gift":{"amount":5000,"balance":7000},"campaign_id":"camp_gift"}`,
		"balance":     `{"object":"balance","type":"gift_voucher","amount":2000,"balance":7000}`,
		"transaction": `{"id":"vtx_2","type":"CREDITS_ADDITION","amount":2000,"reason":"Top-up"}`,
	},
	"referral": {
		"campaign": `{"id":"camp_ref","name":"Bring a friend","type":"REFERRAL_PROGRAM"}`,
		"voucher":  `{"id":"v_r3f","code":"REF-BO-42","type":"DISCOUNT_VOUCHER","discount":{"type":"AMOUNT","amount_off":1000},"campaign_id":"camp_ref"}`,
	},
}

// sampleObjects are the samples of SampleObject, compact JSON. They share ids where they
// refer to one another (the customer holds the voucher, the campaign owns it), so a sample
// payload reads as one story.
var sampleObjects = map[string]string{
	"customer":          `{"id":"cust_0a1b2c","source_id":"ann-lee","name":"Ann Lee","email":"ann@example.com","metadata":{"lang":"en"}}`,
	"referrer":          `{"id":"cust_7r8s9t","source_id":"bo-kim","name":"Bo Kim","email":"bo@example.com"}`,
	"holder":            `{"id":"cust_0a1b2c","source_id":"ann-lee","name":"Ann Lee","email":"ann@example.com"}`,
	"segment":           `{"id":"seg_vip","name":"VIP customers","type":"auto-update"}`,
	"order":             `{"id":"ord_123","source_id":"web-1001","status":"PAID","amount":12000,"currency":"EUR","items_count":2,"metadata":{"channel":"web"}}`,
	"redemption":        `{"id":"r_0b1c2d","object":"redemption","result":"SUCCESS","status":"SUCCEEDED","amount":1500,"tracking_id":"track_ann"}`,
	"event":             `{"id":"evcus_1a2b","name":"signed_up","metadata":{"plan":"pro"}}`,
	"event_schema":      `{"id":"ms_5e6f","name":"signed_up","schema":{"properties":{"plan":{"type":"string"}}}}`,
	"referral":          `{"referrer_id":"cust_7r8s9t","code":"REF-BO-42"}`,
	"loyalty":           `{"points":120}`,
	"distribution":      `{"id":"distr_sample","name":"Spring newsletter"}`,
	"campaign":          `{"id":"camp_s1","name":"Spring sale","type":"DISCOUNT_COUPONS"}`,
	"voucher":           `{"id":"v_c0d3","code":"SPRING-25","type":"DISCOUNT_VOUCHER","discount":{"type":"PERCENT","percent_off":25},"campaign_id":"camp_s1"}`,
	"promotion_tier":    `{"id":"promo_t1","name":"10% off orders over 100 EUR","banner":"Save 10%"}`,
	"promotion_stack":   `{"id":"promo_stack_1","name":"Weekend stack"}`,
	"publication":       `{"id":"pub_9f8e","result":"SUCCESS","customer_id":"cust_0a1b2c","voucher_code":"SPRING-25"}`,
	"reward":            `{"id":"rew_1","name":"Free coffee","type":"MATERIAL"}`,
	"referral_tier":     `{"id":"reftier_1","name":"Three friends","referrals":3}`,
	"balance":           `{"object":"balance","type":"loyalty_card","points":200,"total":1200,"balance":980}`,
	"custom_event":      `{"id":"evcus_3c4d","type":"customer.custom_event","name":"referral_signup"}`,
	"customer_event":    `{"id":"evcus_5e6f","type":"customer.referred"}`,
	"loyalty_tier":      `{"id":"ltr_gold","name":"Gold","points":{"from":1000,"to":4999}}`,
	"loyalty_tier_from": `{"id":"ltr_silver","name":"Silver","points":{"from":500,"to":999}}`,
	"loyalty_tier_to":   `{"id":"ltr_gold","name":"Gold","points":{"from":1000,"to":4999}}`,
	"earning_rule":      `{"id":"ern_1","event":"customer.order.paid","loyalty":{"type":"PROPORTIONAL","points":1,"every":100}}`,
	"reward_redemption": `{"id":"rr_1","status":"COMPLETED","points":500}`,
	"reward_assignment": `{"id":"rewa_1","reward_id":"rew_1","points":500}`,
	"source":            `{"id":"user_1","object":"user","channel":"USER_PORTAL"}`,
	"transaction":       `{"id":"vtx_1","type":"POINTS_ADDITION","amount":200,"reason":"Welcome bonus"}`,
	"points":            `{"expired":300,"expired_at":"2026-01-05"}`,
	"buckets":           `{"data":[{"id":"lopb_1","points":300,"expires_at":"2026-01-04"}],"total":1}`,
}
