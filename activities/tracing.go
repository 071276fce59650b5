package activities

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/payloads"
)

// TracerName is the instrumentation scope of the spans the activities make.
const TracerName = "github.com/hookflow/hookflow/activities"

// Attributes of an attempt's HTTP client span beyond the HTTP semantic conventions'.
const (
	AttrAttempt    = attribute.Key("hookflow.attempt")
	AttrDeliveryID = attribute.Key("hookflow.delivery_id")
	AttrSourceID   = attribute.Key("hookflow.distribution_id")
)

// startAttemptSpan starts the HTTP client span of one attempt, a child of the activity's
// span (the Temporal tracing interceptor puts it in ctx). The process's tracer provider
// decides whether it is recorded: without tracing configured it is the global no-op one.
//
// The span holds no secret: no header, no signature, no body; the URL without its query
// and user info, where receivers put tokens.
func startAttemptSpan(ctx context.Context, req payloads.Request) (context.Context, trace.Span) {
	attrs := []attribute.KeyValue{
		semconv.HTTPRequestMethodPost,
		AttrDeliveryID.String(req.DeliveryID),
		AttrSourceID.String(req.SourceID),
	}
	if req.Attempt > 0 {
		attrs = append(attrs, AttrAttempt.Int(req.Attempt))
		if req.Attempt > 1 {
			attrs = append(attrs, semconv.HTTPRequestResendCount(req.Attempt-1))
		}
	}
	if u, err := url.Parse(req.URL); err == nil && u.Host != "" {
		attrs = append(attrs, semconv.URLFull(spanURL(u)), semconv.URLScheme(u.Scheme), semconv.ServerAddress(u.Hostname()))
		port := u.Port()
		if port == "" && u.Scheme == "https" {
			port = "443"
		} else if port == "" {
			port = "80"
		}
		if p, err := strconv.Atoi(port); err == nil {
			attrs = append(attrs, semconv.ServerPort(p))
		}
	}
	return otel.Tracer(TracerName).Start(ctx, http.MethodPost,
		trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
}

// spanURL is u without user info, query and fragment.
func spanURL(u *url.URL) string {
	c := *u
	c.User, c.RawQuery, c.ForceQuery, c.Fragment, c.RawFragment = nil, "", false, "", ""
	return c.String()
}

// endAttemptSpan ends an attempt's span with its answer's status code, or the class of
// failure that left it without one (error.type), and an error status for anything but a
// 2xx. The failure's message names the URL as ShownURL does, without the query.
func endAttemptSpan(span trace.Span, resp payloads.Response, err error) {
	if resp.StatusCode > 0 {
		span.SetAttributes(semconv.HTTPResponseStatusCode(resp.StatusCode))
	}
	if err != nil {
		class := attemptClass(resp, err) // timeout, connect, dns, refused, transport
		if resp.StatusCode > 0 {
			class = strconv.Itoa(resp.StatusCode)
		}
		span.SetAttributes(semconv.ErrorTypeKey.String(class))
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// injectTraceContext writes the W3C traceparent (and tracestate) of the span in ctx into
// h, for a receiver that opted in with webhook.trace_context. Only the trace context: never
// baggage, which may hold what the caller of the API put in it. Nothing is written when ctx
// holds no valid span context, as when hookflow does not trace.
func injectTraceContext(ctx context.Context, h http.Header) {
	propagation.TraceContext{}.Inject(ctx, propagation.HeaderCarrier(h))
}

// ExemplarTimer is a timer that can link an observation to a trace: the metrics package's
// timers are, and take the trace id as an exemplar label.
type ExemplarTimer interface {
	RecordWithExemplar(d time.Duration, exemplar map[string]string)
}

// recordLatency records d on t, with the trace id of ctx's span as an exemplar when the
// span is sampled and t takes exemplars.
func recordLatency(ctx context.Context, t client.MetricsTimer, d time.Duration) {
	if et, ok := t.(ExemplarTimer); ok {
		if sc := trace.SpanContextFromContext(ctx); sc.IsSampled() {
			et.RecordWithExemplar(d, map[string]string{"trace_id": sc.TraceID().String()})
			return
		}
	}
	t.Record(d)
}
