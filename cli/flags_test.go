package cli

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/api"
)

// TestListFlagsRepeat: a list flag keeps every value of a repeated flag, and comma lists
// still work; yes-or-no flags are flags without a value (--active, --active=false).
func TestListFlagsRepeat(t *testing.T) {
	h, st := newHarness(t, &api.Server{})
	ctx := context.Background()
	out, _, err := h.run("distributions", "create", "--name", "Orders", "--url", "https://example.com/h", "--event-name", "e",
		"--events", "customer.order.paid", "--events", "customer.order.created,customer.order.canceled",
		"--retry-schedule", "10s", "--retry-schedule", "1m,5m")
	if err != nil {
		t.Fatal(err)
	}
	d, err := st.GetDistribution(ctx, strings.Fields(out)[2])
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"customer.order.paid", "customer.order.created", "customer.order.canceled"}; !slices.Equal(d.Trigger.Events, want) {
		t.Errorf("--events twice: %v, want %v", d.Trigger.Events, want)
	}
	if s := d.Webhook.RetrySchedule; s == nil || !slices.Equal(s.Intervals, []time.Duration{10 * time.Second, time.Minute, 5 * time.Minute}) {
		t.Errorf("--retry-schedule twice: %+v", s)
	}
	if _, _, err := h.run("distributions", "update", d.ID, "--retry-schedule", "standard"); err != nil {
		t.Errorf("--retry-schedule standard: %v", err)
	}

	out, _, err = h.run("webhooks", "create", "--url", "https://example.com/w", "--events", "voucher.created", "--events", "voucher.published")
	if err != nil {
		t.Fatal(err)
	}
	id := strings.Fields(out)[2]
	if w, _ := st.GetWebhook(ctx, id); !slices.Equal(w.Events, []string{"voucher.created", "voucher.published"}) || !w.Active {
		t.Errorf("webhook events %v, active %v", w.Events, w.Active)
	}
	for _, tc := range []struct {
		flag string
		want bool
	}{{"--active=false", false}, {"--active", true}} {
		if _, _, err := h.run("webhooks", "update", id, tc.flag); err != nil {
			t.Fatalf("%s: %v", tc.flag, err)
		}
		if w, _ := st.GetWebhook(ctx, id); w.Active != tc.want {
			t.Errorf("after %s: active %v", tc.flag, w.Active)
		}
	}

	if _, _, err := h.run("settings", "notifications", "--email", "--recipients", "a@example.com", "--recipients", "b@example.com,c@example.com", "--in-app=false"); err != nil {
		t.Fatal(err)
	}
	ns, _ := st.NotificationSettings(ctx)
	if ch := ns.Distributions; !ch.Email || ch.InApp || !slices.Equal(ch.Recipients, []string{"a@example.com", "b@example.com", "c@example.com"}) {
		t.Errorf("settings %+v", ch)
	}
	if _, _, err := h.run("settings", "notifications", "--email", "off"); err == nil || !strings.Contains(err.Error(), "write --flag or --flag=false") {
		t.Errorf("--email off: %v", err)
	}

	out, _, err = h.run("programs", "loyalty", "camp_1", "--url", "https://example.com/p", "--notify", "points-added", "--notify", "reward-redeemed", "-o", "json")
	if err != nil || strings.Count(out, `"notification": "`) != 2 || !strings.Contains(out, "points-added") || !strings.Contains(out, "reward-redeemed") {
		t.Errorf("--notify twice: %v\n%s", err, out)
	}
}
