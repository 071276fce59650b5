package api

import (
	"net/http"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
)

// TracerName is the instrumentation scope of the API's server spans.
const TracerName = "github.com/hookflow/hookflow/api"

// AttrRequestID is the request id (RequestIDHeader) on a server span.
const AttrRequestID = "hookflow.request_id"

// Trace serves each request inside a server span of the process's tracer provider, named
// for its route ("POST /v1/events"), continuing the trace of an incoming traceparent
// (through the process's propagator). The workflow an event starts is a child of that
// span: the Temporal client's tracing interceptor reads it from the request's context.
//
// Without tracing configured, the provider and the propagator are OpenTelemetry's global
// no-ops: nothing is read from the request and nothing recorded. The span holds the method,
// the route, the status and the request id; never a header, a query or a body.
func Trace(next http.Handler) http.Handler {
	tracer := otel.Tracer(TracerName)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := otel.GetTextMapPropagator().Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(semconv.HTTPRequestMethodKey.String(r.Method)))
		defer span.End()
		if !span.IsRecording() {
			next.ServeHTTP(w, r.WithContext(ctx))
			return
		}
		if info, ok := ctx.Value(requestInfoKey{}).(*requestInfo); ok {
			span.SetAttributes(attribute.String(AttrRequestID, info.id))
			if sc := span.SpanContext(); sc.IsSampled() {
				info.traceID = sc.TraceID().String()
			}
		}
		rec := &recorder{ResponseWriter: w}
		r = r.WithContext(ctx)
		next.ServeHTTP(rec, r)
		route := r.Pattern // set by the ServeMux that served r
		if info, ok := ctx.Value(requestInfoKey{}).(*requestInfo); ok && info.route != "" {
			route = info.route
		}
		if route != "" {
			span.SetName(routeName(r.Method, route))
			span.SetAttributes(semconv.HTTPRoute(routePath(route)))
		}
		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		span.SetAttributes(semconv.HTTPResponseStatusCode(status))
		if status >= 500 {
			span.SetStatus(codes.Error, http.StatusText(status))
		}
	})
}

// routeName is the span name of a route: its pattern, "POST /v1/events", with the method
// in front when the pattern has none.
func routeName(method, pattern string) string {
	if _, _, hasMethod := strings.Cut(pattern, " "); hasMethod {
		return pattern
	}
	return method + " " + pattern
}

// routePath is the path template of a pattern (http.route): "/v1/events".
func routePath(pattern string) string {
	if _, path, hasMethod := strings.Cut(pattern, " "); hasMethod {
		return path
	}
	return pattern
}
