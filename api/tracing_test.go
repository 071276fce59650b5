package api

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// TestTrace: a request is served in a server span named for its route that continues the
// caller's traceparent and hands its context to the handler (which starts the workflow
// with it); a request without one starts a trace; a malformed traceparent is ignored; the
// span holds the route, the status and the request id, never the query or a header.
func TestTrace(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() {
		otel.SetTracerProvider(noop.NewTracerProvider())
		otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator())
	})

	var inHandler trace.SpanContext
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/events", func(w http.ResponseWriter, r *http.Request) {
		inHandler = trace.SpanContextFromContext(r.Context())
		w.WriteHeader(http.StatusAccepted)
	})
	mux.HandleFunc("GET /v1/deliveries/{id}", func(w http.ResponseWriter, r *http.Request) {
		inHandler = trace.SpanContextFromContext(r.Context())
		w.WriteHeader(http.StatusInternalServerError)
	})
	var logged bytes.Buffer
	h := AccessLog(slog.New(slog.NewTextHandler(&logged, nil)), Trace(routes{mux}))

	const caller = "4bf92f3577b34da6a3ce929d0e0e4736"
	tests := []struct {
		name, method, target, traceparent string
		wantName, wantRoute               string
		status                            int
		continues                         bool
	}{
		{"continues the caller's trace", "POST", "/v1/events?api_key=k3y", "00-" + caller + "-00f067aa0ba902b7-01", "POST /v1/events", "/v1/events", 202, true},
		{"starts a trace", "POST", "/v1/events", "", "POST /v1/events", "/v1/events", 202, false},
		{"malformed traceparent", "POST", "/v1/events", "00-zz-00f067aa0ba902b7-01\r\n", "POST /v1/events", "/v1/events", 202, false},
		{"route with an id, 500", "GET", "/v1/deliveries/whs_1", "", "GET /v1/deliveries/{id}", "/v1/deliveries/{id}", 500, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec.Reset()
			logged.Reset()
			req := httptest.NewRequest(tt.method, tt.target, nil)
			if tt.traceparent != "" {
				req.Header["Traceparent"] = []string{tt.traceparent}
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req.WithContext(context.Background()))
			spans := rec.Ended()
			if len(spans) != 1 {
				t.Fatalf("%d spans", len(spans))
			}
			s := spans[0]
			if s.Name() != tt.wantName || s.SpanKind() != trace.SpanKindServer {
				t.Errorf("span %q kind %v, want %q, server", s.Name(), s.SpanKind(), tt.wantName)
			}
			if inHandler.SpanID() != s.SpanContext().SpanID() {
				t.Error("the handler's context does not hold the server span")
			}
			if got := s.SpanContext().TraceID().String() == caller; got != tt.continues {
				t.Errorf("trace %s, continued %v, want %v", s.SpanContext().TraceID(), got, tt.continues)
			}
			attrs := map[string]string{}
			for _, kv := range s.Attributes() {
				attrs[string(kv.Key)] = kv.Value.Emit()
			}
			if attrs["http.route"] != tt.wantRoute || attrs["http.response.status_code"] != strconv.Itoa(tt.status) ||
				attrs[AttrRequestID] != w.Header().Get(RequestIDHeader) || attrs[AttrRequestID] == "" {
				t.Errorf("attributes %v", attrs)
			}
			for k, v := range attrs {
				if v == "k3y" || len(v) > 200 {
					t.Errorf("%s = %q", k, v)
				}
			}
			// The access log line names the trace, to go from a log line to its trace.
			if want := "trace_id=" + s.SpanContext().TraceID().String(); !strings.Contains(logged.String(), want) {
				t.Errorf("access log %q, want %s", logged.String(), want)
			}
			if (s.Status().Code.String() == "Error") != (tt.status >= 500) {
				t.Errorf("status %v for %d", s.Status(), tt.status)
			}
		})
	}
}
