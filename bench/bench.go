// Package bench is `hookflow bench`: it measures deliveries per second, latency, CPU and
// memory of hookflow on an embedded Temporal server, beside yardsticks of bare Temporal
// workflows run on the same server in the same process, so that what it reports are
// ratios that hold from one machine to the next. RunMessage measures one bulk message.
package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/app"
	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/payloads"
	"github.com/hookflow/hookflow/workflows"
)

// Options say what to measure.
type Options struct {
	Events        int     // per round
	Concurrency   int     // events in flight at once (unless Rate)
	Rate          float64 // a fixed arrival rate, events/s, instead of a fixed concurrency
	Distributions int     // matching distributions per event
	PayloadBytes  int     // approximate size of each event's data
	Rounds        int     // of each measurement; medians are reported
	Baselines     bool    // run the bare-Temporal yardsticks in the same run
	// DataDir is where the server keeps its SQLite file: a temporary dir, removed after,
	// when empty.
	DataDir string
	// TemporalDatabaseURL runs the server on this PostgreSQL database instead of SQLite.
	TemporalDatabaseURL string
	// CPUProfile, when set, is the file that receives a CPU profile of the measured rounds.
	CPUProfile string
	// MessageCustomers is the size of the one message RunMessage sends.
	MessageCustomers int
	// RateLimited gives the distributions a rate limit (BenchRateLimit) too high to
	// throttle the load: what is measured is the cost of taking a token before each POST.
	RateLimited bool
	// Ordered measures, in each round, the same load to ordered distributions too
	// (ordered.go).
	Ordered bool
}

// BenchRateLimit is the distributions' webhook.rate_limit under --rate-limited: the highest
// there is, far above what one machine delivers, so no delivery waits.
var BenchRateLimit = fmt.Sprintf("%d/s", distributions.MaxRateLimitCount)

// Result is what a run measured. Rates, latencies and CPU are medians over the rounds;
// the ratios divide hookflow's deliveries per second by a yardstick's workflows per
// second, measured in the same run on the same server.
type Result struct {
	// RunID begins the ids of this run's events and workflows, so that a run on a database
	// an earlier run used counts nothing of that one.
	RunID                  string  `json:"run_id"`
	Events                 int     `json:"events"`
	Rounds                 int     `json:"rounds"`
	Concurrency            int     `json:"concurrency"`
	Rate                   float64 `json:"rate,omitempty"`
	Distributions          int     `json:"distributions"`
	RateLimit              string  `json:"rate_limit,omitempty"` // the distributions' webhook.rate_limit (--rate-limited)
	PayloadBytes           int     `json:"payload_bytes"`
	DeliveriesPerSec       float64 `json:"deliveries_per_sec"`
	FloorPerSec            float64 `json:"floor_per_sec"`
	BaselineActivityPerSec float64 `json:"baseline_activity_per_sec"`
	BaselineEmptyPerSec    float64 `json:"baseline_empty_per_sec"`
	RatioVsFloor           float64 `json:"ratio_vs_floor"`
	RatioVsActivity        float64 `json:"ratio_vs_activity"`
	RatioVsEmpty           float64 `json:"ratio_vs_empty"`
	P50FirstAttemptMs      float64 `json:"p50_first_attempt_ms"`
	P95FirstAttemptMs      float64 `json:"p95_first_attempt_ms"`
	P99FirstAttemptMs      float64 `json:"p99_first_attempt_ms"`
	P50CompletionMs        float64 `json:"p50_completion_ms"`
	P95CompletionMs        float64 `json:"p95_completion_ms"`
	P99CompletionMs        float64 `json:"p99_completion_ms"`
	CPUMsPerDelivery       float64 `json:"cpu_ms_per_delivery"`
	CPUMsPerFloor          float64 `json:"cpu_ms_per_floor_workflow"`
	CPUMsPerBaseline       float64 `json:"cpu_ms_per_baseline_activity_workflow"`
	// CPURatioVsActivity is CPUMsPerDelivery over CPUMsPerBaseline.
	CPURatioVsActivity float64 `json:"cpu_ratio_vs_activity"`
	IdleRSSMB          float64 `json:"idle_rss_mb"`
	PeakRSSMB          float64 `json:"peak_rss_mb"`
	Lost               int     `json:"lost"`
	Duplicates         int     `json:"duplicates"`
	// Ordered is what --ordered measured, beside the figures above.
	Ordered *OrderedResult `json:"ordered,omitempty"`

	// load describes the load for the text summary.
	load string
}

// Run measures hookflow's deliveries on an embedded server, and the yardsticks beside
// them, printing progress to progress. Every delivery is accounted for by id at the
// receiver: a run that loses one returns its result and a *LostError.
func Run(ctx context.Context, o Options, progress io.Writer) (Result, error) {
	if o.Events < 1 || o.Concurrency < 1 || o.Distributions < 1 || o.Rounds < 1 || o.Rate < 0 || o.PayloadBytes < 0 {
		return Result{}, errors.New("--events, --concurrency, --distributions and --rounds must be at least 1; --rate and --payload-bytes not negative")
	}
	say := func(format string, args ...any) { fmt.Fprintf(progress, format+"\n", args...) }
	env, err := startEnv(ctx, o, progress)
	if err != nil {
		return Result{}, err
	}
	defer env.close()
	st, c, recv := env.st, env.c, env.recv
	now := time.Now().UTC()
	var distrIDs []string
	for i := 0; i < o.Distributions; i++ {
		d := distributions.Distribution{
			ID: payloads.NewID("distr_"), Name: fmt.Sprintf("bench %d", i), Status: distributions.StatusLive, Version: 1,
			Trigger: distributions.Trigger{Events: []string{"customer.order.paid"}},
			Action:  distributions.Action{Type: distributions.ActionPlainMessage},
			Webhook: distributions.Webhook{EventName: "Order-paid", URL: recv.URL, Version: payloads.Version2024,
				RetrySchedule: &distributions.RetrySchedule{Intervals: []time.Duration{time.Second, time.Second}}},
			CreatedAt: now, UpdatedAt: now,
		}
		if o.RateLimited {
			d.Webhook.RateLimit = BenchRateLimit
		}
		if err := st.CreateDistribution(ctx, d); err != nil {
			return Result{}, err
		}
		distrIDs = append(distrIDs, d.ID)
	}
	var orderedIDs []string
	if o.Ordered {
		if orderedIDs, err = createOrdered(ctx, env, o.Distributions); err != nil {
			return Result{}, err
		}
	}
	if err := env.startWorker(); err != nil {
		return Result{}, err
	}
	yardstick := &arrivals{}
	stopYardsticks, err := startYardsticks(c, yardstick)
	if err != nil {
		return Result{}, err
	}
	defer stopYardsticks()

	runID := newRunID()
	say("run %s: events evt_bench_%s_<round>_<n>, yardstick workflows bench/%s/...", runID, runID, runID)
	res := Result{RunID: runID, Events: o.Events, Rounds: o.Rounds, Concurrency: o.Concurrency, Rate: o.Rate,
		Distributions: o.Distributions, PayloadBytes: o.PayloadBytes, load: loadDescription(o)}
	if o.RateLimited {
		res.RateLimit = BenchRateLimit
	}
	time.Sleep(time.Second)
	res.IdleRSSMB = rssMB()
	sampler := newRSSSampler()
	defer sampler.stop()

	if o.CPUProfile != "" {
		f, err := os.Create(o.CPUProfile)
		if err != nil {
			return Result{}, fmt.Errorf("--cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return Result{}, fmt.Errorf("--cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	data := eventData(o.PayloadBytes)
	yardsticks := []struct {
		name, workflow, taskQueue string
		eager                     bool
		results                   []phaseResult
	}{
		{name: "floor", workflow: floorWorkflow, taskQueue: floorTaskQueue, eager: true},
		{name: "activity", workflow: activityWorkflow, taskQueue: baselineTaskQueue},
		{name: "empty", workflow: emptyWorkflow, taskQueue: baselineTaskQueue},
	}
	var hook, ordered []phaseResult
	for round := 1; round <= o.Rounds; round++ {
		if o.Baselines {
			for y := range yardsticks {
				ys := &yardsticks[y]
				prefix := fmt.Sprintf("bench/%s/%s/%d/", runID, ys.name, round)
				fr := inFlight(o)
				tr := newTracker(o.Events, 1, fr)
				yardstick.set(tr)
				r, err := runPhase(ctx, c, o, phase{name: ys.name, unitsPerEvent: 1, prefix: prefix, closed: "ExecutionStatus = 'Completed'",
					start: func(ctx context.Context, i int) error {
						_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: prefix + strconv.Itoa(i), TaskQueue: ys.taskQueue,
							EnableEagerStart: ys.eager}, ys.workflow, i)
						return err
					}}, tr, fr)
				if err != nil {
					return Result{}, err
				}
				if r.lost > 0 {
					return Result{}, fmt.Errorf("%s yardstick: %d of %d no-ops never ran", ys.name, r.lost, r.units)
				}
				ys.results = append(ys.results, r)
				say("round %d  %-20s %7.1f workflows/s, %.1f ms CPU each", round, "yardstick "+ys.name, r.perSec(), r.cpuMsPer())
			}
		}
		r, err := env.deliveries(ctx, o, fmt.Sprintf("%s_%d", runID, round), distrIDs, data)
		if err != nil {
			return Result{}, err
		}
		res.Lost += r.lost
		hook = append(hook, r)
		say("round %d  %-20s %7.1f deliveries/s, %.1f ms CPU each, first POST p50 %.0f ms p99 %.0f ms",
			round, "hookflow", r.perSec(), r.cpuMsPer(), ms(percentile(r.first, 50)), ms(percentile(r.first, 99)))
		if o.Ordered {
			r, err := env.orderedDeliveries(ctx, o, fmt.Sprintf("%s_%d", runID, round), orderedIDs, data)
			if err != nil {
				return Result{}, err
			}
			res.Lost += r.lost
			ordered = append(ordered, r)
			say("round %d  %-20s %7.1f deliveries/s, %.1f ms CPU each, first POST p50 %.0f ms p99 %.0f ms",
				round, fmt.Sprintf("ordered, %d keys", OrderedKeys), r.perSec(), r.cpuMsPer(), ms(percentile(r.first, 50)), ms(percentile(r.first, 99)))
		}
	}
	res.PeakRSSMB = sampler.stop()
	res.Duplicates = recv.duplicates()

	med := func(rs []phaseResult, f func(phaseResult) float64) float64 {
		vals := make([]float64, len(rs))
		for i, r := range rs {
			vals[i] = f(r)
		}
		return median(vals)
	}
	perSec := func(r phaseResult) float64 { return r.perSec() }
	cpuMs := func(r phaseResult) float64 { return r.cpuMsPer() }
	res.DeliveriesPerSec = round1(med(hook, perSec))
	res.P50FirstAttemptMs = round1(med(hook, func(r phaseResult) float64 { return ms(percentile(r.first, 50)) }))
	res.P95FirstAttemptMs = round1(med(hook, func(r phaseResult) float64 { return ms(percentile(r.first, 95)) }))
	res.P99FirstAttemptMs = round1(med(hook, func(r phaseResult) float64 { return ms(percentile(r.first, 99)) }))
	res.P50CompletionMs = round1(med(hook, func(r phaseResult) float64 { return ms(percentile(r.completion, 50)) }))
	res.P95CompletionMs = round1(med(hook, func(r phaseResult) float64 { return ms(percentile(r.completion, 95)) }))
	res.P99CompletionMs = round1(med(hook, func(r phaseResult) float64 { return ms(percentile(r.completion, 99)) }))
	res.CPUMsPerDelivery = round1(med(hook, cpuMs))
	if o.Baselines {
		floor, act, empty := yardsticks[0].results, yardsticks[1].results, yardsticks[2].results
		res.FloorPerSec = round1(med(floor, perSec))
		res.BaselineActivityPerSec = round1(med(act, perSec))
		res.BaselineEmptyPerSec = round1(med(empty, perSec))
		res.CPUMsPerFloor = round1(med(floor, cpuMs))
		res.CPUMsPerBaseline = round1(med(act, cpuMs))
		res.RatioVsFloor = round2(res.DeliveriesPerSec / res.FloorPerSec)
		res.RatioVsActivity = round2(res.DeliveriesPerSec / res.BaselineActivityPerSec)
		res.RatioVsEmpty = round2(res.DeliveriesPerSec / res.BaselineEmptyPerSec)
		res.CPURatioVsActivity = round2(med(hook, cpuMs) / med(act, cpuMs))
	}
	if o.Ordered {
		res.Ordered = orderedResult(ordered, hook)
	}
	if res.Lost > 0 {
		return res, &LostError{Lost: res.Lost, What: "deliveries lost"}
	}
	return res, nil
}

// deliveries measures one phase of hookflow's deliveries: o.Events events of
// customer.order.paid, each matching distrIDs, with ids evt_bench_<batch>_<n>.
func (e *env) deliveries(ctx context.Context, o Options, batch string, distrIDs []string, data map[string]json.RawMessage) (phaseResult, error) {
	return e.eventPhase(ctx, o, "hookflow", fmt.Sprintf("evt_bench_%s_", batch), distrIDs, func(i int, id string) payloads.Event {
		return payloads.Event{ID: id, Type: "customer.order.paid", CreatedAt: time.Now().UTC(),
			Source: json.RawMessage(`{"channel":"API"}`), Data: data}
	})
}

// eventPhase measures one phase of events sent through the API's starter: event i, with
// the id idPrefix<i>, made by event, delivered to each of distrIDs, counted at the
// receiver, and closed delivered.
func (e *env) eventPhase(ctx context.Context, o Options, name, idPrefix string, distrIDs []string, event func(i int, id string) payloads.Event) (phaseResult, error) {
	eventID := func(i int) string { return idPrefix + strconv.Itoa(i) }
	ids := make(map[string]int, o.Events*len(distrIDs))
	for i := range o.Events {
		for _, d := range distrIDs {
			ids[payloads.DeliveryID(eventID(i), d)] = i
		}
	}
	fr := inFlight(o)
	tr := newTracker(o.Events, len(distrIDs), fr)
	e.recv.expect(ids, tr)
	starts := app.NewStarter(e.c, workflows.TaskQueue, e.st)
	return runPhase(ctx, e.c, o, phase{name: name, unitsPerEvent: len(distrIDs), completion: true,
		prefix: workflows.WorkflowID(idPrefix),
		closed: fmt.Sprintf("ExecutionStatus = 'Completed' AND %s = '%s'", workflows.StatusKey.GetName(), workflows.StatusDelivered),
		start: func(ctx context.Context, i int) error {
			_, err := starts.Start(ctx, event(i, eventID(i)))
			return err
		}}, tr, fr)
}

// inFlight is the semaphore of the events in flight at o's concurrency; nil at a fixed
// rate, which alone paces the load.
func inFlight(o Options) chan struct{} {
	if o.Rate > 0 {
		return nil
	}
	return make(chan struct{}, o.Concurrency)
}

// LostError is the error of a run that measured to the end and found deliveries that
// never arrived: its result still holds the figures.
type LostError struct {
	Lost int
	What string // such as "deliveries lost"
}

func (e *LostError) Error() string { return fmt.Sprintf("%d %s", e.Lost, e.What) }

// newRunID is a run's own prefix of ids: 8 hex digits, random.
func newRunID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// WriteText prints the result for people.
func (res Result) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "\nrun %s, medians of %d rounds of %d events (%d distribution(s) each, %s):\n", res.RunID, res.Rounds, res.Events, res.Distributions, res.load)
	baselines := res.FloorPerSec > 0
	fmt.Fprintf(&b, "  deliveries/s             %8.1f", res.DeliveriesPerSec)
	if baselines {
		fmt.Fprintf(&b, "   (%.2fx the engine floor, %.2fx one-activity workflow, %.2fx empty workflow)\n", res.RatioVsFloor, res.RatioVsActivity, res.RatioVsEmpty)
		fmt.Fprintf(&b, "  yardsticks               %8.1f   floor workflows/s, %.1f one-activity, %.1f empty\n", res.FloorPerSec, res.BaselineActivityPerSec, res.BaselineEmptyPerSec)
	} else {
		fmt.Fprintf(&b, "   (no yardsticks: --baselines=false)\n")
	}
	fmt.Fprintf(&b, "  intake -> first POST     p50 %.1f ms  p95 %.1f ms  p99 %.1f ms\n", res.P50FirstAttemptMs, res.P95FirstAttemptMs, res.P99FirstAttemptMs)
	fmt.Fprintf(&b, "  start -> workflow closed p50 %.1f ms  p95 %.1f ms  p99 %.1f ms\n", res.P50CompletionMs, res.P95CompletionMs, res.P99CompletionMs)
	fmt.Fprintf(&b, "  CPU per delivery         %.1f ms", res.CPUMsPerDelivery)
	if baselines {
		fmt.Fprintf(&b, "   (%.2fx one-activity workflow's %.1f ms; floor %.1f ms)", res.CPURatioVsActivity, res.CPUMsPerBaseline, res.CPUMsPerFloor)
	}
	fmt.Fprintln(&b)
	fmt.Fprintf(&b, "  RSS                      idle %.0f MB, peak %.0f MB\n", res.IdleRSSMB, res.PeakRSSMB)
	if o := res.Ordered; o != nil {
		fmt.Fprintf(&b, "  ordered (%d keys)        %8.1f deliveries/s (%.2fx the plain path), first POST p50 %.1f ms p99 %.1f ms, closed p50 %.1f ms p99 %.1f ms, CPU %.1f ms per delivery (%.2fx)\n",
			o.Keys, o.DeliveriesPerSec, o.RatioVsPlain, o.P50FirstAttemptMs, o.P99FirstAttemptMs, o.P50CompletionMs, o.P99CompletionMs, o.CPUMsPerDelivery, o.CPURatioVsPlain)
	}
	fmt.Fprintf(&b, "  lost %d, duplicates %d\n", res.Lost, res.Duplicates)
	_, err := io.WriteString(w, b.String())
	return err
}

func loadDescription(o Options) string {
	load := fmt.Sprintf("%d in flight", o.Concurrency)
	if o.Rate > 0 {
		load = fmt.Sprintf("%.0f events/s", o.Rate)
	}
	if o.RateLimited {
		load += ", rate limit " + BenchRateLimit + " (a token taken before each POST)"
	}
	return load
}

func eventData(size int) map[string]json.RawMessage {
	pad := strings.Repeat("x", max(0, size-120))
	return map[string]json.RawMessage{
		"customer": json.RawMessage(`{"id":"cust_1","email":"ann@example.com","segments":["seg_vip"]}`),
		"order":    json.RawMessage(`{"id":"ord_1","amount":12000,"status":"PAID","note":"` + pad + `"}`),
	}
}
