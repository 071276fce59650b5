package payloads

import (
	"strconv"
	"strings"
)

// MessageEventID is the id of the event of customer seq of a message (manual or bulk): the
// same on every attempt, so a customer's delivery id, and webhook-id, is too. The '/' is
// never in the id of an event sent to the API (ParseEvent refuses it), so no event can take
// a customer's id.
func MessageEventID(messageID string, seq int) string { return messageID + "/" + strconv.Itoa(seq) }

// MessageGroupKey names the delivery of customers first to last (by seq, both included) of a
// message in one workflow (its id is event/<key>): the same for the same customers, so a
// group is started once. It is no event id: the '-' after the '/' tells it from one.
func MessageGroupKey(messageID string, first, last int) string {
	return messageID + "/" + strconv.Itoa(first) + "-" + strconv.Itoa(last)
}

// ParseMessageGroupKey reads a key of MessageGroupKey back, and the event ids of its
// customers; ok is false for any other string (an event id, a message's single customer).
func ParseMessageGroupKey(key string) (eventIDs []string, ok bool) {
	i := strings.LastIndexByte(key, '/')
	if i <= 0 {
		return nil, false
	}
	from, to, found := strings.Cut(key[i+1:], "-")
	first, err1 := strconv.Atoi(from)
	last, err2 := strconv.Atoi(to)
	if !found || err1 != nil || err2 != nil || first < 0 || last < first || last-first >= 10_000 ||
		strconv.Itoa(first) != from || strconv.Itoa(last) != to {
		return nil, false
	}
	for seq := first; seq <= last; seq++ {
		eventIDs = append(eventIDs, MessageEventID(key[:i], seq))
	}
	return eventIDs, true
}
