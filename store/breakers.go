package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hookflow/hookflow/distributions"
)

// BreakerStore keeps the circuit breakers of distributions: a row per distribution whose
// breaker ever counted a failure, shared by every worker. Each change is one transaction
// that reads the row locked (PostgreSQL's row lock, SQLite's write lock taken at BEGIN)
// and writes it back, so two workers never both take the probe lease, and an opening or a
// closing happens once.
type BreakerStore interface {
	// AskBreaker answers a delivery that is about to make its first attempt: go, probe
	// (it holds the probe lease until a.Lease from now, or its report), or hold.
	AskBreaker(ctx context.Context, a distributions.BreakerAsk, now time.Time) (distributions.BreakerAnswer, error)
	// ReportBreaker records the outcome of a first attempt (or a probe) and says whether
	// the breaker opened or closed on it.
	ReportBreaker(ctx context.Context, r distributions.BreakerReport, now time.Time) (distributions.BreakerChange, error)
	// GetBreaker returns the breaker of a distribution; a closed one when it has no row.
	GetBreaker(ctx context.Context, id string) (Breaker, error)
	// BreakerSettings returns the installation's circuit-breaker settings (none when never
	// set); SetBreakerSettings replaces them.
	BreakerSettings(ctx context.Context) (distributions.BreakerSettings, error)
	SetBreakerSettings(ctx context.Context, s distributions.BreakerSettings) error
}

// Breaker states.
const (
	BreakerClosed = "closed"
	BreakerOpen   = "open"
)

// releaseSpacing is the time between two held deliveries let go after the breaker closed,
// so that their first attempts start in hold order.
const releaseSpacing = 20 * time.Millisecond

// Breaker is a distribution's circuit breaker as stored.
type Breaker struct {
	ID                  string `json:"id"`
	State               string `json:"state"`
	ConsecutiveFailures int    `json:"consecutive_failures"`
	// Opens counts the openings; the notifications of one opening and its closing are
	// keyed by it.
	Opens    int64     `json:"opens"`
	OpenedAt time.Time `json:"opened_at,omitzero"`
	ClosedAt time.Time `json:"closed_at,omitzero"`
	// ProbeDelivery holds the probe lease until ProbeUntil; while open with no lease, no
	// probe starts before ProbeUntil either.
	ProbeDelivery string    `json:"probe_delivery,omitempty"`
	ProbeUntil    time.Time `json:"probe_until,omitzero"`
	// HoldNext is the next place in the hold order; HoldFrom was HoldNext when it last
	// opened, so the deliveries held since have places HoldFrom..HoldNext-1.
	HoldNext  int64     `json:"hold_next"`
	HoldFrom  int64     `json:"hold_from"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// releaseAt is when the held delivery with place seq goes, once the breaker closed: after
// one probe interval and its jitter, by which time every held delivery has asked again,
// then one every releaseSpacing in hold order.
func (b Breaker) releaseAt(seq int64, interval time.Duration) time.Time {
	base := b.ClosedAt.Add(interval + interval/10)
	return base.Add(time.Duration(max(seq-b.HoldFrom, 0)) * releaseSpacing)
}

// ask decides a's answer and changes b; changed says whether b must be written.
func (b *Breaker) ask(a distributions.BreakerAsk, now time.Time) (ans distributions.BreakerAnswer, changed bool) {
	if b.State != BreakerOpen {
		if a.HoldSeq > 0 {
			// Held, now let go in hold order.
			return distributions.BreakerAnswer{Decision: distributions.BreakerGo, HoldSeq: a.HoldSeq,
				Wait: max(b.releaseAt(a.HoldSeq, a.ProbeInterval).Sub(now), 0)}, false
		}
		if b.HoldNext > b.HoldFrom && !b.ClosedAt.IsZero() && now.Before(b.releaseAt(b.HoldNext, a.ProbeInterval)) {
			// The held deliveries are still going: a new one queues behind them.
			seq := b.HoldNext
			b.HoldNext++
			return distributions.BreakerAnswer{Decision: distributions.BreakerGo, HoldSeq: seq,
				Wait: max(b.releaseAt(seq, a.ProbeInterval).Sub(now), 0)}, true
		}
		return distributions.BreakerAnswer{Decision: distributions.BreakerGo}, false
	}
	if b.ProbeDelivery == a.DeliveryID && now.Before(b.ProbeUntil) {
		// Asked again (a retried activity): it still holds the lease.
		return distributions.BreakerAnswer{Decision: distributions.BreakerProbe, HoldSeq: a.HoldSeq}, false
	}
	if !now.Before(b.ProbeUntil) {
		b.ProbeDelivery, b.ProbeUntil = a.DeliveryID, now.Add(a.Lease)
		return distributions.BreakerAnswer{Decision: distributions.BreakerProbe, HoldSeq: a.HoldSeq}, true
	}
	seq := a.HoldSeq
	if seq == 0 {
		seq = b.HoldNext
		b.HoldNext++
		changed = true
	}
	return distributions.BreakerAnswer{Decision: distributions.BreakerHold, HoldSeq: seq, Wait: a.ProbeInterval}, changed
}

// report records r on b; changed says whether b must be written.
func (b *Breaker) report(r distributions.BreakerReport, now time.Time) (ch distributions.BreakerChange, changed bool) {
	open := b.State == BreakerOpen
	switch {
	case r.OK && open:
		// Any first attempt that succeeds shows the receiver is back, the probe's or one
		// that started before the breaker opened.
		b.State, b.ClosedAt, b.ConsecutiveFailures = BreakerClosed, now, 0
		b.ProbeDelivery, b.ProbeUntil = "", time.Time{}
		return distributions.BreakerChange{Closed: true, Opens: b.Opens}, true
	case r.OK:
		if b.ConsecutiveFailures == 0 {
			return ch, false
		}
		b.ConsecutiveFailures = 0
		return ch, true
	case open:
		if b.ProbeDelivery != r.DeliveryID {
			// A first attempt that started before it opened: the breaker knows already.
			return ch, false
		}
		// The probe failed: the next one no sooner than a probe interval from now.
		b.ProbeDelivery, b.ProbeUntil = "", now.Add(r.ProbeInterval)
		return ch, true
	}
	b.ConsecutiveFailures++
	if r.Failures > 0 && b.ConsecutiveFailures >= r.Failures {
		b.State, b.OpenedAt = BreakerOpen, now
		b.Opens++
		b.ProbeDelivery, b.ProbeUntil = "", now.Add(r.ProbeInterval)
		b.HoldFrom = b.HoldNext
		return distributions.BreakerChange{Opened: true, Opens: b.Opens}, true
	}
	return ch, true
}

const (
	breakersMigration = `CREATE TABLE breakers (
		id                   TEXT PRIMARY KEY,
		state                TEXT NOT NULL,
		consecutive_failures INTEGER NOT NULL,
		opens                BIGINT NOT NULL,
		opened_at            BIGINT NOT NULL,
		closed_at            BIGINT NOT NULL,
		probe_delivery       TEXT NOT NULL,
		probe_until          BIGINT NOT NULL,
		hold_next            BIGINT NOT NULL,
		hold_from            BIGINT NOT NULL,
		updated_at           BIGINT NOT NULL
	);`
	sqliteBreakersMigration   = breakersMigration
	postgresBreakersMigration = breakersMigration
)

// The times of a breaker are stored as microseconds since 1970 (0 for none), which both
// databases compare alike.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

const breakerColumns = `state, consecutive_failures, opens, opened_at, closed_at, probe_delivery, probe_until, hold_next, hold_from, updated_at`

func (s *sqlStore) readBreaker(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, id, suffix string) (Breaker, error) {
	b := Breaker{ID: id, State: BreakerClosed}
	var openedAt, closedAt, probeUntil, updatedAt int64
	err := q.QueryRowContext(ctx, s.q(`SELECT `+breakerColumns+` FROM breakers WHERE id = ?`+suffix), id).
		Scan(&b.State, &b.ConsecutiveFailures, &b.Opens, &openedAt, &closedAt, &b.ProbeDelivery, &probeUntil, &b.HoldNext, &b.HoldFrom, &updatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return b, ErrNotFound
	}
	if err != nil {
		return b, fmt.Errorf("read breaker %s: %w", id, err)
	}
	b.OpenedAt, b.ClosedAt, b.ProbeUntil, b.UpdatedAt = fromMicros(openedAt), fromMicros(closedAt), fromMicros(probeUntil), fromMicros(updatedAt)
	return b, nil
}

// GetBreaker returns the breaker of distribution id.
func (s *sqlStore) GetBreaker(ctx context.Context, id string) (Breaker, error) {
	b, err := s.readBreaker(ctx, s.db, id, "")
	if errors.Is(err, ErrNotFound) {
		return b, nil
	}
	return b, err
}

// changeBreaker reads the breaker of id under the transaction's lock, lets change decide,
// and writes it back when change says so.
func (s *sqlStore) changeBreaker(ctx context.Context, id string, now time.Time, change func(b *Breaker) bool) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// The row exists before it is read locked, so that two first changes do not both
	// insert it.
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO breakers (id, `+breakerColumns+`) VALUES (?, ?, 0, 0, 0, 0, '', 0, 1, 1, ?) ON CONFLICT (id) DO NOTHING`),
		id, BreakerClosed, micros(now)); err != nil {
		return fmt.Errorf("create breaker %s: %w", id, err)
	}
	b, err := s.readBreaker(ctx, tx, id, s.d.forUpdate)
	if err != nil {
		return err
	}
	if !change(&b) {
		return tx.Commit()
	}
	if _, err := tx.ExecContext(ctx, s.q(`UPDATE breakers SET state = ?, consecutive_failures = ?, opens = ?, opened_at = ?, closed_at = ?,
		probe_delivery = ?, probe_until = ?, hold_next = ?, hold_from = ?, updated_at = ? WHERE id = ?`),
		b.State, b.ConsecutiveFailures, b.Opens, micros(b.OpenedAt), micros(b.ClosedAt),
		b.ProbeDelivery, micros(b.ProbeUntil), b.HoldNext, b.HoldFrom, micros(now), id); err != nil {
		return fmt.Errorf("update breaker %s: %w", id, err)
	}
	return tx.Commit()
}

// AskBreaker answers a delivery before its first attempt.
func (s *sqlStore) AskBreaker(ctx context.Context, a distributions.BreakerAsk, now time.Time) (distributions.BreakerAnswer, error) {
	// The common case, a closed breaker and no held deliveries going, reads without a
	// write transaction.
	b, err := s.readBreaker(ctx, s.db, a.DistributionID, "")
	if errors.Is(err, ErrNotFound) {
		return distributions.BreakerAnswer{Decision: distributions.BreakerGo}, nil
	}
	if err != nil {
		return distributions.BreakerAnswer{}, err
	}
	if ans, changed := b.ask(a, now); !changed && ans.Decision != distributions.BreakerProbe {
		return ans, nil
	}
	var ans distributions.BreakerAnswer
	err = s.changeBreaker(ctx, a.DistributionID, now, func(b *Breaker) bool {
		var changed bool
		ans, changed = b.ask(a, now)
		return changed
	})
	return ans, err
}

// ReportBreaker records the outcome of a first attempt.
func (s *sqlStore) ReportBreaker(ctx context.Context, r distributions.BreakerReport, now time.Time) (distributions.BreakerChange, error) {
	// A success to a closed breaker with no failure counted, the common case, writes nothing.
	b, err := s.readBreaker(ctx, s.db, r.DistributionID, "")
	if err != nil && !errors.Is(err, ErrNotFound) {
		return distributions.BreakerChange{}, err
	}
	if r.OK && b.State != BreakerOpen && b.ConsecutiveFailures == 0 {
		return distributions.BreakerChange{}, nil
	}
	var ch distributions.BreakerChange
	err = s.changeBreaker(ctx, r.DistributionID, now, func(b *Breaker) bool {
		var changed bool
		ch, changed = b.report(r, now)
		return changed
	})
	return ch, err
}

// BreakerSettings returns the stored settings, or none.
func (s *sqlStore) BreakerSettings(ctx context.Context) (distributions.BreakerSettings, error) {
	var doc string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'breaker_settings'`).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return distributions.BreakerSettings{}, nil
	}
	if err != nil {
		return distributions.BreakerSettings{}, err
	}
	var out distributions.BreakerSettings
	return out, json.Unmarshal([]byte(doc), &out)
}

// SetBreakerSettings replaces the settings.
func (s *sqlStore) SetBreakerSettings(ctx context.Context, bs distributions.BreakerSettings) error {
	doc, err := json.Marshal(bs)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, s.q(`INSERT INTO settings (key, value) VALUES ('breaker_settings', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`), string(doc))
	return err
}
