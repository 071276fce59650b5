package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/hookflow/hookflow/activities"
	"github.com/hookflow/hookflow/codec"
	"github.com/hookflow/hookflow/devserver"
	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/payloads"
	"github.com/hookflow/hookflow/starter"
	"github.com/hookflow/hookflow/store"
	"github.com/hookflow/hookflow/worker"
	"github.com/hookflow/hookflow/workflows"
)

type benchOptions struct {
	events        int
	concurrency   int
	rate          float64
	distributions int
	payloadBytes  int
	rounds        int
	baselines     bool
	jsonOut       bool
	dataDir       string
	temporalDB    string
	cpuProfile    string
	// messageCustomers, when set, measures one bulk message to this many customers instead.
	messageCustomers int
}

func newBenchCommand() *cobra.Command {
	var o benchOptions
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure deliveries/s and latency against bare Temporal workflows on the same server",
		Long: `Start an embedded Temporal server (SQLite, WAL), a worker and a local receiver; send
--events events at a fixed concurrency (or --rate events/s) and report deliveries/s, latency
from intake to the first POST and to completion, CPU per delivery and peak RSS. In the same
run, on the same server, it runs the yardsticks (a workflow with one no-op activity, and an
empty workflow) and prints the ratios. Every event is accounted for by id at the receiver:
a run that loses one says so and exits non-zero.`,
		Example: `  hookflow bench --events 2000 --concurrency 200
  hookflow bench --events 600 --rate 20 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBench(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.events, "events", 1000, "events per round")
	f.IntVar(&o.concurrency, "concurrency", 100, "events in flight at once (ignored with --rate)")
	f.Float64Var(&o.rate, "rate", 0, "send at this fixed arrival rate, events/s, instead of a fixed concurrency")
	f.IntVar(&o.distributions, "distributions", 1, "matching distributions per event")
	f.IntVar(&o.payloadBytes, "payload-bytes", 1024, "approximate size of each event's data")
	f.IntVar(&o.rounds, "rounds", 3, "rounds of each measurement; medians are reported")
	f.BoolVar(&o.baselines, "baselines", true, "run the bare-Temporal yardsticks in the same run")
	f.BoolVar(&o.jsonOut, "json", false, "print one JSON object")
	f.StringVar(&o.temporalDB, "temporal-database-url", "", "run the server on this PostgreSQL database (created if missing) instead of SQLite, as hookflow server does")
	f.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the measured rounds (server, worker and receiver: one process) to this file")
	f.IntVar(&o.messageCustomers, "message-customers", 0, "measure one bulk message to this many customers (up to 100,000) instead of events: customers/s and history events per run")
	f.StringVar(&o.dataDir, "data-dir", "", "where the server keeps its SQLite file (default: a temporary dir, removed after)")
	return cmd
}

// BenchResult is what `hookflow bench --json` prints. Rates and latencies are medians over
// the rounds.
type BenchResult struct {
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
}

const baselineTaskQueue = "hookflow-bench-baseline"

// benchBaselineActivity is the yardstick: a workflow with one regular no-op activity, default
// options.
func benchBaselineActivity(ctx workflow.Context) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	return workflow.ExecuteActivity(ctx, "BenchNoop").Get(ctx, nil)
}

// benchBaselineEmpty is the other yardstick: a workflow that does nothing.
func benchBaselineEmpty(workflow.Context) error { return nil }

func benchNoop(context.Context) error { return nil }

// progressTo prints a line of progress to w, unless the result is to be JSON.
func (o benchOptions) progressTo(w io.Writer) func(format string, args ...any) {
	return func(format string, args ...any) {
		if !o.jsonOut {
			fmt.Fprintf(w, format+"\n", args...)
		}
	}
}

func runBench(ctx context.Context, o benchOptions, stdout, stderr io.Writer) error {
	if o.messageCustomers > 0 {
		return runMessageBench(ctx, o, stdout, stderr)
	}
	if o.events < 1 || o.concurrency < 1 || o.distributions < 1 || o.rounds < 1 || o.rate < 0 || o.payloadBytes < 0 {
		return errors.New("--events, --concurrency, --distributions and --rounds must be at least 1; --rate and --payload-bytes not negative")
	}
	progress := o.progressTo(stdout)
	env, err := startBenchEnv(ctx, o, stderr)
	if err != nil {
		return err
	}
	defer env.close()
	st, c, recv := env.st, env.c, env.recv
	now := time.Now().UTC()
	var distrIDs []string
	for i := 0; i < o.distributions; i++ {
		d := distributions.Distribution{
			ID: payloads.NewID("distr_"), Name: fmt.Sprintf("bench %d", i), Status: distributions.StatusLive, Version: 1,
			Trigger: distributions.Trigger{Events: []string{"customer.order.paid"}},
			Action:  distributions.Action{Type: distributions.ActionPlainMessage},
			Webhook: distributions.Webhook{EventName: "Order-paid", URL: recv.URL, Version: payloads.Version2024,
				RetrySchedule: &distributions.RetrySchedule{Intervals: []time.Duration{time.Second, time.Second}}},
			CreatedAt: now, UpdatedAt: now,
		}
		if err := st.CreateDistribution(ctx, d); err != nil {
			return err
		}
		distrIDs = append(distrIDs, d.ID)
	}
	acts := &activities.Activities{Store: st, HTTP: activities.NewHTTPClient(&activities.TargetGuard{Allow: activities.Loopback}),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	w := worker.New(c, workflows.TaskQueue, acts, worker.Options())
	if err := w.Start(); err != nil {
		return err
	}
	defer w.Stop()
	bw := sdkworker.New(c, baselineTaskQueue, sdkworker.Options{})
	bw.RegisterWorkflowWithOptions(benchBaselineActivity, workflow.RegisterOptions{Name: "BenchBaselineActivity"})
	bw.RegisterWorkflowWithOptions(benchBaselineEmpty, workflow.RegisterOptions{Name: "BenchBaselineEmpty"})
	bw.RegisterActivityWithOptions(benchNoop, activity.RegisterOptions{Name: "BenchNoop"})
	if err := bw.Start(); err != nil {
		return err
	}
	defer bw.Stop()

	res := BenchResult{Events: o.events, Rounds: o.rounds, Concurrency: o.concurrency, Rate: o.rate,
		Distributions: o.distributions, PayloadBytes: o.payloadBytes}
	time.Sleep(time.Second)
	res.IdleRSSMB = rssMB()
	sampler := newRSSSampler()
	defer sampler.stop()

	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	data := benchData(o.payloadBytes)
	st0 := &starter.Starter{Client: c, TaskQueue: workflows.TaskQueue}
	var hook, act, empty []phaseResult
	for round := 1; round <= o.rounds; round++ {
		if o.baselines {
			r, err := runPhase(ctx, o, func(ctx context.Context, i int) error {
				run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("bench/activity/%d/%d", round, i), TaskQueue: baselineTaskQueue}, "BenchBaselineActivity")
				if err != nil {
					return err
				}
				return run.Get(ctx, nil)
			})
			if err != nil {
				return err
			}
			act = append(act, r)
			progress("round %d  baseline, one activity   %7.1f workflows/s", round, r.perSec(1))
			r, err = runPhase(ctx, o, func(ctx context.Context, i int) error {
				run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("bench/empty/%d/%d", round, i), TaskQueue: baselineTaskQueue}, "BenchBaselineEmpty")
				if err != nil {
					return err
				}
				return run.Get(ctx, nil)
			})
			if err != nil {
				return err
			}
			empty = append(empty, r)
			progress("round %d  baseline, empty workflow %7.1f workflows/s", round, r.perSec(1))
		}
		intake := make([]time.Time, o.events)
		r, err := runPhase(ctx, o, func(ctx context.Context, i int) error {
			ev := payloads.Event{ID: fmt.Sprintf("evt_bench_%d_%d", round, i), Type: "customer.order.paid",
				CreatedAt: time.Now().UTC(), Source: json.RawMessage(`{"channel":"API"}`), Data: data}
			intake[i] = time.Now()
			h, err := st0.Start(ctx, ev)
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
			return err
		}
		// Accounting and latency to the first POST, from what the receiver saw.
		var first []time.Duration
		for i := range o.events {
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
		progress("round %d  hookflow deliveries      %7.1f deliveries/s, first POST p50 %.0f ms p99 %.0f ms",
			round, r.perSec(o.distributions), ms(percentile(first, 50)), ms(percentile(first, 99)))
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
	k := o.distributions
	res.DeliveriesPerSec = round1(med(hook, func(r phaseResult) float64 { return r.perSec(k) }))
	res.P50FirstAttemptMs = round1(med(hook, func(r phaseResult) float64 { return ms(percentile(r.first, 50)) }))
	res.P95FirstAttemptMs = round1(med(hook, func(r phaseResult) float64 { return ms(percentile(r.first, 95)) }))
	res.P99FirstAttemptMs = round1(med(hook, func(r phaseResult) float64 { return ms(percentile(r.first, 99)) }))
	res.P50CompletionMs = round1(med(hook, func(r phaseResult) float64 { return ms(percentile(r.latencies, 50)) }))
	res.P95CompletionMs = round1(med(hook, func(r phaseResult) float64 { return ms(percentile(r.latencies, 95)) }))
	res.P99CompletionMs = round1(med(hook, func(r phaseResult) float64 { return ms(percentile(r.latencies, 99)) }))
	res.CPUMsPerDelivery = round1(med(hook, func(r phaseResult) float64 { return r.cpuMsPer(k) }))
	if o.baselines {
		res.BaselineActivityPerSec = round1(med(act, func(r phaseResult) float64 { return r.perSec(1) }))
		res.BaselineEmptyPerSec = round1(med(empty, func(r phaseResult) float64 { return r.perSec(1) }))
		res.CPUMsPerBaseline = round1(med(act, func(r phaseResult) float64 { return r.cpuMsPer(1) }))
		res.RatioVsActivity = round2(res.DeliveriesPerSec / res.BaselineActivityPerSec)
		res.RatioVsEmpty = round2(res.DeliveriesPerSec / res.BaselineEmptyPerSec)
	}
	if o.jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "\nmedians of %d rounds of %d events (%d distribution(s) each, %s):\n", o.rounds, o.events, k, loadDescription(o))
		if o.baselines {
			fmt.Fprintf(stdout, "  deliveries/s             %8.1f   (%.2fx one-activity workflow, %.2fx empty workflow)\n", res.DeliveriesPerSec, res.RatioVsActivity, res.RatioVsEmpty)
			fmt.Fprintf(stdout, "  yardsticks               %8.1f   one-activity workflows/s, %.1f empty workflows/s\n", res.BaselineActivityPerSec, res.BaselineEmptyPerSec)
		} else {
			fmt.Fprintf(stdout, "  deliveries/s             %8.1f   (no yardsticks: --baselines=false)\n", res.DeliveriesPerSec)
		}
		fmt.Fprintf(stdout, "  intake -> first POST     p50 %.1f ms  p95 %.1f ms  p99 %.1f ms\n", res.P50FirstAttemptMs, res.P95FirstAttemptMs, res.P99FirstAttemptMs)
		fmt.Fprintf(stdout, "  intake -> completion     p50 %.1f ms  p95 %.1f ms  p99 %.1f ms\n", res.P50CompletionMs, res.P95CompletionMs, res.P99CompletionMs)
		fmt.Fprintf(stdout, "  CPU per delivery         %.1f ms", res.CPUMsPerDelivery)
		if o.baselines {
			fmt.Fprintf(stdout, "   (one-activity workflow: %.1f ms)", res.CPUMsPerBaseline)
		}
		fmt.Fprintln(stdout)
		fmt.Fprintf(stdout, "  RSS                      idle %.0f MB, peak %.0f MB\n", res.IdleRSSMB, res.PeakRSSMB)
		fmt.Fprintf(stdout, "  lost %d, duplicates %d\n", res.Lost, res.Duplicates)
	}
	if res.Lost > 0 {
		return fmt.Errorf("%d deliveries lost", res.Lost)
	}
	return nil
}

func loadDescription(o benchOptions) string {
	if o.rate > 0 {
		return fmt.Sprintf("%.0f events/s", o.rate)
	}
	return fmt.Sprintf("%d in flight", o.concurrency)
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
func runPhase(ctx context.Context, o benchOptions, one func(ctx context.Context, i int) error) (phaseResult, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	r := phaseResult{n: o.events, latencies: make([]time.Duration, o.events)}
	var wg sync.WaitGroup
	errs := make(chan error, o.events)
	sem := make(chan struct{}, o.concurrency)
	if o.rate > 0 {
		sem = make(chan struct{}, o.events) // the rate, not a bound, paces the load
	}
	cpu0 := cpuTime()
	start := time.Now()
	for i := 0; i < o.events; i++ {
		if o.rate > 0 {
			next := start.Add(time.Duration(float64(i) / o.rate * float64(time.Second)))
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

func benchData(size int) map[string]json.RawMessage {
	pad := strings.Repeat("x", max(0, size-120))
	return map[string]json.RawMessage{
		"customer": json.RawMessage(`{"id":"cust_1","email":"ann@example.com","segments":["seg_vip"]}`),
		"order":    json.RawMessage(`{"id":"ord_1","amount":12000,"status":"PAID","note":"` + pad + `"}`),
	}
}

// countingReceiver answers 200 and records when each webhook-id first arrived.
// benchEnv is what a bench run stands on: a Temporal server of its own (SQLite under
// --data-dir or a temporary dir, or --temporal-database-url), hookflow's store beside it, a
// client, and a receiver that counts deliveries.
type benchEnv struct {
	srv    *devserver.Server
	st     *store.SQLite
	c      client.Client
	recv   *countingReceiver
	closes []func()
}

func startBenchEnv(ctx context.Context, o benchOptions, stderr io.Writer) (env *benchEnv, err error) {
	env = &benchEnv{}
	defer func() {
		if err != nil {
			env.close()
		}
	}()
	dir := o.dataDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "hookflow-bench-")
		if err != nil {
			return nil, err
		}
		env.closes = append(env.closes, func() { os.RemoveAll(tmp) })
		dir = tmp
	}
	dbFile := filepath.Join(dir, "temporal.db")
	if o.temporalDB != "" {
		dbFile = ""
	}
	if env.srv, err = devserver.Start(ctx, devserver.Options{
		DatabaseFile: dbFile, PostgresURL: o.temporalDB, LogFile: filepath.Join(dir, "temporal.log"),
		SearchAttributes: workflows.SearchAttributes,
	}); err != nil {
		return nil, err
	}
	env.closes = append(env.closes, env.srv.Stop)
	if env.st, err = store.OpenSQLite(filepath.Join(dir, "hookflow.db")); err != nil {
		return nil, err
	}
	env.closes = append(env.closes, func() { env.st.Close() })
	quiet := sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	if env.c, err = client.DialContext(ctx, client.Options{HostPort: env.srv.HostPort(), Namespace: env.srv.Namespace(),
		Logger: quiet, DataConverter: codec.DataConverter}); err != nil {
		return nil, err
	}
	env.closes = append(env.closes, env.c.Close)
	if env.recv, err = newCountingReceiver(); err != nil {
		return nil, err
	}
	env.closes = append(env.closes, func() { env.recv.Close() })
	return env, nil
}

// close stops what startBenchEnv started, last first.
func (e *benchEnv) close() {
	for i := len(e.closes) - 1; i >= 0; i-- {
		e.closes[i]()
	}
}

type countingReceiver struct {
	*http.Server
	URL   string
	mu    sync.Mutex
	first map[string]time.Time
	total int
}

func newCountingReceiver() (*countingReceiver, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &countingReceiver{URL: "http://" + l.Addr().String() + "/hooks", first: map[string]time.Time{}}
	r.Server = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		id := req.Header.Get("webhook-id")
		r.mu.Lock()
		if _, ok := r.first[id]; !ok {
			r.first[id] = time.Now()
		}
		r.total++
		r.mu.Unlock()
	})}
	go r.Serve(l)
	return r, nil
}

func (r *countingReceiver) firstSeen(id string) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.first[id]
	return t, ok
}

func (r *countingReceiver) duplicates() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.total - len(r.first)
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rssMB reads the process's resident set size from /proc (0 where there is none).
func rssMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return math.Round(kb/1024*10) / 10
		}
	}
	return 0
}

type rssSampler struct {
	done chan struct{}
	peak chan float64
}

func newRSSSampler() *rssSampler {
	s := &rssSampler{done: make(chan struct{}), peak: make(chan float64, 1)}
	go func() {
		peak := rssMB()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-s.done:
				s.peak <- peak
				return
			case <-t.C:
				peak = max(peak, rssMB())
			}
		}
	}()
	return s
}

// stop ends the sampling and returns the peak; later calls return 0.
func (s *rssSampler) stop() float64 {
	select {
	case <-s.done:
		return 0
	default:
		close(s.done)
		return <-s.peak
	}
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	idx := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[min(max(idx, 0), len(s)-1)]
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
func round1(f float64) float64   { return math.Round(f*10) / 10 }
func round2(f float64) float64   { return math.Round(f*100) / 100 }
