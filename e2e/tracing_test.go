package e2e

import (
	"compress/gzip"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/hookflow/hookflow/workflows"
)

// otlpReceiver is an OpenTelemetry collector's OTLP/HTTP trace endpoint in the test: it
// decodes every ExportTraceServiceRequest posted to /v1/traces and keeps its spans.
type otlpReceiver struct {
	*httptest.Server
	mu      sync.Mutex
	spans   []receivedSpan
	exports int
}

// receivedSpan is one exported span with what the tests read of it.
type receivedSpan struct {
	traceID, spanID, parentID string
	name                      string
	kind                      tracepb.Span_SpanKind
	attrs                     map[string]string
	resource                  map[string]string
	statusError               bool
}

func newOTLPReceiver(t *testing.T) *otlpReceiver {
	o := &otlpReceiver{}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" {
			http.Error(w, "not an OTLP trace export", http.StatusNotFound)
			return
		}
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		raw, err := io.ReadAll(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var req collectortrace.ExportTraceServiceRequest
		if err := proto.Unmarshal(raw, &req); err != nil {
			t.Errorf("OTLP receiver: %s body does not decode as ExportTraceServiceRequest: %v", r.Header.Get("Content-Type"), err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var got []receivedSpan
		for _, rs := range req.GetResourceSpans() {
			res := attrMap(rs.GetResource().GetAttributes())
			for _, ss := range rs.GetScopeSpans() {
				for _, s := range ss.GetSpans() {
					got = append(got, receivedSpan{
						traceID: hex.EncodeToString(s.GetTraceId()), spanID: hex.EncodeToString(s.GetSpanId()),
						parentID: hex.EncodeToString(s.GetParentSpanId()), name: s.GetName(), kind: s.GetKind(),
						attrs: attrMap(s.GetAttributes()), resource: res,
						statusError: s.GetStatus().GetCode() == tracepb.Status_STATUS_CODE_ERROR,
					})
				}
			}
		}
		o.mu.Lock()
		o.spans = append(o.spans, got...)
		o.exports++
		o.mu.Unlock()
		out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	t.Cleanup(o.Close)
	return o
}

// attrMap is OTLP attributes as strings.
func attrMap(kvs []*commonpb.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		v := kv.GetValue()
		switch x := v.GetValue().(type) {
		case *commonpb.AnyValue_StringValue:
			m[kv.GetKey()] = x.StringValue
		case *commonpb.AnyValue_IntValue:
			m[kv.GetKey()] = fmt.Sprint(x.IntValue)
		case *commonpb.AnyValue_BoolValue:
			m[kv.GetKey()] = fmt.Sprint(x.BoolValue)
		default:
			m[kv.GetKey()] = v.String()
		}
	}
	return m
}

// received is a copy of the spans so far, and how many exports brought them.
func (o *otlpReceiver) received() ([]receivedSpan, int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]receivedSpan(nil), o.spans...), o.exports
}

// waitSpans waits up to timeout until find returns true on the spans received so far.
func (o *otlpReceiver) waitSpans(t *testing.T, timeout time.Duration, what string, find func([]receivedSpan) bool) []receivedSpan {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		spans, _ := o.received()
		if find(spans) {
			return spans
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %v; spans received:\n%s", what, timeout, describeSpans(spans))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func describeSpans(spans []receivedSpan) string {
	var b strings.Builder
	for _, s := range spans {
		fmt.Fprintf(&b, "  %s %s parent %s %q %v %v\n", s.traceID, s.spanID, s.parentID, s.name, s.kind, s.attrs)
	}
	return b.String()
}

// tracedDistribution makes a live distribution of customer.order.paid events to target
// with webhook.trace_context as given and a retry after 8 s.
func tracedDistribution(t *testing.T, d *devProcess, name, target string, traceContext bool) string {
	t.Helper()
	status, body := call(t, "POST", d.api+"/v1/distributions", map[string]any{
		"name": name, "status": "live",
		"trigger": map[string]any{"events": []string{"customer.order.paid"}},
		"webhook": map[string]any{"event_name": "Order-paid", "url": target, "retry_schedule": []string{"8s"},
			"trace_context": traceContext},
	})
	if status != 201 {
		t.Fatalf("create distribution %s: %d %s", name, status, body)
	}
	var out distributionOut
	mustJSON(t, body, &out)
	return out.ID
}

// tracingEnv is the environment of a dev that exports its spans to o, in small batches.
func tracingEnv(o *otlpReceiver) []string {
	return []string{"OTEL_EXPORTER_OTLP_ENDPOINT=" + o.URL, "OTEL_BSP_SCHEDULE_DELAY=100", "OTEL_SERVICE_NAME=hookflow-e2e"}
}

var traceparentPattern = regexp.MustCompile(`^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$`)

// TestTracing: with OTEL_EXPORTER_OTLP_ENDPOINT set, one trace, continued from the
// traceparent the event came in with, spans the API request, the workflow's start and
// run, the Post activity and each attempt's HTTP POST, also the retry a restarted dev
// makes; the opted-in receiver gets a traceparent of that trace on both attempts (the
// span id of that attempt's POST), the one beside it gets none; no span holds the query
// string, a header or the signing secret.
func TestTracing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts hookflow dev")
	}
	otlp := newOTLPReceiver(t)
	dir := t.TempDir()
	d := startDevEnv(t, dir, nil, tracingEnv(otlp))
	if !regexp.MustCompile(`(?m)^  Tracing +OTLP http/protobuf to ` + regexp.QuoteMeta(otlp.URL)).MatchString(d.output.String()) {
		t.Errorf("the banner does not say where spans go:\n%s", d.output)
	}
	opted, plain := newReceiver(t, 500, 200), newReceiver(t, 500, 200)
	const token = "tok3n-in-the-query"
	optedID := tracedDistribution(t, d, "Traced", opted.URL+"/hook?token="+token, true)
	plainID := tracedDistribution(t, d, "Untraced", plain.URL+"/hook", false)

	const callerTrace, callerSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	status, body, _ := callFull(t, "POST", d.api+"/v1/events",
		`{"id":"evt_traced","type":"customer.order.paid","data":{"customer":{"id":"cust_1"},"order":{"id":"ord_1","amount":100}}}`,
		map[string]string{"traceparent": "00-" + callerTrace + "-" + callerSpan + "-01", "baggage": "secret=not-for-history"})
	if status != 202 {
		t.Fatalf("POST /v1/events: %d %s", status, body)
	}
	var h handleOut
	mustJSON(t, body, &h)

	// The first attempts answer 500; dev stops before the retry and a new dev makes it.
	opted.waitRequests(t, 1, 30*time.Second)
	plain.waitRequests(t, 1, 30*time.Second)
	d.stop(syscall.SIGTERM, 30*time.Second)
	d2 := startDevEnv(t, dir, d, tracingEnv(otlp))
	var res workflows.DeliveryResult
	waitWorkflow(t, d2.client(t), h.WorkflowID, 90*time.Second, &res)
	if res.Status != workflows.StatusDelivered {
		t.Fatalf("result %+v", res)
	}
	recordWorkflowHistory(t, d2.client(t), h.WorkflowID, "delivery_NAME_traced.history.json")

	posts := func(spans []receivedSpan) map[string]receivedSpan { // by distribution and attempt
		m := map[string]receivedSpan{}
		for _, s := range spans {
			if s.kind == tracepb.Span_SPAN_KIND_CLIENT && s.name == "POST" {
				m[s.attrs["hookflow.distribution_id"]+"/"+s.attrs["hookflow.attempt"]] = s
			}
		}
		return m
	}
	// The restarted dev exports the retry's RunWorkflow span in a batch of its own, which
	// may come after the POST spans: wait for each retry's ancestors up to it too.
	spans := otlp.waitSpans(t, 30*time.Second, "POST span of each attempt and the retries' workflow spans", func(spans []receivedSpan) bool {
		byID := map[string]receivedSpan{}
		for _, s := range spans {
			byID[s.spanID] = s
		}
		for _, post := range posts(spans) {
			if post.attrs["hookflow.attempt"] != "2" {
				continue
			}
			s := post
			for range 3 { // RunActivity:Post, StartActivity:Post, RunWorkflow:Delivery
				parent, ok := byID[s.parentID]
				if !ok {
					return false
				}
				s = parent
			}
		}
		return len(posts(spans)) == 4
	})
	byID := map[string]receivedSpan{}
	for _, s := range spans {
		if s.traceID != callerTrace {
			continue
		}
		byID[s.spanID] = s
	}
	// Every span of the delivery is in the caller's trace, and each POST's ancestry leads
	// through the Post activity, the workflow, its start and the API request to the
	// caller's span.
	chain := func(s receivedSpan) []string {
		var names []string
		for i := 0; i < 20; i++ {
			names = append(names, s.name)
			if s.parentID == callerSpan || s.parentID == "" {
				names = append(names, "caller:"+s.parentID)
				break
			}
			p, ok := byID[s.parentID]
			if !ok {
				names = append(names, "missing:"+s.parentID)
				break
			}
			s = p
		}
		return names
	}
	pids := map[string]string{}
	for key, post := range posts(spans) {
		if post.traceID != callerTrace {
			t.Errorf("POST %s is in trace %s, not the caller's %s", key, post.traceID, callerTrace)
			continue
		}
		got := strings.Join(chain(post), " < ")
		want := "POST < RunActivity:Post < StartActivity:Post < RunWorkflow:Delivery < StartWorkflow:Delivery < POST /v1/events < caller:" + callerSpan
		if post.attrs["hookflow.attempt"] == "1" {
			// The first dev stopped with the workflow open: its run of the workflow never
			// ended there, so its RunWorkflow span was never exported. The attempt's spans
			// still point to it, in the same trace; the retry's chain below is whole.
			want = "POST < RunActivity:Post < StartActivity:Post < missing:"
			if !strings.HasPrefix(got, want) {
				t.Errorf("POST %s: ancestry\n  %s\nwant\n  %s...\nspans:\n%s", key, got, want, describeSpans(spans))
			}
		} else if got != want {
			t.Errorf("POST %s: ancestry\n  %s\nwant\n  %s\nspans:\n%s", key, got, want, describeSpans(spans))
		}
		pids[key] = post.resource["process.pid"]
		wantStatus := map[string]string{"1": "500", "2": "200"}[post.attrs["hookflow.attempt"]]
		if post.attrs["http.response.status_code"] != wantStatus || post.statusError != (wantStatus == "500") {
			t.Errorf("POST %s: status code %q (error status %v), want %s", key, post.attrs["http.response.status_code"], post.statusError, wantStatus)
		}
		if post.resource["service.name"] != "hookflow-e2e" {
			t.Errorf("POST %s: service.name %q, want OTEL_SERVICE_NAME's", key, post.resource["service.name"])
		}
	}
	if pids[optedID+"/1"] == "" || pids[optedID+"/1"] == pids[optedID+"/2"] {
		t.Errorf("the first attempt and the retry were not traced by two processes (pids %v): not across a restart", pids)
	}

	// The opted-in receiver got the traceparent of each attempt's POST span; the other none.
	for i, r := range opted.requests() {
		m := traceparentPattern.FindStringSubmatch(r.header.Get("traceparent"))
		post := posts(spans)[fmt.Sprintf("%s/%d", optedID, i+1)]
		if m == nil || m[1] != callerTrace || m[2] != post.spanID {
			t.Errorf("opted-in attempt %d: traceparent %q, want one of trace %s and span %s", i+1, r.header.Get("traceparent"), callerTrace, post.spanID)
		}
		if r.header.Get("baggage") != "" {
			t.Errorf("opted-in attempt %d got baggage %q", i+1, r.header.Get("baggage"))
		}
	}
	for i, r := range plain.requests() {
		for _, name := range []string{"traceparent", "tracestate", "baggage"} {
			if v := r.header.Get(name); v != "" {
				t.Errorf("distribution %s did not opt in, yet attempt %d got %s: %s", plainID, i+1, name, v)
			}
		}
	}
	// Both kept their webhook-id across the attempts.
	for _, r := range []*receiver{opted, plain} {
		if got := r.requests(); len(got) != 2 || got[0].header.Get("webhook-id") != got[1].header.Get("webhook-id") {
			t.Errorf("%d requests, or the retry has another webhook-id", len(got))
		}
	}

	// The attempt histogram links to the trace: the retry, made by the second dev, is the
	// exemplar of its bucket in the protobuf exposition.
	if ex := attemptExemplars(t, d2.ready.Metrics); !slices.Contains(ex, callerTrace) {
		t.Errorf("hookflow_attempt_duration_seconds exemplars %v, want the trace %s among them", ex, callerTrace)
	}

	// No span holds the query string, the signature, the signing secret, a payload or the
	// caller's baggage.
	secrets := []string{token, d.secret, "not-for-history", `"ord_1"`, "cust_1"}
	for _, r := range opted.requests() {
		secrets = append(secrets, r.header.Get("webhook-signature"))
	}
	for _, s := range spans {
		for k, v := range s.attrs {
			for _, secret := range secrets {
				if secret != "" && strings.Contains(v, secret) {
					t.Errorf("span %q: attribute %s=%q holds %q", s.name, k, v, secret)
				}
			}
		}
	}
}

// TestTracingDisabled: OTEL_SDK_DISABLED=true turns tracing off even with an endpoint set:
// no span reaches the receiver, the banner has no tracing row and an opted-in receiver
// gets no traceparent, even for an event that came in with one.
func TestTracingDisabled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts hookflow dev")
	}
	otlp := newOTLPReceiver(t)
	d := startDevEnv(t, t.TempDir(), nil, append(tracingEnv(otlp), "OTEL_SDK_DISABLED=true"))
	if regexp.MustCompile(`(?m)^  Tracing `).MatchString(d.output.String()) {
		t.Errorf("the banner of a dev with OTEL_SDK_DISABLED=true speaks of tracing:\n%s", d.output)
	}
	opted := newReceiver(t, 200)
	tracedDistribution(t, d, "Traced", opted.URL, true)
	status, body, _ := callFull(t, "POST", d.api+"/v1/events",
		`{"id":"evt_untraced","type":"customer.order.paid","data":{"customer":{"id":"cust_1"},"order":{"id":"ord_1","amount":100}}}`,
		map[string]string{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"})
	if status != 202 {
		t.Fatalf("POST /v1/events: %d %s", status, body)
	}
	var h handleOut
	mustJSON(t, body, &h)
	var res workflows.DeliveryResult
	waitWorkflow(t, d.client(t), h.WorkflowID, 60*time.Second, &res)
	if got := opted.requests(); len(got) != 1 || got[0].header.Get("traceparent") != "" {
		t.Errorf("requests %d, traceparent %q; want one without", len(got), got[0].header.Get("traceparent"))
	}
	d.stop(syscall.SIGTERM, 30*time.Second) // a provider would flush at the stop
	if spans, exports := otlp.received(); exports != 0 || len(spans) != 0 {
		t.Errorf("%d exports, %d spans reached the receiver with tracing off:\n%s", exports, len(spans), describeSpans(spans))
	}
}

// attemptExemplars reads the protobuf exposition at url and returns the trace ids of the
// exemplars of hookflow_attempt_duration_seconds.
func attemptExemplars(t *testing.T, url string) []string {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Accept", "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ids []string
	dec := expfmt.NewDecoder(resp.Body, expfmt.ResponseFormat(resp.Header))
	for {
		var f dto.MetricFamily
		if err := dec.Decode(&f); err != nil {
			break
		}
		if f.GetName() != "hookflow_attempt_duration_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, b := range m.GetHistogram().GetBucket() {
				for _, l := range b.GetExemplar().GetLabel() {
					if l.GetName() == "trace_id" {
						ids = append(ids, l.GetValue())
					}
				}
			}
			for _, e := range m.GetHistogram().GetExemplars() { // the native histogram's
				for _, l := range e.GetLabel() {
					if l.GetName() == "trace_id" {
						ids = append(ids, l.GetValue())
					}
				}
			}
		}
	}
	return ids
}

// TestTracingAcrossProcesses: with `hookflow api` and `hookflow worker` as separate
// processes (on `hookflow server`), each exporting its own spans, the POST that the worker
// makes is in the trace of the API request that took the event: the workflow's headers
// carry the context from one process to the other.
func TestTracingAcrossProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts hookflow server, api and worker")
	}
	otlp := newOTLPReceiver(t)
	env := func([]int) []string { return tracingEnv(otlp) }
	dir := t.TempDir()
	server := start(t, launch{name: "server", ports: 1, args: func(ports []int) []string {
		args := []string{"server", "--data-dir", dir, "--temporal-port", fmt.Sprint(ports[0]), "--ui-port", "0", "--metrics-listen", ""}
		if temporalURL := temporalDatabase(t); temporalURL != "" {
			args = append(args, "--temporal-database-url", temporalURL)
		}
		return args
	}})
	common := []string{"--temporal-address", server.ready.Temporal, "--database-url", filepath.Join(dir, "hookflow.db"), "--log-format", "text", "--metrics-listen", ""}
	apiProc := start(t, launch{name: "api", ports: 1, env: env, args: func(ports []int) []string {
		return append([]string{"api", "--http", fmt.Sprintf("127.0.0.1:%d", ports[0]), "--require-api-key=false"}, common...)
	}})
	start(t, launch{name: "worker", env: env, args: func([]int) []string {
		return append([]string{"worker", "--health", "", "--allow-target", "127.0.0.0/8"}, common...)
	}})
	recv := newReceiver(t, 200)
	d := &devProcess{process: apiProc, api: apiProc.ready.API}
	id := tracedDistribution(t, d, "Traced", recv.URL, true)

	const callerTrace, callerSpan = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
	status, body, _ := callFull(t, "POST", d.api+"/v1/events",
		`{"id":"evt_traced_apart","type":"customer.order.paid","data":{"customer":{"id":"cust_1"},"order":{"id":"ord_1","amount":100}}}`,
		map[string]string{"traceparent": "00-" + callerTrace + "-" + callerSpan + "-01"})
	if status != 202 {
		t.Fatalf("POST /v1/events: %d %s", status, body)
	}
	recv.waitRequests(t, 1, 60*time.Second)
	spans := otlp.waitSpans(t, 30*time.Second, "the worker's POST span and the API's span", func(spans []receivedSpan) bool {
		post, api := false, false
		for _, s := range spans {
			post = post || s.traceID == callerTrace && s.name == "POST" && s.attrs["hookflow.distribution_id"] == id
			api = api || s.traceID == callerTrace && s.name == "POST /v1/events"
		}
		return post && api
	})
	commands := map[string]string{}
	for _, s := range spans {
		if s.traceID == callerTrace {
			commands[s.name] = s.resource["process.command"]
		}
	}
	if commands["POST /v1/events"] != "hookflow api" || commands["StartWorkflow:Delivery"] != "hookflow api" || commands["POST"] != "hookflow worker" {
		t.Errorf("spans by process %v: want the request and the start from the api, the POST from the worker", commands)
	}
	m := traceparentPattern.FindStringSubmatch(recv.requests()[0].header.Get("traceparent"))
	if m == nil || m[1] != callerTrace {
		t.Errorf("the receiver got traceparent %q, want one of trace %s", recv.requests()[0].header.Get("traceparent"), callerTrace)
	}
}
