package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace/noop"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/interceptor"
)

// The OpenTelemetry environment variables hookflow reads (the SDK's exporters and tracer
// provider read the rest: OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT, _CERTIFICATE,
// OTEL_TRACES_SAMPLER_ARG, OTEL_BSP_*, OTEL_RESOURCE_ATTRIBUTES, ...).
const (
	envSDKDisabled     = "OTEL_SDK_DISABLED"
	envTracesExporter  = "OTEL_TRACES_EXPORTER"
	envEndpoint        = "OTEL_EXPORTER_OTLP_ENDPOINT"
	envTracesEndpoint  = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	envProtocol        = "OTEL_EXPORTER_OTLP_PROTOCOL"
	envTracesProtocol  = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
	envTracesSampler   = "OTEL_TRACES_SAMPLER"
	protocolHTTP       = "http/protobuf"
	protocolGRPC       = "grpc"
	defaultServiceName = "hookflow"
)

// samplers are the values of OTEL_TRACES_SAMPLER the SDK knows.
var samplers = []string{"always_on", "always_off", "traceidratio", "parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio"}

// TracingSettings is what the OTEL_* environment asks of tracing. Tracing is off unless
// an OTLP endpoint is given (OTEL_EXPORTER_OTLP_ENDPOINT or _TRACES_ENDPOINT) or
// OTEL_TRACES_EXPORTER=otlp asks for the default one; OTEL_SDK_DISABLED=true and
// OTEL_TRACES_EXPORTER=none turn it off whatever else is set.
type TracingSettings struct {
	On bool
	// Protocol is http/protobuf (the default) or grpc.
	Protocol string
	// Endpoint is where spans go, as the banner shows it (no user info, no query); empty
	// for the exporter's default (localhost:4318, or :4317 over gRPC).
	Endpoint string
	// exportURL is the URL the exporter posts to, as given (user info, query and all).
	exportURL string
}

// ReadTracingSettings reads the OTEL_* variables through getenv; an error names the
// variable and what it may be.
func ReadTracingSettings(getenv func(string) string) (TracingSettings, error) {
	var s TracingSettings
	if v := strings.TrimSpace(getenv(envSDKDisabled)); v != "" {
		disabled, err := strconv.ParseBool(v)
		if err != nil {
			return s, fmt.Errorf("%s=%q: want true or false", envSDKDisabled, v)
		}
		if disabled {
			return s, nil
		}
	}
	exporter := strings.ToLower(strings.TrimSpace(getenv(envTracesExporter)))
	switch exporter {
	case "", "otlp":
	case "none":
		return s, nil
	default:
		return s, fmt.Errorf("%s=%q: hookflow exports traces over OTLP only: otlp or none", envTracesExporter, exporter)
	}
	for _, name := range []string{envTracesProtocol, envProtocol} {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			if v != protocolHTTP && v != protocolGRPC {
				return s, fmt.Errorf("%s=%q: want %s or %s", name, v, protocolHTTP, protocolGRPC)
			}
			s.Protocol = v
			break
		}
	}
	if s.Protocol == "" {
		s.Protocol = protocolHTTP
	}
	for _, name := range []string{envTracesEndpoint, envEndpoint} {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			continue
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return s, fmt.Errorf("%s=%q: want an http:// or https:// URL such as http://otel-collector:4318", name, redactEndpoint(v))
		}
		s.Endpoint = redactEndpoint(v)
		s.exportURL = v
		if name == envEndpoint && s.Protocol == protocolHTTP {
			// The signal's path is added to the general endpoint, as the specification says.
			s.exportURL = strings.TrimSuffix(v, "/") + "/v1/traces"
		}
		break
	}
	if v := strings.ToLower(strings.TrimSpace(getenv(envTracesSampler))); v != "" && !slices.Contains(samplers, v) {
		return s, fmt.Errorf("%s=%q: want one of %s", envTracesSampler, v, strings.Join(samplers, ", "))
	}
	s.On = s.Endpoint != "" || exporter == "otlp"
	return s, nil
}

// redactEndpoint is an endpoint URL without user info and query, for messages.
func redactEndpoint(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment = nil, "", false, ""
	return u.String()
}

// tracing is the process's OpenTelemetry tracing while it runs.
var tracing struct {
	mu          sync.Mutex
	interceptor interceptor.Interceptor // nil while off
}

// tracingInterceptor is the Temporal tracing interceptor of the process's tracer
// provider, for ClientOptions; nil when tracing is off.
func tracingInterceptor() interceptor.Interceptor {
	tracing.mu.Lock()
	defer tracing.mu.Unlock()
	return tracing.interceptor
}

// startTracing starts tracing as the OTEL_* environment asks (ReadTracingSettings): an
// OTLP exporter in a batch span processor, the process's tracer provider and the W3C
// trace context propagator made global (the API's server spans and the attempts' client
// spans use them) and the Temporal tracing interceptor that ClientOptions adds. Export
// errors are logged as warnings. It returns the settings, for the banner, and adds the
// flush and shutdown of the provider to what the process runs on close. With tracing off
// it does nothing: no exporter, no global provider.
//
// Only the trace context propagates, from an incoming traceparent to the workflow's
// headers and on: baggage, which a caller may fill with anything, would enter workflow
// history.
func (p *process) startTracing(ctx context.Context, getenv func(string) string, logger *slog.Logger) (TracingSettings, error) {
	s, err := ReadTracingSettings(getenv)
	if err != nil || !s.On {
		return s, err
	}
	// The exporters read the other OTEL_EXPORTER_OTLP_* variables themselves; the endpoint
	// is given as read here, so that what the banner shows is where spans go.
	var exp sdktrace.SpanExporter
	switch {
	case s.Protocol == protocolGRPC && s.exportURL != "":
		exp, err = otlptracegrpc.New(ctx, otlptracegrpc.WithEndpointURL(s.exportURL))
	case s.Protocol == protocolGRPC:
		exp, err = otlptracegrpc.New(ctx)
	case s.exportURL != "":
		exp, err = otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(s.exportURL))
	default:
		exp, err = otlptracehttp.New(ctx)
	}
	if err != nil {
		return s, fmt.Errorf("OpenTelemetry trace exporter (%s): %w", envEndpoint, err)
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName(defaultServiceName), semconv.ServiceVersion(Version())),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES
		resource.WithTelemetrySDK(),
		resource.WithAttributes(semconv.ProcessCommand("hookflow "+p.name), semconv.ProcessPID(os.Getpid())))
	if err != nil && res == nil {
		return s, fmt.Errorf("OpenTelemetry resource (OTEL_RESOURCE_ATTRIBUTES): %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	in, err := temporalotel.NewTracingInterceptor(temporalotel.TracerOptions{
		Tracer:              tp.Tracer("go.temporal.io/sdk"),
		TextMapPropagator:   propagation.TraceContext{},
		DisableBaggage:      true,
		DisableQueryTracing: true, // the Web UI and the delivery log query often: noise
	})
	if err != nil {
		_ = tp.Shutdown(ctx)
		return s, fmt.Errorf("Temporal tracing interceptor: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		logger.Warn("OpenTelemetry: spans were not exported", "error", err.Error())
	}))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	tracing.mu.Lock()
	tracing.interceptor = in
	tracing.mu.Unlock()
	p.onClose(func() {
		tracing.mu.Lock()
		tracing.interceptor = nil
		tracing.mu.Unlock()
		// Flush what the batch holds: the last attempts' spans end as the worker stops.
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tp.Shutdown(shutdownCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			logger.Warn("OpenTelemetry: flush at stop", "error", err.Error())
		}
		otel.SetTracerProvider(noop.NewTracerProvider())
		otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator())
	})
	return s, nil
}

// tracingRow is the banner's row on tracing, "" when it is off.
func (s TracingSettings) tracingRow() string {
	if !s.On {
		return ""
	}
	endpoint := s.Endpoint
	if endpoint == "" {
		endpoint = "the exporter's default endpoint"
	}
	return fmt.Sprintf("OTLP %s to %s (OTEL_* environment)", s.Protocol, endpoint)
}
