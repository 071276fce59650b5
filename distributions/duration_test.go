package distributions

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestParseDuration: every duration flag and field reads the same units, days too, and a
// bare number is told to take a unit.
func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"5s": 5 * time.Second, "90m": 90 * time.Minute, "1h30m": 90 * time.Minute, "250ms": 250 * time.Millisecond,
		"1d": 24 * time.Hour, "2d12h": 60 * time.Hour, "1.5d": 36 * time.Hour, "0": 0, "0s": 0, " 7d ": 7 * 24 * time.Hour,
		"-1d2h": -26 * time.Hour,
	} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"5":     `"5" has no unit: write 5s, 5m or 5h`,
		"ten":   `"ten" is not a duration such as 30s, 5m, 1h30m or 1d (units ms, s, m, h, d; d is 24h)`,
		"d":     "is not a duration",
		"1d-2h": "is not a duration",
		"1w":    "is not a duration",
		"":      "is not a duration",
	} {
		if _, err := ParseDuration(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseDuration(%q) = %v, want an error saying %q", in, err, want)
		}
	}
}

// TestDurationFieldsTakeDays: a distribution's timeout and retry schedule read days as
// the flags do.
func TestDurationFieldsTakeDays(t *testing.T) {
	d, err := Decode([]byte(`{"webhook":{"timeout":"30s","retry_schedule":["1h","1d"]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Webhook.Schedule().Gaps(); len(got) != 2 || got[1] != 24*time.Hour {
		t.Errorf("gaps %v, want [1h 24h]", got)
	}
	_, err = Decode([]byte(`{"webhook":{"timeout":"5","retry_schedule":["5","1m"]}}`))
	want := `webhook.retry_schedule: [0]: "5" has no unit: write 5s, 5m or 5h; webhook.timeout: "5" has no unit: write 5s, 5m or 5h`
	if err == nil || err.Error() != want {
		t.Errorf("Decode: %v, want %s", err, want)
	}
}

// TestDurationDocs: every example of docs/distributions.md's paragraph on durations reads
// as it says, and the number it says is refused is.
func TestDurationDocs(t *testing.T) {
	doc, err := os.ReadFile("../docs/distributions.md")
	if err != nil {
		t.Fatal(err)
	}
	_, para, ok := strings.Cut(string(doc), "**Durations.**")
	if !ok {
		t.Fatal("docs/distributions.md has no paragraph on durations")
	}
	para, _, _ = strings.Cut(para, "\n\n")
	para = strings.Join(strings.Fields(para), " ")
	_, examples, ok := strings.Cut(para, "such as `250ms`")
	if !ok {
		t.Fatalf("no examples in %q", para)
	}
	examples, _, _ = strings.Cut(examples, "A bare number")
	n := 0
	for i, ex := range strings.Split("`250ms`"+examples, "`") {
		if i%2 == 0 {
			continue // between code spans
		}
		n++
		if _, err := ParseDuration(ex); err != nil {
			t.Errorf("the doc's example %q: %v", ex, err)
		}
	}
	if n < 5 {
		t.Errorf("found %d examples in %q", n, para)
	}
	if _, err := ParseDuration("5"); err == nil || !strings.Contains(para, "write `5s`") {
		t.Errorf("a bare 5: %v; the doc says %q", err, para)
	}
}
