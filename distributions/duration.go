package distributions

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DurationForm is how every duration hookflow reads, as a flag or as a field, is written:
// the words an error shows a user.
const DurationForm = "a duration such as 30s, 5m, 1h30m or 1d (units ms, s, m, h, d; d is 24h)"

// ParseDuration reads a duration as every flag and field takes it: a Go duration ("90s",
// "1h30m") with d for days of 24 hours beside it ("1d", "2d12h", "1.5d"). A bare number
// has no unit and is refused: 5 could be seconds or minutes.
func ParseDuration(s string) (time.Duration, error) {
	v := strings.TrimSpace(s)
	bad := func() (time.Duration, error) {
		if _, err := strconv.ParseFloat(v, 64); err == nil && v != "0" {
			return 0, fmt.Errorf("%q has no unit: write %ss, %sm or %sh", s, v, v, v)
		}
		return 0, fmt.Errorf("%q is not %s", s, DurationForm)
	}
	var days time.Duration
	if i := strings.IndexByte(v, 'd'); i >= 0 {
		n, err := strconv.ParseFloat(v[:i], 64)
		if err != nil || i == 0 || v[i-1] == '.' {
			return bad()
		}
		days = time.Duration(n * float64(24*time.Hour))
		v = v[i+1:]
		if v == "" {
			return days, nil
		}
		if v[0] == '-' || v[0] == '+' {
			return bad()
		}
		if n < 0 {
			// "-1d2h" is minus one day and two hours, as "-1h2m" is in Go.
			v = "-" + v
		}
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return bad()
	}
	return days + d, nil
}

// Duration is a time.Duration written in JSON as a duration string ("10s"), read with
// ParseDuration.
type Duration time.Duration

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a duration string such as "10s" or "1m30s".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("must be %s, in quotes", DurationForm)
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}
