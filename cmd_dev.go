package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/hookflow/hookflow/activities"
	"github.com/hookflow/hookflow/api"
	"github.com/hookflow/hookflow/codec"
	"github.com/hookflow/hookflow/devserver"
	"github.com/hookflow/hookflow/starter"
	"github.com/hookflow/hookflow/store"
	"github.com/hookflow/hookflow/worker"
	"github.com/hookflow/hookflow/workflows"
)

// defaultAPIAddr is where `hookflow dev` serves the API unless told otherwise.
const defaultAPIAddr = "127.0.0.1:7280"

type devOptions struct {
	dataDir      string
	temporalPort int
	uiPort       int
	httpAddr     string
	allowTargets []string
	databaseURL  string
	temporalDB   string
	smtpURL      string
	smtpFrom     string
	requireKeys  bool
	encryption   keyList
}

func newDevCommand() *cobra.Command {
	var o devOptions
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run everything in one process: Temporal (SQLite), the Web UI, a worker and the API",
		Long: `Run everything in one process: an embedded Temporal server persisted in SQLite under
--data-dir, the Temporal Web UI, a worker and the hookflow HTTP API. Deliveries that were still
retrying when it stopped resume when it starts again on the same data dir.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Read here rather than as the flag's default, so that --help never shows a key.
			if v := os.Getenv(envName("encryption-key")); v != "" && !cmd.Flags().Changed("encryption-key") {
				_ = o.encryption.Replace(strings.Split(v, ","))
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runDev(ctx, o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.dataDir, "data-dir", defaultDataDir(), "where Temporal's and hookflow's state is kept")
	f.IntVar(&o.temporalPort, "temporal-port", 7233, "Temporal frontend (gRPC) port")
	f.IntVar(&o.uiPort, "ui-port", 8233, "Temporal Web UI port; 0 runs no UI")
	f.StringVar(&o.httpAddr, "http", defaultAPIAddr, "listen address of the hookflow API")
	f.StringVar(&o.databaseURL, "database-url", os.Getenv("HOOKFLOW_DATABASE_URL"),
		"hookflow's own store: postgres://... or a SQLite file (default hookflow.db in --data-dir; env HOOKFLOW_DATABASE_URL)")
	f.StringVar(&o.temporalDB, "temporal-database-url", os.Getenv("HOOKFLOW_TEMPORAL_DATABASE_URL"),
		"keep Temporal's state in PostgreSQL (postgres://...) instead of SQLite under --data-dir, as hookflow server does")
	f.StringVar(&o.smtpURL, "smtp-url", os.Getenv("HOOKFLOW_SMTP_URL"), "SMTP server for failure e-mails: smtp://user:pass@host:587 (STARTTLS when offered) or smtps://... (env HOOKFLOW_SMTP_URL)")
	f.StringVar(&o.smtpFrom, "smtp-from", envOr("HOOKFLOW_SMTP_FROM", "hookflow@localhost"), "sender address of failure e-mails (env HOOKFLOW_SMTP_FROM)")
	f.BoolVar(&o.requireKeys, "require-api-key", false, "require API keys (hookflow keys create) even on loopback; always on when --http is not loopback")
	f.StringArrayVar(&o.allowTargets, "allow-target", nil, "admit webhook targets in this CIDR prefix (repeatable); loopback is admitted in dev")
	o.encryption.register(f)
	f.Lookup("encryption-key").Usage += "; the Web UI decrypts through the API's /codec (env " + envName("encryption-key") + ")"
	return cmd
}

// defaultDataDir is per user: $XDG_DATA_HOME/hookflow, ~/.local/share/hookflow on Linux,
// the user config dir elsewhere.
func defaultDataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "hookflow")
	}
	if home, err := os.UserHomeDir(); err == nil && runtime.GOOS == "linux" {
		return filepath.Join(home, ".local", "share", "hookflow")
	}
	if d, err := os.UserConfigDir(); err == nil {
		return filepath.Join(d, "hookflow")
	}
	return ".hookflow"
}

func runDev(ctx context.Context, o devOptions, stdout, stderr io.Writer) error {
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if o.uiPort < 0 || o.uiPort > 65535 {
		return fmt.Errorf("--ui-port %d: not a port", o.uiPort)
	}
	if o.temporalPort <= 0 || o.temporalPort > 65535 {
		return fmt.Errorf("--temporal-port %d: not a port", o.temporalPort)
	}
	allow, err := activities.ParseAllowList(o.allowTargets)
	if err != nil {
		return err
	}
	// dev is for a receiver on this machine: loopback is admitted, other internal ranges
	// only when asked.
	allow = append(append([]netip.Prefix{}, activities.Loopback...), allow...)
	mailer, err := newMailer(o.smtpURL, o.smtpFrom)
	if err != nil {
		return err
	}
	cdc, err := o.encryption.codec()
	if err != nil {
		return err
	}
	apiHost, apiPort, err := net.SplitHostPort(o.httpAddr)
	if err != nil {
		return fmt.Errorf("--http %q: want host:port such as %s", o.httpAddr, defaultAPIAddr)
	}
	// Check the API's port before the slow start of Temporal.
	apiListener, err := net.Listen("tcp", o.httpAddr)
	if err != nil {
		return fmt.Errorf("--http %s: cannot listen (%v); choose another address with --http", o.httpAddr, errors.Unwrap(err))
	}
	defer apiListener.Close()
	if err := os.MkdirAll(o.dataDir, 0o700); err != nil {
		return fmt.Errorf("--data-dir %s: %w", o.dataDir, err)
	}

	// Open on loopback is for a newcomer on their own machine; anywhere else keys are required.
	requireKeys := o.requireKeys || !api.IsLoopbackListen(o.httpAddr)
	apiURL := "http://" + net.JoinHostPort(apiHost, apiPort)
	// With a key, the Web UI decrypts payloads through the API's codec endpoint, which it
	// can call only while the API is open: it sends no hookflow API key.
	codecEndpoint := ""
	if cdc != nil && !requireKeys {
		codecEndpoint = apiURL + api.CodecPath
	}

	temporalFile := filepath.Join(o.dataDir, "temporal.db")
	if o.temporalDB != "" {
		temporalFile = ""
	}
	srv, err := devserver.Start(ctx, devserver.Options{
		DatabaseFile:     temporalFile,
		PostgresURL:      o.temporalDB,
		LogFile:          filepath.Join(o.dataDir, "temporal.log"),
		FrontendPort:     o.temporalPort,
		UIPort:           o.uiPort,
		Namespace:        "default",
		SearchAttributes: workflows.SearchAttributes,
		CodecEndpoint:    codecEndpoint,
	})
	if err != nil {
		return err
	}
	defer srv.Stop()

	dbURL := o.databaseURL
	if dbURL == "" {
		dbURL = filepath.Join(o.dataDir, "hookflow.db")
	}
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		return fmt.Errorf("--database-url: %w", err)
	}
	defer st.Close()
	proj, err := st.Project(ctx)
	if err != nil {
		return fmt.Errorf("read project settings: %w", err)
	}

	sdkLogger := slog.New(quietAttempts{slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})})
	c, err := client.DialContext(ctx, client.Options{
		HostPort:  srv.HostPort(),
		Namespace: srv.Namespace(),
		Logger:    sdklog.NewStructuredLogger(sdkLogger),
		// Keeps the user's JSON byte for byte on its way through history, encrypted with
		// --encryption-key.
		DataConverter: codec.DataConverterFor(cdc),
		// Failure details hold an attempt's answer and request: encrypted too.
		FailureConverter: codec.FailureConverterFor(cdc),
		MetricsHandler:   processMetrics.SDKHandler(),
	})
	if err != nil {
		return fmt.Errorf("connect to Temporal: %w", err)
	}
	defer c.Close()

	uiURL := srv.UIURL()
	acts := newActivities(st, allow, mailer, logger, uiURL, srv.Namespace())
	acts.Deliveries = &starter.Starter{Client: c, TaskQueue: workflows.TaskQueue}
	w := worker.New(c, workflows.TaskQueue, acts, worker.Options())
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	defer w.Stop()

	// The same handler as `hookflow api`: the API, with /livez, /readyz and /metrics, and
	// /codec with a key.
	handler := newHealth(c, srv.Namespace(), st).handler(newAPIHandler(st, c, workflows.TaskQueue, logger, requireKeys, cdc, uiOrigins(uiURL)))
	apiServer := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- apiServer.Serve(apiListener) }()

	fmt.Fprintf(stdout, "hookflow dev is running\n")
	fmt.Fprintf(stdout, "  API             %s\n", apiURL)
	fmt.Fprintf(stdout, "  Temporal        %s (namespace %s, task queue %s)\n", srv.HostPort(), srv.Namespace(), workflows.TaskQueue)
	if uiURL != "" {
		fmt.Fprintf(stdout, "  Web UI          %s/namespaces/%s/workflows\n", uiURL, srv.Namespace())
	} else {
		fmt.Fprintf(stdout, "  Web UI          off (--ui-port 0)\n")
	}
	fmt.Fprintf(stdout, "  Data dir        %s\n", o.dataDir)
	if o.temporalDB != "" {
		fmt.Fprintf(stdout, "  Temporal state  %s\n", redactURL(o.temporalDB))
	}
	fmt.Fprintf(stdout, "  Store           %s\n", redactURL(dbURL))
	fmt.Fprintf(stdout, "  Project id      %s\n", proj.ID)
	fmt.Fprintf(stdout, "  Signing secret  %s\n", proj.Secret)
	if o.smtpURL != "" {
		fmt.Fprintf(stdout, "  E-mail          %s, from %s\n", redactURL(o.smtpURL), o.smtpFrom)
	} else {
		fmt.Fprintf(stdout, "  E-mail          off (--smtp-url); failures are in-app and logged\n")
	}
	fmt.Fprintf(stdout, "  Encryption      %s\n", encryptionNote(cdc))
	switch {
	case cdc == nil:
	case requireKeys:
		fmt.Fprintf(stdout, "  Codec endpoint  %s%s (needs a manage API key, which the Web UI cannot send: it shows payloads encrypted)\n", apiURL, api.CodecPath)
	case uiURL == "":
		fmt.Fprintf(stdout, "  Codec endpoint  %s (temporal workflow show --codec-endpoint)\n", codecEndpoint)
	default:
		fmt.Fprintf(stdout, "  Codec endpoint  %s (the Web UI decrypts through it)\n", codecEndpoint)
	}
	fmt.Fprintf(stdout, "  Targets         public addresses and %s (--allow-target adds more)\n", prefixList(allow))
	if !requireKeys {
		fmt.Fprintf(stdout, "  API keys        not required: the API is open to programs on this machine (--require-api-key)\n")
	} else if keys, err := st.ListAPIKeys(ctx); err == nil && len(keys) == 0 {
		fmt.Fprintf(stdout, "  API keys        required; create the first on this machine: hookflow keys create --name ops --scope manage\n")
	} else {
		fmt.Fprintf(stdout, "  API keys        required (Authorization: Bearer; HOOKFLOW_API_KEY for the CLI)\n")
	}
	fmt.Fprintf(stdout, "Ctrl-C stops it; deliveries still retrying resume at the next start.\n")

	select {
	case <-ctx.Done():
	case err := <-serveErr:
		return fmt.Errorf("API server: %w", err)
	}
	fmt.Fprintln(stdout, "hookflow dev: stopping")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = apiServer.Shutdown(shutdownCtx)
	return nil
}

// quietAttempts drops the SDK's "Activity error." lines for Post: a failed attempt is an
// expected outcome that the activity logs itself, not an error of hookflow's.
type quietAttempts struct{ slog.Handler }

func (h quietAttempts) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "Activity error." {
		post := false
		r.Attrs(func(a slog.Attr) bool {
			post = a.Key == "ActivityType" && a.Value.String() == workflows.ActivityPost
			return !post
		})
		if post {
			return nil
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h quietAttempts) WithAttrs(attrs []slog.Attr) slog.Handler {
	return quietAttempts{h.Handler.WithAttrs(attrs)}
}

func (h quietAttempts) WithGroup(name string) slog.Handler {
	return quietAttempts{h.Handler.WithGroup(name)}
}

func prefixList(ps []netip.Prefix) string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return strings.Join(out, ", ")
}

var dsnPassword = regexp.MustCompile(`(password=)('[^']*'|\S*)`)

// redactURL hides a password in a database URL or key=value DSN before it is printed.
func redactURL(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		return u.Redacted()
	}
	return dsnPassword.ReplaceAllString(raw, "${1}xxxxx")
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}
