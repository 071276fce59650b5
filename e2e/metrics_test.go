package e2e

import (
	"bytes"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/hookflow/hookflow/workflows"
)

// metricsFileEnv names a file that TestMetricsScrape writes hookflow's own exposition to
// (its series, the SDK's, Go's and the process's; not the embedded server's, which are
// Temporal's to name), for .ci/run to lint with promtool check metrics.
const metricsFileEnv = "HOOKFLOW_TEST_METRICS_FILE"

// TestMetricsScrape runs `hookflow dev`, delivers events (one after a retry) to a real
// receiver, scrapes /metrics from the metrics listener and reads it with the Prometheus
// text parser: every hookflow and SDK series has HELP, counters end in _total, histograms
// are in _seconds, and the SDK's, the embedded server's and the process collectors' series
// are there.
func TestMetricsScrape(t *testing.T) {
	if testing.Short() {
		t.Skip("starts hookflow dev")
	}
	d := startDev(t, t.TempDir(), nil)
	c := d.client(t)
	recv := newReceiver(t, 500, 200, 200)
	createDistribution(t, d, recv.URL, []string{"1s", "1s"})
	for _, id := range []string{"evt_metrics_1", "evt_metrics_2"} {
		h := sendEvent(t, d, id)
		var res workflows.DeliveryResult
		waitWorkflow(t, c, h.WorkflowID, 60*time.Second, &res)
		if res.Status != workflows.StatusDelivered {
			t.Fatalf("%s: %+v", id, res)
		}
	}

	status, text := waitMetrics(t, d.ready.Metrics, `(?m)^persistence_requests\{`)
	if status != 200 {
		t.Fatalf("GET %s: %d", d.ready.Metrics, status)
	}
	var parser expfmt.TextParser
	families, err := parser.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("the exposition does not parse: %v\n%s", err, text)
	}

	// hookflow's exposition, without the embedded server's series: the server names those
	// (its internal SDK clients' too, such as temporal_request) and tags each with the
	// service it comes from.
	own := map[string]*dto.MetricFamily{}
	for name, f := range families {
		if hasLabel(f, "service_name") {
			continue
		}
		own[name] = f
		if !strings.HasPrefix(name, "hookflow_") && !strings.HasPrefix(name, "temporal_") {
			continue
		}
		if f.GetHelp() == "" {
			t.Errorf("%s has no HELP", name)
		}
		switch f.GetType() {
		case dto.MetricType_COUNTER:
			if !strings.HasSuffix(name, "_total") {
				t.Errorf("counter %s does not end in _total", name)
			}
		case dto.MetricType_HISTOGRAM:
			if !strings.HasSuffix(name, "_seconds") {
				t.Errorf("histogram %s is not in _seconds", name)
			}
		}
	}
	for _, c := range []struct {
		name   string
		typ    dto.MetricType
		labels map[string]string // one series has at least these
	}{
		{"hookflow_deliveries_total", dto.MetricType_COUNTER, map[string]string{"result": "delivered"}},
		{"hookflow_distribution_deliveries_total", dto.MetricType_COUNTER, map[string]string{"result": "delivered"}},
		{"hookflow_attempts_total", dto.MetricType_COUNTER, map[string]string{"class": "5xx"}},
		{"hookflow_attempt_duration_seconds", dto.MetricType_HISTOGRAM, map[string]string{"class": "2xx"}},
		{"hookflow_delivery_latency_seconds", dto.MetricType_HISTOGRAM, nil},
		{"temporal_request_total", dto.MetricType_COUNTER, map[string]string{"operation": "StartWorkflowExecution"}},
		{"temporal_workflow_completed_total", dto.MetricType_COUNTER, map[string]string{"workflow_type": "Delivery"}},
		{"temporal_activity_execution_latency_seconds", dto.MetricType_HISTOGRAM, nil},
		{"temporal_workflow_task_schedule_to_start_latency_seconds", dto.MetricType_HISTOGRAM, nil},
		// The embedded server's own, as Temporal's server dashboards query them.
		{"service_requests", dto.MetricType_COUNTER, map[string]string{"operation": "StartWorkflowExecution"}},
		{"persistence_requests", dto.MetricType_COUNTER, nil},
		{"process_cpu_seconds_total", dto.MetricType_COUNTER, nil},
		{"go_gc_duration_seconds", dto.MetricType_SUMMARY, nil},
	} {
		f := families[c.name]
		if f == nil {
			t.Errorf("no %s", c.name)
			continue
		}
		if f.GetType() != c.typ {
			t.Errorf("%s is a %s, want a %s", c.name, f.GetType(), c.typ)
		}
		if !hasSeries(f, c.labels) {
			t.Errorf("no %s series with %v", c.name, c.labels)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", text)
	}

	if path := os.Getenv(metricsFileEnv); path != "" {
		var b bytes.Buffer
		for _, name := range slices.Sorted(maps.Keys(own)) {
			if _, err := expfmt.MetricFamilyToText(&b, own[name]); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// hasLabel says whether a series of f has the label name.
func hasLabel(f *dto.MetricFamily, name string) bool {
	for _, m := range f.GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == name {
				return true
			}
		}
	}
	return false
}

// hasSeries says whether a series of f has at least the labels want.
func hasSeries(f *dto.MetricFamily, want map[string]string) bool {
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		return true
	}
	return false
}
