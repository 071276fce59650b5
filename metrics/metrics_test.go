package metrics

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// scrape serves r's exposition in the text format and parses it.
func scrape(t *testing.T, r *Registry) (map[string]*dto.MetricFamily, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/metrics", nil)
	req.Header.Set("Accept", "text/plain")
	r.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("/metrics: %d %s", rec.Code, rec.Body)
	}
	text := rec.Body.String()
	var p expfmt.TextParser
	families, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parse the exposition: %v\n%s", err, text)
	}
	return families, text
}

// value is the counter, gauge or histogram count of the series of family name whose
// labels include want; -1 when there is none.
func value(families map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f := families[name]
	if f == nil {
		return -1
	}
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
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	return -1
}

func TestExposition(t *testing.T) {
	r := NewRegistry()
	h := r.SDKHandler().WithTags(map[string]string{"namespace": "default"})
	h.WithTags(map[string]string{"result": "delivered"}).Counter("hookflow_deliveries_total").Inc(2)
	h.WithTags(map[string]string{"result": "failed"}).Counter("hookflow_deliveries_total").Inc(1)
	h.WithTags(map[string]string{"task_queue": "q\"x"}).Gauge("temporal_worker_task_slots_available").Update(3.5)
	h.WithTags(map[string]string{"operation": "StartWorkflowExecution"}).Counter("temporal_request").Inc(4)
	h.Timer("temporal_activity_execution_latency").Record(20 * time.Millisecond)
	attempt := h.WithTags(map[string]string{"class": "2xx"}).Timer("hookflow_attempt_duration_seconds")
	attempt.Record(30 * time.Millisecond)
	attempt.Record(2 * time.Second)
	h.Timer("hookflow_delivery_latency_seconds").Record(5 * time.Hour)
	h.Counter("hookflow_odd").Inc(1)
	h.Gauge("hookflow_odd_total").Update(1) // the counter's name, as a gauge
	h.WithTags(map[string]string{"__reserved": "x", "9lives": "y"}).Counter("temporal_long_request").Inc(1)

	families, text := scrape(t, r)
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
		typ    dto.MetricType
	}{
		{"hookflow_deliveries_total", map[string]string{"result": "delivered", "namespace": "default"}, 2, dto.MetricType_COUNTER},
		{"hookflow_deliveries_total", map[string]string{"result": "failed"}, 1, dto.MetricType_COUNTER},
		{"temporal_worker_task_slots_available", map[string]string{"task_queue": "q\"x"}, 3.5, dto.MetricType_GAUGE},
		// Temporal's Prometheus naming: counters end in _total, timers are _seconds.
		{"temporal_request_total", map[string]string{"operation": "StartWorkflowExecution"}, 4, dto.MetricType_COUNTER},
		{"temporal_activity_execution_latency_seconds", nil, 1, dto.MetricType_HISTOGRAM},
		{"hookflow_attempt_duration_seconds", map[string]string{"class": "2xx"}, 2, dto.MetricType_HISTOGRAM},
		{"hookflow_delivery_latency_seconds", nil, 1, dto.MetricType_HISTOGRAM},
		{"hookflow_odd_total", nil, 1, dto.MetricType_COUNTER},
		{"hookflow_odd_total_gauge", nil, 1, dto.MetricType_GAUGE},
		{"temporal_long_request_total", map[string]string{"_reserved": "x", "_9lives": "y"}, 1, dto.MetricType_COUNTER},
		{"go_goroutines", nil, -2, dto.MetricType_GAUGE},
		{"go_gc_duration_seconds", nil, -2, dto.MetricType_SUMMARY},
		{"process_cpu_seconds_total", nil, -2, dto.MetricType_COUNTER},
		{"process_resident_memory_bytes", nil, -2, dto.MetricType_GAUGE},
	} {
		f := families[c.name]
		if f == nil {
			t.Errorf("no family %s", c.name)
			continue
		}
		if f.GetType() != c.typ {
			t.Errorf("%s is a %s, want %s", c.name, f.GetType(), c.typ)
		}
		if f.GetHelp() == "" {
			t.Errorf("%s has no HELP", c.name)
		}
		if c.want != -2 {
			if got := value(families, c.name, c.labels); got != c.want {
				t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
			}
		}
	}
	// Buckets chosen for what is measured: an attempt's end at 30 s, a delivery's span a day.
	for _, want := range []string{
		`hookflow_attempt_duration_seconds_bucket{class="2xx",namespace="default",le="0.025"} 0` + "\n",
		`hookflow_attempt_duration_seconds_bucket{class="2xx",namespace="default",le="0.05"} 1` + "\n",
		`hookflow_attempt_duration_seconds_bucket{class="2xx",namespace="default",le="30"} 2` + "\n",
		`hookflow_delivery_latency_seconds_bucket{namespace="default",le="86400"} 1` + "\n",
		`hookflow_delivery_latency_seconds_bucket{namespace="default",le="3600"} 0` + "\n",
		"# HELP hookflow_deliveries_total Deliveries that reached a result",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("exposition lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, `le="86400"`) && strings.Contains(text, `hookflow_attempt_duration_seconds_bucket{class="2xx",namespace="default",le="86400"}`) {
		t.Errorf("attempt durations have the delivery's buckets")
	}
}

// TestNativeHistograms: the protobuf exposition carries the native buckets beside the
// classic ones.
func TestNativeHistograms(t *testing.T) {
	r := NewRegistry()
	r.SDKHandler().Timer("hookflow_attempt_duration_seconds").Record(42 * time.Millisecond)
	families, err := r.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "hookflow_attempt_duration_seconds" {
			continue
		}
		hist := f.GetMetric()[0].GetHistogram()
		if hist.GetSchema() == 0 && len(hist.GetPositiveSpan()) == 0 || len(hist.GetBucket()) != len(AttemptBuckets) {
			t.Errorf("histogram schema %d, %d spans, %d classic buckets", hist.GetSchema(), len(hist.GetPositiveSpan()), len(hist.GetBucket()))
		}
		return
	}
	t.Error("no hookflow_attempt_duration_seconds")
}

// TestDistributionBound: the first MaxDistributions distribution ids keep their series, the
// rest are counted together.
func TestDistributionBound(t *testing.T) {
	r := NewRegistry()
	h := r.SDKHandler()
	for i := range MaxDistributions + 5 {
		h.WithTags(map[string]string{DistributionLabel: fmt.Sprintf("dis_%d", i), "result": "delivered"}).
			Counter("hookflow_distribution_deliveries_total").Inc(1)
	}
	h.WithTags(map[string]string{DistributionLabel: "dis_0", "result": "delivered"}).Counter("hookflow_distribution_deliveries_total").Inc(1)
	families, _ := scrape(t, r)
	f := families["hookflow_distribution_deliveries_total"]
	if n := len(f.GetMetric()); n != MaxDistributions+1 {
		t.Errorf("%d series, want %d", n, MaxDistributions+1)
	}
	for _, c := range []struct {
		id   string
		want float64
	}{{"dis_0", 2}, {fmt.Sprintf("dis_%d", MaxDistributions-1), 1}, {OtherDistribution, 5}, {fmt.Sprintf("dis_%d", MaxDistributions), -1}} {
		if got := value(families, f.GetName(), map[string]string{DistributionLabel: c.id}); got != c.want {
			t.Errorf("distribution %s: %v, want %v", c.id, got, c.want)
		}
	}
}

// TestAddGatherer: another registry's series are served until removed.
func TestAddGatherer(t *testing.T) {
	r := NewRegistry()
	other := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "service_requests_total", Help: "Requests."})
	other.MustRegister(c)
	c.Inc()
	// A name both have is served as the registry has it, and the rest still is.
	r.SDKHandler().Counter("temporal_request").Inc(2)
	clash := prometheus.NewCounter(prometheus.CounterOpts{Name: "temporal_request_total", Help: "Other."})
	other.MustRegister(clash)
	clash.Add(5)
	remove := r.AddGatherer(other)
	families, _ := scrape(t, r)
	if families["service_requests_total"] == nil {
		t.Error("added gatherer not served")
	}
	if got := value(families, "temporal_request_total", nil); got != 2 || len(families["temporal_request_total"].GetMetric()) != 1 ||
		!strings.HasPrefix(families["temporal_request_total"].GetHelp(), "Temporal SDK metric") {
		t.Errorf("temporal_request_total: %v, %v", got, families["temporal_request_total"])
	}
	remove()
	if families, _ := scrape(t, r); families["service_requests_total"] != nil {
		t.Error("removed gatherer still served")
	}
}

var sdkTags = map[string]string{"namespace": "default", "task_queue": "hookflow",
	"workflow_type": "Delivery", "activity_type": "Post", "worker_type": "ActivityWorker"}

// BenchmarkSDKCounter is what the SDK does for every event it records: ask a tagged
// handler for a counter and increment it.
func BenchmarkSDKCounter(b *testing.B) {
	h := NewRegistry().SDKHandler().WithTags(sdkTags)
	b.ReportAllocs()
	for b.Loop() {
		h.Counter("temporal_activity_execution_latency").Inc(1)
	}
}

// BenchmarkSDKTimer is the same for a timer: a tagged handler asked for a timer that records
// a duration.
func BenchmarkSDKTimer(b *testing.B) {
	h := NewRegistry().SDKHandler().WithTags(sdkTags)
	b.ReportAllocs()
	for b.Loop() {
		h.Timer("temporal_activity_execution_latency").Record(12 * time.Millisecond)
	}
}

// TestExemplars: a timer recorded with a trace id shows it as the exemplar of its bucket
// in the protobuf exposition, which a Prometheus with native histograms asks for; the text
// format stays as it was; exemplar labels over the client library's limit are dropped and
// the observation kept.
func TestExemplars(t *testing.T) {
	r := NewRegistry()
	type exemplarTimer interface {
		RecordWithExemplar(time.Duration, map[string]string)
	}
	timer, ok := r.SDKHandler().WithTags(map[string]string{"class": "5xx"}).Timer("hookflow_attempt_duration_seconds").(exemplarTimer)
	if !ok {
		t.Fatal("the SDK handler's timer takes no exemplar")
	}
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	timer.RecordWithExemplar(30*time.Millisecond, map[string]string{"trace_id": traceID})
	timer.RecordWithExemplar(40*time.Millisecond, map[string]string{"trace_id": strings.Repeat("x", 200)})

	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/metrics", nil)
	req.Header.Set("Accept", "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited")
	r.ServeHTTP(rec, req)
	dec := expfmt.NewDecoder(rec.Body, expfmt.ResponseFormat(rec.Header()))
	var exemplars []string
	for {
		var f dto.MetricFamily
		if err := dec.Decode(&f); err != nil {
			break
		}
		if f.GetName() != "hookflow_attempt_duration_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, b := range m.GetHistogram().GetBucket() {
				if e := b.GetExemplar(); e != nil {
					for _, l := range e.GetLabel() {
						exemplars = append(exemplars, fmt.Sprintf("le=%g %s=%s %g", b.GetUpperBound(), l.GetName(), l.GetValue(), e.GetValue()))
					}
				}
			}
		}
	}
	if want := "le=0.05 trace_id=" + traceID + " 0.03"; len(exemplars) != 1 || exemplars[0] != want {
		t.Errorf("exemplars %q, want only %q", exemplars, want)
	}
	families, plain := scrape(t, r)
	if got := value(families, "hookflow_attempt_duration_seconds", map[string]string{"class": "5xx"}); got != 2 {
		t.Errorf("%v observations, want 2 (the one over the exemplar limit kept)", got)
	}
	if strings.Contains(plain, traceID) {
		t.Errorf("the text format shows exemplars")
	}
}
