package app

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestBannerAndReadyLine: the banner's labels stand in one column, and the ready line that
// follows it reads back as what the process said.
func TestBannerAndReadyLine(t *testing.T) {
	var out bytes.Buffer
	p := newProcess("dev", &out)
	b := &Banner{Title: "hookflow dev is running", Notes: []string{"Ctrl-C stops it."}}
	b.Row("API", "%s", "http://127.0.0.1:7280")
	b.Row("Signing secret", "whsec_%s", "x")
	b.Warn("listens on %s", "0.0.0.0")
	p.ready(b, Ready{API: "http://127.0.0.1:7280", Temporal: "127.0.0.1:7233", ProjectID: "proj_1"})
	want := "hookflow dev is running\n" +
		"  API             http://127.0.0.1:7280\n" +
		"  Signing secret  whsec_x\n" +
		"  WARNING: listens on 0.0.0.0\n" +
		"Ctrl-C stops it.\n"
	text := out.String()
	if !strings.HasPrefix(text, want) {
		t.Errorf("banner:\n%s\nwant:\n%s", text, want)
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	r, ok := ParseReady(lines[len(lines)-1])
	if !ok || r != (Ready{Process: "dev", API: "http://127.0.0.1:7280", Temporal: "127.0.0.1:7233", ProjectID: "proj_1"}) {
		t.Errorf("ready line %q reads as %+v, %v", lines[len(lines)-1], r, ok)
	}
	for _, line := range lines[:len(lines)-1] {
		if _, ok := ParseReady(line); ok {
			t.Errorf("banner line %q reads as a ready line", line)
		}
	}
	if _, ok := ParseReady(ReadyPrefix + "{not json"); ok {
		t.Error("a broken ready line reads")
	}
}

// TestProcessShape: a taken port is refused in one message naming the setting; what was
// opened is closed last first; a server that fails ends the run with its error, after the
// drain; readiness turns to stopping.
func TestProcessShape(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	p := newProcess("api", &bytes.Buffer{})
	if _, err := p.listen("--http", taken.Addr().String()); err == nil ||
		!strings.HasPrefix(err.Error(), "--http "+taken.Addr().String()+": cannot listen (") || !strings.HasSuffix(err.Error(), "choose another address with --http") {
		t.Errorf("taken port: %v", err)
	}

	var order []string
	p.onClose(func() { order = append(order, "first") })
	p.onClose(func() { order = append(order, "second") })
	l, err := p.listen("--http", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.health = &health{timeout: time.Second}
	p.serve("API server", l, http.NotFoundHandler())
	resp, err := http.Get("http://" + l.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	boom := errors.New("boom")
	p.fail(boom)
	p.fail(errors.New("later")) // the first failure is the one reported
	drained := false
	if err := p.run(context.Background(), time.Second, func() { drained = true }); !errors.Is(err, boom) || !drained {
		t.Errorf("run: %v, drained %v", err, drained)
	}
	if !p.health.stopping.Load() {
		t.Error("readiness does not say stopping")
	}
	p.close()
	p.close()
	if strings.Join(order, ",") != "second,first" {
		t.Errorf("closed in the order %v", order)
	}
	if _, err := http.Get("http://" + l.Addr().String() + "/"); err == nil {
		t.Error("the server still answers after the run")
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := newProcess("server", &bytes.Buffer{}).run(ctx, time.Second, nil); err != nil {
		t.Errorf("a stop that was asked for: %v", err)
	}
}

// TestMetricsListener: /metrics is served on a listener of its own and nothing else is;
// an address without a port is refused naming the flag; empty serves none.
func TestMetricsListener(t *testing.T) {
	p := newProcess("api", &bytes.Buffer{})
	defer p.close()
	if _, err := p.listenMetrics("no-port"); err == nil || !strings.HasPrefix(err.Error(), `--metrics-listen "no-port": want host:port`) {
		t.Errorf("no port: %v", err)
	}
	if l, err := p.listenMetrics(""); l != nil || err != nil {
		t.Errorf("empty: %v, %v", l, err)
	}
	if url, row := p.serveMetrics(nil, "x"); url != "" || row != "off (--metrics-listen)" {
		t.Errorf("off: %q %q", url, row)
	}
	l, err := p.listenMetrics("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url, row := p.serveMetrics(l, "Go, process")
	if want := "http://" + l.Addr().String() + "/metrics"; url != want || row != want+" (Prometheus: Go, process)" {
		t.Errorf("url %q, row %q", url, row)
	}
	for _, c := range []struct {
		method, path string
		status       int
		has          string
	}{
		{"GET", "/metrics", 200, "\nprocess_cpu_seconds_total "},
		{"GET", "/", 404, ""},
		{"GET", "/readyz", 404, ""},
		{"POST", "/metrics", 405, ""},
	} {
		req, _ := http.NewRequest(c.method, "http://"+l.Addr().String()+c.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || !strings.Contains(string(body), c.has) {
			t.Errorf("%s %s: %d, want %d with %q:\n%.300s", c.method, c.path, resp.StatusCode, c.status, c.has, body)
		}
	}
}
