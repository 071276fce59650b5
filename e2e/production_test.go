package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookflow/hookflow/codec"
	"github.com/hookflow/hookflow/devserver"
	"github.com/hookflow/hookflow/internal/pgtest"
	"github.com/hookflow/hookflow/workflows"
)

var (
	attemptLine  = regexp.MustCompile(`(?m)msg=attempt `)
	answeredLine = regexp.MustCompile(`(?m)msg=attempt .*status=200( |$)`)
)

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
	server := start(t, launch{name: "server", ports: nports, args: func(ports []int) []string {
		uiPort := 0
		if s.webUI {
			uiPort = ports[1]
		}
		args := []string{"server", "--data-dir", s.dataDir, "--temporal-port", fmt.Sprint(ports[0]), "--ui-port", fmt.Sprint(uiPort),
			"--metrics-listen", "127.0.0.1:0"}
		if s.temporalURL != "" {
			args = append(args, "--temporal-database-url", s.temporalURL)
		}
		return args
	}})
	temporalAddr := fmt.Sprintf("127.0.0.1:%d", server.ports[0])
	// The server's own metrics, on its metrics listener.
	if status, text := waitMetrics(t, server.ready.Metrics, `(?m)^service_requests\{`); status != 200 ||
		!regexp.MustCompile(`(?m)^service_requests\{`).MatchString(text) || !strings.Contains(text, "\nprocess_cpu_seconds_total ") {
		t.Errorf("GET %q, the server's metrics: %d\n%.2000s", server.ready.Metrics, status, text)
	}
	if !strings.Contains(server.output.String(), "Temporal        "+temporalAddr) {
		t.Errorf("server banner does not name %s:\n%s", temporalAddr, server.output)
	}
	wantUI := ""
	if s.webUI {
		wantUI = fmt.Sprintf("http://127.0.0.1:%d", server.ports[1])
	}
	if r := server.ready; r.Process != "server" || r.Temporal != temporalAddr || r.UI != wantUI || r.DataDir != s.dataDir {
		t.Errorf("server's ready line %+v, want Temporal %s, Web UI %q, data dir %s", r, temporalAddr, wantUI, s.dataDir)
	}
	if s.webUI {
		status, body := call(t, "GET", server.ready.UI+"/api/v1/namespaces/default/search-attributes", nil)
		if status != 200 || !strings.Contains(string(body), "HookflowStatus") {
			t.Errorf("Web UI: search attributes %d %s", status, body)
		}
	}

	common := []string{"--temporal-address", temporalAddr, "--database-url", s.storeURL, "--log-format", "text"}
	apiProc := start(t, launch{name: "api", ports: 1, args: func(ports []int) []string {
		return append([]string{"api", "--http", fmt.Sprintf("127.0.0.1:%d", ports[0]), "--require-api-key=false",
			"--metrics-listen", "127.0.0.1:0"}, common...)
	}})
	apiURL := apiProc.ready.API
	// The metrics are on a listener of their own, not on the public API's.
	if status, body := call(t, "GET", apiURL+"/metrics", nil); status != 404 || strings.Contains(string(body), "process_cpu_seconds_total") {
		t.Errorf("GET /metrics on the API's listener: %d %s", status, body)
	}
	if status, body := call(t, "GET", apiProc.ready.Metrics, nil); status != 200 || !strings.Contains(string(body), "\nprocess_cpu_seconds_total ") ||
		!strings.Contains(string(body), "\ntemporal_request_total{") {
		t.Errorf("GET %q, api's metrics: %d %s", apiProc.ready.Metrics, status, body)
	}
	if want := fmt.Sprintf("http://127.0.0.1:%d", apiProc.ports[0]); apiURL != want || apiProc.ready.Temporal != temporalAddr {
		t.Errorf("api's ready line %+v, want API %s and Temporal %s", apiProc.ready, want, temporalAddr)
	}

	// Worker a from flags; worker b from a config file and the environment, as a
	// deployment would configure it. Each serves its health endpoint on a port of its own.
	workerA := start(t, launch{name: "worker a", ports: 1, args: func(ports []int) []string {
		return append([]string{"worker", "--identity", "worker-a", "--health", fmt.Sprintf("127.0.0.1:%d", ports[0]),
			"--allow-target", "127.0.0.0/8", "--stop-timeout", "30s", "--metrics-listen", "127.0.0.1:0"}, common...)
	}})
	config := filepath.Join(t.TempDir(), "hookflow.yaml")
	writeFile(t, config, fmt.Sprintf("temporal-address: %s\ndatabase-url: %q\nallow-target:\n  - 127.0.0.0/8\nlog-format: text\nidentity: overridden-by-env\nhttp: 127.0.0.1:1\nmetrics-listen: 127.0.0.1:1\n",
		temporalAddr, s.storeURL))
	workerB := start(t, launch{name: "worker b", ports: 2,
		args: func([]int) []string { return []string{"worker"} },
		env: func(ports []int) []string {
			return []string{"HOOKFLOW_CONFIG=" + config, "HOOKFLOW_IDENTITY=worker-b", fmt.Sprintf("HOOKFLOW_HEALTH=127.0.0.1:%d", ports[0]),
				fmt.Sprintf("HOOKFLOW_METRICS_LISTEN=127.0.0.1:%d", ports[1])}
		}})
	if want := fmt.Sprintf("http://127.0.0.1:%d/metrics", workerB.ports[1]); workerB.ready.Metrics != want {
		t.Errorf("worker b's metrics at %q, want %s from HOOKFLOW_METRICS_LISTEN over the config file", workerB.ready.Metrics, want)
	}
	if !strings.Contains(workerB.output.String(), "Identity        worker-b") {
		t.Errorf("worker b does not take its identity from HOOKFLOW_IDENTITY:\n%s", workerB.output)
	}
	for _, w := range []*process{workerA, workerB} {
		if want := fmt.Sprintf("http://127.0.0.1:%d", w.ports[0]); w.ready.Process != "worker" || w.ready.Health != want || w.ready.Temporal != temporalAddr {
			t.Errorf("%s's ready line %+v, want health %s and Temporal %s", w.name, w.ready, want, temporalAddr)
		}
	}

	for _, u := range []string{apiURL, workerA.ready.Health, workerB.ready.Health} {
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
	// Stop worker a with POSTs of its own in flight: the receiver holds every request, so
	// that the attempts both workers are making stay in flight while a is told to stop.
	// With 16 held at once, the chance that none is worker a's is about 2^-16.
	recv.hold()
	waitFor(t, 30*time.Second, func() bool { return recv.holding() >= 16 })
	attemptsBefore := workerA.attempts()
	stopBegan := time.Now()
	_ = workerA.cmd.Process.Signal(syscall.SIGTERM)
	// Draining: a second later it has said it is stopping and is still running, waiting
	// for its held POSTs.
	waitFor(t, 10*time.Second, func() bool { return strings.Contains(workerA.output.String(), "hookflow worker: stopping") })
	if workerA.wait(time.Second) {
		t.Errorf("worker a ended within a second of SIGTERM while %d POSTs were held, without waiting for its own:\n%s", recv.holding(), workerA.output)
	}
	recv.release()
	if !workerA.wait(45 * time.Second) {
		t.Fatalf("worker a did not stop within 45s of SIGTERM")
	}
	if workerA.err != nil {
		t.Errorf("worker a ended with %v after SIGTERM", workerA.err)
	}
	took := time.Since(stopBegan)
	outA := workerA.output.String()
	_, afterStop, said := strings.Cut(outA, "hookflow worker: stopping")
	if !said {
		t.Errorf("worker a did not say it was stopping:\n%s", outA)
	}
	// The POSTs in flight at SIGTERM finish (drained), answered 200, rather than being
	// cancelled.
	drained := attemptLine.FindAllString(afterStop, -1)
	t.Logf("worker a stopped %v after SIGTERM, having logged %d attempts, %d of them while draining",
		took, workerA.attempts(), len(drained))
	if len(drained) == 0 || workerA.attempts() <= attemptsBefore {
		t.Errorf("worker a logged no attempt after SIGTERM: the POSTs it had in flight were not drained:\n%s", afterStop)
	}
	if n := len(answeredLine.FindAllString(afterStop, -1)); n != len(drained) {
		t.Errorf("worker a logged %d attempts while draining, %d of them answered 200:\n%s", len(drained), n, afterStop)
	}
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
	c := dialTemporal(t, temporalAddr, codec.DataConverter)
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
