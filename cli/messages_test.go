package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/api"
	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/payloads"
	"github.com/hookflow/hookflow/starter"
	"github.com/hookflow/hookflow/workflows"
)

// cliMessages plays Temporal for the messages commands.
type cliMessages struct{ started []workflows.MessageInput }

func (f *cliMessages) Start(context.Context, payloads.Event) (starter.Handle, error) {
	return starter.Handle{}, nil
}

func (f *cliMessages) StartMessage(_ context.Context, in workflows.MessageInput) (starter.Handle, error) {
	f.started = append(f.started, in)
	return starter.Handle{}, nil
}

func (f *cliMessages) CancelMessage(_ context.Context, id string) (workflows.MessageProgress, error) {
	return workflows.MessageProgress{MessageID: id, Status: "canceled"}, nil
}

func TestMessagesCommands(t *testing.T) {
	fm := &cliMessages{}
	h, st := newHarness(t, &api.Server{Starter: fm})
	now := time.Now().UTC()
	if err := st.CreateDistribution(t.Context(), distributions.Distribution{ID: "distr_m", Name: "Manual", Status: "live", Version: 1,
		Trigger: distributions.Trigger{Events: []string{workflows.ManualEventType}},
		Action:  distributions.Action{Type: "notify_promotion", Campaign: json.RawMessage(`{"id":"c"}`), PromotionTier: json.RawMessage(`{"id":"p"}`)},
		Webhook: distributions.Webhook{URL: "https://example.com/h", EventName: "M", Version: "v2024-01-01"}, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, error) {
		out, errOut, err := h.run(args...)
		return out + errOut, err
	}
	dir := t.TempDir()
	files := map[string]string{
		"c.csv":   "id,email\na,a@example.com\nb,b@example.com\n",
		"c.jsonl": "{\"id\":\"a\"}\n{\"id\":\"b\"}\n{\"id\":\"c\"}\n",
		"c.json":  `[{"id":"a"}]`,
		"bad.csv": "id\na\na\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		args  []string
		total int
		delay time.Duration
	}{
		{[]string{"-f", filepath.Join(dir, "c.csv"), "--delay", "1h"}, 2, time.Hour},
		{[]string{"-f", filepath.Join(dir, "c.jsonl")}, 3, 10 * time.Minute},
		{[]string{"--file", filepath.Join(dir, "c.json"), "--delay", "5s", "--id", "my-msg"}, 1, 5 * time.Second},
		{[]string{"--customer", `{"id":"x"}`, "--delay", "0s"}, 1, 0},
	} {
		out, err := run(append([]string{"messages", "send", "distr_m", "-o", "json"}, tt.args...)...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", tt.args, err, out)
		}
		var m api.MessageView
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatal(err)
		}
		if m.Total != tt.total || m.Delay != tt.delay.String() || m.Status != "scheduled" {
			t.Errorf("%v: %s", tt.args, out)
		}
	}
	if last := fm.started[2]; last.MessageID != "my-msg" {
		t.Errorf("--id: %+v", last)
	}
	out, err := run("messages", "send", "distr_m", "-f", filepath.Join(dir, "bad.csv"))
	if err == nil || err.Error() != `422 validation_error: line 3: duplicate customer: id "a" is also at line 2; a message sends once to each customer` {
		t.Errorf("duplicate: %v\n%s", err, out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"messages", "send", "--customer", `{"id":"x"}`}, "missing DISTRIBUTION_ID: hookflow messages send DISTRIBUTION_ID"},
		{[]string{"messages", "send", "", "--customer", `{"id":"x"}`}, "DISTRIBUTION_ID is empty"},
		{[]string{"messages", "send", "distr_m"}, "give -f FILE (a file of customers) or --customer JSON"},
		{[]string{"messages", "send", "distr_m", filepath.Join(dir, "c.csv")}, "the file of customers goes after -f: hookflow messages send distr_m -f " + filepath.Join(dir, "c.csv")},
		{[]string{"messages", "send", "distr_m", "extra", "--customer", `{"id":"x"}`}, `hookflow messages send takes DISTRIBUTION_ID, and was given also ["extra"]`},
		{[]string{"messages", "send", "distr_m", "--customer", `{"id":"x"}`, "--delay", "soon"}, `--delay "soon": want a duration`},
		{[]string{"messages", "send", "distr_m", "-f", filepath.Join(dir, "c.csv"), "--format", "xml"}, `--format "xml": use csv, jsonl or json`},
		// The deprecated forms, kept for one release.
		{[]string{"messages", "send", "--distribution", "distr_m"}, "give -f FILE (a file of customers) or --customer JSON"},
		{[]string{"messages", "send", "--distribution", "distr_m", "distr_m", "--customer", `{"id":"x"}`}, "give the distribution once: hookflow messages send DISTRIBUTION_ID"},
		{[]string{"messages", "send", "distr_m", "--customers", filepath.Join(dir, "c.csv"), "-f", filepath.Join(dir, "c.csv")}, "give the file of customers once, as -f FILE"},
	} {
		if _, err := run(tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want it to say %q", tc.args, err, tc.want)
		}
	}

	out, err = run("messages", "send", "distr_m", "--customer", `{"id":"x"}`, "--id", "human")
	if err != nil || !strings.HasPrefix(out, "scheduled message human: 1 customer through distr_m (Manual), sending at ") {
		t.Errorf("send: %v %q", err, out)
	}
	out, err = run("messages", "show", "human")
	if err != nil || !strings.Contains(out, "status        scheduled") || !strings.Contains(out, "sent          0 of 1 customers (0%)") {
		t.Errorf("show: %v\n%s", err, out)
	}
	out, err = run("messages", "list")
	if err != nil || !strings.HasPrefix(out, "ID") || strings.Count(out, "\n") != 6 {
		t.Errorf("list: %v\n%s", err, out)
	}
	out, err = run("messages", "cancel", "human")
	if err != nil || out != "canceled message human: none of its 1 customer will be sent\n" {
		t.Errorf("cancel: %v %q", err, out)
	}
	if _, err := run("messages", "show", "nope"); err == nil || err.Error() != `404 not_found: no message with id "nope"` {
		t.Errorf("show unknown: %v", err)
	}
}

// The form of before the DISTRIBUTION_ID argument, --distribution ID --customers FILE,
// works for one release, and says on standard error what to write instead; standard
// output stays the command's, so -o json still reads.
func TestMessagesSendDeprecatedFlags(t *testing.T) {
	fm := &cliMessages{}
	h, st := newHarness(t, &api.Server{Starter: fm})
	now := time.Now().UTC()
	if err := st.CreateDistribution(t.Context(), distributions.Distribution{ID: "distr_m", Name: "Manual", Status: "live", Version: 1,
		Trigger: distributions.Trigger{Events: []string{workflows.ManualEventType}},
		Action:  distributions.Action{Type: "notify_promotion", Campaign: json.RawMessage(`{"id":"c"}`), PromotionTier: json.RawMessage(`{"id":"p"}`)},
		Webhook: distributions.Webhook{URL: "https://example.com/h", EventName: "M", Version: "v2024-01-01"}, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "c.csv")
	if err := os.WriteFile(file, []byte("id\na\nb\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := h.run("messages", "send", "--distribution", "distr_m", "--customers", file, "-o", "json")
	var m api.MessageView
	if err != nil || json.Unmarshal([]byte(out), &m) != nil || m.Total != 2 || m.DistributionID != "distr_m" {
		t.Fatalf("send --distribution ID --customers FILE: %v\n%s%s", err, out, errOut)
	}
	for _, want := range []string{
		"Flag --distribution has been deprecated, use `hookflow messages send DISTRIBUTION_ID` instead\n",
		"Flag --customers has been deprecated, use `hookflow messages send DISTRIBUTION_ID -f FILE` instead\n",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr %q, want it to say %q", errOut, want)
		}
	}
	// One deprecated flag with the new form of the other.
	out, errOut, err = h.run("messages", "send", "distr_m", "--customers", file, "--id", "mixed")
	if err != nil || !strings.HasPrefix(out, "scheduled message mixed: 2 customers through distr_m") ||
		errOut != "Flag --customers has been deprecated, use `hookflow messages send DISTRIBUTION_ID -f FILE` instead\n" {
		t.Errorf("send ID --customers FILE: %v\n%s\nstderr %q", err, out, errOut)
	}
	// Hidden from the help, which shows the new form.
	out, _, _ = h.run("messages", "send", "--help")
	if strings.Contains(out, "--distribution") || strings.Contains(out, "--customers") || !strings.Contains(out, "hookflow messages send DISTRIBUTION_ID") {
		t.Errorf("help:\n%s", out)
	}
	// The new form prints nothing on standard error.
	if _, errOut, err = h.run("messages", "send", "distr_m", "-f", file, "--id", "new"); err != nil || errOut != "" {
		t.Errorf("send ID -f FILE: %v, stderr %q", err, errOut)
	}
}
