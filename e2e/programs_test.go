package e2e

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/workflows"
)

// TestDevPrograms sets up a loyalty and a referral program with the presets, as a user
// would with the CLI, and checks what the receivers get for each program event: the
// payload's label, its customer (the referrer or the referee), and the objects the
// receiver needs (the new balance after a reward). Pausing a program pauses all of it.
func TestDevPrograms(t *testing.T) {
	if testing.Short() {
		t.Skip("starts hookflow dev")
	}
	d := startDev(t, t.TempDir(), nil)
	c := d.client(t)
	loyal, referral := newReceiver(t), newReceiver(t)

	out := runCLI(t, d, "programs", "loyalty", "camp_loyal", "--url", loyal.URL+"/loyalty")
	if !strings.Contains(out, "3 created, 0 updated") {
		t.Fatalf("loyalty preset:\n%s", out)
	}
	out = runCLI(t, d, "programs", "referral", "camp_ref", "--url", referral.URL+"/referral", "--recipient", "both")
	if !strings.Contains(out, "4 created, 0 updated") {
		t.Fatalf("referral preset:\n%s", out)
	}
	// Running a preset again changes nothing but the version: no second set.
	if out := runCLI(t, d, "programs", "loyalty", "camp_loyal", "--url", loyal.URL+"/loyalty"); !strings.Contains(out, "0 created, 3 updated") {
		t.Fatalf("loyalty preset again:\n%s", out)
	}

	send := func(id, typ, data string) workflows.DeliveryResult {
		t.Helper()
		status, body := call(t, "POST", d.api+"/v1/events", fmt.Sprintf(`{"id":%q,"type":%q,"data":%s}`, id, typ, data))
		if status != 202 {
			t.Fatalf("send %s: %d %s", id, status, body)
		}
		var res workflows.DeliveryResult
		waitWorkflow(t, c, "event/"+id, 30*time.Second, &res)
		return res
	}
	ann := `{"id":"cust_ann","email":"ann@example.com"}`
	loyalCampaign := `{"id":"camp_loyal","name":"Coffee club"}`
	events := []struct {
		id, typ, data string
		deliveries    int
	}{
		{"evt_card", "customer.publication.succeeded", `{"customer":` + ann + `,"campaign":` + loyalCampaign + `,"voucher":{"code":"CARD-1","campaign_id":"camp_loyal"},"publication":{"id":"pub_1"}}`, 1},
		{"evt_points", "customer.rewarded.loyalty_points", `{"customer":` + ann + `,"campaign":` + loyalCampaign + `,"voucher":{"code":"CARD-1"},"balance":{"points":120,"balance":120},"earning_rule":{"id":"ern_1"}}`, 1},
		{"evt_adjusted", "customer.voucher.loyalty_card.points_added", `{"customer":` + ann + `,"campaign":` + loyalCampaign + `,"voucher":{"code":"CARD-1"},"balance":{"points":30,"balance":150}}`, 1},
		{"evt_redeemed", "customer.reward_redemptions.completed", `{"customer":` + ann + `,"campaign":` + loyalCampaign + `,"voucher":{"code":"CARD-1"},"reward":{"id":"rew_1"},"balance":{"points":-100,"balance":50}}`, 1},
		{"evt_other_campaign", "customer.publication.succeeded", `{"customer":` + ann + `,"campaign":{"id":"camp_other"},"voucher":{"code":"X"}}`, 0},
		{"evt_referred", "customer.referred", `{"customer":{"id":"cust_referee","name":"Rea"},"referrer":{"id":"cust_referrer","name":"Rob"},"campaign":{"id":"camp_ref"},"voucher":{"code":"REF-ROB"}}`, 2},
		{"evt_ref_code", "customer.publication.succeeded", `{"customer":{"id":"cust_referrer"},"campaign":{"id":"camp_ref"},"voucher":{"code":"REF-ROB"}}`, 1},
		{"evt_ref_reward", "customer.rewarded", `{"customer":{"id":"cust_referrer"},"campaign":{"id":"camp_ref"},"referral_tier":{"id":"reftier_1"},"reward":{"id":"rew_ref"}}`, 1},
	}
	for _, e := range events {
		res := send(e.id, e.typ, e.data)
		if len(res.Deliveries) != e.deliveries {
			t.Errorf("%s: %d deliveries (%s), want %d", e.id, len(res.Deliveries), res.Status, e.deliveries)
		}
		for _, o := range res.Deliveries {
			if o.Status != workflows.StatusDelivered {
				t.Errorf("%s: delivery %s %s", e.id, o.DeliveryID, o.Status)
			}
		}
	}

	type payload struct {
		Type  string `json:"type"`
		Event struct {
			ID   string `json:"id"`
			Type string `json:"type"`
		} `json:"event"`
		Data struct {
			Customer *struct {
				ID string `json:"id"`
			} `json:"customer"`
			Balance *struct {
				Balance int `json:"balance"`
			} `json:"balance"`
			ReferralTier json.RawMessage `json:"referral_tier"`
		} `json:"data"`
	}
	summarize := func(r *receiver, n int) []string {
		t.Helper()
		var lines []string
		for _, req := range r.waitRequests(t, n, 10*time.Second) {
			var p payload
			if err := json.Unmarshal(req.body, &p); err != nil {
				t.Fatalf("%s: %v", req.body, err)
			}
			line := fmt.Sprintf("%s %s %s customer=%s", p.Event.ID, p.Type, p.Event.Type, p.Data.Customer.ID)
			if p.Data.Balance != nil {
				line += fmt.Sprintf(" balance=%d", p.Data.Balance.Balance)
			}
			if len(p.Data.ReferralTier) > 0 && string(p.Data.ReferralTier) != "null" {
				line += " referral_tier=" + string(p.Data.ReferralTier)
			}
			lines = append(lines, line)
		}
		sort.Strings(lines)
		return lines
	}
	wantLoyal := []string{
		"evt_adjusted Loyalty-points-added customer.voucher.loyalty_card.points_added customer=cust_ann balance=150",
		"evt_card Loyalty-card-published customer.publication.succeeded customer=cust_ann",
		"evt_points Loyalty-points-added customer.rewarded.loyalty_points customer=cust_ann balance=120",
		"evt_redeemed Loyalty-reward-redeemed customer.reward_redemptions.completed customer=cust_ann balance=50",
	}
	if got := summarize(loyal, len(wantLoyal)); strings.Join(got, "\n") != strings.Join(wantLoyal, "\n") {
		t.Errorf("loyalty receiver got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantLoyal, "\n"))
	}
	wantReferral := []string{
		"evt_ref_code Referral-code-published customer.publication.succeeded customer=cust_referrer",
		`evt_ref_reward Referral-referrer-rewarded customer.rewarded customer=cust_referrer referral_tier={"id":"reftier_1"}`,
		"evt_referred Referral-referee-joined customer.referred customer=cust_referee",
		"evt_referred Referral-referee-joined customer.referred customer=cust_referrer",
	}
	if got := summarize(referral, len(wantReferral)); strings.Join(got, "\n") != strings.Join(wantReferral, "\n") {
		t.Errorf("referral receiver got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantReferral, "\n"))
	}

	// Paused together: the next program event is skipped by all three, and listed so.
	if out := runCLI(t, d, "programs", "pause", "loyalty", "camp_loyal"); !strings.Contains(out, "loyalty camp_loyal is paused") {
		t.Fatalf("pause:\n%s", out)
	}
	res := send("evt_points_paused", "customer.rewarded.loyalty_points", `{"customer":`+ann+`,"campaign":`+loyalCampaign+`,"balance":{"balance":170}}`)
	if res.Status != workflows.StatusSkipped || len(res.Skipped) != 1 {
		t.Errorf("event for a paused program: %s, skipped %v", res.Status, res.Skipped)
	}
	if out := runCLI(t, d, "programs", "list"); !strings.Contains(out, "loyalty camp_loyal (paused)") || !strings.Contains(out, "referral camp_ref (live)") {
		t.Errorf("programs list:\n%s", out)
	}
	if n := len(loyal.requests()); n != len(wantLoyal) {
		t.Errorf("loyalty receiver has %d requests after the pause, want %d", n, len(wantLoyal))
	}
}
