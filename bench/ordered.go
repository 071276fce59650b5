package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/payloads"
)

// OrderedKeys is how many keys the events of --ordered are spread over: one event in
// flight per key, so the load is as many streams as this.
const OrderedKeys = 100

// orderedEventType is the type of the --ordered phase's events: the plain distributions
// do not take it, nor the ordered ones the plain phase's.
const orderedEventType = "customer.order.created"

// OrderedResult is what --ordered measured: the same load as the plain path, to
// distributions with webhook.ordering keyed by data.customer.id over OrderedKeys keys.
type OrderedResult struct {
	Keys              int     `json:"keys"`
	DeliveriesPerSec  float64 `json:"deliveries_per_sec"`
	P50FirstAttemptMs float64 `json:"p50_first_attempt_ms"`
	P99FirstAttemptMs float64 `json:"p99_first_attempt_ms"`
	P50CompletionMs   float64 `json:"p50_completion_ms"`
	P99CompletionMs   float64 `json:"p99_completion_ms"`
	CPUMsPerDelivery  float64 `json:"cpu_ms_per_delivery"`
	// RatioVsPlain is DeliveriesPerSec over the plain path's, CPURatioVsPlain the CPU per
	// delivery over the plain path's, both from the same run.
	RatioVsPlain    float64 `json:"ratio_vs_plain"`
	CPURatioVsPlain float64 `json:"cpu_ratio_vs_plain"`
}

// createOrdered stores n ordered distributions of orderedEventType to url.
func createOrdered(ctx context.Context, e *env, n int) ([]string, error) {
	now := time.Now().UTC()
	var ids []string
	for i := range n {
		d := distributions.Distribution{
			ID: payloads.NewID("distr_"), Name: fmt.Sprintf("bench ordered %d", i), Status: distributions.StatusLive, Version: 1,
			Trigger: distributions.Trigger{Events: []string{orderedEventType}},
			Action:  distributions.Action{Type: distributions.ActionPlainMessage},
			Webhook: distributions.Webhook{EventName: "Order-created", URL: e.recv.URL, Version: payloads.Version2024,
				RetrySchedule: &distributions.RetrySchedule{Intervals: []time.Duration{time.Second, time.Second}},
				Ordering:      &distributions.Ordering{Key: "data.customer.id"}},
			CreatedAt: now, UpdatedAt: now,
		}
		if err := e.st.CreateDistribution(ctx, d); err != nil {
			return nil, err
		}
		ids = append(ids, d.ID)
	}
	return ids, nil
}

// orderedDeliveries measures one phase of ordered deliveries: o.Events events of
// orderedEventType, event i of customer cust_<i mod OrderedKeys>, with ids
// evt_bench_<batch>_o<n>.
func (e *env) orderedDeliveries(ctx context.Context, o Options, batch string, distrIDs []string, data map[string]json.RawMessage) (phaseResult, error) {
	return e.eventPhase(ctx, o, "ordered", fmt.Sprintf("evt_bench_%s_o", batch), distrIDs, func(i int, id string) payloads.Event {
		d := make(map[string]json.RawMessage, len(data))
		for k, v := range data {
			d[k] = v
		}
		d["customer"] = json.RawMessage(fmt.Sprintf(`{"id":"cust_%d","email":"ann@example.com"}`, i%OrderedKeys))
		return payloads.Event{ID: id, Type: orderedEventType, CreatedAt: time.Now().UTC(),
			Source: json.RawMessage(`{"channel":"API"}`), Data: d}
	})
}

// orderedResult is the medians of the ordered rounds beside the plain ones.
func orderedResult(ordered, plain []phaseResult) *OrderedResult {
	med := func(rs []phaseResult, f func(phaseResult) float64) float64 {
		vals := make([]float64, len(rs))
		for i, r := range rs {
			vals[i] = f(r)
		}
		return median(vals)
	}
	perSec := func(r phaseResult) float64 { return r.perSec() }
	cpuMs := func(r phaseResult) float64 { return r.cpuMsPer() }
	res := &OrderedResult{Keys: OrderedKeys,
		DeliveriesPerSec:  round1(med(ordered, perSec)),
		P50FirstAttemptMs: round1(med(ordered, func(r phaseResult) float64 { return ms(percentile(r.first, 50)) })),
		P99FirstAttemptMs: round1(med(ordered, func(r phaseResult) float64 { return ms(percentile(r.first, 99)) })),
		P50CompletionMs:   round1(med(ordered, func(r phaseResult) float64 { return ms(percentile(r.completion, 50)) })),
		P99CompletionMs:   round1(med(ordered, func(r phaseResult) float64 { return ms(percentile(r.completion, 99)) })),
		CPUMsPerDelivery:  round1(med(ordered, cpuMs)),
	}
	if p := med(plain, perSec); p > 0 {
		res.RatioVsPlain = round2(med(ordered, perSec) / p)
	}
	if c := med(plain, cpuMs); c > 0 {
		res.CPURatioVsPlain = round2(med(ordered, cpuMs) / c)
	}
	return res
}
