package activities

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/hookflow/hookflow/distributions"
)

func notice(n distributions.Notifications) distributions.FailureNotice {
	return distributions.FailureNotice{DeliveryID: "whs_n1", DistributionID: "distr_1", DistributionName: "Paid",
		EventID: "evt_1", EventType: "customer.order.paid", TargetURL: "http://r.test", Attempts: 13,
		LastError: "HTTP 503", Reason: "exhausted", Paused: true, WorkflowID: "event/evt_1", Notifications: n}
}

func TestInAppFollowsSettings(t *testing.T) {
	off, on := false, true
	tests := []struct {
		name         string
		installation bool
		own          *bool
		want         int
	}{
		{"installation on", true, nil, 1},
		{"installation off", false, nil, 0},
		{"distribution turns it off", true, &off, 0},
		{"distribution turns it on", false, &on, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, st := newActivities(t)
			ctx := context.Background()
			s := distributions.DefaultNotificationSettings()
			s.Distributions.InApp = tt.installation
			if err := st.SetNotificationSettings(ctx, s); err != nil {
				t.Fatal(err)
			}
			if err := a.NotifyFailure(ctx, notice(distributions.Notifications{InApp: tt.own})); err != nil {
				t.Fatal(err)
			}
			if ns, _ := st.ListNotifications(ctx, false); len(ns) != tt.want {
				t.Errorf("%d in-app notifications, want %d", len(ns), tt.want)
			}
		})
	}
}

func TestRecipients(t *testing.T) {
	n := distributions.Notifications{Emails: []string{"own@example.com", "OPS@example.com"}}
	got := n.Recipients(distributions.ChannelSettings{Email: true, Recipients: []string{"ops@example.com"}})
	if len(got) != 2 || got[0] != "ops@example.com" || got[1] != "own@example.com" {
		t.Errorf("recipients %v", got)
	}
	if got := n.Recipients(distributions.ChannelSettings{Email: false, Recipients: []string{"ops@example.com"}}); len(got) != 2 {
		t.Errorf("installation e-mail off: %v", got)
	}
}

func TestFailureAlertSignedAndSentOnce(t *testing.T) {
	a, st := newActivities(t)
	ctx := context.Background()
	proj, _ := st.Project(ctx)
	var hits atomic.Int32
	var alert FailureAlert
	var verifyErr error
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		body, _ := io.ReadAll(r.Body)
		wh, _ := standardwebhooks.NewWebhook(proj.Secret)
		verifyErr = wh.Verify(body, r.Header)
		_ = json.Unmarshal(body, &alert)
		if hits.Load() == 1 {
			w.WriteHeader(http.StatusBadGateway) // the first try fails: the activity is retried
		}
	}))
	defer srv.Close()
	n := notice(distributions.Notifications{AlertURL: srv.URL})
	if err := a.SendFailureAlert(ctx, n); err == nil {
		t.Fatal("a 502 from the alert URL was not an error")
	}
	for i := 0; i < 3; i++ { // the retry, then retries of an activity that already sent
		if err := a.SendFailureAlert(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	if hits.Load() != 2 || verifyErr != nil {
		t.Errorf("alert posted %d times (want 2: a failure and a success), signature: %v", hits.Load(), verifyErr)
	}
	if alert.Type != "delivery.failed" || alert.DeliveryID != "whs_n1" || alert.Distribution.ID != "distr_1" ||
		alert.Event.Type != "customer.order.paid" || alert.Attempts != 13 || !alert.Paused {
		t.Errorf("alert %+v", alert)
	}
	if err := a.SendFailureAlert(ctx, notice(distributions.Notifications{})); err != nil {
		t.Errorf("no alert URL: %v", err)
	}
}

func TestFailureEmailWithoutSMTPIsLogged(t *testing.T) {
	a, _ := newActivities(t)
	if err := a.SendFailureEmail(context.Background(), notice(distributions.Notifications{Emails: []string{"ops@example.com"}})); err != nil {
		t.Errorf("no SMTP server: %v", err)
	}
}

// TestFailureNoticeSaysWhatToRun: the in-app notification and the e-mail count the POSTs
// the delivery made, name the distribution by its id, and give the commands that send it
// again: resume, then recover since the event's start (or retry, when nothing was paused).
func TestFailureNoticeSaysWhatToRun(t *testing.T) {
	a, st := newActivities(t)
	rec := &mailRecorder{}
	a.Mailer = newTestMailer(t, "smtp://127.0.0.1:"+startMailServer(t, rec, mailServerOptions{}))
	ctx := context.Background()
	f := notice(distributions.Notifications{Emails: []string{"ops@example.com"}})
	f.EventStartedAt = time.Date(2026, 11, 27, 8, 0, 0, 500e6, time.UTC)
	if err := a.NotifyFailure(ctx, f); err != nil {
		t.Fatal(err)
	}
	if err := a.SendFailureEmail(ctx, f); err != nil {
		t.Fatal(err)
	}
	ns, err := st.ListNotifications(ctx, false)
	if err != nil || len(ns) != 1 {
		t.Fatalf("%d notifications (%v)", len(ns), err)
	}
	want := `Delivery whs_n1 of event evt_1 (customer.order.paid) through distribution "Paid" (distr_1) to http://r.test failed after 13 POSTs: HTTP 503. ` +
		"The distribution is paused. Once the receiver is fixed, run hookflow distributions resume distr_1, " +
		"then hookflow distributions recover distr_1 --since 2026-11-27T08:00:00Z."
	if ns[0].Message != want {
		t.Errorf("in-app:\n%s\nwant\n%s", ns[0].Message, want)
	}
	_, mails := rec.recorded()
	if len(mails) != 1 {
		t.Fatalf("%d e-mails, want 1", len(mails))
	}
	body := strings.ReplaceAll(string(mails[0].Data), "=\r\n", "") // undo quoted-printable soft breaks
	for _, line := range []string{"POSTs made:    13", "Distribution:  Paid (distr_1)",
		"  hookflow distributions resume distr_1\r\n  hookflow distributions recover distr_1 --since 2026-11-27T08:00:00Z"} {
		if !strings.Contains(body, line) {
			t.Errorf("the e-mail does not say %q:\n%s", line, body)
		}
	}

	// Refused (a 4xx), nothing paused: retry it; one POST is one POST.
	f.DeliveryID, f.Paused, f.Attempts, f.Reason, f.LastError = "whs_n2", false, 1, "rejected", "HTTP 400"
	if err := a.NotifyFailure(ctx, f); err != nil {
		t.Fatal(err)
	}
	ns, _ = st.ListNotifications(ctx, false)
	for _, n := range ns {
		if n.DeliveryID == "whs_n2" && !strings.HasSuffix(n.Message, "failed after 1 POST: HTTP 400. Once the cause is fixed, send it again: hookflow deliveries retry whs_n2.") {
			t.Errorf("not paused: %s", n.Message)
		}
	}
}
