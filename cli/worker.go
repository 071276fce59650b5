package cli

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/app"
)

func newWorkerCommand(getenv func(string) string) *cobra.Command {
	var cfg app.WorkerConfig
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run a worker: deliver the webhooks of the events a Temporal cluster holds",
		Long: `Run a worker: it polls Temporal for hookflow's workflows and activities, reads the
distributions from the store, and posts the webhooks. Run as many as the load needs, on any
machines that reach Temporal, the store and the receivers; Temporal shares the work out.

Settings come from flags, then HOOKFLOW_* variables (HOOKFLOW_TEMPORAL_ADDRESS for
--temporal-address, ...), then the YAML file --config names, then the defaults.
SIGTERM or Ctrl-C stops polling and lets the activities in flight finish (--stop-timeout).
GET /livez and /readyz on --health answer for probes; GET /metrics on --metrics-listen
serves the Prometheus metrics.`,
		Example: `  hookflow worker --database-url postgres://hookflow@db:5432/hookflow --temporal-address temporal:7233
  hookflow worker --config /etc/hookflow/worker.yaml --allow-target 10.0.0.0/8`,
		Args:    usageArgs,
		PreRunE: applyConfig(getenv),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runWorker(cmd.Context(), cfg, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	registerTemporalFlags(f, &cfg.Temporal)
	f.Var(&secretValue{p: &cfg.DatabaseURL}, "database-url", "hookflow's store: postgres://... or a SQLite file (required)")
	f.Var(&secretValue{p: &cfg.SMTPURL}, "smtp-url", "SMTP server for failure e-mails: smtp://user:pass@host:587 (STARTTLS when offered) or smtps://...")
	f.StringVar(&cfg.SMTPFrom, "smtp-from", "hookflow@localhost", "sender address of failure e-mails")
	f.StringVar(&cfg.SMTPHelo, "smtp-helo", "", "name this process gives in SMTP EHLO (default this machine's host name, or localhost if it is not a valid domain name)")
	f.StringArrayVar(&cfg.AllowTargets, "allow-target", nil, "admit webhook targets in this CIDR prefix, such as 10.0.0.0/8 (repeatable); only public addresses otherwise")
	f.StringVar(&cfg.Health, "health", app.DefaultHealthAddr, "listen address of /livez and /readyz; empty for none")
	f.StringVar(&cfg.MetricsListen, "metrics-listen", app.DefaultWorkerMetricsAddr, "listen address of /metrics (Prometheus); empty for none")
	f.StringVar(&cfg.UIURL, "ui-url", "", "Temporal Web UI base URL, for links in failure notifications, such as http://temporal-ui:8080")
	durationVar(f, &cfg.StopTimeout, "stop-timeout", 30*time.Second, "on SIGTERM, how long activities in flight may run on before they are cancelled")
	f.IntVar(&cfg.MaxConcurrentActivities, "max-concurrent-activities", 0, "activities (webhook posts) run at once (0: the SDK's default, 1000)")
	f.IntVar(&cfg.MaxConcurrentWorkflowTasks, "max-concurrent-workflow-tasks", 0, "workflow tasks run at once (0: the SDK's default, 1000)")
	f.StringVar(&cfg.LogFormat, "log-format", "json", "log format: json or text")
	f.StringVar(&cfg.LogLevel, "log-level", "info", "log level: debug, info, warn or error")
	durationVar(f, &cfg.StoreRetention, "store-retention", app.DefaultStoreRetention, "how long hookflow's own history is kept: notifications, and finished messages with their customers, older than this are pruned every hour (0 keeps it for ever; at least 24h)")
	addConfigFlags(cmd)
	return noOutput(cmd)
}
