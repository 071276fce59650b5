package devserver

import (
	"io"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/uber-go/tally/v4"
	tallyprom "github.com/uber-go/tally/v4/prometheus"
	"go.temporal.io/server/common/metrics"
)

// Histogram boundaries of the server's own histograms, by unit, as the server's defaults
// for a Prometheus reporter (common/metrics, unexported there): counts, milliseconds and
// bytes. Its timers, and histograms in seconds, use timerBuckets.
var (
	countBuckets = []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000}
	msBuckets    = []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000,
		200_000, 500_000, 1_000_000}
	byteBuckets  = []float64{1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072, 262144, 524288, 1048576, 2097152, 4194304, 8388608, 16777216}
	timerBuckets = []float64{0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000}
)

// serverMetrics is the embedded server's metrics handler, as the server builds one for its
// own Prometheus reporter (Tally, Prometheus sanitising, "_" separator: series such as
// service_requests, persistence_latency_bucket, which Temporal's server dashboards query),
// but registered on a registry of ours instead of a listener of its own, so that the
// process serves them beside its other metrics. close stops the reporting loop.
func serverMetrics() (metrics.Handler, *prometheus.Registry, io.Closer) {
	reg := prometheus.NewRegistry()
	reporter := tallyprom.NewReporter(tallyprom.Options{
		Registerer:              reg,
		DefaultTimerType:        tallyprom.HistogramTimerType,
		DefaultHistogramBuckets: timerBuckets,
		// The server gives some names several tag sets; Prometheus keeps the first, as it
		// does with the server's own reporter, which logs these at warn.
		OnRegisterError: func(error) {},
	})
	scope, closer := tally.NewRootScope(tally.ScopeOptions{
		CachedReporter:  reporter,
		Separator:       tallyprom.DefaultSeparator,
		SanitizeOptions: &tallyprom.DefaultSanitizerOpts,
		// Tally's own tally_internal_*_cardinality series are about the reporter, not
		// Temporal, and their names fail Prometheus's lint.
		OmitCardinalityMetrics: true,
	}, time.Second)
	h := metrics.NewTallyMetricsHandler(metrics.ClientConfig{PerUnitHistogramBoundaries: map[string][]float64{
		metrics.Dimensionless: countBuckets,
		metrics.Milliseconds:  msBuckets,
		metrics.Bytes:         byteBuckets,
		metrics.Seconds:       timerBuckets,
	}}, scope)
	return h, reg, closer
}
