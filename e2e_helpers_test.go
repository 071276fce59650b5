package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/devserver"
	"github.com/hookflow/hookflow/internal/pgtest"
)

// childEnv makes the test binary run hookflow's main instead of the tests, so the
// end-to-end tests start real `hookflow dev` processes without a separate build.
const childEnv = "HOOKFLOW_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// devProcess is a running `hookflow dev`.
type devProcess struct {
	t            *testing.T
	cmd          *exec.Cmd
	dataDir      string
	temporalPort int
	uiPort       int
	httpPort     int
	api          string
	temporal     string
	ui           string
	secret       string
	projectID    string
	output       *lockedBuffer
	done         chan error
	// temporalDB is the PostgreSQL database Temporal keeps its state in, when the suite runs
	// on PostgreSQL (HOOKFLOW_TEST_TEMPORAL_POSTGRES_DSN); empty on SQLite.
	temporalDB string
}

// temporalDatabase makes a fresh PostgreSQL database for one dev process's Temporal state
// when HOOKFLOW_TEST_TEMPORAL_POSTGRES_DSN is set (CI runs the end-to-end suite a second
// time so), and drops it and its visibility twin at the end of the test.
func temporalDatabase(t *testing.T) string {
	dsn := os.Getenv("HOOKFLOW_TEST_TEMPORAL_POSTGRES_DSN")
	if dsn == "" {
		return ""
	}
	// hookflow dev creates both databases.
	name := pgtest.Name("hookflow_e2e_temporal")
	pgtest.DropAtCleanup(t, dsn, name, name+devserver.VisibilitySuffix)
	return pgtest.WithDatabase(t, dsn, name)
}

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

// postgresStoreURL is the URL of a new database, dropped after the test, on the PostgreSQL of
// HOOKFLOW_TEST_POSTGRES_DSN, for a store that hookflow dev keeps there. Without the
// variable, or in -short mode, the test is skipped.
func postgresStoreURL(t *testing.T, prefix string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("starts hookflow dev")
	}
	return pgtest.NewDatabase(t, prefix)
}

// reportEnv names a file that report appends to: go test shows no log of a passing test, and
// CI prints this file after the tests, so that the fault tests' accounting is in its output.
const reportEnv = "HOOKFLOW_TEST_REPORT"

// report logs a line of a test's accounting, and appends it, with the test's name, to the
// file that HOOKFLOW_TEST_REPORT names.
func report(t *testing.T, format string, args ...any) {
	t.Helper()
	line := fmt.Sprintf(format, args...)
	t.Log(line)
	name := os.Getenv(reportEnv)
	if name == "" {
		return
	}
	f, err := os.OpenFile(name, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Errorf("%s: %v", reportEnv, err)
		return
	}
	defer f.Close()
	if _, err := fmt.Fprintf(f, "%s: %s\n", t.Name(), line); err != nil {
		t.Errorf("%s: %v", reportEnv, err)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	p, err := devserver.FreePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// startDev starts `hookflow dev` on fresh ports (or those of prev, to restart it) and
// waits until it says it runs.
func startDev(t *testing.T, dataDir string, prev *devProcess, extraArgs ...string) *devProcess {
	t.Helper()
	return startDevAttempt(t, dataDir, prev, 1, extraArgs...)
}

// devStartAttempts is how often startDev tries fresh ports: other test processes on the
// machine open ports too, and the Temporal server ends the process (through a fatal log in
// temporal.log) when one of its ports was taken between the choice and the listen.
const devStartAttempts = 3

func startDevAttempt(t *testing.T, dataDir string, prev *devProcess, attempt int, extraArgs ...string) *devProcess {
	t.Helper()
	d := &devProcess{t: t, dataDir: dataDir, output: &lockedBuffer{}, done: make(chan error, 1)}
	if prev != nil {
		d.temporalPort, d.uiPort, d.httpPort = prev.temporalPort, prev.uiPort, prev.httpPort
	} else {
		d.temporalPort, d.uiPort, d.httpPort = freePort(t), freePort(t), freePort(t)
	}
	d.cmd = exec.Command(os.Args[0], "dev", "--data-dir", dataDir,
		"--temporal-port", fmt.Sprint(d.temporalPort), "--ui-port", fmt.Sprint(d.uiPort),
		"--http", fmt.Sprintf("127.0.0.1:%d", d.httpPort))
	d.cmd.Args = append(d.cmd.Args, extraArgs...)
	if prev != nil {
		d.temporalDB = prev.temporalDB
	} else {
		d.temporalDB = temporalDatabase(t)
	}
	if d.temporalDB != "" {
		d.cmd.Args = append(d.cmd.Args, "--temporal-database-url", d.temporalDB)
	}
	d.cmd.Env = append(os.Environ(), childEnv+"=1")
	stdout, err := d.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	d.cmd.Stderr = d.output
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(d.output, line)
			fields := strings.Fields(line)
			switch {
			case strings.HasPrefix(line, "  Signing secret"):
				d.secret = fields[len(fields)-1]
			case strings.HasPrefix(line, "  Project id"):
				d.projectID = fields[len(fields)-1]
			case strings.HasPrefix(line, "Ctrl-C stops it"):
				close(ready)
			}
		}
	}()
	go func() { d.done <- d.cmd.Wait() }()
	select {
	case <-ready:
	case err := <-d.done:
		<-scanned
		serverLog := ""
		if b, rerr := os.ReadFile(filepath.Join(dataDir, "temporal.log")); rerr == nil {
			serverLog = string(b[max(0, len(b)-2000):])
		}
		if prev == nil && attempt < devStartAttempts {
			t.Logf("hookflow dev exited before it was ready (%v), attempt %d; again on fresh ports\n%s\n%s", err, attempt, d.output, serverLog)
			return startDevAttempt(t, dataDir, nil, attempt+1, extraArgs...)
		}
		t.Fatalf("hookflow dev exited before it was ready: %v\n%s\ntemporal.log: %s", err, d.output, serverLog)
	case <-time.After(90 * time.Second):
		_ = d.cmd.Process.Kill()
		t.Fatalf("hookflow dev not ready after 90s\n%s", d.output)
	}
	d.api = fmt.Sprintf("http://127.0.0.1:%d", d.httpPort)
	d.temporal = fmt.Sprintf("127.0.0.1:%d", d.temporalPort)
	d.ui = fmt.Sprintf("http://127.0.0.1:%d", d.uiPort)
	t.Cleanup(func() { d.stop(syscall.SIGKILL) })
	return d
}

// stop sends sig and waits for the process to end.
func (d *devProcess) stop(sig syscall.Signal) {
	if d.cmd.ProcessState != nil {
		return
	}
	_ = d.cmd.Process.Signal(sig)
	select {
	case <-d.done:
	case <-time.After(30 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.done
		d.t.Errorf("hookflow dev did not stop within 30s of %v", sig)
	}
}

func (d *devProcess) client(t *testing.T) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: d.temporal, Namespace: "default", Logger: quietSDKLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

type quietSDKLogger struct{}

func (quietSDKLogger) Debug(string, ...any) {}
func (quietSDKLogger) Info(string, ...any)  {}
func (quietSDKLogger) Warn(string, ...any)  {}
func (quietSDKLogger) Error(string, ...any) {}

// call sends a request to the API and returns the status and body.
func call(t *testing.T, method, url string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

func mustJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}

// receiver is a webhook receiver that answers from a script and records what it got.
type receiver struct {
	*httptest.Server
	mu    sync.Mutex
	codes []int // the answer to request n; past the end, the last one; empty: 200
	got   []receivedRequest
}

type receivedRequest struct {
	header http.Header
	body   []byte
	path   string
	at     time.Time
}

func newReceiver(t *testing.T, codes ...int) *receiver {
	r := &receiver{codes: codes}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		n := len(r.got)
		r.got = append(r.got, receivedRequest{header: req.Header.Clone(), body: body, path: req.URL.RequestURI(), at: time.Now()})
		code := 200
		if len(r.codes) > 0 {
			code = r.codes[min(n, len(r.codes)-1)]
		}
		r.mu.Unlock()
		w.WriteHeader(code)
		fmt.Fprintf(w, "answer %d", code)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) setCodes(codes ...int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.codes = codes
}

func (r *receiver) requests() []receivedRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]receivedRequest(nil), r.got...)
}

// waitRequests waits until the receiver has at least n requests.
func (r *receiver) waitRequests(t *testing.T, n int, timeout time.Duration) []receivedRequest {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if got := r.requests(); len(got) >= n {
			return got
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("receiver got %d requests in %v, want %d", len(r.requests()), timeout, n)
	return nil
}

// waitWorkflow waits for the workflow of an event to close and decodes its result.
func waitWorkflow(t *testing.T, c client.Client, workflowID string, timeout time.Duration, result any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := c.GetWorkflow(ctx, workflowID, "").Get(ctx, result); err != nil {
		t.Fatalf("workflow %s: %v", workflowID, err)
	}
}

func netListen() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }
