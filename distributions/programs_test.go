package distributions

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/payloads"
)

func TestProgramPresets(t *testing.T) {
	type made struct {
		notification, recipient string
		events                  []string
	}
	tests := []struct {
		name    string
		program string
		req     ProgramRequest
		want    []made
	}{
		{"loyalty, every notification", ProgramLoyalty, ProgramRequest{Campaign: "camp_loyal", URL: "https://example.com/hooks"}, []made{
			{"card-published", "", []string{"customer.publication.succeeded"}},
			{"points-added", "", []string{"customer.rewarded.loyalty_points", "customer.voucher.loyalty_card.points_added"}},
			{"reward-redeemed", "", []string{"customer.reward_redemptions.completed"}},
		}},
		{"loyalty, one notification", ProgramLoyalty, ProgramRequest{Campaign: "camp_loyal", URL: "https://example.com/hooks", Notify: []string{"points-added"}}, []made{
			{"points-added", "", []string{"customer.rewarded.loyalty_points", "customer.voucher.loyalty_card.points_added"}},
		}},
		{"referral, referrer by default", ProgramReferral, ProgramRequest{Campaign: "camp_ref", URL: "https://example.com/hooks"}, []made{
			{"code-published", "referrer", []string{"customer.publication.succeeded"}},
			{"referrer-rewarded", "referrer", []string{"customer.rewarded"}},
			{"referee-joined", "referrer", []string{"customer.referred"}},
		}},
		{"referral, both sides", ProgramReferral, ProgramRequest{Campaign: "camp_ref", URL: "https://example.com/hooks", Recipient: "both"}, []made{
			{"code-published", "referrer", []string{"customer.publication.succeeded"}},
			{"referrer-rewarded", "referrer", []string{"customer.rewarded"}},
			{"referee-joined", "referrer", []string{"customer.referred"}},
			{"referee-joined", "referee", []string{"customer.referred"}},
		}},
		{"referral, referee only", ProgramReferral, ProgramRequest{Campaign: "camp_ref", URL: "https://example.com/hooks", Recipient: "referee"}, []made{
			{"referee-joined", "referee", []string{"customer.referred"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds, err := tt.req.Build(tt.program)
			if err != nil {
				t.Fatal(err)
			}
			var got []made
			keys := map[string]bool{}
			for _, d := range ds {
				got = append(got, made{d.Labels[LabelNotification], d.Trigger.Recipient, d.Trigger.Events})
				if d.Labels[LabelProgram] != tt.program || d.Labels[LabelCampaign] != tt.req.Campaign || d.Trigger.Campaign != tt.req.Campaign {
					t.Errorf("%s: labels %v, trigger campaign %q", d.Name, d.Labels, d.Trigger.Campaign)
				}
				if d.Labels[LabelRecipient] != d.Trigger.Recipient {
					t.Errorf("%s: recipient label %q, trigger %q", d.Name, d.Labels[LabelRecipient], d.Trigger.Recipient)
				}
				if d.Status != StatusLive || d.Webhook.URL != tt.req.URL || d.Webhook.Version != payloads.DefaultVersion {
					t.Errorf("%s: status %q url %q version %q", d.Name, d.Status, d.Webhook.URL, d.Webhook.Version)
				}
				if !strings.HasPrefix(d.Name, strings.ToUpper(tt.program[:1])+tt.program[1:]+" "+tt.req.Campaign+": ") {
					t.Errorf("name %q does not say the program and campaign", d.Name)
				}
				key, ok := PresetKey(d)
				if !ok || keys[key] {
					t.Errorf("%s: preset key %q (ok %v) not unique", d.Name, key, ok)
				}
				keys[key] = true
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("made %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestProgramRequestProblems(t *testing.T) {
	tests := []struct {
		name, program string
		req           ProgramRequest
		field, msg    string
	}{
		{"unknown program", "cashback", ProgramRequest{Campaign: "c", URL: "https://example.com"}, "program", `"cashback" is not one of loyalty, referral`},
		{"no campaign", ProgramLoyalty, ProgramRequest{URL: "https://example.com"}, "campaign", "is required: the id of the loyalty campaign"},
		{"campaign with space", ProgramLoyalty, ProgramRequest{Campaign: "a b", URL: "https://example.com"}, "campaign", "must not contain whitespace or control characters"},
		{"no url", ProgramLoyalty, ProgramRequest{Campaign: "c"}, "url", "is required: where the notifications are sent"},
		{"url with credentials", ProgramLoyalty, ProgramRequest{Campaign: "c", URL: "https://u:p@example.com"}, "url", ""},
		{"unknown notification", ProgramLoyalty, ProgramRequest{Campaign: "c", URL: "https://example.com", Notify: []string{"points-added", "birthday"}}, "notify[1]", `"birthday" is not one of card-published, points-added, reward-redeemed`},
		{"notification twice", ProgramLoyalty, ProgramRequest{Campaign: "c", URL: "https://example.com", Notify: []string{"points-added", "points-added"}}, "notify[1]", `"points-added" is listed twice`},
		{"recipient on loyalty", ProgramLoyalty, ProgramRequest{Campaign: "c", URL: "https://example.com", Recipient: "referee"}, "recipient", "only referral programs have recipients"},
		{"bad recipient", ProgramReferral, ProgramRequest{Campaign: "c", URL: "https://example.com", Recipient: "friend"}, "recipient", `"friend" is not one of referrer, referee, both`},
		{"referee cannot get code-published", ProgramReferral, ProgramRequest{Campaign: "c", URL: "https://example.com", Recipient: "referee", Notify: []string{"code-published"}}, "notify[0]", "code-published goes to the referrer only, not the referee"},
		{"bad status", ProgramLoyalty, ProgramRequest{Campaign: "c", URL: "https://example.com", Status: "paused"}, "status", `"paused" is not one of live, draft`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.req.Build(tt.program)
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want a validation error", err)
			}
			for _, p := range ve.Problems {
				if p.Field == tt.field && (tt.msg == "" || p.Message == tt.msg) {
					return
				}
			}
			t.Errorf("problems %+v, want %s: %q", ve.Problems, tt.field, tt.msg)
		})
	}
}

func TestDecodeProgramRequestUnknownField(t *testing.T) {
	_, err := DecodeProgramRequest([]byte(`{"campaign":"c","url":"https://example.com","recipients":"both"}`))
	if err == nil || err.Error() != "recipients: unknown field; did you mean recipient?; known fields at this level: campaign, headers, notifications, notify, recipient, status, url, version" {
		t.Fatalf("err = %v", err)
	}
}

func TestProgramsGroups(t *testing.T) {
	loyal, _ := ProgramRequest{Campaign: "camp_b", URL: "https://example.com/a"}.Build(ProgramLoyalty)
	ref, _ := ProgramRequest{Campaign: "camp_a", URL: "https://example.com/b", Recipient: "both"}.Build(ProgramReferral)
	ds := append(append([]Distribution{{ID: "distr_plain", Name: "not a preset", Status: StatusLive}}, loyal...), ref...)
	for i := range ds {
		if ds[i].ID == "" {
			ds[i].ID = "distr_" + string(rune('a'+i))
		}
	}
	ds[1].Status = StatusPaused
	ps := Programs(ds)
	if len(ps) != 2 || ps[0].Program != ProgramLoyalty || ps[1].Program != ProgramReferral {
		t.Fatalf("programs %+v", ps)
	}
	if ps[0].Status != "mixed" || len(ps[0].Distributions) != 3 || ps[1].Status != StatusLive || len(ps[1].Distributions) != 4 {
		t.Errorf("loyalty %s with %d, referral %s with %d", ps[0].Status, len(ps[0].Distributions), ps[1].Status, len(ps[1].Distributions))
	}
}

func TestEventForRecipient(t *testing.T) {
	ev := payloads.Event{ID: "evt_1", Type: "customer.referred", Data: map[string]json.RawMessage{
		"customer": json.RawMessage(`{"id":"cust_referee"}`),
		"referrer": json.RawMessage(`{"id":"cust_referrer"}`),
	}}
	if got := (Trigger{Recipient: RecipientReferrer}).EventFor(ev); string(got.Data["customer"]) != `{"id":"cust_referrer"}` || string(got.Data["referrer"]) != `{"id":"cust_referrer"}` {
		t.Errorf("referrer recipient: customer %s", got.Data["customer"])
	}
	if string(ev.Data["customer"]) != `{"id":"cust_referee"}` {
		t.Errorf("EventFor changed the event it was given: %s", ev.Data["customer"])
	}
	for _, tr := range []Trigger{{Recipient: RecipientReferee}, {}} {
		if got := tr.EventFor(ev); string(got.Data["customer"]) != `{"id":"cust_referee"}` {
			t.Errorf("recipient %q: customer %s", tr.Recipient, got.Data["customer"])
		}
	}
	// Without a referrer object the customer stays: the event's customer is the referrer.
	pub := payloads.Event{Type: "customer.publication.succeeded", Data: map[string]json.RawMessage{"customer": json.RawMessage(`{"id":"cust_referrer"}`), "referrer": json.RawMessage(`null`)}}
	if got := (Trigger{Recipient: RecipientReferrer}).EventFor(pub); string(got.Data["customer"]) != `{"id":"cust_referrer"}` {
		t.Errorf("no referrer object: customer %s", got.Data["customer"])
	}
}

func TestValidateRecipientAndLabels(t *testing.T) {
	base := func() Distribution {
		d := Distribution{Name: "n", Trigger: Trigger{Events: []string{"customer.referred"}},
			Webhook: Webhook{EventName: "e", URL: "https://example.com/h"}}
		d.Normalize()
		return d
	}
	tests := []struct {
		name  string
		edit  func(*Distribution)
		field string
		msg   string
	}{
		{"unknown recipient", func(d *Distribution) { d.Trigger.Recipient = "friend" }, "trigger.recipient", `"friend" is not one of referrer, referee`},
		{"referee on an event without the referee", func(d *Distribution) {
			d.Trigger.Recipient = RecipientReferee
			d.Trigger.Events = []string{"customer.rewarded"}
		}, "trigger.events[0]", "customer.rewarded does not name the referee: recipient referee takes customer.referred and customer.order.* events"},
		{"label key with capitals", func(d *Distribution) { d.Labels = map[string]string{"Team": "x"} }, "labels.Team", "a label key is 1 to 63 lower-case letters, digits and . _ / - (starting and ending with a letter or digit)"},
		{"label value with a newline", func(d *Distribution) { d.Labels = map[string]string{"team": "a\nb"} }, "labels.team", "must not contain control characters"},
		{"label value too long", func(d *Distribution) { d.Labels = map[string]string{"team": strings.Repeat("x", 129)} }, "labels.team", "longer than 128 characters"},
		{"too many labels", func(d *Distribution) {
			d.Labels = map[string]string{}
			for i := 0; i <= MaxLabels; i++ {
				d.Labels[string(rune('a'+i))] = "v"
			}
		}, "labels", "at most 16 labels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := base()
			tt.edit(&d)
			var ve *ValidationError
			if err := d.Validate(); !errors.As(err, &ve) || len(ve.Problems) != 1 || ve.Problems[0] != (Problem{tt.field, tt.msg}) {
				t.Errorf("Validate() = %v, want %s: %s", d.Validate(), tt.field, tt.msg)
			}
		})
	}
	ok := base()
	ok.Trigger.Recipient = RecipientReferee
	ok.Trigger.Events = []string{"customer.referred", "customer.order.paid"}
	ok.Labels = map[string]string{"program": "referral", "team/owner": "growth"}
	if err := ok.Validate(); err != nil {
		t.Errorf("valid distribution refused: %v", err)
	}
}
