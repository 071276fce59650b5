package cli

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/app"
)

func newDevCommand(getenv func(string) string) *cobra.Command {
	var cfg app.DevConfig
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run everything in one process: Temporal (SQLite), the Web UI, a worker and the API",
		Long: `Run everything in one process: an embedded Temporal server persisted in SQLite under
--data-dir, the Temporal Web UI, a worker and the hookflow HTTP API. Deliveries that were still
retrying when it stopped resume when it starts again on the same data dir.

Settings come from flags, then HOOKFLOW_* variables (HOOKFLOW_DATABASE_URL for
--database-url, ...), then the YAML file --config names, then the defaults.`,
		Example: `  hookflow dev
  hookflow dev --data-dir ./.hookflow --http 127.0.0.1:8080
  hookflow dev --require-api-key --smtp-url smtp://user:pass@mail.example.com:587`,
		Args:    usageArgs,
		PreRunE: applyConfig(getenv),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDev(cmd.Context(), cfg, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.DataDir, "data-dir", app.DefaultDataDir(), "where Temporal's and hookflow's state is kept")
	f.IntVar(&cfg.TemporalPort, "temporal-port", 7233, "Temporal frontend (gRPC) port")
	f.IntVar(&cfg.UIPort, "ui-port", 8233, "Temporal Web UI port; 0 runs no UI")
	f.StringVar(&cfg.HTTP, "http", app.DefaultAPIAddr, "listen address of the hookflow API")
	f.StringVar(&cfg.MetricsListen, "metrics-listen", app.DefaultDevMetricsAddr, "listen address of /metrics (Prometheus); the default takes a free loopback port, shown in the banner; empty for none")
	f.Var(&secretValue{p: &cfg.DatabaseURL}, "database-url",
		"hookflow's own store: postgres://... or a SQLite file (default hookflow.db in --data-dir)")
	f.Var(&secretValue{p: &cfg.TemporalDatabaseURL}, "temporal-database-url",
		"keep Temporal's state in PostgreSQL (postgres://...) instead of SQLite under --data-dir, as hookflow server does")
	f.Var(&secretValue{p: &cfg.SMTPURL}, "smtp-url", "SMTP server for failure e-mails: smtp://user:pass@host:587 (STARTTLS when offered) or smtps://...")
	f.StringVar(&cfg.SMTPFrom, "smtp-from", "hookflow@localhost", "sender address of failure e-mails")
	f.StringVar(&cfg.SMTPHelo, "smtp-helo", "", "name this process gives in SMTP EHLO (default this machine's host name, or localhost if it is not a valid domain name)")
	f.BoolVar(&cfg.RequireAPIKey, "require-api-key", false, "require API keys (hookflow keys create) even on loopback; always on when --http is not loopback")
	f.StringArrayVar(&cfg.AllowTargets, "allow-target", nil, "admit webhook targets in this CIDR prefix (repeatable); loopback is admitted in dev")
	durationVar(f, &cfg.Retention, "retention", 24*time.Hour, "how long Temporal keeps closed workflows: the delivery log, recover and the duplicate-event check reach back this far (at least 1h); an existing namespace is updated to it")
	durationVar(f, &cfg.StoreRetention, "store-retention", app.DefaultStoreRetention, "how long hookflow's own history is kept: notifications, and finished messages with their customers, older than this are pruned every hour (0 keeps it for ever; at least 24h)")
	registerEncryptionKey(f, &cfg.EncryptionKeys)
	f.Lookup("encryption-key").Usage += "; the Web UI decrypts through /hookflow/codec on its own port"
	f.StringVar(&cfg.LogFormat, "log-format", "text", "log format: text or json")
	f.StringVar(&cfg.LogLevel, "log-level", "info", "log level: debug, info, warn or error")
	addConfigFlags(cmd)
	return noOutput(cmd)
}
