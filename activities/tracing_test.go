package activities

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// recordSpans makes a recording tracer provider the global one for the test.
func recordSpans(t *testing.T) (*tracetest.SpanRecorder, trace.Tracer) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	otel.SetTracerProvider(tp)
	// Not the provider before: once set, the global one only delegates.
	t.Cleanup(func() { otel.SetTracerProvider(noop.NewTracerProvider()) })
	return rec, tp.Tracer("test")
}

func attrsOf(s sdktrace.ReadOnlySpan) map[attribute.Key]string {
	m := map[attribute.Key]string{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value.Emit()
	}
	return m
}

// TestPostTraceSpan: each attempt is a client span, a child of the activity's, with the
// status code, the attempt number and the URL without its query; the receiver gets a
// traceparent of that span only when its distribution opted in (webhook.trace_context),
// and the signature still verifies beside it.
func TestPostTraceSpan(t *testing.T) {
	rec, tracer := recordSpans(t)
	for _, tt := range []struct {
		name         string
		traceContext bool
		code         int
		attempt      int
	}{
		{"not opted in, 500 on the first attempt", false, 500, 1},
		{"opted in, 200 on the second attempt", true, 200, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, st := newActivities(t)
			ctx := context.Background()
			d, err := st.GetDistribution(ctx, "distr_1")
			if err != nil {
				t.Fatal(err)
			}
			d.Webhook.TraceContext = tt.traceContext
			if _, err := st.UpdateDistribution(ctx, d); err != nil {
				t.Fatal(err)
			}
			var got http.Header
			var body []byte
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = r.Header.Clone()
				body, _ = io.ReadAll(r.Body)
				w.WriteHeader(tt.code)
			}))
			defer srv.Close()
			rec.Reset()
			ctx, parent := tracer.Start(ctx, "RunActivity:Post")
			req := request(srv.URL + "/hook?token=s3cr3t")
			req.Attempt = tt.attempt
			_, postErr := a.Post(ctx, req)
			parent.End()
			if (postErr != nil) != (tt.code >= 300) {
				t.Fatalf("Post: %v", postErr)
			}
			var post sdktrace.ReadOnlySpan
			for _, s := range rec.Ended() {
				if s.Name() == "POST" {
					post = s
				}
			}
			if post == nil {
				t.Fatalf("no POST span among %d", len(rec.Ended()))
			}
			if post.SpanKind() != trace.SpanKindClient || post.Parent().SpanID() != parent.SpanContext().SpanID() {
				t.Errorf("kind %v, parent %v: want a client span under the activity's", post.SpanKind(), post.Parent().SpanID())
			}
			attrs := attrsOf(post)
			want := map[attribute.Key]string{
				"http.request.method": "POST", "http.response.status_code": itoa(tt.code), "hookflow.attempt": itoa(tt.attempt),
				"hookflow.delivery_id": "whs_test", "hookflow.distribution_id": "distr_1",
				"url.full": srv.URL + "/hook", "server.address": "127.0.0.1",
			}
			for k, v := range want {
				if attrs[k] != v {
					t.Errorf("%s = %q, want %q", k, attrs[k], v)
				}
			}
			for k, v := range attrs {
				if strings.Contains(v, "s3cr3t") || strings.Contains(v, got.Get("webhook-signature")) {
					t.Errorf("%s = %q holds the query or the signature", k, v)
				}
			}
			if isErr := post.Status().Code.String() == "Error"; isErr != (tt.code >= 300) {
				t.Errorf("status %v for %d", post.Status(), tt.code)
			}

			tp := got.Get("traceparent")
			switch {
			case tt.traceContext && tp != "00-"+post.SpanContext().TraceID().String()+"-"+post.SpanContext().SpanID().String()+"-01":
				t.Errorf("opted in: traceparent %q, want the POST span's %s", tp, post.SpanContext().SpanID())
			case !tt.traceContext && tp != "":
				t.Errorf("not opted in, yet traceparent %q", tp)
			}
			proj, _ := st.Project(ctx)
			wh, _ := standardwebhooks.NewWebhook(proj.Secret)
			if err := wh.Verify(body, got); err != nil {
				t.Errorf("signature: %v", err)
			}
		})
	}
}

// TestPostWithoutTracing: with OpenTelemetry's default (no-op) provider and no span in the
// context, an opted-in receiver gets no traceparent.
func TestPostWithoutTracing(t *testing.T) {
	a, st := newActivities(t)
	ctx := context.Background()
	d, _ := st.GetDistribution(ctx, "distr_1")
	d.Webhook.TraceContext = true
	if _, err := st.UpdateDistribution(ctx, d); err != nil {
		t.Fatal(err)
	}
	var got http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.Header.Clone() }))
	defer srv.Close()
	if _, err := a.Post(ctx, request(srv.URL)); err != nil {
		t.Fatal(err)
	}
	if got.Get("traceparent") != "" || got.Get("tracestate") != "" {
		t.Errorf("trace headers sent without tracing: %v", got)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
