package cli

import (
	"strings"
	"testing"

	"github.com/hookflow/hookflow/api"
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
