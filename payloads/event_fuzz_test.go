package payloads

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// FuzzParseEvent parses any body as an event. It must never panic; a refusal is a
// *FieldError; an accepted event has a valid id and type and JSON objects, renders to
// valid JSON in every payload version, and parses back from its own JSON unchanged. Its
// seeds, and any failing input the fuzzer saves in testdata/fuzz/FuzzParseEvent, run with
// every go test.
func FuzzParseEvent(f *testing.F) {
	for _, name := range []string{"order_paid.event.json", "segment_entered.event.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		`{"type":"customer.order.paid","data":{}}`,
		`{"id":"evt_1","type":"customer.order.paid","created_at":"2026-01-05T10:00:00.5+02:00","entity_id":"","group_id":"g","source":{"channel":"USER_PORTAL","user":{"id":"u"}},"data":{"order":{"id":"o","amount":1e999999},"customer":null}}`,
		`{"type":"customer.order.paid","data":{"order":{"a":"\u2028\u0000\"}\\"},"<b>":{"x":[1,{"y":null}]}}}`,
		`{"type":"customer.order.paid","data":{"order":{"id":1},"order":{"id":2}}}`,
		`{"type":"customer.order.paid","source":null,"data":{"o":{}}}`,
		`{"type":"customer.order.paid","data":{"o":{}}} {}`,
		`{"type":"customer.order.paid","data":{"o":[1]}}`,
		`{"type":"customer.order.paid","data":{"o":{"a":1}},"id":"a/../b"}`,
		`{"type":"customer.order.paid","data":{"o":{"k":"` + "\xff" + `"}}}`,
		`[]`, `null`, `"x"`, ``, `{`, `{"type":7}`,
	} {
		f.Add([]byte(s))
	}
	now := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	newID := func() string { return "evt_generated" }
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := ParseEvent(body, now, newID)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Message == "" {
				t.Fatalf("error %v (%T) is not a *FieldError with a message", err, err)
			}
			return
		}
		if ev.ID == "" || len(ev.ID) > MaxEventIDLength || !eventIDPattern.MatchString(ev.ID) {
			t.Errorf("accepted id %q", ev.ID)
		}
		if !IsEventType(ev.Type) {
			t.Errorf("accepted type %q", ev.Type)
		}
		if ev.CreatedAt.Location() != time.UTC {
			t.Errorf("created_at %v is not UTC", ev.CreatedAt)
		}
		if !json.Valid(ev.Source) || ev.Data == nil {
			t.Errorf("source %q, data %v", ev.Source, ev.Data)
		}
		for name, obj := range ev.Data {
			if !json.Valid(obj) {
				t.Errorf("data.%s = %q is not JSON", name, obj)
			}
		}
		for _, version := range []string{Version2024, Version2018} {
			target := Target{ProjectID: "proj_1", SourceID: "distr_1", SourceObject: "distribution",
				URL: "https://example.com/h", EventName: "Order-paid", Version: version,
				ActionObjects: []NamedObject{{"campaign", SampleObject("campaign")}}}
			out, err := Render(ev, target, DeliveryID(ev.ID, "distr_1"), now)
			if err != nil {
				t.Fatalf("%s: an accepted event does not render: %v", version, err)
			}
			var envelope map[string]json.RawMessage // raw: a huge number is JSON, not a float64
			if err := json.Unmarshal(out, &envelope); err != nil || envelope["data"] == nil {
				t.Fatalf("%s: rendered %s: %v", version, out, err)
			}
		}
		var again bytes.Buffer
		enc := json.NewEncoder(&again)
		enc.SetEscapeHTML(false) // keep "<" as it came, so that the objects compare as bytes
		if err := enc.Encode(ev); err != nil {
			t.Fatal(err)
		}
		back, err := ParseEvent(again.Bytes(), now.Add(time.Hour), func() string { return "evt_other" })
		if err != nil {
			t.Fatalf("the event's own JSON %s does not parse: %v", again.Bytes(), err)
		}
		if !reflect.DeepEqual(back, ev) {
			t.Errorf("parsed back differently:\n%+v\n%+v", ev, back)
		}
	})
}
