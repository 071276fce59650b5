package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hookflow/hookflow/workflows"
)

// orderedReceiver answers 500 to a third of the attempts, chosen at random but at most
// three times per event (so that none exhausts the schedule), and records every request
// by key (data.customer.id) with its event id, in the order they arrive.
type orderedReceiver struct {
	*httptest.Server
	mu       sync.Mutex
	rnd      *rand.Rand
	failures map[string]int      // by event id
	byKey    map[string][]string // event ids of the requests, in arrival order
	answered map[string]bool     // events answered 2xx
	requests int
}

func newOrderedReceiver(t *testing.T, seed uint64) *orderedReceiver {
	r := &orderedReceiver{rnd: rand.New(rand.NewPCG(seed, 18)), failures: map[string]int{},
		byKey: map[string][]string{}, answered: map[string]bool{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var env struct {
			Event struct {
				ID string `json:"id"`
			} `json:"event"`
			Data struct {
				Customer struct {
					ID string `json:"id"`
				} `json:"customer"`
			} `json:"data"`
		}
		_ = json.Unmarshal(body, &env)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.requests++
		id, key := env.Event.ID, env.Data.Customer.ID
		r.byKey[key] = append(r.byKey[key], id)
		if r.failures[id] < 3 && r.rnd.IntN(100) < 30 {
			r.failures[id]++
			w.WriteHeader(500)
			return
		}
		r.answered[id] = true
		w.WriteHeader(200)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *orderedReceiver) delivered() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.answered)
}

// TestOrderedDelivery sends 200 events with 5 keys, one after another, to an ordered
// distribution (webhook.ordering.key data.customer.id) whose receiver fails a third of
// the attempts, on `hookflow server` + `api` + `worker`; in one run the worker is
// SIGKILLed when half are delivered and a new one started, in another the Temporal server
// is SIGKILLed then and started again on its database. Per key, every request of an
// event comes before any request of the next (so each event's first 2xx is in intake
// order, and no event's first attempt comes before the one before it is final); every
// event is delivered, and every Delivery workflow closes delivered.
func TestOrderedDelivery(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Temporal and hookflow processes")
	}
	for _, kill := range []string{"none", "worker", "server"} {
		t.Run("kill="+kill, func(t *testing.T) { orderedDelivery(t, kill) })
	}
}

// orderedCluster is startCluster's `hookflow server` + `api` + worker, with a function that
// SIGKILLs the server and starts it again on its database and port.
func orderedCluster(t *testing.T) (temporalAddr, apiURL string, startWorker func(n int, args ...string) *process, restartServer func()) {
	t.Helper()
	dir := t.TempDir()
	serverLaunch := launch{name: "server", ports: 1, args: func(ports []int) []string {
		return []string{"server", "--data-dir", dir, "--temporal-port", fmt.Sprint(ports[0]), "--ui-port", "0", "--metrics-listen", "127.0.0.1:0"}
	}, logFile: filepath.Join(dir, "temporal.log")}
	server := start(t, serverLaunch)
	temporalAddr = server.ready.Temporal
	common := []string{"--temporal-address", temporalAddr, "--database-url", filepath.Join(dir, "hookflow.db"), "--log-format", "text"}
	apiProc := start(t, launch{name: "api", ports: 1, args: func(ports []int) []string {
		return append([]string{"api", "--http", fmt.Sprintf("127.0.0.1:%d", ports[0]), "--require-api-key=false", "--metrics-listen", "127.0.0.1:0"}, common...)
	}})
	startWorker = func(n int, args ...string) *process {
		return start(t, launch{name: fmt.Sprintf("worker %d", n), args: func([]int) []string {
			return append(append([]string{"worker", "--identity", fmt.Sprintf("worker-%d", n), "--health", "", "--metrics-listen", "127.0.0.1:0"}, common...), args...)
		}})
	}
	restartServer = func() {
		_ = server.cmd.Process.Signal(syscall.SIGKILL)
		if !server.wait(30 * time.Second) {
			t.Fatal("the server did not die")
		}
		again := serverLaunch
		again.name, again.restart = "server again", server.ports
		server = start(t, again)
	}
	return temporalAddr, apiProc.ready.API, startWorker, restartServer
}

func orderedDelivery(t *testing.T, kill string) {
	const events, keys = 200, 5
	temporalAddr, apiURL, startWorker, restartServer := orderedCluster(t)
	worker := startWorker(1, loopbackTargets)
	recv := newOrderedReceiver(t, 7)
	status, body := call(t, "POST", apiURL+"/v1/distributions", map[string]any{
		"name": "Ordered", "trigger": map[string]any{"events": []string{"customer.order.paid"}},
		"webhook": map[string]any{"event_name": "Order-paid", "url": recv.URL + "/hooks", "timeout": "5s",
			"retry_schedule": []string{"1s", "1s", "1s", "1s", "1s", "1s"},
			"ordering":       map[string]any{"key": "data.customer.id"}},
	})
	if status != 201 {
		t.Fatalf("create distribution: %d %s", status, body)
	}
	var created struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &created); err != nil {
		t.Fatal(err)
	}
	distrID := created.ID
	// Unordered beside it: not held by the ordered one.
	plain := newReceiver(t)
	if status, body := call(t, "POST", apiURL+"/v1/distributions", map[string]any{
		"name": "Plain", "trigger": map[string]any{"events": []string{"customer.order.paid"}},
		"webhook": map[string]any{"event_name": "Order-paid", "url": plain.URL + "/hooks"},
	}); status != 201 {
		t.Fatalf("create distribution: %d %s", status, body)
	}

	start := time.Now()
	intake := map[string][]string{} // event ids by key, in intake order
	killed := make(chan struct{})
	intakeDone := make(chan struct{})
	atKill := 0 // events delivered when the process was killed
	go func() {
		defer close(killed)
		if kill == "none" {
			return
		}
		if kill == "server" {
			<-intakeDone // the API answers no intake while the server is down
		}
		for recv.delivered() < events/2 {
			time.Sleep(20 * time.Millisecond)
		}
		atKill = recv.delivered()
		if kill == "server" {
			restartServer()
			return
		}
		_ = worker.cmd.Process.Signal(syscall.SIGKILL)
		if !worker.wait(30 * time.Second) {
			t.Error("the worker did not die")
		}
		worker = startWorker(2, loopbackTargets)
	}()
	for i := range events {
		id, key := fmt.Sprintf("evt_ord_%03d", i), fmt.Sprintf("cust_%d", i%keys)
		body := fmt.Sprintf(`{"id":%q,"type":"customer.order.paid","data":{"customer":{"id":%q},"order":{"id":"ord_%d","amount":100}}}`, id, key, i)
		resp, err := http.Post(apiURL+"/v1/events", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 202 {
			t.Fatalf("event %d: %d %s", i, resp.StatusCode, b)
		}
		intake[key] = append(intake[key], id)
		if kill == "worker" && i == events/4 {
			// Slow the intake down a little after a quarter, so that the kill falls while
			// events still arrive and others are queued.
			time.Sleep(time.Second)
		}
	}
	intakeTime := time.Since(start)
	close(intakeDone)
	waitFor(t, 4*time.Minute, func() bool { return recv.delivered() >= events })
	<-killed
	elapsed := time.Since(start)
	if kill != "none" && atKill >= events {
		t.Errorf("the %s was killed when all %d events were delivered, not in the middle", kill, atKill)
	}

	recv.mu.Lock()
	for key, want := range intake {
		// The requests of a key, with each event's repeats folded: intake order exactly.
		var got []string
		for _, id := range recv.byKey[key] {
			if len(got) == 0 || got[len(got)-1] != id {
				got = append(got, id)
			}
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("key %s: requests in the order\n%v\nwant each event's requests together, in intake order\n%v", key, got, want)
		}
	}
	requests, failures := recv.requests, 0
	for _, n := range recv.failures {
		failures += n
	}
	recv.mu.Unlock()
	if d, _ := plain.counts(); d != events {
		t.Errorf("%d of %d events reached the unordered distribution", d, events)
	}

	c := dialTemporal(t, temporalAddr, nil)
	var running, delivered int64
	waitFor(t, time.Minute, func() bool {
		running = countWorkflows(c, "WorkflowType = 'Delivery' AND ExecutionStatus = 'Running'")
		delivered = countWorkflows(c, "WorkflowType = 'Delivery' AND ExecutionStatus = 'Completed' AND HookflowStatus = 'delivered'")
		return running == 0 && delivered == events
	})
	streams := countWorkflows(c, "WorkflowType = 'OrderedStream'")
	if kill == "none" {
		// For the replay tests: an event that waited behind another and failed once, and
		// the stream of its key.
		recv.mu.Lock()
		var recorded string
		for _, id := range intake["cust_1"][1:] {
			if recv.failures[id] == 1 {
				recorded = id
				break
			}
		}
		recv.mu.Unlock()
		if recorded != "" {
			recordWorkflowHistory(t, c, "event/"+recorded, "delivery_NAME_ordered.history.json")
		}
		recordWorkflowHistory(t, c, workflows.StreamID(distrID, "cust_1"), "stream_NAME.history.json")
	}
	report(t, "ordered: %d events on %d keys, %d requests (%d answered 500), intake %v, all delivered in %v, killed: %s (at %d delivered); %d stream runs",
		events, keys, requests, failures, intakeTime.Round(time.Millisecond), elapsed.Round(time.Second), kill, atKill, streams)
	if streams != keys {
		t.Errorf("%d stream workflows, want one per key (%d)", streams, keys)
	}
}
