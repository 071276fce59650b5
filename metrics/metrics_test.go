package metrics

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestExposition(t *testing.T) {
	r := NewRegistry()
	h := r.SDKHandler()
	h.WithTags(map[string]string{"result": "delivered"}).Counter("hookflow_deliveries_total").Inc(2)
	h.WithTags(map[string]string{"result": "failed"}).Counter("hookflow_deliveries_total").Inc(1)
	h.WithTags(map[string]string{"task_queue": "q\"x"}).Gauge("temporal_worker_slots").Update(3.5)
	timer := h.Timer("hookflow_delivery_latency_seconds")
	timer.Record(30 * time.Millisecond)
	timer.Record(2 * time.Second)
	timer.Record(time.Hour)
	h.Gauge("hookflow_deliveries_total").Update(1) // same name, other kind

	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	got := rec.Body.String()
	for _, want := range []string{
		"# TYPE hookflow_deliveries_total counter\n",
		`hookflow_deliveries_total{result="delivered"} 2` + "\n",
		`hookflow_deliveries_total{result="failed"} 1` + "\n",
		`temporal_worker_slots{task_queue="q\"x"} 3.5` + "\n",
		"# TYPE hookflow_delivery_latency_seconds histogram\n",
		`hookflow_delivery_latency_seconds_bucket{le="0.025"} 0` + "\n",
		`hookflow_delivery_latency_seconds_bucket{le="0.05"} 1` + "\n",
		`hookflow_delivery_latency_seconds_bucket{le="2.5"} 2` + "\n",
		`hookflow_delivery_latency_seconds_bucket{le="+Inf"} 3` + "\n",
		"hookflow_delivery_latency_seconds_count 3\n",
		"# TYPE hookflow_deliveries_total_gauge gauge\n",
		"process_resident_memory_bytes ",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("exposition lacks %q:\n%s", want, got)
		}
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("content-type %q", ct)
	}
}

// BenchmarkSDKCounter is what the SDK does for every event it records: ask a tagged
// handler for a counter and increment it.
func BenchmarkSDKCounter(b *testing.B) {
	h := NewRegistry().SDKHandler().WithTags(map[string]string{"namespace": "default", "task_queue": "hookflow",
		"workflow_type": "Delivery", "activity_type": "Post", "worker_type": "ActivityWorker"})
	b.ReportAllocs()
	for b.Loop() {
		h.Counter("temporal_activity_execution_latency").Inc(1)
	}
}
