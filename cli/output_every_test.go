package cli

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/hookflow/hookflow/api"
	"github.com/hookflow/hookflow/deliverylog"
	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/store"
	"github.com/hookflow/hookflow/workflows"
)

// cliLog plays the delivery log (Temporal's visibility and histories) for the deliveries
// commands and recover: one delivery, on one event.
type cliLog struct{}

func (cliLog) Delivery(_ context.Context, id string) (deliverylog.Delivery, error) {
	return deliverylog.Delivery{ID: id, EventID: "evt_out", Status: workflows.StatusFailed, Attempts: []deliverylog.Attempt{}}, nil
}

func (cliLog) ListEvents(context.Context, deliverylog.EventFilter) (deliverylog.EventPage, error) {
	return deliverylog.EventPage{Events: []deliverylog.EventSummary{{WorkflowID: "event/evt_out", EventType: "customer.order.paid",
		Status: workflows.StatusFailed, Deliveries: []string{"whs_out"}, StartedAt: time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)}}}, nil
}

func (cliLog) Resend(context.Context, string) (deliverylog.Run, error) {
	return deliverylog.Run{EventID: "evt_out", WorkflowID: "resend/whs_out/1", RunID: "r1"}, nil
}

func (cliLog) Recover(context.Context, string, time.Time, time.Time, int) ([]deliverylog.Recovered, error) {
	return []deliverylog.Recovered{{DeliveryID: "whs_out", EventID: "evt_out", Resent: &deliverylog.Run{EventID: "evt_out", WorkflowID: "resend/whs_out/1"}}}, nil
}

// outputCase is a command line of TestOutputEveryCommand.
type outputCase struct {
	// path names the command (distributions get); args are its arguments and flags, made
	// when it runs, after the commands before it.
	path string
	args func() []string
	// yaml: running it again changes nothing, so it runs with -o yaml as well.
	yaml bool
	// created, when set, is the kind whose id the JSON output's "id" holds.
	created string
	// long: it starts Temporal (skipped with -short).
	long bool
}

// TestOutputEveryCommand runs every command that prints a result with -o json (and, where
// running it again changes nothing, -o yaml too) and checks that what it prints parses. It
// walks the command tree: a command that prints a result and has no case here fails the
// test, so a new command gets one. The commands that print no data (processes that run
// until stopped) refuse -o (TestOutputRefused).
func TestOutputEveryCommand(t *testing.T) {
	h, st := newHarness(t, &api.Server{Starter: &cliMessages{}, Log: cliLog{}})
	ctx := t.Context()
	now := time.Now().UTC()
	if err := st.CreateDistribution(ctx, distributions.Distribution{ID: "distr_manual", Name: "Manual", Status: "live", Version: 1,
		Trigger: distributions.Trigger{Events: []string{workflows.ManualEventType}},
		Action:  distributions.Action{Type: "notify_promotion", Campaign: json.RawMessage(`{"id":"c"}`), PromotionTier: json.RawMessage(`{"id":"p"}`)},
		Webhook: distributions.Webhook{URL: "https://example.com/manual", EventName: "M", Version: "v2024-01-01"}, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.AddNotification(ctx, store.Notification{ID: "ntf_out", DeliveryID: "whs_out", Message: "m", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	ready := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	t.Cleanup(ready.Close)
	dir := t.TempDir()
	codesFile, applyFile := filepath.Join(dir, "codes.txt"), writeApplyFile(t, applyDoc("Applied"))
	if err := os.WriteFile(codesFile, []byte("CODE-1\nCODE-2\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	// ids are what the creating commands printed, for the commands after them.
	ids := map[string]string{}
	id := func(kind string) string {
		if ids[kind] == "" {
			t.Fatalf("no %s was created before it is used", kind)
		}
		return ids[kind]
	}
	cases := []outputCase{
		{path: "version", yaml: true},
		{path: "health", args: func() []string { return []string{ready.URL + "/readyz"} }, yaml: true},
		{path: "send", args: func() []string {
			return []string{"--type", "customer.order.paid", "--id", "evt_out", "--data", `{"customer":{"id":"c"},"order":{"id":"o","amount":1}}`}
		}, yaml: true},
		{path: "trigger", args: func() []string { return []string{"customer.order.paid"} }, yaml: true},
		{path: "distributions create", created: "distribution", args: func() []string {
			return []string{"--name", "Out", "--events", "customer.order.paid", "--url", "https://example.com/out", "--event-name", "Order-paid"}
		}},
		{path: "distributions get", args: func() []string { return []string{id("distribution")} }, yaml: true},
		{path: "distributions list", yaml: true},
		{path: "distributions update", args: func() []string { return []string{id("distribution"), "--url", "https://example.com/out2"} }, yaml: true},
		{path: "distributions pause", args: func() []string { return []string{id("distribution")} }},
		{path: "distributions resume", args: func() []string { return []string{id("distribution")} }},
		{path: "distributions recover", args: func() []string { return []string{id("distribution"), "--since", "24h"} }},
		{path: "distributions apply", args: func() []string { return []string{"-f", applyFile} }, yaml: true},
		{path: "distributions test", args: func() []string { return []string{id("distribution")} }, yaml: true},
		{path: "deliveries list", yaml: true},
		{path: "deliveries show", args: func() []string { return []string{"whs_out"} }, yaml: true},
		{path: "deliveries retry", args: func() []string { return []string{"whs_out"} }},
		{path: "webhooks create", created: "webhook", args: func() []string {
			return []string{"--url", "https://example.com/wh", "--events", "voucher.created"}
		}},
		{path: "webhooks get", args: func() []string { return []string{id("webhook")} }, yaml: true},
		{path: "webhooks list", yaml: true},
		{path: "webhooks update", args: func() []string { return []string{id("webhook"), "--active=false"} }, yaml: true},
		{path: "webhooks delete", args: func() []string { return []string{id("webhook")} }},
		// A second manage key: the last one cannot be revoked.
		{path: "keys create", args: func() []string { return []string{"--name", "spare", "--scope", "manage"} }},
		{path: "keys create", created: "key", args: func() []string { return []string{"--name", "ops", "--scope", "manage"} }},
		{path: "keys list", yaml: true},
		{path: "keys revoke", args: func() []string { return []string{id("key")} }},
		{path: "codes import", args: func() []string { return []string{"camp_out", "-f", codesFile} }, yaml: true},
		{path: "codes stats", args: func() []string { return []string{"camp_out"} }, yaml: true},
		{path: "messages send", created: "message", args: func() []string { return []string{"distr_manual", "--customer", `{"id":"cust_1"}`} }},
		{path: "messages show", args: func() []string { return []string{id("message")} }, yaml: true},
		{path: "messages list", yaml: true},
		{path: "messages cancel", args: func() []string { return []string{id("message")} }},
		{path: "notifications list", yaml: true},
		{path: "notifications read", args: func() []string { return []string{"ntf_out"} }, yaml: true},
		{path: "programs loyalty", args: func() []string { return []string{"camp_loyal", "--url", "https://example.com/loyal"} }},
		{path: "programs referral", args: func() []string {
			return []string{"camp_ref", "--url", "https://example.com/ref", "--recipient", "both"}
		}},
		{path: "programs list", yaml: true},
		{path: "programs pause", args: func() []string { return []string{"loyalty", "camp_loyal"} }},
		{path: "programs resume", args: func() []string { return []string{"loyalty", "camp_loyal"} }},
		{path: "programs delete", args: func() []string { return []string{"loyalty", "camp_loyal"} }},
		{path: "secrets show", yaml: true},
		{path: "secrets rotate"},
		{path: "settings notifications", yaml: true},
		{path: "settings breaker", args: func() []string { return []string{"--failures", "3"} }, yaml: true},
		{path: "distributions delete", args: func() []string { return []string{id("distribution")} }},
		{path: "bench", long: true, args: func() []string {
			return []string{"--events", "1", "--concurrency", "1", "--rounds", "1", "--baselines=false", "--data-dir", t.TempDir()}
		}},
	}

	// Every runnable command that prints data has a case.
	var walk func(cmd *cobra.Command, path []string)
	walk = func(cmd *cobra.Command, path []string) {
		if cmd.Runnable() && len(path) > 0 && cmd.Annotations[noOutputAnnotation] == "" {
			name := strings.Join(path, " ")
			if !slices.ContainsFunc(cases, func(c outputCase) bool { return c.path == name }) {
				t.Errorf("hookflow %s prints a result but has no case in TestOutputEveryCommand: add one", name)
			}
		}
		for _, sub := range cmd.Commands() {
			walk(sub, append(slices.Clone(path), sub.Name()))
		}
	}
	walk(newRootCommand(func(string) string { return "" }), nil)

	for _, tc := range cases {
		if tc.long && testing.Short() {
			continue
		}
		var args []string
		if tc.args != nil {
			args = tc.args()
		}
		cmdline := append(strings.Fields(tc.path), args...)
		out, errOut, err := h.run(append(cmdline, "-o", "json")...)
		var v map[string]any
		var anyV any
		if err != nil || strings.TrimSpace(out) == "" || json.Unmarshal([]byte(out), &anyV) != nil {
			t.Errorf("hookflow %s -o json: %v; stdout is not one JSON value:\n%s\nstderr:\n%s", strings.Join(cmdline, " "), err, out, errOut)
			continue
		}
		if tc.created != "" {
			if json.Unmarshal([]byte(out), &v) != nil || v["id"] == nil {
				t.Fatalf("hookflow %s -o json: no id in %s", tc.path, out)
			}
			ids[tc.created], _ = v["id"].(string)
		}
		if !tc.yaml {
			continue
		}
		out, errOut, err = h.run(append(cmdline, "-o", "yaml")...)
		var y any
		if err != nil || strings.TrimSpace(out) == "" || yaml.Unmarshal([]byte(out), &y) != nil || y == nil {
			t.Errorf("hookflow %s -o yaml: %v; stdout is not YAML:\n%s\nstderr:\n%s", strings.Join(cmdline, " "), err, out, errOut)
		}
	}
}
