package activities

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

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
