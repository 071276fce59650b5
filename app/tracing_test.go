package app

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// TestReadTracingSettings: tracing is on only with an OTLP endpoint or OTEL_TRACES_EXPORTER=otlp,
// off with OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none whatever else is set, and a
// value hookflow cannot use is an error naming its variable.
func TestReadTracingSettings(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    TracingSettings
		wantErr string
	}{
		{"nothing set", nil, TracingSettings{Protocol: protocolHTTP}, ""},
		{"a service name alone", map[string]string{"OTEL_SERVICE_NAME": "x"}, TracingSettings{Protocol: protocolHTTP}, ""},
		{"endpoint", map[string]string{envEndpoint: "http://collector:4318"}, TracingSettings{On: true, Protocol: protocolHTTP, Endpoint: "http://collector:4318"}, ""},
		{"traces endpoint first", map[string]string{envEndpoint: "http://a:4318", envTracesEndpoint: "https://b/v1/traces"}, TracingSettings{On: true, Protocol: protocolHTTP, Endpoint: "https://b/v1/traces"}, ""},
		{"user info and query not shown", map[string]string{envEndpoint: "https://user:pw@c:4318/?key=k"}, TracingSettings{On: true, Protocol: protocolHTTP, Endpoint: "https://c:4318/"}, ""},
		{"exporter otlp, default endpoint", map[string]string{envTracesExporter: "otlp"}, TracingSettings{On: true, Protocol: protocolHTTP}, ""},
		{"grpc", map[string]string{envEndpoint: "http://c:4317", envProtocol: "grpc"}, TracingSettings{On: true, Protocol: protocolGRPC, Endpoint: "http://c:4317"}, ""},
		{"traces protocol first", map[string]string{envEndpoint: "http://c:4317", envProtocol: "grpc", envTracesProtocol: "http/protobuf"}, TracingSettings{On: true, Protocol: protocolHTTP, Endpoint: "http://c:4317"}, ""},
		{"sdk disabled", map[string]string{envEndpoint: "http://c:4318", envSDKDisabled: "true"}, TracingSettings{}, ""},
		{"sdk not disabled", map[string]string{envEndpoint: "http://c:4318", envSDKDisabled: "false"}, TracingSettings{On: true, Protocol: protocolHTTP, Endpoint: "http://c:4318"}, ""},
		{"exporter none", map[string]string{envEndpoint: "http://c:4318", envTracesExporter: "none"}, TracingSettings{}, ""},
		{"sampler", map[string]string{envEndpoint: "http://c:4318", envTracesSampler: "parentbased_traceidratio"}, TracingSettings{On: true, Protocol: protocolHTTP, Endpoint: "http://c:4318"}, ""},
		{"sampler in capitals", map[string]string{envEndpoint: "http://c:4318", envTracesSampler: " Always_Off "}, TracingSettings{On: true, Protocol: protocolHTTP, Endpoint: "http://c:4318"}, ""},
		{"bad sdk disabled", map[string]string{envSDKDisabled: "yes please"}, TracingSettings{}, envSDKDisabled},
		{"other exporter", map[string]string{envTracesExporter: "zipkin"}, TracingSettings{}, envTracesExporter},
		{"http/json", map[string]string{envEndpoint: "http://c:4318", envProtocol: "http/json"}, TracingSettings{}, envProtocol},
		{"endpoint without scheme", map[string]string{envEndpoint: "collector:4318"}, TracingSettings{}, envEndpoint},
		{"endpoint of another scheme", map[string]string{envTracesEndpoint: "ftp://c/"}, TracingSettings{}, envTracesEndpoint},
		{"endpoint with a newline", map[string]string{envEndpoint: "http://c:4318/\nx"}, TracingSettings{}, envEndpoint},
		{"hostile endpoint, long", map[string]string{envEndpoint: strings.Repeat("%", 10000)}, TracingSettings{}, envEndpoint},
		{"unknown sampler", map[string]string{envEndpoint: "http://c:4318", envTracesSampler: "sometimes"}, TracingSettings{}, envTracesSampler},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadTracingSettings(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want one naming %s", err, tt.wantErr)
				}
				if len(err.Error()) > 300 {
					t.Errorf("error of %d characters: the value should not be echoed whole", len(err.Error()))
				}
				return
			}
			got.exportURL = ""
			if err != nil || got != tt.want {
				t.Errorf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

// TestStartTracingOff: without OTEL_* settings no exporter starts, the global tracer
// provider stays OpenTelemetry's default, no interceptor is added to the Temporal client,
// and nothing reaches a collector.
func TestStartTracingOff(t *testing.T) {
	var posts atomic.Int32
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { posts.Add(1) }))
	defer collector.Close()
	before := otel.GetTracerProvider()
	p := newProcess("test", io.Discard)
	s, err := p.startTracing(context.Background(), func(string) string { return "" }, nil)
	if err != nil || s.On || s.tracingRow() != "" {
		t.Fatalf("settings %+v, %v, row %q", s, err, s.tracingRow())
	}
	if _, isSDK := otel.GetTracerProvider().(*sdktrace.TracerProvider); isSDK || otel.GetTracerProvider() != before {
		t.Error("the global tracer provider changed")
	}
	opts, err := TemporalConfig{}.ClientOptions(nil)
	if err != nil || len(opts.Interceptors) != 0 {
		t.Errorf("client interceptors %v (%v), want none", opts.Interceptors, err)
	}
	_, span := otel.Tracer("test").Start(context.Background(), "x")
	span.End()
	p.close()
	if span.SpanContext().IsValid() || posts.Load() != 0 {
		t.Errorf("a span was recorded (%v) or exported (%d)", span.SpanContext(), posts.Load())
	}
}

// TestStartTracingOn: with an endpoint, spans reach it at the process's close (the flush),
// the client options carry the tracing interceptor while the process runs and not after.
func TestStartTracingOn(t *testing.T) {
	var posts atomic.Int32
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/traces" && r.Header.Get("Content-Type") == "application/x-protobuf" {
			posts.Add(1)
		}
	}))
	defer collector.Close()
	env := map[string]string{envEndpoint: collector.URL}
	p := newProcess("test", io.Discard)
	s, err := p.startTracing(context.Background(), func(k string) string { return env[k] }, nil)
	if err != nil || !s.On || !strings.Contains(s.tracingRow(), collector.URL) {
		t.Fatalf("settings %+v, %v, row %q", s, err, s.tracingRow())
	}
	opts, err := TemporalConfig{}.ClientOptions(nil)
	if err != nil || len(opts.Interceptors) != 1 {
		t.Errorf("client interceptors %v (%v), want the tracing one", opts.Interceptors, err)
	}
	_, span := otel.Tracer("test").Start(context.Background(), "x")
	span.End()
	if !span.SpanContext().IsSampled() {
		t.Error("the span is not sampled")
	}
	p.close()
	if posts.Load() == 0 {
		t.Error("nothing was exported by the close")
	}
	if opts, _ := (TemporalConfig{}).ClientOptions(nil); len(opts.Interceptors) != 0 {
		t.Error("the interceptor outlived the process")
	}
	if _, isSDK := otel.GetTracerProvider().(*sdktrace.TracerProvider); isSDK {
		t.Error("the provider outlived the process")
	}
}
