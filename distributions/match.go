package distributions

import (
	"sort"

	"github.com/hookflow/hookflow/payloads"
)

// SubscribesTo reports whether one of d's trigger patterns takes events of type eventType,
// whatever d's status.
func (d Distribution) SubscribesTo(eventType string) bool {
	for _, p := range d.Trigger.Events {
		if payloads.MatchesPattern(p, eventType) {
			return true
		}
	}
	return false
}

// Match splits the distributions that subscribe to ev's type into those that take it
// (live) and those that would have but are paused or draft (skipped). Both come back
// ordered by id, so the result does not depend on the input's order.
func Match(ev payloads.Event, candidates []Distribution) (matched, skipped []Distribution) {
	for _, d := range candidates {
		if !d.SubscribesTo(ev.Type) {
			continue
		}
		if d.Status == StatusLive {
			matched = append(matched, d)
		} else {
			skipped = append(skipped, d)
		}
	}
	byID := func(s []Distribution) {
		sort.Slice(s, func(i, j int) bool { return s[i].ID < s[j].ID })
	}
	byID(matched)
	byID(skipped)
	return matched, skipped
}
