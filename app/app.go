// Package app is hookflow's composition root: it builds the long-running processes (dev,
// server, api, worker) from one config type each, and the pieces they and the bench share:
// the Temporal client options, the activities and the worker, the API handler, health and
// readiness, and the one shape every process runs in (listen first, serve, drain, close in
// reverse order; see process.go).
//
// The commands (package cli) fill the configs from flags, the environment and a config
// file; nothing here reads flags or the environment.
package app

import (
	"github.com/hookflow/hookflow/activities"
	"github.com/hookflow/hookflow/metrics"
)

// The default addresses: where a Temporal frontend listens unless told otherwise (also
// where `hookflow server` and `hookflow dev` put theirs), where `hookflow dev` and
// `hookflow api` serve the API, where a worker answers its health probes, and where each
// process serves its metrics (on loopback, apart from the public API: an operator opens
// them to Prometheus deliberately; dev takes a free port, so that several can run).
const (
	DefaultTemporalAddress   = "127.0.0.1:7233"
	DefaultAPIAddr           = "127.0.0.1:7280"
	DefaultHealthAddr        = "127.0.0.1:7281"
	DefaultAPIMetricsAddr    = "127.0.0.1:7282"
	DefaultWorkerMetricsAddr = "127.0.0.1:7283"
	DefaultServerMetricsAddr = "127.0.0.1:7284"
	DefaultDevMetricsAddr    = "127.0.0.1:0"
)

// MetricsPath is where the metrics listener (--metrics-listen) serves the exposition.
const (
	MetricsPath = "/metrics"
	metricsFlag = "--metrics-listen"
)

// version is hookflow's version, as main's -ldflags -X sets it; see SetVersion.
var version = "dev"

// SetVersion names the release everywhere it shows: `hookflow version` and the
// User-Agent of every webhook (hookflow/<version>).
func SetVersion(v string) {
	if v == "" {
		return
	}
	version = v
	activities.Version = v
}

// Version is the version SetVersion set, "dev" before.
func Version() string { return version }

// Metrics is the process's one metrics registry (a prometheus.Registry with the Go and
// process collectors): the Temporal SDK's metrics (through every client ClientOptions
// builds), hookflow's and the embedded Temporal server's go through it, and the metrics
// listener's /metrics serves it.
var Metrics = metrics.NewRegistry()
