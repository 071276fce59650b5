package cli

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/app"
)

func newServerCommand(getenv func(string) string) *cobra.Command {
	var cfg app.ServerConfig
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run only the embedded Temporal server and its Web UI, for hookflow api and worker",
		Long: `Run the Temporal server that hookflow dev embeds, and its Web UI, without the worker or
the API: a single-node Temporal for hookflow api and hookflow worker processes, without
Docker. Temporal's state is kept in SQLite under --data-dir, or in PostgreSQL with
--temporal-database-url: its database (and one named with _visibility appended) is created
when missing, and Temporal's schema is set up or upgraded at every start. The namespace and
hookflow's search attributes are registered.

Settings come from flags, then HOOKFLOW_* variables, then the YAML file --config names.
SIGTERM or Ctrl-C stops it.`,
		Example: `  hookflow server --data-dir /var/lib/hookflow
  hookflow server --temporal-database-url postgres://temporal@db:5432/temporal --ip 0.0.0.0`,
		Args:    usageArgs,
		PreRunE: applyConfig(getenv),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServer(cmd.Context(), cfg, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.DataDir, "data-dir", app.DefaultDataDir(), "where the SQLite database and the server's log are kept")
	f.Var(&secretValue{p: &cfg.TemporalDatabaseURL}, "temporal-database-url", "keep Temporal's state in PostgreSQL: postgres://user:password@host:5432/temporal?sslmode=disable")
	f.StringVar(&cfg.IP, "ip", "127.0.0.1", "address the Temporal frontend and the Web UI listen on (0.0.0.0 for all)")
	f.IntVar(&cfg.TemporalPort, "temporal-port", 7233, "Temporal frontend (gRPC) port")
	f.IntVar(&cfg.UIPort, "ui-port", 8233, "Temporal Web UI port; 0 runs no UI")
	f.StringVar(&cfg.Namespace, "namespace", "default", "namespace to create, with hookflow's search attributes")
	f.StringVar(&cfg.MetricsListen, "metrics-listen", app.DefaultServerMetricsAddr, "listen address of /metrics (Prometheus); empty for none")
	f.StringVar(&cfg.LogFormat, "log-format", "json", "log format of hookflow's own lines (the access log of --metrics-listen): json or text; the Temporal server logs to temporal.log in --data-dir")
	f.StringVar(&cfg.LogLevel, "log-level", "info", "log level: debug, info, warn or error")
	durationVar(f, &cfg.Retention, "retention", 24*time.Hour, "how long Temporal keeps closed workflows: the delivery log, recover and the duplicate-event check reach back this far (at least 1h); an existing namespace is updated to it")
	f.StringVar(&cfg.CodecEndpoint, "codec-endpoint", "", "hookflow api's codec endpoint, such as http://127.0.0.1:7280/codec, for the Web UI to show payloads encrypted with --encryption-key (the api needs --ui-url of this UI)")
	addConfigFlags(cmd)
	return noOutput(cmd)
}
