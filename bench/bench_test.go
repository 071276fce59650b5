package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"testing"
)

// TestBenchSmoke runs a short `hookflow bench` and checks its accounting only: every
// delivery arrived, none twice, and the JSON has the fields a user scripts against. It
// asserts nothing about speed.
func TestBenchSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Temporal")
	}
	var progress bytes.Buffer
	result, err := Run(context.Background(), Options{Events: 200, Concurrency: 40, Distributions: 2,
		PayloadBytes: 512, Rounds: 1, Baselines: false}, &progress)
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, progress.String())
	}
	out, err := json.Marshal(result)
	if err != nil {
		t.Fatal(err)
	}
	var res map[string]any
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("-o json output: %v\n%s", err, out)
	}
	for _, k := range []string{"run_id", "deliveries_per_sec", "floor_per_sec", "baseline_activity_per_sec", "baseline_empty_per_sec",
		"ratio_vs_floor", "ratio_vs_activity", "ratio_vs_empty", "cpu_ms_per_delivery", "cpu_ms_per_floor_workflow",
		"cpu_ms_per_baseline_activity_workflow", "p50_first_attempt_ms", "p95_first_attempt_ms", "p99_first_attempt_ms",
		"p50_completion_ms", "p95_completion_ms", "p99_completion_ms", "idle_rss_mb", "peak_rss_mb", "lost", "duplicates"} {
		if _, ok := res[k]; !ok {
			t.Errorf("--json lacks %s", k)
		}
	}
	if res["lost"].(float64) != 0 || res["duplicates"].(float64) != 0 {
		t.Errorf("lost %v, duplicates %v", res["lost"], res["duplicates"])
	}
	if _, err := Run(context.Background(), Options{Events: 0, Concurrency: 1, Distributions: 1, Rounds: 1}, &progress); err == nil {
		t.Error("--events 0 ran")
	}
}

// TestBenchRateLimitedSmoke runs a short `hookflow bench --rate-limited`: the distributions
// have the rate limit, every delivery arrives once (none is held back for good), and the
// result says which limit ran. Nothing about speed.
func TestBenchRateLimitedSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Temporal")
	}
	var progress bytes.Buffer
	result, err := Run(context.Background(), Options{Events: 100, Concurrency: 20, Distributions: 2,
		PayloadBytes: 256, Rounds: 1, RateLimited: true}, &progress)
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, progress.String())
	}
	if result.RateLimit != BenchRateLimit || result.Lost != 0 || result.Duplicates != 0 || result.DeliveriesPerSec <= 0 {
		t.Errorf("rate_limit %q, lost %d, duplicates %d, %v deliveries/s", result.RateLimit, result.Lost, result.Duplicates, result.DeliveriesPerSec)
	}
	var text bytes.Buffer
	if err := result.WriteText(&text); err != nil || !bytes.Contains(text.Bytes(), []byte("rate limit "+BenchRateLimit)) {
		t.Errorf("text result does not name the rate limit (%v):\n%s", err, text.String())
	}
}

// TestBenchOrderedSmoke runs a short `hookflow bench --ordered`: both paths delivered
// every event once, and the ordered figures are there beside the plain ones; nothing about
// speed.
func TestBenchOrderedSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Temporal")
	}
	var progress bytes.Buffer
	res, err := Run(context.Background(), Options{Events: 300, Concurrency: 50, Distributions: 1, PayloadBytes: 512, Rounds: 1,
		Baselines: false, Ordered: true}, &progress)
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, progress.String())
	}
	o := res.Ordered
	if o == nil || o.Keys != OrderedKeys || o.DeliveriesPerSec <= 0 || o.RatioVsPlain <= 0 || o.CPUMsPerDelivery <= 0 || res.Lost != 0 || res.Duplicates != 0 {
		t.Fatalf("result %+v, ordered %+v\n%s", res, o, progress.String())
	}
	var text bytes.Buffer
	if err := res.WriteText(&text); err != nil || !bytes.Contains(text.Bytes(), []byte("ordered (100 keys)")) {
		t.Errorf("text: %v\n%s", err, text.String())
	}
	t.Logf("plain %.1f deliveries/s, %.1f ms CPU each, first POST p50 %.1f ms p99 %.1f ms; ordered %+v",
		res.DeliveriesPerSec, res.CPUMsPerDelivery, res.P50FirstAttemptMs, res.P99FirstAttemptMs, *o)
}

// TestBenchMessageSmoke runs `hookflow bench --message-customers` on a few customers: each
// delivered once, the workflow's runs counted; nothing about speed.
func TestBenchMessageSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Temporal")
	}
	var progress bytes.Buffer
	res, err := RunMessage(context.Background(), Options{MessageCustomers: 120, Events: 50, Concurrency: 10}, &progress)
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, progress.String())
	}
	if res.Customers != 120 || res.Lost != 0 || res.Duplicates != 0 || res.Runs != 1 || res.MaxHistoryEvents == 0 {
		t.Errorf("result %+v", res)
	}
}

// TestBenchTwiceOnOneDataDir runs the bench twice on one data dir (one Temporal database):
// each run uses ids of its own, so the second finds nothing of the first and loses
// nothing.
func TestBenchTwiceOnOneDataDir(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Temporal")
	}
	dir := t.TempDir()
	var ids []string
	for run := 1; run <= 2; run++ {
		var progress bytes.Buffer
		res, err := Run(context.Background(), Options{Events: 30, Concurrency: 10, Distributions: 1, Rounds: 1, Baselines: true, DataDir: dir}, &progress)
		if err != nil || res.Lost != 0 || res.Duplicates != 0 || res.DeliveriesPerSec <= 0 || res.FloorPerSec <= 0 || res.RatioVsFloor <= 0 {
			t.Fatalf("run %d: %+v, %v\n%s", run, res, err, progress.String())
		}
		ids = append(ids, res.RunID)
	}
	if ids[0] == ids[1] || len(ids[0]) != 8 {
		t.Errorf("run ids %v", ids)
	}
}

// TestBenchStartFails: when the server cannot start (here its PostgreSQL refuses the
// connection), the bench says why, and leaves no temporary dir behind.
func TestBenchStartFails(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	_, err := Run(context.Background(), Options{Events: 1, Concurrency: 1, Distributions: 1, Rounds: 1,
		TemporalDatabaseURL: "postgres://postgres@127.0.0.1:1/hookflow_bench_none?sslmode=disable&connect_timeout=5"}, &bytes.Buffer{})
	if err == nil {
		t.Fatal("the bench ran without its server")
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("left behind in the temporary dir: %v", left)
	}
}
