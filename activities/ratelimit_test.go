package activities

import (
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/hookflow/hookflow/distributions"
)

// TestTakeRateToken: on a real store, the first take of a bucket goes, the next is told to
// wait about an interval, buckets are per distribution, the answer names the delivery (the
// delivery log reads it from the marker), and a rate_limit that does not parse is a
// non-retryable error naming the field.
func TestTakeRateToken(t *testing.T) {
	a, _ := newActivities(t)
	ctx := t.Context()
	req := distributions.RateTokenRequest{DeliveryID: "whs_1", SourceID: "distr_a", RateLimit: "2/s"}
	tok, err := a.TakeRateToken(ctx, req)
	if err != nil || tok.Wait != 0 || tok.DeliveryID != "whs_1" {
		t.Fatalf("first take: %+v, %v; want to go, naming whs_1", tok, err)
	}
	req.DeliveryID = "whs_2"
	tok, err = a.TakeRateToken(ctx, req)
	if err != nil || tok.Wait < 400*time.Millisecond || tok.Wait > 500*time.Millisecond || tok.DeliveryID != "whs_2" {
		t.Fatalf("second take: %+v, %v; want a wait of about 500ms", tok, err)
	}
	if tok, err := a.TakeRateToken(ctx, distributions.RateTokenRequest{DeliveryID: "whs_3", SourceID: "distr_b", RateLimit: "2/s"}); err != nil || tok.Wait != 0 {
		t.Fatalf("another distribution's first take: %+v, %v", tok, err)
	}
	for _, bad := range []string{"", "fast", "0/s", "2/d"} {
		_, err := a.TakeRateToken(ctx, distributions.RateTokenRequest{DeliveryID: "whs_4", SourceID: "distr_c", RateLimit: bad})
		var appErr *temporal.ApplicationError
		if bad == "" {
			if err != nil {
				t.Errorf("no limit: %v", err)
			}
			continue
		}
		if !errors.As(err, &appErr) || !appErr.NonRetryable() || !strings.Contains(err.Error(), "webhook.rate_limit") {
			t.Errorf("rate_limit %q: %v, want a non-retryable error naming webhook.rate_limit", bad, err)
		}
	}
}
