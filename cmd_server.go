package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/devserver"
	"github.com/hookflow/hookflow/workflows"
)

type serverOptions struct {
	dataDir      string
	databaseURL  string
	ip           string
	temporalPort int
	uiPort       int
	namespace    string
	retention    time.Duration
	codec        string
}

func newServerCommand() *cobra.Command {
	var o serverOptions
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
		Args:    cobra.NoArgs,
		PreRunE: applyConfig,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runServer(ctx, o, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.dataDir, "data-dir", defaultDataDir(), "where the SQLite database and the server's log are kept")
	f.StringVar(&o.databaseURL, "temporal-database-url", "", "keep Temporal's state in PostgreSQL: postgres://user:password@host:5432/temporal?sslmode=disable")
	f.StringVar(&o.ip, "ip", "127.0.0.1", "address the Temporal frontend and the Web UI listen on (0.0.0.0 for all)")
	f.IntVar(&o.temporalPort, "temporal-port", 7233, "Temporal frontend (gRPC) port")
	f.IntVar(&o.uiPort, "ui-port", 8233, "Temporal Web UI port; 0 runs no UI")
	f.StringVar(&o.namespace, "namespace", "default", "namespace to create, with hookflow's search attributes")
	f.DurationVar(&o.retention, "retention", 24*time.Hour, "how long closed workflows (the delivery log) are kept, for a new namespace")
	f.StringVar(&o.codec, "codec-endpoint", "", "hookflow api's codec endpoint, such as http://127.0.0.1:7280/codec, for the Web UI to show payloads encrypted with --encryption-key (the api needs --ui-url of this UI)")
	addConfigFlags(cmd)
	return cmd
}

func runServer(ctx context.Context, o serverOptions, stdout io.Writer) error {
	if o.temporalPort <= 0 || o.temporalPort > 65535 {
		return fmt.Errorf("--temporal-port %d: not a port", o.temporalPort)
	}
	if o.uiPort < 0 || o.uiPort > 65535 {
		return fmt.Errorf("--ui-port %d: not a port", o.uiPort)
	}
	if net.ParseIP(o.ip) == nil {
		return fmt.Errorf("--ip %q: want an IP address such as 127.0.0.1 or 0.0.0.0", o.ip)
	}
	if err := os.MkdirAll(o.dataDir, 0o700); err != nil {
		return fmt.Errorf("--data-dir %s: %w", o.dataDir, err)
	}
	opts := devserver.Options{
		PostgresURL:      o.databaseURL,
		LogFile:          filepath.Join(o.dataDir, "temporal.log"),
		IP:               o.ip,
		FrontendPort:     o.temporalPort,
		UIPort:           o.uiPort,
		Namespace:        o.namespace,
		Retention:        o.retention,
		SearchAttributes: workflows.SearchAttributes,
		CodecEndpoint:    strings.TrimRight(o.codec, "/"),
	}
	if o.codec != "" {
		if u, err := url.Parse(o.codec); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--codec-endpoint %q: want the URL of hookflow api's /codec, such as http://127.0.0.1:7280/codec", o.codec)
		}
	}
	persistence := ""
	if o.databaseURL != "" {
		history, visibility, err := devserver.PostgresDatabases(o.databaseURL)
		if err != nil {
			return fmt.Errorf("--temporal-database-url: %w", err)
		}
		persistence = fmt.Sprintf("PostgreSQL %s (databases %s and %s)", redactURL(o.databaseURL), history, visibility)
	} else {
		opts.DatabaseFile = filepath.Join(o.dataDir, "temporal.db")
		persistence = "SQLite " + opts.DatabaseFile
	}
	srv, err := devserver.Start(ctx, opts)
	if err != nil {
		return err
	}
	defer srv.Stop()

	fmt.Fprintf(stdout, "hookflow server is running\n")
	fmt.Fprintf(stdout, "  Temporal        %s (namespace %s)\n", net.JoinHostPort(o.ip, strconv.Itoa(o.temporalPort)), srv.Namespace())
	if ui := srv.UIURL(); ui != "" {
		fmt.Fprintf(stdout, "  Web UI          %s/namespaces/%s/workflows\n", ui, srv.Namespace())
	} else {
		fmt.Fprintf(stdout, "  Web UI          off (--ui-port 0)\n")
	}
	if ui := srv.UIURL(); ui != "" && o.codec != "" {
		fmt.Fprintf(stdout, "  Codec endpoint  %s (the Web UI decodes payloads through it)\n", opts.CodecEndpoint)
	}
	fmt.Fprintf(stdout, "  Persistence     %s\n", persistence)
	fmt.Fprintf(stdout, "  Log             %s\n", opts.LogFile)
	if ip := net.ParseIP(o.ip); !ip.IsLoopback() {
		fmt.Fprintf(stdout, "  WARNING: Temporal and its Web UI listen on %s without authentication\n", o.ip)
	}
	fmt.Fprintf(stdout, "Workers and the API connect with --temporal-address %s.\n", srv.HostPort())
	fmt.Fprintf(stdout, "Ctrl-C or SIGTERM stops it.\n")
	<-ctx.Done()
	fmt.Fprintln(stdout, "hookflow server: stopping")
	return nil
}
