// Package store keeps hookflow's own state: distributions, project webhooks, the
// notifications inbox, the project settings, API keys (their hashes only), code pools with
// their publications, and manual and bulk messages with their customers. One
// interface, Store, with two implementations that behave alike: SQLite in one file for a
// single machine, and PostgreSQL for processes that share it. Open picks one from a
// database URL.
//
// Records are JSON documents beside a version column. Updates name the version they
// started from and fail with ErrConflict when someone else changed the record meanwhile,
// so concurrent writers never lose each other's changes. Each backend applies its own
// numbered migrations when opened.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/hookflow/hookflow/distributions"
)

// ErrNotFound is returned when the asked-for record does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when an update names a version that is no longer the stored one:
// someone else changed the record since it was read.
var ErrConflict = errors.New("version conflict")

// Store is hookflow's persistence.
type Store interface {
	// CreateDistribution stores a new distribution; its Version should be 1.
	CreateDistribution(ctx context.Context, d distributions.Distribution) error
	GetDistribution(ctx context.Context, id string) (distributions.Distribution, error)
	// ListDistributions returns every distribution, oldest first.
	ListDistributions(ctx context.Context) ([]distributions.Distribution, error)
	// UpdateDistribution replaces the distribution d.ID if its stored version is d.Version,
	// and stores it as the next version (keeping CreatedAt). A stale version is ErrConflict.
	// An update that changes nothing (distributions.SameSettings) stores nothing and
	// returns the stored distribution, its version unchanged.
	UpdateDistribution(ctx context.Context, d distributions.Distribution) (distributions.Distribution, error)
	DeleteDistribution(ctx context.Context, id string) error
	// SetDistributionStatus changes a distribution's status as a new version; changed is
	// false (and the version stays) when it already had it.
	SetDistributionStatus(ctx context.Context, id, status string, at time.Time) (d distributions.Distribution, changed bool, err error)

	// The same for project webhooks; their version is Revision, their status Active.
	CreateWebhook(ctx context.Context, w distributions.ProjectWebhook) error
	GetWebhook(ctx context.Context, id string) (distributions.ProjectWebhook, error)
	ListWebhooks(ctx context.Context) ([]distributions.ProjectWebhook, error)
	UpdateWebhook(ctx context.Context, w distributions.ProjectWebhook) (distributions.ProjectWebhook, error)
	DeleteWebhook(ctx context.Context, id string) error
	SetWebhookActive(ctx context.Context, id string, active bool, at time.Time) (w distributions.ProjectWebhook, changed bool, err error)

	// AddNotification records n once per n.DeliveryID: a second call with the same
	// delivery id returns the first notification and created false.
	AddNotification(ctx context.Context, n Notification) (stored Notification, created bool, err error)
	ListNotifications(ctx context.Context, unreadOnly bool) ([]Notification, error)
	MarkNotificationRead(ctx context.Context, id string, at time.Time) (Notification, error)

	// Project returns the installation's project id and signing secrets, creating them on
	// first use.
	Project(ctx context.Context) (Project, error)
	// NotificationSettings returns the installation's notification settings (defaults when
	// never set); SetNotificationSettings replaces them.
	NotificationSettings(ctx context.Context) (distributions.NotificationSettings, error)
	SetNotificationSettings(ctx context.Context, s distributions.NotificationSettings) error
	// WasSent reports whether MarkSent was called for key; MarkSent records it (again is a
	// no-op). A channel checks before sending and marks after, so a retried activity does
	// not send twice.
	WasSent(ctx context.Context, key string) (bool, error)
	MarkSent(ctx context.Context, key string, at time.Time) error

	// RotateSecret makes next the current secret; the current one keeps signing as a
	// previous secret until oldExpiresAt. Previous secrets expired at now are dropped.
	RotateSecret(ctx context.Context, next string, now, oldExpiresAt time.Time) (Project, error)

	// CreateAPIKey makes a new API key with a name and scopes (ScopeEvents, ScopeManage)
	// and returns its record with the key itself, which is not stored: only its hash is,
	// and the key can never be shown again.
	CreateAPIKey(ctx context.Context, name string, scopes []string, at time.Time) (k APIKey, key string, err error)
	// CreateFirstAPIKey is CreateAPIKey while no API key exists, and ErrAPIKeysExist
	// otherwise. Of concurrent calls, one at most creates a key.
	CreateFirstAPIKey(ctx context.Context, name string, scopes []string, at time.Time) (k APIKey, key string, err error)
	// ListAPIKeys returns every API key, oldest first.
	ListAPIKeys(ctx context.Context) ([]APIKey, error)
	// APIKeyByHash returns the API key whose HashAPIKey is hash, or ErrNotFound.
	APIKeyByHash(ctx context.Context, hash []byte) (APIKey, error)
	// MarkAPIKeyUsed sets the key's LastUsedAt.
	MarkAPIKeyUsed(ctx context.Context, id string, at time.Time) error
	// RevokeAPIKey deletes the API key id: it stops working at once. It returns
	// ErrNotFound for an unknown id and ErrLastManageKey, revoking nothing, for the last
	// key with the manage scope.
	RevokeAPIKey(ctx context.Context, id string) error

	// Prune deletes the per-event history that is older than before and no longer in use,
	// and counts what it deleted: notifications created before it (read or not), the
	// records of failure e-mails and alerts sent before it, and messages that are finished
	// (sent or canceled) and last changed before it, with their customers, the API's
	// idempotency keys made before it, and the rate limits' buckets last used before it
	// (whose turns are all past: such a bucket is full, as a new one is). A message
	// scheduled or sending and its customers are never deleted, whatever their age; nor is
	// anything that is not history (distributions, webhooks, settings, API keys, code pools
	// and publications). Each statement deletes at most batch rows (1,000 when batch <= 0)
	// and commits on its own, so that a large backlog never holds the database, SQLite's
	// single writer above all, for long. Deletes are idempotent: processes pruning at once
	// share the work, and a prune cut short is finished by the next.
	Prune(ctx context.Context, before time.Time, batch int) (PruneResult, error)

	// Code pools and publications (codes.go).
	CodeStore
	// Manual and bulk messages (messages.go).
	MessageStore
	// The API's idempotency keys (idempotency.go).
	IdempotencyStore
	// The lists a page at a time (page.go).
	PageStore
	// The rate limits' token buckets (rate.go).
	RateStore
	// The distributions' circuit breakers and their default (breakers.go).
	BreakerStore

	Close() error
}

// PruneResult counts the rows one Prune deleted.
type PruneResult struct {
	Notifications     int `json:"notifications"`
	NotificationSends int `json:"notification_sends"`
	Messages          int `json:"messages"`
	MessageCustomers  int `json:"message_customers"`
	IdempotencyKeys   int `json:"idempotency_keys"`
	RateBuckets       int `json:"rate_buckets"`
}

// Total is the number of rows deleted.
func (r PruneResult) Total() int {
	return r.Notifications + r.NotificationSends + r.Messages + r.MessageCustomers + r.IdempotencyKeys + r.RateBuckets
}

// Project is the installation's identity and its signing secrets.
type Project struct {
	ID string
	// Secret is the current signing secret: x-voucherify-signature uses it alone.
	Secret string
	// Previous are secrets replaced by a rotation that still sign webhook-signature until
	// they expire, so receivers can switch over without losing a delivery.
	Previous []PreviousSecret
}

// PreviousSecret is a rotated-out secret and when it stops signing.
type PreviousSecret struct {
	Secret    string    `json:"secret"`
	ExpiresAt time.Time `json:"expires_at"`
}

// SigningSecrets are the secrets that sign at time now: the current one first, then the
// previous ones not yet expired.
func (p Project) SigningSecrets(now time.Time) []string {
	out := []string{p.Secret}
	for _, s := range p.Previous {
		if now.Before(s.ExpiresAt) {
			out = append(out, s.Secret)
		}
	}
	return out
}

// Notification tells the operator that a delivery failed for good.
type Notification struct {
	ID                 string     `json:"id"`
	Kind               string     `json:"kind"`
	DeliveryID         string     `json:"delivery_id"`
	DistributionID     string     `json:"distribution_id"`
	DistributionName   string     `json:"distribution_name"`
	EventID            string     `json:"event_id"`
	EventType          string     `json:"event_type"`
	TargetURL          string     `json:"target_url"`
	Attempts           int        `json:"attempts"`
	LastError          string     `json:"last_error"`
	Reason             string     `json:"reason"`
	DistributionPaused bool       `json:"distribution_paused"`
	WorkflowID         string     `json:"workflow_id"`
	Link               string     `json:"link,omitempty"`
	Message            string     `json:"message"`
	CreatedAt          time.Time  `json:"created_at"`
	ReadAt             *time.Time `json:"read_at"`
}
