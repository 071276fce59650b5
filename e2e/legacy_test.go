package e2e

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/workflows"
)

// legacyKeys are the keys of every v2018-01-01 body with their JSON types, copied by hand
// from the spec (spec/webhooks.md, section 4 "Legacy envelope"), not from hookflow's code.
// group_id may be null: an event's group_id is optional (section 2).
var legacyKeys = map[string][]string{
	"id":                             {"string"},
	"object":                         {"string"},
	"webhook_id":                     {"string"},
	"project_id":                     {"string"},
	"created_at":                     {"string"},
	"type":                           {"string"},
	"data":                           {"object"},
	"data.object":                    {"object"},
	"data.related_object":            {"object"},
	"data.related_object.id":         {"string"},
	"data.related_object.type":       {"string"},
	"data.related_object.data":       {"object"},
	"data.related_object.created_at": {"string"},
	"data.related_object.group_id":   {"string", "null"},
	"metadata":                       {"object"},
	"metadata.source":                {"string"},
}

// TestDevLegacyEnvelope sends one event through a real `hookflow dev` to three
// distributions in the legacy version v2018-01-01, one for each action (plain_message,
// notify_promotion, publish_code), and checks each body a receiver gets against the
// spec's legacy envelope: it parses, has the required keys with their JSON types and the
// values the spec names, holds the objects of the trigger and of the action, and both
// signatures verify with HMACs computed here with the standard library.
func TestDevLegacyEnvelope(t *testing.T) {
	if testing.Short() {
		t.Skip("starts hookflow dev")
	}
	d := startDev(t, t.TempDir(), nil)

	codes := filepath.Join(t.TempDir(), "codes.txt")
	if err := os.WriteFile(codes, []byte("LEGACY-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	runCLI(t, d, "codes", "import", "camp_legacy", "-f", codes)

	// The spec's section 5: the objects of customer.order.paid, then those of each action.
	triggerObjects := []string{"customer", "referrer", "order", "redemption"}
	cases := []struct {
		action        map[string]any
		eventName     string
		actionObjects []string
		recv          *receiver
		id            string
	}{
		{action: map[string]any{"type": "plain_message"}, eventName: "Legacy-plain"},
		{action: map[string]any{"type": "notify_promotion",
			"campaign":       map[string]any{"id": "camp_promo", "name": "Promotions"},
			"promotion_tier": map[string]any{"id": "promo_5", "name": "5% off"}},
			eventName: "Legacy-promotion", actionObjects: []string{"campaign", "promotion_tier"}},
		{action: map[string]any{"type": "publish_code", "campaign": map[string]any{"id": "camp_legacy", "name": "Legacy"}},
			eventName: "Legacy-code", actionObjects: []string{"campaign", "voucher", "publication"}},
	}
	for i := range cases {
		c := &cases[i]
		c.recv = newReceiver(t)
		status, body := call(t, "POST", d.api+"/v1/distributions", map[string]any{
			"name":    c.eventName,
			"trigger": map[string]any{"events": []string{"customer.order.paid"}},
			"action":  c.action,
			"webhook": map[string]any{"event_name": c.eventName, "url": c.recv.URL + "/legacy", "version": "v2018-01-01"},
		})
		if status != 201 {
			t.Fatalf("create the %s distribution: %d %s", c.action["type"], status, body)
		}
		var out distributionOut
		mustJSON(t, body, &out)
		c.id = out.ID
	}

	status, body := call(t, "POST", d.api+"/v1/events", `{"id":"evt_legacy","type":"customer.order.paid",`+
		`"created_at":"2026-01-05T10:00:00.000Z","group_id":"req_legacy","source":{"channel":"USER_PORTAL"},`+
		`"data":{"customer":{"id":"cust_legacy","email":"ann@example.com"},"order":{"id":"ord_legacy","amount":4200}}}`)
	if status != 202 {
		t.Fatalf("send the event: %d %s", status, body)
	}
	var res workflows.DeliveryResult
	waitWorkflow(t, d.client(t), "event/evt_legacy", 60*time.Second, &res)
	if res.Status != workflows.StatusDelivered || len(res.Deliveries) != len(cases) {
		t.Fatalf("result %+v", res)
	}

	standardKey, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(d.secret, "whsec_"))
	if err != nil {
		t.Fatalf("the secret %q is not whsec_ and base64: %v", d.secret, err)
	}
	for _, c := range cases {
		t.Run(c.action["type"].(string), func(t *testing.T) {
			got := c.recv.waitRequests(t, 1, 30*time.Second)[0]
			var env map[string]any
			if err := json.Unmarshal(got.body, &env); err != nil {
				t.Fatalf("the body does not parse: %v\n%s", err, got.body)
			}
			var compact bytes.Buffer
			if err := json.Compact(&compact, got.body); err != nil || !bytes.Equal(compact.Bytes(), got.body) {
				t.Errorf("the body is not compact JSON: %s", got.body)
			}
			for path, kinds := range legacyKeys {
				checkJSONKind(t, env, path, kinds...)
			}
			for _, name := range triggerObjects {
				// An object the event did not carry (referrer, redemption) is sent as null.
				checkJSONKind(t, env, "data.object."+name, "object", "null")
			}
			for _, name := range c.actionObjects {
				checkJSONKind(t, env, "data.object."+name, "object")
			}
			for _, absent := range []string{"source", "event"} {
				if _, ok := env[absent]; ok {
					t.Errorf("the legacy body has %s, which only v2024-01-01 sends", absent)
				}
			}
			deliveryID := got.header.Get("webhook-id")
			for path, want := range map[string]any{
				"id": "evt_legacy", "object": "event", "webhook_id": deliveryID, "project_id": d.projectID, "type": c.eventName,
				"data.related_object.id": "evt_legacy", "data.related_object.type": "customer.order.paid",
				"data.related_object.created_at": "2026-01-05T10:00:00.000Z", "data.related_object.group_id": "req_legacy",
				"data.related_object.data.order.id": "ord_legacy", "data.object.customer.id": "cust_legacy",
				"data.object.order.amount": 4200.0, "metadata.source": "USER_PORTAL",
			} {
				if v, _ := jsonPath(env, path); v != want {
					t.Errorf("%s is %v, want %v", path, v, want)
				}
			}
			if !strings.HasPrefix(deliveryID, "whs_") {
				t.Errorf("webhook-id %q is not a delivery id", deliveryID)
			}
			switch c.action["type"] {
			case "notify_promotion":
				if v, _ := jsonPath(env, "data.object.promotion_tier.id"); v != "promo_5" {
					t.Errorf("data.object.promotion_tier.id is %v, want the distribution's promo_5", v)
				}
			case "publish_code":
				if v, _ := jsonPath(env, "data.object.voucher.code"); v != "LEGACY-1" {
					t.Errorf("data.object.voucher.code is %v, want the pool's LEGACY-1", v)
				}
			}

			// Spec section 8: x-voucherify-signature is the hex HMAC-SHA256 of the body keyed
			// with the whole secret string; webhook-signature is v1, and the base64
			// HMAC-SHA256 of "id.timestamp.body" keyed with the bytes the secret encodes.
			mac := hmac.New(sha256.New, []byte(d.secret))
			mac.Write(got.body)
			if sig := got.header.Get("x-voucherify-signature"); !hmac.Equal([]byte(sig), []byte(hex.EncodeToString(mac.Sum(nil)))) {
				t.Errorf("x-voucherify-signature %q does not verify", sig)
			}
			mac = hmac.New(sha256.New, standardKey)
			mac.Write([]byte(deliveryID + "." + got.header.Get("webhook-timestamp") + "."))
			mac.Write(got.body)
			want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
			if sigs := strings.Fields(got.header.Get("webhook-signature")); !slices.Contains(sigs, want) {
				t.Errorf("webhook-signature %q does not verify", got.header.Get("webhook-signature"))
			}
		})
	}
}

// jsonPath follows a dotted key path through decoded JSON objects.
func jsonPath(v any, path string) (any, bool) {
	for key := range strings.SplitSeq(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[key]; !ok {
			return nil, false
		}
	}
	return v, true
}

// checkJSONKind fails the test unless the key at path is there with one of kinds.
func checkJSONKind(t *testing.T, root any, path string, kinds ...string) {
	t.Helper()
	v, ok := jsonPath(root, path)
	if !ok {
		t.Errorf("the body lacks the required key %s", path)
		return
	}
	kind := "unknown"
	switch v.(type) {
	case nil:
		kind = "null"
	case string:
		kind = "string"
	case float64:
		kind = "number"
	case bool:
		kind = "boolean"
	case []any:
		kind = "array"
	case map[string]any:
		kind = "object"
	}
	if !slices.Contains(kinds, kind) {
		t.Errorf("%s is %s, want %s", path, kind, strings.Join(kinds, " or "))
	}
}
