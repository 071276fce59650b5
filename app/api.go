package app

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/hookflow/hookflow/api"
)

// APIConfig is `hookflow api`: the HTTP API against a Temporal cluster and the store.
type APIConfig struct {
	Temporal    TemporalConfig
	DatabaseURL string // hookflow's store (required)
	HTTP        string // the listen address of the API, /livez and /readyz
	// MetricsListen is the listen address of /metrics, apart from the API's; empty for none.
	MetricsListen string
	StopTimeout   time.Duration // how long requests in flight may take to finish on a stop
	LogFormat     string        // json or text
	LogLevel      string        // debug, info (when empty), warn or error
	// RequireAPIKey requires API keys; false is allowed only on a loopback HTTP.
	RequireAPIKey bool
	// UIURL is the Temporal Web UI's base URL: with encryption keys, its origin may call
	// the codec endpoint from the browser.
	UIURL string
}

// RunAPI runs `hookflow api` until ctx ends, then lets the requests in flight finish.
func RunAPI(ctx context.Context, cfg APIConfig, stdout, stderr io.Writer) error {
	logger, err := serviceLogger(cfg.LogFormat, cfg.LogLevel, cfg.DatabaseURL, stderr)
	if err != nil {
		return err
	}
	if _, _, err := net.SplitHostPort(cfg.HTTP); err != nil {
		return fmt.Errorf("--http %q: want host:port such as %s", cfg.HTTP, DefaultAPIAddr)
	}
	if !cfg.RequireAPIKey && !api.IsLoopbackListen(cfg.HTTP) {
		return fmt.Errorf("--require-api-key=false with --http %s: an open API only on loopback", cfg.HTTP)
	}
	t := cfg.Temporal.withDefaults()
	cdc, err := t.Codec()
	if err != nil {
		return err
	}
	origins := UIOrigins(cfg.UIURL)
	if cfg.UIURL != "" && origins == nil {
		return fmt.Errorf("--ui-url %q: want the Web UI's base URL, such as https://temporal.example.com", cfg.UIURL)
	}

	p := newProcess("api", stdout)
	p.logger = logger
	defer p.close()
	traces, err := p.startTracing(ctx, os.Getenv, logger)
	if err != nil {
		return err
	}
	// Listen before connecting anywhere, so that a taken port is the first error.
	l, err := p.listen("--http", cfg.HTTP)
	if err != nil {
		return err
	}
	ml, err := p.listenMetrics(cfg.MetricsListen)
	if err != nil {
		return err
	}
	st, c, err := p.connect(ctx, cfg.DatabaseURL, t, logger, cfg.LogFormat, stderr)
	if err != nil {
		return err
	}
	p.health = newHealth(c, t.Namespace, st)
	p.serve("API server", l, p.health.handler(newAPIHandler(st, c, t.TaskQueue, logger, cfg.RequireAPIKey, cdc, origins, nil)))
	metricsURL, metricsRow := p.serveMetrics(ml, "hookflow, the Temporal SDK, Go, process")

	b := &Banner{Title: "hookflow api is running"}
	b.Row("API", "http://%s", l.Addr())
	b.Row("Temporal", "%s (namespace %s, task queue %s%s)", t.Address, t.Namespace, t.TaskQueue, t.transportNote())
	b.Row("Store", "%s", RedactURL(cfg.DatabaseURL))
	b.Row("Health", "http://%s/readyz, /livez", l.Addr())
	b.Row("Metrics", "%s", metricsRow)
	if row := traces.tracingRow(); row != "" {
		b.Row("Tracing", "%s", row)
	}
	b.Row("Encryption", "%s", encryptionNote(cdc))
	if cdc != nil {
		b.Row("Codec endpoint", "http://%s%s (Web UI: Settings > Codec Server, or its codec.endpoint)%s", l.Addr(), api.CodecPath, corsNote(origins))
	}
	if cfg.RequireAPIKey {
		b.Row("API keys", "required (Authorization: Bearer); create the first on this machine: %s", keysCreateHint(l.Addr().String()))
	} else {
		b.Row("API keys", "not required: the API is open to programs on this machine")
	}
	b.Notes = []string{fmt.Sprintf("SIGTERM or Ctrl-C stops it once the requests in flight finish (at most %s).", cfg.StopTimeout)}
	p.ready(b, Ready{API: "http://" + l.Addr().String(), Temporal: t.Address, Namespace: t.Namespace, TaskQueue: t.TaskQueue, Metrics: metricsURL})
	return p.run(ctx, cfg.StopTimeout, nil)
}

// keysCreateHint is the command that creates the first API key on the machine of an API
// listening on listen (host:port): with --api, unless the CLI's default reaches it.
func keysCreateHint(listen string) string {
	const hint = "hookflow keys create --name ops --scope manage"
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return hint
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1" // listening on every address: this machine's is the one to use
	}
	if addr := net.JoinHostPort(host, port); addr != DefaultAPIAddr {
		return hint + " --api http://" + addr
	}
	return hint
}
