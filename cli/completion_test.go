package cli

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/api"
	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/store"
	"github.com/hookflow/hookflow/workflows"
)

// complete runs `hookflow __complete words...` (what a shell's completion script runs on
// Tab) and returns the completions it offers, without their descriptions, and its
// directive line.
func complete(t *testing.T, h *harness, words ...string) ([]string, string) {
	t.Helper()
	out, errOut, err := h.run(append([]string{"__complete"}, words...)...)
	if err != nil {
		t.Fatalf("__complete %q: %v %s", words, err, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	var got []string
	for _, l := range lines[:len(lines)-1] {
		id, _, _ := strings.Cut(l, "\t")
		got = append(got, id)
	}
	return got, lines[len(lines)-1]
}

// TestCompletion: completion of ids through the API (the --api of the line) for the
// commands that take them and --distribution, of -o, --status and event types from their
// values; `completion SHELL` prints each shell's script.
func TestCompletion(t *testing.T) {
	h, st := newHarness(t, &api.Server{Starter: &cliMessages{}, Log: cliLog{}})
	apiURL := h.api
	h.api = "" // --api goes before the word completed
	ctx := t.Context()
	now := time.Now().UTC()
	for _, d := range []distributions.Distribution{
		{ID: "distr_aa", Name: "Orders", Status: "live", Trigger: distributions.Trigger{Events: []string{"customer.order.paid"}}},
		{ID: "distr_ab", Name: "Segments", Status: "paused", Trigger: distributions.Trigger{Events: []string{"customer.segment.*"}}},
		{ID: "distr_b", Name: "Manual", Status: "live", Trigger: distributions.Trigger{Events: []string{workflows.ManualEventType}}},
	} {
		d.Version, d.CreatedAt, d.UpdatedAt = 1, now, now
		if err := st.CreateDistribution(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.CreateMessage(ctx, store.Message{ID: "msg_c", DistributionID: "distr_b", DistributionName: "Manual", Status: store.MessageScheduled,
		SendAt: now, Total: 1, CreatedAt: now, UpdatedAt: now}, []json.RawMessage{[]byte(`{"id":"a"}`)}); err != nil {
		t.Fatal(err)
	}
	out, _, err := h.run("webhooks", "create", "--url", "https://example.com/wh", "--events", "voucher.created", "--api", apiURL, "-o", "json")
	var hook struct {
		ID string `json:"id"`
	}
	if err != nil || json.Unmarshal([]byte(out), &hook) != nil || !strings.HasPrefix(hook.ID, "wh_") {
		t.Fatalf("webhooks create: %v %s", err, out)
	}
	segments := []string{"customer.segment.entered", "customer.segment.left"}
	for _, tc := range []struct {
		words []string
		want  []string
	}{
		{[]string{"distributions", "show", "--api", apiURL, ""}, []string{"distr_aa", "distr_ab", "distr_b"}},
		{[]string{"distributions", "get", "--api", apiURL, "distr_a"}, []string{"distr_aa", "distr_ab"}},
		{[]string{"distr", "pause", "--api", apiURL, "distr_b"}, []string{"distr_b"}},
		{[]string{"distributions", "test", "--api", apiURL, ""}, []string{"distr_aa", "distr_ab", "distr_b"}},
		{[]string{"distributions", "get", "distr_aa", "--api", apiURL, ""}, nil}, // one ID only
		{[]string{"messages", "send", "--api", apiURL, "distr_"}, []string{"distr_aa", "distr_ab", "distr_b"}},
		{[]string{"deliveries", "show", "--api", apiURL, ""}, []string{"whs_out"}},
		{[]string{"deliveries", "retry", "--api", apiURL, "whs"}, []string{"whs_out"}},
		{[]string{"messages", "show", "--api", apiURL, ""}, []string{"msg_c"}},
		{[]string{"messages", "cancel", "--api", apiURL, "msg_"}, []string{"msg_c"}},
		{[]string{"trigger", "--api", apiURL, "--distribution", ""}, []string{"distr_aa", "distr_ab", "distr_b"}},
		{[]string{"webhooks", "delete", "--api", apiURL, ""}, []string{hook.ID}},
		{[]string{"deliveries", "list", "--api", apiURL, "--distribution", "distr_b"}, []string{"distr_b"}},
		{[]string{"distributions", "test", "distr_ab", "--api", apiURL, "--type", ""}, segments},
		{[]string{"distributions", "test", "distr_nope", "--api", apiURL, "--type", "customer.segment."}, segments},
		{[]string{"deliveries", "list", "--status", ""}, []string{"delivered", "retrying", "queued", "failed", "no_match", "skipped", "throttled", "held"}},
		{[]string{"deliveries", "list", "--status", "f"}, []string{"failed"}},
		{[]string{"distributions", "create", "--status", ""}, []string{"live", "paused", "draft"}},
		{[]string{"distributions", "list", "-o", ""}, []string{"text", "json", "jsonl", "yaml"}},
		{[]string{"keys", "list", "--output", "j"}, []string{"json", "jsonl"}},
		{[]string{"trigger", "customer.segment."}, segments},
		{[]string{"deliveries", "list", "--event-type", "customer.segment."}, segments},
	} {
		got, directive := complete(t, h, tc.words...)
		if strings.Join(got, " ") != strings.Join(tc.want, " ") || directive != ":4" {
			t.Errorf("__complete %q: %q %s, want %q :4 (no files)", tc.words, got, directive, tc.want)
		}
	}

	// Each id comes with what it is.
	out, _, _ = h.run("__complete", "distributions", "show", "--api", apiURL, "distr_aa")
	if !strings.HasPrefix(out, "distr_aa\tOrders (live)\n") {
		t.Errorf("the completion of distr_aa: %q", out)
	}

	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		out, _, err := h.run("completion", shell)
		if err != nil || !strings.Contains(out, "hookflow") || !strings.Contains(out, "__complete") {
			t.Errorf("completion %s: %v\n%.200s", shell, err, out)
		}
	}
}

// TestCompletionWithoutTheAPI: with the API down or hanging, completing an id offers
// nothing, prints nothing but the directive and takes no longer than its short timeout.
func TestCompletionWithoutTheAPI(t *testing.T) {
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	t.Cleanup(hang.Close)
	refused := httptest.NewServer(http.NotFoundHandler())
	refused.Close()
	teapot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
		w.Write([]byte("<html>not the API</html>"))
	}))
	t.Cleanup(teapot.Close)
	h := &harness{t: t, env: map[string]string{}}
	for _, api := range []string{refused.URL, hang.URL, teapot.URL, "not a url", "ftp://x"} {
		for i, words := range [][]string{
			{"distributions", "show", "--api", api, ""},
			{"deliveries", "show", "--api", api, ""},
			{"messages", "show", "--api", api, ""},
			{"trigger", "--api", api, "--distribution", ""},
			{"distributions", "test", "distr_x", "--api", api, "--type", "customer.order.p"},
		} {
			if api == hang.URL && i > 1 {
				continue // each waits out the timeout
			}
			start := time.Now()
			out, errOut, err := h.run(append([]string{"__complete"}, words...)...)
			took := time.Since(start)
			want := ":4\n"
			if words[len(words)-1] == "customer.order.p" {
				want = "customer.order.paid\n:4\n" // the types, without the distribution's
			}
			if err != nil || out != want || strings.Contains(errOut, "Error") || took > completionTimeout+time.Second {
				t.Errorf("__complete %q: %v, %q %q after %v", words, err, out, errOut, took)
			}
		}
	}
	// HOOKFLOW_API is read as by every command.
	h.env["HOOKFLOW_API"] = refused.URL
	if out, _, err := h.run("__complete", "distributions", "show", ""); err != nil || out != ":4\n" {
		t.Errorf("with HOOKFLOW_API down: %v %q", err, out)
	}
}
