package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/activities"
	"github.com/hookflow/hookflow/starter"
	"github.com/hookflow/hookflow/worker"
)

// defaultHealthAddr is where a worker answers /livez and /readyz unless told otherwise.
const defaultHealthAddr = "127.0.0.1:7281"

type workerOptions struct {
	temporal         temporalFlags
	databaseURL      string
	smtpURL          string
	smtpFrom         string
	allowTargets     []string
	healthAddr       string
	uiURL            string
	stopTimeout      time.Duration
	maxActivities    int
	maxWorkflowTasks int
	logFormat        string
}

func newWorkerCommand() *cobra.Command {
	var o workerOptions
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run a worker: deliver the webhooks of the events a Temporal cluster holds",
		Long: `Run a worker: it polls Temporal for hookflow's workflows and activities, reads the
distributions from the store, and posts the webhooks. Run as many as the load needs, on any
machines that reach Temporal, the store and the receivers; Temporal shares the work out.

Settings come from flags, then HOOKFLOW_* variables (HOOKFLOW_TEMPORAL_ADDRESS for
--temporal-address, ...), then the YAML file --config names, then the defaults.
SIGTERM or Ctrl-C stops polling and lets the activities in flight finish (--stop-timeout).
GET /livez and /readyz on --health answer for probes.`,
		Args:    cobra.NoArgs,
		PreRunE: applyConfig,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runWorker(ctx, o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	o.temporal.register(f)
	f.StringVar(&o.databaseURL, "database-url", "", "hookflow's store: postgres://... or a SQLite file (required)")
	f.StringVar(&o.smtpURL, "smtp-url", "", "SMTP server for failure e-mails: smtp://user:pass@host:587 (STARTTLS when offered) or smtps://...")
	f.StringVar(&o.smtpFrom, "smtp-from", "hookflow@localhost", "sender address of failure e-mails")
	f.StringArrayVar(&o.allowTargets, "allow-target", nil, "admit webhook targets in this CIDR prefix, such as 10.0.0.0/8 (repeatable); only public addresses otherwise")
	f.StringVar(&o.healthAddr, "health", defaultHealthAddr, "listen address of /livez and /readyz; empty for none")
	f.StringVar(&o.uiURL, "ui-url", "", "Temporal Web UI base URL, for links in failure notifications, such as http://temporal-ui:8080")
	f.DurationVar(&o.stopTimeout, "stop-timeout", 30*time.Second, "on SIGTERM, how long activities in flight may run on before they are cancelled")
	f.IntVar(&o.maxActivities, "max-concurrent-activities", 0, "activities (webhook posts) run at once (0: the SDK's default, 1000)")
	f.IntVar(&o.maxWorkflowTasks, "max-concurrent-workflow-tasks", 0, "workflow tasks run at once (0: the SDK's default, 1000)")
	f.StringVar(&o.logFormat, "log-format", "json", "log format: json or text")
	addConfigFlags(cmd)
	return cmd
}

func runWorker(ctx context.Context, o workerOptions, stdout, stderr io.Writer) error {
	logger, err := newLogger(o.logFormat, stderr, slog.LevelInfo)
	if err != nil {
		return err
	}
	if err := requireDatabaseURL(o.databaseURL); err != nil {
		return err
	}
	// Unlike dev, nothing internal is admitted by default: a production worker would
	// otherwise post to the services beside it.
	allow, err := activities.ParseAllowList(o.allowTargets)
	if err != nil {
		return err
	}
	mailer, err := newMailer(o.smtpURL, o.smtpFrom)
	if err != nil {
		return err
	}
	cdc, err := o.temporal.encryptionKeys.codec()
	if err != nil {
		return err
	}
	var healthListener net.Listener
	if o.healthAddr != "" {
		if healthListener, err = net.Listen("tcp", o.healthAddr); err != nil {
			return fmt.Errorf("--health %s: cannot listen (%v); choose another address with --health", o.healthAddr, errors.Unwrap(err))
		}
		defer healthListener.Close()
	}

	st, c, closeAll, err := connect(ctx, o.databaseURL, &o.temporal, logger, o.logFormat, stderr)
	if err != nil {
		return err
	}
	defer closeAll()

	fatal := make(chan error, 1)
	acts := newActivities(st, allow, mailer, logger, o.uiURL, o.temporal.namespace)
	// A message's deliveries start through this worker's client, on the queue it polls.
	acts.Deliveries = &starter.Starter{Client: c, TaskQueue: o.temporal.taskQueue}
	// hookflow's poller settings (worker.Options), with this process's limits.
	wopts := worker.Options()
	wopts.WorkerStopTimeout = o.stopTimeout
	wopts.MaxConcurrentActivityExecutionSize = o.maxActivities
	wopts.MaxConcurrentWorkflowTaskExecutionSize = o.maxWorkflowTasks
	wopts.OnFatalError = func(err error) {
		select {
		case fatal <- err:
		default:
		}
	}
	w := worker.New(c, o.temporal.taskQueue, acts, wopts)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	// Stopped below on the way out; this covers the early returns.
	stopped := false
	defer func() {
		if !stopped {
			w.Stop()
		}
	}()

	h := newHealth(c, o.temporal.namespace, st)
	var healthServer *http.Server
	serveErr := make(chan error, 1)
	if healthListener != nil {
		healthServer = &http.Server{Handler: h.handler(nil), ReadHeaderTimeout: 10 * time.Second}
		go func() { serveErr <- healthServer.Serve(healthListener) }()
	}

	fmt.Fprintf(stdout, "hookflow worker is running\n")
	fmt.Fprintf(stdout, "  Temporal        %s (namespace %s, task queue %s%s)\n", o.temporal.address, o.temporal.namespace, o.temporal.taskQueue, transportNote(o.temporal))
	fmt.Fprintf(stdout, "  Identity        %s\n", o.temporal.identityOrDefault())
	fmt.Fprintf(stdout, "  Store           %s\n", redactURL(o.databaseURL))
	fmt.Fprintf(stdout, "  Encryption      %s\n", encryptionNote(cdc))
	if healthListener != nil {
		fmt.Fprintf(stdout, "  Health          http://%s/readyz, /livez\n", healthListener.Addr())
	} else {
		fmt.Fprintf(stdout, "  Health          off (--health)\n")
	}
	if o.smtpURL != "" {
		fmt.Fprintf(stdout, "  E-mail          %s, from %s\n", redactURL(o.smtpURL), o.smtpFrom)
	} else {
		fmt.Fprintf(stdout, "  E-mail          off (--smtp-url); failures are in-app and logged\n")
	}
	if len(allow) > 0 {
		fmt.Fprintf(stdout, "  Targets         public addresses and %s\n", prefixList(allow))
	} else {
		fmt.Fprintf(stdout, "  Targets         public addresses only (--allow-target admits more)\n")
	}
	fmt.Fprintf(stdout, "SIGTERM or Ctrl-C stops it once the activities in flight finish (at most %s).\n", o.stopTimeout)

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-fatal:
		runErr = fmt.Errorf("worker: %w", err)
	case err := <-serveErr:
		runErr = fmt.Errorf("health endpoint: %w", err)
	}
	// Not ready from now on, so that a load balancer or orchestrator sends nothing new,
	// but the health endpoint stays up while the activities drain.
	h.stopping.Store(true)
	logger.Info("stopping: no new tasks; waiting for the activities in flight", "timeout", o.stopTimeout.String())
	fmt.Fprintln(stdout, "hookflow worker: stopping")
	w.Stop()
	stopped = true
	if healthServer != nil {
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = healthServer.Shutdown(shutdownCtx)
	}
	logger.Info("stopped")
	return runErr
}

// transportNote tells how the connection to Temporal is secured, for the banner.
func transportNote(o temporalFlags) string {
	switch {
	case o.apiKey != "":
		return ", TLS, API key"
	case o.tlsCert != "":
		return ", mTLS"
	case o.tls || o.tlsCA != "" || o.tlsServerName != "":
		return ", TLS"
	}
	return ""
}
