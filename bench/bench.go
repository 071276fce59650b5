// Package bench is `hookflow bench`: it measures deliveries per second, latency, CPU and
// memory of hookflow on an embedded Temporal server, beside yardsticks of bare Temporal
// workflows run on the same server in the same process, so that what it reports are
// ratios that hold from one machine to the next. RunMessage measures one bulk message.
package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/payloads"
	"github.com/hookflow/hookflow/starter"
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
}

// Result is what a run measured. Rates and latencies are medians over the rounds.
type Result struct {
	Events                 int     `json:"events"`
	Rounds                 int     `json:"rounds"`
	Concurrency            int     `json:"concurrency"`
	Rate                   float64 `json:"rate,omitempty"`
	Distributions          int     `json:"distributions"`
	PayloadBytes           int     `json:"payload_bytes"`
	DeliveriesPerSec       float64 `json:"deliveries_per_sec"`
	BaselineActivityPerSec float64 `json:"baseline_activity_per_sec"`
	BaselineEmptyPerSec    float64 `json:"baseline_empty_per_sec"`
	RatioVsActivity        float64 `json:"ratio_vs_activity"`
	RatioVsEmpty           float64 `json:"ratio_vs_empty"`
	P50FirstAttemptMs      float64 `json:"p50_first_attempt_ms"`
	P95FirstAttemptMs      float64 `json:"p95_first_attempt_ms"`
	P99FirstAttemptMs      float64 `json:"p99_first_attempt_ms"`
	P50CompletionMs        float64 `json:"p50_completion_ms"`
	P95CompletionMs        float64 `json:"p95_completion_ms"`
	P99CompletionMs        float64 `json:"p99_completion_ms"`
	CPUMsPerDelivery       float64 `json:"cpu_ms_per_delivery"`
	CPUMsPerBaseline       float64 `json:"cpu_ms_per_baseline_activity_workflow"`
	IdleRSSMB              float64 `json:"idle_rss_mb"`
	PeakRSSMB              float64 `json:"peak_rss_mb"`
	Lost                   int     `json:"lost"`
	Duplicates             int     `json:"duplicates"`

	// load describes the load for the text summary.
	load string
}

const baselineTaskQueue = "hookflow-bench-baseline"

// baselineActivity is the yardstick: a workflow with one regular no-op activity, default
// options.
func baselineActivity(ctx workflow.Context) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	return workflow.ExecuteActivity(ctx, "BenchNoop").Get(ctx, nil)
}

// baselineEmpty is the other yardstick: a workflow that does nothing.
func baselineEmpty(workflow.Context) error { return nil }

func noop(context.Context) error { return nil }

// Run measures hookflow's deliveries on an embedded server, and the yardsticks beside
// them, printing progress to progress. Every event is accounted for by id at the receiver:
// a run that loses one returns its result and an error.
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
		if err := st.CreateDistribution(ctx, d); err != nil {
			return Result{}, err
		}
		distrIDs = append(distrIDs, d.ID)
	}
	if err := env.startWorker(); err != nil {
		return Result{}, err
	}
	bw := sdkworker.New(c, baselineTaskQueue, sdkworker.Options{})
	bw.RegisterWorkflowWithOptions(baselineActivity, workflow.RegisterOptions{Name: "BenchBaselineActivity"})
	bw.RegisterWorkflowWithOptions(baselineEmpty, workflow.RegisterOptions{Name: "BenchBaselineEmpty"})
	bw.RegisterActivityWithOptions(noop, activity.RegisterOptions{Name: "BenchNoop"})
	if err := bw.Start(); err != nil {
		return Result{}, err
	}
	defer bw.Stop()

	res := Result{Events: o.Events, Rounds: o.Rounds, Concurrency: o.Concurrency, Rate: o.Rate,
		Distributions: o.Distributions, PayloadBytes: o.PayloadBytes, load: loadDescription(o)}
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
	starts := &starter.Starter{Client: c, TaskQueue: workflows.TaskQueue}
	var hook, act, empty []phaseResult
	for round := 1; round <= o.Rounds; round++ {
		if o.Baselines {
			r, err := runPhase(ctx, o, func(ctx context.Context, i int) error {
				run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("bench/activity/%d/%d", round, i), TaskQueue: baselineTaskQueue}, "BenchBaselineActivity")
				if err != nil {
					return err
				}
				return run.Get(ctx, nil)
			})
			if err != nil {
				return Result{}, err
			}
			act = append(act, r)
			say("round %d  baseline, one activity   %7.1f workflows/s", round, r.perSec(1))
			r, err = runPhase(ctx, o, func(ctx context.Context, i int) error {
				run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("bench/empty/%d/%d", round, i), TaskQueue: baselineTaskQueue}, "BenchBaselineEmpty")
				if err != nil {
					return err
				}
				return run.Get(ctx, nil)
			})
			if err != nil {
				return Result{}, err
			}
			empty = append(empty, r)
			say("round %d  baseline, empty workflow %7.1f workflows/s", round, r.perSec(1))
		}
		intake := make([]time.Time, o.Events)
		r, err := runPhase(ctx, o, func(ctx context.Context, i int) error {
			ev := payloads.Event{ID: fmt.Sprintf("evt_bench_%d_%d", round, i), Type: "customer.order.paid",
				CreatedAt: time.Now().UTC(), Source: json.RawMessage(`{"channel":"API"}`), Data: data}
			intake[i] = time.Now()
			h, err := starts.Start(ctx, ev)
			if err != nil {
				return err
			}
			var out workflows.DeliveryResult
			if err := c.GetWorkflow(ctx, h.WorkflowID, h.RunID).Get(ctx, &out); err != nil {
				return err
			}
			if out.Status != workflows.StatusDelivered {
				return fmt.Errorf("event %s: %s", ev.ID, out.Status)
			}
			return nil
		})
		if err != nil {
			return Result{}, err
		}
		// Accounting and latency to the first POST, from what the receiver saw.
		var first []time.Duration
		for i := range o.Events {
			for _, d := range distrIDs {
				at, ok := recv.firstSeen(payloads.DeliveryID(fmt.Sprintf("evt_bench_%d_%d", round, i), d))
				if !ok {
					res.Lost++
					continue
				}
				first = append(first, at.Sub(intake[i]))
			}
		}
		r.first = first
		hook = append(hook, r)
		say("round %d  hookflow deliveries      %7.1f deliveries/s, first POST p50 %.0f ms p99 %.0f ms",
			round, r.perSec(o.Distributions), ms(percentile(first, 50)), ms(percentile(first, 99)))
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
	k := o.Distributions
	res.DeliveriesPerSec = round1(med(hook, func(r phaseResult) float64 { return r.perSec(k) }))
	res.P50FirstAttemptMs = round1(med(hook, func(r phaseResult) float64 { return ms(percentile(r.first, 50)) }))
	res.P95FirstAttemptMs = round1(med(hook, func(r phaseResult) float64 { return ms(percentile(r.first, 95)) }))
	res.P99FirstAttemptMs = round1(med(hook, func(r phaseResult) float64 { return ms(percentile(r.first, 99)) }))
	res.P50CompletionMs = round1(med(hook, func(r phaseResult) float64 { return ms(percentile(r.latencies, 50)) }))
	res.P95CompletionMs = round1(med(hook, func(r phaseResult) float64 { return ms(percentile(r.latencies, 95)) }))
	res.P99CompletionMs = round1(med(hook, func(r phaseResult) float64 { return ms(percentile(r.latencies, 99)) }))
	res.CPUMsPerDelivery = round1(med(hook, func(r phaseResult) float64 { return r.cpuMsPer(k) }))
	if o.Baselines {
		res.BaselineActivityPerSec = round1(med(act, func(r phaseResult) float64 { return r.perSec(1) }))
		res.BaselineEmptyPerSec = round1(med(empty, func(r phaseResult) float64 { return r.perSec(1) }))
		res.CPUMsPerBaseline = round1(med(act, func(r phaseResult) float64 { return r.cpuMsPer(1) }))
		res.RatioVsActivity = round2(res.DeliveriesPerSec / res.BaselineActivityPerSec)
		res.RatioVsEmpty = round2(res.DeliveriesPerSec / res.BaselineEmptyPerSec)
	}
	if res.Lost > 0 {
		return res, &LostError{Lost: res.Lost, What: "deliveries lost"}
	}
	return res, nil
}

// LostError is the error of a run that measured to the end and found deliveries that
// never arrived: its result still holds the figures.
type LostError struct {
	Lost int
	What string // such as "deliveries lost"
}

func (e *LostError) Error() string { return fmt.Sprintf("%d %s", e.Lost, e.What) }

// WriteText prints the result for people.
func (res Result) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "\nmedians of %d rounds of %d events (%d distribution(s) each, %s):\n", res.Rounds, res.Events, res.Distributions, res.load)
	baselines := res.BaselineActivityPerSec > 0
	if baselines {
		fmt.Fprintf(&b, "  deliveries/s             %8.1f   (%.2fx one-activity workflow, %.2fx empty workflow)\n", res.DeliveriesPerSec, res.RatioVsActivity, res.RatioVsEmpty)
		fmt.Fprintf(&b, "  yardsticks               %8.1f   one-activity workflows/s, %.1f empty workflows/s\n", res.BaselineActivityPerSec, res.BaselineEmptyPerSec)
	} else {
		fmt.Fprintf(&b, "  deliveries/s             %8.1f   (no yardsticks: --baselines=false)\n", res.DeliveriesPerSec)
	}
	fmt.Fprintf(&b, "  intake -> first POST     p50 %.1f ms  p95 %.1f ms  p99 %.1f ms\n", res.P50FirstAttemptMs, res.P95FirstAttemptMs, res.P99FirstAttemptMs)
	fmt.Fprintf(&b, "  intake -> completion     p50 %.1f ms  p95 %.1f ms  p99 %.1f ms\n", res.P50CompletionMs, res.P95CompletionMs, res.P99CompletionMs)
	fmt.Fprintf(&b, "  CPU per delivery         %.1f ms", res.CPUMsPerDelivery)
	if baselines {
		fmt.Fprintf(&b, "   (one-activity workflow: %.1f ms)", res.CPUMsPerBaseline)
	}
	fmt.Fprintln(&b)
	fmt.Fprintf(&b, "  RSS                      idle %.0f MB, peak %.0f MB\n", res.IdleRSSMB, res.PeakRSSMB)
	fmt.Fprintf(&b, "  lost %d, duplicates %d\n", res.Lost, res.Duplicates)
	_, err := io.WriteString(w, b.String())
	return err
}

func loadDescription(o Options) string {
	if o.Rate > 0 {
		return fmt.Sprintf("%.0f events/s", o.Rate)
	}
	return fmt.Sprintf("%d in flight", o.Concurrency)
}

// phaseResult is one measured phase: n runs of one kind.
type phaseResult struct {
	n         int
	elapsed   time.Duration
	cpu       time.Duration
	latencies []time.Duration // start to completion, per run
	first     []time.Duration // intake to first POST, per delivery
}

func (r phaseResult) perSec(per int) float64 {
	return float64(r.n*per) / r.elapsed.Seconds()
}

func (r phaseResult) cpuMsPer(per int) float64 {
	return float64(r.cpu.Microseconds()) / 1000 / float64(r.n*per)
}

// runPhase runs one(i) for i in [0, events) at the options' concurrency or rate and
// measures it.
func runPhase(ctx context.Context, o Options, one func(ctx context.Context, i int) error) (phaseResult, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	r := phaseResult{n: o.Events, latencies: make([]time.Duration, o.Events)}
	var wg sync.WaitGroup
	errs := make(chan error, o.Events)
	sem := make(chan struct{}, o.Concurrency)
	if o.Rate > 0 {
		sem = make(chan struct{}, o.Events) // the rate, not a bound, paces the load
	}
	cpu0 := cpuTime()
	start := time.Now()
	for i := 0; i < o.Events; i++ {
		if o.Rate > 0 {
			next := start.Add(time.Duration(float64(i) / o.Rate * float64(time.Second)))
			time.Sleep(time.Until(next))
		}
		sem <- struct{}{}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			t0 := time.Now()
			if err := one(ctx, i); err != nil {
				errs <- err
				return
			}
			r.latencies[i] = time.Since(t0)
		}(i)
	}
	wg.Wait()
	r.elapsed = time.Since(start)
	r.cpu = cpuTime() - cpu0
	close(errs)
	if err := <-errs; err != nil {
		return r, err
	}
	return r, nil
}

func eventData(size int) map[string]json.RawMessage {
	pad := strings.Repeat("x", max(0, size-120))
	return map[string]json.RawMessage{
		"customer": json.RawMessage(`{"id":"cust_1","email":"ann@example.com","segments":["seg_vip"]}`),
		"order":    json.RawMessage(`{"id":"ord_1","amount":12000,"status":"PAID","note":"` + pad + `"}`),
	}
}
