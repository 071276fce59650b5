// Package api is hookflow's HTTP API: event intake, distributions and project webhooks,
// the delivery log, notifications and their settings, signing secrets, manual messages,
// campaign code pools, program presets, API keys, and the codec endpoint that Temporal's
// Web UI and CLI call.
package api

import (
	"context"
	"log/slog"
	"time"

	"github.com/hookflow/hookflow/deliverylog"
	"github.com/hookflow/hookflow/payloads"
	"github.com/hookflow/hookflow/starter"
	"github.com/hookflow/hookflow/store"
)

// The Server and what it depends on. Its routes are listed in routes.go; each resource's
// handlers are in the file named for it.

// Server serves the API.
type Server struct {
	Store   store.Store
	Starter EventStarter
	// Log reads the delivery log; nil answers 501 on its routes.
	Log    DeliveryLog
	Logger *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// RequireKeys makes every route but the health checks (/healthz, /livez, /readyz)
	// need an API key with the route's scope; see Handler. When false the API is open to
	// whoever reaches it, which suits only a loopback address.
	RequireKeys bool
	// EmailConfigured tells whether failure e-mail can go out: true when the worker of
	// this process has an SMTP server (--smtp-url), false when it has none; nil when the
	// API runs alone (hookflow api) and the workers' flags decide. The notification
	// settings show it, so that turning e-mail on without SMTP is told at once.
	EmailConfigured *bool

	// verified are the API keys the store confirmed lately, for when it cannot answer.
	verified verifiedKeys
}

// EventStarter starts the delivery of an event.
type EventStarter interface {
	Start(ctx context.Context, ev payloads.Event) (starter.Handle, error)
}

// DeliveryLog reads deliveries and their attempts from Temporal.
type DeliveryLog interface {
	Delivery(ctx context.Context, id string) (deliverylog.Delivery, error)
	ListEvents(ctx context.Context, f deliverylog.EventFilter) (deliverylog.EventPage, error)
	Resend(ctx context.Context, deliveryID string) (deliverylog.Run, error)
	Recover(ctx context.Context, distributionID string, since, until time.Time, limit int) ([]deliverylog.Recovered, error)
}

// MessageStarter starts and cancels the workflows of messages; the API's Starter provides
// it when it is a *starter.Starter.
type MessageStarter interface {
	StartMessage(ctx context.Context, in starter.MessageInput) (starter.Handle, error)
	CancelMessage(ctx context.Context, messageID string) (starter.MessageProgress, error)
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}
