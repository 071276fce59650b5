package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/app"
	"github.com/hookflow/hookflow/cli"
	"github.com/hookflow/hookflow/devserver"
)

// How the tests run hookflow: as processes (the test binary re-executed as `hookflow`),
// each started by one launcher (start) that waits for its ready line; `hookflow dev`
// (startDev) and the server + api + worker set (startCluster) on top of it; and command
// lines in-process (runCLI) through cli.Run, as a user types them.

// childEnv makes the test binary run hookflow's main instead of the tests, so the
// end-to-end tests start real hookflow processes without a separate build.
const childEnv = "HOOKFLOW_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(cli.Main("dev"))
	}
	os.Exit(m.Run())
}

// lockedBuffer is a process's output, written by the goroutines that read its streams
// while the test reads it.
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

// process is a running hookflow process (dev, server, api, worker): the test binary run as
// `hookflow args...`.
type process struct {
	t    *testing.T
	name string // "dev", "worker a", ...: names the process in messages
	cmd  *exec.Cmd
	// ports are the loopback ports it was started on, in the order its launch asked for.
	ports []int
	// ready is what its ready line said.
	ready  app.Ready
	output *lockedBuffer // stdout and stderr
	done   chan error
	err    error // the exit, once done
	exited bool
}

// launch says how to start a process.
type launch struct {
	name string
	// ports is how many free loopback ports to pick for args; restart, when set, are the
	// ports to use instead (those of the process this one restarts), and then the start is
	// not tried again on others.
	ports   int
	restart []int
	// args is the command line after `hookflow`, env extra environment variables (may be
	// nil); both are called again for each attempt.
	args func(ports []int) []string
	env  func(ports []int) []string
	// readyTimeout bounds the wait for the ready line (two minutes when zero).
	readyTimeout time.Duration
	// logFile is a log to show the end of when the process ends before it is ready, such as
	// Temporal's temporal.log; may be empty.
	logFile string
}

// startAttempts is how often start tries fresh ports: other test processes on the machine
// open ports too, and one may take a port between the choice and the listen; the Temporal
// server then ends the process (through a fatal log in temporal.log).
const startAttempts = 3

// start runs the test binary as hookflow the way l says and waits for its ready line. When
// it ends before it is ready, start tries again on fresh ports (logged), up to
// startAttempts times; then, or when it is not ready within the timeout, the test fails.
// The process is killed at the test's cleanup, and its output logged if the test failed.
func start(t *testing.T, l launch) *process {
	t.Helper()
	for attempt := 1; ; attempt++ {
		ports := l.restart
		if ports == nil {
			ports = make([]int, l.ports)
			for i := range ports {
				ports[i] = freePort(t)
			}
		}
		p, err := startOnce(t, l, ports)
		if err == nil {
			return p
		}
		if l.restart != nil || l.ports == 0 || attempt == startAttempts {
			t.Fatal(err)
		}
		t.Logf("attempt %d on ports %v: %v; again on fresh ports", attempt, ports, err)
	}
}

// startOnce starts the process on ports and waits until it is ready; the error tells, with
// its output, that it ended before. Not ready within the timeout fails the test.
func startOnce(t *testing.T, l launch, ports []int) (*process, error) {
	t.Helper()
	p := &process{t: t, name: l.name, ports: ports, output: &lockedBuffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command(os.Args[0], l.args(ports)...)
	p.cmd.Env = append(os.Environ(), childEnv+"=1")
	if l.env != nil {
		p.cmd.Env = append(p.cmd.Env, l.env(ports)...)
	}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stderr = p.output
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	isReady := make(chan app.Ready, 1)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		ready := false
		for sc.Scan() {
			fmt.Fprintln(p.output, sc.Text())
			if r, ok := app.ParseReady(sc.Text()); ok && !ready {
				ready = true
				isReady <- r
			}
		}
		// A line too long for the scanner: keep reading, so that the process never blocks
		// on a full pipe.
		_, _ = io.Copy(p.output, stdout)
	}()
	go func() {
		<-scanned // Wait closes the pipe: read it all first
		p.done <- p.cmd.Wait()
	}()
	timeout := l.readyTimeout
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	select {
	case p.ready = <-isReady:
	case err := <-p.done:
		p.err, p.exited = err, true
		log := ""
		if l.logFile != "" {
			log = fmt.Sprintf("\n%s: %s", filepath.Base(l.logFile), tail(l.logFile, 2000))
		}
		return nil, fmt.Errorf("hookflow %s exited before it was ready: %v\n%s%s", l.name, err, p.output, log)
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		t.Fatalf("hookflow %s not ready after %v\n%s", l.name, timeout, p.output)
	}
	t.Cleanup(func() {
		if !p.exited {
			_ = p.cmd.Process.Kill()
			if !p.wait(30 * time.Second) {
				t.Errorf("hookflow %s did not end within 30s of SIGKILL", p.name)
			}
		}
		if t.Failed() {
			t.Logf("output of hookflow %s:\n%s", p.name, p.output)
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

// stop sends sig and fails the test unless the process ends within timeout (else it is
// killed) and, for a signal it may handle (any but SIGKILL), ends successfully. It returns
// how long the stop took; a process that has already ended is left as it is. It reports
// with Errorf, not Fatalf: a subtest may stop a process its parent started.
func (p *process) stop(sig syscall.Signal, timeout time.Duration) time.Duration {
	p.t.Helper()
	if p.exited {
		return 0
	}
	start := time.Now()
	_ = p.cmd.Process.Signal(sig)
	if !p.wait(timeout) {
		_ = p.cmd.Process.Kill()
		p.wait(10 * time.Second)
		p.t.Errorf("hookflow %s did not stop within %v of %v", p.name, timeout, sig)
		return time.Since(start)
	}
	if p.err != nil && sig != syscall.SIGKILL {
		p.t.Errorf("hookflow %s ended with %v after %v", p.name, p.err, sig)
	}
	return time.Since(start)
}

func freePort(t *testing.T) int {
	t.Helper()
	p, err := devserver.FreePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// devProcess is a running `hookflow dev`.
type devProcess struct {
	*process
	dataDir string
	// api, temporal, ui and projectID are from its ready line; secret is the signing
	// secret, from its API.
	api, temporal, ui, projectID string
	secret                       string
	// temporalDB is the PostgreSQL database Temporal keeps its state in, when the suite runs
	// on PostgreSQL (HOOKFLOW_TEST_TEMPORAL_POSTGRES_DSN); empty on SQLite.
	temporalDB string
}

// startDev starts `hookflow dev` on fresh ports (or those of prev, to restart it, with
// the same Temporal database) and waits until it is ready.
func startDev(t *testing.T, dataDir string, prev *devProcess, extraArgs ...string) *devProcess {
	t.Helper()
	return startDevEnv(t, dataDir, prev, nil, extraArgs...)
}

// startDevEnv is startDev with env added to the process's environment (NAME=value).
func startDevEnv(t *testing.T, dataDir string, prev *devProcess, env []string, extraArgs ...string) *devProcess {
	t.Helper()
	d := &devProcess{dataDir: dataDir}
	l := launch{name: "dev", ports: 3, readyTimeout: 90 * time.Second, logFile: filepath.Join(dataDir, "temporal.log"),
		env: func([]int) []string { return env },
		args: func(ports []int) []string {
			if prev == nil {
				// A database of its own for each attempt: a failed one may have left its
				// schema half made.
				d.temporalDB = temporalDatabase(t)
			}
			args := []string{"dev", "--data-dir", dataDir,
				"--temporal-port", fmt.Sprint(ports[0]), "--ui-port", fmt.Sprint(ports[1]),
				"--http", fmt.Sprintf("127.0.0.1:%d", ports[2])}
			args = append(args, extraArgs...)
			if d.temporalDB != "" {
				args = append(args, "--temporal-database-url", d.temporalDB)
			}
			return args
		}}
	if prev != nil {
		l.restart = prev.ports
		d.temporalDB = prev.temporalDB
	}
	d.process = start(t, l)
	r := d.ready
	d.api, d.temporal, d.ui, d.projectID = r.API, r.Temporal, r.UI, r.ProjectID
	want := app.Ready{Process: "dev", API: fmt.Sprintf("http://127.0.0.1:%d", d.ports[2]), Temporal: fmt.Sprintf("127.0.0.1:%d", d.ports[0]),
		UI: fmt.Sprintf("http://127.0.0.1:%d", d.ports[1]), DataDir: dataDir}
	if r.Process != want.Process || r.API != want.API || r.Temporal != want.Temporal || r.UI != want.UI || r.DataDir != want.DataDir ||
		r.ProjectID == "" {
		t.Errorf("hookflow dev's ready line %+v, want %+v and a project id", r, want)
	}

	status, body := call(t, "GET", d.api+"/v1/secrets", nil)
	var secrets struct {
		Current string `json:"current"`
	}
	mustJSON(t, body, &secrets)
	if status != 200 || !strings.HasPrefix(secrets.Current, "whsec_") {
		t.Fatalf("GET /v1/secrets of hookflow dev: %d %s", status, body)
	}
	d.secret = secrets.Current
	// The banner shows the user the project id and the secret that signs.
	for label, value := range map[string]string{"Project id": d.projectID, "Signing secret": d.secret} {
		if !regexp.MustCompile(`(?m)^  ` + label + ` +` + regexp.QuoteMeta(value) + `$`).MatchString(d.output.String()) {
			t.Errorf("hookflow dev's banner does not show the %s %s:\n%s", label, value, d.output)
		}
	}
	return d
}

// client is a Temporal client of d's namespace, without a codec.
func (d *devProcess) client(t *testing.T) client.Client {
	t.Helper()
	return dialTemporal(t, d.temporal, nil)
}

// startCluster runs `hookflow server` (Temporal on SQLite under a temporary dir, or on
// PostgreSQL when HOOKFLOW_TEST_TEMPORAL_POSTGRES_DSN is set) and an open
// `hookflow api` on a store beside it, and returns their addresses and a function that
// starts worker n on them with args added to its command line (--allow-target 127.0.0.0/8
// for the receivers of a test): the three-process set of the fault and bulk tests.
func startCluster(t *testing.T) (temporalAddr, apiURL string, startWorker func(n int, args ...string) *process) {
	t.Helper()
	dir := t.TempDir()
	server := start(t, launch{name: "server", ports: 1, args: func(ports []int) []string {
		args := []string{"server", "--data-dir", dir, "--temporal-port", fmt.Sprint(ports[0]), "--ui-port", "0", "--metrics-listen", "127.0.0.1:0"}
		// On PostgreSQL when the suite runs so: a database of its own for each attempt, as
		// for startDev.
		if temporalURL := temporalDatabase(t); temporalURL != "" {
			args = append(args, "--temporal-database-url", temporalURL)
		}
		return args
	}})
	temporalAddr = server.ready.Temporal
	common := []string{"--temporal-address", temporalAddr, "--database-url", filepath.Join(dir, "hookflow.db"), "--log-format", "text"}
	apiProc := start(t, launch{name: "api", ports: 1, args: func(ports []int) []string {
		return append([]string{"api", "--http", fmt.Sprintf("127.0.0.1:%d", ports[0]), "--require-api-key=false", "--metrics-listen", "127.0.0.1:0"}, common...)
	}})
	apiURL = apiProc.ready.API
	return temporalAddr, apiURL, func(n int, args ...string) *process {
		return start(t, launch{name: fmt.Sprintf("worker %d", n), args: func([]int) []string {
			return append(append([]string{"worker", "--identity", fmt.Sprintf("worker-%d", n), "--health", "", "--metrics-listen", "127.0.0.1:0"}, common...), args...)
		}})
	}
}

// runCLI runs a hookflow command line in-process against d's API and returns its output.
func runCLI(t *testing.T, d *devProcess, args ...string) string {
	t.Helper()
	out, err := runCLIOutput(d, args...)
	if err != nil {
		t.Fatalf("hookflow %v: %v\n%s", args, err, out)
	}
	return out
}

// runCLIErr runs a hookflow command line in-process against d's API and returns its error.
func runCLIErr(t *testing.T, d *devProcess, args ...string) error {
	t.Helper()
	_, err := runCLIOutput(d, args...)
	return err
}

// runCLIStdout runs a hookflow command line in-process against d's API and returns what it
// printed on stdout alone, for output that is parsed.
func runCLIStdout(t *testing.T, d *devProcess, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if err := cli.Run(context.Background(), append(args, "--api", d.api), strings.NewReader(""), &stdout, &stderr); err != nil {
		t.Fatalf("hookflow %v: %v\n%s%s", args, err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

func runCLIOutput(d *devProcess, args ...string) (string, error) {
	var out bytes.Buffer
	err := cli.Run(context.Background(), append(args, "--api", d.api), strings.NewReader(""), &out, &out)
	return out.String(), err
}

// waitFor polls cond until it holds or timeout passes (then the test fails).
func waitFor(t *testing.T, timeout time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("not true within %v", timeout)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
