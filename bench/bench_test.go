package bench

import (
	"bytes"
	"context"
	"encoding/json"
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
	for _, k := range []string{"deliveries_per_sec", "baseline_activity_per_sec", "baseline_empty_per_sec", "ratio_vs_activity",
		"ratio_vs_empty", "p50_first_attempt_ms", "p95_first_attempt_ms", "p99_first_attempt_ms", "peak_rss_mb", "lost", "duplicates"} {
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

// TestBenchMessageSmoke runs `hookflow bench --message-customers` on a few customers: each
// delivered once, the workflow's runs counted; nothing about speed.
func TestBenchMessageSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Temporal")
	}
	var progress bytes.Buffer
	res, err := RunMessage(context.Background(), Options{MessageCustomers: 120}, &progress)
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, progress.String())
	}
	if res.Customers != 120 || res.Lost != 0 || res.Duplicates != 0 || res.Runs != 1 || res.MaxHistoryEvents == 0 {
		t.Errorf("result %+v", res)
	}
}
