// Package store keeps hookflow's own state: distributions, the notifications inbox and the
// project settings. One interface, one SQLite implementation for now.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/hookflow/hookflow/distributions"
)

// ErrNotFound is returned when the asked-for record does not exist.
var ErrNotFound = errors.New("not found")

// Store is hookflow's persistence.
type Store interface {
	CreateDistribution(ctx context.Context, d distributions.Distribution) error
	GetDistribution(ctx context.Context, id string) (distributions.Distribution, error)
	// ListDistributions returns every distribution, oldest first.
	ListDistributions(ctx context.Context) ([]distributions.Distribution, error)
	DeleteDistribution(ctx context.Context, id string) error
	// SetDistributionStatus changes a distribution's status; changed is false when it
	// already had it.
	SetDistributionStatus(ctx context.Context, id, status string, at time.Time) (changed bool, err error)

	// AddNotification records n once per n.DeliveryID: a second call with the same
	// delivery id returns the first notification and created false.
	AddNotification(ctx context.Context, n Notification) (stored Notification, created bool, err error)
	ListNotifications(ctx context.Context, unreadOnly bool) ([]Notification, error)
	MarkNotificationRead(ctx context.Context, id string, at time.Time) (Notification, error)

	// Project returns the installation's project id and signing secrets, creating them on
	// first use.
	Project(ctx context.Context) (Project, error)

	Close() error
}

// Project is the installation's identity.
type Project struct {
	ID string
	// Secrets sign every delivery; the first is current.
	Secrets []string
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
