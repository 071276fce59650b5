package payloads

import "encoding/json"

// Distribution actions (spec section 5).
const (
	ActionPlainMessage    = "plain_message"
	ActionNotifyPromotion = "notify_promotion"
	ActionPublishCode     = "publish_code"
)

// Actions lists every distribution action, in the spec's order.
var Actions = []string{ActionPlainMessage, ActionNotifyPromotion, ActionPublishCode}

// NamedObject is one named object of a payload's `data`, as compact JSON.
type NamedObject struct {
	Name  string
	Value json.RawMessage
}

// ActionObjectNames returns the objects, in order, that an action adds to `data` after the
// trigger's objects: campaign and promotion_tier for notify_promotion; campaign, voucher and
// publication for publish_code; none for plain_message or an unknown action.
func ActionObjectNames(action string) []string {
	switch action {
	case ActionNotifyPromotion:
		return []string{"campaign", "promotion_tier"}
	case ActionPublishCode:
		return []string{"campaign", "voucher", "publication"}
	}
	return nil
}

// ActionAllowed reports whether a distribution triggered by eventType may take action.
// plain_message is allowed for every distribution trigger except manual messages;
// notify_promotion and publish_code only for segment, order, custom event and manual
// triggers (the "allowed for" column of spec section 5).
func ActionAllowed(action, eventType string) bool {
	switch action {
	case ActionPlainMessage:
		return IsDistributionTrigger(eventType) && eventType != "manual_distribution_schedule"
	case ActionNotifyPromotion, ActionPublishCode:
		switch eventType {
		case "customer.segment.entered", "customer.segment.left",
			"customer.order.created", "customer.order.updated", "customer.order.paid", "customer.order.canceled",
			"customer.custom_event", "manual_distribution_schedule":
			return true
		}
	}
	return false
}

// AllowedActions lists the actions a distribution triggered by eventType may take, in the
// spec's order.
func AllowedActions(eventType string) []string {
	var out []string
	for _, a := range Actions {
		if ActionAllowed(a, eventType) {
			out = append(out, a)
		}
	}
	return out
}
