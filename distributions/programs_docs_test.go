package distributions

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestProgramsDocTable: the table of docs/programs.md lists exactly what the presets make
// for its campaigns (loyalty for camp_loyal; referral for camp_ref with --recipient both):
// program, notification, triggers, event name, recipient and the distribution's name.
func TestProgramsDocTable(t *testing.T) {
	const docPath = "../docs/programs.md"
	doc, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	backticked := regexp.MustCompile("`([^`]*)`")
	ticks := func(cell string) []string {
		var out []string
		for _, m := range backticked.FindAllStringSubmatch(cell, -1) {
			out = append(out, m[1])
		}
		return out
	}
	type row struct{ program, notification, events, eventName, recipient, name string }
	var documented []row
	for _, line := range strings.Split(string(doc), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) != 8 || !slices.Contains([]string{ProgramLoyalty, ProgramReferral}, strings.TrimSpace(cells[1])) {
			continue
		}
		var events []string
		for _, e := range ticks(cells[3]) {
			if !strings.HasPrefix(e, "data.") { // a note on the payload, not a trigger
				events = append(events, e)
			}
		}
		documented = append(documented, row{strings.TrimSpace(cells[1]), strings.Join(ticks(cells[2]), ","), strings.Join(events, ","),
			strings.Join(ticks(cells[4]), ","), strings.TrimSpace(cells[5]), strings.Join(ticks(cells[6]), ",")})
	}

	var made []row
	for _, p := range []struct {
		program string
		req     ProgramRequest
	}{
		{ProgramLoyalty, ProgramRequest{Campaign: "camp_loyal", URL: "https://crm.example.com/hooks"}},
		{ProgramReferral, ProgramRequest{Campaign: "camp_ref", URL: "https://crm.example.com/hooks", Recipient: RecipientBoth}},
	} {
		ds, err := p.req.Build(p.program)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			made = append(made, row{p.program, d.Labels[LabelNotification], strings.Join(d.Trigger.Events, ","),
				d.Webhook.EventName, d.Trigger.Recipient, d.Name})
		}
	}
	if !slices.Equal(documented, made) {
		t.Errorf("%s's table of what each preset makes:\n got  %q\n want %q (what the presets make)", docPath, documented, made)
	}
	for _, campaign := range []string{"loyalty  camp_loyal", "referral camp_ref"} {
		if !strings.Contains(string(doc), campaign) {
			t.Errorf("%s: the table is for %s, which its commands do not use", docPath, campaign)
		}
	}
}
