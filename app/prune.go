package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/hookflow/hookflow/store"
)

// DefaultStoreRetention is how long hookflow's own per-event history (notifications, the
// records of failure e-mails and alerts, finished messages and their customers) is kept:
// 30 days, as Stripe keeps events and Svix payloads on its smallest plan. docs/decisions.md
// says why.
const DefaultStoreRetention = 30 * 24 * time.Hour

// MinStoreRetention is the shortest --store-retention taken: a day, the retry window of a
// delivery, within which the record of a failure e-mail or alert must stay to keep a
// retried activity from sending it twice.
const MinStoreRetention = 24 * time.Hour

// StorePruneInterval is how often a process that runs a worker prunes the store (the
// banner says "hourly").
const StorePruneInterval = time.Hour

// storePruneBatch bounds the rows one delete statement of a prune removes, so that a large
// backlog is deleted in many short transactions, each letting other writers in.
const storePruneBatch = 1000

// checkStoreRetention refuses a retention shorter than MinStoreRetention; 0 keeps
// everything.
func checkStoreRetention(d time.Duration) error {
	if d != 0 && d < MinStoreRetention {
		return fmt.Errorf("--store-retention %s: keep the history at least %s (a delivery's retry window), or 0 to keep it for ever", d, MinStoreRetention)
	}
	return nil
}

// pruneStore deletes the store's history older than retention before now, once, and logs
// what it deleted in one line when it deleted anything.
func pruneStore(ctx context.Context, st store.Store, retention time.Duration, now time.Time, logger *slog.Logger) (store.PruneResult, error) {
	r, err := st.Prune(ctx, now.Add(-retention), storePruneBatch)
	if err != nil {
		// What was deleted before the error is counted all the same.
		logger.Warn("store prune failed; the next one goes on", "error", err.Error(),
			"notifications", r.Notifications, "notification_sends", r.NotificationSends,
			"messages", r.Messages, "message_customers", r.MessageCustomers, "idempotency_keys", r.IdempotencyKeys,
			"rate_buckets", r.RateBuckets)
		return r, err
	}
	if r.Total() > 0 {
		logger.Info("store pruned", "older_than", retention.String(),
			"notifications", r.Notifications, "notification_sends", r.NotificationSends,
			"messages", r.Messages, "message_customers", r.MessageCustomers, "idempotency_keys", r.IdempotencyKeys,
			"rate_buckets", r.RateBuckets)
	}
	return r, nil
}

// startStorePruner prunes the store now and then every interval until the process stops;
// retention 0 prunes nothing. Every worker process runs one: their deletes are idempotent,
// so several at once only share the work.
func (p *process) startStorePruner(ctx context.Context, st store.Store, retention, interval time.Duration, logger *slog.Logger) {
	if retention <= 0 {
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		for {
			_, _ = pruneStore(ctx, st, retention, time.Now(), logger)
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
			}
		}
	}()
	// Stopped, and waited for, before the store closes.
	p.onClose(func() { cancel(); <-done })
}

// storeRetentionNote is the banner's row on the retention of the store's history.
func storeRetentionNote(retention time.Duration) string {
	if retention <= 0 {
		return "kept for ever (--store-retention 0)"
	}
	return fmt.Sprintf("notifications and finished messages older than %s are pruned hourly (--store-retention)", formatDays(retention))
}

// formatDays writes a whole number of days as days, anything else as a duration.
func formatDays(d time.Duration) string {
	const day = 24 * time.Hour
	if d%day == 0 {
		if d == day {
			return "1 day"
		}
		return fmt.Sprintf("%d days", d/day)
	}
	return d.String()
}
