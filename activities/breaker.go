package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/payloads"
	"github.com/hookflow/hookflow/store"
)

// AskBreaker asks a distribution's circuit breaker whether a delivery may make its first
// attempt (a local activity, before it).
func (a *Activities) AskBreaker(ctx context.Context, ask distributions.BreakerAsk) (distributions.BreakerAnswer, error) {
	ans, err := a.Store.AskBreaker(ctx, ask, a.now())
	ans.DeliveryID = ask.DeliveryID
	return ans, err
}

// ReportBreaker tells a distribution's circuit breaker how a first attempt (or a probe)
// went (a local activity, after it).
func (a *Activities) ReportBreaker(ctx context.Context, r distributions.BreakerReport) (distributions.BreakerChange, error) {
	return a.Store.ReportBreaker(ctx, r, a.now())
}

// breakerMessage is what every channel says of a breaker that opened or closed.
func breakerMessage(n distributions.BreakerNotice) string {
	if n.Change == "opened" {
		return fmt.Sprintf("The circuit breaker of distribution %q (%s) opened: %d first attempts in a row to %s failed (last: %s). "+
			"New deliveries are held, and one at a time probes the receiver every %s; they go out once a probe succeeds.",
			n.DistributionName, n.DistributionID, n.Failures, n.TargetURL, n.LastError, n.ProbeInterval)
	}
	return fmt.Sprintf("The circuit breaker of distribution %q (%s) closed: a delivery to %s succeeded. The held deliveries go out in the order they were held.",
		n.DistributionName, n.DistributionID, n.TargetURL)
}

// NotifyBreaker tells the operator that a distribution's breaker opened or closed, through
// the channels of a failure notification (in-app, e-mail, alert webhook), each once per
// (distribution, opening, change) however often the activity runs.
func (a *Activities) NotifyBreaker(ctx context.Context, n distributions.BreakerNotice) error {
	all, err := a.Store.NotificationSettings(ctx)
	if err != nil {
		return fmt.Errorf("read notification settings: %w", err)
	}
	settings := all.Distributions
	msg := breakerMessage(n)
	link := ""
	if a.WorkflowLink != nil {
		link = a.WorkflowLink(n.WorkflowID)
	}
	key := n.Key()
	if n.Notifications.InAppEnabled(settings.InApp) {
		// The notification's unique delivery id is the key: a second add is a no-op.
		_, created, err := a.Store.AddNotification(ctx, store.Notification{
			ID: payloads.NewID("ntf_"), Kind: "breaker_" + n.Change, DeliveryID: key,
			DistributionID: n.DistributionID, DistributionName: n.DistributionName, TargetURL: n.TargetURL,
			LastError: n.LastError, WorkflowID: n.WorkflowID, Link: link, Message: msg, CreatedAt: time.Now().UTC(),
		})
		if err != nil {
			return fmt.Errorf("record notification: %w", err)
		}
		if created {
			countNotification(ctx, "in_app")
		}
	}
	a.logger(ctx).Warn("circuit breaker "+n.Change, "distribution", n.DistributionID, "opens", n.Opens, "target", n.TargetURL)
	if to := n.Notifications.Recipients(settings); len(to) > 0 && a.Mailer != nil {
		if err := a.sendOnce(ctx, "email:"+key, func() error {
			subject := strings.Join(strings.Fields(fmt.Sprintf("[hookflow] Circuit breaker of %q %s", n.DistributionName, n.Change)), " ")
			text := msg + "\n"
			if link != "" {
				text += "\nWorkflow: " + link + "\n"
			}
			return a.Mailer.Send(ctx, Mail{To: to, Subject: strings.ToValidUTF8(subject, "?"), Text: text,
				MessageID: "<" + strings.ReplaceAll(key, ":", ".") + "@hookflow>"})
		}); err != nil {
			return fmt.Errorf("send breaker e-mail: %w", err)
		}
	}
	if n.Notifications.AlertURL != "" {
		if err := a.sendOnce(ctx, "alert:"+key, func() error { return a.postBreakerAlert(ctx, n, msg, link) }); err != nil {
			return fmt.Errorf("post breaker alert: %w", err)
		}
	}
	return nil
}

// sendOnce runs send unless key was marked sent, and marks it after.
func (a *Activities) sendOnce(ctx context.Context, key string, send func() error) error {
	if sent, err := a.Store.WasSent(ctx, key); err != nil || sent {
		return err
	}
	if err := send(); err != nil {
		return err
	}
	return a.Store.MarkSent(ctx, key, time.Now())
}

// BreakerAlert is the JSON body posted to a distribution's alert URL when its breaker
// opens or closes.
type BreakerAlert struct {
	Type         string    `json:"type"`
	Distribution alertRef  `json:"distribution"`
	TargetURL    string    `json:"target_url"`
	Opens        int64     `json:"opens"`
	LastError    string    `json:"last_error,omitempty"`
	WorkflowID   string    `json:"workflow_id"`
	Link         string    `json:"link,omitempty"`
	Message      string    `json:"message"`
	CreatedAt    time.Time `json:"created_at"`
}

func (a *Activities) postBreakerAlert(ctx context.Context, n distributions.BreakerNotice, msg, link string) error {
	proj, err := a.Store.Project(ctx)
	if err != nil {
		return fmt.Errorf("read signing secret: %w", err)
	}
	body, err := json.Marshal(BreakerAlert{Type: "breaker." + n.Change,
		Distribution: alertRef{ID: n.DistributionID, Name: n.DistributionName}, TargetURL: n.TargetURL,
		Opens: n.Opens, LastError: n.LastError, WorkflowID: n.WorkflowID, Link: link, Message: msg, CreatedAt: time.Now().UTC()})
	if err != nil {
		return err
	}
	return a.postAlert(ctx, n.Notifications.AlertURL, "alert_"+strings.ReplaceAll(n.Key(), ":", "_"), proj.SigningSecrets(time.Now()), body)
}
