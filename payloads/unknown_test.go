package payloads

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

type unknownInner struct {
	Name string `json:"name"`
}

type unknownDoc struct {
	Trigger struct {
		Events []string `json:"events"`
	} `json:"trigger"`
	Headers []unknownInner          `json:"headers"`
	ByKey   map[string]unknownInner `json:"by_key"`
	Raw     json.RawMessage         `json:"raw"`
	When    *time.Time              `json:"when"`
	Free    map[string]any          `json:"free"`
	unknownEmbedded
}

type unknownEmbedded struct {
	Labels map[string]string `json:"labels"`
}

// TestFieldProblems: every unknown key is named with its parents, nested ones too, and
// nothing is named inside values that read themselves or free maps.
func TestFieldProblems(t *testing.T) {
	body := `{"trigger":{"events":[],"event":"x"},"headers":[{"name":"a"},{"nme":"b"}],
		"by_key":{"k":{"name":"c","colour":1}},"raw":{"anything":1},"when":"2026-01-01T00:00:00Z",
		"free":{"any":{"thing":1}},"labels":{"a":"b"},"TRIGGER":{"Events":[]},"extra":true}`
	var got []string
	for _, u := range FieldProblems([]byte(body), unknownDoc{}) {
		got = append(got, u.Path)
	}
	want := []string{"by_key.k.colour", "extra", "headers[1].nme", "trigger.event"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("FieldProblems = %q, want %q", got, want)
	}
	if u := FieldProblems([]byte(`{"trigger":{"event":1}}`), &unknownDoc{}); len(u) != 1 || u[0].Key != "event" || !reflect.DeepEqual(u[0].Known, []string{"events"}) {
		t.Errorf("through a pointer: %+v", u)
	}
	if u := FieldProblems([]byte(`{"trigger":`), unknownDoc{}); u != nil {
		t.Errorf("malformed JSON: %+v, want none (the decoder reports it)", u)
	}
}

func TestNearest(t *testing.T) {
	for _, tc := range []struct {
		word string
		want []string
	}{
		{"customer.order.payed", []string{"customer.order.paid"}},
		{"customer.referal", []string{"customer.referred"}},
		{"loyal", []string{"loyalty"}},
		{"zzzz", nil},
	} {
		got := Nearest(tc.word, append(DistributionTriggers, "loyalty", "referral"), 1)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Nearest(%q) = %q, want %q", tc.word, got, tc.want)
		}
	}
}

// TestParseEventFieldProblems: every unknown key of an event is named in one error, with
// the fields an event has.
func TestParseEventFieldProblems(t *testing.T) {
	_, err := ParseEvent([]byte(`{"type":"customer.order.paid","data":{},"extra":1,"entityid":"e"}`), time.Now(), func() string { return "evt_1" })
	fe, ok := err.(*FieldError)
	want := "unknown fields entityid, extra; an event has created_at, data, entity_id, group_id, id, source, type"
	if !ok || fe.Field != "entityid" || fe.Message != want {
		t.Errorf("err = %v, want entityid: %s", err, want)
	}
}
