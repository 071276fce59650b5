package app

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hookflow/hookflow/devserver"
	"github.com/hookflow/hookflow/workflows"
)

// ServerConfig is `hookflow server`: the embedded Temporal server and its Web UI alone, for
// api and worker processes.
type ServerConfig struct {
	DataDir string // the SQLite database and the server's log
	// TemporalDatabaseURL keeps Temporal's state in PostgreSQL instead of SQLite.
	TemporalDatabaseURL string
	IP                  string // the frontend's and the Web UI's
	TemporalPort        int
	UIPort              int // 0 runs no UI
	Namespace           string
	// Retention is how long closed workflows are kept; an existing namespace is updated
	// to it.
	Retention time.Duration
	// CodecEndpoint is hookflow api's codec endpoint, for the Web UI to show encrypted
	// payloads.
	CodecEndpoint string
	// MetricsListen is the listen address of /metrics; empty for none.
	MetricsListen string
	// LogFormat (json when empty, or text) and LogLevel (info when empty) are those of
	// hookflow's own log: the access log of the metrics listener. The Temporal server logs
	// to temporal.log in DataDir.
	LogFormat, LogLevel string
}

// MinRetention is the shortest namespace retention Temporal takes (its
// system.namespaceMinRetentionLocal).
const MinRetention = time.Hour

// checkRetention refuses a namespace retention Temporal would refuse.
func checkRetention(d time.Duration) error {
	if d < MinRetention {
		return fmt.Errorf("--retention %s: Temporal keeps closed workflows at least %s", d, MinRetention)
	}
	return nil
}

// retentionNote is the banner's row on the namespace's retention.
func retentionNote(d time.Duration) string {
	return fmt.Sprintf("closed workflows are kept %s (--retention): deliveries, recover and duplicate events reach back that far", formatDays(d))
}

// RunServer runs `hookflow server` until ctx ends.
func RunServer(ctx context.Context, cfg ServerConfig, stdout, stderr io.Writer) error {
	logFormat := cfg.LogFormat
	if logFormat == "" {
		logFormat = "json"
	}
	level, err := ParseLogLevel(cfg.LogLevel)
	if err != nil {
		return err
	}
	logger, err := NewLogger(logFormat, stderr, level)
	if err != nil {
		return err
	}
	if cfg.TemporalPort <= 0 || cfg.TemporalPort > 65535 {
		return fmt.Errorf("--temporal-port %d: not a port", cfg.TemporalPort)
	}
	if cfg.UIPort < 0 || cfg.UIPort > 65535 {
		return fmt.Errorf("--ui-port %d: not a port", cfg.UIPort)
	}
	if err := checkRetention(cfg.Retention); err != nil {
		return err
	}
	if net.ParseIP(cfg.IP) == nil {
		return fmt.Errorf("--ip %q: want an IP address such as 127.0.0.1 or 0.0.0.0", cfg.IP)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("--data-dir %s: %w", cfg.DataDir, err)
	}
	opts := devserver.Options{
		PostgresURL:      cfg.TemporalDatabaseURL,
		LogFile:          filepath.Join(cfg.DataDir, "temporal.log"),
		IP:               cfg.IP,
		FrontendPort:     cfg.TemporalPort,
		UIPort:           cfg.UIPort,
		Namespace:        cfg.Namespace,
		Retention:        cfg.Retention,
		SearchAttributes: workflows.SearchAttributes,
		CodecEndpoint:    strings.TrimRight(cfg.CodecEndpoint, "/"),
	}
	if cfg.CodecEndpoint != "" {
		if u, err := url.Parse(cfg.CodecEndpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--codec-endpoint %q: want the URL of hookflow api's /codec, such as http://127.0.0.1:7280/codec", cfg.CodecEndpoint)
		}
	}
	persistence := ""
	if cfg.TemporalDatabaseURL != "" {
		history, visibility, err := devserver.PostgresDatabases(cfg.TemporalDatabaseURL)
		if err != nil {
			return fmt.Errorf("--temporal-database-url: %w", err)
		}
		persistence = fmt.Sprintf("PostgreSQL %s (databases %s and %s)", RedactURL(cfg.TemporalDatabaseURL), history, visibility)
	} else {
		opts.DatabaseFile = filepath.Join(cfg.DataDir, "temporal.db")
		persistence = "SQLite " + opts.DatabaseFile
	}

	p := newProcess("server", stdout)
	p.logger = logger
	defer p.close()
	if opts.DatabaseFile != "" {
		// Two servers on one SQLite file would corrupt each other's state; PostgreSQL
		// takes several servers (a cluster) and needs no lock.
		release, err := lockDataDir(cfg.DataDir, "server")
		if err != nil {
			return err
		}
		p.onClose(release)
	}
	ml, err := p.listenMetrics(cfg.MetricsListen)
	if err != nil {
		return err
	}
	opts.Metrics = ml != nil
	srv, err := devserver.Start(ctx, opts)
	if err != nil {
		return err
	}
	p.onClose(srv.Stop)
	if g := srv.Metrics(); g != nil {
		p.onClose(Metrics.AddGatherer(g))
	}
	metricsURL, metricsRow := p.serveMetrics(ml, "the Temporal server's own, Go, process")

	b := &Banner{Title: "hookflow server is running"}
	b.Row("Temporal", "%s (namespace %s)", net.JoinHostPort(cfg.IP, strconv.Itoa(cfg.TemporalPort)), srv.Namespace())
	if ui := srv.UIURL(); ui != "" {
		b.Row("Web UI", "%s/namespaces/%s/workflows", ui, srv.Namespace())
		uiLinkRows(b, ui, srv.Namespace())
		if cfg.CodecEndpoint != "" {
			b.Row("Codec endpoint", "%s (the Web UI decodes payloads through it)", opts.CodecEndpoint)
		}
	} else {
		b.Row("Web UI", "off (--ui-port 0)")
	}
	b.Row("Persistence", "%s", persistence)
	b.Row("Delivery log", "%s", retentionNote(cfg.Retention))
	b.Row("Log", "%s", opts.LogFile)
	b.Row("Metrics", "%s", metricsRow)
	if ip := net.ParseIP(cfg.IP); !ip.IsLoopback() {
		b.Warn("Temporal and its Web UI listen on %s without authentication", cfg.IP)
	}
	b.Notes = []string{
		"Workers and the API connect with --temporal-address " + srv.HostPort() + ".",
		"Ctrl-C or SIGTERM stops it.",
	}
	p.ready(b, Ready{Temporal: srv.HostPort(), Namespace: srv.Namespace(), UI: srv.UIURL(), DataDir: cfg.DataDir, Metrics: metricsURL})
	return p.run(ctx, time.Second, nil)
}
