package workflows

import (
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/distributions"
)

var updateLabels = flag.Bool("update", false, "rewrite testdata/labels.golden.md")

// labelSecrets are what a label must never show, though the snapshot holds them: user
// info, a query token, a signing secret, a secret header's value.
var labelSecrets = []string{"alice", "pa55word", "tok3n", "whsec_labelsecret", "h3ader-value"}

func labelSnapshot() *distributions.Snapshot {
	return &distributions.Snapshot{
		ProjectID: "proj_1",
		Candidates: []distributions.Distribution{
			{ID: "distr_1", Name: "Paid orders", Status: "live", Webhook: distributions.Webhook{
				URL: "https://alice:pa55word@hooks.example.com/orders?token=tok3n#frag", Secret: "whsec_labelsecret",
				Headers: []distributions.Header{{Name: "x-api-key", Value: "h3ader-value", Secret: true}}}},
			{ID: "distr_2", Name: "  Refunds\nteam  ", Status: "paused", Webhook: distributions.Webhook{URL: "http://127.0.0.1:8080/r"}},
		},
		Webhooks: []distributions.ProjectWebhook{
			{ID: "wh_1", URL: "https://ops.example.net/in?key=tok3n", Active: true},
			{ID: "wh_2", URL: "https://audit.example.org/", Description: "Audit log"},
		},
	}
}

// TestLabelsGolden writes every label of one event's delivery log, as the Web UI shows
// them, beside each other in one golden file: a change of wording shows in review. Run with
// -update to rewrite it.
func TestLabelsGolden(t *testing.T) {
	snap := labelSnapshot()
	at := time.Date(2026, 12, 5, 20, 15, 0, 0, time.UTC)
	custom := distributions.RetrySchedule{Intervals: []time.Duration{time.Second, 2 * time.Second}}
	long := distributions.RetrySchedule{Intervals: []time.Duration{1, 2, 3, 4, 5, 6, 7}}
	sections := []struct{ title, text string }{
		{"event summary", EventSummary("customer.order.paid", "evt_1", snap)},
		{"event summary, candidates not read", EventSummary("customer.order.paid", "evt_1", nil)},
		{"event details", EventDetails("customer.order.paid", snap)},
		{"message summary", MessageSummary("customer.order.paid", "msg_1/0-39", 40)},
		{"event details, none subscribed", EventDetails("customer.order.paid", &distributions.Snapshot{})},
		{"event details, candidates not read", EventDetails("customer.order.paid", nil)},
		{"attempt", AttemptSummary("Paid orders", snap.Candidates[0].Webhook.URL, 3, 13)},
		{"attempt, unparsable URL", AttemptSummary("Paid orders", "://nope", 1, 2)},
		{"wait, named schedule", WaitSummary("Paid orders", 3, 13, distributions.RetrySchedule{Name: distributions.ScheduleVoucherify})},
		{"wait, custom schedule", WaitSummary("Failing orders", 2, 3, custom)},
		{"wait, long custom schedule", WaitSummary("Failing orders", 2, 8, long)},
		{"rate limit token", RateTokenSummary("Paid orders", 1, 13)},
		{"rate limit wait", RateWaitSummary("Paid orders", "10/s")},
		{"load candidates", LoadCandidatesSummary("customer.order.paid")},
		{"publish a code", PublishCodeSummary("Coupons")},
		{"pause", PauseSummary("Failing orders", "distribution", ReasonExhausted, 3)},
		{"disable", PauseSummary("Audit log", "webhook", ReasonGone, 1)},
		{"notify", NotifySummary(ActivityNotifyFailure, "Failing orders", ReasonExhausted, 3)},
		{"e-mail", NotifySummary(ActivitySendFailureEmail, "Failing orders", ReasonRejected, 1)},
		{"alert", NotifySummary(ActivitySendFailureAlert, "Coupons", ReasonNoCode, 0)},
		{"current, first attempts in flight", currentDetails([]deliveryState{
			{name: "Paid orders", attempt: 1, attempts: 13}, {name: "Failing orders", attempt: 1, attempts: 3}})},
		{"current, one retrying", currentDetails([]deliveryState{
			{name: "A", status: StatusDelivered, attempt: 1}, {name: "B", status: StatusDelivered, attempt: 2},
			{name: "Paid orders", status: StatusRetrying, attempt: 3, attempts: 13, next: at}})},
		{"current, one throttled", currentDetails([]deliveryState{
			{name: "A", status: StatusDelivered, attempt: 1},
			{name: "Paid orders", status: StatusThrottled, attempt: 1, attempts: 13}})},
		{"current, finished", currentDetails([]deliveryState{
			{name: "Paid orders", status: StatusDelivered, attempt: 1},
			{name: "Failing orders", status: StatusFailed, attempt: 3, reason: ReasonExhausted, paused: true},
			{name: "Coupons", status: StatusFailed, reason: ReasonNoCode}})},
		{"no match", unmatchedDetails(0, 0)},
		{"skipped", unmatchedDetails(2, 1)},
		{"filter errors", unmatchedDetails(0, 1)},
	}
	var b strings.Builder
	for _, s := range sections {
		b.WriteString("## " + s.title + "\n\n" + s.text + "\n\n")
		for _, secret := range labelSecrets {
			if strings.Contains(s.text, secret) {
				t.Errorf("%s shows %q: %s", s.title, secret, s.text)
			}
		}
	}
	const golden = "testdata/labels.golden.md"
	if *updateLabels {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Errorf("labels differ from %s (rewrite with -update if meant)\ngot:\n%s", golden, b.String())
	}
}

func TestLabelTarget(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"https://hooks.example.com/orders", "hooks.example.com/orders"},
		{"https://u:p@hooks.example.com/a%20b?x=1#f", "hooks.example.com/a%20b"},
		{"http://127.0.0.1:8080", "127.0.0.1:8080"},
		{"not a url", "(invalid URL)"},
		{"", "(invalid URL)"},
	} {
		if got := labelTarget(tc.url); got != tc.want {
			t.Errorf("labelTarget(%q) = %q, want %q", tc.url, got, tc.want)
		}
	}
}

func TestLabelName(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"Paid orders", "Paid orders"},
		{" two\n lines\t", "two lines"},
		{"", "(unnamed)"},
		{strings.Repeat("é", 100), strings.Repeat("é", maxLabelName-1) + "…"},
	} {
		if got := labelName(tc.name); got != tc.want {
			t.Errorf("labelName(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestCurrentDetailsListsAtMost: a workflow of many deliveries names maxListed of them and
// counts the rest, so the details stay readable.
func TestCurrentDetailsListsAtMost(t *testing.T) {
	states := make([]deliveryState, maxListed+5)
	for i := range states {
		states[i] = deliveryState{name: "D", status: StatusFailed, attempt: 1, reason: ReasonRejected}
	}
	got := currentDetails(states)
	if n := strings.Count(got, "D failed"); n != maxListed || !strings.HasSuffix(got, "; 5 more") ||
		!strings.HasPrefix(got, "Finished: 0 of 15 delivered") {
		t.Errorf("currentDetails of %d failed: %s", len(states), got)
	}
}

// TestREADMELabels: the labels the README's tour says the Web UI shows are the ones these
// builders make for the tour's distribution (Paid orders, http://127.0.0.1:9000/hooks, the
// voucherify schedule of 13 attempts).
func TestREADMELabels(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := strings.Join(strings.Fields(string(b)), " ") // a label may break across lines
	const name, url = "Paid orders", "http://127.0.0.1:9000/hooks"
	snap := &distributions.Snapshot{Candidates: []distributions.Distribution{
		{Name: name, Status: "live", Webhook: distributions.Webhook{URL: url}}}}
	voucherify := distributions.RetrySchedule{Name: distributions.ScheduleVoucherify}
	attempts := len(voucherify.Gaps()) + 1
	detailLines := strings.Split(EventDetails("customer.order.paid", snap), "\n")
	for _, label := range []string{
		EventSummary("customer.order.paid", "evt_tour_1", snap),
		detailLines[len(detailLines)-1],
		currentDetails([]deliveryState{{name: name, status: StatusRetrying, attempt: 3, attempts: attempts,
			next: time.Date(2026, 1, 1, 20, 15, 0, 0, time.UTC)}}),
		currentDetails([]deliveryState{{name: name, status: StatusDelivered, attempt: 3, attempts: attempts}}),
		currentDetails([]deliveryState{{name: name, status: StatusFailed, attempt: attempts, attempts: attempts,
			reason: ReasonExhausted, paused: true}}),
		AttemptSummary(name, url, 1, attempts),
		WaitSummary(name, 2, attempts, voucherify),
		PauseSummary(name, "distribution", ReasonExhausted, attempts),
	} {
		if !strings.Contains(readme, "`"+label+"`") {
			t.Errorf("the README's tour does not show the label `%s`", label)
		}
	}
	for _, channel := range []string{ActivityNotifyFailure, ActivitySendFailureEmail, ActivitySendFailureAlert} {
		what, _, _ := strings.Cut(NotifySummary(channel, name, ReasonExhausted, attempts), ":")
		if !strings.Contains(readme, "`"+what+": …`") {
			t.Errorf("the README's tour does not name the step `%s: …`", what)
		}
	}
}
