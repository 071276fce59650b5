package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"time"
)

// RequestIDHeader carries a request's id: taken from the request when it is a sane one (a
// load balancer's or the caller's, so that one id follows the request through), made
// otherwise, and returned on every answer. Error bodies repeat it as request_id, and the
// access log names it, so that a user's report finds its log line.
const RequestIDHeader = "X-Request-Id"

type requestInfoKey struct{}

// requestInfo is what the access log learns of a request while it is served: the route
// pattern that took it, set by the router (routes, SetRoute).
type requestInfo struct {
	id    string
	route string
	// traceID is the trace of the request's sampled server span (Trace), for the log line.
	traceID string
}

// RequestID is the id of the request ctx belongs to, "" outside AccessLog.
func RequestID(ctx context.Context) string {
	if info, ok := ctx.Value(requestInfoKey{}).(*requestInfo); ok {
		return info.id
	}
	return ""
}

// SetRoute names the route pattern that serves r in its access log line, for a handler that
// routes without an http.ServeMux (the health probes).
func SetRoute(r *http.Request, pattern string) {
	if info, ok := r.Context().Value(requestInfoKey{}).(*requestInfo); ok {
		info.route = pattern
	}
}

// saneRequestID says whether an incoming id may be kept: 1 to 128 characters of letters,
// digits and ._:- (what load balancers and tracing proxies send), nothing that could
// forge a log line or a header.
func saneRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, c := range []byte(id) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "req_" + hex.EncodeToString(b[:])
}

// AccessLog gives every request an id (RequestIDHeader) and logs one line for it once it
// is answered, at info: method, route pattern (empty when no route took it), status, bytes
// of the body, duration and request id, and the trace id when Trace recorded the request
// in a sampled span. The path is not logged: it holds ids, and the
// pattern says which route it was.
func AccessLog(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get(RequestIDHeader)
		if !saneRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set(RequestIDHeader, id)
		info := &requestInfo{id: id}
		r = r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, info))
		rec := &recorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		route := info.route
		if route == "" {
			route = r.Pattern // set by an http.ServeMux that served r itself
		}
		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		attrs := []slog.Attr{slog.String("method", r.Method), slog.String("route", route), slog.Int("status", status),
			slog.Int64("bytes", rec.bytes), slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
			slog.String("request_id", id)}
		if info.traceID != "" {
			attrs = append(attrs, slog.String("trace_id", info.traceID))
		}
		logger.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
	})
}

// recorder notes the status and the size of an answer.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection's writer (Flush, deadlines).
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
