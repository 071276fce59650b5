package distributions

import (
	"fmt"
	"time"
)

// CircuitBreaker holds a distribution's new deliveries once its receiver has failed the
// first attempts of Failures deliveries in a row, instead of each starting its own day of
// retries; one delivery at a time probes the receiver, every ProbeInterval, and its success
// lets the held ones go (docs/distributions.md, "Circuit breaker").
//
// On a distribution, absent means the installation's default (BreakerSettings), and
// Failures 0 means off whatever the default says.
type CircuitBreaker struct {
	// Failures is how many first attempts in a row must fail to open it; 0 is off.
	Failures int `json:"failures"`
	// ProbeInterval is how long held deliveries wait between asks, and the shortest time
	// between two probes; 0 is DefaultProbeInterval.
	ProbeInterval Duration `json:"probe_interval,omitempty"`
}

// Bounds of a circuit breaker's fields.
const (
	MaxBreakerFailures   = 1000
	DefaultProbeInterval = 30 * time.Second
	MinProbeInterval     = time.Second
	MaxProbeInterval     = time.Hour
)

// On reports whether b opens at all.
func (b *CircuitBreaker) On() bool { return b != nil && b.Failures > 0 }

// Interval is b's probe interval, its default filled in.
func (b CircuitBreaker) Interval() time.Duration {
	if b.ProbeInterval == 0 {
		return DefaultProbeInterval
	}
	return time.Duration(b.ProbeInterval)
}

func (b *CircuitBreaker) check(field string, ps *problems) {
	if b == nil {
		return
	}
	if b.Failures < 0 || b.Failures > MaxBreakerFailures {
		ps.add(field+".failures", "must be between 0 (off) and %d", MaxBreakerFailures)
	}
	if p := time.Duration(b.ProbeInterval); p != 0 && (p < MinProbeInterval || p > MaxProbeInterval) {
		ps.add(field+".probe_interval", "must be between %s and %s", MinProbeInterval, MaxProbeInterval)
	}
}

// EffectiveBreaker is the breaker a distribution's deliveries use: its own when it has one
// (Failures 0 turns it off), else the installation's default; nil when off.
func EffectiveBreaker(own, installation *CircuitBreaker) *CircuitBreaker {
	b := own
	if b == nil {
		b = installation
	}
	if !b.On() {
		return nil
	}
	out := *b
	out.ProbeInterval = Duration(out.Interval())
	return &out
}

// BreakerSettings are the installation's circuit-breaker settings: the default of every
// distribution that sets no webhook.circuit_breaker of its own.
type BreakerSettings struct {
	// Default is nil (or Failures 0) for no breaker by default.
	Default *CircuitBreaker `json:"default"`
}

// DecodeBreakerSettings reads settings from JSON, strictly.
func DecodeBreakerSettings(body []byte) (BreakerSettings, error) {
	var s BreakerSettings
	return s, decodeStrict(body, &s)
}

// Validate lists every problem of the settings.
func (s BreakerSettings) Validate() error {
	var ps problems
	s.Default.check("default", &ps)
	return ps.err()
}

// BreakerAsk is what a delivery asks the breaker before its first attempt.
type BreakerAsk struct {
	DistributionID string `json:"distribution_id"`
	DeliveryID     string `json:"delivery_id"`
	// ProbeInterval is the breaker's (CircuitBreaker.Interval).
	ProbeInterval time.Duration `json:"probe_interval"`
	// Lease is how long a probe may hold the probe lease: its attempt's timeout and a
	// margin, so a prober that crashed does not hold it for ever.
	Lease time.Duration `json:"lease"`
	// HoldSeq is the place in the hold order the breaker gave this delivery when it first
	// held it; 0 before.
	HoldSeq int64 `json:"hold_seq,omitempty"`
}

// Breaker decisions.
const (
	BreakerGo    = "go"
	BreakerProbe = "probe"
	BreakerHold  = "hold"
)

// BreakerAnswer is the breaker's answer to a BreakerAsk.
type BreakerAnswer struct {
	// DeliveryID is the asking delivery's, so that the delivery log tells whose answer a
	// recorded answer is.
	DeliveryID string `json:"delivery_id,omitempty"`
	// Decision is go, probe or hold.
	Decision string `json:"decision"`
	// HoldSeq is the delivery's place in the hold order (hold, and go after a hold).
	HoldSeq int64 `json:"hold_seq,omitempty"`
	// Wait is how long to wait before asking again (hold) or before going (go after a
	// hold: the held deliveries go in hold order).
	Wait time.Duration `json:"wait,omitempty"`
}

// BreakerReport is the outcome of a first attempt (or a probe), reported to the breaker.
type BreakerReport struct {
	DistributionID string `json:"distribution_id"`
	DeliveryID     string `json:"delivery_id"`
	Failures       int    `json:"failures"`
	OK             bool   `json:"ok"`
	// ProbeInterval is the breaker's: a failed probe lets the next one start no sooner.
	ProbeInterval time.Duration `json:"probe_interval"`
}

// BreakerChange says what a report changed: the breaker opened or closed (at most one),
// and the number of its opening, which keys the notification of each change.
type BreakerChange struct {
	Opened bool  `json:"opened,omitempty"`
	Closed bool  `json:"closed,omitempty"`
	Opens  int64 `json:"opens,omitempty"`
}

// BreakerNotice tells the operator that a distribution's breaker opened or closed.
type BreakerNotice struct {
	DistributionID   string `json:"distribution_id"`
	DistributionName string `json:"distribution_name"`
	TargetURL        string `json:"target_url"`
	// Change is "opened" or "closed".
	Change string `json:"change"`
	// Opens numbers the breaker's openings: (distribution, Opens, Change) is sent once.
	Opens         int64         `json:"opens"`
	Failures      int           `json:"failures"`
	ProbeInterval time.Duration `json:"probe_interval"`
	LastError     string        `json:"last_error,omitempty"`
	DeliveryID    string        `json:"delivery_id"`
	WorkflowID    string        `json:"workflow_id"`
	Notifications Notifications `json:"notifications"`
}

// Key is the notice's idempotency key.
func (n BreakerNotice) Key() string {
	return fmt.Sprintf("breaker:%s:%d:%s", n.DistributionID, n.Opens, n.Change)
}
