package main

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
	var out bytes.Buffer
	err := runBench(context.Background(), benchOptions{events: 200, concurrency: 40, distributions: 2,
		payloadBytes: 512, rounds: 1, baselines: false, jsonOut: true}, &out, &bytes.Buffer{})
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, out.String())
	}
	var res map[string]any
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("--json output: %v\n%s", err, out.String())
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
	if err := runBench(context.Background(), benchOptions{events: 0, concurrency: 1, distributions: 1, rounds: 1}, &out, &out); err == nil {
		t.Error("--events 0 ran")
	}
}

// TestBenchMessageSmoke runs `hookflow bench --message-customers` on a few customers: each
// delivered once, the workflow's runs counted; nothing about speed.
func TestBenchMessageSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Temporal")
	}
	var out bytes.Buffer
	if err := runBench(context.Background(), benchOptions{messageCustomers: 120, jsonOut: true}, &out, &bytes.Buffer{}); err != nil {
		t.Fatalf("bench: %v\n%s", err, out.String())
	}
	var res MessageBenchResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("--json output: %v\n%s", err, out.String())
	}
	if res.Customers != 120 || res.Lost != 0 || res.Duplicates != 0 || res.Runs != 1 || res.MaxHistoryEvents == 0 {
		t.Errorf("result %+v", res)
	}
}
