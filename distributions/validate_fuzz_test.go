package distributions

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

// FuzzDistributionDecodeValidate decodes, normalizes and validates any body as the API
// does. It must never panic; a refusal is a *ValidationError with problems; a distribution
// that validates encodes to JSON that decodes and validates again to the same JSON, and
// so does what the API shows of it (Redacted) once KeepSecrets restored the secrets. Its
// seeds, and any failing input the fuzzer saves in
// testdata/fuzz/FuzzDistributionDecodeValidate, run with every go test.
func FuzzDistributionDecodeValidate(f *testing.F) {
	for _, s := range []string{
		validJSON,
		`{"name":"n","trigger":{"events":["customer.order.*"]},"webhook":{"event_name":"e","url":"http://127.0.0.1:9/x"}}`,
		`{"name":"Promo","status":"paused","trigger":{"events":["customer.segment.entered"],"campaign":"camp_1","segment":"seg_1","filter":"data.customer.id != \"\"","live_from":"2026-01-01T00:00:00Z","live_until":"2026-02-01T00:00:00+01:00"},
		"action":{"type":"notify_promotion","campaign":{"id":"camp_1","name":"<b>&"},"promotion_tier":{"id":"promo_1"}},
		"webhook":{"event_name":"Entered","url":"https://example.com/h","version":"v2018-01-01","headers":[{"name":"x-api-key","value":"s3cret","secret":true},{"name":"x-plain","value":"v"}],
		"template":"{\"c\":\"{{customer.name}}\",\"o\":{{campaign}}}","raw":true,"timeout":"30s","retry_schedule":["1s","1m"],"secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
		"notifications":{"emails":["ops@example.com"],"in_app":false,"alert_url":"https://alerts.example.com/x"}}`,
		`{"name":"n","trigger":{"events":["*"]},"webhook":{"event_name":"e","url":"https://example.com","retry_schedule":"voucherify","headers":[{"name":"x-a","value":"a\r\nInjected: 1"}]}}`,
		`{"name":"n","trigger":{"events":["customer.order.paid"]},"webhook":{"event_name":"e","url":"javascript:alert(1)","template":"{\"a\":{{order}}"}}`,
		`{"name":"n","trigger":{"events":["customer.order.paid"],"filter":"[1,2].all(x, x > 0)"},"action":{"type":"publish_code"},"webhook":{"event_name":"e","url":"https://example.com","timeout":"-1s"}}`,
		`{"id":"distr_1","version":3,"created_at":"2026-01-01T00:00:00Z","name":"n","trigger":{"events":["customer.order.paid"]},"webhook":{"event_name":"e","url":"https://example.com","has_secret":true}}`,
		`{"name":"n","trigger":{"events":["customer.order.paid"]},"webhook":{"event_name":"e","url":"https://user:pw@example.com/h"}}`,
		`{"name":"n"} {"name":"m"}`, `{"name":1}`, `{"colour":"red"}`, `[]`, `null`, ``, "\xff",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := Decode(body)
		if err != nil {
			checkValidationError(t, "Decode", err)
			return
		}
		d.Normalize()
		if err := d.Validate(); err != nil {
			checkValidationError(t, "Validate", err)
			return
		}
		first := encodeDistribution(t, d)
		again := decodeValid(t, first)
		if second := encodeDistribution(t, again); !bytes.Equal(first, second) {
			t.Fatalf("encoded again differently:\n%s\n%s", first, second)
		}
		shown := decodeValid(t, encodeDistribution(t, d.Redacted()))
		shown.KeepSecrets(d)
		if restored := encodeDistribution(t, shown); !bytes.Equal(first, restored) {
			t.Fatalf("redacted and restored differently:\n%s\n%s", first, restored)
		}
	})
}

func checkValidationError(t *testing.T, what string, err error) {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) == 0 {
		t.Fatalf("%s: %v (%T), want a *ValidationError with problems", what, err, err)
	}
	for _, p := range ve.Problems {
		if p.Message == "" {
			t.Fatalf("%s: a problem without a message: %+v", what, ve.Problems)
		}
	}
}

// decodeValid decodes, normalizes and validates a distribution that must be valid.
func decodeValid(t *testing.T, body []byte) Distribution {
	t.Helper()
	d, err := Decode(body)
	if err != nil {
		t.Fatalf("a valid distribution's JSON does not decode: %v\n%s", err, body)
	}
	d.Normalize()
	if err := d.Validate(); err != nil {
		t.Fatalf("a valid distribution's JSON does not validate again: %v\n%s", err, body)
	}
	return d
}

func encodeDistribution(t *testing.T, d Distribution) []byte {
	t.Helper()
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatalf("a distribution does not encode: %v", err)
	}
	return b
}
