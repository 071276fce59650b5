package distributions

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestParseRateLimit: the forms webhook.rate_limit takes, and the malformed, hostile and
// out-of-bound values it refuses.
func TestParseRateLimit(t *testing.T) {
	tests := []struct {
		in      string
		want    Rate
		problem string // in the error; "" for a value that parses
	}{
		{"", Rate{}, ""},
		{"50/s", Rate{50, time.Second}, ""},
		{"1000/m", Rate{1000, time.Minute}, ""},
		{"1/h", Rate{1, time.Hour}, ""},
		{"100000/s", Rate{100000, time.Second}, ""},
		{"0/s", Rate{}, "from 1 to 100000"},
		{"100001/s", Rate{}, "from 1 to 100000"},
		{"9999999999999999999/s", Rate{}, "from 1 to 100000"},
		{"-5/s", Rate{}, "is not a count"},
		{"+5/s", Rate{}, "is not a count"},
		{"5.5/s", Rate{}, "is not a count"},
		{" 5/s", Rate{}, "is not a count"},
		{"/s", Rate{}, "is not a count"},
		{"5", Rate{}, "is not a count"},
		{"5/d", Rate{}, "unit after / is s, m or h"},
		{"5/sec", Rate{}, "unit after / is s, m or h"},
		{"5/S", Rate{}, "unit after / is s, m or h"},
		{"5/s/s", Rate{}, "unit after / is s, m or h"},
		{"ten/s", Rate{}, "is not a count"},
		{strings.Repeat("9", 5000) + "/s", Rate{}, `"` + strings.Repeat("9", 24) + `"… is not a count`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRateLimit(tt.in)
			switch {
			case tt.problem == "" && err != nil:
				t.Fatalf("ParseRateLimit(%q): %v", tt.in, err)
			case tt.problem != "" && (err == nil || !strings.Contains(err.Error(), tt.problem)):
				t.Fatalf("ParseRateLimit(%q) = %v, %v; want an error with %q", tt.in, got, err, tt.problem)
			case got != tt.want:
				t.Fatalf("ParseRateLimit(%q) = %v, want %v", tt.in, got, tt.want)
			}
			if tt.problem == "" && tt.in != "" && got.String() != tt.in {
				t.Errorf("String() = %q, want %q", got.String(), tt.in)
			}
		})
	}
	if got := (Rate{10, time.Second}).Interval(); got != 100*time.Millisecond {
		t.Errorf("Interval of 10/s = %s", got)
	}
}

// TestRateLimitValidation: a malformed webhook.rate_limit is a problem named
// webhook.rate_limit on a distribution and rate_limit on a project webhook, whose delivery
// settings carry it to the sending path.
func TestRateLimitValidation(t *testing.T) {
	for _, tt := range []struct{ value, problem string }{
		{`"10/s"`, ""},
		{`"10 per second"`, "webhook.rate_limit"},
		{`"0/m"`, "webhook.rate_limit"},
		{`10`, "webhook.rate_limit"},
	} {
		t.Run(tt.value, func(t *testing.T) {
			d, err := Decode([]byte(`{"name":"n","trigger":{"events":["customer.order.paid"]},"webhook":{"event_name":"e","url":"https://example.com/h","rate_limit":` + tt.value + `}}`))
			if err == nil {
				d.Normalize()
				err = d.Validate()
			}
			var ve *ValidationError
			switch {
			case tt.problem == "" && err != nil:
				t.Fatalf("distribution: %v", err)
			case tt.problem != "" && (err == nil || !strings.Contains(err.Error(), tt.problem)):
				t.Fatalf("distribution: %v, want a problem at %s", err, tt.problem)
			case tt.problem != "" && errors.As(err, &ve) && ve.Problems[0].Field != tt.problem:
				t.Fatalf("distribution: problem at %s, want %s", ve.Problems[0].Field, tt.problem)
			}
			if tt.problem == "" && d.Redacted().Webhook.RateLimit != "10/s" {
				t.Errorf("the redacted copy (what enters history) lost rate_limit")
			}

			w, err := DecodeWebhook([]byte(`{"url":"https://example.com/h","events":["voucher.created"],"rate_limit":` + tt.value + `}`))
			if err == nil {
				w.Normalize()
				err = w.Validate()
			}
			switch {
			case tt.problem == "" && err != nil:
				t.Fatalf("webhook: %v", err)
			case tt.problem != "" && (err == nil || !strings.Contains(err.Error(), "rate_limit")):
				t.Fatalf("webhook: %v, want a problem at rate_limit", err)
			case tt.problem != "" && errors.As(err, &ve) && ve.Problems[0].Field != "rate_limit":
				t.Fatalf("webhook: problem at %s, want rate_limit", ve.Problems[0].Field)
			}
			if tt.problem == "" && w.Redacted().AsWebhook().RateLimit != "10/s" {
				t.Errorf("the project webhook's delivery settings lost rate_limit")
			}
		})
	}
}
