package client

import (
	"context"
	"fmt"
	"iter"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// The typed methods, a group per resource, each on one route of api/openapi.yaml
// (spec_test.go holds them to it).

// idPath is base/{id}, refusing an empty id, which would name another route.
func idPath(field, base, id string, rest ...string) (string, error) {
	if id == "" {
		return "", fmt.Errorf("%s: empty", field)
	}
	p := base + "/" + url.PathEscape(id)
	for _, r := range rest {
		p += "/" + r
	}
	return p, nil
}

// call is Do with out a new T, for the methods that answer one resource.
func call[T any](ctx context.Context, c *Client, method, path string, in any) (*T, error) {
	var out T
	if err := c.Do(ctx, method, path, in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// create is Create with out a new T.
func create[T any](ctx context.Context, c *Client, path string, in any, opts []CallOption) (*T, error) {
	var out T
	if err := c.Create(ctx, path, in, &out, opts...); err != nil {
		return nil, err
	}
	return &out, nil
}

// onID is call on base/{id}/rest..., naming field when id is empty.
func onID[T any](ctx context.Context, c *Client, method, field, base, id string, in any, rest ...string) (*T, error) {
	p, err := idPath(field, base, id, rest...)
	if err != nil {
		return nil, err
	}
	return call[T](ctx, c, method, p, in)
}

// deleteID is DELETE base/{id}, whose answer has no body.
func (c *Client) deleteID(ctx context.Context, base, id string) error {
	p, err := idPath("id", base, id)
	if err != nil {
		return err
	}
	return c.Do(ctx, http.MethodDelete, p, nil, nil)
}

// Events

// SendEvent accepts an event and starts its delivery to every distribution that takes
// it. The same event id again answers the same and sends nothing twice.
func (c *Client) SendEvent(ctx context.Context, e Event, opts ...CallOption) (*Run, error) {
	return create[Run](ctx, c, "/v1/events", e, opts)
}

// Distributions

// DistributionFilter chooses distributions: those with every label of Labels, a page of
// Limit (0: the API's default) after PageToken.
type DistributionFilter struct {
	Labels    map[string]string
	Limit     int
	PageToken string
}

func (f DistributionFilter) query() url.Values {
	q := url.Values{}
	for _, k := range slices.Sorted(maps.Keys(f.Labels)) {
		q.Add("label", k+"="+f.Labels[k])
	}
	return q
}

// CreateDistribution creates d and answers it as stored, with its distr_ id.
func (c *Client) CreateDistribution(ctx context.Context, d Distribution, opts ...CallOption) (*Distribution, error) {
	return create[Distribution](ctx, c, "/v1/distributions", d, opts)
}

// GetDistribution reads one distribution.
func (c *Client) GetDistribution(ctx context.Context, id string) (*Distribution, error) {
	return onID[Distribution](ctx, c, http.MethodGet, "id", "/v1/distributions", id, nil)
}

// ListDistributions reads a page of distributions.
func (c *Client) ListDistributions(ctx context.Context, f DistributionFilter) (*List[Distribution], error) {
	return GetPage[Distribution](ctx, c, "/v1/distributions", f.query(), ListOptions{f.Limit, f.PageToken})
}

// AllDistributions iterates over every distribution f chooses, a page of f.Limit at a time.
func (c *Client) AllDistributions(ctx context.Context, f DistributionFilter) iter.Seq2[Distribution, error] {
	return All[Distribution](ctx, c, "/v1/distributions", f.query(), ListOptions{f.Limit, f.PageToken})
}

// UpdateDistribution replaces the distribution d.ID with d, which names the Version it
// read: a distribution changed since is refused with 409. It answers d as stored.
func (c *Client) UpdateDistribution(ctx context.Context, d Distribution) (*Distribution, error) {
	return onID[Distribution](ctx, c, http.MethodPut, "ID", "/v1/distributions", d.ID, d)
}

// DeleteDistribution deletes one distribution.
func (c *Client) DeleteDistribution(ctx context.Context, id string) error {
	return c.deleteID(ctx, "/v1/distributions", id)
}

// PauseDistribution pauses a distribution: its events are recorded as skipped.
func (c *Client) PauseDistribution(ctx context.Context, id string) (*Distribution, error) {
	return onID[Distribution](ctx, c, http.MethodPost, "id", "/v1/distributions", id, nil, "pause")
}

// ResumeDistribution sets a distribution live again.
func (c *Client) ResumeDistribution(ctx context.Context, id string) (*Distribution, error) {
	return onID[Distribution](ctx, c, http.MethodPost, "id", "/v1/distributions", id, nil, "resume")
}

// Deliveries

// DeliveryFilter chooses events of the delivery log; empty fields choose all. Limit is at
// most 500 (0: the API's default, 50).
type DeliveryFilter struct {
	// Status is delivered, retrying, failed, no_match or skipped.
	Status       string
	Distribution string
	EventType    string
	Event        string
	// Since and Until bound the events' start times: at or after Since, before Until.
	Since, Until time.Time
	Limit        int
	PageToken    string
}

func (f DeliveryFilter) query() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"status": f.Status, "distribution": f.Distribution, "event_type": f.EventType, "event": f.Event} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if !f.Since.IsZero() {
		q.Set("since", f.Since.Format(time.RFC3339Nano))
	}
	if !f.Until.IsZero() {
		q.Set("until", f.Until.Format(time.RFC3339Nano))
	}
	return q
}

// ListDeliveries reads a page of the delivery log, newest events first.
func (c *Client) ListDeliveries(ctx context.Context, f DeliveryFilter) (*List[EventSummary], error) {
	return GetPage[EventSummary](ctx, c, "/v1/deliveries", f.query(), ListOptions{f.Limit, f.PageToken})
}

// AllDeliveries iterates over every event of the delivery log f chooses.
func (c *Client) AllDeliveries(ctx context.Context, f DeliveryFilter) iter.Seq2[EventSummary, error] {
	return All[EventSummary](ctx, c, "/v1/deliveries", f.query(), ListOptions{f.Limit, f.PageToken})
}

// GetDelivery reads one delivery (whs_ id) as it is now, with every run and attempt.
func (c *Client) GetDelivery(ctx context.Context, id string) (*Delivery, error) {
	return onID[Delivery](ctx, c, http.MethodGet, "id", "/v1/deliveries", id, nil)
}

// RetryDelivery sends a failed or skipped delivery again, in a new run.
func (c *Client) RetryDelivery(ctx context.Context, id string, opts ...CallOption) (*Run, error) {
	p, err := idPath("id", "/v1/deliveries", id, "retry")
	if err != nil {
		return nil, err
	}
	return create[Run](ctx, c, p, nil, opts)
}

// Messages

// CreateMessage schedules a manual or bulk message through the live distribution
// distributionID. For customers as CSV or JSON lines, use Send with that body.
func (c *Client) CreateMessage(ctx context.Context, distributionID string, m MessageRequest, opts ...CallOption) (*Message, error) {
	p, err := idPath("distributionID", "/v1/distributions", distributionID, "messages")
	if err != nil {
		return nil, err
	}
	return create[Message](ctx, c, p, m, opts)
}

// GetMessage reads a message and its progress.
func (c *Client) GetMessage(ctx context.Context, id string) (*Message, error) {
	return onID[Message](ctx, c, http.MethodGet, "id", "/v1/messages", id, nil)
}

// ListMessages reads a page of the latest messages, newest first.
func (c *Client) ListMessages(ctx context.Context, o ListOptions) (*List[Message], error) {
	return GetPage[Message](ctx, c, "/v1/messages", nil, o)
}

// AllMessages iterates over every message, newest first.
func (c *Client) AllMessages(ctx context.Context, o ListOptions) iter.Seq2[Message, error] {
	return All[Message](ctx, c, "/v1/messages", nil, o)
}

// CancelMessage cancels a message during its delay and answers it canceled.
func (c *Client) CancelMessage(ctx context.Context, id string) (*Message, error) {
	return onID[Message](ctx, c, http.MethodDelete, "id", "/v1/messages", id, nil)
}

// Project webhooks

// CreateWebhook creates a project webhook and answers it with its wh_ id.
func (c *Client) CreateWebhook(ctx context.Context, w Webhook, opts ...CallOption) (*Webhook, error) {
	return create[Webhook](ctx, c, "/v1/webhooks", w, opts)
}

// GetWebhook reads one project webhook.
func (c *Client) GetWebhook(ctx context.Context, id string) (*Webhook, error) {
	return onID[Webhook](ctx, c, http.MethodGet, "id", "/v1/webhooks", id, nil)
}

// ListWebhooks reads a page of project webhooks.
func (c *Client) ListWebhooks(ctx context.Context, o ListOptions) (*List[Webhook], error) {
	return GetPage[Webhook](ctx, c, "/v1/webhooks", nil, o)
}

// AllWebhooks iterates over every project webhook.
func (c *Client) AllWebhooks(ctx context.Context, o ListOptions) iter.Seq2[Webhook, error] {
	return All[Webhook](ctx, c, "/v1/webhooks", nil, o)
}

// UpdateWebhook replaces the project webhook w.ID with w, which names the Revision it
// read: one changed since is refused with 409.
func (c *Client) UpdateWebhook(ctx context.Context, w Webhook) (*Webhook, error) {
	return onID[Webhook](ctx, c, http.MethodPut, "ID", "/v1/webhooks", w.ID, w)
}

// DeleteWebhook deletes one project webhook.
func (c *Client) DeleteWebhook(ctx context.Context, id string) error {
	return c.deleteID(ctx, "/v1/webhooks", id)
}

// Notifications

// NotificationFilter chooses failure notifications: all, or the unread ones.
type NotificationFilter struct {
	Unread    bool
	Limit     int
	PageToken string
}

func (f NotificationFilter) query() url.Values {
	q := url.Values{}
	if f.Unread {
		q.Set("unread", strconv.FormatBool(true))
	}
	return q
}

// ListNotifications reads a page of failure notifications, newest first.
func (c *Client) ListNotifications(ctx context.Context, f NotificationFilter) (*List[Notification], error) {
	return GetPage[Notification](ctx, c, "/v1/notifications", f.query(), ListOptions{f.Limit, f.PageToken})
}

// AllNotifications iterates over every failure notification f chooses, newest first.
func (c *Client) AllNotifications(ctx context.Context, f NotificationFilter) iter.Seq2[Notification, error] {
	return All[Notification](ctx, c, "/v1/notifications", f.query(), ListOptions{f.Limit, f.PageToken})
}

// ReadNotification marks a notification read.
func (c *Client) ReadNotification(ctx context.Context, id string) (*Notification, error) {
	return onID[Notification](ctx, c, http.MethodPost, "id", "/v1/notifications", id, nil, "read")
}

// API keys

// CreateKey makes an API key; the answer holds the key itself, which is shown this once.
// A repeat under the same Idempotency-Key cannot show it again: it is refused with 409
// naming the key made (revoke it and make another).
func (c *Client) CreateKey(ctx context.Context, k NewKey, opts ...CallOption) (*CreatedKey, error) {
	return create[CreatedKey](ctx, c, "/v1/keys", k, opts)
}

// ListKeys reads a page of API keys (never the keys themselves).
func (c *Client) ListKeys(ctx context.Context, o ListOptions) (*List[APIKey], error) {
	return GetPage[APIKey](ctx, c, "/v1/keys", nil, o)
}

// AllKeys iterates over every API key.
func (c *Client) AllKeys(ctx context.Context, o ListOptions) iter.Seq2[APIKey, error] {
	return All[APIKey](ctx, c, "/v1/keys", nil, o)
}

// RevokeKey revokes an API key; the last one with the manage scope cannot be (409).
func (c *Client) RevokeKey(ctx context.Context, id string) error {
	return c.deleteID(ctx, "/v1/keys", id)
}
