package distributions

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/payloads"
)

const validJSON = `{"name":"Paid orders","status":"live","trigger":{"events":["customer.order.paid"]},
"action":{"type":"plain_message"},"webhook":{"event_name":"Order-paid","url":"https://example.com/h","version":"v2024-01-01"}}`

func TestDecodeValidate(t *testing.T) {
	d, err := Decode([]byte(validJSON))
	if err != nil {
		t.Fatal(err)
	}
	d.Normalize()
	if err := d.Validate(); err != nil {
		t.Fatalf("valid distribution: %v", err)
	}
}

func TestDefaults(t *testing.T) {
	d, err := Decode([]byte(`{"name":"n","trigger":{"events":["customer.order.*"]},"webhook":{"event_name":"e","url":"http://127.0.0.1:9/x"}}`))
	if err != nil {
		t.Fatal(err)
	}
	d.Normalize()
	if d.Status != StatusLive || d.Action.Type != ActionPlainMessage || d.Webhook.Version != payloads.Version2024 {
		t.Errorf("defaults: %+v", d)
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if d.Webhook.AttemptTimeout() != DefaultTimeout || len(d.Webhook.Schedule().Gaps()) != 12 {
		t.Errorf("timeout %v, schedule %v", d.Webhook.AttemptTimeout(), d.Webhook.Schedule())
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct{ body, field string }{
		{`{"name":"n","colour":1}`, "colour"},
		{`{"name":5}`, "name"},
		{`{"trigger":{"events":"customer.order.paid"}}`, "trigger.events"},
		{`{"webhook":{"timeout":"ten"}}`, "webhook.timeout"},
		{`{"webhook":{"trace_context":"yes"}}`, "webhook.trace_context"},
		{`{"webhook":{"trace_context":1}}`, "webhook.trace_context"},
		{`{"webhook":{"tracecontext":true}}`, "webhook.tracecontext"},
		{`{"name":`, ""},
	}
	for _, tt := range tests {
		_, err := Decode([]byte(tt.body))
		var ve *ValidationError
		if !errors.As(err, &ve) {
			t.Fatalf("Decode(%s) = %v, want a ValidationError", tt.body, err)
		}
		if ve.Problems[0].Field != tt.field {
			t.Errorf("Decode(%s): field %q, want %q (%v)", tt.body, ve.Problems[0].Field, tt.field, ve)
		}
	}
}

func TestValidateListsEveryProblem(t *testing.T) {
	d := Distribution{
		Status:  "sleeping",
		Trigger: Trigger{Events: []string{"customer.order.paid", "order.exploded", "nothing.*"}},
		Action:  Action{Type: "publish_code"},
		Webhook: Webhook{URL: "ftp://example.com", Version: "v3", Timeout: Duration(2 * time.Minute),
			RetrySchedule: &RetrySchedule{Intervals: []time.Duration{-time.Second}}},
	}
	err := d.Validate()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Validate = %v", err)
	}
	var fields []string
	for _, p := range ve.Problems {
		fields = append(fields, p.Field)
	}
	want := []string{"name", "status", "trigger.events[1]", "trigger.events[2]", "action.campaign",
		"webhook.event_name", "webhook.url", "webhook.version", "webhook.timeout", "webhook.retry_schedule"}
	if !reflect.DeepEqual(fields, want) {
		t.Errorf("problem fields = %v\nwant %v", fields, want)
	}
}

func TestURLRules(t *testing.T) {
	tests := map[string]string{
		"https://example.com/h":        "",
		"http://127.0.0.1:8080/x?y=1":  "",
		"":                             "required",
		"example.com/h":                "absolute http",
		"javascript:alert(1)":          "absolute http",
		"https://user:pw@example.com/": "credentials",
		"https:///nohost":              "no host",
		"https://example.com/a b":      "whitespace",
		"https://example.com/#frag":    "fragment",
		"https://example.com/" + strings.Repeat("a", MaxURLLength): "longer",
	}
	for u, want := range tests {
		got := checkURL(u)
		if (want == "") != (got == "") || !strings.Contains(got, want) {
			t.Errorf("checkURL(%q) = %q, want %q", u, got, want)
		}
	}
}

func TestScheduleGaps(t *testing.T) {
	var total time.Duration
	gaps := RetrySchedule{Name: ScheduleVoucherify}.Gaps()
	offsets := []time.Duration{}
	for _, g := range gaps {
		total += g
		offsets = append(offsets, total)
	}
	// Retry n at 2^(n-1) minutes after the first attempt, the 12th at 24 h.
	want := []time.Duration{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 1440}
	for i := range want {
		want[i] *= time.Minute
	}
	if !reflect.DeepEqual(offsets, want) {
		t.Errorf("voucherify offsets = %v, want %v", offsets, want)
	}
	std := RetrySchedule{Name: ScheduleStandard}.Gaps()
	total = 0
	for _, g := range std {
		total += g
	}
	if len(std) != 9 || std[0] != 5*time.Second || total != 24*time.Hour {
		t.Errorf("standard gaps = %v (span %v)", std, total)
	}
}

func TestRetryScheduleJSON(t *testing.T) {
	for _, in := range []string{`"voucherify"`, `"standard"`, `["1s","2m"]`} {
		var s RetrySchedule
		if err := s.UnmarshalJSON([]byte(in)); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		out, _ := s.MarshalJSON()
		if string(out) != strings.ReplaceAll(in, "2m", "2m0s") {
			t.Errorf("round trip %s = %s", in, out)
		}
	}
	for _, in := range []string{`5`, `["soon"]`, `{"a":1}`} {
		var s RetrySchedule
		if err := s.UnmarshalJSON([]byte(in)); err == nil {
			t.Errorf("%s decoded", in)
		}
	}
	if msg := (RetrySchedule{Name: "hourly"}).check(); msg == "" {
		t.Error("an unknown schedule name passed")
	}
	if msg := (RetrySchedule{Intervals: make([]time.Duration, MaxRetries+1)}).check(); msg == "" {
		t.Error("too many retries passed")
	}
	if msg := (RetrySchedule{Intervals: []time.Duration{40 * time.Hour, 40 * time.Hour}}).check(); msg == "" {
		t.Error("a schedule over the span limit passed")
	}
}

func TestMatchStatus(t *testing.T) {
	mk := func(id, status string, events ...string) Distribution {
		return Distribution{ID: id, Status: status, Action: Action{Type: ActionPlainMessage}, Trigger: Trigger{Events: events}}
	}
	cands := []Distribution{
		mk("distr_c", StatusLive, "customer.order.*"),
		mk("distr_a", StatusLive, "customer.order.paid"),
		mk("distr_b", StatusPaused, "customer.order.paid"),
		mk("distr_d", StatusDraft, "*"),
		mk("distr_e", StatusLive, "customer.segment.entered"),
	}
	dec := Match(payloads.Event{Type: "customer.order.paid"}, cands, time.Now())
	var ids []string
	for _, d := range dec.Matched {
		ids = append(ids, d.ID)
	}
	if !reflect.DeepEqual(ids, []string{"distr_a", "distr_c"}) {
		t.Errorf("matched = %v", ids)
	}
	if want := []Skip{{DistributionID: "distr_b", Reason: "paused"}, {DistributionID: "distr_d", Reason: "draft"}}; !reflect.DeepEqual(dec.Skipped, want) {
		t.Errorf("skipped = %v, want %v", dec.Skipped, want)
	}
}

// TestTraceContextOptIn: webhook.trace_context is off unless given, decodes from JSON, and
// validates beside custom headers; a traceparent header of the user's own is refused only
// when trace_context would set it too.
func TestTraceContextOptIn(t *testing.T) {
	tests := []struct {
		name    string
		webhook string
		want    bool
		problem string
	}{
		{"left out", `{"event_name":"e","url":"https://example.com/h"}`, false, ""},
		{"on", `{"event_name":"e","url":"https://example.com/h","trace_context":true}`, true, ""},
		{"off", `{"event_name":"e","url":"https://example.com/h","trace_context":false}`, false, ""},
		{"on beside other headers", `{"event_name":"e","url":"https://example.com/h","trace_context":true,"headers":[{"name":"x-tenant","value":"a"}]}`, true, ""},
		{"own traceparent without the opt-in", `{"event_name":"e","url":"https://example.com/h","headers":[{"name":"traceparent","value":"x"}]}`, false, ""},
		{"own traceparent with the opt-in", `{"event_name":"e","url":"https://example.com/h","trace_context":true,"headers":[{"name":"traceparent","value":"x"}]}`, true, "webhook.headers[0].name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Decode([]byte(`{"name":"n","trigger":{"events":["customer.order.paid"]},"webhook":` + tt.webhook + `}`))
			if err != nil {
				t.Fatal(err)
			}
			if d.Webhook.TraceContext != tt.want {
				t.Errorf("trace_context %v, want %v", d.Webhook.TraceContext, tt.want)
			}
			if d.Redacted().Webhook.TraceContext != tt.want {
				t.Errorf("the redacted copy (what enters history) lost trace_context")
			}
			d.Normalize()
			err = d.Validate()
			var ve *ValidationError
			switch {
			case tt.problem == "" && err != nil:
				t.Errorf("Validate: %v", err)
			case tt.problem != "" && (!errors.As(err, &ve) || ve.Problems[0].Field != tt.problem):
				t.Errorf("Validate: %v, want a problem at %s", err, tt.problem)
			}
		})
	}
}

// TestNameControlCharacters: a name is printed in tables, e-mails and logs, so control
// characters and invalid UTF-8 are refused naming the field; markup and other scripts are
// the user's business and kept.
func TestNameControlCharacters(t *testing.T) {
	for name, wantRefused := range map[string]bool{
		"Paid orders":                   false,
		"<script>alert(1)</script> & x": false,
		"Zamówienia opłacone 🎉":         false,
		"nul \x00 inside":               true,
		"two\nlines":                    true,
		"tab\there":                     true,
		"escape \x1b[31mred":            true,
		"del \x7f":                      true,
		"c1 \u0085 next line":           true,
		"bad utf-8 \xff":                true,
	} {
		d, err := Decode([]byte(`{"name":"n","trigger":{"events":["customer.order.paid"]},"webhook":{"event_name":"e","url":"https://example.com/h"}}`))
		if err != nil {
			t.Fatal(err)
		}
		d.Name = name
		err = d.Validate()
		var ve *ValidationError
		refused := errors.As(err, &ve) && len(ve.Problems) > 0 && ve.Problems[0].Field == "name"
		if refused != wantRefused {
			t.Errorf("name %q: %v; refused %v, want %v", name, err, refused, wantRefused)
		}
	}
}
