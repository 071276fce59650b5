package distributions

import (
	"encoding/json"
	"sort"
	"time"

	"github.com/hookflow/hookflow/payloads"
)

// SubscribesTo reports whether d takes events of type eventType, whatever its status and
// conditions: one of its patterns covers the type and its action is allowed for it.
func (d Distribution) SubscribesTo(eventType string) bool {
	if !payloads.ActionAllowed(d.Action.Type, eventType) {
		return false
	}
	for _, p := range d.Trigger.Events {
		if payloads.MatchesPattern(p, eventType) {
			return true
		}
	}
	return false
}

// Decision is what matching an event against the candidates found. Each list is ordered
// by id, so the result does not depend on the candidates' order.
type Decision struct {
	Matched []Distribution
	// Skipped would have matched but are paused or drafts.
	Skipped []Skip
	// FilterErrors are distributions whose filter failed to evaluate: no match.
	FilterErrors []Skip
}

// Skip names a distribution that did not take an event, and why.
type Skip struct {
	DistributionID string `json:"distribution_id"`
	// EventID is the event skipped, set by a workflow that delivers many.
	EventID string `json:"event_id,omitempty"`
	Reason  string `json:"reason"`
}

// Match decides which candidates take ev at time at: those that subscribe to its type, whose
// conditions hold (campaign, segment, loyalty tier, live window, filter), and that are live.
func Match(ev payloads.Event, candidates []Distribution, at time.Time) Decision {
	var dec Decision
	facts := factsOf(ev)
	for _, d := range candidates {
		if !d.SubscribesTo(ev.Type) || !d.Trigger.conditionsHold(facts, at) {
			continue
		}
		if d.Trigger.Filter != "" {
			ok, err := EvalFilter(d.Trigger.Filter, ev)
			if err != nil {
				dec.FilterErrors = append(dec.FilterErrors, Skip{DistributionID: d.ID, Reason: "filter: " + err.Error()})
				continue
			}
			if !ok {
				continue
			}
		}
		if d.Status != StatusLive {
			dec.Skipped = append(dec.Skipped, Skip{DistributionID: d.ID, Reason: d.Status})
			continue
		}
		dec.Matched = append(dec.Matched, d)
	}
	sortByID(dec.Matched, func(d Distribution) string { return d.ID })
	sortByID(dec.Skipped, func(s Skip) string { return s.DistributionID })
	sortByID(dec.FilterErrors, func(s Skip) string { return s.DistributionID })
	return dec
}

// facts are the ids an event concerns, read once per event.
type facts struct {
	campaigns, segments, tiers map[string]bool
}

func factsOf(ev payloads.Event) facts {
	f := facts{campaigns: map[string]bool{}, segments: map[string]bool{}, tiers: map[string]bool{}}
	add := func(set map[string]bool, id string) {
		if id != "" {
			set[id] = true
		}
	}
	add(f.campaigns, objectID(ev.Data["campaign"]))
	add(f.campaigns, stringField(ev.Data["voucher"], "campaign_id"))
	add(f.segments, objectID(ev.Data["segment"]))
	add(f.tiers, objectID(ev.Data["loyalty_tier"]))
	add(f.tiers, objectID(ev.Data["loyalty_tier_to"]))
	// A customer's segments, as ids or as objects with ids.
	var customer struct {
		Segments []json.RawMessage `json:"segments"`
	}
	if json.Unmarshal(ev.Data["customer"], &customer) == nil {
		for _, s := range customer.Segments {
			var id string
			if json.Unmarshal(s, &id) != nil {
				id = objectID(s)
			}
			add(f.segments, id)
		}
	}
	return f
}

func (t Trigger) conditionsHold(f facts, at time.Time) bool {
	if t.Campaign != "" && !f.campaigns[t.Campaign] {
		return false
	}
	if t.Segment != "" && !f.segments[t.Segment] {
		return false
	}
	if t.LoyaltyTier != "" && !f.tiers[t.LoyaltyTier] {
		return false
	}
	if t.LiveFrom != nil && at.Before(*t.LiveFrom) {
		return false
	}
	if t.LiveUntil != nil && !at.Before(*t.LiveUntil) {
		return false
	}
	return true
}

func objectID(raw json.RawMessage) string { return stringField(raw, "id") }

func stringField(raw json.RawMessage, name string) string {
	if len(raw) == 0 {
		return ""
	}
	var o map[string]json.RawMessage
	if json.Unmarshal(raw, &o) != nil {
		return ""
	}
	var s string
	_ = json.Unmarshal(o[name], &s)
	return s
}

func sortByID[T any](s []T, id func(T) string) {
	sort.Slice(s, func(i, j int) bool { return id(s[i]) < id(s[j]) })
}
