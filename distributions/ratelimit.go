package distributions

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// RateLimitForm is how webhook.rate_limit is written: the words an error shows a user.
const RateLimitForm = "a count per second, minute or hour such as 50/s, 1000/m or 100/h"

// MaxRateLimitCount bounds N in N/s, N/m and N/h: past some thousands a second a limit
// limits nothing hookflow can send, and a typo (50000/s for 50/s) should not pass.
const MaxRateLimitCount = 100000

// maxRateLimitLen bounds the value an error quotes back: no rate limit is longer.
const maxRateLimitLen = 24

// Rate is a parsed webhook.rate_limit: at most Count deliveries per Per.
type Rate struct {
	Count int
	Per   time.Duration
}

// Interval is the time one token takes to come back: Per / Count.
func (r Rate) Interval() time.Duration { return r.Per / time.Duration(r.Count) }

// String writes r as webhook.rate_limit takes it.
func (r Rate) String() string {
	unit := map[time.Duration]string{time.Second: "s", time.Minute: "m", time.Hour: "h"}[r.Per]
	return strconv.Itoa(r.Count) + "/" + unit
}

// ParseRateLimit reads webhook.rate_limit: N/s, N/m or N/h with N a whole number from 1
// to MaxRateLimitCount. "" is no limit (the zero Rate).
func ParseRateLimit(s string) (Rate, error) {
	if s == "" {
		return Rate{}, nil
	}
	if len(s) > maxRateLimitLen {
		return Rate{}, fmt.Errorf("%q… is not %s", s[:maxRateLimitLen], RateLimitForm)
	}
	count, unit, ok := strings.Cut(s, "/")
	if !ok {
		return Rate{}, fmt.Errorf("%q is not %s", s, RateLimitForm)
	}
	per, ok := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour}[unit]
	if !ok {
		return Rate{}, fmt.Errorf("%q: the unit after / is s, m or h", s)
	}
	if count == "" || strings.Trim(count, "0123456789") != "" {
		return Rate{}, fmt.Errorf("%q is not %s", s, RateLimitForm)
	}
	n, err := strconv.Atoi(count)
	if err != nil {
		n = MaxRateLimitCount + 1 // too many digits for an int: over the bound
	}
	if n < 1 || n > MaxRateLimitCount {
		return Rate{}, fmt.Errorf("%q: the count must be from 1 to %d", s, MaxRateLimitCount)
	}
	return Rate{Count: n, Per: per}, nil
}

// RateTokenRequest asks for a token of a rate-limited delivery, before each of its attempts:
// what the workflow gives the TakeRateToken activity. It holds no secret.
type RateTokenRequest struct {
	DeliveryID string `json:"delivery_id"`
	// SourceID is the distribution's (or project webhook's) id: its bucket.
	SourceID string `json:"source_id"`
	// RateLimit is its webhook.rate_limit as the workflow's snapshot has it.
	RateLimit string `json:"rate_limit"`
	// Waited says the delivery has waited for the turn an earlier answer gave it.
	Waited bool `json:"waited,omitempty"`
}

// RateToken is the answer: go (Wait 0) or ask again after Wait. It names the delivery, as
// the delivery log reads it from the history, where a local activity's input is not kept.
type RateToken struct {
	DeliveryID string        `json:"delivery_id"`
	Wait       time.Duration `json:"wait,omitempty"`
}
