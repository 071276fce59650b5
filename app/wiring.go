package app

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
	"regexp"
	"strings"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/hookflow/hookflow/activities"
	"github.com/hookflow/hookflow/api"
	"github.com/hookflow/hookflow/codec"
	"github.com/hookflow/hookflow/deliverylog"
	"github.com/hookflow/hookflow/starter"
	"github.com/hookflow/hookflow/store"
	"github.com/hookflow/hookflow/worker"
	"github.com/hookflow/hookflow/workflows"
)

// NewLogger is a process's structured logger: JSON for log collectors, text for people.
func NewLogger(format string, w io.Writer, level slog.Level) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: level}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: use json or text", format)
}

// NewSDKLogger is the Temporal SDK's logger: warnings and errors only, without the
// "Activity error." lines of failed attempts, which the Post activity logs itself.
func NewSDKLogger(format string, w io.Writer) *slog.Logger {
	l, err := NewLogger(format, w, slog.LevelWarn)
	if err != nil {
		l = slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return slog.New(quietAttempts{l.Handler()})
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

// newMailer is nil without an SMTP URL: failures are then notified in-app and logged.
func newMailer(smtpURL, from, helo string) (*activities.Mailer, error) {
	if smtpURL == "" {
		return nil, nil
	}
	return activities.NewMailer(smtpURL, from, helo)
}

// WorkerSetup is what a worker of hookflow's stands on.
type WorkerSetup struct {
	Client    client.Client
	TaskQueue string
	Namespace string
	Store     store.Store
	// Allow admits webhook targets that the guard would refuse (internal addresses).
	Allow  []netip.Prefix
	Mailer *activities.Mailer // nil: no e-mail
	Logger *slog.Logger
	// UIURL, when set, is the Temporal Web UI's base URL, for links to a delivery's
	// workflow in failure notifications.
	UIURL string
	// Options are the worker's; worker.Options() when zero.
	Options *sdkworker.Options
}

// NewWorker builds the worker that runs hookflow's workflows and activities on the task
// queue. A message's deliveries start through the worker's own client, on the queue it
// polls, so that their first workflow task comes back with the start.
func NewWorker(s WorkerSetup) sdkworker.Worker {
	logger := s.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	acts := &activities.Activities{
		Store:      s.Store,
		HTTP:       activities.NewHTTPClient(&activities.TargetGuard{Allow: s.Allow}),
		Logger:     logger,
		Mailer:     s.Mailer,
		Deliveries: NewStarter(s.Client, s.TaskQueue, s.Store),
	}
	if s.UIURL != "" {
		ui, namespace := s.UIURL, s.Namespace
		acts.WorkflowLink = func(id string) string {
			return ui + "/namespaces/" + url.PathEscape(namespace) + "/workflows/" + url.PathEscape(id)
		}
	}
	opts := worker.Options()
	if s.Options != nil {
		opts = *s.Options
	}
	return worker.New(s.Client, s.TaskQueue, acts, opts)
}

// NewStarter is the starter of the API and of a worker's message batches: it starts the
// workflows of events on taskQueue through c, with the candidates read from st at intake in
// their input, so that a workflow reads nothing before its first POST.
func NewStarter(c client.Client, taskQueue string, st store.Store) *starter.Starter {
	return &starter.Starter{Client: c, TaskQueue: taskQueue, Candidates: (&activities.Activities{Store: st}).LoadCandidates}
}

// newAPIHandler is the hookflow HTTP API on st, starting workflows through c on taskQueue.
// With a codec (--encryption-key), it also serves the codec endpoint at /codec/ for the
// Web UI at uiOrigins, outside the API's refusal of browsers; the delivery log decodes
// history with the codec. emailConfigured is whether the worker beside it can send
// e-mail, nil when there is none. Every request is served in a server span (api.Trace),
// which records nothing unless the process traces.
func newAPIHandler(st store.Store, c client.Client, taskQueue string, logger *slog.Logger, requireKeys bool, cdc *codec.Codec, uiOrigins []string, emailConfigured *bool) http.Handler {
	starts := NewStarter(c, taskQueue, st)
	log := &deliverylog.Log{Client: c, TaskQueue: taskQueue, DataConverter: codec.DataConverterFor(cdc)}
	srv := &api.Server{Store: st, Starter: starts, Log: log, Logger: logger, RequireKeys: requireKeys, EmailConfigured: emailConfigured}
	if cdc == nil {
		return api.Trace(srv.Handler())
	}
	mux := http.NewServeMux()
	mux.Handle(api.CodecPath+"/", srv.CodecHandler(cdc, uiOrigins))
	mux.Handle("/", srv.Handler())
	return api.Trace(mux)
}

// connect opens the store at databaseURL and dials Temporal, what api and worker stand on;
// both are closed when p closes.
func (p *process) connect(ctx context.Context, databaseURL string, t TemporalConfig, logger *slog.Logger, logFormat string, stderr io.Writer) (store.Store, client.Client, error) {
	st, err := store.Open(ctx, databaseURL)
	if err != nil {
		return nil, nil, fmt.Errorf("--database-url: %w", err)
	}
	p.onClose(func() { st.Close() })
	c, err := t.Dial(ctx, logger, NewSDKLogger(logFormat, stderr))
	if err != nil {
		return nil, nil, err
	}
	p.onClose(c.Close)
	return st, c, nil
}

// ParseLogLevel reads --log-level: debug, info, warn or error; empty is info.
func ParseLogLevel(s string) (slog.Level, error) {
	switch s {
	case "debug":
		return slog.LevelDebug, nil
	case "", "info":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("--log-level %q: use debug, info, warn or error", s)
}

// serviceLogger is the logger of a process that stands on a store and a Temporal cluster
// (api, worker), which refuses to run without a store.
func serviceLogger(logFormat, logLevel, databaseURL string, stderr io.Writer) (*slog.Logger, error) {
	level, err := ParseLogLevel(logLevel)
	if err != nil {
		return nil, err
	}
	logger, err := NewLogger(logFormat, stderr, level)
	if err != nil {
		return nil, err
	}
	if databaseURL == "" {
		return nil, errors.New("--database-url is required (env HOOKFLOW_DATABASE_URL): postgres://... or a SQLite file")
	}
	return logger, nil
}

// UIOrigins are the origins a browser sends for the Web UI at uiURL: its scheme and host,
// and for a loopback address its localhost and 127.0.0.1 spellings both.
func UIOrigins(uiURL string) []string {
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

// corsNote tells the banner which Web UI may call the codec endpoint from a browser.
func corsNote(origins []string) string {
	if len(origins) == 0 {
		return "; no browser origin allowed (--ui-url)"
	}
	return "; browsers at " + origins[0]
}

func prefixList(ps []netip.Prefix) string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return strings.Join(out, ", ")
}

var dsnPassword = regexp.MustCompile(`(password=)('[^']*'|\S*)`)

// RedactURL hides a password in a database URL or key=value DSN before it is printed.
func RedactURL(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		return u.Redacted()
	}
	return dsnPassword.ReplaceAllString(raw, "${1}xxxxx")
}
