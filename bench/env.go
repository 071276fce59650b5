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

func startEnv(ctx context.Context, o Options, stderr io.Writer) (e *env, err error) {
	e = &env{}
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

// countingReceiver answers 200 and records when each webhook-id first arrived.
type countingReceiver struct {
	*http.Server
	URL   string
	mu    sync.Mutex
	first map[string]time.Time
	total int
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
		if _, ok := r.first[id]; !ok {
			r.first[id] = time.Now()
		}
		r.total++
		r.mu.Unlock()
	}), ReadHeaderTimeout: 10 * time.Second}
	go r.Serve(l)
	return r, nil
}

func (r *countingReceiver) firstSeen(id string) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.first[id]
	return t, ok
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
