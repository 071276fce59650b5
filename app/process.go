package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hookflow/hookflow/api"
)

// ReadyPrefix begins the last line a long-running process prints on standard output once
// it serves: the prefix and then a Ready as one line of JSON. Scripts and tests wait for
// it instead of reading the banner, whose wording is for people.
const ReadyPrefix = "hookflow ready: "

// Ready is what a process that is ready says about where it can be reached; empty fields
// are what it does not serve.
type Ready struct {
	// Process is dev, server, api or worker.
	Process string `json:"process"`
	// API is the base URL of the hookflow API (dev, api).
	API string `json:"api,omitempty"`
	// Temporal is the frontend's host:port (dev, server: the embedded one; api, worker: the
	// one they use), Namespace its namespace and TaskQueue the deliveries'.
	Temporal  string `json:"temporal,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	TaskQueue string `json:"task_queue,omitempty"`
	// UI is the Temporal Web UI's base URL (dev, server), empty without a UI.
	UI string `json:"ui,omitempty"`
	// Health is the base URL of /livez and /readyz when they are not on API (worker).
	Health string `json:"health,omitempty"`
	// DataDir is where dev and server keep their state.
	DataDir string `json:"data_dir,omitempty"`
	// ProjectID is the installation's project id (dev).
	ProjectID string `json:"project_id,omitempty"`
	// Metrics is the URL of the Prometheus exposition (--metrics-listen), empty when off.
	Metrics string `json:"metrics,omitempty"`
}

// ParseReady reads a ready line (ReadyPrefix and JSON); ok is false for any other line.
func ParseReady(line string) (r Ready, ok bool) {
	rest, found := strings.CutPrefix(line, ReadyPrefix)
	if !found || json.Unmarshal([]byte(rest), &r) != nil {
		return Ready{}, false
	}
	return r, true
}

// Banner is what a process prints when it starts serving: a title, one row a setting,
// and notes on how to use or stop it.
type Banner struct {
	Title string
	rows  [][2]string
	Notes []string
}

// Row adds the row label: value (formatted as fmt.Sprintf does).
func (b *Banner) Row(label, format string, args ...any) {
	b.rows = append(b.rows, [2]string{label, fmt.Sprintf(format, args...)})
}

// Warn adds a row that stands out: a setting the operator should know is unsafe.
func (b *Banner) Warn(format string, args ...any) {
	b.rows = append(b.rows, [2]string{"", "WARNING: " + fmt.Sprintf(format, args...)})
}

// WriteTo prints the banner, labels in one column.
func (b *Banner) WriteTo(w io.Writer) (int64, error) {
	var s strings.Builder
	s.WriteString(b.Title + "\n")
	for _, r := range b.rows {
		if r[0] == "" {
			fmt.Fprintf(&s, "  %s\n", r[1])
			continue
		}
		fmt.Fprintf(&s, "  %-15s %s\n", r[0], r[1])
	}
	for _, n := range b.Notes {
		s.WriteString(n + "\n")
	}
	n, err := io.WriteString(w, s.String())
	return int64(n), err
}

// process is the shape every long-running command runs in: what it opened is closed on the
// way out in reverse order; it listens before it connects anywhere, so that a taken port is
// the first error; it serves HTTP; it says it is ready; and on a signal (ctx), a server
// that fails or a fatal error it stops, draining before it closes.
type process struct {
	name   string
	stdout io.Writer
	// closers run in reverse order of adding, by close.
	closers []func()
	servers []*http.Server
	// failed carries the first error that ends the process before ctx does.
	failed chan error
	// health, when set, answers "stopping" from the moment the process begins to stop.
	health *health
	// logger, when set, hears of requests cut off at the stop timeout and keeps the access
	// log of every listener.
	logger *slog.Logger
}

func newProcess(name string, stdout io.Writer) *process {
	return &process{name: name, stdout: stdout, failed: make(chan error, 1)}
}

// onClose adds f to what close runs.
func (p *process) onClose(f func()) { p.closers = append(p.closers, f) }

// close runs what onClose added, last first. It runs once; later calls do nothing.
func (p *process) close() {
	for i := len(p.closers) - 1; i >= 0; i-- {
		p.closers[i]()
	}
	p.closers = nil
}

// fail ends the process with err, unless something ended it before.
func (p *process) fail(err error) {
	select {
	case p.failed <- err:
	default:
	}
}

// listen listens on addr, the value of the setting flag, or says in one message that it
// cannot and which setting to change. The listener is closed on the way out.
func (p *process) listen(flag, addr string) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		reason := err
		if inner := errors.Unwrap(err); inner != nil {
			reason = inner
		}
		return nil, fmt.Errorf("%s %s: cannot listen (%v); choose another address with %s", flag, addr, reason, flag)
	}
	p.onClose(func() { l.Close() })
	return l, nil
}

// serve serves h on l until the process stops; what (such as "API server") names the server
// in the error that ends the process if serving fails.
//
// Every request gets an id and, with a logger, a line in the access log (api.AccessLog).
func (p *process) serve(what string, l net.Listener, h http.Handler) {
	logger := p.logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	srv := &http.Server{Handler: api.AccessLog(logger, h), ReadHeaderTimeout: 10 * time.Second}
	p.servers = append(p.servers, srv)
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			p.fail(fmt.Errorf("%s: %w", what, err))
		}
	}()
}

// listenMetrics listens on addr, the --metrics-listen address; empty is no metrics
// endpoint (nil listener).
func (p *process) listenMetrics(addr string) (net.Listener, error) {
	if addr == "" {
		return nil, nil
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("%s %q: want host:port such as %s, or empty for none", metricsFlag, addr, DefaultAPIMetricsAddr)
	}
	return p.listen(metricsFlag, addr)
}

// serveMetrics serves GET /metrics (the process's registry, Metrics) on l, a listener of
// its own: the exposition is never on the public API's listener. It returns the URL of
// /metrics, and the banner's row on it; "" and the row of an endpoint that is off when l
// is nil.
func (p *process) serveMetrics(l net.Listener, what string) (url, row string) {
	if l == nil {
		return "", "off (" + metricsFlag + ")"
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+MetricsPath, Metrics)
	p.serve("metrics endpoint", l, mux)
	url = "http://" + l.Addr().String() + MetricsPath
	return url, url + " (Prometheus: " + what + ")"
}

// ready prints the banner and then the ready line.
func (p *process) ready(b *Banner, r Ready) {
	r.Process = p.name
	_, _ = b.WriteTo(p.stdout)
	line, _ := json.Marshal(r)
	fmt.Fprintf(p.stdout, "%s%s\n", ReadyPrefix, line)
}

// run waits until ctx ends or the process fails, then stops it: readiness answers
// "stopping" from then on, drain runs (a worker lets its activities finish) while the
// health endpoint still answers, and the HTTP servers finish the requests in flight within
// timeout. It returns what failed, nil for a stop that was asked for.
func (p *process) run(ctx context.Context, timeout time.Duration, drain func()) error {
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-p.failed:
	}
	if p.health != nil {
		p.health.stopping.Store(true)
	}
	fmt.Fprintf(p.stdout, "hookflow %s: stopping\n", p.name)
	if drain != nil {
		drain()
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var cut error
	for _, srv := range p.servers {
		wg.Go(func() {
			if err := srv.Shutdown(shutdownCtx); err != nil {
				mu.Lock()
				cut = err
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if cut != nil && p.logger != nil {
		p.logger.Warn("requests still running at --stop-timeout were cut off", "error", cut.Error())
	}
	return runErr
}
