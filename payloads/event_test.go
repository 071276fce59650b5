package payloads

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseEventDefaults(t *testing.T) {
	now := time.Date(2026, 2, 3, 4, 5, 6, 0, time.FixedZone("x", 3600))
	ev, err := ParseEvent([]byte(`{"type":"customer.order.paid","data":{"order":{ "id" : "o1" }}}`), now, func() string { return "evt_new" })
	if err != nil {
		t.Fatal(err)
	}
	if ev.ID != "evt_new" || !ev.CreatedAt.Equal(now) || ev.CreatedAt.Location() != time.UTC {
		t.Errorf("defaults: id %q created_at %v", ev.ID, ev.CreatedAt)
	}
	if string(ev.Source) != `{"channel":"API"}` {
		t.Errorf("source = %s", ev.Source)
	}
	if string(ev.Data["order"]) != `{"id":"o1"}` {
		t.Errorf("data.order not compacted: %s", ev.Data["order"])
	}
}

func TestParseEventErrors(t *testing.T) {
	tests := []struct {
		name, body, field, msg string
	}{
		{"empty", ``, "", "empty body"},
		{"not json", `{"type":`, "", "invalid JSON"},
		{"array", `[1,2]`, "", "JSON object"},
		{"trailing", `{"type":"customer.order.paid","data":{}} {}`, "", "data after"},
		{"missing type", `{"data":{}}`, "type", "required"},
		{"unknown type", `{"type":"order.exploded","data":{}}`, "type", "unknown event type"},
		{"type not string", `{"type":42,"data":{}}`, "type", "must be a string"},
		{"missing data", `{"type":"customer.order.paid"}`, "data", "required"},
		{"data not object", `{"type":"customer.order.paid","data":[1]}`, "data", "must be an object"},
		{"object not object", `{"type":"customer.order.paid","data":{"order":5}}`, "data.order", "object or null"},
		{"unknown field", `{"type":"customer.order.paid","data":{},"colour":"red"}`, "colour", "unknown field"},
		{"bad id", `{"id":"../x","type":"customer.order.paid","data":{}}`, "id", "may hold only"},
		{"long id", `{"id":"` + strings.Repeat("a", 129) + `","type":"customer.order.paid","data":{}}`, "id", "longer"},
		{"bad created_at", `{"type":"customer.order.paid","created_at":"yesterday","data":{}}`, "created_at", "RFC 3339"},
		{"bad channel", `{"type":"customer.order.paid","source":{"channel":"FAX"},"data":{}}`, "source.channel", "not one of"},
		{"source without channel", `{"type":"customer.order.paid","source":{},"data":{}}`, "source.channel", "required"},
		{"long entity", `{"type":"customer.order.paid","entity_id":"` + strings.Repeat("e", 257) + `","data":{}}`, "entity_id", "longer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseEvent([]byte(tt.body), time.Now(), func() string { return "evt_x" })
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a FieldError", err)
			}
			if fe.Field != tt.field || !strings.Contains(fe.Message, tt.msg) {
				t.Errorf("err = field %q message %q; want field %q message containing %q", fe.Field, fe.Message, tt.field, tt.msg)
			}
		})
	}
}

func TestClassifyStatus(t *testing.T) {
	tests := map[int]Outcome{
		200: Delivered, 204: Delivered, 299: Delivered,
		301: Retryable, 302: Retryable, 308: Retryable,
		400: Rejected, 401: Rejected, 404: Rejected, 422: Rejected,
		408: Retryable, 409: Retryable, 425: Retryable, 429: Retryable,
		410: Gone,
		500: Retryable, 502: Retryable, 503: Retryable, 599: Retryable,
	}
	for code, want := range tests {
		if got := ClassifyStatus(code); got != want {
			t.Errorf("ClassifyStatus(%d) = %s, want %s", code, got, want)
		}
	}
}

func TestMatchesPattern(t *testing.T) {
	tests := []struct {
		pattern, typ string
		want         bool
	}{
		{"customer.order.paid", "customer.order.paid", true},
		{"customer.order.paid", "customer.order.created", false},
		{"customer.order.*", "customer.order.paid", true},
		{"customer.order.*", "customer.orders.paid", false},
		{"customer.*", "customer.loyalty.tier.joined", true},
		{"*", "customer.referred", true},
		{"customer.order*", "customer.order.paid", false},
	}
	for _, tt := range tests {
		if got := MatchesPattern(tt.pattern, tt.typ); got != tt.want {
			t.Errorf("MatchesPattern(%q, %q) = %v", tt.pattern, tt.typ, got)
		}
	}
}
