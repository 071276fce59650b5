package distributions

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/payloads"
)

func event(typ string, data map[string]string) payloads.Event {
	ev := payloads.Event{ID: "evt_1", Type: typ, CreatedAt: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC),
		Source: json.RawMessage(`{"channel":"API"}`), Data: map[string]json.RawMessage{}}
	for k, v := range data {
		ev.Data[k] = json.RawMessage(v)
	}
	return ev
}

func TestMatchConditions(t *testing.T) {
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	before, after := at.Add(-time.Hour), at.Add(time.Hour)
	order := event("customer.order.paid", map[string]string{
		"customer": `{"id":"cust_1","segments":["seg_vip",{"id":"seg_new"}]}`,
		"order":    `{"id":"ord_1","amount":12000,"status":"PAID","metadata":{"channel":"web"}}`,
		"campaign": `{"id":"camp_1"}`,
	})
	tierUp := event("customer.loyalty.tier.upgraded", map[string]string{
		"customer": `{"id":"cust_1"}`, "loyalty_tier_to": `{"id":"tier_gold"}`, "campaign": `{"id":"camp_loyal"}`,
	})
	redemption := event("customer.redemption.succeeded", map[string]string{"voucher": `{"code":"X","campaign_id":"camp_2"}`})
	segment := event("customer.segment.entered", map[string]string{"segment": `{"id":"seg_x"}`, "customer": `{"id":"c"}`})

	tests := []struct {
		name    string
		trigger Trigger
		action  string
		status  string
		ev      payloads.Event
		want    string // matched, skipped, none, error
	}{
		{"exact type", Trigger{Events: []string{"customer.order.paid"}}, "", "", order, "matched"},
		{"other type", Trigger{Events: []string{"customer.order.created"}}, "", "", order, "none"},
		{"wildcard", Trigger{Events: []string{"customer.order.*"}}, "", "", order, "matched"},
		{"star", Trigger{Events: []string{"*"}}, "", "", order, "matched"},
		{"wildcard of another family", Trigger{Events: []string{"customer.segment.*"}}, "", "", order, "none"},
		{"action not allowed for the type", Trigger{Events: []string{"*"}}, ActionPlainMessage, "", event("manual_distribution_schedule", nil), "none"},
		{"campaign", Trigger{Events: []string{"*"}, Campaign: "camp_1"}, "", "", order, "matched"},
		{"other campaign", Trigger{Events: []string{"*"}, Campaign: "camp_9"}, "", "", order, "none"},
		{"campaign from the voucher", Trigger{Events: []string{"*"}, Campaign: "camp_2"}, "", "", redemption, "matched"},
		{"segment of the customer", Trigger{Events: []string{"*"}, Segment: "seg_vip"}, "", "", order, "matched"},
		{"segment object of the customer", Trigger{Events: []string{"*"}, Segment: "seg_new"}, "", "", order, "matched"},
		{"segment of the event", Trigger{Events: []string{"*"}, Segment: "seg_x"}, "", "", segment, "matched"},
		{"other segment", Trigger{Events: []string{"*"}, Segment: "seg_no"}, "", "", order, "none"},
		{"loyalty tier", Trigger{Events: []string{"*"}, LoyaltyTier: "tier_gold"}, "", "", tierUp, "matched"},
		{"other loyalty tier", Trigger{Events: []string{"*"}, LoyaltyTier: "tier_bronze"}, "", "", tierUp, "none"},
		{"filter true", Trigger{Events: []string{"*"}, Filter: `data.order.amount >= 10000 && "seg_vip" in data.customer.segments`}, "", "", order, "matched"},
		{"filter false", Trigger{Events: []string{"*"}, Filter: `data.order.amount >= 20000`}, "", "", order, "none"},
		{"filter on nested and event fields", Trigger{Events: []string{"*"}, Filter: `data.order.metadata.channel == "web" && event_type.startsWith("customer.order.") && source.channel == "API"`}, "", "", order, "matched"},
		{"filter on a missing field errors", Trigger{Events: []string{"*"}, Filter: `data.referrer.id == "x"`}, "", "", order, "error"},
		{"filter over the cost limit errors", Trigger{Events: []string{"*"}, Filter: `[1,2,3,4,5,6,7,8,9,10].all(a, [1,2,3,4,5,6,7,8,9,10].all(b, [1,2,3,4,5,6,7,8,9,10].all(c, [1,2,3,4,5,6,7,8,9,10].all(d, [1,2,3,4,5,6,7,8,9,10].all(e, a+b+c+d+e > 0)))))`}, "", "", order, "error"},
		{"inside the live window", Trigger{Events: []string{"*"}, LiveFrom: &before, LiveUntil: &after}, "", "", order, "matched"},
		{"before the live window", Trigger{Events: []string{"*"}, LiveFrom: &after}, "", "", order, "none"},
		{"after the live window", Trigger{Events: []string{"*"}, LiveUntil: &at}, "", "", order, "none"},
		{"paused and matching", Trigger{Events: []string{"*"}}, "", StatusPaused, order, "skipped"},
		{"paused and not matching", Trigger{Events: []string{"*"}, Campaign: "camp_9"}, "", StatusPaused, order, "none"},
		{"draft", Trigger{Events: []string{"*"}}, "", StatusDraft, order, "skipped"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Distribution{ID: "distr_1", Status: StatusLive, Trigger: tt.trigger, Action: Action{Type: ActionPlainMessage}}
			if tt.action != "" {
				d.Action.Type = tt.action
			}
			if tt.status != "" {
				d.Status = tt.status
			}
			dec := Match(tt.ev, []Distribution{d}, at)
			got := "none"
			switch {
			case len(dec.Matched) == 1:
				got = "matched"
			case len(dec.Skipped) == 1:
				got = "skipped"
			case len(dec.FilterErrors) == 1:
				got = "error"
				if !strings.HasPrefix(dec.FilterErrors[0].Reason, "filter: ") {
					t.Errorf("reason %q", dec.FilterErrors[0].Reason)
				}
			}
			if got != tt.want {
				t.Errorf("got %s, want %s (%+v)", got, tt.want, dec)
			}
		})
	}
}

func TestValidationProblems(t *testing.T) {
	base := func() Distribution {
		d := Distribution{Name: "n", Trigger: Trigger{Events: []string{"customer.order.paid"}},
			Webhook: Webhook{EventName: "e", URL: "https://example.com/h"}}
		d.Normalize()
		return d
	}
	t1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		change func(d *Distribution)
		field  string
		msg    string
	}{
		{"bad CEL", func(d *Distribution) { d.Trigger.Filter = "data.order.amount >=" }, "trigger.filter", "does not compile"},
		{"CEL not a bool", func(d *Distribution) { d.Trigger.Filter = `"text"` }, "trigger.filter", "bool"},
		{"window ends before it starts", func(d *Distribution) { d.Trigger.LiveFrom, d.Trigger.LiveUntil = &t1, &t1 }, "trigger.live_until", "after"},
		{"campaign with space", func(d *Distribution) { d.Trigger.Campaign = "camp 1" }, "trigger.campaign", "whitespace"},
		{"plain message for manual", func(d *Distribution) { d.Trigger.Events = []string{"manual_distribution_schedule"} }, "trigger.events[0]", "not allowed"},
		{"promotion for loyalty", func(d *Distribution) {
			d.Trigger.Events = []string{"customer.rewarded"}
			d.Action = Action{Type: ActionNotifyPromotion, Campaign: json.RawMessage(`{"id":"c"}`), PromotionTier: json.RawMessage(`{"id":"p"}`)}
		}, "trigger.events[0]", "not allowed"},
		{"promotion without tier", func(d *Distribution) {
			d.Action = Action{Type: ActionNotifyPromotion, Campaign: json.RawMessage(`{"id":"c"}`)}
		}, "action.promotion_tier", "required"},
		{"promotion campaign without id", func(d *Distribution) {
			d.Action = Action{Type: ActionNotifyPromotion, Campaign: json.RawMessage(`{"name":"c"}`), PromotionTier: json.RawMessage(`{"id":"p"}`)}
		}, "action.campaign", "id"},
		{"plain message with a campaign", func(d *Distribution) { d.Action.Campaign = json.RawMessage(`{"id":"c"}`) }, "action", "no campaign"},
		{"header with capitals", func(d *Distribution) { d.Webhook.Headers = []Header{{Name: "X-Api-Key", Value: "v"}} }, "webhook.headers[0].name", "lowercase"},
		{"header overriding the signature", func(d *Distribution) { d.Webhook.Headers = []Header{{Name: "webhook-signature", Value: "v"}} }, "webhook.headers[0].name", "may not be overridden"},
		{"header overriding host", func(d *Distribution) { d.Webhook.Headers = []Header{{Name: "host", Value: "evil"}} }, "webhook.headers[0].name", "may not be overridden"},
		{"header twice", func(d *Distribution) {
			d.Webhook.Headers = []Header{{Name: "x-a", Value: "1"}, {Name: "x-a", Value: "2"}}
		}, "webhook.headers[1].name", "twice"},
		{"header value with CRLF", func(d *Distribution) { d.Webhook.Headers = []Header{{Name: "x-a", Value: "1\r\nx-b: 2"}} }, "webhook.headers[0].value", "CR"},
		{"trace context beside a traceparent header", func(d *Distribution) {
			d.Webhook.TraceContext = true
			d.Webhook.Headers = []Header{{Name: "x-a", Value: "1"}, {Name: "traceparent", Value: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}}
		}, "webhook.headers[1].name", "trace_context"},
		{"trace context beside a tracestate header", func(d *Distribution) {
			d.Webhook.TraceContext = true
			d.Webhook.Headers = []Header{{Name: "tracestate", Value: "k=v"}}
		}, "webhook.headers[0].name", "trace_context"},
		{"raw without template", func(d *Distribution) { d.Webhook.Raw = true }, "webhook.raw", "template"},
		{"bad own secret", func(d *Distribution) { d.Webhook.Secret = "hunter2" }, "webhook.secret", "whsec_"},
		{"bad email", func(d *Distribution) { d.Notifications.Emails = []string{"ops at example"} }, "notifications.emails[0]", "e-mail"},
		{"bad alert url", func(d *Distribution) { d.Notifications.AlertURL = "ftp://x" }, "notifications.alert_url", "http"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := base()
			tt.change(&d)
			var ve *ValidationError
			if err := d.Validate(); !errors.As(err, &ve) {
				t.Fatalf("no problem found (%v)", err)
			}
			for _, p := range ve.Problems {
				if p.Field == tt.field && strings.Contains(p.Message, tt.msg) {
					return
				}
			}
			t.Errorf("problems %v, want %s: ...%s...", ve.Problems, tt.field, tt.msg)
		})
	}
	if err := base().Validate(); err != nil {
		t.Errorf("base: %v", err)
	}
}

func TestRedactionAndKeepSecrets(t *testing.T) {
	secret := payloads.NewSecret()
	d := Distribution{Webhook: Webhook{Secret: secret, Headers: []Header{{Name: "x-key", Value: "s3cr3t", Secret: true}, {Name: "x-plain", Value: "p"}}}}
	r := d.Redacted()
	b, _ := json.Marshal(r)
	if strings.Contains(string(b), secret) || strings.Contains(string(b), "s3cr3t") || !r.Webhook.HasSecret || !strings.Contains(string(b), `"p"`) {
		t.Errorf("redacted: %s", b)
	}
	if d.Webhook.Headers[0].Value != "s3cr3t" {
		t.Error("Redacted changed the original")
	}
	r.KeepSecrets(d)
	if r.Webhook.Secret != secret || r.Webhook.Headers[0].Value != "s3cr3t" || r.Webhook.HasSecret {
		t.Errorf("KeepSecrets: %+v", r.Webhook)
	}
}
