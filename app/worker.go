package app

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/hookflow/hookflow/activities"
	"github.com/hookflow/hookflow/worker"
)

// WorkerConfig is `hookflow worker`: it delivers the webhooks of the events a Temporal
// cluster holds.
type WorkerConfig struct {
	Temporal          TemporalConfig
	DatabaseURL       string // hookflow's store (required)
	SMTPURL, SMTPFrom string
	// SMTPHelo is the name given in EHLO; empty is this machine's host name.
	SMTPHelo string
	// AllowTargets admit webhook targets in these CIDR prefixes; only public addresses
	// otherwise.
	AllowTargets []string
	// Health is the listen address of /livez and /readyz; empty for none.
	Health string
	// MetricsListen is the listen address of /metrics; empty for none.
	MetricsListen string
	// UIURL is the Temporal Web UI's base URL, for links in failure notifications.
	UIURL string
	// StopTimeout is how long activities in flight may run on after a stop.
	StopTimeout time.Duration
	// MaxConcurrentActivities and MaxConcurrentWorkflowTasks bound what runs at once;
	// 0 is the SDK's default.
	MaxConcurrentActivities    int
	MaxConcurrentWorkflowTasks int
	LogFormat                  string // json or text
	LogLevel                   string // debug, info (when empty), warn or error
	// StoreRetention is how long the store's per-event history is kept; 0 keeps it for
	// ever.
	StoreRetention time.Duration
}

// RunWorker runs `hookflow worker` until ctx ends, then stops polling and lets the
// activities in flight finish.
func RunWorker(ctx context.Context, cfg WorkerConfig, stdout, stderr io.Writer) error {
	logger, err := serviceLogger(cfg.LogFormat, cfg.LogLevel, cfg.DatabaseURL, stderr)
	if err != nil {
		return err
	}
	if err := checkStoreRetention(cfg.StoreRetention); err != nil {
		return err
	}
	// Unlike dev, nothing internal is admitted by default: a production worker would
	// otherwise post to the services beside it.
	allow, err := activities.ParseAllowList(cfg.AllowTargets)
	if err != nil {
		return err
	}
	mailer, err := newMailer(cfg.SMTPURL, cfg.SMTPFrom, cfg.SMTPHelo)
	if err != nil {
		return err
	}
	t := cfg.Temporal.withDefaults()
	cdc, err := t.Codec()
	if err != nil {
		return err
	}

	p := newProcess("worker", stdout)
	p.logger = logger
	defer p.close()
	traces, err := p.startTracing(ctx, os.Getenv, logger)
	if err != nil {
		return err
	}
	var healthListener net.Listener
	if cfg.Health != "" {
		if healthListener, err = p.listen("--health", cfg.Health); err != nil {
			return err
		}
	}
	ml, err := p.listenMetrics(cfg.MetricsListen)
	if err != nil {
		return err
	}
	st, c, err := p.connect(ctx, cfg.DatabaseURL, t, logger, cfg.LogFormat, stderr)
	if err != nil {
		return err
	}

	// hookflow's poller settings (worker.Options), with this process's limits.
	opts := worker.Options()
	opts.WorkerStopTimeout = cfg.StopTimeout
	opts.MaxConcurrentActivityExecutionSize = cfg.MaxConcurrentActivities
	opts.MaxConcurrentWorkflowTaskExecutionSize = cfg.MaxConcurrentWorkflowTasks
	opts.OnFatalError = func(err error) { p.fail(fmt.Errorf("worker: %w", err)) }
	w := NewWorker(WorkerSetup{Client: c, TaskQueue: t.TaskQueue, Namespace: t.Namespace, Store: st,
		Allow: allow, Mailer: mailer, Logger: logger, UIURL: cfg.UIURL, Options: &opts})
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	// Stopped by the drain below; this covers the early returns. Stop twice is safe.
	p.onClose(w.Stop)
	p.startStorePruner(ctx, st, cfg.StoreRetention, StorePruneInterval, logger)

	p.health = newHealth(c, t.Namespace, st)
	healthURL := ""
	if healthListener != nil {
		healthURL = "http://" + healthListener.Addr().String()
		p.serve("health endpoint", healthListener, p.health.handler(nil))
	}
	metricsURL, metricsRow := p.serveMetrics(ml, "hookflow, the Temporal SDK, Go, process")

	b := &Banner{Title: "hookflow worker is running"}
	b.Row("Temporal", "%s (namespace %s, task queue %s%s)", t.Address, t.Namespace, t.TaskQueue, t.transportNote())
	b.Row("Identity", "%s", t.identity())
	b.Row("Store", "%s", RedactURL(cfg.DatabaseURL))
	b.Row("History", "%s", storeRetentionNote(cfg.StoreRetention))
	b.Row("Encryption", "%s", encryptionNote(cdc))
	if healthURL != "" {
		b.Row("Health", "%s/readyz, /livez", healthURL)
	} else {
		b.Row("Health", "off (--health)")
	}
	b.Row("Metrics", "%s", metricsRow)
	if row := traces.tracingRow(); row != "" {
		b.Row("Tracing", "%s", row)
	}
	if cfg.SMTPURL != "" {
		b.Row("E-mail", "%s, from %s, EHLO %s", RedactURL(cfg.SMTPURL), cfg.SMTPFrom, mailer.Helo())
	} else {
		b.Row("E-mail", "off (--smtp-url); failures are in-app and logged")
	}
	if len(allow) > 0 {
		b.Row("Targets", "public addresses and %s", prefixList(allow))
	} else {
		b.Row("Targets", "public addresses only (--allow-target admits more)")
	}
	b.Notes = []string{fmt.Sprintf("SIGTERM or Ctrl-C stops it once the activities in flight finish (at most %s).", cfg.StopTimeout)}
	p.ready(b, Ready{Temporal: t.Address, Namespace: t.Namespace, TaskQueue: t.TaskQueue, Health: healthURL, Metrics: metricsURL})

	// Not ready from the stop on, so that a load balancer or orchestrator sends nothing
	// new, but the health endpoint stays up while the activities drain.
	err = p.run(ctx, 5*time.Second, func() {
		logger.Info("stopping: no new tasks; waiting for the activities in flight", "timeout", cfg.StopTimeout.String())
		w.Stop()
	})
	logger.Info("stopped")
	return err
}
