package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/codec"
	"github.com/hookflow/hookflow/devserver"
	"github.com/hookflow/hookflow/internal/pgtest"
	"github.com/hookflow/hookflow/workflows"
)

// process is a running hookflow command (server, api, worker) of the production suite.
type process struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	output *lockedBuffer // stdout and stderr
	done   chan error
	err    error // the exit, once done
	exited bool
}

// startCluster runs `hookflow server` (Temporal on SQLite under a temporary dir) and an open
// `hookflow api` on a store beside it, and returns their addresses and a function that
// starts worker n on them: the three-process set of the fault and bulk tests.
func startCluster(t *testing.T) (temporalAddr, apiURL string, startWorker func(n int) *process) {
	t.Helper()
	dir := t.TempDir()
	_, ports := startOnFreePorts(t, "server", nil, "Ctrl-C or SIGTERM stops it", 1, func(ports []int) []string {
		return []string{"server", "--data-dir", dir, "--temporal-port", fmt.Sprint(ports[0]), "--ui-port", "0"}
	})
	temporalAddr = fmt.Sprintf("127.0.0.1:%d", ports[0])
	common := []string{"--temporal-address", temporalAddr, "--database-url", filepath.Join(dir, "hookflow.db"), "--log-format", "text"}
	_, ports = startOnFreePorts(t, "api", nil, "SIGTERM or Ctrl-C stops it", 1, func(ports []int) []string {
		return append([]string{"api", "--http", fmt.Sprintf("127.0.0.1:%d", ports[0]), "--require-api-key=false"}, common...)
	})
	apiURL = fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	return temporalAddr, apiURL, func(n int) *process {
		return startProcess(t, fmt.Sprintf("worker %d", n), nil, "SIGTERM or Ctrl-C stops it",
			append([]string{"worker", "--identity", fmt.Sprintf("worker-%d", n), "--health", "", "--allow-target", "127.0.0.0/8"}, common...)...)
	}
}

// startProcess runs the test binary as `hookflow args...` with extra environment
// variables, and waits until a line of its standard output starts with ready.
func startProcess(t *testing.T, name string, env []string, ready string, args ...string) *process {
	t.Helper()
	p, err := launch(t, name, env, ready, args...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// portAttempts is how often startOnFreePorts picks fresh ports: other test processes on the
// machine open ports too, and one may take a port between the choice and the listen.
const portAttempts = 3

// startOnFreePorts picks n free ports, starts `hookflow args(ports)...` as startProcess
// does, and tries again on fresh ports (logged) when the process ends before it is ready.
func startOnFreePorts(t *testing.T, name string, env []string, ready string, n int, args func(ports []int) []string) (*process, []int) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		ports := make([]int, n)
		for i := range ports {
			ports[i] = freePort(t)
		}
		p, err := launch(t, name, env, ready, args(ports)...)
		if err == nil {
			return p, ports
		}
		if attempt == portAttempts {
			t.Fatal(err)
		}
		t.Logf("attempt %d on ports %v: %v; again on fresh ports", attempt, ports, err)
	}
}

// launch starts the test binary as `hookflow args...` and waits until it is ready; the error
// tells, with its output, that it ended before. Waiting more than two minutes fails the test.
func launch(t *testing.T, name string, env []string, ready string, args ...string) (*process, error) {
	t.Helper()
	p := &process{t: t, name: name, output: &lockedBuffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command(os.Args[0], args...)
	p.cmd.Env = append(append(os.Environ(), childEnv+"=1"), env...)
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stderr = p.output
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	isReady := make(chan struct{})
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stdout)
		once := sync.Once{}
		for sc.Scan() {
			fmt.Fprintln(p.output, sc.Text())
			if strings.HasPrefix(sc.Text(), ready) {
				once.Do(func() { close(isReady) })
			}
		}
	}()
	go func() {
		<-scanned // Wait closes the pipe: read it all first
		p.done <- p.cmd.Wait()
	}()
	select {
	case <-isReady:
	case err := <-p.done:
		return nil, fmt.Errorf("hookflow %s exited before it was ready: %v\n%s", name, err, p.output)
	case <-time.After(2 * time.Minute):
		_ = p.cmd.Process.Kill()
		t.Fatalf("hookflow %s not ready after 2 minutes\n%s", name, p.output)
	}
	t.Cleanup(func() {
		if !p.exited {
			_ = p.cmd.Process.Kill()
			p.wait(30 * time.Second)
		}
		if t.Failed() {
			t.Logf("output of hookflow %s:\n%s", name, p.output)
		}
	})
	return p, nil
}

// wait waits up to timeout for the process to end; false if it did not.
func (p *process) wait(timeout time.Duration) bool {
	if p.exited {
		return true
	}
	select {
	case p.err = <-p.done:
		p.exited = true
		return true
	case <-time.After(timeout):
		return false
	}
}

// stop sends sig and fails the test unless the process ends, successfully, within timeout.
func (p *process) stop(sig syscall.Signal, timeout time.Duration) time.Duration {
	p.t.Helper()
	start := time.Now()
	_ = p.cmd.Process.Signal(sig)
	if !p.wait(timeout) {
		_ = p.cmd.Process.Kill()
		p.wait(10 * time.Second)
		p.t.Fatalf("hookflow %s did not stop within %v of %v", p.name, timeout, sig)
	}
	if p.err != nil {
		p.t.Errorf("hookflow %s ended with %v after %v", p.name, p.err, sig)
	}
	return time.Since(start)
}

// probe answers a health endpoint: its status and decoded body.
func probe(t *testing.T, u string) (int, readiness) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	var body readiness
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return resp.StatusCode, body
}

// waitProbe polls u until it answers status, for at most timeout.
func waitProbe(t *testing.T, u string, status int, timeout time.Duration) readiness {
	t.Helper()
	var got int
	var body readiness
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if got, body = probe(t, u); got == status {
			return body
		}
	}
	t.Fatalf("GET %s: %d %+v, want %d within %v", u, got, body, status, timeout)
	return body
}

// slowReceiver answers 200 after a pause, so that posts are in flight when a worker is
// stopped, and counts the requests per webhook-id.
type slowReceiver struct {
	*httptest.Server
	mu  sync.Mutex
	ids map[string]int
}

func newSlowReceiver(t *testing.T, pause time.Duration) *slowReceiver {
	r := &slowReceiver{ids: map[string]int{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		time.Sleep(pause)
		r.mu.Lock()
		r.ids[req.Header.Get("webhook-id")]++
		r.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(r.Close)
	return r
}

// counts returns the distinct webhook-ids received and the number of requests.
func (r *slowReceiver) counts() (distinct, total int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range r.ids {
		total += n
	}
	return len(r.ids), total
}

var attemptLine = regexp.MustCompile(`(?m)msg=attempt `)

// attempts counts the Post attempts a worker logged (in --log-format text).
func (p *process) attempts() int {
	return len(attemptLine.FindAllString(p.output.String(), -1))
}

// TestProduction runs hookflow as in production: `hookflow server`, one `hookflow api`
// and two `hookflow worker` processes, once with Temporal and the store on SQLite and
// once on PostgreSQL (when HOOKFLOW_TEST_POSTGRES_DSN is set). Under a load of events one
// worker is stopped with SIGTERM: every event must be delivered, both workers must have
// worked, and the probes must tell what is up.
func TestProduction(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Temporal and four hookflow processes")
	}
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		runProduction(t, productionSetup{
			dataDir:  dir,
			storeURL: filepath.Join(dir, "hookflow.db"),
			webUI:    true,
		})
	})
	t.Run("postgres", func(t *testing.T) {
		storeURL := pgtest.NewDatabase(t, "hookflow_prod_store")
		// `hookflow server` creates Temporal's databases itself.
		dsn := os.Getenv(pgtest.DSNEnv)
		temporalDB := pgtest.Name("hookflow_prod_temporal")
		pgtest.DropAtCleanup(t, dsn, temporalDB, temporalDB+devserver.VisibilitySuffix)
		runProduction(t, productionSetup{
			dataDir:     t.TempDir(),
			temporalURL: pgtest.WithDatabase(t, dsn, temporalDB),
			storeURL:    storeURL,
			dropStore: func() {
				server, err := pgtest.Open(dsn)
				if err != nil {
					t.Fatal(err)
				}
				defer server.Close()
				cfg, err := pgx.ParseConfig(storeURL)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := server.Exec("DROP DATABASE " + cfg.Database + " WITH (FORCE)"); err != nil {
					t.Fatal(err)
				}
			},
		})
	})
}

type productionSetup struct {
	dataDir     string
	temporalURL string // PostgreSQL for Temporal; SQLite in dataDir when empty
	storeURL    string
	webUI       bool
	// dropStore makes the store unreachable, when that is easy to arrange.
	dropStore func()
}

func runProduction(t *testing.T, s productionSetup) {
	const events = 200
	// The server listens on the Temporal port, and on the Web UI's when it serves one.
	nports := 1
	if s.webUI {
		nports = 2
	}
	server, ports := startOnFreePorts(t, "server", nil, "Ctrl-C or SIGTERM stops it", nports, func(ports []int) []string {
		uiPort := 0
		if s.webUI {
			uiPort = ports[1]
		}
		args := []string{"server", "--data-dir", s.dataDir, "--temporal-port", fmt.Sprint(ports[0]), "--ui-port", fmt.Sprint(uiPort)}
		if s.temporalURL != "" {
			args = append(args, "--temporal-database-url", s.temporalURL)
		}
		return args
	})
	temporalAddr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	if !strings.Contains(server.output.String(), "Temporal        "+temporalAddr) {
		t.Errorf("server banner does not name %s:\n%s", temporalAddr, server.output)
	}
	if s.webUI {
		status, body := call(t, "GET", fmt.Sprintf("http://127.0.0.1:%d/api/v1/namespaces/default/search-attributes", ports[1]), nil)
		if status != 200 || !strings.Contains(string(body), "HookflowStatus") {
			t.Errorf("Web UI: search attributes %d %s", status, body)
		}
	}

	common := []string{"--temporal-address", temporalAddr, "--database-url", s.storeURL, "--log-format", "text"}
	apiProc, ports := startOnFreePorts(t, "api", nil, "SIGTERM or Ctrl-C stops it", 1, func(ports []int) []string {
		return append([]string{"api", "--http", fmt.Sprintf("127.0.0.1:%d", ports[0]), "--require-api-key=false"}, common...)
	})
	apiURL := fmt.Sprintf("http://127.0.0.1:%d", ports[0])

	// Worker a from flags; worker b from a config file and the environment, as a
	// deployment would configure it.
	healthA, healthB := freePort(t), freePort(t)
	workerA := startProcess(t, "worker a", nil, "SIGTERM or Ctrl-C stops it",
		append([]string{"worker", "--identity", "worker-a", "--health", fmt.Sprintf("127.0.0.1:%d", healthA),
			"--allow-target", "127.0.0.0/8", "--stop-timeout", "30s"}, common...)...)
	config := filepath.Join(t.TempDir(), "hookflow.yaml")
	writeFile(t, config, fmt.Sprintf("temporal-address: %s\ndatabase-url: %q\nallow-target:\n  - 127.0.0.0/8\nlog-format: text\nidentity: overridden-by-env\nhttp: 127.0.0.1:1\n",
		temporalAddr, s.storeURL))
	workerB := startProcess(t, "worker b",
		[]string{"HOOKFLOW_CONFIG=" + config, "HOOKFLOW_IDENTITY=worker-b", fmt.Sprintf("HOOKFLOW_HEALTH=127.0.0.1:%d", healthB)},
		"SIGTERM or Ctrl-C stops it", "worker")
	if !strings.Contains(workerB.output.String(), "Identity        worker-b") {
		t.Errorf("worker b does not take its identity from HOOKFLOW_IDENTITY:\n%s", workerB.output)
	}

	for _, u := range []string{apiURL, fmt.Sprintf("http://127.0.0.1:%d", healthA), fmt.Sprintf("http://127.0.0.1:%d", healthB)} {
		if status, body := probe(t, u+"/livez"); status != 200 || body.Status != "live" {
			t.Errorf("%s/livez: %d %+v", u, status, body)
		}
		body := waitProbe(t, u+"/readyz", 200, 30*time.Second)
		if body.Status != "ready" || body.Checks["temporal"] != "ok" || body.Checks["store"] != "ok" {
			t.Errorf("%s/readyz: %+v", u, body)
		}
	}

	recv := newSlowReceiver(t, 200*time.Millisecond)
	status, body := call(t, "POST", apiURL+"/v1/distributions", map[string]any{
		"name": "Paid orders", "status": "live",
		"trigger": map[string]any{"events": []string{"customer.order.paid"}},
		"action":  map[string]any{"type": "plain_message"},
		"webhook": map[string]any{"event_name": "Order-paid", "url": recv.URL + "/hooks", "version": "v2024-01-01",
			"retry_schedule": []string{"1s", "1s", "1s", "1s", "1s"}},
	})
	if status != 201 {
		t.Fatalf("create distribution: %d %s", status, body)
	}

	// Send the events at a steady pace from a few clients, so that the load lasts a few
	// seconds and a worker can be stopped in the middle of it.
	sendErrs := make(chan error, events)
	var sending sync.WaitGroup
	ids := make(chan string, events)
	for i := range events {
		ids <- fmt.Sprintf("evt_prod_%03d", i)
	}
	close(ids)
	for range 4 {
		sending.Go(func() {
			for id := range ids {
				st, b := postEvent(apiURL, id)
				if st != 202 {
					sendErrs <- fmt.Errorf("event %s: %d %s", id, st, b)
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}

	// A third of the events delivered, both workers at work: stop worker a.
	deadline := time.Now().Add(60 * time.Second)
	for {
		distinct, _ := recv.counts()
		if distinct >= events/3 && workerA.attempts() >= 5 && workerB.attempts() >= 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("within 60s, %d events delivered, worker a logged %d attempts and worker b %d; want %d, 5 and 5",
				distinct, workerA.attempts(), workerB.attempts(), events/3)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if distinct, _ := recv.counts(); distinct >= events {
		t.Errorf("all %d events were delivered before a worker could be stopped: no load left", distinct)
	}
	took := workerA.stop(syscall.SIGTERM, 45*time.Second)
	outA := workerA.output.String()
	_, afterStop, said := strings.Cut(outA, "hookflow worker: stopping")
	if !said {
		t.Errorf("worker a did not say it was stopping:\n%s", outA)
	}
	// The posts in flight at SIGTERM finish (drained) rather than being cancelled.
	t.Logf("worker a stopped %v after SIGTERM, having logged %d attempts, %d of them while draining",
		took, workerA.attempts(), len(attemptLine.FindAllString(afterStop, -1)))
	if strings.Contains(afterStop, "canceled") {
		t.Errorf("worker a cancelled work while stopping:\n%s", afterStop)
	}

	sending.Wait()
	close(sendErrs)
	for err := range sendErrs {
		t.Error(err)
	}

	// Every event delivered at least once: count the distinct webhook-ids received.
	deadline = time.Now().Add(2 * time.Minute)
	for {
		distinct, total := recv.counts()
		if distinct == events {
			t.Logf("%d events delivered in %d requests", distinct, total)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events delivered within 2 minutes of the load", distinct, events)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Every workflow closed delivered, and both workers did part of the work.
	c, err := client.Dial(client.Options{HostPort: temporalAddr, Namespace: "default", Logger: quietSDKLogger{}, DataConverter: codec.DataConverter})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ranOn := map[string]int{}
	for i := range events {
		id := workflows.WorkflowID(fmt.Sprintf("evt_prod_%03d", i))
		var res workflows.DeliveryResult
		waitWorkflow(t, c, id, 60*time.Second, &res)
		if res.Status != workflows.StatusDelivered {
			t.Errorf("%s: %s", id, res.Status)
		}
		for who := range activityIdentities(t, c, id) {
			ranOn[who]++
		}
	}
	t.Logf("workflows worked on, by worker: %v", ranOn)
	if ranOn["worker-a"] == 0 || ranOn["worker-b"] == 0 || len(ranOn) != 2 {
		t.Errorf("workflows worked on by %v; want worker-a and worker-b only", ranOn)
	}

	// Readiness: the store gone, then Temporal gone.
	if s.dropStore != nil {
		s.dropStore()
		body := waitProbe(t, apiURL+"/readyz", 503, 15*time.Second)
		if body.Checks["store"] == "ok" || body.Checks["temporal"] != "ok" {
			t.Errorf("api /readyz without its store: %+v", body)
		}
	}
	workerB.stop(syscall.SIGTERM, 45*time.Second)
	server.stop(syscall.SIGTERM, 60*time.Second)
	body2 := waitProbe(t, apiURL+"/readyz", 503, 15*time.Second)
	if body2.Checks["temporal"] == "ok" {
		t.Errorf("api /readyz without Temporal: %+v", body2)
	}
	if status, _ := probe(t, apiURL+"/livez"); status != 200 {
		t.Errorf("api /livez without Temporal: %d; it is alive all the same", status)
	}
	apiProc.stop(syscall.SIGTERM, 45*time.Second)
}

// postEvent sends one event to the API without failing the test from a goroutine.
func postEvent(apiURL, id string) (int, string) {
	body := fmt.Sprintf(`{"id":%q,"type":"customer.order.paid","data":{"customer":{"id":"cust_1"},"order":{"id":"ord_1","amount":100}}}`, id)
	resp, err := http.Post(apiURL+"/v1/events", "application/json", strings.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// activityIdentities returns, from a workflow's history, the identities of the workers
// that did its work: that completed its workflow tasks (which run the local activities,
// recorded as markers in them) or ran its regular activities.
func activityIdentities(t *testing.T, c client.Client, workflowID string) map[string]bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out := map[string]bool{}
	it := c.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatalf("history of %s: %v", workflowID, err)
		}
		if a := ev.GetWorkflowTaskCompletedEventAttributes(); a != nil {
			out[a.GetIdentity()] = true
		}
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil {
			out[a.GetIdentity()] = true
		}
	}
	return out
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
