package cli

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/api"
	"github.com/hookflow/hookflow/distributions"
)

// TestSettingsEmailWithoutSMTPWarns: turning failure e-mail on where no SMTP server is
// configured is told at once, on standard error, and still saved; with SMTP, or where the
// API cannot tell (hookflow api alone), nothing is said.
func TestSettingsEmailWithoutSMTPWarns(t *testing.T) {
	no, yes := false, true
	for _, tc := range []struct {
		name       string
		configured *bool
		warn       bool
	}{{"no smtp", &no, true}, {"smtp", &yes, false}, {"api alone", nil, false}} {
		t.Run(tc.name, func(t *testing.T) {
			h, st := newHarness(t, &api.Server{EmailConfigured: tc.configured})
			out, errOut, err := h.run("settings", "notifications", "--email", "--recipients", "ops@example.com")
			if err != nil {
				t.Fatal(err)
			}
			warned := strings.Contains(errOut, "warning: e-mail is on, but this hookflow has no SMTP server, so no failure e-mail goes out: restart hookflow dev (or the workers) with --smtp-url")
			if warned != tc.warn || strings.Contains(out, "warning") {
				t.Errorf("stdout %q, stderr %q; want a warning on stderr: %v", out, errOut, tc.warn)
			}
			ns, err := st.NotificationSettings(t.Context())
			if err != nil || !ns.Distributions.Email || len(ns.Distributions.Recipients) != 1 {
				t.Errorf("saved %+v (%v), want e-mail on to ops@example.com", ns, err)
			}
			if out, _, err := h.run("settings", "notifications", "-o", "json"); err != nil || strings.Contains(out, "email_configured") != (tc.configured != nil) {
				t.Errorf("-o json: %v\n%s", err, out)
			}
		})
	}
}

// TestSettingsBreaker: the default circuit breaker is set, shown, changed in part and
// removed; bad flags are refused naming the flag, before any request.
func TestSettingsBreaker(t *testing.T) {
	h, st := newHarness(t, &api.Server{})
	steps := []struct {
		args []string
		out  string
	}{
		{[]string{"settings", "breaker"}, "default circuit breaker: off\n"},
		{[]string{"settings", "breaker", "--failures", "5"}, "default circuit breaker: opens after 5 failed first attempts in a row, probes every 30s\n"},
		{[]string{"settings", "breaker", "--probe-interval", "1m"}, "default circuit breaker: opens after 5 failed first attempts in a row, probes every 1m0s\n"},
		{[]string{"settings", "breaker", "-o", "json"}, `"failures": 5`},
		{[]string{"settings", "breaker", "--failures", "0"}, "default circuit breaker: off\n"},
	}
	for _, s := range steps {
		out, errOut, err := h.run(s.args...)
		if err != nil || !strings.Contains(out, s.out) {
			t.Fatalf("%v: %v %q %q, want %q", s.args, err, out, errOut, s.out)
		}
	}
	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"settings", "breaker", "--failures", "-2"}, "--failures"},
		{[]string{"settings", "breaker", "--failures", "5000"}, "--failures"},
		{[]string{"settings", "breaker", "--failures", "3", "--probe-interval", "30"}, "--probe-interval"},
		{[]string{"settings", "breaker", "--probe-interval", "1m"}, "--probe-interval: there is no default breaker"},
		{[]string{"settings", "breaker", "--failures", "3", "--probe-interval", "2h"}, "default.probe_interval"},
	} {
		if _, errOut, err := h.run(bad.args...); err == nil || !strings.Contains(errOut+err.Error(), bad.want) {
			t.Errorf("%v: %v %q, want an error naming %s", bad.args, err, errOut, bad.want)
		}
	}
	if bs, err := st.BreakerSettings(t.Context()); err != nil || bs.Default != nil {
		t.Errorf("stored %+v, %v; want none", bs, err)
	}
}

// TestDistributionBreakerFlags: create and update set webhook.circuit_breaker from flags,
// an update keeps what it does not name, and bad values are refused naming the flag.
func TestDistributionBreakerFlags(t *testing.T) {
	h, st := newHarness(t, &api.Server{})
	out, _, err := h.run("distributions", "create", "--name", "B", "--events", "customer.order.paid",
		"--url", "http://127.0.0.1:9/hooks", "--event-name", "Order-paid", "--breaker-failures", "4", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var created struct{ ID string }
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.ID == "" {
		t.Fatalf("create: %v %s", err, out)
	}
	if _, _, err := h.run("distributions", "update", created.ID, "--breaker-probe-interval", "5s"); err != nil {
		t.Fatal(err)
	}
	d, err := st.GetDistribution(t.Context(), created.ID)
	if err != nil || d.Webhook.CircuitBreaker == nil || *d.Webhook.CircuitBreaker != (distributions.CircuitBreaker{Failures: 4, ProbeInterval: distributions.Duration(5 * time.Second)}) {
		t.Fatalf("stored %+v, %v", d.Webhook.CircuitBreaker, err)
	}
	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"--breaker-failures", "x"}, "--breaker-failures"},
		{[]string{"--breaker-failures", "-1"}, "--breaker-failures"},
		{[]string{"--breaker-probe-interval", "5"}, "--breaker-probe-interval"},
		{[]string{"--breaker-probe-interval", "100ms"}, "webhook.circuit_breaker.probe_interval"},
	} {
		if _, errOut, err := h.run(append([]string{"distributions", "update", created.ID}, bad.args...)...); err == nil || !strings.Contains(errOut+err.Error(), bad.want) {
			t.Errorf("%v: %v %q, want an error naming %s", bad.args, err, errOut, bad.want)
		}
	}
}
