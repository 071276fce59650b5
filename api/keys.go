package api

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/payloads"
	"github.com/hookflow/hookflow/store"
)

// API key authentication and the keys routes.
//
// A key is "hfk_" and 32 random bytes in base64url; the store keeps only its SHA-256 (see
// store.HashAPIKey). A request's key is hashed and looked up by that hash, and the stored
// hash is compared with crypto/subtle, so the comparison takes the same time wherever the
// two differ. Keys are never logged, and never shown again after POST /v1/keys answered.
//
// The first key: while no key exists, POST /v1/keys needs none when the request comes
// from the machine itself: from a loopback address, to a loopback host name (so that a web
// page cannot reach it through DNS rebinding), as JSON without an Origin or Sec-Fetch-Site
// header (so that a browser cannot send it for a page), without proxy forwarding headers,
// and without webhook-id (so that hookflow's own deliveries cannot). The first key must
// have the manage scope. `hookflow keys create` on the machine that runs the API does
// this. Behind a reverse proxy on the same machine every request comes from loopback:
// create the first key before the proxy forwards requests.

// publicPaths answer without a key: probes carry none, and the OpenAPI document tells
// nothing a key protects (what routes exist, not what they hold).
var publicPaths = map[string]bool{"/healthz": true, "/livez": true, "/readyz": true, OpenAPIPath: true}

// eventsRoute is the one route of the events scope.
const eventsRoute = "POST /v1/events"

// bootstrapRoute is the route that makes the first key without a key.
const bootstrapRoute = "POST /v1/keys"

// keyUseGranularity is how stale a key's last_used_at may get: it is written at most
// once a minute per key, not on every request.
const keyUseGranularity = time.Minute

// MaxKeyNameLength bounds an API key's name.
const MaxKeyNameLength = 200

type contextKey int

const (
	keyContext contextKey = iota
	bootstrapContext
)

// authenticate puts the key check of RequireKeys in front of mux.
func (s *Server) authenticate(mux routes) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.RequireKeys {
			mux.ServeHTTP(w, r)
			return
		}
		// The pattern mux will serve the request with decides what it needs; an unknown
		// route needs a key too, so that it tells nothing of the routes.
		_, pattern := mux.Handler(r)
		path := pattern
		if _, p, ok := strings.Cut(pattern, " "); ok {
			path = p
		}
		if publicPaths[path] {
			mux.ServeHTTP(w, r)
			return
		}
		need := store.ScopeManage
		if pattern == eventsRoute {
			need = store.ScopeEvents
		}
		auth := r.Header.Get("Authorization")
		if auth == "" {
			if pattern == bootstrapRoute && fromThisMachine(r) {
				keys, err := s.Store.ListAPIKeys(r.Context())
				if err != nil {
					s.internal(w, "list keys", err)
					return
				}
				if len(keys) == 0 {
					mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), bootstrapContext, true)))
					return
				}
			}
			msg := "an API key is required: send Authorization: Bearer hfk_... (create one with `hookflow keys create`)"
			if pattern == bootstrapRoute {
				msg = "an API key with the manage scope is required: without one, only the first key can be made, and only on the machine that runs the API"
			}
			unauthorized(w, "", msg)
			return
		}
		scheme, token, _ := strings.Cut(auth, " ")
		token = strings.TrimSpace(token)
		if !strings.EqualFold(scheme, "Bearer") || token == "" {
			unauthorized(w, "invalid_request", "the Authorization header must be Bearer followed by an API key")
			return
		}
		k, ok, err := s.lookupKey(r.Context(), token)
		if err != nil {
			// The store is unreachable: a key verified within the grace period still
			// works, so that events keep coming in while the store restarts (their
			// deliveries wait in Temporal); any other answers 503, to be tried again.
			cached, found := s.verified.get(store.HashAPIKey(token), s.now())
			if !found {
				s.logger().Error("look up API key", "error", err)
				w.Header().Set("Retry-After", "5")
				writeError(w, http.StatusServiceUnavailable, "unavailable", "the API keys cannot be checked now (the store does not answer); try again shortly", "")
				return
			}
			s.logger().Warn("store unreachable: admitting an API key verified before", "key", cached.ID, "error", err)
			k, ok = cached, true
		}
		if !ok {
			unauthorized(w, "invalid_token", "the API key is not valid: it is unknown or was revoked")
			return
		}
		if !k.HasScope(need) {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="hookflow", error="insufficient_scope", scope=%q`, need))
			writeError(w, http.StatusForbidden, "forbidden",
				fmt.Sprintf("API key %s (%s) has the scopes %s; %s %s needs the %s scope", k.ID, k.Prefix, strings.Join(k.Scopes, ", "), r.Method, r.URL.Path, need), "")
			return
		}
		now := s.now()
		if k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) >= keyUseGranularity {
			if err := s.Store.MarkAPIKeyUsed(r.Context(), k.ID, now); err != nil && !errors.Is(err, store.ErrNotFound) {
				s.logger().Warn("record API key use", "key", k.ID, "error", err)
			}
		}
		mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), keyContext, k)))
	})
}

// lookupKey finds the stored key token is. ok is false for a token that is no key.
func (s *Server) lookupKey(ctx context.Context, token string) (k store.APIKey, ok bool, err error) {
	if !strings.HasPrefix(token, store.APIKeyPrefix) || len(token) > 100 {
		return store.APIKey{}, false, nil
	}
	hash := store.HashAPIKey(token)
	k, err = s.Store.APIKeyByHash(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		s.verified.forget(hash)
		return store.APIKey{}, false, nil
	}
	if err != nil {
		return store.APIKey{}, false, err
	}
	// The lookup found the row by the hash; compare again, in constant time, so that no
	// database collation or index quirk can ever admit a different key.
	if subtle.ConstantTimeCompare(k.Hash, hash) != 1 {
		return store.APIKey{}, false, nil
	}
	s.verified.put(hash, k, s.now())
	return k, true, nil
}

// KeyOutageGrace is how long after its last successful check an API key still works while
// the store cannot be reached. The store is always asked first, so a revoked key stops
// working at once whenever the store answers.
const KeyOutageGrace = 10 * time.Minute

// maxVerifiedKeys bounds the keys remembered for outages; past it the oldest check goes.
const maxVerifiedKeys = 1000

// verifiedKeys remembers the keys the store confirmed, by hash, with when.
type verifiedKeys struct {
	mu sync.Mutex
	m  map[string]verifiedKey
}

type verifiedKey struct {
	key store.APIKey
	at  time.Time
}

func (v *verifiedKeys) put(hash []byte, k store.APIKey, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.m == nil {
		v.m = map[string]verifiedKey{}
	}
	if _, ok := v.m[string(hash)]; !ok && len(v.m) >= maxVerifiedKeys {
		oldest := ""
		for h, e := range v.m {
			if oldest == "" || e.at.Before(v.m[oldest].at) {
				oldest = h
			}
		}
		delete(v.m, oldest)
	}
	v.m[string(hash)] = verifiedKey{k, now}
}

func (v *verifiedKeys) get(hash []byte, now time.Time) (store.APIKey, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	e, ok := v.m[string(hash)]
	if !ok || now.Sub(e.at) > KeyOutageGrace {
		return store.APIKey{}, false
	}
	return e.key, true
}

// forgetID forgets the key id, revoked through this process: other processes forget it at
// its next use while the store answers.
func (v *verifiedKeys) forgetID(id string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for h, e := range v.m {
		if e.key.ID == id {
			delete(v.m, h)
		}
	}
}

func (v *verifiedKeys) forget(hash []byte) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.m, string(hash))
}

// unauthorized answers 401 with the WWW-Authenticate header of RFC 6750; problem is its
// error code, empty when no credentials came.
func unauthorized(w http.ResponseWriter, problem, msg string) {
	challenge := `Bearer realm="hookflow"`
	if problem != "" {
		challenge += fmt.Sprintf(`, error=%q`, problem)
	}
	w.Header().Set("WWW-Authenticate", challenge)
	writeError(w, http.StatusUnauthorized, "unauthorized", msg, "")
}

// fromThisMachine reports whether r can only have come from a program on this machine
// run by someone who means to: see the package comment on the first key.
func fromThisMachine(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil || !isLoopback(host) {
		return false
	}
	name := r.Host
	if h, _, err := net.SplitHostPort(name); err == nil {
		name = h
	}
	if !isLoopback(strings.Trim(name, "[]")) {
		return false
	}
	for _, h := range []string{"Origin", "Sec-Fetch-Site", "Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Real-Ip", "Webhook-Id"} {
		if _, ok := r.Header[h]; ok {
			return false
		}
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/json"
}

// IsLoopbackListen reports whether a listen address such as "127.0.0.1:7280" or
// "localhost:7280" takes connections from this machine only. An address without a host
// (":7280"), an unspecified one ("0.0.0.0", "[::]") or any other name is not loopback:
// without RequireKeys, the API would be open to the network.
func IsLoopbackListen(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	return isLoopback(host)
}

// isLoopback reports whether host is "localhost" or a loopback address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && addr.Unmap().IsLoopback()
}

// NewKeyRequest is the body of POST /v1/keys.
type NewKeyRequest struct {
	Name   string   `json:"name"`
	Scopes []string `json:"scopes"`
}

// CreatedKey is the answer to POST /v1/keys: the key's record and, this once only, the
// key itself.
type CreatedKey struct {
	store.APIKey
	Key string `json:"key"`
}

// createKey makes an API key: {"name": "shop backend", "scopes": ["events"]}.
func (s *Server) createKey(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r, maxKeyBytes)
	if !ok {
		return
	}
	var in NewKeyRequest
	if unknown := distributions.FieldProblems(body, in); unknown != nil {
		writeValidation(w, http.StatusBadRequest, unknown)
		return
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		msg := err.Error()
		if syntax, ok := payloads.JSONSyntaxError(body, err); ok {
			msg = syntax
		}
		writeError(w, http.StatusBadRequest, "invalid_request", `want {"name": "...", "scopes": ["events"|"manage"|"codec"]}: `+msg, "")
		return
	}
	if dec.More() {
		writeError(w, http.StatusBadRequest, "invalid_request", "invalid JSON: data after the object", "")
		return
	}
	name := strings.TrimSpace(in.Name)
	switch {
	case name == "":
		writeError(w, http.StatusUnprocessableEntity, "validation_error", "name: is required: what the key is for, e.g. shop backend", "name")
		return
	case len(name) > MaxKeyNameLength:
		writeError(w, http.StatusUnprocessableEntity, "validation_error", fmt.Sprintf("name: longer than %d characters", MaxKeyNameLength), "name")
		return
	case strings.ContainsFunc(name, unicode.IsControl):
		writeError(w, http.StatusUnprocessableEntity, "validation_error", "name: must not contain control characters", "name")
		return
	}
	if len(in.Scopes) == 0 {
		writeError(w, http.StatusUnprocessableEntity, "validation_error", "scopes: is required: events (send events), manage (everything else), codec (the codec endpoint only), or several", "scopes")
		return
	}
	for i, sc := range in.Scopes {
		if !slices.Contains(store.Scopes, sc) {
			writeError(w, http.StatusUnprocessableEntity, "validation_error", fmt.Sprintf("scopes[%d]: %q is not events, manage or codec", i, sc), fmt.Sprintf("scopes[%d]", i))
			return
		}
	}
	create := s.Store.CreateAPIKey
	if bootstrap, _ := r.Context().Value(bootstrapContext).(bool); bootstrap {
		manages := false
		for _, sc := range in.Scopes {
			manages = manages || sc == store.ScopeManage
		}
		if !manages {
			writeError(w, http.StatusUnprocessableEntity, "validation_error", "scopes: the first key must have the manage scope, or no one could manage hookflow or create another key", "scopes")
			return
		}
		create = s.Store.CreateFirstAPIKey
	}
	k, key, err := create(r.Context(), name, in.Scopes, s.now())
	if errors.Is(err, store.ErrAPIKeysExist) {
		unauthorized(w, "", "an API key is required: the first key was created meanwhile")
		return
	}
	if err != nil {
		s.internal(w, "create key", err)
		return
	}
	s.logger().Info("API key created", "key", k.ID, "prefix", k.Prefix, "name", k.Name, "scopes", k.Scopes, "by", requester(r))
	writeJSON(w, http.StatusCreated, CreatedKey{APIKey: k, Key: key})
}

func (s *Server) listKeys(w http.ResponseWriter, r *http.Request) {
	p, ok := pageQuery(w, r)
	if !ok {
		return
	}
	page, err := s.Store.PageAPIKeys(r.Context(), p)
	writePage(s, w, "keys", page, err, func(k store.APIKey) store.APIKey { return k })
}

// revokeKey deletes a key; it stops working at once, for every process on the store.
func (s *Server) revokeKey(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	err := s.Store.RevokeAPIKey(r.Context(), id)
	if errors.Is(err, store.ErrLastManageKey) {
		writeConflict(w, "id", fmt.Sprintf("key %s is the last key with the manage scope", id), "create another (hookflow keys create --scope manage) before revoking it")
		return
	}
	if s.failed(w, err, "revoke key", id) {
		return
	}
	s.verified.forgetID(id)
	s.logger().Info("API key revoked", "key", id, "by", requester(r))
	w.WriteHeader(http.StatusNoContent)
}

// requester names who made the request, for the log: the id of its key, "first key" for
// the key made without one, or "open API" without RequireKeys.
func requester(r *http.Request) string {
	if k, ok := r.Context().Value(keyContext).(store.APIKey); ok {
		return k.ID
	}
	if b, _ := r.Context().Value(bootstrapContext).(bool); b {
		return "first key from this machine"
	}
	return "open API"
}
