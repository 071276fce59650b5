package distributions

import (
	"encoding/json"
	"fmt"
	"time"
)

// Named retry schedules (spec section 9).
const (
	ScheduleVoucherify = "voucherify"
	ScheduleStandard   = "standard"
)

// Limits on a custom schedule.
const (
	MaxRetries       = 50
	MaxRetryInterval = 48 * time.Hour
	MaxScheduleSpan  = 72 * time.Hour
)

// RetrySchedule is a named schedule or a custom list of intervals between attempts. In JSON
// it is either a string ("voucherify", "standard") or a list of duration strings.
type RetrySchedule struct {
	Name      string
	Intervals []time.Duration
}

// voucherifyGaps: retry n at 2^(n-1) min after the first attempt for n = 1..11, the 12th at
// +24 h; written as the gaps between attempts.
var voucherifyGaps = func() []time.Duration {
	gaps := []time.Duration{time.Minute}
	for m := 1; m <= 512; m *= 2 {
		gaps = append(gaps, time.Duration(m)*time.Minute)
	}
	return append(gaps, 6*time.Hour+56*time.Minute)
}()

// standardOffsets are Standard Webhooks' example, read as times after the first attempt
// so that the schedule, like voucherify's, ends at 24 h.
var standardOffsets = []time.Duration{
	5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour,
	10 * time.Hour, 14 * time.Hour, 20 * time.Hour, 24 * time.Hour,
}

// Gaps returns the waits between attempts: the n-th gap comes after attempt n. A delivery
// makes len(Gaps())+1 attempts at most.
func (s RetrySchedule) Gaps() []time.Duration {
	switch s.Name {
	case ScheduleVoucherify:
		return append([]time.Duration(nil), voucherifyGaps...)
	case ScheduleStandard:
		gaps := make([]time.Duration, len(standardOffsets))
		var prev time.Duration
		for i, off := range standardOffsets {
			gaps[i] = off - prev
			prev = off
		}
		return gaps
	}
	return append([]time.Duration(nil), s.Intervals...)
}

// MarshalJSON writes the name, or the list of intervals.
func (s RetrySchedule) MarshalJSON() ([]byte, error) {
	if s.Name != "" {
		return json.Marshal(s.Name)
	}
	list := make([]string, len(s.Intervals))
	for i, d := range s.Intervals {
		list[i] = d.String()
	}
	return json.Marshal(list)
}

// UnmarshalJSON reads a name or a list of duration strings.
func (s *RetrySchedule) UnmarshalJSON(b []byte) error {
	var name string
	if json.Unmarshal(b, &name) == nil {
		*s = RetrySchedule{Name: name}
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return fmt.Errorf(`must be "voucherify", "standard" or a list of durations such as ["1m", "5m"]`)
	}
	out := RetrySchedule{Intervals: make([]time.Duration, len(list))}
	for i, v := range list {
		d, err := ParseDuration(v)
		if err != nil {
			return fmt.Errorf("[%d]: %v", i, err)
		}
		out.Intervals[i] = d
	}
	*s = out
	return nil
}

func (s RetrySchedule) check() string {
	switch s.Name {
	case ScheduleVoucherify, ScheduleStandard:
		return ""
	case "":
	default:
		return fmt.Sprintf("%q is not voucherify, standard or a list of intervals", s.Name)
	}
	if len(s.Intervals) > MaxRetries {
		return fmt.Sprintf("at most %d retries", MaxRetries)
	}
	var total time.Duration
	for i, d := range s.Intervals {
		if d < 0 || d > MaxRetryInterval {
			return fmt.Sprintf("[%d]: each interval must be between 0s and %s", i, MaxRetryInterval)
		}
		total += d
	}
	if total > MaxScheduleSpan {
		return fmt.Sprintf("the whole schedule must span at most %s", MaxScheduleSpan)
	}
	return ""
}
