package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/hookflow/hookflow/store"
)

// The Idempotency-Key header of the POSTs that create or send (events, distributions,
// webhooks, keys, messages, retry, recover, programs). A client that lost an answer (a
// timeout, a dropped connection) sends the request again with the same key and gets the
// answer the first one got, status and body, while the work is done once: one
// distribution, one message, one resend. The answers are kept in the store, so they hold
// across restarts and across API processes sharing a PostgreSQL store, until the store's
// prune (--store-retention, at least a day).
//
// Only a 2xx answer is kept: a refused request (4xx) did nothing, and one that failed on
// our side (5xx) may be sent again, with the same key, to be done. The key is the caller's:
// two API keys may use the same Idempotency-Key without meeting.

// IdempotencyHeader is the request header that makes a POST idempotent.
const IdempotencyHeader = "Idempotency-Key"

// The body limits of the small POSTs, which the idempotent wrapper reads before them.
const (
	maxRecoverBytes = 4 << 10
	maxKeyBytes     = 4 << 10
)

// MaxIdempotencyKeyLength bounds an Idempotency-Key (a UUID is 36).
const MaxIdempotencyKeyLength = 255

// idempotencyStale is how long a request in flight holds its key before the same request
// may take it over: longer than any route works (the message start waits 30 s at most), so
// that only a claim whose process died is taken.
const idempotencyStale = 5 * time.Minute

// idempotent makes next honour Idempotency-Key; limit is the route's body limit.
func (s *Server) idempotent(limit int64, next http.HandlerFunc) http.HandlerFunc {
	return s.idempotentAnswer(limit, false, next)
}

// idempotentSecret is idempotent for a route whose answer holds a secret shown once (a new
// API key), which must not be kept: the kept answer lacks it, and a repeat is answered 409
// naming what was made.
func (s *Server) idempotentSecret(limit int64, next http.HandlerFunc) http.HandlerFunc {
	return s.idempotentAnswer(limit, true, next)
}

func (s *Server) idempotentAnswer(limit int64, secret bool, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		values := r.Header.Values(IdempotencyHeader)
		if len(values) == 0 {
			next(w, r)
			return
		}
		key := values[0]
		if len(values) > 1 || key == "" || len(key) > MaxIdempotencyKeyLength || strings.ContainsFunc(key, func(c rune) bool { return c < 0x21 || c > 0x7e }) {
			writeError(w, http.StatusBadRequest, "invalid_request",
				fmt.Sprintf("%s: one value of 1 to %d printable ASCII characters without spaces, such as a UUID", IdempotencyHeader, MaxIdempotencyKeyLength), IdempotencyHeader)
			return
		}
		body, ok := readBody(w, r, limit)
		if !ok {
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		h := sha256.New()
		fmt.Fprintf(h, "%s %s?%s\n%s\n", r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("content-type"))
		h.Write(body)
		fingerprint := h.Sum(nil)
		storeKey := idempotencyScope(r) + " " + key

		ctx := context.WithoutCancel(r.Context())
		rec, started, err := s.Store.BeginIdempotent(ctx, storeKey, fingerprint, s.now(), s.now().Add(-idempotencyStale))
		if err != nil {
			s.logger().Error("claim idempotency key", "error", err)
			w.Header().Set("Retry-After", "5")
			writeError(w, http.StatusServiceUnavailable, "unavailable", fmt.Sprintf("the %s cannot be checked now (the store does not answer); send it again shortly", IdempotencyHeader), "")
			return
		}
		if !started {
			switch {
			case !bytes.Equal(rec.Fingerprint, fingerprint):
				writeError(w, http.StatusUnprocessableEntity, "validation_error",
					fmt.Sprintf("%s %q was used for another request (a different method, path, query or body): use a new key for a new request", IdempotencyHeader, key), IdempotencyHeader)
			case !rec.Finished:
				// Retry-After tells a client (the CLI does) that sending the same request
				// again shortly is the way to its answer, as it is not for the other 409s.
				w.Header().Set("Retry-After", "1")
				writeConflict(w, IdempotencyHeader, fmt.Sprintf("a request with %s %q is in progress", IdempotencyHeader, key), "wait for its answer, then send it again for the same answer")
			case secret:
				var made struct {
					ID string `json:"id"`
				}
				_ = json.Unmarshal(rec.Body, &made)
				writeConflict(w, IdempotencyHeader, fmt.Sprintf("%s %q made %s already, whose secret was shown once, to the first request", IdempotencyHeader, key, made.ID),
					fmt.Sprintf("if it was lost, revoke %s (hookflow keys revoke %s) and create another with a new key", made.ID, made.ID))
			default:
				w.Header().Set("content-type", rec.ContentType)
				w.Header().Set("Idempotent-Replayed", "true")
				w.WriteHeader(rec.Status)
				_, _ = w.Write(rec.Body)
			}
			return
		}
		answer := &teeWriter{ResponseWriter: w}
		defer func() {
			if answer.status < 200 || answer.status > 299 {
				if err := s.Store.AbandonIdempotent(ctx, storeKey); err != nil {
					s.logger().Warn("release idempotency key", "error", err)
				}
				return
			}
			kept := answer.body.Bytes()
			if secret {
				kept = withoutField(kept, "key")
			}
			if err := s.Store.FinishIdempotent(ctx, storeKey, answer.status, w.Header().Get("content-type"), kept, s.now()); err != nil {
				s.logger().Error("keep idempotent answer", "error", err)
			}
		}()
		next(answer, r)
	}
}

// idempotencyScope is whose keys a request's Idempotency-Key is among: its API key's, or
// on an open API (and for the first key) everyone's.
func idempotencyScope(r *http.Request) string {
	if k, ok := r.Context().Value(keyContext).(store.APIKey); ok {
		return k.ID
	}
	return "-"
}

// withoutField returns the JSON object body without field.
func withoutField(body []byte, field string) []byte {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return []byte("{}")
	}
	delete(m, field)
	out, _ := json.Marshal(m)
	return out
}

// teeWriter passes an answer on and keeps its status and body.
type teeWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (t *teeWriter) WriteHeader(status int) {
	if t.status == 0 {
		t.status = status
	}
	t.ResponseWriter.WriteHeader(status)
}

func (t *teeWriter) Write(b []byte) (int, error) {
	if t.status == 0 {
		t.status = http.StatusOK
	}
	t.body.Write(b)
	return t.ResponseWriter.Write(b)
}
