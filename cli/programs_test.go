package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/api"
)

// TestProgramsCommand runs the presets and the group commands against a real API and
// store, in text and JSON, and checks that bad flags name what is wrong.
func TestProgramsCommand(t *testing.T) {
	h, _ := newHarness(t, &api.Server{})
	run := func(output string, args ...string) (string, error) {
		out, errOut, err := h.run(append(append([]string{"programs"}, args...), "-o", output)...)
		return out + errOut, err
	}

	out, err := run("text", "referral", "camp_ref", "--url", "https://example.com/hooks", "--recipient", "referee")
	if err != nil || !strings.Contains(out, "referral program for campaign camp_ref: 1 created, 0 updated") || !strings.Contains(out, "referee-joined  referee  live") {
		t.Fatalf("referral: %v\n%s", err, out)
	}
	out, err = run("json", "loyalty", "camp_loyal", "--url", "https://example.com/hooks", "--notify", "points-added", "--draft")
	var res api.ProgramResult
	if err != nil || json.Unmarshal([]byte(out), &res) != nil || len(res.Created) != 1 || res.Status != "draft" {
		t.Fatalf("loyalty -o json: %v\n%s", err, out)
	}
	if out, err := run("text", "list"); err != nil || !strings.Contains(out, "loyalty camp_loyal (draft)") || !strings.Contains(out, "referral camp_ref (live)") {
		t.Errorf("list: %v\n%s", err, out)
	}
	if out, err := run("text", "pause", "referral", "camp_ref"); err != nil || !strings.Contains(out, "referral camp_ref is paused") {
		t.Errorf("pause: %v\n%s", err, out)
	}
	if out, err := run("text", "delete", "loyalty", "camp_loyal"); err != nil || !strings.Contains(out, "deleted the loyalty program notifications of camp_loyal") {
		t.Errorf("delete: %v\n%s", err, out)
	}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"loyalty", "--url", "https://example.com"}, "missing CAMPAIGN_ID: hookflow programs loyalty CAMPAIGN_ID"},
		{[]string{"loyalty", "", "--url", "https://example.com"}, "campaign: is required"},
		{[]string{"loyalty", "--campaign", "c", "c", "--url", "https://example.com"}, "give the campaign once: hookflow programs loyalty CAMPAIGN_ID"},
		{[]string{"loyalty", "c", "--url", "https://example.com", "--notify", "birthday"}, `notify[0]: "birthday" is not one of card-published, points-added, reward-redeemed`},
		{[]string{"referral", "c", "--url", "https://example.com", "--recipient", "friend"}, `recipient: "friend" is not one of referrer, referee, both`},
		{[]string{"loyalty", "c", "--url", "https://example.com", "--recipient", "referee"}, "unknown flag --recipient for hookflow programs loyalty"},
		{[]string{"pause", "loyalty"}, "missing CAMPAIGN: hookflow programs pause PROGRAM CAMPAIGN"},
		{[]string{"resume", "loyalty", "camp_none"}, `no loyalty program notifications for campaign "camp_none"`},
	} {
		if _, err := run("text", tt.args...); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: err %v, want %q", tt.args, err, tt.want)
		}
	}
}

// The form of before the CAMPAIGN_ID argument, --campaign ID, works for one release, and
// says on standard error what to write instead.
func TestProgramsDeprecatedCampaignFlag(t *testing.T) {
	h, _ := newHarness(t, &api.Server{})
	out, errOut, err := h.run("programs", "loyalty", "--campaign", "camp_old", "--url", "https://example.com/hooks", "-o", "json")
	var res api.ProgramResult
	if err != nil || json.Unmarshal([]byte(out), &res) != nil || res.Campaign != "camp_old" || len(res.Created) != 3 {
		t.Errorf("loyalty --campaign ID: %v\n%s", err, out)
	}
	if want := "Flag --campaign has been deprecated, use `hookflow programs loyalty CAMPAIGN_ID --url URL` instead\n"; errOut != want {
		t.Errorf("stderr %q, want %q", errOut, want)
	}
	if _, errOut, err = h.run("programs", "referral", "camp_new", "--url", "https://example.com/hooks"); err != nil || errOut != "" {
		t.Errorf("referral CAMPAIGN_ID: %v, stderr %q", err, errOut)
	}
}
