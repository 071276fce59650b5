package activities

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/hookflow/hookflow/payloads"
)

// TestDocTemplateOnPublishedCode: the template of docs/payloads.md ("Example of a
// template", payloads/testdata/template/designer.json) on the objects a publish_code
// delivery really gets fills every field from the published code, with the one warning the
// doc tells of (no metadata.gift_message), as the doc's example shows.
func TestDocTemplateOnPublishedCode(t *testing.T) {
	template, err := os.ReadFile(filepath.Join("..", "payloads", "testdata", "template", "designer.json"))
	if err != nil {
		t.Fatal(err)
	}
	a, st := newActivities(t)
	ctx := context.Background()
	if _, err := st.ImportCodes(ctx, "camp_1", []string{"SPRING-1"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	out, err := publish(ctx, a, input("evt_1", "cust_1"))
	if err != nil {
		t.Fatal(err)
	}
	ev := payloads.SampleEvent("customer.order.paid")
	target := payloads.Target{ProjectID: "proj_1", SourceID: "distr_1", SourceObject: "distribution",
		URL: "https://example.com/hooks", EventName: "order-paid", Version: payloads.Version2024, Template: string(template),
		ActionObjects: []payloads.NamedObject{{Name: "campaign", Value: out.Campaign}, {Name: "voucher", Value: out.Voucher}, {Name: "publication", Value: out.Publication}}}
	body, warnings, err := payloads.RenderWithWarnings(ev, target, payloads.DeliveryID(ev.ID, target.SourceID), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"template: {{order.metadata.gift_message}} has no value in this event; rendered as an empty string"}
	if !reflect.DeepEqual(warnings, want) {
		t.Errorf("warnings %q, want only the doc's %q", warnings, want)
	}
	var payload struct{ Data map[string]any }
	if err := json.Unmarshal(body, &payload); err != nil {
		t.Fatal(err)
	}
	if payload.Data["code"] != "SPRING-1" || payload.Data["campaign_id"] != "camp_1" {
		t.Errorf("the published code's fields: %s", body)
	}
}
