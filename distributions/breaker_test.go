package distributions

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestCircuitBreakerField: webhook.circuit_breaker is read, kept in the redacted copy (what
// enters history), and every bad value is refused naming its field.
func TestCircuitBreakerField(t *testing.T) {
	tests := []struct {
		name    string
		breaker string
		want    *CircuitBreaker
		problem string // the field of a Validate problem
		decode  string // part of a Decode error
	}{
		{"absent", ``, nil, "", ""},
		{"on", `,"circuit_breaker":{"failures":5,"probe_interval":"1m"}`, &CircuitBreaker{Failures: 5, ProbeInterval: Duration(time.Minute)}, "", ""},
		{"off", `,"circuit_breaker":{"failures":0}`, &CircuitBreaker{}, "", ""},
		{"negative", `,"circuit_breaker":{"failures":-1}`, nil, "webhook.circuit_breaker.failures", ""},
		{"too many", `,"circuit_breaker":{"failures":100000}`, nil, "webhook.circuit_breaker.failures", ""},
		{"probe too short", `,"circuit_breaker":{"failures":3,"probe_interval":"500ms"}`, nil, "webhook.circuit_breaker.probe_interval", ""},
		{"probe too long", `,"circuit_breaker":{"failures":3,"probe_interval":"1d"}`, nil, "webhook.circuit_breaker.probe_interval", ""},
		{"probe negative", `,"circuit_breaker":{"failures":3,"probe_interval":"-5s"}`, nil, "webhook.circuit_breaker.probe_interval", ""},
		{"probe without unit", `,"circuit_breaker":{"failures":3,"probe_interval":"30"}`, nil, "", "probe_interval"},
		{"failures a string", `,"circuit_breaker":{"failures":"3"}`, nil, "", "failures"},
		{"failures a fraction", `,"circuit_breaker":{"failures":2.5}`, nil, "", "failures"},
		{"unknown field", `,"circuit_breaker":{"failures":3,"window":"1m"}`, nil, "", "window"},
		{"not an object", `,"circuit_breaker":true`, nil, "", "circuit_breaker"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Decode([]byte(`{"name":"n","trigger":{"events":["customer.order.paid"]},"webhook":{"event_name":"e","url":"https://example.com/h"` + tt.breaker + `}}`))
			if tt.decode != "" {
				if err == nil || !strings.Contains(err.Error(), tt.decode) {
					t.Fatalf("Decode: %v, want an error naming %s", err, tt.decode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			d.Normalize()
			err = d.Validate()
			var ve *ValidationError
			switch {
			case tt.problem == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tt.problem != "" && (!errors.As(err, &ve) || ve.Problems[0].Field != tt.problem):
				t.Fatalf("Validate: %v, want a problem at %s", err, tt.problem)
			case tt.problem != "":
				return
			}
			got := d.Redacted().Webhook.CircuitBreaker
			if (got == nil) != (tt.want == nil) || got != nil && *got != *tt.want {
				t.Errorf("redacted circuit_breaker %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestEffectiveBreaker(t *testing.T) {
	def := &CircuitBreaker{Failures: 5}
	own := &CircuitBreaker{Failures: 2, ProbeInterval: Duration(time.Minute)}
	off := &CircuitBreaker{}
	tests := []struct {
		name              string
		own, installation *CircuitBreaker
		want              *CircuitBreaker
	}{
		{"neither", nil, nil, nil},
		{"the default, its interval filled in", nil, def, &CircuitBreaker{Failures: 5, ProbeInterval: Duration(DefaultProbeInterval)}},
		{"its own over the default", own, def, own},
		{"off over the default", off, def, nil},
		{"a default that is off", nil, off, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := EffectiveBreaker(tt.own, tt.installation)
			if (got == nil) != (tt.want == nil) || got != nil && *got != *tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
