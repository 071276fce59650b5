package store

import (
	"context"
	"fmt"
	"time"

	"github.com/hookflow/hookflow/distributions"
)

// Rate limits (webhook.rate_limit): one token bucket per distribution or project webhook,
// kept in the store so that every worker of a cluster takes from the same bucket. A bucket
// holds one token at most (no burst), and a taker may borrow half of the next: over any
// span of T seconds at most 1.5 + N·T tokens of an N/s limit are taken, that is at most
// N + 1 in any one second and N·T + 1 over any whole number of seconds T.
//
// Beside the bucket, a bucket row keeps the turn of the next delivery to wait (next_slot):
// a delivery that finds no token is given the next free turn, one interval after the one
// before, and sleeps until then; deliveries that come while others wait queue behind them
// even when a token is there. So N waiting deliveries cost N takes and N timers, not N² of
// them asking all at once, and waiting ones are not overtaken by new ones. A delivery that
// wakes at its turn takes the token like any other (waited true): the bucket alone decides
// who goes, and a late or early timer can never let more through than the limit.
//
// Times are microseconds since 1970 of the database's clock on PostgreSQL, which all workers
// share, and of this process's clock on SQLite, which serves one machine. The credit is the
// time the bucket has saved up, from -interval/2 to one interval: a token is one interval of
// credit, and whole microseconds keep the arithmetic exact.

// RateStore keeps the rate limits' token buckets.
type RateStore interface {
	// TakeRateToken takes a token from the bucket of key (a distribution's or project
	// webhook's id) limited to rate, in one transaction. A zero wait is a token taken: the
	// delivery may go. Otherwise no token was taken and the caller should ask again after
	// wait. waited says the caller has waited for the turn an earlier call gave it: it then
	// takes a token if there is one, else it gets a new turn at the end of the queue; a
	// caller that has not waited queues behind those waiting even when a token is there.
	TakeRateToken(ctx context.Context, key string, rate distributions.Rate, waited bool) (wait time.Duration, err error)
}

// The rate buckets table (migration 8 on both backends).
const (
	sqliteRateMigration = `CREATE TABLE rate_buckets (
		id           TEXT PRIMARY KEY,
		interval_us  INTEGER NOT NULL,
		credit_us    INTEGER NOT NULL,
		updated_us   INTEGER NOT NULL,
		next_slot_us INTEGER NOT NULL
	);`
	postgresRateMigration = `CREATE TABLE rate_buckets (
		id           TEXT PRIMARY KEY,
		interval_us  BIGINT NOT NULL,
		credit_us    BIGINT NOT NULL,
		updated_us   BIGINT NOT NULL,
		next_slot_us BIGINT NOT NULL
	);`
)

// rateBucket is one bucket row, all in microseconds.
type rateBucket struct {
	interval, credit, updated, nextSlot int64
}

// take is the bucket's arithmetic at now: it refills the credit, then takes a token or
// answers how long to wait, moving next_slot for a caller that joins the queue.
func (b *rateBucket) take(now, interval int64, waited bool) (wait int64) {
	if b.interval != interval {
		// The limit changed: the turns given under the old one say nothing about the new
		// one. Those waiting keep their timers and take tokens when they wake.
		b.interval, b.nextSlot = interval, 0
		b.credit = min(b.credit, interval)
	}
	if now > b.updated {
		b.credit = min(interval, b.credit+(now-b.updated))
		b.updated = now
	}
	switch {
	case waited && b.credit >= interval-interval/2, b.nextSlot <= now && b.credit >= interval:
		// A caller at its turn may borrow half a token (the credit goes down to
		// -interval/2): then one that wakes a little before the one ahead of it, which woke
		// late, still goes. What this allows beyond a strict bucket is half a token, once.
		b.credit -= interval
		return 0
	case b.nextSlot <= now:
		// Nobody waits: the first in the queue goes when the token is there.
		slot := now + interval - b.credit
		b.nextSlot = slot + interval
		return slot - now
	default:
		// Behind those waiting. A caller that waited and found the token gone (the one
		// before it woke late and took it) queues again at the end: asking again at the
		// next token would have it race the next turn's caller, and with every late timer
		// more of them would race, each asking once per interval.
		slot := b.nextSlot
		b.nextSlot += interval
		return slot - now
	}
}

// rateInterval is the time between two tokens of rate in whole microseconds, rounded up so
// that the limit is never exceeded.
func rateInterval(rate distributions.Rate) int64 {
	per := rate.Per.Microseconds()
	return max(1, (per+int64(rate.Count)-1)/int64(rate.Count))
}

// TakeRateToken takes a token from key's bucket; see RateStore.
func (s *sqlStore) TakeRateToken(ctx context.Context, key string, rate distributions.Rate, waited bool) (time.Duration, error) {
	if rate.Count <= 0 || rate.Per <= 0 {
		return 0, nil // no limit
	}
	interval := rateInterval(rate)
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("take a rate token: %w", err)
	}
	defer tx.Rollback()
	// A new bucket starts full.
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO rate_buckets (id, interval_us, credit_us, updated_us, next_slot_us)
		VALUES (?, ?, ?, 0, 0) ON CONFLICT (id) DO NOTHING`), key, interval, interval); err != nil {
		return 0, fmt.Errorf("take a rate token: %w", err)
	}
	var b rateBucket
	var now int64
	cols := `interval_us, credit_us, updated_us, next_slot_us FROM rate_buckets WHERE id = ?` + s.d.forUpdate
	if s.d.clockMicros != "" {
		err = tx.QueryRowContext(ctx, s.q(`SELECT `+s.d.clockMicros+`, `+cols), key).Scan(&now, &b.interval, &b.credit, &b.updated, &b.nextSlot)
	} else {
		now = time.Now().UnixMicro()
		err = tx.QueryRowContext(ctx, s.q(`SELECT `+cols), key).Scan(&b.interval, &b.credit, &b.updated, &b.nextSlot)
	}
	if err != nil {
		return 0, fmt.Errorf("take a rate token: read the bucket: %w", err)
	}
	wait := b.take(now, interval, waited)
	if _, err := tx.ExecContext(ctx, s.q(`UPDATE rate_buckets SET interval_us = ?, credit_us = ?, updated_us = ?, next_slot_us = ? WHERE id = ?`),
		b.interval, b.credit, b.updated, b.nextSlot, key); err != nil {
		return 0, fmt.Errorf("take a rate token: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("take a rate token: %w", err)
	}
	return time.Duration(wait) * time.Microsecond, nil
}
