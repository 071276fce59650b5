package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/pflag"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/hookflow/hookflow/activities"
	"github.com/hookflow/hookflow/api"
	"github.com/hookflow/hookflow/codec"
	"github.com/hookflow/hookflow/deliverylog"
	"github.com/hookflow/hookflow/metrics"
	"github.com/hookflow/hookflow/starter"
	"github.com/hookflow/hookflow/store"
	"github.com/hookflow/hookflow/workflows"
)

// This file builds what `hookflow worker`, `hookflow api` (and `hookflow dev`) share: the
// Temporal client, the activities, the API handler and the health endpoints.

// defaultTemporalAddress is where a Temporal frontend listens unless told otherwise; it is
// also where `hookflow server` and `hookflow dev` put theirs.
const defaultTemporalAddress = "127.0.0.1:7233"

// temporalFlags say how to reach Temporal: a local server, a self-hosted cluster (with
// mTLS) or Temporal Cloud (mTLS or an API key).
type temporalFlags struct {
	address        string
	namespace      string
	taskQueue      string
	tls            bool
	tlsCA          string
	tlsCert        string
	tlsKey         string
	tlsServerName  string
	apiKey         string
	identity       string
	connectTimeout time.Duration
	encryptionKeys keyList
}

func (o *temporalFlags) register(f *pflag.FlagSet) {
	f.StringVar(&o.address, "temporal-address", defaultTemporalAddress, "Temporal frontend host:port")
	f.StringVar(&o.namespace, "namespace", "default", "Temporal namespace")
	f.StringVar(&o.taskQueue, "task-queue", workflows.TaskQueue, "task queue of the delivery workflows; the worker and the api must agree")
	f.BoolVar(&o.tls, "tls", false, "connect to Temporal with TLS (implied by the other --tls-* flags and --temporal-api-key)")
	f.StringVar(&o.tlsCA, "tls-ca", "", "PEM file of the CA that signed Temporal's certificate (default: the system's roots)")
	f.StringVar(&o.tlsCert, "tls-cert", "", "PEM client certificate for mTLS (with --tls-key)")
	f.StringVar(&o.tlsKey, "tls-key", "", "PEM key of --tls-cert")
	f.StringVar(&o.tlsServerName, "tls-server-name", "", "server name to verify Temporal's certificate against (default: the host of --temporal-address)")
	f.StringVar(&o.apiKey, "temporal-api-key", "", "Temporal Cloud API key; turns TLS on")
	f.StringVar(&o.identity, "identity", "", "this process's identity in Temporal's history (default pid@host)")
	f.DurationVar(&o.connectTimeout, "connect-timeout", time.Minute, "how long to wait at start for Temporal to answer")
	o.encryptionKeys.register(f)
}

// keyList is the value of --encryption-key: id:base64 keys, comma-separated or repeated.
// It never shows its value, not in help nor in an error, and never fails to be set:
// codec.ParseKeys checks it, with errors that name keys only by id.
type keyList struct{ specs []string }

func (k *keyList) register(f *pflag.FlagSet) {
	f.Var(k, "encryption-key", "encrypt payloads in Temporal history with AES-256-GCM: id:base64-of-32-bytes, comma-separated or repeated; "+
		"the first encrypts, all decrypt (make one with: echo \"$(date +%Y%m):$(openssl rand -base64 32)\")")
}

func (k *keyList) String() string {
	if len(k.specs) == 0 {
		return ""
	}
	return "<redacted>"
}

func (k *keyList) Set(v string) error { k.specs = append(k.specs, v); return nil }
func (k *keyList) Type() string       { return "keys" }

// Append, Replace and GetSlice make it a pflag.SliceValue: loadConfig then splits
// HOOKFLOW_ENCRYPTION_KEY at commas and takes a list in the config file.
func (k *keyList) Append(v string) error     { return k.Set(v) }
func (k *keyList) Replace(vs []string) error { k.specs = append([]string(nil), vs...); return nil }
func (k *keyList) GetSlice() []string        { return append([]string(nil), k.specs...) }
func (k *keyList) keys() ([]codec.Key, error) {
	return codec.ParseKeys("--encryption-key", k.specs...)
}

// codec is the payload codec of --encryption-key, nil without a key.
func (k *keyList) codec() (*codec.Codec, error) {
	keys, err := k.keys()
	if err != nil || len(keys) == 0 {
		return nil, err
	}
	return codec.New(keys...)
}

// corsNote tells the banner which Web UI may call the codec endpoint from a browser.
func corsNote(origins []string) string {
	if len(origins) == 0 {
		return "; no browser origin allowed (--ui-url)"
	}
	return "; browsers at " + origins[0]
}

// encryptionNote tells the banner whether payloads are encrypted, by key id only.
func encryptionNote(c *codec.Codec) string {
	if c == nil {
		return "off (--encryption-key): payloads are readable in Temporal history"
	}
	ids := c.KeyIDs()
	note := "AES-256-GCM, key " + ids[0]
	if len(ids) > 1 {
		note += " (also decrypts " + strings.Join(ids[1:], ", ") + ")"
	}
	return note
}

// tlsConfig is nil when no TLS was asked for.
func (o *temporalFlags) tlsConfig() (*tls.Config, error) {
	if !o.tls && o.tlsCA == "" && o.tlsCert == "" && o.tlsKey == "" && o.tlsServerName == "" && o.apiKey == "" {
		return nil, nil
	}
	cfg := &tls.Config{ServerName: o.tlsServerName, MinVersion: tls.VersionTLS12}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return nil, errors.New("--tls-cert and --tls-key go together: give both or neither")
	}
	if o.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
		if err != nil {
			return nil, fmt.Errorf("--tls-cert %s, --tls-key %s: %w", o.tlsCert, o.tlsKey, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if o.tlsCA != "" {
		pem, err := os.ReadFile(o.tlsCA)
		if err != nil {
			return nil, fmt.Errorf("--tls-ca: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--tls-ca %s: no PEM certificate in it", o.tlsCA)
		}
	}
	return cfg, nil
}

// identityOrDefault is --identity, or pid@host as the SDK would choose, which the banner
// can then show.
func (o *temporalFlags) identityOrDefault() string {
	if o.identity != "" {
		return o.identity
	}
	host, _ := os.Hostname()
	return fmt.Sprintf("%d@%s", os.Getpid(), host)
}

// clientOptions are the SDK client's options: codec.DataConverter keeps the user's
// JSON byte for byte through history, so every process must use it, with the codec of
// --encryption-key when one is given.
func (o *temporalFlags) clientOptions(logger *slog.Logger) (client.Options, error) {
	tlsCfg, err := o.tlsConfig()
	if err != nil {
		return client.Options{}, err
	}
	cdc, err := o.encryptionKeys.codec()
	if err != nil {
		return client.Options{}, err
	}
	opts := client.Options{
		HostPort:          o.address,
		Namespace:         o.namespace,
		Identity:          o.identityOrDefault(),
		Logger:            sdklog.NewStructuredLogger(logger),
		DataConverter:     codec.DataConverterFor(cdc),
		FailureConverter:  codec.FailureConverterFor(cdc),
		ConnectionOptions: client.ConnectionOptions{TLS: tlsCfg},
		MetricsHandler:    processMetrics.SDKHandler(),
	}
	if o.apiKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(o.apiKey)
	}
	return opts, nil
}

// dial connects to Temporal, waiting up to --connect-timeout for it to answer, so that a
// worker started beside its server (compose, systemd) does not fail for being first.
// Only an unreachable server is waited for: a refused key or namespace fails at once.
func (o *temporalFlags) dial(ctx context.Context, logger, sdkLogger *slog.Logger) (client.Client, error) {
	opts, err := o.clientOptions(sdkLogger)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(o.connectTimeout)
	delay := 250 * time.Millisecond
	for {
		attempt, cancel := context.WithTimeout(ctx, 10*time.Second)
		c, err := client.DialContext(attempt, opts)
		cancel()
		if err == nil {
			return c, nil
		}
		var unavailable *serviceerror.Unavailable
		var timedOut *serviceerror.DeadlineExceeded
		retry := errors.As(err, &unavailable) || errors.As(err, &timedOut) || errors.Is(err, context.DeadlineExceeded)
		if !retry || ctx.Err() != nil || time.Now().Add(delay).After(deadline) {
			return nil, fmt.Errorf("connect to Temporal at %s (--temporal-address): %w", o.address, err)
		}
		logger.Warn("Temporal does not answer yet; retrying", "address", o.address, "error", err.Error())
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 5*time.Second)
	}
}

// newLogger is the process's structured logger: JSON for log collectors, text for people.
func newLogger(format string, w io.Writer, level slog.Level) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: level}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: use json or text", format)
}

// newSDKLogger is the Temporal SDK's logger: warnings and errors only, without the
// "Activity error." lines of failed attempts, which the Post activity logs itself.
func newSDKLogger(format string, w io.Writer) *slog.Logger {
	l, err := newLogger(format, w, slog.LevelWarn)
	if err != nil {
		l = slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return slog.New(quietAttempts{l.Handler()})
}

// newMailer is nil without an SMTP URL: failures are then notified in-app and logged.
func newMailer(smtpURL, from string) (*activities.Mailer, error) {
	if smtpURL == "" {
		return nil, nil
	}
	return activities.NewMailer(smtpURL, from)
}

// newActivities builds the activities a worker runs. allow admits webhook targets that the
// guard would refuse (internal addresses); uiURL, when set, is the Temporal Web UI's base
// URL, for links to a delivery's workflow in failure notifications.
func newActivities(st store.Store, allow []netip.Prefix, mailer *activities.Mailer, logger *slog.Logger, uiURL, namespace string) *activities.Activities {
	acts := &activities.Activities{
		Store:  st,
		HTTP:   activities.NewHTTPClient(&activities.TargetGuard{Allow: allow}),
		Logger: logger,
		Mailer: mailer,
	}
	if uiURL != "" {
		acts.WorkflowLink = func(id string) string {
			return uiURL + "/namespaces/" + url.PathEscape(namespace) + "/workflows/" + url.PathEscape(id)
		}
	}
	return acts
}

// requireDatabaseURL refuses to run api or worker without a store.
func requireDatabaseURL(databaseURL string) error {
	if databaseURL == "" {
		return errors.New("--database-url is required (env HOOKFLOW_DATABASE_URL): postgres://... or a SQLite file")
	}
	return nil
}

// connect opens the store at databaseURL and dials Temporal, what api and worker stand on;
// closeAll closes both.
func connect(ctx context.Context, databaseURL string, t *temporalFlags, logger *slog.Logger, logFormat string, stderr io.Writer) (st store.Store, c client.Client, closeAll func(), err error) {
	st, err = store.Open(ctx, databaseURL)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("--database-url: %w", err)
	}
	c, err = t.dial(ctx, logger, newSDKLogger(logFormat, stderr))
	if err != nil {
		st.Close()
		return nil, nil, nil, err
	}
	return st, c, func() { c.Close(); st.Close() }, nil
}

// newAPIHandler is the hookflow HTTP API on st, starting workflows through c on taskQueue.
// With a codec (--encryption-key), it also serves the codec endpoint at /codec/ for the
// Web UI at uiOrigins, outside the API's refusal of browsers; the delivery log decodes
// history with the codec.
func newAPIHandler(st store.Store, c client.Client, taskQueue string, logger *slog.Logger, requireKeys bool, cdc *codec.Codec, uiOrigins []string) http.Handler {
	starts := &starter.Starter{Client: c, TaskQueue: taskQueue}
	log := &deliverylog.Log{Client: c, TaskQueue: taskQueue, DataConverter: codec.DataConverterFor(cdc)}
	srv := &api.Server{Store: st, Starter: starts, Log: log, Logger: logger, RequireKeys: requireKeys}
	if cdc == nil {
		return srv.Handler()
	}
	mux := http.NewServeMux()
	mux.Handle(api.CodecPath+"/", srv.CodecHandler(cdc, uiOrigins))
	mux.Handle("/", srv.Handler())
	return mux
}

// uiOrigins are the origins a browser sends for the Web UI at uiURL: its scheme and host,
// and for a loopback address its localhost and 127.0.0.1 spellings both.
func uiOrigins(uiURL string) []string {
	u, err := url.Parse(uiURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil
	}
	out := []string{u.Scheme + "://" + u.Host}
	host, port := u.Hostname(), u.Port()
	withPort := func(h string) string {
		if port == "" {
			return u.Scheme + "://" + h
		}
		return u.Scheme + "://" + net.JoinHostPort(h, port)
	}
	switch host {
	case "127.0.0.1", "::1":
		out = append(out, withPort("localhost"))
	case "localhost":
		out = append(out, withPort("127.0.0.1"))
	}
	return out
}

// processMetrics is the process's one metrics registry: the SDK's metrics and hookflow's
// go through it, and /metrics serves it.
var processMetrics = metrics.NewRegistry()

// health answers the liveness and readiness probes of a process that needs Temporal and
// the store.
type health struct {
	// checks are what readiness needs, by name; each answers nil when it is up.
	checks map[string]func(context.Context) error
	// timeout bounds each check, so that a probe gets an answer before it gives up.
	timeout time.Duration
	// stopping is set when the process begins to shut down: it is no longer ready for
	// more work but still alive while it drains.
	stopping atomic.Bool
}

// newHealth checks Temporal by describing the namespace, which also proves the
// credentials, and the store by a cheap read.
func newHealth(c client.Client, namespace string, st store.Store) *health {
	return &health{
		timeout: 3 * time.Second,
		checks: map[string]func(context.Context) error{
			"temporal": func(ctx context.Context) error {
				_, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: namespace})
				return err
			},
			"store": func(ctx context.Context) error {
				_, err := st.NotificationSettings(ctx)
				return err
			},
		},
	}
}

// readiness is the body of /readyz.
type readiness struct {
	Status string            `json:"status"` // ready, not ready or stopping
	Checks map[string]string `json:"checks,omitempty"`
}

// handler serves GET /livez and GET /readyz, and passes every other request to next
// (nil: 404).
func (h *health) handler(next http.Handler) http.Handler {
	if next == nil {
		next = http.NotFoundHandler()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/metrics" {
			processMetrics.ServeHTTP(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead || r.URL.Path != "/livez" && r.URL.Path != "/readyz" {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if r.URL.Path == "/livez" {
			// The process answers: that is all liveness means. Temporal or the store
			// being down is not cured by a restart, and readiness reports it.
			_, _ = io.WriteString(w, `{"status":"live"}`+"\n")
			return
		}
		body := h.check(r.Context())
		if body.Status != "ready" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(body)
	})
}

// check runs the checks at once.
func (h *health) check(ctx context.Context) readiness {
	if h.stopping.Load() {
		return readiness{Status: "stopping"}
	}
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	var mu sync.Mutex
	res := readiness{Status: "ready", Checks: map[string]string{}}
	var wg sync.WaitGroup
	for name, check := range h.checks {
		wg.Go(func() {
			err := check(ctx)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				res.Status = "not ready"
				res.Checks[name] = err.Error()
				return
			}
			res.Checks[name] = "ok"
		})
	}
	wg.Wait()
	return res
}
