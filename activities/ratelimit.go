package activities

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/temporal"

	"github.com/hookflow/hookflow/distributions"
)

// TakeRateToken takes a token from the bucket of a rate-limited distribution (or project
// webhook) in the store, which every worker shares, so the limit holds across the cluster.
// It answers go (Wait 0) or how long to wait before asking again. The workflow runs it as a
// local activity before each attempt, and sleeps on a durable timer when told to wait.
func (a *Activities) TakeRateToken(ctx context.Context, req distributions.RateTokenRequest) (distributions.RateToken, error) {
	rate, err := distributions.ParseRateLimit(req.RateLimit)
	if err != nil {
		// Validated at save: only a hand-made input gets here, and asking again will not help.
		return distributions.RateToken{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("webhook.rate_limit of %s: %v", req.SourceID, err), "invalid", nil)
	}
	wait, err := a.Store.TakeRateToken(ctx, req.SourceID, rate, req.Waited)
	if err != nil {
		return distributions.RateToken{}, err
	}
	return distributions.RateToken{DeliveryID: req.DeliveryID, Wait: wait}, nil
}
