package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/payloads"
	"github.com/hookflow/hookflow/store"
)

// Each channel of a failure notification is its own activity, idempotent by delivery id:
// the in-app record by the store's unique key, the e-mail and the alert by a "sent" mark
// written after they went out. A retried or crashed activity then repeats only what did not
// happen.

// channelSettings returns the installation's settings for the kind of the failed delivery.
func (a *Activities) channelSettings(ctx context.Context, f distributions.FailureNotice) (distributions.ChannelSettings, error) {
	all, err := a.Store.NotificationSettings(ctx)
	if err != nil {
		return distributions.ChannelSettings{}, fmt.Errorf("read notification settings: %w", err)
	}
	if f.IsWebhook() {
		return all.Webhooks, nil
	}
	return all.Distributions, nil
}

// message is the text every channel says: what failed, after how many POSTs, and what to
// run to send it again.
func (a *Activities) message(f distributions.FailureNotice) (summary, link string) {
	kind := "distribution"
	if f.IsWebhook() {
		kind = "project webhook"
	}
	summary = fmt.Sprintf("Delivery %s of event %s (%s) through %s %q (%s) to %s failed %s: %s.",
		f.DeliveryID, f.EventID, f.EventType, kind, f.DistributionName, f.DistributionID, f.TargetURL, postsMade(f.Attempts), f.LastError)
	steps := nextSteps(f)
	switch {
	case f.Paused && f.IsWebhook():
		summary += " The project webhook is disabled. Once the receiver is fixed, run " + strings.Join(steps, ", then ") + "."
	case f.Paused:
		summary += " The distribution is paused. Once the receiver is fixed, run " + strings.Join(steps, ", then ") + "."
	default:
		summary += " Once the cause is fixed, send it again: " + strings.Join(steps, ", then ") + "."
	}
	if a.WorkflowLink != nil {
		link = a.WorkflowLink(f.WorkflowID)
	}
	return summary, link
}

// postsMade counts the POSTs the delivery made, as the receiver saw them.
func postsMade(n int) string {
	switch n {
	case 0:
		return "before any POST"
	case 1:
		return "after 1 POST"
	}
	return fmt.Sprintf("after %d POSTs", n)
}

// nextSteps are the commands that send a failed delivery again: set the distribution live
// and recover what failed or was skipped since this event (or enable the project webhook
// and retry the delivery), or, when nothing was paused, retry the delivery.
func nextSteps(f distributions.FailureNotice) []string {
	retry := "hookflow deliveries retry " + f.DeliveryID
	switch {
	case f.Paused && f.IsWebhook():
		return []string{"hookflow webhooks update " + f.DistributionID + " --active", retry}
	case f.Paused:
		since := "24h"
		if !f.EventStartedAt.IsZero() {
			// Down to the second: recover takes events started at or after it.
			since = f.EventStartedAt.UTC().Truncate(time.Second).Format(time.RFC3339)
		}
		return []string{"hookflow distributions resume " + f.DistributionID,
			"hookflow distributions recover " + f.DistributionID + " --since " + since}
	}
	return []string{retry}
}

// NotifyFailure records the in-app notification (unless turned off) and logs the failure.
func (a *Activities) NotifyFailure(ctx context.Context, f distributions.FailureNotice) error {
	settings, err := a.channelSettings(ctx, f)
	if err != nil {
		return err
	}
	summary, link := a.message(f)
	if !f.Notifications.InAppEnabled(settings.InApp) {
		a.logger(ctx).Warn("delivery failed", "delivery", f.DeliveryID, "distribution", f.DistributionID,
			"event", f.EventID, "reason", f.Reason, "last_error", f.LastError, "in_app", "off")
		return nil
	}
	n := store.Notification{
		ID:                 payloads.NewID("ntf_"),
		Kind:               "delivery_failed",
		DeliveryID:         f.DeliveryID,
		DistributionID:     f.DistributionID,
		DistributionName:   f.DistributionName,
		EventID:            f.EventID,
		EventType:          f.EventType,
		TargetURL:          f.TargetURL,
		Attempts:           f.Attempts,
		LastError:          f.LastError,
		Reason:             f.Reason,
		DistributionPaused: f.Paused,
		WorkflowID:         f.WorkflowID,
		Link:               link,
		Message:            summary,
		CreatedAt:          time.Now().UTC(),
	}
	stored, created, err := a.Store.AddNotification(ctx, n)
	if err != nil {
		return fmt.Errorf("record notification: %w", err)
	}
	if created {
		countNotification(ctx, "in_app")
		a.logger(ctx).Warn("delivery failed", "notification", stored.ID, "delivery", f.DeliveryID,
			"distribution", f.DistributionID, "event", f.EventID, "event_type", f.EventType,
			"target", f.TargetURL, "attempts", f.Attempts, "reason", f.Reason, "last_error", f.LastError,
			"paused", f.Paused, "link", link)
	}
	return nil
}

// SendFailureEmail e-mails the failure to the installation's recipients (when its e-mail is
// on) and the distribution's own. Without recipients it does nothing; without an SMTP
// server it logs that the e-mail could not go out.
func (a *Activities) SendFailureEmail(ctx context.Context, f distributions.FailureNotice) error {
	settings, err := a.channelSettings(ctx, f)
	if err != nil {
		return err
	}
	to := f.Notifications.Recipients(settings)
	if len(to) == 0 {
		return nil
	}
	if a.Mailer == nil {
		a.logger(ctx).Warn("failure e-mail not sent: no SMTP server (--smtp-url)", "delivery", f.DeliveryID, "recipients", len(to))
		return nil
	}
	key := "email:" + f.DeliveryID
	if sent, err := a.Store.WasSent(ctx, key); err != nil || sent {
		return err
	}
	summary, link := a.message(f)
	var text strings.Builder
	fmt.Fprintf(&text, "%s\n\n", summary)
	fmt.Fprintf(&text, "Distribution:  %s (%s)\n", f.DistributionName, f.DistributionID)
	fmt.Fprintf(&text, "Event:         %s (%s)\n", f.EventID, f.EventType)
	fmt.Fprintf(&text, "Target:        %s\n", f.TargetURL)
	fmt.Fprintf(&text, "POSTs made:    %d\n", f.Attempts)
	fmt.Fprintf(&text, "Last error:    %s\n", f.LastError)
	fmt.Fprintf(&text, "Delivery:      %s\n", f.DeliveryID)
	if link != "" {
		fmt.Fprintf(&text, "Workflow:      %s\n", link)
	}
	fmt.Fprintf(&text, "\nTo send it again once the cause is fixed, run:\n")
	for _, step := range nextSteps(f) {
		fmt.Fprintf(&text, "  %s\n", step)
	}
	// One line: a last error may hold line breaks, which a header may not.
	subject := strings.Join(strings.Fields(fmt.Sprintf("[hookflow] Delivery to %q failed: %s", f.DistributionName, f.LastError)), " ")
	if len(subject) > 150 {
		subject = subject[:150] + "…"
	}
	err = a.Mailer.Send(ctx, Mail{
		To: to, Subject: strings.ToValidUTF8(subject, "?"), Text: text.String(),
		// The same Message-ID if this is sent again after a crash, so mail clients can
		// tell it is the same message.
		MessageID: "<" + f.DeliveryID + "@hookflow>",
		Headers:   map[string]string{"X-Hookflow-Delivery": f.DeliveryID},
	})
	if err != nil {
		if IsPermanentMailError(err) {
			return temporal.NewNonRetryableApplicationError("the SMTP server refused the failure e-mail: "+err.Error(), "MailRejected", nil)
		}
		return fmt.Errorf("send failure e-mail: %w", err)
	}
	countNotification(ctx, "email")
	return a.Store.MarkSent(ctx, key, time.Now())
}

// FailureAlert is the JSON body posted to a distribution's alert URL.
type FailureAlert struct {
	Type         string    `json:"type"`
	DeliveryID   string    `json:"delivery_id"`
	Distribution alertRef  `json:"distribution"`
	Event        alertRef  `json:"event"`
	TargetURL    string    `json:"target_url"`
	Attempts     int       `json:"attempts"`
	LastError    string    `json:"last_error"`
	Reason       string    `json:"reason"`
	Paused       bool      `json:"paused"`
	WorkflowID   string    `json:"workflow_id"`
	Link         string    `json:"link,omitempty"`
	Message      string    `json:"message"`
	CreatedAt    time.Time `json:"created_at"`
}

type alertRef struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	Type string `json:"type,omitempty"`
}

// SendFailureAlert posts the failure to the distribution's alert URL, signed like a
// webhook (with the delivery id prefixed "alert_" as webhook-id), through the same target
// guard.
func (a *Activities) SendFailureAlert(ctx context.Context, f distributions.FailureNotice) error {
	if f.Notifications.AlertURL == "" {
		return nil
	}
	key := "alert:" + f.DeliveryID
	if sent, err := a.Store.WasSent(ctx, key); err != nil || sent {
		return err
	}
	proj, err := a.Store.Project(ctx)
	if err != nil {
		return fmt.Errorf("read signing secret: %w", err)
	}
	summary, link := a.message(f)
	body, err := json.Marshal(FailureAlert{
		Type: "delivery.failed", DeliveryID: f.DeliveryID,
		Distribution: alertRef{ID: f.DistributionID, Name: f.DistributionName},
		Event:        alertRef{ID: f.EventID, Type: f.EventType},
		TargetURL:    f.TargetURL, Attempts: f.Attempts, LastError: f.LastError, Reason: f.Reason,
		Paused: f.Paused, WorkflowID: f.WorkflowID, Link: link, Message: summary, CreatedAt: time.Now().UTC(),
	})
	if err != nil {
		return err
	}
	if err := a.postAlert(ctx, f.Notifications.AlertURL, "alert_"+f.DeliveryID, proj.SigningSecrets(time.Now()), body); err != nil {
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) {
			return err
		}
		return fmt.Errorf("post failure alert: %w", err)
	}
	return a.Store.MarkSent(ctx, key, time.Now())
}

// postAlert POSTs body to an alert URL through the guarded client, signed with secrets as
// a webhook whose id is webhookID, and reads the answer: an invalid URL is a
// non-retryable AlertRejected, no answer or a non-2xx one an error naming the URL.
func (a *Activities) postAlert(ctx context.Context, url, webhookID string, secrets []string, body []byte) error {
	hctx, cancel := context.WithTimeout(ctx, distributions.DefaultTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(hctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return temporal.NewNonRetryableApplicationError("invalid alert URL: "+err.Error(), "AlertRejected", nil)
	}
	req.Header.Set("content-type", "application/json")
	req.Header.Set("user-agent", "hookflow/"+Version)
	if err := payloads.SignHeaders(req.Header, secrets, webhookID, time.Now(), body); err != nil {
		return err
	}
	resp, err := a.HTTP.Do(req)
	if err != nil {
		return errors.New(describeTransportError(url, err))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, MaxResponseRead))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("HTTP %d from %s", resp.StatusCode, url)
	}
	countNotification(ctx, "alert")
	return nil
}
