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

	"github.com/hookflow/hookflow/api"
)

type apiOptions struct {
	temporal    temporalFlags
	databaseURL string
	httpAddr    string
	stopTimeout time.Duration
	logFormat   string
	requireKeys bool
	uiURL       string
}

func newAPICommand() *cobra.Command {
	var o apiOptions
	cmd := &cobra.Command{
		Use:   "api",
		Short: "Run the HTTP API: accept events and manage distributions",
		Long: `Run the hookflow HTTP API: it accepts events (each starts a workflow on Temporal), and
keeps the distributions, webhooks, settings and notifications in the store. Workers
(hookflow worker) deliver what it starts. Run several behind a load balancer if needed.

Settings come from flags, then HOOKFLOW_* variables (HOOKFLOW_TEMPORAL_ADDRESS for
--temporal-address, ...), then the YAML file --config names, then the defaults.
SIGTERM or Ctrl-C stops accepting connections and lets the requests in flight finish.
GET /livez and /readyz on --http answer for probes.`,
		Args:    cobra.NoArgs,
		PreRunE: applyConfig,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runAPI(ctx, o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	o.temporal.register(f)
	f.StringVar(&o.databaseURL, "database-url", "", "hookflow's store: postgres://... or a SQLite file (required)")
	f.StringVar(&o.httpAddr, "http", defaultAPIAddr, "listen address of the API, /livez, /readyz and /metrics")
	f.BoolVar(&o.requireKeys, "require-api-key", true, "require API keys (hookflow keys create); false is allowed only on a loopback --http")
	f.DurationVar(&o.stopTimeout, "stop-timeout", 30*time.Second, "on SIGTERM, how long requests in flight may take to finish")
	f.StringVar(&o.logFormat, "log-format", "json", "log format: json or text")
	f.StringVar(&o.uiURL, "ui-url", "", "Temporal Web UI base URL, such as https://temporal.example.com: with --encryption-key, its origin may call the codec endpoint /codec from the browser")
	addConfigFlags(cmd)
	return cmd
}

func runAPI(ctx context.Context, o apiOptions, stdout, stderr io.Writer) error {
	logger, err := newLogger(o.logFormat, stderr, slog.LevelInfo)
	if err != nil {
		return err
	}
	if err := requireDatabaseURL(o.databaseURL); err != nil {
		return err
	}
	if _, _, err := net.SplitHostPort(o.httpAddr); err != nil {
		return fmt.Errorf("--http %q: want host:port such as %s", o.httpAddr, defaultAPIAddr)
	}
	if !o.requireKeys && !api.IsLoopbackListen(o.httpAddr) {
		return fmt.Errorf("--require-api-key=false with --http %s: an open API only on loopback", o.httpAddr)
	}
	cdc, err := o.temporal.encryptionKeys.codec()
	if err != nil {
		return err
	}
	origins := uiOrigins(o.uiURL)
	if o.uiURL != "" && origins == nil {
		return fmt.Errorf("--ui-url %q: want the Web UI's base URL, such as https://temporal.example.com", o.uiURL)
	}
	// Listen before connecting anywhere, so that a taken port is the first error.
	l, err := net.Listen("tcp", o.httpAddr)
	if err != nil {
		return fmt.Errorf("--http %s: cannot listen (%v); choose another address with --http", o.httpAddr, errors.Unwrap(err))
	}
	defer l.Close()

	st, c, closeAll, err := connect(ctx, o.databaseURL, &o.temporal, logger, o.logFormat, stderr)
	if err != nil {
		return err
	}
	defer closeAll()

	h := newHealth(c, o.temporal.namespace, st)
	srv := &http.Server{
		Handler:           h.handler(newAPIHandler(st, c, o.temporal.taskQueue, logger, o.requireKeys, cdc, origins)),
		ReadHeaderTimeout: 10 * time.Second,
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(l) }()

	fmt.Fprintf(stdout, "hookflow api is running\n")
	fmt.Fprintf(stdout, "  API             http://%s\n", l.Addr())
	fmt.Fprintf(stdout, "  Temporal        %s (namespace %s, task queue %s%s)\n", o.temporal.address, o.temporal.namespace, o.temporal.taskQueue, transportNote(o.temporal))
	fmt.Fprintf(stdout, "  Store           %s\n", redactURL(o.databaseURL))
	fmt.Fprintf(stdout, "  Health          http://%s/readyz, /livez\n", l.Addr())
	fmt.Fprintf(stdout, "  Encryption      %s\n", encryptionNote(cdc))
	if cdc != nil {
		fmt.Fprintf(stdout, "  Codec endpoint  http://%s%s (Web UI: Settings > Codec Server, or its codec.endpoint)%s\n", l.Addr(), api.CodecPath, corsNote(origins))
	}
	if o.requireKeys {
		fmt.Fprintf(stdout, "  API keys        required (Authorization: Bearer); create the first on this machine: hookflow keys create --name ops --scope manage\n")
	} else {
		fmt.Fprintf(stdout, "  API keys        not required: the API is open to programs on this machine\n")
	}
	fmt.Fprintf(stdout, "SIGTERM or Ctrl-C stops it once the requests in flight finish (at most %s).\n", o.stopTimeout)

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		runErr = fmt.Errorf("API server: %w", err)
	}
	h.stopping.Store(true)
	fmt.Fprintln(stdout, "hookflow api: stopping")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), o.stopTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && runErr == nil {
		logger.Warn("requests still running at --stop-timeout were cut off", "error", err.Error())
	}
	return runErr
}
