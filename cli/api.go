package cli

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/app"
)

func newAPICommand(getenv func(string) string) *cobra.Command {
	var cfg app.APIConfig
	cmd := &cobra.Command{
		Use:   "api",
		Short: "Run the HTTP API: accept events and manage distributions",
		Long: `Run the hookflow HTTP API: it accepts events (each starts a workflow on Temporal), and
keeps the distributions, webhooks, settings and notifications in the store. Workers
(hookflow worker) deliver what it starts. Run several behind a load balancer if needed.

Settings come from flags, then HOOKFLOW_* variables (HOOKFLOW_TEMPORAL_ADDRESS for
--temporal-address, ...), then the YAML file --config names, then the defaults.
SIGTERM or Ctrl-C stops accepting connections and lets the requests in flight finish.
GET /livez and /readyz on --http answer for probes; GET /metrics on --metrics-listen
serves the Prometheus metrics.`,
		Example: `  hookflow api --database-url postgres://hookflow@db:5432/hookflow --temporal-address temporal:7233
  hookflow api --config /etc/hookflow/api.yaml`,
		Args:    usageArgs,
		PreRunE: applyConfig(getenv),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAPI(cmd.Context(), cfg, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	registerTemporalFlags(f, &cfg.Temporal)
	f.Var(&secretValue{p: &cfg.DatabaseURL}, "database-url", "hookflow's store: postgres://... or a SQLite file (required)")
	f.StringVar(&cfg.HTTP, "http", app.DefaultAPIAddr, "listen address of the API, /livez and /readyz")
	f.StringVar(&cfg.MetricsListen, "metrics-listen", app.DefaultAPIMetricsAddr, "listen address of /metrics (Prometheus), apart from the API; empty for none")
	f.BoolVar(&cfg.RequireAPIKey, "require-api-key", true, "require API keys (hookflow keys create); false is allowed only on a loopback --http")
	durationVar(f, &cfg.StopTimeout, "stop-timeout", 30*time.Second, "on SIGTERM, how long requests in flight may take to finish")
	f.StringVar(&cfg.LogFormat, "log-format", "json", "log format: json or text")
	f.StringVar(&cfg.LogLevel, "log-level", "info", "log level: debug, info, warn or error")
	f.StringVar(&cfg.UIURL, "ui-url", "", "Temporal Web UI base URL, such as https://temporal.example.com: with --encryption-key, its origin may call the codec endpoint /codec from the browser")
	addConfigFlags(cmd)
	return noOutput(cmd)
}
