package payloads

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The goldens are written by the code they check, so a mistake in the code would be
// written into them too. TestLegacyGoldensFollowTheSpec reads every v2018-01-01 golden and
// checks it against the tables below, copied by hand from the wire contract
// (spec/webhooks.md beside DESIGN.md; ../shared/spec/webhooks.md from a checkout). They must
// not be built from this package's own lists (TriggerObjects, ActionObjectNames, ...):
// they are the independent half of the check.

// jsonKind is the JSON type of a value: "string", "number", "boolean", "object", "array"
// or "null".
type jsonKind = string

// legacyEnvelopeKeys are the keys every legacy body has, by path, with the JSON types each
// may take. Spec section 4, "Legacy envelope (v2018-01-01; also accept the label
// v2018-08-01)"; group_id may be null because section 2 makes an event's group_id optional.
var legacyEnvelopeKeys = []struct {
	path  string
	kinds []jsonKind
}{
	{"id", []jsonKind{"string"}},         // the event id
	{"object", []jsonKind{"string"}},     // "event"
	{"webhook_id", []jsonKind{"string"}}, // the delivery id, whs_...
	{"project_id", []jsonKind{"string"}},
	{"created_at", []jsonKind{"string"}},
	{"type", []jsonKind{"string"}}, // the distribution's event name label
	{"data", []jsonKind{"object"}},
	{"data.object", []jsonKind{"object"}},
	{"data.related_object", []jsonKind{"object"}},
	{"data.related_object.id", []jsonKind{"string"}},
	{"data.related_object.type", []jsonKind{"string"}},
	{"data.related_object.data", []jsonKind{"object"}},
	{"data.related_object.created_at", []jsonKind{"string"}},
	{"data.related_object.group_id", []jsonKind{"string", "null"}},
	{"metadata", []jsonKind{"object"}},
	{"metadata.source", []jsonKind{"string"}},
}

// legacyAbsentKeys are the v2024-01-01 keys that the legacy envelope replaces: spec section
// 4, "`metadata` instead of `source` + `event`".
var legacyAbsentKeys = []string{"source", "event"}

// specTriggerObjects are the objects `data` (data.object in the legacy envelope) holds per
// trigger: spec section 5, "Which objects `data` holds", first table. An object the event
// did not carry is sent as null, so each may be an object or null.
var specTriggerObjects = map[string][]string{
	"customer.segment.entered":                     {"customer", "segment"},
	"customer.segment.left":                        {"customer", "segment"},
	"customer.order.created":                       {"customer", "referrer", "order", "redemption"},
	"customer.order.updated":                       {"customer", "referrer", "order", "redemption"},
	"customer.order.paid":                          {"customer", "referrer", "order", "redemption"},
	"customer.order.canceled":                      {"customer", "referrer", "order", "redemption"},
	"customer.custom_event":                        {"event", "event_schema", "customer", "referral", "loyalty"},
	"manual_distribution_schedule":                 {"distribution", "customer"},
	"customer.redemption.succeeded":                {"customer", "order", "campaign", "voucher", "holder", "promotion_tier", "promotion_stack", "redemption"},
	"customer.redemption.rollback.succeeded":       {"customer", "order", "campaign", "voucher", "holder", "promotion_tier", "promotion_stack", "redemption"},
	"customer.publication.succeeded":               {"customer", "campaign", "publication", "voucher"},
	"customer.rewarded":                            {"customer", "holder", "voucher", "campaign", "redemption", "reward", "referral_tier", "balance", "custom_event", "customer_event"},
	"customer.rewarded.loyalty_points":             {"customer", "holder", "voucher", "campaign", "loyalty_tier", "earning_rule", "balance", "order", "event", "publication"},
	"customer.reward_redemptions.completed":        {"customer", "holder", "voucher", "campaign", "reward_redemption", "reward", "reward_assignment", "source", "balance", "publication"},
	"customer.voucher.gift.balance_added":          {"voucher", "balance", "campaign", "transaction"},
	"customer.voucher.loyalty_card.points_added":   {"voucher", "balance", "campaign", "customer", "transaction"},
	"customer.voucher.loyalty_card.points_expired": {"voucher", "points", "campaign", "customer", "buckets", "transaction"},
	"customer.loyalty.tier.joined":                 {"customer", "campaign", "loyalty_tier"},
	"customer.loyalty.tier.left":                   {"customer", "campaign", "loyalty_tier"},
	"customer.loyalty.tier.prolonged":              {"customer", "campaign", "loyalty_tier"},
	// "(up/down-grades: loyalty_tier_from, loyalty_tier_to)": the two tiers in place of one.
	"customer.loyalty.tier.upgraded":   {"customer", "campaign", "loyalty_tier_from", "loyalty_tier_to"},
	"customer.loyalty.tier.downgraded": {"customer", "campaign", "loyalty_tier_from", "loyalty_tier_to"},
	"customer.referred":                {"customer", "referrer", "campaign", "voucher"},
}

// specTriggersWithoutObjects are distribution triggers (spec section 6) that section 5 gives
// no list of objects for: their goldens are checked for the envelope and the action's
// objects only.
var specTriggersWithoutObjects = []string{
	"customer.voucher.loyalty_card.pending_points.added",
	"customer.voucher.loyalty_card.pending_points.activated",
	"customer.voucher.loyalty_card.pending_points.canceled",
	"customer.voucher.loyalty_card.pending_points.updated",
}

// specActionObjects are the objects a distribution's action adds to `data`: spec section 5,
// "Added by the distribution's action".
var specActionObjects = map[string][]string{
	"plain_message":    nil,
	"notify_promotion": {"campaign", "promotion_tier"},
	"publish_code":     {"campaign", "voucher", "publication"},
}

// legacyGoldenAction names the action of each legacy golden outside testdata/catalogue
// (whose file names say it): "template" for a body whose data.object is a rendered
// payload-designer template (spec section 4, "Payload designer and raw mode"), which holds
// the template's keys instead of the objects.
var legacyGoldenAction = map[string]string{
	"order_paid.v2018-01-01.golden.json":                "plain_message",
	"segment_entered.v2018-01-01.golden.json":           "plain_message",
	"template/order_paid.publish_code.v2018-01-01.json": "template",
}

func TestLegacyGoldensFollowTheSpec(t *testing.T) {
	var files []string
	err := filepath.WalkDir("testdata", func(path string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() && strings.Contains(e.Name(), ".v2018-01-01.") && strings.HasSuffix(e.Name(), ".json") {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	catalogue := 0
	for _, path := range files {
		rel := filepath.ToSlash(strings.TrimPrefix(path, "testdata"+string(filepath.Separator)))
		trigger, action := "", ""
		if name, ok := strings.CutPrefix(rel, "catalogue/"); ok {
			catalogue++
			stem := strings.TrimSuffix(name, ".v2018-01-01.json")
			dot := strings.LastIndex(stem, ".")
			trigger, action = stem[:dot], stem[dot+1:]
		} else if action = legacyGoldenAction[rel]; action == "" {
			t.Errorf("%s: a legacy golden without an action in legacyGoldenAction: add it there", path)
			continue
		}
		body, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, problem := range legacyProblems(body, trigger, action) {
			t.Errorf("%s: %s", path, problem)
		}
	}
	// Half of the 84 catalogue goldens are legacy: a walk that finds fewer checked too little.
	if catalogue != 42 {
		t.Errorf("found %d legacy goldens in testdata/catalogue, want 42", catalogue)
	}
}

// legacyProblems checks a legacy body against the spec's tables and names, by key path,
// each key that is missing or of another JSON type. trigger is the event type the body
// must be of (empty: the one it says, in data.related_object.type); action is the
// distribution's action, or "template".
func legacyProblems(body []byte, trigger, action string) []string {
	var root any
	if err := json.Unmarshal(body, &root); err != nil {
		return []string{"not JSON: " + err.Error()}
	}
	var problems []string
	check := func(path string, kinds ...jsonKind) (any, bool) {
		v, ok := lookup(root, path)
		switch {
		case !ok:
			problems = append(problems, "lacks the required key "+path)
		case !slices.Contains(kinds, kindOf(v)):
			problems = append(problems, path+" is "+kindOf(v)+", want "+strings.Join(kinds, " or "))
		default:
			return v, true
		}
		return nil, false
	}
	for _, k := range legacyEnvelopeKeys {
		check(k.path, k.kinds...)
	}
	for _, k := range legacyAbsentKeys {
		if _, ok := lookup(root, k); ok {
			problems = append(problems, "has the key "+k+", which the legacy envelope does not send")
		}
	}
	if v, ok := lookup(root, "object"); ok && v != "event" {
		problems = append(problems, `object is not "event"`)
	}
	if v, ok := lookup(root, "webhook_id"); ok && !strings.HasPrefix(kindString(v), "whs_") {
		problems = append(problems, "webhook_id is not a delivery id (whs_...)")
	}
	if id, ok := lookup(root, "id"); ok {
		if related, ok := lookup(root, "data.related_object.id"); ok && related != id {
			problems = append(problems, "id and data.related_object.id differ: both are the event id")
		}
	}
	relatedType, _ := lookup(root, "data.related_object.type")
	if trigger == "" {
		trigger = kindString(relatedType)
	} else if relatedType != trigger {
		problems = append(problems, "data.related_object.type is not the golden's trigger "+trigger)
	}
	if action == "template" {
		return problems
	}
	actionObjects, ok := specActionObjects[action]
	if !ok {
		return append(problems, "unknown action "+action)
	}
	objects, listed := specTriggerObjects[trigger]
	if !listed && !slices.Contains(specTriggersWithoutObjects, trigger) {
		return append(problems, "trigger "+trigger+" is in no table of the spec's section 5 or 6")
	}
	for _, name := range append(slices.Clone(objects), actionObjects...) {
		check("data.object."+name, "object", "null")
	}
	for _, name := range actionObjects {
		// The action's objects come from the distribution: they are always there.
		check("data.object."+name, "object")
	}
	return problems
}

// lookup follows a dotted key path through JSON objects.
func lookup(v any, path string) (any, bool) {
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

func kindOf(v any) jsonKind {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "unknown"
}

func kindString(v any) string {
	s, _ := v.(string)
	return s
}

// TestLegacyProblemsNamesTheKey: the check fails a body that lacks a required key or has
// one of the wrong type, and names the key's path.
func TestLegacyProblemsNamesTheKey(t *testing.T) {
	good := `{"id":"evt_1","object":"event","webhook_id":"whs_1","project_id":"proj_1","created_at":"2026-01-05T10:00:01.234Z","type":"Label",` +
		`"data":{"object":{"customer":{"id":"c"},"segment":null,"campaign":{"id":"camp"},"promotion_tier":{"id":"p"}},` +
		`"related_object":{"id":"evt_1","type":"customer.segment.entered","data":{},"created_at":"2026-01-05T10:00:00.000Z","group_id":null}},` +
		`"metadata":{"source":"API"}}`
	if p := legacyProblems([]byte(good), "customer.segment.entered", "notify_promotion"); len(p) != 0 {
		t.Errorf("a body that follows the spec: %v", p)
	}
	for _, tt := range []struct{ body, want string }{
		{strings.Replace(good, `"webhook_id":"whs_1",`, "", 1), "lacks the required key webhook_id"},
		{strings.Replace(good, `"metadata":{"source":"API"}`, `"metadata":{"source":{"channel":"API"}}`, 1), "metadata.source is object, want string"},
		{strings.Replace(good, `"group_id":null`, `"group_id":7`, 1), "data.related_object.group_id is number, want string or null"},
		{strings.Replace(good, `"customer":{"id":"c"},`, "", 1), "lacks the required key data.object.customer"},
		{strings.Replace(good, `"promotion_tier":{"id":"p"}`, `"promotion_tier":null`, 1), "data.object.promotion_tier is null, want object"},
		{strings.Replace(good, `"metadata":{"source":"API"}`, `"metadata":{"source":"API"},"event":{}`, 1), "has the key event"},
	} {
		p := legacyProblems([]byte(tt.body), "customer.segment.entered", "notify_promotion")
		if !slices.ContainsFunc(p, func(s string) bool { return strings.Contains(s, tt.want) }) {
			t.Errorf("%s: problems %v, want one with %q", tt.body, p, tt.want)
		}
	}
}
