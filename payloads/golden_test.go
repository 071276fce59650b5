package payloads

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// goldenCreatedAt is when every golden delivery was created.
var goldenCreatedAt = time.Date(2026, 1, 5, 10, 0, 1, 234_000_000, time.UTC)

// checkGolden compares got with the golden file testdata/<name>, which -update rewrites
// first, and returns the file's content without its final newline. Tests that read a
// golden (the docs) go through it too, so under -update they never see a stale file,
// whichever test runs first.
func checkGolden(t *testing.T, name string, got []byte) []byte {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(slices.Clip(got), '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./payloads -update to write it)", err)
	}
	want = bytes.TrimSuffix(want, []byte("\n"))
	if !bytes.Equal(got, want) {
		t.Errorf("rendering differs from %s\ngot:  %s\nwant: %s", path, got, want)
	}
	return want
}

// catalogueCase is one golden of the catalogue: a trigger, an action and a version.
type catalogueCase struct {
	trigger, action, version string
}

func (c catalogueCase) golden() string {
	return filepath.Join("catalogue", c.trigger+"."+c.action+"."+c.version+".json")
}

// target is the distribution of the sample payloads.
func (c catalogueCase) target() Target {
	return Target{
		ProjectID: "proj_sample", SourceID: "distr_sample", SourceObject: "distribution",
		URL:           "https://example.com/webhooks/hookflow",
		EventName:     strings.ReplaceAll(strings.TrimPrefix(c.trigger, "customer."), ".", "-"),
		Version:       c.version,
		ActionObjects: sampleActionObjects(c.action),
	}
}

func (c catalogueCase) render(t *testing.T) []byte {
	t.Helper()
	ev := SampleEvent(c.trigger)
	target := c.target()
	body, warnings, err := RenderWithWarnings(ev, target, DeliveryID(ev.ID, target.SourceID), goldenCreatedAt)
	if err != nil || len(warnings) > 0 {
		t.Fatalf("render: %v, warnings %v", err, warnings)
	}
	return body
}

// catalogueCases lists every trigger × version × action that the spec allows.
func catalogueCases() []catalogueCase {
	var cases []catalogueCase
	for _, trigger := range DistributionTriggers {
		for _, version := range []string{Version2024, Version2018} {
			for _, action := range Actions {
				if ActionAllowed(action, trigger) {
					cases = append(cases, catalogueCase{trigger, action, version})
				}
			}
		}
	}
	return cases
}

// sampleActionObjects are the objects a sample distribution's action adds: the promotion
// a notify_promotion distribution names, or the code a publish_code one publishes.
func sampleActionObjects(action string) []NamedObject {
	switch action {
	case ActionNotifyPromotion:
		return []NamedObject{
			{"campaign", json.RawMessage(`{"id":"camp_promo","name":"Spring promotions","type":"PROMOTION"}`)},
			{"promotion_tier", SampleObject("promotion_tier")},
		}
	case ActionPublishCode:
		return []NamedObject{
			{"campaign", SampleObject("campaign")},
			{"voucher", SampleObject("voucher")},
			{"publication", SampleObject("publication")},
		}
	}
	return nil
}

// wantDataKeys is the spec's list of `data` keys: the trigger's objects, then the action's
// that the trigger does not already send.
func wantDataKeys(trigger, action string) []string {
	keys := slices.Clone(TriggerObjects(trigger))
	for _, name := range ActionObjectNames(action) {
		if !slices.Contains(keys, name) {
			keys = append(keys, name)
		}
	}
	return keys
}

func TestCatalogueGolden(t *testing.T) {
	cases := catalogueCases()
	if len(cases) != 2*(len(DistributionTriggers)-1+2*8) {
		t.Errorf("%d cases: want every trigger but manual messages with plain_message and the 8 segment, order, custom event and manual triggers with both other actions, in 2 versions", len(cases))
	}
	for _, c := range cases {
		t.Run(c.trigger+"/"+c.action+"/"+c.version, func(t *testing.T) {
			got := c.render(t)
			checkGolden(t, c.golden(), got)
			var compacted bytes.Buffer
			if err := json.Compact(&compacted, got); err != nil || !bytes.Equal(compacted.Bytes(), got) {
				t.Errorf("body is not compact valid JSON: %v", err)
			}
			checkKeys(t, got, c.version, wantDataKeys(c.trigger, c.action))
			if c.version == Version2018 {
				alias := c.target()
				alias.Version = Version2018b
				ev := SampleEvent(c.trigger)
				if body, err := Render(ev, alias, DeliveryID(ev.ID, alias.SourceID), goldenCreatedAt); err != nil || !bytes.Equal(body, got) {
					t.Errorf("%s renders differently from %s: %v\n%s", Version2018b, Version2018, err, body)
				}
			}
		})
	}
}

// TestCatalogueGoldenFilesAreAllUsed keeps testdata/catalogue free of goldens of cases
// that no longer exist.
func TestCatalogueGoldenFilesAreAllUsed(t *testing.T) {
	want := map[string]bool{}
	for _, c := range catalogueCases() {
		want[filepath.Base(c.golden())] = true
	}
	entries, err := os.ReadDir(filepath.Join("testdata", "catalogue"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !want[e.Name()] {
			t.Errorf("testdata/catalogue/%s belongs to no case: delete it", e.Name())
		}
	}
}
