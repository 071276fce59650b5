package payloads

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func loadEvent(t *testing.T, name string) Event {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".event.json"))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := ParseEvent(b, time.Now(), func() string { return "evt_generated" })
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestRenderGolden(t *testing.T) {
	created := time.Date(2026, 1, 5, 10, 0, 1, 234_567_000, time.UTC)
	for _, event := range []string{"order_paid", "segment_entered"} {
		for _, version := range []string{Version2024, Version2018} {
			t.Run(event+"/"+version, func(t *testing.T) {
				ev := loadEvent(t, event)
				target := Target{
					ProjectID: "proj_test", SourceID: "distr_1", SourceObject: "distribution",
					URL: "https://example.com/hooks?a=1&b=2", EventName: "Label-1", Version: version,
				}
				got, err := Render(ev, target, DeliveryID(ev.ID, target.SourceID), created)
				if err != nil {
					t.Fatal(err)
				}
				golden := filepath.Join("testdata", event+"."+version+".golden.json")
				if *update {
					if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatal(err)
				}
				if want = bytes.TrimSuffix(want, []byte("\n")); !bytes.Equal(got, want) {
					t.Errorf("render differs from %s\ngot:  %s\nwant: %s", golden, got, want)
				}
				var compacted bytes.Buffer
				if err := json.Compact(&compacted, got); err != nil || !bytes.Equal(compacted.Bytes(), got) {
					t.Errorf("body is not compact valid JSON: %v", err)
				}
				checkKeys(t, got, version, TriggerObjects(ev.Type))
			})
		}
	}
}

// checkKeys checks the envelope's keys, in order, against the spec's tables; dataKeys are
// the keys `data` must have (`data.object` in the legacy version).
func checkKeys(t *testing.T, body []byte, version string, dataKeys []string) {
	t.Helper()
	top := orderedKeys(t, body)
	var env map[string]json.RawMessage
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatal(err)
	}
	data := env["data"]
	if version == Version2024 {
		want := []string{"id", "project_id", "created_at", "type", "data", "source", "event"}
		if !reflect.DeepEqual(top, want) {
			t.Errorf("v2024 keys = %v, want %v", top, want)
		}
		if got, want := orderedKeys(t, env["event"]), []string{"id", "type", "created_at", "entity_id", "group_id", "event_source"}; !reflect.DeepEqual(got, want) {
			t.Errorf("event keys = %v, want %v", got, want)
		}
		if got, want := orderedKeys(t, env["source"]), []string{"id", "object", "target_url"}; !reflect.DeepEqual(got, want) {
			t.Errorf("source keys = %v, want %v", got, want)
		}
	} else {
		want := []string{"id", "object", "webhook_id", "project_id", "created_at", "type", "data", "metadata"}
		if !reflect.DeepEqual(top, want) {
			t.Errorf("legacy keys = %v, want %v", top, want)
		}
		if got, want := orderedKeys(t, data), []string{"object", "related_object"}; !reflect.DeepEqual(got, want) {
			t.Errorf("legacy data keys = %v, want %v", got, want)
		}
		if got, want := orderedKeys(t, env["metadata"]), []string{"source"}; !reflect.DeepEqual(got, want) {
			t.Errorf("legacy metadata keys = %v, want %v", got, want)
		}
		var d map[string]json.RawMessage
		if err := json.Unmarshal(data, &d); err != nil {
			t.Fatal(err)
		}
		if got, want := orderedKeys(t, d["related_object"]), []string{"id", "type", "data", "created_at", "group_id"}; !reflect.DeepEqual(got, want) {
			t.Errorf("legacy related_object keys = %v, want %v", got, want)
		}
		data = d["object"]
	}
	if got, want := orderedKeys(t, data), dataKeys; !reflect.DeepEqual(got, want) {
		t.Errorf("data keys = %v, want the spec's %v", got, want)
	}
	var created struct {
		CreatedAt string `json:"created_at"`
	}
	_ = json.Unmarshal(body, &created)
	if _, err := time.Parse(TimeFormat, created.CreatedAt); err != nil || !strings.HasSuffix(created.CreatedAt, "Z") {
		t.Errorf("created_at %q is not UTC with milliseconds and Z", created.CreatedAt)
	}
}

func orderedKeys(t *testing.T, obj []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(obj))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %s", obj)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func TestDeliveryIDStable(t *testing.T) {
	a := DeliveryID("evt_1", "distr_1")
	if a != DeliveryID("evt_1", "distr_1") || !strings.HasPrefix(a, "whs_") || len(a) != 36 {
		t.Errorf("DeliveryID = %q", a)
	}
	for _, other := range []string{DeliveryID("evt_1", "distr_2"), DeliveryID("evt_2", "distr_1"), DeliveryID("evt_1d", "istr_1")} {
		if other == a {
			t.Errorf("different pairs share the id %s", a)
		}
	}
}

func TestRenderUnknownVersion(t *testing.T) {
	if _, err := Render(Event{ID: "e", Type: "customer.order.paid"}, Target{Version: "v1999"}, "whs_1", time.Now()); err == nil {
		t.Error("an unknown version rendered")
	}
}

// FuzzAppendJSONString checks the envelope's string writer against encoding/json without
// HTML escaping, byte for byte; its seeds run with every go test.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{
		"", "plain", `quote " and backslash \`, "a<b & c>d", "\b\f\n\r\t\x00\x01\x1f\x7f",
		"é ü 漢字 🙂", "\u2028\u2029", "bad \xff\xfe utf-8 \xe2\x80", "\xe2\x80\xa8 at the start",
		"https://example.com/hooks?a=1&b=2",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		if got := appendJSONString([]byte("x"), s); string(got) != "x"+strings.TrimSuffix(want.String(), "\n") {
			t.Errorf("appendJSONString(%q) = %s, want %s", s, got[1:], want.Bytes())
		}
	})
}

// TestRenderMatchesEndToEndGolden renders the event of the end-to-end test into its golden
// (../e2e/testdata), whose ids are placeholders, so that a change of the plain v2024 body shows
// here, in a second, rather than only in the end-to-end run.
func TestRenderMatchesEndToEndGolden(t *testing.T) {
	event, err := os.ReadFile(filepath.Join("..", "e2e", "testdata", "e2e_order_paid.event.json"))
	if err != nil {
		t.Fatal(err)
	}
	golden, err := os.ReadFile(filepath.Join("..", "e2e", "testdata", "e2e_order_paid.v2024-01-01.golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := ParseEvent(event, time.Now(), func() string { return "unused" })
	if err != nil {
		t.Fatal(err)
	}
	target := Target{
		ProjectID: "{{PROJECT_ID}}", SourceID: "{{DISTRIBUTION_ID}}", SourceObject: "distribution",
		URL: "{{URL}}", EventName: "Order-paid", Version: Version2024,
	}
	got, err := Render(ev, target, "{{DELIVERY_ID}}", goldenCreatedAt)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.ReplaceAll(strings.TrimSuffix(string(golden), "\n"), "{{CREATED_AT}}", FormatTime(goldenCreatedAt))
	if string(got) != want {
		t.Errorf("render differs from the end-to-end golden\ngot:  %s\nwant: %s", got, want)
	}
}
