package bench

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/activities"
	"github.com/hookflow/hookflow/app"
	"github.com/hookflow/hookflow/devserver"
	"github.com/hookflow/hookflow/store"
	"github.com/hookflow/hookflow/workflows"
)

// env is what a bench run stands on: a Temporal server of its own (SQLite under DataDir or
// a temporary dir, or TemporalDatabaseURL), hookflow's store beside it, a client made as
// every hookflow process makes it, and a receiver that counts deliveries.
type env struct {
	srv    *devserver.Server
	st     *store.SQLite
	c      client.Client
	recv   *countingReceiver
	closes []func()
}

func startEnv(ctx context.Context, o Options, stderr io.Writer) (_ *env, err error) {
	// e, not the result: a failure returns a nil env, and what was started must still stop.
	e := &env{}
	defer func() {
		if err != nil {
			e.close()
		}
	}()
	dir := o.DataDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "hookflow-bench-")
		if err != nil {
			return nil, err
		}
		e.closes = append(e.closes, func() { os.RemoveAll(tmp) })
		dir = tmp
	}
	dbFile := filepath.Join(dir, "temporal.db")
	if o.TemporalDatabaseURL != "" {
		dbFile = ""
	}
	if e.srv, err = devserver.Start(ctx, devserver.Options{
		DatabaseFile: dbFile, PostgresURL: o.TemporalDatabaseURL, LogFile: filepath.Join(dir, "temporal.log"),
		SearchAttributes: workflows.SearchAttributes,
	}); err != nil {
		return nil, err
	}
	e.closes = append(e.closes, e.srv.Stop)
	if e.st, err = store.OpenSQLite(filepath.Join(dir, "hookflow.db")); err != nil {
		return nil, err
	}
	e.closes = append(e.closes, func() { e.st.Close() })
	// A data dir an earlier run used holds its distributions, whose receiver is gone: this
	// run's events must match its own alone.
	old, err := e.st.ListDistributions(ctx)
	if err != nil {
		return nil, err
	}
	for _, d := range old {
		if err := e.st.DeleteDistribution(ctx, d.ID); err != nil {
			return nil, err
		}
	}
	quiet := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	temporal := app.TemporalConfig{Address: e.srv.HostPort(), Namespace: e.srv.Namespace()}
	if e.c, err = temporal.Dial(ctx, nil, quiet); err != nil {
		return nil, err
	}
	e.closes = append(e.closes, e.c.Close)
	if e.recv, err = newCountingReceiver(); err != nil {
		return nil, err
	}
	e.closes = append(e.closes, func() { e.recv.Close() })
	return e, nil
}

// startWorker starts hookflow's worker, as dev builds it, posting to loopback.
func (e *env) startWorker() error {
	w := app.NewWorker(app.WorkerSetup{Client: e.c, TaskQueue: workflows.TaskQueue, Namespace: e.srv.Namespace(),
		Store: e.st, Allow: activities.Loopback})
	if err := w.Start(); err != nil {
		return err
	}
	e.closes = append(e.closes, w.Stop)
	return nil
}

// close stops what startEnv and startWorker started, last first.
func (e *env) close() {
	for i := len(e.closes) - 1; i >= 0; i-- {
		e.closes[i]()
	}
	e.closes = nil
}

// countingReceiver answers 200 and records when each webhook-id first arrived; the
// deliveries of the phase that runs are told to its tracker as they first arrive.
type countingReceiver struct {
	*http.Server
	URL   string
	mu    sync.Mutex
	first map[string]time.Time
	total int
	// route maps the webhook-ids the running phase expects to their event's index in tr.
	route map[string]int
	tr    *tracker
}

func newCountingReceiver() (*countingReceiver, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &countingReceiver{URL: "http://" + l.Addr().String() + "/hooks", first: map[string]time.Time{}}
	r.Server = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		id := req.Header.Get("webhook-id")
		r.mu.Lock()
		_, seen := r.first[id]
		if !seen {
			r.first[id] = time.Now()
		}
		r.total++
		i, routed := r.route[id]
		tr := r.tr
		r.mu.Unlock()
		if !seen && routed {
			tr.arrived(i)
		}
	}), ReadHeaderTimeout: 10 * time.Second}
	go r.Serve(l)
	return r, nil
}

// expect routes the first arrival of each of ids to tr, as event ids[id].
func (r *countingReceiver) expect(ids map[string]int, tr *tracker) {
	r.mu.Lock()
	r.route, r.tr = ids, tr
	r.mu.Unlock()
}

// distinct is how many webhook-ids arrived.
func (r *countingReceiver) distinct() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.first)
}

func (r *countingReceiver) duplicates() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.total - len(r.first)
}
