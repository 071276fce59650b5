package app

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/hookflow/hookflow/devserver"
	"github.com/hookflow/hookflow/store"
)

// lockedBuffer is a bytes.Buffer that a process's goroutines may write while a test reads.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// addOldAndYoungNotifications stores one notification older than DefaultStoreRetention
// and one younger, in the store file at path.
func addOldAndYoungNotifications(t *testing.T, path string) {
	t.Helper()
	st, err := store.OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	for id, at := range map[string]time.Time{"ntf_old": now.Add(-DefaultStoreRetention - time.Hour), "ntf_young": now.Add(-time.Hour)} {
		if _, _, err := st.AddNotification(t.Context(), store.Notification{ID: id, DeliveryID: "whs_" + id, CreatedAt: at}); err != nil {
			t.Fatal(err)
		}
	}
}

// waitForNotifications reads the notifications in the store file at path until only want
// is left, for a bounded number of tries.
func waitForNotifications(t *testing.T, path string, want string) {
	t.Helper()
	st, err := store.OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var ids []string
	for range 300 {
		list, err := st.ListNotifications(t.Context(), false)
		if err != nil {
			t.Fatal(err)
		}
		ids = ids[:0]
		for _, n := range list {
			ids = append(ids, n.ID)
		}
		if strings.Join(ids, ",") == want {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("notifications %v, want only %s", ids, want)
}

// TestStorePruner: the pruner deletes the history older than the retention at once, keeps
// the younger, logs the counts in one line, and stops with the process; with nothing to
// delete it logs nothing.
func TestStorePruner(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hookflow.db")
	addOldAndYoungNotifications(t, path)
	st, err := store.OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var log lockedBuffer
	logger := slog.New(slog.NewTextHandler(&log, nil))
	p := newProcess("worker", &bytes.Buffer{})
	p.startStorePruner(t.Context(), st, DefaultStoreRetention, time.Hour, logger)
	waitForNotifications(t, path, "ntf_young")
	// The notifications go first; stopping the pruner before its log line would cancel the
	// rest of the round (messages, idempotency keys) and log that instead.
	for i := 0; i < 300 && !strings.Contains(log.String(), "store pruned"); i++ {
		time.Sleep(100 * time.Millisecond)
	}
	p.close() // waits for the pruner
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "store pruned") || !strings.Contains(lines[0], "notifications=1 ") ||
		!strings.Contains(lines[0], "messages=0 ") {
		t.Errorf("log:\n%s\nwant one line: store pruned, notifications=1, messages=0", log.String())
	}

	var quiet lockedBuffer
	r, err := pruneStore(t.Context(), st, DefaultStoreRetention, time.Now(), slog.New(slog.NewTextHandler(&quiet, nil)))
	if err != nil || r.Total() != 0 || quiet.String() != "" {
		t.Errorf("prune with nothing to delete: %+v, %v, logged %q", r, err, quiet.String())
	}
}

func TestCheckStoreRetention(t *testing.T) {
	for _, ok := range []time.Duration{0, MinStoreRetention, DefaultStoreRetention} {
		if err := checkStoreRetention(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []time.Duration{time.Hour, MinStoreRetention - time.Second, -time.Hour} {
		if err := checkStoreRetention(bad); err == nil || !strings.Contains(err.Error(), "--store-retention") {
			t.Errorf("%s: %v, want an error naming --store-retention", bad, err)
		}
	}
}

// runUntilReady runs a process with run until it prints its ready line, and returns what
// the line says and how to stop the process and wait for its end.
func runUntilReady(t *testing.T, run func(ctx context.Context, stdout *lockedBuffer) error) (ready Ready, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	var stdout lockedBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, &stdout) }()
	stop = func() error {
		cancel()
		return <-done
	}
	for range 1200 {
		select {
		case err := <-done:
			cancel()
			t.Fatalf("ended before it was ready: %v\n%s", err, stdout.String())
		case <-time.After(100 * time.Millisecond):
		}
		for _, line := range strings.Split(stdout.String(), "\n") {
			if r, ok := ParseReady(line); ok {
				return r, stop
			}
		}
	}
	stop()
	t.Fatalf("not ready:\n%s", stdout.String())
	return Ready{}, nil
}

// TestDevRetentions: hookflow dev keeps closed workflows for its --retention, and prunes its
// store's history older than --store-retention once it runs, logging what it pruned.
func TestDevRetentions(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Temporal")
	}
	dir := t.TempDir()
	addOldAndYoungNotifications(t, filepath.Join(dir, "hookflow.db"))
	port, err := devserver.FreePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	var stderr lockedBuffer
	cfg := DevConfig{DataDir: dir, TemporalPort: port, HTTP: "127.0.0.1:0", SMTPFrom: "hookflow@localhost",
		Retention: 48 * time.Hour, StoreRetention: DefaultStoreRetention}
	ready, stop := runUntilReady(t, func(ctx context.Context, stdout *lockedBuffer) error {
		return RunDev(ctx, cfg, stdout, &stderr)
	})
	c, err := client.Dial(client.Options{HostPort: ready.Temporal, Namespace: ready.Namespace, Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		stop()
		t.Fatal(err)
	}
	ns, err := c.WorkflowService().DescribeNamespace(t.Context(), &workflowservice.DescribeNamespaceRequest{Namespace: ready.Namespace})
	c.Close()
	if err != nil {
		t.Error(err)
	} else if got := ns.Config.WorkflowExecutionRetentionTtl.AsDuration(); got != 48*time.Hour {
		t.Errorf("dev --retention 48h: the namespace keeps closed workflows %s", got)
	}
	waitForNotifications(t, filepath.Join(dir, "hookflow.db"), "ntf_young")
	if err := stop(); err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("dev ended with %v", err)
	}
	if !strings.Contains(stderr.String(), "store pruned") || !strings.Contains(stderr.String(), "notifications=1") {
		t.Errorf("dev's log says nothing of the prune:\n%s", stderr.String())
	}
}

// TestWorkerPrunesStore: hookflow worker prunes its store's old history once it runs, and
// logs what it pruned.
func TestWorkerPrunesStore(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Temporal")
	}
	srv, err := devserver.Start(t.Context(), devserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	path := filepath.Join(t.TempDir(), "hookflow.db")
	addOldAndYoungNotifications(t, path)
	var stderr lockedBuffer
	cfg := WorkerConfig{Temporal: TemporalConfig{Address: srv.HostPort(), Namespace: srv.Namespace()},
		DatabaseURL: path, SMTPFrom: "hookflow@localhost", StopTimeout: time.Second, LogFormat: "json",
		StoreRetention: DefaultStoreRetention}
	_, stop := runUntilReady(t, func(ctx context.Context, stdout *lockedBuffer) error {
		return RunWorker(ctx, cfg, stdout, &stderr)
	})
	waitForNotifications(t, path, "ntf_young")
	if err := stop(); err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("worker ended with %v", err)
	}
	if !strings.Contains(stderr.String(), `"msg":"store pruned"`) || !strings.Contains(stderr.String(), `"notifications":1`) {
		t.Errorf("the worker's log says nothing of the prune:\n%s", stderr.String())
	}
}
