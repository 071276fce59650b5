package api

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// TestAccessLog: every answer has a request id (a sane incoming one is kept), error bodies
// repeat it, and one log line names method, route pattern, status, bytes, duration and id.
func TestAccessLog(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/things/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "missing" {
			writeError(w, http.StatusNotFound, "not_found", "no thing", "id")
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"id": r.PathValue("id"), "request_id": RequestID(r.Context())})
	})
	var logs bytes.Buffer
	h := AccessLog(slog.New(slog.NewJSONHandler(&logs, nil)), routes{mux})
	madeID := regexp.MustCompile(`^req_[0-9a-f]{24}$`)

	for _, c := range []struct {
		name, method, path, incoming string
		status                       int
		route                        string
		keep                         bool // the incoming id is the answer's
	}{
		{"a route, no incoming id", "GET", "/v1/things/t1", "", 200, "GET /v1/things/{id}", false},
		{"a sane incoming id is kept", "GET", "/v1/things/t1", "lb-7f3a.9:x_y", 200, "GET /v1/things/{id}", true},
		{"an error body names the id", "GET", "/v1/things/missing", "abc-123", 404, "GET /v1/things/{id}", true},
		{"no route: no pattern", "GET", "/v1/nowhere", "", 404, "", false},
		{"a wrong method", "POST", "/v1/things/t1", "", 405, "", false},
		{"an id with a space is replaced", "GET", "/v1/things/t1", "a b", 200, "GET /v1/things/{id}", false},
		{"an id too long is replaced", "GET", "/v1/things/t1", strings.Repeat("a", 129), 200, "GET /v1/things/{id}", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			logs.Reset()
			req := httptest.NewRequest(c.method, c.path, nil)
			if c.incoming != "" {
				req.Header.Set(RequestIDHeader, c.incoming)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			id := rec.Header().Get(RequestIDHeader)
			if c.keep && id != c.incoming || !c.keep && !madeID.MatchString(id) {
				t.Errorf("request id %q (incoming %q)", id, c.incoming)
			}
			if rec.Code != c.status {
				t.Errorf("status %d, want %d", rec.Code, c.status)
			}
			var body struct {
				RequestID string `json:"request_id"`
				Error     struct {
					RequestID string `json:"request_id"`
				} `json:"error"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %s: %v", rec.Body, err)
			}
			if got := body.Error.RequestID + body.RequestID; got != id {
				t.Errorf("body names request id %q, want %q: %s", got, id, rec.Body)
			}
			var line struct {
				Msg        string  `json:"msg"`
				Method     string  `json:"method"`
				Route      string  `json:"route"`
				Status     int     `json:"status"`
				Bytes      int     `json:"bytes"`
				DurationMs float64 `json:"duration_ms"`
				RequestID  string  `json:"request_id"`
			}
			if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
				t.Fatalf("log %q: %v", logs.String(), err)
			}
			if line.Msg != "request" || line.Method != c.method || line.Route != c.route || line.Status != c.status ||
				line.Bytes != rec.Body.Len() || line.DurationMs < 0 || line.RequestID != id {
				t.Errorf("log line %+v; answer %d bytes, id %s", line, rec.Body.Len(), id)
			}
			if strings.Contains(logs.String(), "t1") || strings.Contains(logs.String(), "missing") {
				t.Errorf("the log names the path: %s", logs.String())
			}
		})
	}
}
