package payloads

import (
	"fmt"
	"strings"
)

// DistributionTriggers are the event types a distribution may trigger on (spec section 6).
var DistributionTriggers = []string{
	"customer.segment.entered", "customer.segment.left",
	"customer.order.created", "customer.order.updated", "customer.order.paid", "customer.order.canceled",
	"customer.redemption.succeeded", "customer.redemption.rollback.succeeded",
	"customer.publication.succeeded", "customer.custom_event",
	"customer.rewarded", "customer.rewarded.loyalty_points", "customer.reward_redemptions.completed",
	"customer.voucher.gift.balance_added",
	"customer.voucher.loyalty_card.points_added", "customer.voucher.loyalty_card.points_expired",
	"customer.voucher.loyalty_card.pending_points.added", "customer.voucher.loyalty_card.pending_points.activated",
	"customer.voucher.loyalty_card.pending_points.canceled", "customer.voucher.loyalty_card.pending_points.updated",
	"customer.loyalty.tier.joined", "customer.loyalty.tier.left", "customer.loyalty.tier.upgraded",
	"customer.loyalty.tier.downgraded", "customer.loyalty.tier.prolonged",
	"customer.referred", "manual_distribution_schedule",
}

// ManualEventType is the event type of every delivery of a manual or bulk message.
const ManualEventType = "manual_distribution_schedule"

// ProjectEventTypes are the project-level event types (spec section 6).
var ProjectEventTypes = []string{
	"redemption.succeeded", "redemption.failed", "redemption.rollback.succeeded", "redemption.rollback.failed",
	"publication.succeeded",
	"customer.created", "customer.updated", "customer.deleted", "customer.confirmed",
	"customer.rewarded", "customer.rewarded.loyalty_points",
	"voucher.created", "voucher.updated", "voucher.deleted", "voucher.enabled", "voucher.disabled", "voucher.published",
	"voucher.gift.balance_added", "voucher.loyalty_card.points_added", "voucher.loyalty_card.points_expired",
	"campaign.created", "campaign.updated", "campaign.deleted", "campaign.enabled", "campaign.disabled",
}

var eventTypes = func() map[string]bool {
	m := map[string]bool{}
	for _, t := range DistributionTriggers {
		m[t] = true
	}
	for _, t := range ProjectEventTypes {
		m[t] = true
	}
	return m
}()

// AllEventTypes lists the catalogue: the distribution triggers, then the project event
// types not among them.
func AllEventTypes() []string {
	out := append([]string(nil), DistributionTriggers...)
	for _, t := range ProjectEventTypes {
		if !IsDistributionTrigger(t) {
			out = append(out, t)
		}
	}
	return out
}

// UnknownTypeMessage says that eventType is not one of known and names the nearest known
// types, or, when none is near, all of them.
func UnknownTypeMessage(eventType string, known []string) string {
	msg := fmt.Sprintf("unknown event type %q", eventType)
	if near := Nearest(eventType, known, 3); len(near) > 0 {
		return msg + "; did you mean " + strings.Join(near, " or ") + "?"
	}
	return msg + "; the known types are " + strings.Join(known, ", ")
}

// IsEventType reports whether t is a type of the catalogue.
func IsEventType(t string) bool { return eventTypes[t] }

// IsDistributionTrigger reports whether t is an event type a distribution may trigger on.
func IsDistributionTrigger(t string) bool {
	for _, d := range DistributionTriggers {
		if d == t {
			return true
		}
	}
	return false
}

// triggerFamily is a group of triggers that send the same objects (spec section 5).
type triggerFamily struct {
	types   []string
	objects []string
}

// triggerFamilies lists the objects `data` holds per trigger, in order (spec section 5).
var triggerFamilies = []triggerFamily{
	{[]string{"customer.segment.entered", "customer.segment.left"}, []string{"customer", "segment"}},
	{[]string{"customer.order.created", "customer.order.updated", "customer.order.paid", "customer.order.canceled"},
		[]string{"customer", "referrer", "order", "redemption"}},
	{[]string{"customer.custom_event"}, []string{"event", "event_schema", "customer", "referral", "loyalty"}},
	{[]string{"manual_distribution_schedule"}, []string{"distribution", "customer"}},
	{[]string{"customer.redemption.succeeded", "customer.redemption.rollback.succeeded"},
		[]string{"customer", "order", "campaign", "voucher", "holder", "promotion_tier", "promotion_stack", "redemption"}},
	{[]string{"customer.publication.succeeded"}, []string{"customer", "campaign", "publication", "voucher"}},
	{[]string{"customer.rewarded"}, []string{"customer", "holder", "voucher", "campaign", "redemption", "reward",
		"referral_tier", "balance", "custom_event", "customer_event"}},
	{[]string{"customer.rewarded.loyalty_points"}, []string{"customer", "holder", "voucher", "campaign",
		"loyalty_tier", "earning_rule", "balance", "order", "event", "publication"}},
	{[]string{"customer.reward_redemptions.completed"}, []string{"customer", "holder", "voucher", "campaign",
		"reward_redemption", "reward", "reward_assignment", "source", "balance", "publication"}},
	{[]string{"customer.voucher.gift.balance_added"}, []string{"voucher", "balance", "campaign", "transaction"}},
	{[]string{"customer.voucher.loyalty_card.points_added", "customer.voucher.loyalty_card.pending_points.added",
		"customer.voucher.loyalty_card.pending_points.activated", "customer.voucher.loyalty_card.pending_points.canceled",
		"customer.voucher.loyalty_card.pending_points.updated"},
		[]string{"voucher", "balance", "campaign", "customer", "transaction"}},
	{[]string{"customer.voucher.loyalty_card.points_expired"}, []string{"voucher", "points", "campaign", "customer", "buckets", "transaction"}},
	{[]string{"customer.loyalty.tier.joined", "customer.loyalty.tier.left", "customer.loyalty.tier.prolonged"},
		[]string{"customer", "campaign", "loyalty_tier"}},
	{[]string{"customer.loyalty.tier.upgraded", "customer.loyalty.tier.downgraded"},
		[]string{"customer", "campaign", "loyalty_tier_from", "loyalty_tier_to"}},
	{[]string{"customer.referred"}, []string{"customer", "referrer", "campaign", "voucher"}},
}

// triggerObjects indexes triggerFamilies by event type.
var triggerObjects = func() map[string][]string {
	m := map[string][]string{}
	for _, f := range triggerFamilies {
		for _, t := range f.types {
			m[t] = f.objects
		}
	}
	return m
}()

// TriggerObjects returns the objects, in order, that `data` holds for an event type, or nil
// for a type without a documented list (then every object of the event is sent, by name).
func TriggerObjects(eventType string) []string { return triggerObjects[eventType] }

// MatchesPattern reports whether an event type matches a trigger pattern: an exact type,
// "*" for every type, or a prefix ending in ".*" such as "customer.order.*".
func MatchesPattern(pattern, eventType string) bool {
	if pattern == "*" || pattern == eventType {
		return true
	}
	prefix, ok := strings.CutSuffix(pattern, "*")
	return ok && strings.HasSuffix(prefix, ".") && strings.HasPrefix(eventType, prefix)
}
