package app

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/hookflow/hookflow/activities"
	"github.com/hookflow/hookflow/api"
	"github.com/hookflow/hookflow/devserver"
	"github.com/hookflow/hookflow/store"
	"github.com/hookflow/hookflow/workflows"
)

// DevConfig is `hookflow dev`: everything in one process.
type DevConfig struct {
	DataDir      string // Temporal's and hookflow's state
	TemporalPort int    // the embedded frontend's
	UIPort       int    // the Web UI's; 0 runs no UI
	HTTP         string // the API's listen address
	// MetricsListen is the listen address of /metrics (DefaultDevMetricsAddr: a free
	// loopback port, shown in the banner); empty for none.
	MetricsListen string
	// AllowTargets admit webhook targets in these CIDR prefixes; loopback is always
	// admitted in dev.
	AllowTargets []string
	// DatabaseURL is hookflow's own store; hookflow.db in DataDir when empty.
	DatabaseURL string
	// TemporalDatabaseURL keeps Temporal's state in PostgreSQL instead of SQLite.
	TemporalDatabaseURL string
	SMTPURL, SMTPFrom   string
	// SMTPHelo is the name given in EHLO; empty is this machine's host name.
	SMTPHelo string
	// RequireAPIKey requires keys even on loopback; always on when HTTP is not loopback.
	RequireAPIKey  bool
	EncryptionKeys []string
	// Retention is how long Temporal keeps closed workflows (the delivery log, recover and
	// the duplicate-event check read them); an existing namespace is updated to it.
	Retention time.Duration
	// StoreRetention is how long the store's per-event history is kept; 0 keeps it for
	// ever.
	StoreRetention time.Duration
	// LogFormat is text (when empty) or json; LogLevel debug, info (when empty), warn or
	// error. The access log of the API and metrics listeners is at info.
	LogFormat, LogLevel string
}

// DefaultDataDir is per user: $XDG_DATA_HOME/hookflow, ~/.local/share/hookflow on Linux,
// the user config dir elsewhere.
func DefaultDataDir() string {
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

// RunDev runs `hookflow dev` until ctx ends: an embedded Temporal server persisted under
// DataDir, the Web UI, a worker and the API, all on one client.
func RunDev(ctx context.Context, cfg DevConfig, stdout, stderr io.Writer) error {
	logFormat := cfg.LogFormat
	if logFormat == "" {
		logFormat = "text"
	}
	level, err := ParseLogLevel(cfg.LogLevel)
	if err != nil {
		return err
	}
	logger, err := NewLogger(logFormat, stderr, level)
	if err != nil {
		return err
	}
	if cfg.UIPort < 0 || cfg.UIPort > 65535 {
		return fmt.Errorf("--ui-port %d: not a port", cfg.UIPort)
	}
	if cfg.TemporalPort <= 0 || cfg.TemporalPort > 65535 {
		return fmt.Errorf("--temporal-port %d: not a port", cfg.TemporalPort)
	}
	if err := checkRetention(cfg.Retention); err != nil {
		return err
	}
	if err := checkStoreRetention(cfg.StoreRetention); err != nil {
		return err
	}
	allow, err := activities.ParseAllowList(cfg.AllowTargets)
	if err != nil {
		return err
	}
	// dev is for a receiver on this machine: loopback is admitted, other internal ranges
	// only when asked.
	allow = append(append([]netip.Prefix{}, activities.Loopback...), allow...)
	mailer, err := newMailer(cfg.SMTPURL, cfg.SMTPFrom, cfg.SMTPHelo)
	if err != nil {
		return err
	}
	temporal := TemporalConfig{EncryptionKeys: cfg.EncryptionKeys}
	cdc, err := temporal.Codec()
	if err != nil {
		return err
	}
	apiHost, apiPort, err := net.SplitHostPort(cfg.HTTP)
	if err != nil {
		return fmt.Errorf("--http %q: want host:port such as %s", cfg.HTTP, DefaultAPIAddr)
	}

	p := newProcess("dev", stdout)
	p.logger = logger
	defer p.close()
	traces, err := p.startTracing(ctx, os.Getenv, logger)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("--data-dir %s: %w", cfg.DataDir, err)
	}
	// A second dev on this data dir would run a second Temporal server on its SQLite file.
	release, err := lockDataDir(cfg.DataDir, "dev")
	if err != nil {
		return err
	}
	p.onClose(release)
	// Check the API's port before the slow start of Temporal.
	apiListener, err := p.listen("--http", cfg.HTTP)
	if err != nil {
		return err
	}
	ml, err := p.listenMetrics(cfg.MetricsListen)
	if err != nil {
		return err
	}

	// Open on loopback is for a newcomer on their own machine; anywhere else keys are required.
	requireKeys := cfg.RequireAPIKey || !api.IsLoopbackListen(cfg.HTTP)
	apiURL := "http://" + net.JoinHostPort(apiHost, apiPort)
	// With a key, the Web UI decrypts payloads through a codec on its own port, which only
	// its own pages may call and which needs no key from the browser: the UI cannot send
	// one, and the API may require keys. Programs use the API's /codec, with a key when
	// keys are required.
	var uiCodec http.Handler
	if cdc != nil && cfg.UIPort != 0 {
		// The UI listens on loopback (devserver's default IP); the front checks the Origin
		// first, the handler checks it again.
		uiOrigins := UIOrigins("http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.UIPort)))
		codecForUI := (&api.Server{Logger: logger}).CodecHandler(cdc, uiOrigins)
		uiCodec = http.StripPrefix(strings.TrimSuffix(devserver.UICodecPath, api.CodecPath), codecForUI)
	}

	temporalFile := filepath.Join(cfg.DataDir, "temporal.db")
	if cfg.TemporalDatabaseURL != "" {
		temporalFile = ""
	}
	srv, err := devserver.Start(ctx, devserver.Options{
		DatabaseFile:     temporalFile,
		PostgresURL:      cfg.TemporalDatabaseURL,
		LogFile:          filepath.Join(cfg.DataDir, "temporal.log"),
		FrontendPort:     cfg.TemporalPort,
		UIPort:           cfg.UIPort,
		Namespace:        "default",
		Retention:        cfg.Retention,
		SearchAttributes: workflows.SearchAttributes,
		Codec:            uiCodec,
		Metrics:          ml != nil,
	})
	if err != nil {
		return err
	}
	p.onClose(srv.Stop)
	if g := srv.Metrics(); g != nil {
		p.onClose(Metrics.AddGatherer(g))
	}

	dbURL := cfg.DatabaseURL
	if dbURL == "" {
		dbURL = filepath.Join(cfg.DataDir, "hookflow.db")
	}
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		return fmt.Errorf("--database-url: %w", err)
	}
	p.onClose(func() { st.Close() })
	proj, err := st.Project(ctx)
	if err != nil {
		return fmt.Errorf("read project settings: %w", err)
	}

	temporal.Address, temporal.Namespace = srv.HostPort(), srv.Namespace()
	c, err := temporal.Dial(ctx, nil, NewSDKLogger(logFormat, stderr))
	if err != nil {
		return err
	}
	p.onClose(c.Close)

	uiURL := srv.UIURL()
	w := NewWorker(WorkerSetup{Client: c, TaskQueue: workflows.TaskQueue, Namespace: srv.Namespace(), Store: st,
		Allow: allow, Mailer: mailer, Logger: logger, UIURL: uiURL})
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	p.onClose(w.Stop)
	p.startStorePruner(ctx, st, cfg.StoreRetention, StorePruneInterval, logger)

	// The same handler as `hookflow api`: the API, with /livez and /readyz, and /codec with
	// a key; /metrics on a listener of its own.
	p.health = newHealth(c, srv.Namespace(), st)
	emailConfigured := mailer != nil
	p.serve("API server", apiListener, p.health.handler(newAPIHandler(st, c, workflows.TaskQueue, logger, requireKeys, cdc, UIOrigins(uiURL), &emailConfigured)))
	metricsURL, metricsRow := p.serveMetrics(ml, "hookflow, the Temporal SDK, the embedded Temporal server, Go, process")

	b := &Banner{Title: "hookflow dev is running"}
	b.Row("API", "%s", apiURL)
	b.Row("Temporal", "%s (namespace %s, task queue %s)", srv.HostPort(), srv.Namespace(), workflows.TaskQueue)
	if uiURL != "" {
		b.Row("Web UI", "%s/namespaces/%s/workflows", uiURL, srv.Namespace())
		uiLinkRows(b, uiURL, srv.Namespace())
	} else {
		b.Row("Web UI", "off (--ui-port 0)")
	}
	b.Row("Metrics", "%s", metricsRow)
	if row := traces.tracingRow(); row != "" {
		b.Row("Tracing", "%s", row)
	}
	b.Row("Data dir", "%s", cfg.DataDir)
	b.Row("Delivery log", "%s", retentionNote(cfg.Retention))
	if cfg.TemporalDatabaseURL != "" {
		b.Row("Temporal state", "%s", RedactURL(cfg.TemporalDatabaseURL))
	}
	b.Row("Store", "%s", RedactURL(dbURL))
	b.Row("History", "%s", storeRetentionNote(cfg.StoreRetention))
	b.Row("Project id", "%s", proj.ID)
	b.Row("Signing secret", "%s", proj.Secret)
	if cfg.SMTPURL != "" {
		b.Row("E-mail", "%s, from %s, EHLO %s", RedactURL(cfg.SMTPURL), cfg.SMTPFrom, mailer.Helo())
	} else {
		b.Row("E-mail", "off (--smtp-url); failures are in-app and logged")
	}
	b.Row("Encryption", "%s", encryptionNote(cdc))
	switch {
	case cdc == nil:
	case requireKeys:
		b.Row("Codec endpoint", "%s%s (with an API key of the codec or manage scope: temporal workflow show --codec-endpoint)", apiURL, api.CodecPath)
	default:
		b.Row("Codec endpoint", "%s%s (temporal workflow show --codec-endpoint)", apiURL, api.CodecPath)
	}
	if cdc != nil && uiURL != "" {
		b.Row("Web UI codec", "%s%s (the Web UI decrypts through it; its own pages only, no key)", uiURL, devserver.UICodecPath)
	}
	b.Row("Targets", "public addresses and %s (--allow-target adds more)", prefixList(allow))
	if !requireKeys {
		b.Row("API keys", "not required: the API is open to programs on this machine (--require-api-key)")
	} else if keys, err := st.ListAPIKeys(ctx); err == nil && len(keys) == 0 {
		b.Row("API keys", "required; create the first on this machine: %s", keysCreateHint(apiListener.Addr().String()))
	} else {
		b.Row("API keys", "required (Authorization: Bearer; HOOKFLOW_API_KEY for the CLI)")
	}
	b.Notes = []string{"Ctrl-C stops it; deliveries still retrying resume at the next start."}
	p.ready(b, Ready{API: apiURL, Temporal: srv.HostPort(), Namespace: srv.Namespace(), TaskQueue: workflows.TaskQueue,
		UI: uiURL, DataDir: cfg.DataDir, ProjectID: proj.ID, Metrics: metricsURL})
	return p.run(ctx, 10*time.Second, nil)
}
