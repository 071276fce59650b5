package deliverylog

import (
	"strings"
	"testing"
	"time"
)

func TestEventFilterQuery(t *testing.T) {
	at := time.Date(2026, 11, 27, 8, 0, 0, 500, time.FixedZone("CET", 3600))
	tests := []struct {
		name    string
		filter  EventFilter
		want    string // the query, or the start of the error
		wantErr bool
	}{
		{"all", EventFilter{}, "WorkflowType = 'Delivery'", false},
		{"every field", EventFilter{Status: "failed", DistributionID: "distr_1", EventType: "customer.order.paid", Since: at, Until: at.Add(time.Hour)},
			"HookflowStatus = 'failed' AND HookflowDistributions = 'distr_1' AND HookflowEventType = 'customer.order.paid' AND " +
				"StartTime >= '2026-11-27T07:00:00.0000005Z' AND StartTime < '2026-11-27T08:00:00.0000005Z' AND WorkflowType = 'Delivery'", false},
		{"since only", EventFilter{Since: at}, "StartTime >= '2026-11-27T07:00:00.0000005Z' AND WorkflowType = 'Delivery'", false},
		{"event", EventFilter{EventID: "evt_1"}, "WorkflowId = 'event/evt_1' AND WorkflowType = 'Delivery'", false},
		{"quote in event", EventFilter{EventID: "evt' OR '1'='1"}, "event:", true},
		{"status", EventFilter{Status: "lost"}, "status:", true},
		{"throttled", EventFilter{Status: "throttled"}, "HookflowStatus = 'throttled' AND WorkflowType = 'Delivery'", false},
		{"quote in distribution", EventFilter{DistributionID: "d' OR '1'='1"}, "distribution:", true},
		{"event type", EventFilter{EventType: "order.paid') OR ("}, "event_type:", true},
		{"empty window", EventFilter{Since: at, Until: at}, "until:", true},
		{"reversed window", EventFilter{Since: at.Add(time.Second), Until: at}, "until:", true},
		{"token not base64", EventFilter{PageToken: "a token"}, "page_token:", true},
		{"token without checksum", EventFilter{PageToken: "eyJ0IjoxfQ"}, "page_token:", true},
		{"token too long", EventFilter{PageToken: encodePageToken(make([]byte, 2000))}, "page_token:", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := tt.filter.Query()
			switch {
			case tt.wantErr && (err == nil || !strings.HasPrefix(err.Error(), tt.want)):
				t.Errorf("Query() = %q, %v; want an error starting %q", q, err, tt.want)
			case !tt.wantErr && (err != nil || q != tt.want):
				t.Errorf("Query() = %q, %v; want %q", q, err, tt.want)
			}
		})
	}
}

// TestPageToken: a token reads back as the visibility store's token, and any change to it
// is refused before it reaches the store.
func TestPageToken(t *testing.T) {
	store := []byte(`{"CloseTime":"2026-11-27T08:00:00Z","StartTime":"2026-11-27T07:59:59Z","RunID":"9f0c"}`)
	token := encodePageToken(store)
	got, err := EventFilter{PageToken: token}.pageToken()
	if err != nil || string(got) != string(store) {
		t.Fatalf("pageToken() = %q, %v; want %q", got, err, store)
	}
	for i := range token {
		changed := []byte(token)
		changed[i] ^= 1
		if b, err := (EventFilter{PageToken: string(changed)}).pageToken(); err == nil {
			t.Errorf("token changed at %d reads as %q", i, b)
		}
	}
	if b, err := (EventFilter{}).pageToken(); b != nil || err != nil {
		t.Errorf("no token: %q, %v", b, err)
	}
}
